"""autocolor.color.lab_numpy: float32 NumPy sRGB <-> Lab for inference, against scikit-image."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from skimage.color import lab2rgb, rgb2lab

from autocolor.color import lab as torch_lab
from autocolor.color.lab_numpy import (
    gray_codes_into,
    gray_to_lightness,
    lab_to_rgb,
    lab_to_srgb_into,
    lab_to_srgb_planes,
    linear_to_srgb,
    rgb_to_lab,
    srgb_to_linear,
)

EDGE_COLOURS = np.array([
    [0, 0, 0], [1, 1, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [0, 1, 1], [1, 0, 1],
    [0.5, 0.5, 0.5], [0.04045, 0.04045, 0.04045], [0.01, 0.02, 0.03], [0.001, 0.0, 0.0],
    [0.999, 0.998, 1.0], [0.2, 0.9, 0.1],
], dtype=np.float32)


def skimage_lab2rgb(lab: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lab2rgb(lab.astype(np.float64))


def random_lab(seed: int, height: int = 10, width: int = 10) -> np.ndarray:
    """Random Lab over the whole range a model can output (a, b = ab_norm * 128, |ab_norm| <= 1)."""
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.uniform(0, 100, (height, width, 1)),
                           rng.uniform(-128, 128, (height, width, 2))], -1).astype(np.float32)


@pytest.mark.parametrize("seed", [0, 1])
def test_rgb_to_lab_matches_skimage_random(seed: int) -> None:
    rgb = np.random.default_rng(seed).random((9, 7, 3)).astype(np.float32)
    lab = rgb_to_lab(rgb)
    assert lab.dtype == np.float32 and lab.shape == rgb.shape
    np.testing.assert_allclose(lab, rgb2lab(rgb.astype(np.float64)), atol=2e-3)


def test_rgb_to_lab_matches_skimage_edges() -> None:
    np.testing.assert_allclose(rgb_to_lab(EDGE_COLOURS[None]),
                               rgb2lab(EDGE_COLOURS[None].astype(np.float64)), atol=2e-3)


def test_lab_to_rgb_matches_skimage_in_gamut() -> None:
    rgb = np.concatenate([np.random.default_rng(2).random((30, 3)), EDGE_COLOURS])[None]
    lab = rgb2lab(rgb).astype(np.float32)
    out = lab_to_rgb(lab)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, lab2rgb(lab.astype(np.float64)), atol=1e-4)


@pytest.mark.parametrize("seed", [3, 4])
def test_lab_to_rgb_matches_skimage_out_of_gamut(seed: int) -> None:
    # Includes dark, strongly yellow colours (b > 200 (L + 16) / 116), where f_z < 0.
    lab = random_lab(seed)
    out = lab_to_rgb(lab)
    assert out.min() >= 0.0 and out.max() <= 1.0
    np.testing.assert_allclose(out, skimage_lab2rgb(lab), atol=1e-4)


def test_lab_to_rgb_matches_the_torch_path() -> None:
    """Inference (NumPy) and training/validation (kornia) must turn the same ab into the same RGB."""
    lab = random_lab(5, 12, 12)
    torch_rgb = torch_lab.lab_to_rgb(torch.from_numpy(lab).permute(2, 0, 1)).permute(1, 2, 0)
    np.testing.assert_allclose(lab_to_rgb(lab), torch_rgb.numpy(), atol=1e-4)


@settings(max_examples=60, deadline=None)
@given(st.tuples(*[st.floats(0.0, 1.0, allow_nan=False)] * 3))
def test_round_trip_any_colour(colour: tuple[float, float, float]) -> None:
    rgb = np.array(colour, dtype=np.float32).reshape(1, 1, 3)
    lab = rgb_to_lab(rgb)
    np.testing.assert_allclose(lab, rgb2lab(rgb.astype(np.float64)), atol=3e-3)
    np.testing.assert_allclose(lab_to_rgb(lab), rgb, atol=1e-4)


def test_round_trip_image() -> None:
    rgb = np.random.default_rng(6).random((32, 24, 3)).astype(np.float32)
    np.testing.assert_allclose(lab_to_rgb(rgb_to_lab(rgb)), rgb, atol=1e-4)


def test_lightness_range() -> None:
    rgb = np.concatenate([np.random.default_rng(7).random((100, 3)), EDGE_COLOURS])[None]
    lab = rgb_to_lab(rgb.astype(np.float32))
    assert lab[..., 0].min() >= -1e-4 and lab[..., 0].max() <= 100.0 + 1e-3
    np.testing.assert_allclose(rgb_to_lab(np.ones((1, 1, 3), np.float32))[0, 0], [100, 0, 0],
                               atol=1e-2)


@pytest.mark.parametrize("shape", [(256,), (5, 7), (2, 3, 4)])
def test_gray_to_lightness_matches_skimage(shape: tuple[int, ...]) -> None:
    gray = np.linspace(0.0, 1.0, int(np.prod(shape)), dtype=np.float32).reshape(shape)
    expected = rgb2lab(np.repeat(gray.reshape(-1, 1).astype(np.float64), 3, axis=1)[None])[0, :, 0]
    lightness = gray_to_lightness(gray)
    assert lightness.shape == shape and lightness.dtype == np.float32
    np.testing.assert_allclose(lightness.reshape(-1), expected, atol=2e-3)


def test_gray_to_lightness_equals_rgb_to_lab_on_gray() -> None:
    gray = np.random.default_rng(8).random((6, 6)).astype(np.float32)
    lab = rgb_to_lab(np.repeat(gray[..., None], 3, axis=-1))
    np.testing.assert_allclose(gray_to_lightness(gray), lab[..., 0], atol=1e-3)
    np.testing.assert_allclose(lab[..., 1:], 0.0, atol=1e-2)


def test_srgb_linear_inverse_and_clip() -> None:
    values = np.linspace(0.0, 1.0, 1001, dtype=np.float32)
    np.testing.assert_allclose(linear_to_srgb(srgb_to_linear(values)), values, atol=1e-5)
    np.testing.assert_allclose(linear_to_srgb(np.array([-0.5, 1.5], np.float32)), [0.0, 1.0])
    # The two pieces meet at the knee.
    np.testing.assert_allclose(srgb_to_linear(np.array([0.04045], np.float32)), 0.04045 / 12.92,
                               rtol=1e-5)


@pytest.mark.parametrize("function", [rgb_to_lab, lab_to_rgb])
def test_non_array_raises_type_error(function) -> None:
    with pytest.raises(TypeError, match="numpy.ndarray"):
        function([[[0.0, 0.0, 0.0]]])
    with pytest.raises(TypeError, match="numpy.ndarray"):
        function(torch.zeros(2, 2, 3))


@pytest.mark.parametrize("function", [rgb_to_lab, lab_to_rgb])
@pytest.mark.parametrize("dtype", [np.uint8, np.int64, np.bool_])
def test_integer_array_raises_type_error(function, dtype) -> None:
    with pytest.raises(TypeError, match="floating point"):
        function(np.zeros((2, 2, 3), dtype=dtype))


@pytest.mark.parametrize("function", [rgb_to_lab, lab_to_rgb])
@pytest.mark.parametrize("shape", [(2, 2, 4), (2, 2, 1), (2, 2), (3,), (1, 2, 2, 3), (3, 2, 2)])
def test_wrong_shape_raises_value_error(function, shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        function(np.zeros(shape, dtype=np.float32))


def test_gray_codes_are_the_joins_gray() -> None:
    """gray_codes_into(L) is what lab_to_srgb_into writes for (L, 0, 0): its green exactly (red
    and blue round apart from it by a level for about 1 L* in 1000)."""
    lightness = np.linspace(0.0, 100.0, 200_001, dtype=np.float32)[None]
    zeros = np.zeros_like(lightness)
    joined = lab_to_srgb_into(lightness, zeros, zeros, np.empty((1, lightness.size, 3), np.uint8))
    codes = gray_codes_into(lightness, np.empty(lightness.shape, np.uint8))
    assert np.array_equal(codes[0], joined[0, :, 1])
    apart = np.abs(codes[0].astype(int)[:, None] - joined[0]).max(axis=1)
    assert apart.max() <= 1 and (apart > 0).mean() < 0.01
    assert codes[0, 0] == 0 and codes[0, -1] == 255


def test_srgb_planes_are_the_interleaved_result() -> None:
    rng = np.random.default_rng(0)
    lightness = rng.uniform(0, 100, (7, 9)).astype(np.float32)
    a, b = rng.uniform(-80, 80, (2, 7, 9)).astype(np.float32)
    joined = lab_to_srgb_into(lightness, a, b, np.empty((7, 9, 3), np.uint8))
    planes = lab_to_srgb_planes(lightness, a, b)
    assert np.array_equal(np.moveaxis(planes, 0, -1), joined)


def test_lightness_from_norm_inverts_the_network_inputs_scaling() -> None:
    from autocolor.color.constants import L_SCALE, L_SHIFT
    from autocolor.color.lab_numpy import lightness_from_norm

    lightness = np.linspace(0.0, 100.0, 12, dtype=np.float32).reshape(3, 4)
    l_norm = (lightness / np.float32(L_SCALE) - np.float32(L_SHIFT))[None]
    assert np.abs(l_norm).max() <= 1.0 + 1e-6
    back = lightness_from_norm(l_norm)
    assert back.shape == (3, 4) and back.dtype == np.float32
    np.testing.assert_allclose(back, lightness, atol=1e-4)
