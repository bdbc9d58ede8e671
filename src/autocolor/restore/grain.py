"""Grain and noise: measured as a noise sigma (:func:`noise_sigma`), removed by an
edge-preserving filter tuned to it (:func:`restore_grain`), where even the photo's quietest
blocks carry it (:func:`grain_coverage`).

The estimate is Donoho and Johnstone's: the median absolute value of the finest diagonal Haar
wavelet band over 0.6745, taken per block and over the quieter blocks, so that the edges and
textures that also live in that band do not count. Film
grain is a little coarser than a pixel and a JPEG smooths the finest band, so the estimate is
taken on the photo and on its 2x2 reduction, and the larger (the grain's own scale) is kept.

The filter is OpenCV's bilateral filter on float L* (range sigma ``grain_strength`` x the
measured sigma): on a 12 MP photo about 0.2 s on two cores, where non-local means takes 10 s.
"""

from __future__ import annotations

import numpy as np

from autocolor.restore.config import DEFAULT_CONFIG, RestoreConfig
from autocolor.restore.convert import check_lightness, opencv, reduce

# The MAD of a normal variable is 0.6745 of its sigma.
MAD_TO_SIGMA = 1 / 0.6745
# Haar coefficients per side of a block (a block covers 2x as many pixels per side).
BLOCK = 16
# The noise is the level of the quieter blocks: this percentile of the blocks' estimates.
BLOCK_PERCENTILE = 25.0
# Whether there is grain at all is read lower, at the quietest tenth of the blocks: film grain
# covers the whole print, so even its quietest blocks carry it, where the texture of a clean
# photo (a lawn, foliage, a solar panel's grid) fills many blocks but seldom nine in ten. On the
# 304 clean training and validation photos, ``auto`` smoothed 6 textured ones as grainy at the
# 25th percentile and 1 at the 10th; on the validation photos' old prints it smoothed 6 of 71
# ``eval`` prints instead of 11 (-0.07 dB of L* on that preset) and as many ``eval-alt`` ones.
COVERAGE_PERCENTILE = 10.0
# Blocks whose mean is this near black or white are left out: clipped, they show no noise.
CLIPPED = 5.0
# At most this many blocks are measured (a regular subsample of block rows on big photos).
MAX_BLOCKS = 1 << 14


def _finest_band_sigma(lightness: np.ndarray,
                       percentiles: tuple[float, ...] = (BLOCK_PERCENTILE,)) -> list[float]:
    """Robust sigma of the finest diagonal Haar band, over the quieter blocks of the photo: one
    per percentile of ``percentiles``.

    ``(a - b - c + d) / 2`` per 2x2 pixel block has the standard deviation of white noise of
    sigma whatever the smooth content; its median absolute value over a block of BLOCK x BLOCK
    coefficients is sigma x 0.6745 where the block holds no edge or texture. The
    ``BLOCK_PERCENTILE`` percentile of the blocks' estimates (clipped blocks left out) keeps
    the quiet ones: texture only ever adds.
    """
    nothing = [0.0] * len(percentiles)
    side = 2 * BLOCK
    rows, cols = lightness.shape[0] // side, lightness.shape[1] // side
    if rows * cols < 4:
        rows, cols = lightness.shape[0] // 4, lightness.shape[1] // 4  # tiny: 2x2 blocks
        if rows * cols < 4:
            return nothing
        side = 4
    step = max(1, int(np.ceil(rows * cols / MAX_BLOCKS)))
    plane = lightness[:rows * side, :cols * side]
    plane = plane.reshape(rows, side, cols * side)[::step].reshape(-1, cols * side)
    a, b = plane[0::2, 0::2], plane[0::2, 1::2]
    c, d = plane[1::2, 0::2], plane[1::2, 1::2]
    half = side // 2
    kept_rows = plane.shape[0] // side

    def per_block(values: np.ndarray) -> np.ndarray:
        return values.reshape(kept_rows, half, cols, half).transpose(0, 2, 1, 3).reshape(
            kept_rows, cols, half * half)

    band = np.abs((a - b - c + d) * np.float32(0.5))
    mean = (a + b + c + d) * np.float32(0.25)
    sigmas = np.median(per_block(band), axis=-1) * MAD_TO_SIGMA
    means = per_block(mean).mean(axis=-1)
    unclipped = (means > CLIPPED) & (means < 100 - CLIPPED)
    if unclipped.sum() < 4:
        return nothing
    return [float(value) for value in np.percentile(sigmas[unclipped], percentiles)]


def noise_levels(lightness: np.ndarray,
                 percentiles: tuple[float, ...] = (BLOCK_PERCENTILE, COVERAGE_PERCENTILE),
                 ) -> tuple[float, ...]:
    """(H, W) L* in [0, 100] -> the noise sigma in L* units (>= 0) at each percentile of the
    blocks' estimates: by default (the sigma, the grain's coverage), the level the grain filter
    works to and the level that says whether the whole photo is grainy.

    Per percentile, the finest band's estimate at full size and at the 2x2 reduction scaled
    back by 2 (white noise averaged over 4 pixels has half the sigma; grain coarser than a
    pixel, which the finest band hardly sees, keeps more); the larger of the two.
    """
    lightness = check_lightness(lightness)
    fine = _finest_band_sigma(lightness, percentiles)
    if min(lightness.shape) < 16:
        return tuple(fine)
    coarse = _finest_band_sigma(reduce(lightness, 2), percentiles)
    return tuple(max(one, 2.0 * two) for one, two in zip(fine, coarse, strict=True))


def noise_sigma(lightness: np.ndarray) -> float:
    """(H, W) L* in [0, 100] -> the noise sigma in L* units (>= 0): the quieter blocks' level
    (:func:`noise_levels` at ``BLOCK_PERCENTILE``), what the grain filter is tuned to."""
    return noise_levels(lightness, (BLOCK_PERCENTILE,))[0]


def grain_coverage(lightness: np.ndarray) -> float:
    """(H, W) L* in [0, 100] -> the noise sigma of the quietest tenth of the blocks (L* units,
    :func:`noise_levels` at ``COVERAGE_PERCENTILE``): grain of an old print covers the photo,
    a clean photo's texture does not. ``grain``'s measured number."""
    return noise_levels(lightness, (COVERAGE_PERCENTILE,))[0]


def restore_grain(lightness: np.ndarray, sigma: float,
                  config: RestoreConfig = DEFAULT_CONFIG) -> np.ndarray:
    """(H, W) L* in [0, 100] and its noise ``sigma`` (L* units, :func:`noise_sigma`) -> (H, W)
    float32 L*, grain smoothed: a bilateral filter of range sigma ``grain_strength * sigma``
    and spatial sigma ``grain_spatial_sigma`` px over ``grain_diameter`` px. ``sigma`` 0 returns
    a copy."""
    lightness = check_lightness(lightness)
    if not np.isfinite(sigma) or sigma < 0:
        raise ValueError(f"sigma must be a finite number >= 0, got {sigma}")
    if sigma == 0:
        return lightness.copy()
    cv2 = opencv()
    out = cv2.bilateralFilter(np.ascontiguousarray(lightness), int(config.grain_diameter),
                              float(config.grain_strength * sigma),
                              float(config.grain_spatial_sigma),
                              borderType=cv2.BORDER_REFLECT)
    return np.clip(out, 0.0, 100.0, out=out)
