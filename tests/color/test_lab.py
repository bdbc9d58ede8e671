"""autocolor.color.lab: kornia-backed sRGB <-> Lab on tensors, checked against scikit-image."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from skimage.color import lab2rgb, rgb2lab

from autocolor.color import lab as lab_module
from autocolor.color.lab import (
    LabToRgb,
    RgbToLab,
    lab_to_rgb,
    model_io_to_rgb,
    rgb_to_lab,
    rgb_to_model_io,
)

# Black, white, primaries, secondaries, mid gray, the sRGB curve's knee, tiny values near black.
EDGE_COLOURS = np.array([
    [0, 0, 0], [1, 1, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [0, 1, 1], [1, 0, 1],
    [0.5, 0.5, 0.5], [0.04045, 0.04045, 0.04045], [0.01, 0.02, 0.03], [0.001, 0.0, 0.0],
    [0.999, 0.998, 1.0], [0.2, 0.9, 0.1],
], dtype=np.float64)


def to_tensor(hwc: np.ndarray) -> torch.Tensor:
    """(H, W, 3) NumPy -> (3, H, W) float32 tensor."""
    return torch.from_numpy(np.ascontiguousarray(hwc)).permute(2, 0, 1).float()


def to_hwc(chw: torch.Tensor) -> np.ndarray:
    return chw.permute(1, 2, 0).double().numpy()


def random_rgb(seed: int, height: int = 6, width: int = 7) -> np.ndarray:
    return np.random.default_rng(seed).random((height, width, 3))


def skimage_lab2rgb(lab: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():  # out-of-gamut (negative Z) warnings for random Lab
        warnings.simplefilter("ignore")
        return lab2rgb(lab)


@pytest.mark.parametrize("rgb", [random_rgb(0), random_rgb(1, 3, 11), EDGE_COLOURS[None]],
                         ids=["random", "random-wide", "edges"])
def test_rgb_to_lab_matches_skimage(rgb: np.ndarray) -> None:
    expected = rgb2lab(rgb)
    actual = to_hwc(rgb_to_lab(to_tensor(rgb)))
    np.testing.assert_allclose(actual, expected, atol=2e-3)


def test_lab_to_rgb_matches_skimage_in_gamut() -> None:
    rgb = np.concatenate([random_rgb(2).reshape(-1, 3), EDGE_COLOURS])[None]
    lab = rgb2lab(rgb)
    np.testing.assert_allclose(to_hwc(lab_to_rgb(to_tensor(lab))), lab2rgb(lab), atol=1e-4)


def test_lab_to_rgb_matches_skimage_out_of_gamut() -> None:
    rng = np.random.default_rng(3)
    lab = np.concatenate([rng.uniform(0, 100, (8, 8, 1)), rng.uniform(-128, 128, (8, 8, 2))], -1)
    np.testing.assert_allclose(to_hwc(lab_to_rgb(to_tensor(lab))), skimage_lab2rgb(lab),
                               atol=1e-4)


def test_round_trip_rgb_lab_rgb() -> None:
    rgb = to_tensor(random_rgb(4, 16, 16))
    torch.testing.assert_close(lab_to_rgb(rgb_to_lab(rgb)), rgb, atol=1e-4, rtol=0)


def test_ranges_and_anchor_values() -> None:
    rgb = torch.cat([to_tensor(random_rgb(5, 16, 16)).flatten(1), to_tensor(EDGE_COLOURS[None])
                     .flatten(1)], dim=1)[:, None]  # (3, 1, N)
    lab = rgb_to_lab(rgb)
    assert lab[0].min() >= 0.0 and lab[0].max() <= 100.0 + 1e-4
    assert lab[1:].abs().max() < 128.0
    white = rgb_to_lab(torch.ones(3, 1, 1)).flatten()
    black = rgb_to_lab(torch.zeros(3, 1, 1)).flatten()
    torch.testing.assert_close(white, torch.tensor([100.0, 0.0, 0.0]), atol=1e-2, rtol=0)
    torch.testing.assert_close(black, torch.zeros(3), atol=1e-4, rtol=0)


def test_lab_to_rgb_clip() -> None:
    lab = torch.tensor([50.0, 100.0, -100.0]).view(3, 1, 1)  # far outside sRGB
    unclipped = lab_to_rgb(lab, clip=False)
    assert unclipped.min() < 0.0 or unclipped.max() > 1.0
    clipped = lab_to_rgb(lab)
    assert clipped.min() >= 0.0 and clipped.max() <= 1.0
    torch.testing.assert_close(clipped, unclipped.clamp(0.0, 1.0))


@pytest.mark.parametrize("shape", [(3, 4, 5), (2, 3, 4, 5), (2, 3, 3, 4, 5)])
def test_batched_shapes_match_per_image(shape: tuple[int, ...]) -> None:
    rgb = torch.rand(shape, generator=torch.Generator().manual_seed(6))
    lab = rgb_to_lab(rgb)
    assert lab.shape == rgb.shape
    assert lab_to_rgb(lab).shape == rgb.shape
    flat_rgb = rgb.reshape(-1, 3, 4, 5)
    flat_lab = lab.reshape(-1, 3, 4, 5)
    for index in range(flat_rgb.shape[0]):
        torch.testing.assert_close(flat_lab[index], rgb_to_lab(flat_rgb[index]), atol=1e-4, rtol=0)


@pytest.mark.parametrize("function", [rgb_to_lab, lab_to_rgb, RgbToLab(), LabToRgb()])
@pytest.mark.parametrize("bad", [np.zeros((3, 4, 4), np.float32), [[[0.0]]], 0.5])
def test_non_tensor_raises_type_error(function, bad) -> None:
    with pytest.raises(TypeError, match="torch.Tensor"):
        function(bad)


@pytest.mark.parametrize("function", [rgb_to_lab, lab_to_rgb])
@pytest.mark.parametrize("dtype", [torch.uint8, torch.int32, torch.int64, torch.bool])
def test_integer_tensor_raises_type_error(function, dtype) -> None:
    with pytest.raises(TypeError, match="floating point"):
        function(torch.zeros(3, 4, 4, dtype=dtype))


@pytest.mark.parametrize("function", [rgb_to_lab, lab_to_rgb])
@pytest.mark.parametrize("shape", [(4, 4, 4), (1, 4, 4), (2, 1, 4, 4), (4, 4), (3,), (4, 3)])
def test_wrong_shape_raises_value_error(function, shape) -> None:
    with pytest.raises(ValueError, match=r"\(\*, 3, H, W\)"):
        function(torch.zeros(shape))


def test_model_io_round_trip() -> None:
    rgb = to_tensor(random_rgb(8, 8, 8))[None].repeat(2, 1, 1, 1)  # (2,3,8,8)
    l_norm, ab_norm = rgb_to_model_io(rgb)
    assert l_norm.shape == (2, 1, 8, 8) and ab_norm.shape == (2, 2, 8, 8)
    lab = rgb_to_lab(rgb)
    torch.testing.assert_close(l_norm, lab[:, :1] / 50.0 - 1.0)
    torch.testing.assert_close(ab_norm, lab[:, 1:] / 128.0)
    torch.testing.assert_close(model_io_to_rgb(l_norm, ab_norm), rgb, atol=1e-4, rtol=0)


def test_gradcheck_rgb_to_lab() -> None:
    # Values in [0.2, 0.8] stay away from the sRGB knee (0.04045) and the Lab knee (XYZ 0.0089).
    rgb = (torch.rand(1, 3, 2, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(9))
           * 0.6 + 0.2).requires_grad_()
    assert torch.autograd.gradcheck(rgb_to_lab, (rgb,))


def test_gradcheck_lab_to_rgb() -> None:
    rgb = torch.rand(1, 3, 2, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(10))
    lab = rgb_to_lab(rgb * 0.6 + 0.2).detach().requires_grad_()
    assert torch.autograd.gradcheck(lambda x: lab_to_rgb(x, clip=False), (lab,))
    assert torch.autograd.gradcheck(lab_to_rgb, (lab,))  # inside the gamut, clip is the identity


def test_gradients_flow_through_model_io() -> None:
    rgb = torch.full((1, 3, 4, 4), 0.5, requires_grad=True)
    l_norm, ab_norm = rgb_to_model_io(rgb)
    (l_norm.sum() + ab_norm.sum()).backward()
    assert rgb.grad is not None and torch.isfinite(rgb.grad).all() and rgb.grad.abs().sum() > 0


def test_module_wrappers() -> None:
    rgb = to_tensor(random_rgb(11))
    assert isinstance(RgbToLab(), torch.nn.Module) and isinstance(LabToRgb(), torch.nn.Module)
    torch.testing.assert_close(RgbToLab()(rgb), rgb_to_lab(rgb))
    lab = torch.tensor([50.0, 100.0, -100.0]).view(3, 1, 1)
    assert LabToRgb().clip is True and LabToRgb(clip=False).clip is False
    torch.testing.assert_close(LabToRgb()(lab), lab_to_rgb(lab))
    torch.testing.assert_close(LabToRgb(clip=False)(lab), lab_to_rgb(lab, clip=False))
    assert LabToRgb(clip=False)(lab).min() < 0.0
    with pytest.raises(ValueError):
        RgbToLab()(torch.zeros(1, 4, 2, 2))


def test_module_uses_kornia_not_a_copy() -> None:
    # The module is a thin wrapper: the conversions must agree with kornia's exactly.
    from kornia.color import rgb_to_lab as kornia_rgb_to_lab

    rgb = to_tensor(random_rgb(12))
    torch.testing.assert_close(lab_module.rgb_to_lab(rgb), kornia_rgb_to_lab(rgb), atol=0, rtol=0)
