"""autocolor.infer.chroma: the join for 4:2:0 outputs (full-resolution luma, half-resolution
chroma), against the RGB join it stands in for."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from autocolor.color.lab_numpy import gray_codes_into, gray_to_lightness
from autocolor.image_output import YCbCr420
from autocolor.images import lightness_from_pil
from autocolor.infer.chroma import half_lightness
from autocolor.infer.pipeline import model_input, render_rgb, render_shape, render_ycbcr

JFIF = np.array([[0.299, 0.587, 0.114], [-0.168735892, -0.331264108, 0.5],
                 [0.5, -0.418687589, -0.081312411]], dtype=np.float32)


def photo(height: int, width: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(H, W) uint8 gray with edges and texture, and a smooth ab_norm (2, h, w) at the render
    shape with strong colours (|ab| up to ~70)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    gray = 128 + 70 * np.sin(x / 23.0) * np.cos(y / 17.0) + rng.normal(0, 8, (height, width))
    gray[height // 3:height // 2, width // 4:width // 2] = 230  # a bright patch with edges
    gray = np.clip(gray, 0, 255).astype(np.uint8)
    h, w = render_shape(height, width, 64)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ab = np.stack([0.6 * np.sin(xx / 5.0), 0.6 * np.cos(yy / 7.0)]).astype(np.float32)
    return gray, ab


def as_rgb(rendered) -> np.ndarray:
    return rendered.rgb().astype(np.int32)


def ideal_420(rgb: np.ndarray) -> np.ndarray:
    """What a 4:2:0 encoding keeps of an RGB image, without the DCT: its YCbCr with Cb and Cr
    averaged over 2x2 blocks, back to RGB."""
    ycc = rgb.astype(np.float32) @ JFIF.T + np.float32([0, 128, 128])
    chroma = [np.rint(half_lightness(ycc[..., channel])).astype(np.uint8) for channel in (1, 2)]
    return YCbCr420(np.rint(ycc[..., 0]).astype(np.uint8), *chroma).rgb().astype(np.int32)


def test_gray_codes_give_back_every_8_bit_gray() -> None:
    codes = np.arange(256, dtype=np.uint8)
    lightness = gray_to_lightness(codes.astype(np.float32) / 255.0)[None]
    out = np.empty((1, 256), np.uint8)
    assert np.array_equal(gray_codes_into(lightness.astype(np.float32), out)[0], codes)


@pytest.mark.parametrize("guided", [True, False])
@pytest.mark.parametrize("size", [(240, 320), (241, 317)])  # even and odd sides
def test_as_close_to_the_rgb_join_as_its_own_420(size: tuple[int, int], guided: bool) -> None:
    gray, ab_norm = photo(*size)
    loaded = lightness_from_pil(Image.fromarray(gray))
    rgb = render_rgb(loaded.lightness, ab_norm, 8, 1.0, guided)
    planes = render_ycbcr(loaded.lightness, ab_norm, 1.0, guided, None, loaded.gray_codes())
    assert isinstance(planes, YCbCr420)
    height, width = size
    assert planes.y.shape == (height, width)
    assert planes.cb.shape == planes.cr.shape == (-(-height // 2), -(-width // 2))
    error = np.abs(as_rgb(planes) - rgb).mean()
    floor = np.abs(ideal_420(rgb) - rgb).mean()  # the RGB join as a 4:2:0 file keeps it
    assert floor > 0.3  # the photo has colour edges for the subsampling to lose
    # what is left: the colour is taken at each block's mean L, not averaged over its pixels
    assert error <= 1.15 * floor + 0.1, (error, floor)


def test_luma_follows_the_colour_not_only_the_gray() -> None:
    """Y' of the result follows Y' of the RGB join's colours (a saturated colour of lightness L*
    is not the gray of L* in Y'); what is left comes from taking the colour per 2x2 block."""
    gray, ab_norm = photo(200, 300, seed=1)
    loaded = lightness_from_pil(Image.fromarray(gray))
    rgb = render_rgb(loaded.lightness, ab_norm, 8, 1.0, True)
    luma = np.rint(rgb.astype(np.float32) @ JFIF[0]).astype(np.int32)
    planes = render_ycbcr(loaded.lightness, ab_norm, 1.0, True, None, loaded.gray_codes())
    moved = np.abs(luma - gray.astype(np.int32)).mean()  # how far the colour moves Y'
    error = np.abs(planes.y.astype(np.int32) - luma).mean()
    assert moved > 2.0 and error < 0.35 * moved, (moved, error)


@pytest.mark.parametrize("encoding", ["jfif", "bt709-tv"])
def test_the_odd_last_row_and_column_get_their_blocks_colour(encoding: str) -> None:
    """At odd sides the last row and column are blocks of their own (1 pixel wide): their luma
    follows the colour as closely as the rest's does."""
    gray, ab_norm = photo(201, 301, seed=1)
    loaded = lightness_from_pil(Image.fromarray(gray))
    rgb = render_rgb(loaded.lightness, ab_norm, 8, 1.0, True)
    weights = JFIF[0] if encoding == "jfif" else np.float32([0.2126, 0.7152, 0.0722])
    luma = rgb.astype(np.float32) @ weights
    planes = render_ycbcr(loaded.lightness, ab_norm, 1.0, True, None, loaded.gray_codes(),
                          encoding)
    y = planes.y.astype(np.float32)
    if encoding != "jfif":  # limited range back to full range
        y = (y - 16) * np.float32(255 / 219)
    error = np.abs(y - luma)
    moved = np.abs(luma - gray.astype(np.float32))
    for edge in (np.s_[-1, :], np.s_[:, -1]):
        assert moved[edge].mean() > 2.0
        assert error[edge].mean() < 0.35 * moved[edge].mean(), (error[edge].mean(),
                                                                moved[edge].mean())


def test_gray_result_keeps_the_gray_exactly() -> None:
    gray, ab_norm = photo(160, 200, seed=2)
    loaded = lightness_from_pil(Image.fromarray(gray))
    for codes in (loaded.gray_codes(), None):  # the input's codes, or the table's
        planes = render_ycbcr(loaded.lightness, np.zeros_like(ab_norm), 1.0, True, None, codes)
        assert np.array_equal(planes.y, gray)
        assert (planes.cb == 128).all() and (planes.cr == 128).all()


def test_gray_codes_and_the_table_agree() -> None:
    gray, ab_norm = photo(150, 210, seed=3)
    loaded = lightness_from_pil(Image.fromarray(gray))
    known = render_ycbcr(loaded.lightness, ab_norm, 1.0, True, None, loaded.gray_codes())
    table = render_ycbcr(loaded.lightness, ab_norm, 1.0, True, None, None)
    assert np.array_equal(known.y, table.y)
    assert np.array_equal(known.cb, table.cb) and np.array_equal(known.cr, table.cr)


def test_saturation_scales_the_chroma() -> None:
    gray, ab_norm = photo(160, 200, seed=4)
    loaded = lightness_from_pil(Image.fromarray(gray))
    full = render_ycbcr(loaded.lightness, ab_norm, 1.0, False)
    none = render_ycbcr(loaded.lightness, ab_norm, 0.0, False)
    assert (none.cb == 128).all() and np.abs(full.cb.astype(int) - 128).max() > 20


def test_the_guide_from_the_network_input_changes_nothing() -> None:
    gray, ab_norm = photo(240, 320, seed=5)
    loaded = lightness_from_pil(Image.fromarray(gray))
    guide = model_input(loaded.lightness, ab_norm.shape[1:])
    from autocolor.infer.pipeline import guide_of

    with_guide = render_ycbcr(loaded.lightness, ab_norm, 1.0, True, guide_of(guide))
    without = render_ycbcr(loaded.lightness, ab_norm, 1.0, True)
    assert np.abs(with_guide.cb.astype(int) - without.cb).mean() < 0.5


def test_a_photo_smaller_than_the_render_gets_rgb() -> None:
    gray, ab_norm = photo(40, 50)  # render shape 64 x 64 > the half-resolution grid
    loaded = lightness_from_pil(Image.fromarray(gray))
    out = render_ycbcr(loaded.lightness, ab_norm, 1.0, True)
    assert isinstance(out, np.ndarray) and out.shape == (40, 50, 3)
