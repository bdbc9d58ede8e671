"""Fading: a print whose blacks turned gray and whose whites dulled.

Measured as the L* range the photo lacks at its robust black and white points
(:func:`fading_level`); restored by stretching those points out to a clean photo's typical ones
(:func:`restore_fading`: levels, never compressing, never clipping more than the
``low_percentile``/``100 - high_percentile`` share of pixels beyond them), then a gentle CLAHE
(OpenCV) blended in for the local contrast the print lost.
"""

from __future__ import annotations

import numpy as np

from autocolor.color.lab_numpy import gray_to_lightness
from autocolor.restore.config import DEFAULT_CONFIG, RestoreConfig
from autocolor.restore.convert import check_lightness, opencv

# Percentiles are taken on at most this many pixels (a regular subsample): 12 MP photos in
# milliseconds, and the 0.5 % tails still hold thousands of pixels.
SAMPLE_PIXELS = 1 << 20
# Samples of the gray <-> L* curve (steps of 1/4096 in gray: under 0.03 L* apart).
TABLE_SIZE = 4097


def levels(lightness: np.ndarray, config: RestoreConfig = DEFAULT_CONFIG,
           exclude: np.ndarray | None = None) -> tuple[float, float]:
    """(H, W) L* in [0, 100] -> its robust (black, white) points: the ``low_percentile`` and
    ``high_percentile`` percentiles, in L* units, of the pixels not in ``exclude`` ((H, W)
    bool, e.g. dust and scratches, whose extremes are no part of the print's levels)."""
    lightness = check_lightness(lightness)
    step = max(1, int(np.sqrt(lightness.size / SAMPLE_PIXELS)))
    sample = lightness[::step, ::step]
    if exclude is not None and exclude.any():
        kept = sample[~exclude[::step, ::step]]
        sample = kept if kept.size else sample
    low, high = np.percentile(sample, [config.low_percentile, config.high_percentile])
    return float(low), float(high)


def fading_level(lightness: np.ndarray, config: RestoreConfig = DEFAULT_CONFIG,
                 exclude: np.ndarray | None = None) -> float:
    """How faded the photo looks, in L* units in [0, 100]: twice the smaller of the ranges it
    lacks at the dark end (its black point above 0) and at the light end (its white point below
    100), so both ends must have moved. A faded print lifts its blacks and dulls its whites
    alike; a night photo keeps its blacks, a hazy or high-key one its whites. Over
    ``config.fading_threshold`` the photo counts as faded. ``exclude``: as :func:`levels`."""
    low, high = levels(lightness, config, exclude)
    return 2.0 * min(max(0.0, low), max(0.0, 100.0 - high))


def _lightness_table() -> tuple[np.ndarray, np.ndarray]:
    """(gray codes in [0, 1], their L*) on a fine grid: the sRGB gray <-> L* curve."""
    gray = np.linspace(0.0, 1.0, TABLE_SIZE, dtype=np.float32)
    return gray, gray_to_lightness(gray)


def levels_curve(low: float, high: float,
                 config: RestoreConfig = DEFAULT_CONFIG) -> tuple[np.ndarray, np.ndarray]:
    """The tone curve of :func:`stretch` for black and white points ``low`` and ``high`` (L*):
    -> (L* in, L* out), two (TABLE_SIZE,) float32 arrays, the first evenly spaced over
    [0, 100] (:func:`apply_curve`).

    The points move ``fading_strength`` of the way out to ``target_black``/``target_white``
    (never in), linearly on the sRGB gray codes, as a scanner's or an editor's Levels do,
    with a gain of at most ``max_gain``.
    """
    gray, table = _lightness_table()
    low_code, high_code = np.interp([low, high], table, gray)
    targets = np.interp([config.target_black, config.target_white], table, gray)
    strength = config.fading_strength
    new_low = low_code + strength * (min(low_code, targets[0]) - low_code)
    new_high = high_code + strength * (max(high_code, targets[1]) - high_code)
    span = max(high_code - low_code, 1e-4)
    gain = (new_high - new_low) / span
    if gain > config.max_gain:  # keep the middle where the full stretch would put it
        middle_in, middle_out = (low_code + high_code) / 2, (new_low + new_high) / 2
        gain = config.max_gain
        new_low = middle_out - gain * (middle_in - low_code)
    grid = np.linspace(0.0, 100.0, TABLE_SIZE, dtype=np.float32)
    codes = np.interp(grid, table, gray)
    codes = np.clip((codes - low_code) * gain + new_low, 0.0, 1.0).astype(np.float32)
    return grid, gray_to_lightness(codes)


def apply_curve(lightness: np.ndarray, curve: np.ndarray) -> np.ndarray:
    """(H, W) L* in [0, 100] through a curve sampled evenly over [0, 100] (:func:`levels_curve`)
    -> (H, W) float32, linearly interpolated: an index and a blend per pixel (np.interp's
    binary search is 8x slower on a 12 MP photo)."""
    steps = len(curve) - 1
    position = np.clip(lightness, 0.0, 100.0) * np.float32(steps / 100.0)
    index = np.minimum(position.astype(np.int32), steps - 1)
    position -= index  # the blend, in [0, 1]
    low = curve[index]
    out = curve[index + 1]
    out -= low
    out *= position
    out += low
    return out


def stretch(lightness: np.ndarray, config: RestoreConfig = DEFAULT_CONFIG) -> np.ndarray:
    """Levels alone: (H, W) L* -> (H, W) float32 L*, through :func:`levels_curve` of the photo's
    :func:`levels`; the pixels beyond the percentiles may clip at 0 and 100 (at most
    ``low_percentile`` + ``100 - high_percentile`` percent of them)."""
    lightness = check_lightness(lightness)
    _, curve = levels_curve(*levels(lightness, config), config)
    return apply_curve(lightness, curve)


def restore_fading(lightness: np.ndarray, config: RestoreConfig = DEFAULT_CONFIG) -> np.ndarray:
    """(H, W) L* in [0, 100] -> (H, W) float32 L*: :func:`stretch`, then CLAHE (OpenCV, clip
    limit ``clahe_clip_limit`` on ``clahe_tiles`` x ``clahe_tiles`` tiles) blended in at
    ``clahe_weight``. CLAHE runs on 8-bit codes; only its change is added to the float levels,
    so flat regions keep their full precision."""
    return local_contrast(stretch(lightness, config), config)


def local_contrast(out: np.ndarray, config: RestoreConfig = DEFAULT_CONFIG) -> np.ndarray:
    """(H, W) float32 L* after the levels -> CLAHE's change blended in at ``clahe_weight``, in
    place (the second half of :func:`restore_fading`)."""
    if config.clahe_weight <= 0:
        return out
    cv2 = opencv()
    codes = np.clip(out * np.float32(2.55) + np.float32(0.5), 0, 255).astype(np.uint8)
    tiles = int(config.clahe_tiles)
    equalized = cv2.createCLAHE(clipLimit=float(config.clahe_clip_limit),
                                tileGridSize=(tiles, tiles)).apply(codes)
    change = (equalized.astype(np.float32) - codes.astype(np.float32)) * np.float32(1 / 2.55)
    out += change * np.float32(config.clahe_weight)
    return np.clip(out, 0.0, 100.0, out=out)
