"""Colorization metrics as pure functions on 8-bit sRGB images and Lab arrays.

Every function takes the reference (the original colour photo) first and the candidate second.
RGB inputs are ``(H, W, 3) uint8`` sRGB; Lab inputs are ``(H, W, 3)`` float CIE Lab (D65,
L in [0, 100]) as produced by :func:`rgb_to_lab_u8`. The exact definitions, and which library
computes what, are in ``docs/evaluation.md``.

No torch here: NumPy and scikit-image only.
"""

from __future__ import annotations

import math

import numpy as np
from skimage.color import deltaE_ciede2000
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from autocolor.color.lab_numpy import rgb_to_lab

# Zhang et al. (2016), "Colorful Image Colorization", sec. 3.1: thresholds 0..150 in ab units.
AUC_MAX_THRESHOLD: int = 150
# CIEDE2000 works in float64 with many temporaries; score this many pixels at a time.
_DELTA_E_CHUNK_PIXELS: int = 1 << 20
# Names of the metrics score_pair returns, in report order.
METRICS: tuple[str, ...] = ("psnr", "ssim", "ciede2000", "ab_auc", "colorfulness")


def _check_rgb(image: object, name: str) -> np.ndarray:
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(image).__name__}")
    if image.ndim != 3 or image.shape[-1] != 3 or image.dtype != np.uint8:
        raise ValueError(f"{name} must be (H, W, 3) uint8, got {image.shape} {image.dtype}")
    return image


def _check_pair(reference: np.ndarray, candidate: np.ndarray) -> None:
    _check_rgb(reference, "reference")
    _check_rgb(candidate, "candidate")
    if reference.shape != candidate.shape:
        raise ValueError(f"shapes differ: {reference.shape} vs {candidate.shape}")


def rgb_to_lab_u8(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 sRGB -> (H, W, 3) float32 Lab, via :mod:`autocolor.color.lab_numpy`."""
    _check_rgb(rgb, "rgb")
    return rgb_to_lab(rgb.astype(np.float32) / np.float32(255.0))


def psnr(reference: np.ndarray, candidate: np.ndarray) -> float:
    """PSNR in dB over all RGB values, data range 255; ``inf`` for identical images.

    ``10 * log10(255**2 / mean((reference - candidate)**2))``, computed by
    ``skimage.metrics.peak_signal_noise_ratio``.
    """
    _check_pair(reference, candidate)
    if np.array_equal(reference, candidate):
        return math.inf  # skimage would return inf too, after a divide-by-zero warning
    return float(peak_signal_noise_ratio(reference, candidate, data_range=255))


def ssim(reference: np.ndarray, candidate: np.ndarray) -> float:
    """Mean SSIM over the three RGB channels (``skimage.metrics.structural_similarity`` with
    ``channel_axis=-1``, ``data_range=255`` and its defaults: 7x7 uniform window, sample
    covariance). Images with a side below 7 pixels use the largest odd window that fits."""
    _check_pair(reference, candidate)
    side = min(reference.shape[:2])
    if side < 3:
        raise ValueError(f"SSIM needs images of at least 3x3 pixels, got {reference.shape[:2]}")
    win_size = min(7, side if side % 2 else side - 1)
    return float(
        structural_similarity(
            reference, candidate, channel_axis=-1, data_range=255, win_size=win_size
        )
    )


def _delta_e_chunks(lab_reference: np.ndarray, lab_candidate: np.ndarray, chunk_pixels: int):
    """Yield (start, CIEDE2000 float64 of pixels start..) over two (..., 3) Lab arrays."""
    lab_reference = np.asarray(lab_reference)
    lab_candidate = np.asarray(lab_candidate)
    if lab_reference.shape != lab_candidate.shape or lab_reference.shape[-1] != 3:
        raise ValueError(
            f"expected two (..., 3) Lab arrays of one shape, got "
            f"{lab_reference.shape} and {lab_candidate.shape}"
        )
    first = lab_reference.reshape(-1, 3)
    second = lab_candidate.reshape(-1, 3)
    if len(first) == 0:
        raise ValueError("empty images")
    step = max(1, int(chunk_pixels))
    for start in range(0, len(first), step):
        yield start, deltaE_ciede2000(
            first[start:start + step].astype(np.float64),
            second[start:start + step].astype(np.float64),
            channel_axis=-1,
        )


def ciede2000_mean(
    lab_reference: np.ndarray, lab_candidate: np.ndarray, chunk_pixels: int = _DELTA_E_CHUNK_PIXELS
) -> float:
    """Mean CIEDE2000 colour difference (``skimage.color.deltaE_ciede2000``, kL = kC = kH = 1)
    over all pixels of two ``(..., 3)`` Lab arrays, in float64, ``chunk_pixels`` at a time."""
    total, count = 0.0, 0
    for _, chunk in _delta_e_chunks(lab_reference, lab_candidate, chunk_pixels):
        total += float(chunk.sum())
        count += chunk.size
    return total / count


def ciede2000_map(
    lab_reference: np.ndarray, lab_candidate: np.ndarray, chunk_pixels: int = _DELTA_E_CHUNK_PIXELS
) -> np.ndarray:
    """Per-pixel CIEDE2000 of two ``(..., 3)`` Lab arrays -> ``(...)`` float32; its mean is
    :func:`ciede2000_mean` (to float32 rounding)."""
    out = np.empty(np.shape(lab_reference)[:-1], dtype=np.float32)
    flat = out.reshape(-1)
    for start, chunk in _delta_e_chunks(lab_reference, lab_candidate, chunk_pixels):
        flat[start:start + chunk.size] = chunk
    return out


def ab_errors(lab_reference: np.ndarray, lab_candidate: np.ndarray) -> np.ndarray:
    """Per-pixel Euclidean distance in the ab plane, float64. Inputs are ``(..., 3)`` Lab or
    ``(..., 2)`` ab arrays (the last two channels are used)."""
    first = np.asarray(lab_reference)
    second = np.asarray(lab_candidate)
    if first.shape != second.shape or first.shape[-1] not in (2, 3):
        raise ValueError(
            f"expected two (..., 3) Lab or (..., 2) ab arrays of one shape, got "
            f"{first.shape} and {second.shape}"
        )
    diff = first[..., -2:].astype(np.float64) - second[..., -2:].astype(np.float64)
    return np.sqrt(np.sum(diff * diff, axis=-1))


def ab_accuracy_curve(
    lab_reference: np.ndarray, lab_candidate: np.ndarray, max_threshold: int = AUC_MAX_THRESHOLD
) -> np.ndarray:
    """Share of pixels whose ab error is <= t, for t = 0, 1, ..., max_threshold (float64)."""
    errors = ab_errors(lab_reference, lab_candidate).ravel()
    if errors.size == 0:
        raise ValueError("empty images")
    # error <= t  <=>  ceil(error) <= t for integer t; errors beyond the range share one bin.
    bins = np.minimum(np.ceil(errors), max_threshold + 1).astype(np.int64)
    counts = np.bincount(bins, minlength=max_threshold + 2)
    return np.cumsum(counts)[: max_threshold + 1] / errors.size


def ab_auc(
    lab_reference: np.ndarray, lab_candidate: np.ndarray, max_threshold: int = AUC_MAX_THRESHOLD
) -> float:
    """Zhang et al.'s ab accuracy AuC in [0, 1]: the mean over the integer thresholds
    t = 0..150 of the share of pixels whose ab Euclidean error is <= t."""
    return float(np.mean(ab_accuracy_curve(lab_reference, lab_candidate, max_threshold)))


def colorfulness(rgb: np.ndarray) -> float:
    """Hasler and Suesstrunk's colourfulness M3 as CT2 / DDColor compute it, on 8-bit RGB:

    rg = |R - G|, yb = |(R + G) / 2 - B|,
    CF = sqrt(std(rg)^2 + std(yb)^2) + 0.3 * sqrt(mean(rg)^2 + mean(yb)^2)
    (population standard deviations over all pixels).
    """
    _check_rgb(rgb, "rgb")
    values = rgb.astype(np.float64)
    red, green, blue = values[..., 0], values[..., 1], values[..., 2]
    rg = np.abs(red - green)
    yb = np.abs(0.5 * (red + green) - blue)
    std_root = math.sqrt(float(rg.std()) ** 2 + float(yb.std()) ** 2)
    mean_root = math.sqrt(float(rg.mean()) ** 2 + float(yb.mean()) ** 2)
    return std_root + 0.3 * mean_root


def score_pair(
    original_rgb: np.ndarray,
    predicted_rgb: np.ndarray,
    *,
    original_lab: np.ndarray | None = None,
    predicted_lab: np.ndarray | None = None,
) -> dict[str, float]:
    """All metrics of one colourised photo against its original, keys :data:`METRICS`.

    ``colorfulness`` is the prediction's; compute ``colorfulness(original_rgb)`` for the
    reference value. Pass Lab arrays already computed with :func:`rgb_to_lab_u8` to skip the
    conversions.
    """
    _check_pair(original_rgb, predicted_rgb)
    if original_lab is None:
        original_lab = rgb_to_lab_u8(original_rgb)
    if predicted_lab is None:
        predicted_lab = rgb_to_lab_u8(predicted_rgb)
    return {
        "psnr": psnr(original_rgb, predicted_rgb),
        "ssim": ssim(original_rgb, predicted_rgb),
        "ciede2000": ciede2000_mean(original_lab, predicted_lab),
        "ab_auc": ab_auc(original_lab, predicted_lab),
        "colorfulness": colorfulness(predicted_rgb),
    }
