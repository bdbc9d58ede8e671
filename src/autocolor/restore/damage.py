"""Dust and scratches: found as small or thin features that stand out of their surroundings
(:func:`find_damage`), filled from around them (:func:`inpaint`, Telea's method in OpenCV).

On the working image (the photo, box-reduced to ``work_side`` px on its short side):

1. the white top-hat and the black-hat with a ``hat_size`` disc: what is brighter (darker) than
   every disc that fits around it, so features narrower than the disc, whatever their
   background's level;
2. a pixel is a candidate where either exceeds a floor (``hat_contrast`` L*, and
   ``hat_noise`` x the grain's sigma) plus ``hat_texture`` x the mean of both hats around it
   (texture makes every pixel of a region stand out a little; a speck on a smooth sky stands
   out alone);
3. connected candidates are dust when small and compact, scratches when long and thin (creases
   too: a dark core lined by a bright edge is one thin component); anything else is picture.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from autocolor.restore.config import DEFAULT_CONFIG, RestoreConfig
from autocolor.restore.convert import (
    check_lightness,
    enlarge_mask,
    opencv,
    reduce,
    working_factor,
)

# Pixels along the working image's edge that are never flagged.
BORDER = 2


@dataclass(frozen=True)
class Damage:
    """Masks of the working image ((h, w) bool) and its reduction ``factor`` from the photo."""

    dust: np.ndarray
    scratches: np.ndarray
    factor: int

    @property
    def dust_share(self) -> float:
        """Share of the photo's pixels flagged as dust, in [0, 1]."""
        return float(self.dust.mean())

    @property
    def scratch_share(self) -> float:
        """Share of the photo's pixels flagged as scratches, in [0, 1]."""
        return float(self.scratches.mean())

    def mask(self, shape: tuple[int, int], dust: bool = True,
             scratches: bool = True) -> np.ndarray:
        """The chosen kinds as an (H, W) bool mask of the photo of ``shape``."""
        small = np.zeros_like(self.dust)
        if dust:
            small |= self.dust
        if scratches:
            small |= self.scratches
        return enlarge_mask(small, self.factor, shape)


def _disc(cv2, size: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))


def find_damage(lightness: np.ndarray, sigma: float = 0.0,
                config: RestoreConfig = DEFAULT_CONFIG) -> Damage:
    """(H, W) L* in [0, 100] and its noise ``sigma`` (L* units, at full size) -> the dust and
    scratch masks of its working image (:class:`Damage`)."""
    lightness = check_lightness(lightness)
    if not np.isfinite(sigma) or sigma < 0:
        raise ValueError(f"sigma must be a finite number >= 0, got {sigma}")
    cv2 = opencv()
    factor = working_factor(lightness.shape, config.work_side)
    work = np.ascontiguousarray(reduce(lightness, factor))
    kernel = _disc(cv2, int(config.hat_size))
    bright = cv2.morphologyEx(work, cv2.MORPH_TOPHAT, kernel, borderType=cv2.BORDER_REPLICATE)
    dark = cv2.morphologyEx(work, cv2.MORPH_BLACKHAT, kernel, borderType=cv2.BORDER_REPLICATE)
    window = int(config.texture_window)
    # Averaging f x f pixels divides white noise's sigma by f.
    noise = sigma / factor
    floor = max(config.hat_contrast, config.hat_noise * noise)
    hats = bright + dark
    if config.texture_clip > 0:
        # Texture is many features; a few strong ones (two crossing scratches) are not, so
        # each pixel adds at most ``texture_clip`` floors to its neighbours' measure.
        hats = np.minimum(hats, np.float32(config.texture_clip * floor))
    activity = cv2.boxFilter(hats, -1, (window, window), borderType=cv2.BORDER_REFLECT)
    # The grain's own hats are no texture: only what the neighbourhood shows beyond them counts.
    activity -= np.float32(config.hat_grain * noise)
    np.maximum(activity, 0, out=activity)
    # How far each pixel stands out beyond what its texture explains, in units of the floor.
    stands_out = np.maximum(bright, dark)
    stands_out -= np.float32(config.hat_texture) * activity
    stands_out *= np.float32(1.0 / floor)
    candidates = (stands_out > np.float32(config.hat_low)).astype(np.uint8)
    # The photo's own edge (a scanner's or a crop's bright or dark line) is no damage to fill.
    edge = BORDER
    candidates[:edge], candidates[-edge:], candidates[:, :edge], candidates[:, -edge:] = 0, 0, 0, 0
    count, labels, stats, _ = cv2.connectedComponentsWithStats(candidates, connectivity=8)
    # Hysteresis: a component is kept only if its strongest pixel clears the floor itself.
    peak = np.zeros(count, np.float32)
    flagged = candidates.view(bool)
    np.maximum.at(peak, labels[flagged], stands_out[flagged])
    width = stats[:, cv2.CC_STAT_WIDTH].astype(np.float64)
    height = stats[:, cv2.CC_STAT_HEIGHT].astype(np.float64)
    area = stats[:, cv2.CC_STAT_AREA].astype(np.float64)
    length = np.hypot(width, height)
    strong = peak >= 1.0
    is_dust = strong & (area <= config.dust_max_area) & \
        (np.maximum(width, height) <= config.dust_max_side)
    # Thin: its area fits a line of that width along its box's two sides, so two crossing
    # scratches (an X, whose box diagonal is shorter than their lengths) are still thin.
    is_scratch = strong & (length >= config.scratch_min_length) & \
        (area <= config.scratch_max_width * (width + height))
    is_dust[0] = is_scratch[0] = False  # the background
    return Damage(is_dust[labels], is_scratch[labels], factor)


def grow(mask: np.ndarray, pixels: int) -> np.ndarray:
    """(H, W) bool mask dilated by a disc of radius ``pixels`` (0: the mask itself)."""
    if pixels <= 0 or not mask.any():
        return mask
    cv2 = opencv()
    grown = cv2.dilate(mask.astype(np.uint8), _disc(cv2, 2 * int(pixels) + 1))
    return grown.astype(bool)


def inpaint(lightness: np.ndarray, mask: np.ndarray, radius: int = 3) -> np.ndarray:
    """(H, W) L* in [0, 100] and an (H, W) bool mask -> (H, W) float32 L*, the masked pixels
    filled by Telea's fast-marching inpainting (OpenCV, float32, neighbourhood ``radius`` px);
    the others keep their exact values."""
    lightness = check_lightness(lightness)
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != lightness.shape:
        raise ValueError(f"mask {mask.shape} does not match the lightness {lightness.shape}")
    if radius < 1:
        raise ValueError(f"radius must be >= 1, got {radius}")
    out = lightness.copy()
    if not mask.any():
        return out
    cv2 = opencv()
    codes = mask.astype(np.uint8)
    for rows, cols, own_rows, own_cols in _regions(cv2, mask, radius):
        filled = cv2.inpaint(np.ascontiguousarray(lightness[rows, cols]),
                             np.ascontiguousarray(codes[rows, cols]), float(radius),
                             cv2.INPAINT_TELEA)
        inner = mask[own_rows, own_cols]
        own = filled[own_rows.start - rows.start:own_rows.stop - rows.start,
                     own_cols.start - cols.start:own_cols.stop - cols.start]
        out[own_rows, own_cols][inner] = np.clip(own[inner], 0.0, 100.0)
    return out


def _regions(cv2, mask: np.ndarray, radius: int) -> list[tuple[slice, slice, slice, slice]]:
    """The parts of a photo worth inpainting: (rows, cols) of each crop and (rows, cols) of the
    blocks it answers for. Blocks of at least ``2 (radius + 2)`` px holding damage, grouped by
    8-connectivity; a crop is its group's box grown by one block, so every pixel Telea's method
    reads (within ``radius``) is in it. Inpainting a 12 MP photo whole costs a second whatever
    the damage; a few hundred specks cost a few crops of their size."""
    block = max(32, 2 * (int(radius) + 2))
    height, width = mask.shape
    rows, cols = -(-height // block), -(-width // block)
    padded = np.zeros((rows * block, cols * block), bool)
    padded[:height, :width] = mask
    damaged = padded.reshape(rows, block, cols, block).any(axis=(1, 3)).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(damaged, connectivity=8)
    regions = []
    for left, top, span_x, span_y, _area in stats[1:count]:
        own_rows = slice(top * block, min(height, (top + span_y) * block))
        own_cols = slice(left * block, min(width, (left + span_x) * block))
        crop_rows = slice(max(0, (top - 1) * block), min(height, (top + span_y + 1) * block))
        crop_cols = slice(max(0, (left - 1) * block), min(width, (left + span_x + 1) * block))
        regions.append((crop_rows, crop_cols, own_rows, own_cols))
    return regions
