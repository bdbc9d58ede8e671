"""Metrics against hand-computed values on tiny arrays."""

from __future__ import annotations

import math

import numpy as np
import pytest

from autocolor.evaluate.metrics import (
    METRICS,
    ab_accuracy_curve,
    ab_auc,
    ciede2000_map,
    ciede2000_mean,
    colorfulness,
    psnr,
    rgb_to_lab_u8,
    score_pair,
    ssim,
)


def _rgb(pixels: list[tuple[int, int, int]]) -> np.ndarray:
    return np.array([pixels], dtype=np.uint8)  # (1, N, 3)


# ------------------------------------------------------------------------------ colourfulness


def test_colorfulness_of_gray_is_zero() -> None:
    assert colorfulness(_rgb([(0, 0, 0), (128, 128, 128), (255, 255, 255)])) == 0.0


def test_colorfulness_red_and_black() -> None:
    # rg = [255, 0]: mean 127.5, std 127.5; yb = [127.5, 0]: mean 63.75, std 63.75
    # CF = sqrt(127.5^2 + 63.75^2) * (1 + 0.3) = 63.75 * sqrt(5) * 1.3 = 185.314...
    assert colorfulness(_rgb([(255, 0, 0), (0, 0, 0)])) == pytest.approx(82.875 * math.sqrt(5))
    assert colorfulness(_rgb([(255, 0, 0), (0, 0, 0)])) == pytest.approx(185.31415, abs=1e-4)


def test_colorfulness_uses_absolute_opponents() -> None:
    # red and green: |R - G| = 255 for both (std 0); the signed R - G would be +-255 (std 255).
    # |(R + G)/2 - B| = 127.5 for both. CF = 0.3 * sqrt(255^2 + 127.5^2) = 38.25 * sqrt(5)
    assert colorfulness(_rgb([(255, 0, 0), (0, 255, 0)])) == pytest.approx(85.52960, abs=1e-4)


def test_colorfulness_channel_order_is_rgb() -> None:
    # pure blue: rg = 0, yb = 255 -> CF = 0.3 * 255; read as BGR it would be red: 0.3*sqrt(5)*127.5
    assert colorfulness(_rgb([(0, 0, 255)] * 4)) == pytest.approx(76.5)
    # constant orange: rg = 100, yb = |150 - 50| = 100 -> CF = 0.3 * 100 * sqrt(2)
    assert colorfulness(_rgb([(200, 100, 50)] * 3)) == pytest.approx(42.426407, abs=1e-5)


def test_colorfulness_rejects_float_images() -> None:
    with pytest.raises(ValueError):
        colorfulness(np.zeros((2, 2, 3), dtype=np.float32))


# ------------------------------------------------------------------------------ ab AuC


def _ab(pairs: list[tuple[float, float]]) -> np.ndarray:
    return np.array([pairs], dtype=np.float64)  # (1, N, 2)


def test_ab_auc_hand_computed() -> None:
    truth = _ab([(0, 0), (0, 0), (0, 0)])
    prediction = _ab([(0, 0), (10, 0), (120, 160)])  # errors 0, 10, 200
    # t = 0..9: 1/3 within; t = 10..150: 2/3 -> (10 * 1 + 141 * 2) / (3 * 151) = 292 / 453
    assert ab_auc(truth, prediction) == pytest.approx(292 / 453)


def test_ab_auc_threshold_is_inclusive() -> None:
    zero = _ab([(0, 0)])
    assert ab_auc(zero, _ab([(3, 4)])) == pytest.approx(146 / 151)  # error 5: t = 5..150
    assert ab_auc(zero, _ab([(0.3, -0.4)])) == pytest.approx(150 / 151)  # 0.5: t = 1..150
    assert ab_auc(zero, zero) == 1.0
    assert ab_auc(zero, _ab([(-151, 0)])) == 0.0


def test_ab_accuracy_curve_values() -> None:
    truth = _ab([(0, 0)] * 4)
    prediction = _ab([(0, 0), (0, 2), (-3, 4), (200, 0)])  # errors 0, 2, 5, 200
    curve = ab_accuracy_curve(truth, prediction)
    assert curve.shape == (151,)
    np.testing.assert_allclose(curve[[0, 1, 2, 4, 5, 150]], [0.25, 0.25, 0.5, 0.5, 0.75, 0.75])


def test_ab_auc_accepts_lab_and_ignores_lightness() -> None:
    rng = np.random.default_rng(0)
    first = rng.uniform(-50, 50, (4, 5, 3))
    second = rng.uniform(-50, 50, (4, 5, 3))
    with_other_l = second.copy()
    with_other_l[..., 0] += 40
    assert (
        ab_auc(first, second)
        == ab_auc(first, with_other_l)
        == ab_auc(first[..., 1:], second[..., 1:])
    )
    with pytest.raises(ValueError):
        ab_auc(first, second[:3])


# ------------------------------------------------------------------------------ PSNR, SSIM


def test_psnr_hand_computed() -> None:
    reference = np.zeros((2, 2, 3), dtype=np.uint8)
    candidate = reference.copy()
    candidate[0, 0, 0] = 255  # MSE = 255^2 / 12 -> PSNR = 10 log10(12)
    assert psnr(reference, candidate) == pytest.approx(10 * math.log10(12))
    assert psnr(reference, reference) == math.inf


def test_ssim_of_flat_images_hand_computed(make_photo) -> None:
    # flat images 0 and 10: variances and covariance 0, so SSIM = C1 / (10^2 + C1) with
    # C1 = (0.01 * 255)^2 = 6.5025 (data range 255)
    dark = np.zeros((7, 7, 3), dtype=np.uint8)
    assert ssim(dark, dark + 10) == pytest.approx(6.5025 / 106.5025)
    photo = make_photo(5, 9, 11)
    assert ssim(photo, photo) == pytest.approx(1.0)
    assert ssim(photo[:4, :5], photo[:4, :5]) == pytest.approx(1.0)  # window shrinks to 3
    with pytest.raises(ValueError):
        ssim(photo[:2], photo[:2])
    with pytest.raises(ValueError):
        ssim(photo, photo[:8])


# ------------------------------------------------------------------------------ CIEDE2000


def test_ciede2000_sharma_pairs() -> None:
    # Sharma, Wu and Dalal (2005), test data rows 1, 2 and 7
    reference = np.array([[[50, 2.6772, -79.7751], [50, 3.1571, -77.2803], [50, 0, 0]]])
    candidate = np.array([[[50, 0, -82.7485], [50, 0, -82.7485], [50, -1, 2]]])
    expected = (2.0425 + 2.8615 + 2.3669) / 3
    assert ciede2000_mean(reference, candidate) == pytest.approx(expected, abs=1e-4)
    assert ciede2000_mean(reference, candidate, chunk_pixels=1) == pytest.approx(
        ciede2000_mean(reference, candidate)
    )
    assert ciede2000_mean(reference, reference) == 0.0


def test_ciede2000_map_per_pixel() -> None:
    reference = np.array([[[50, 2.6772, -79.7751], [50, 3.1571, -77.2803], [50, 0, 0]]])
    candidate = np.array([[[50, 0, -82.7485], [50, 0, -82.7485], [50, -1, 2]]])
    for chunk in (1, 2, 1 << 20):
        per_pixel = ciede2000_map(reference, candidate, chunk_pixels=chunk)
        assert per_pixel.shape == (1, 3) and per_pixel.dtype == np.float32
        np.testing.assert_allclose(per_pixel[0], [2.0425, 2.8615, 2.3669], atol=1e-4)
    assert float(per_pixel.mean()) == pytest.approx(ciede2000_mean(reference, candidate))
    with pytest.raises(ValueError, match="one shape"):
        ciede2000_map(reference, candidate[:, :2])


# ------------------------------------------------------------------------------ score_pair


def test_score_pair_perfect_and_gray(make_photo) -> None:
    original = make_photo(7)
    perfect = score_pair(original, original)
    assert tuple(perfect) == METRICS
    assert perfect["psnr"] == math.inf
    assert perfect["ssim"] == pytest.approx(1.0)
    assert perfect["ciede2000"] == 0.0
    assert perfect["ab_auc"] == 1.0
    assert perfect["colorfulness"] == pytest.approx(colorfulness(original))

    lab = rgb_to_lab_u8(original)
    lab[..., 1:] = 0
    from autocolor.color.lab_numpy import lab_to_rgb

    gray = np.clip(lab_to_rgb(lab) * 255 + 0.5, 0, 255).astype(np.uint8)
    scores = score_pair(original, gray)
    assert scores["psnr"] < 40
    assert scores["ssim"] < 1.0
    assert scores["ciede2000"] > 5
    assert scores["ab_auc"] < 0.95
    assert scores["colorfulness"] < 1.0  # R = G = B up to rounding
    # precomputed Lab gives the same numbers
    assert score_pair(original, gray, original_lab=rgb_to_lab_u8(original)) == scores
