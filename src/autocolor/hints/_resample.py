"""Resampling shared by hint propagation and reference transfer.

Both solve at a reduced "working" resolution (a 12-megapixel sparse solve would take minutes) and
carry a smooth chroma *correction* back to full resolution with a guided filter whose guide is the
full-resolution lightness, so colour edges land on the photo's own edges rather than on the
blocky working grid.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

from autocolor.infer.guided import box_filter


def working_shape(height: int, width: int, max_side: int) -> tuple[int, int]:
    """``(h, w)`` with long side ``<= max_side`` and the aspect ratio kept; never upsizes."""
    scale = min(1.0, max_side / max(height, width))
    return (max(1, round(height * scale)), max(1, round(width * scale)))


def resize_plane(plane: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resize a ``(H, W)`` float plane to ``shape = (h, w)``, float32.

    Shrinking uses a box filter (area average, no aliasing); enlarging uses bilinear interpolation
    with pixel centres aligned, which is what the guided-filter coefficients need. Pillow's "F"
    mode does both in C and in float32, several times faster than scikit-image.
    """
    plane = np.ascontiguousarray(plane, dtype=np.float32)
    if plane.shape == tuple(shape):
        return plane.copy()
    shrinking = shape[0] <= plane.shape[0] and shape[1] <= plane.shape[1]
    method = Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR
    resized = Image.fromarray(plane).resize((shape[1], shape[0]), method)
    return np.asarray(resized, dtype=np.float32)


def resize_stack(stack: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resize every channel of a ``(H, W, C)`` array to ``(h, w, C)`` float32."""
    return np.stack([resize_plane(stack[..., c], shape) for c in range(stack.shape[-1])], axis=-1)


def box_mean(plane: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a ``(2 radius + 1)^2`` window, mirrored at the borders, float32: the one box
    filter (:func:`autocolor.infer.guided.box_filter`), which the colour's guided upsampling
    uses too."""
    return box_filter(plane, radius)


def guided_upsample(
    guide_low: np.ndarray,
    source_low: np.ndarray,
    guide_full: np.ndarray,
    *,
    radius: int = 2,
    eps: float = 4.0,
) -> np.ndarray:
    """Fast guided-filter upsampling (He & Sun 2015) of a multi-channel source.

    Fits ``source ~ a * guide + b`` in every ``(2 radius + 1)^2`` window at low resolution,
    upsamples ``a`` and ``b`` bilinearly and evaluates them on the full-resolution guide, so a step
    in the source follows the full-resolution edge of the guide. The result is clamped to the
    window's min/max of the source: the linear model would otherwise overshoot on thin details the
    downsampled guide no longer sees (a bright wire in a dark sky).

    Args:
        guide_low: ``(h, w)`` guide (lightness, [0, 100]) at the source's resolution; must be the
            area-downsampled ``guide_full``.
        source_low: ``(h, w, C)`` values to upsample (e.g. an ab correction in Lab units).
        guide_full: ``(H, W)`` full-resolution guide.
        radius: window radius in low-resolution pixels.
        eps: regulariser in guide units squared; windows whose lightness varies less than about
            ``sqrt(eps)`` get a flat (plain bilinear) result, so noise is not copied into colour.

    Returns:
        ``(H, W, C)`` float32.
    """
    full_shape = guide_full.shape
    guide_low = guide_low.astype(np.float32)
    mean_i = box_mean(guide_low, radius)
    var_i = np.maximum(box_mean(guide_low * guide_low, radius) - mean_i * mean_i, 0.0)
    out = np.empty((*full_shape, source_low.shape[-1]), dtype=np.float32)
    for c in range(source_low.shape[-1]):
        p = source_low[..., c].astype(np.float32)
        mean_p = box_mean(p, radius)
        cov = box_mean(guide_low * p, radius) - mean_i * mean_p
        a = cov / (var_i + np.float32(eps))
        b = mean_p - a * mean_i
        # Averaging a, b over windows (the guided filter's second step) avoids blocky seams.
        a_full = resize_plane(box_mean(a, radius), full_shape)
        b_full = resize_plane(box_mean(b, radius), full_shape)
        size = 2 * radius + 1
        low = resize_plane(ndimage.minimum_filter(p, size=size, mode="nearest"), full_shape)
        high = resize_plane(ndimage.maximum_filter(p, size=size, mode="nearest"), full_shape)
        channel = out[..., c]
        np.multiply(a_full, guide_full, out=channel)
        channel += b_full
        np.clip(channel, low, high, out=channel)
    return out
