"""The fast guided filter behind edge-aware ab upsampling."""

from __future__ import annotations

import numpy as np
import pytest

from autocolor.infer import guided
from autocolor.infer.guided import apply_coefficients, guided_coefficients
from autocolor.infer.pipeline import render_rgb, upsample_ab


def _naive_coefficients(guide: np.ndarray, plane: np.ndarray, radius: int, eps: float
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Per-window ridge regression, written out (reflect padding, as scipy's 'reflect')."""
    pad = np.pad(guide.astype(np.float64), radius, mode="symmetric")
    pad_p = np.pad(plane.astype(np.float64), radius, mode="symmetric")
    height, width = guide.shape
    slope = np.zeros((height, width))
    offset = np.zeros((height, width))
    for y in range(height):
        for x in range(width):
            g = pad[y:y + 2 * radius + 1, x:x + 2 * radius + 1]
            p = pad_p[y:y + 2 * radius + 1, x:x + 2 * radius + 1]
            slope[y, x] = ((g * p).mean() - g.mean() * p.mean()) / (g.var() + eps)
            offset[y, x] = p.mean() - slope[y, x] * g.mean()
    box = np.ones((2 * radius + 1,) * 2) / (2 * radius + 1) ** 2

    def mean(a: np.ndarray) -> np.ndarray:
        padded = np.pad(a, radius, mode="symmetric")
        return np.array([[(padded[y:y + 2 * radius + 1, x:x + 2 * radius + 1] * box).sum()
                          for x in range(width)] for y in range(height)])

    return mean(slope), mean(offset)


def test_coefficients_match_a_written_out_regression() -> None:
    rng = np.random.default_rng(0)
    guide = (rng.random((9, 11)) * 100).astype(np.float32)
    ab = (rng.standard_normal((2, 9, 11)) * 20).astype(np.float32)
    coefficients = guided_coefficients(guide, ab, radius=2, eps=25.0)
    for channel in range(2):
        slope, offset = _naive_coefficients(guide, ab[channel], 2, 25.0)
        np.testing.assert_allclose(coefficients[channel], slope, rtol=1e-3, atol=1e-4)
        np.testing.assert_allclose(coefficients[2 + channel], offset, rtol=1e-3, atol=1e-2)


def test_flat_lightness_gives_the_bilinear_result() -> None:
    """On flat L, A = 0 and ab = B, the window mean of ab: for smooth ab (a ramp, as networks
    predict at stride 4) that is the bilinear result, away from the borders."""
    y, x = np.mgrid[0:32, 0:48].astype(np.float32)
    ab_norm = np.stack([x / 100, (y - x) / 200]).astype(np.float32)
    lightness = np.full((96, 144), 60.0, dtype=np.float32)
    guided = upsample_ab(ab_norm, 96, 144, lightness)
    bilinear = upsample_ab(ab_norm, 96, 144)
    np.testing.assert_allclose(guided[30:-30, 30:-30], bilinear[30:-30, 30:-30], atol=0.05)


def test_colour_edges_follow_the_lightness_edge() -> None:
    """A dark-left/bright-right photo whose right half is red: after a 6x upsampling, the
    guided result changes colour within a pixel or two of the lightness edge, bilinear spreads
    it over several."""
    height, width, factor = 32, 32, 6
    edge = 16 * factor + 3  # full-res column of the edge, off the low-res pixel grid
    lightness = np.where(np.arange(width * factor) < edge, 30.0, 70.0).astype(np.float32)
    lightness = np.repeat(lightness[None], height * factor, axis=0)
    small_l = lightness[::factor, ::factor]
    ab_norm = np.zeros((2, height, width), dtype=np.float32)
    ab_norm[0] = np.where(small_l > 50, 0.4, 0.0)  # a = 51 on the bright side

    def largest_step(ab: np.ndarray) -> tuple[float, int]:
        """The largest change of a between neighbouring columns, and where it happens."""
        steps = np.diff(ab[height * factor // 2, :, 0])
        return float(steps.max()), int(steps.argmax()) + 1

    guided = largest_step(upsample_ab(ab_norm, height * factor, width * factor, lightness))
    bilinear = largest_step(upsample_ab(ab_norm, height * factor, width * factor))
    assert guided[1] == edge, "the colour edge sits on the lightness edge"
    assert guided[0] > 0.6 * 51.2, "most of the colour change happens in one pixel"
    assert bilinear[0] < 51.2 / factor * 1.5, "bilinear spreads it over about `factor` pixels"


@pytest.mark.parametrize("guided", [False, True])
def test_fused_render_equals_upsample_then_join(guided: bool) -> None:
    from autocolor.images import lab_to_rgb_array

    rng = np.random.default_rng(2)
    lightness = (rng.random((100, 150)) * 100).astype(np.float32)
    ab_norm = (rng.standard_normal((2, 32, 64)) * 0.2).astype(np.float32)
    ab = upsample_ab(ab_norm, 100, 150, lightness if guided else None)
    expected = lab_to_rgb_array(lightness, ab, 8)
    assert np.array_equal(render_rgb(lightness, ab_norm, 8, 1.0, guided), expected)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        guided_coefficients(np.zeros((4, 4), np.float32), np.zeros((2, 4, 5), np.float32))
    with pytest.raises(ValueError):
        guided_coefficients(np.zeros((4, 4), np.float32), np.zeros((2, 4, 4), np.float32), 0)
    coefficients = np.zeros((4, 3, 3), np.float32)
    coefficients[2] = 7.0
    assert np.all(apply_coefficients(coefficients, np.ones((3, 3), np.float32))[..., 0] == 7.0)


@pytest.mark.parametrize("shape,radius", [((37, 53), 4), ((3, 20, 11), 1), ((2, 6, 5), 4),
                                          ((1, 1), 2), ((2, 3), 4)])
def test_box_filter_matches_scipy_uniform_filter(shape: tuple[int, ...], radius: int) -> None:
    """The NumPy box filter is scipy.ndimage's uniform_filter with mirrored edges, plane by plane."""
    from scipy.ndimage import uniform_filter

    planes = np.random.default_rng(3).uniform(0, 100, shape).astype(np.float32)
    ours = guided.box_filter(planes, radius)
    flat = planes.reshape(-1, *shape[-2:])
    expected = np.stack([uniform_filter(p.astype(np.float64), size=2 * radius + 1, mode="reflect")
                         for p in flat]).reshape(shape)
    assert ours.dtype == np.float32 and ours.shape == shape
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-3)
    with pytest.raises(ValueError):
        guided.box_filter(planes, 0)
    with pytest.raises(ValueError):
        guided.box_filter(planes[..., :0, :], radius)


def test_the_photo_path_does_not_import_scipy() -> None:
    """scipy.ndimage costs ~0.3 s to import: colouring a photo must not pay it."""
    import subprocess
    import sys

    code = ("import sys, numpy as np; from autocolor.infer.pipeline import render_rgb; "
            "render_rgb(np.full((640, 480), 50, np.float32), np.zeros((2, 32, 32), np.float32), "
            "8, 1.0, True); print('scipy' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
