"""Halftone: the dot screen of a newspaper or book print, scanned.

A screen is a 2-D grid of dots, so its spectrum has sharp peaks at the screen frequency in two
directions 90 degrees apart (and their harmonics), far from DC where the picture's own energy
falls smoothly. :func:`find_screen` averages the windowed power spectra of a few tiles, divides
each bin by the median of its neighbourhood, and keeps the local maxima that stand out;
the measured number is the height of the strongest peak that has a partner at 90 degrees.
:func:`remove_halftone` notches those peaks out of the whole photo's spectrum (each bin near a
peak that stands ``notch_ratio`` above its surroundings is brought down to their level, its
phase kept), low-passes what is left at the screen's frequency (the detail a screen cannot
hold, and the skirts of its peaks, which a round-dot screen's hard edges spread widely) and
transforms back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import fft as sfft
from scipy.ndimage import maximum_filter

from autocolor.restore.config import DEFAULT_CONFIG, RestoreConfig
from autocolor.restore.convert import check_lightness

# Neighbourhood (tile bins) of the spectrum's local level, and of a local maximum.
LEVEL_WINDOW = 9
PEAK_WINDOW = 3
# Half-width (tile bins) of the region notched around each peak in the full spectrum, and of
# the surroundings its level is taken from (a few times more).
NOTCH_HALF_WIDTH = 1.5
LEVEL_HALF_WIDTH = 5.0


@dataclass(frozen=True)
class Screen:
    """What :func:`find_screen` saw: ``strength`` (the measured number: the peak height of the
    strongest peak with a partner at 90 degrees, 1.0 for none) and ``peaks``, the
    (fy, fx) frequencies (cycles/px, fx >= 0) of every peak over ``notch_ratio``; ``tile`` is the
    tile size (px) they were measured at."""

    strength: float
    peaks: tuple[tuple[float, float], ...]
    tile: int
    frequency: float = 0.0  # of the strongest paired peak (cycles/px): the screen's, 1/period


def _tile_size(shape: tuple[int, int], config: RestoreConfig) -> int:
    side = min(int(config.halftone_tile), *shape)
    return 1 << (side.bit_length() - 1) if side >= 32 else 0


def _tile_corners(shape: tuple[int, int], tile: int, count: int) -> list[tuple[int, int]]:
    per_side = max(1, int(np.sqrt(count)))
    tops = np.linspace(0, shape[0] - tile, per_side).astype(int)
    lefts = np.linspace(0, shape[1] - tile, per_side).astype(int)
    return sorted({(int(top), int(left)) for top in tops for left in lefts})


def find_screen(lightness: np.ndarray, config: RestoreConfig = DEFAULT_CONFIG) -> Screen:
    """(H, W) L* in [0, 100] -> its halftone :class:`Screen` (strength 1.0 and no peaks for
    photos under 32 px a side)."""
    lightness = check_lightness(lightness)
    tile = _tile_size(lightness.shape, config)
    if not tile:
        return Screen(1.0, (), 0)
    window = np.outer(np.hanning(tile), np.hanning(tile)).astype(np.float32)
    corners = _tile_corners(lightness.shape, tile, int(config.halftone_tiles))
    patches = np.stack([lightness[top:top + tile, left:left + tile] for top, left in corners])
    patches -= patches.mean(axis=(1, 2), keepdims=True)
    patches *= window
    spectra = sfft.fft2(patches, axes=(-2, -1), workers=-1)
    power = np.fft.fftshift((spectra.real ** 2 + spectra.imag ** 2).mean(axis=0))
    log_amplitude = (0.5 * np.log(power + 1e-12)).astype(np.float32)
    ratio = np.exp(log_amplitude - _local_median(log_amplitude, LEVEL_WINDOW))
    frequencies = (np.arange(tile) - tile // 2) / tile
    fy, fx = np.meshgrid(frequencies, frequencies, indexing="ij")
    away = np.hypot(fy, fx) >= config.halftone_min_frequency
    local_max = ratio == maximum_filter(ratio, size=PEAK_WINDOW, mode="wrap")
    candidates = np.argwhere(away & local_max & (ratio >= config.notch_ratio))
    neighbourhood = maximum_filter(ratio, size=PEAK_WINDOW, mode="wrap")
    strength, frequency = 1.0, 0.0
    peaks: list[tuple[float, float]] = []
    center = tile // 2
    for row, col in candidates:
        y, x = row - center, col - center
        partner = neighbourhood[(center + x) % tile, (center - y) % tile]  # rotated 90 degrees
        paired = float(min(ratio[row, col], partner))
        if paired > strength:
            strength, frequency = paired, float(np.hypot(y, x) / tile)
        if x > 0 or (x == 0 and y > 0):  # one of each conjugate pair
            peaks.append((y / tile, x / tile))
        elif x == 0 and y < 0:
            continue
        else:
            peaks.append((-y / tile, -x / tile))
    return Screen(strength, tuple(sorted(set(peaks))), tile, frequency)


def _local_median(plane: np.ndarray, size: int) -> np.ndarray:
    """The median of each pixel's ``size`` x ``size`` neighbourhood, on 256 levels between the
    plane's 1st percentile (below it: DC, removed, and the window's dead corners) and its
    maximum: OpenCV's 8-bit median filter, 50x faster than SciPy's on floats; the levels are a
    few hundredths apart in log amplitude, a few % in a peak's ratio."""
    from autocolor.restore.convert import opencv

    low, high = float(np.percentile(plane, 1.0)), float(plane.max())
    if high <= low:
        return plane.copy()
    step = (high - low) / 255.0
    codes = np.clip((plane - low) / step + 0.5, 0, 255).astype(np.uint8)
    return opencv().medianBlur(codes, size).astype(np.float32) * np.float32(step) + \
        np.float32(low)


def remove_halftone(lightness: np.ndarray, screen: Screen,
                    config: RestoreConfig = DEFAULT_CONFIG) -> np.ndarray:
    """(H, W) L* in [0, 100] and its :class:`Screen` -> (H, W) float32 L*, the screen's peaks
    notched out of the spectrum (none: a copy)."""
    lightness = check_lightness(lightness)
    if not screen.peaks or not screen.tile:
        return lightness.copy()
    height, width = lightness.shape
    mean = float(lightness.mean())
    spectrum = sfft.rfft2(lightness - np.float32(mean), workers=-1)
    rows = np.fft.fftfreq(height)
    cols = np.fft.rfftfreq(width)
    notch = NOTCH_HALF_WIDTH / screen.tile
    around = LEVEL_HALF_WIDTH / screen.tile
    threshold = np.log(config.notch_ratio)
    for peak_y, peak_x in screen.peaks:
        for fy in (peak_y, -peak_y) if peak_x == 0 else (peak_y,):
            near_rows = np.flatnonzero(np.abs(_wrap(rows - fy)) <= around)
            near_cols = np.flatnonzero(np.abs(cols - peak_x) <= around)
            if not len(near_rows) or not len(near_cols):
                continue
            block = spectrum[np.ix_(near_rows, near_cols)]
            log_amplitude = np.log(np.abs(block) + 1e-12)
            level = float(np.median(log_amplitude))
            inner = (np.abs(_wrap(rows[near_rows] - fy))[:, None] <= notch) & \
                (np.abs(cols[near_cols] - peak_x)[None, :] <= notch)
            hot = inner & (log_amplitude - level > threshold)
            scale = np.where(hot, np.exp(level - log_amplitude), 1.0)
            spectrum[np.ix_(near_rows, near_cols)] = block * scale
    if screen.frequency > 0 and config.descreen_blur > 0:
        # A Gaussian low-pass of sigma descreen_blur x the period: what the screen's lattice
        # could not hold (detail finer than its dots) and the harmonics' skirts go with it.
        sigma = config.descreen_blur / screen.frequency
        gain_rows = np.exp(-2 * (np.pi * sigma * rows) ** 2).astype(np.float32)
        gain_cols = np.exp(-2 * (np.pi * sigma * cols) ** 2).astype(np.float32)
        spectrum *= gain_rows[:, None]
        spectrum *= gain_cols[None, :]
    out = sfft.irfft2(spectrum, s=(height, width), workers=-1).astype(np.float32)
    out += np.float32(mean)
    return np.clip(out, 0.0, 100.0, out=out)


def _wrap(frequency: np.ndarray) -> np.ndarray:
    """Frequencies (cycles/px) wrapped into [-0.5, 0.5)."""
    return (frequency + 0.5) % 1.0 - 0.5
