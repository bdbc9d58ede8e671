"""What every restoration module shares: the input check, OpenCV (an extra), and the working
image that dust and scratches are found on.

OpenCV (``pip install 'autocolor[restore]'``) is imported by :func:`opencv`; a missing module
raises ``ModuleNotFoundError`` naming ``cv2``, which the command line turns into one line
(:mod:`autocolor.extras`).
"""

from __future__ import annotations

import math
from types import ModuleType

import numpy as np


def opencv() -> ModuleType:
    """The ``cv2`` module; raises ``ModuleNotFoundError(name="cv2")`` without the extra."""
    import cv2

    return cv2


def check_lightness(lightness: np.ndarray, name: str = "lightness") -> np.ndarray:
    """Check an (H, W) L* plane in [0, 100] (a little tolerance) -> the same data as float32.

    Raises:
        ValueError: not 2-D, empty, not finite, or outside [0, 100].
    """
    array = np.asarray(lightness)
    if array.ndim != 2 or 0 in array.shape:
        raise ValueError(f"{name} must be a non-empty (H, W) array, got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.floating) and not np.issubdtype(array.dtype,
                                                                         np.integer):
        raise ValueError(f"{name} must be numeric, got {array.dtype}")
    array = array.astype(np.float32, copy=False)
    low, high = float(array.min()), float(array.max())
    if not (math.isfinite(low) and math.isfinite(high)) or low < -0.5 or high > 100.5:
        raise ValueError(f"{name} must be finite L* in [0, 100], got values in "
                         f"[{low:.3g}, {high:.3g}]")
    return array


def working_factor(shape: tuple[int, int], work_side: int) -> int:
    """The integer reduction that brings the short side of ``shape`` (H, W) to ``work_side``
    px or less (1 for photos that are small enough)."""
    return max(1, math.ceil(min(shape) / work_side))


def reduce(lightness: np.ndarray, factor: int) -> np.ndarray:
    """(H, W) float32 -> (ceil(H/f), ceil(W/f)) float32, the mean of each f x f block (edge
    blocks padded by replication); ``factor`` 1 returns the input."""
    if factor == 1:
        return lightness
    height, width = lightness.shape
    pad_h, pad_w = (-height) % factor, (-width) % factor
    padded = np.pad(lightness, ((0, pad_h), (0, pad_w)), mode="edge") if pad_h or pad_w \
        else lightness
    blocks = padded.reshape(padded.shape[0] // factor, factor, padded.shape[1] // factor, factor)
    return blocks.mean(axis=(1, 3), dtype=np.float32)


def enlarge_mask(mask: np.ndarray, factor: int, shape: tuple[int, int]) -> np.ndarray:
    """A (h, w) bool mask of the working image -> (H, W) bool, each pixel an f x f block."""
    if factor == 1:
        return mask
    big = np.repeat(np.repeat(mask, factor, axis=0), factor, axis=1)
    return np.ascontiguousarray(big[:shape[0], :shape[1]])


def to_u16(lightness: np.ndarray) -> np.ndarray:
    """L* (H, W) float32 in [0, 100] -> uint16 codes 0..65535 (for OpenCV's CLAHE)."""
    return np.clip(lightness * np.float32(655.35) + np.float32(0.5), 0, 65535).astype(np.uint16)


def from_u16(codes: np.ndarray) -> np.ndarray:
    """uint16 codes -> L* float32 in [0, 100]."""
    return codes.astype(np.float32) * np.float32(100.0 / 65535.0)
