"""Edge-aware upsampling of ab, guided by the lightness (the fast guided filter).

The network predicts ab at the render size (long side ~384); a 12 MP photo is ten times larger
on each side. Bilinear upsampling blurs colour across every edge of the photo: a red coat bleeds
into the wall behind it over ten pixels. The guided filter (He, Sun and Tang 2010) models ab, in
each small window, as a linear function of the lightness, ``ab = A * L + B``, fitted by ridge
regression (``eps``); its fast form (He and Sun 2015) fits A and B at the render size, upsamples
them bilinearly, and applies them to the full-resolution L. Colour edges then follow the
photo's own edges, at the cost of upsampling four planes instead of two and one multiply-add per
pixel. Where L is flat in a window, A is ~0 and the result is the bilinear one.
"""

from __future__ import annotations

import numpy as np

# Window radius at the render size (pixels) and the ridge term, in (L units)^2: a window whose
# lightness varies by less than ~sqrt(eps) is treated as flat (plain bilinear colour). Chosen on
# the validation photos (docs/recipes.md).
GUIDED_RADIUS = 4
GUIDED_EPS = 100.0


def guided_coefficients(lightness_small: np.ndarray, ab_small: np.ndarray,
                        radius: int = GUIDED_RADIUS, eps: float = GUIDED_EPS) -> np.ndarray:
    """Fit ab ~ A * L + B in every (2r+1)^2 window at the render size.

    Args:
        lightness_small: (h, w) float32 L in [0, 100], the guide at the render size.
        ab_small: (2, h, w) float32 ab (any units; A and B come out in the same units).
        radius: window radius in pixels (>= 1).
        eps: ridge regularisation in (L units)^2 (> 0).

    Returns:
        (4, h, w) float32: A_a, A_b, B_a, B_b, each averaged over the windows covering a pixel
        (the guided filter's second pass), ready to be upsampled and applied as
        ``a = A_a * L + B_a``, ``b = A_b * L + B_b``.
    """
    if lightness_small.ndim != 2 or ab_small.shape != (2, *lightness_small.shape):
        raise ValueError(f"expected L (h, w) and ab (2, h, w), got {lightness_small.shape} and "
                         f"{ab_small.shape}")
    if radius < 1 or eps <= 0:
        raise ValueError(f"radius must be >= 1 and eps > 0, got {radius}, {eps}")

    guide = lightness_small.astype(np.float32, copy=False)
    ab = ab_small.astype(np.float32, copy=False)
    # First pass: the window means of L, L^2, ab and L*ab, boxed together (one call).
    means = box_filter(np.stack([guide, guide * guide, ab[0], ab[1], guide * ab[0],
                                 guide * ab[1]]), radius)
    mean_l, mean_ll, mean_p, mean_lp = means[0], means[1], means[2:4], means[4:6]
    var_l = mean_ll - mean_l * mean_l
    slope = (mean_lp - mean_l * mean_p) / (var_l + np.float32(eps))
    offset = mean_p - slope * mean_l
    # Second pass: average A and B over the windows covering each pixel.
    return box_filter(np.concatenate([slope, offset]), radius)


def box_filter(plane: np.ndarray, radius: int) -> np.ndarray:
    """Mean over the (2r+1)^2 window around each pixel of each plane, edges mirrored (the edge
    pixel repeated:
    ``scipy.ndimage.uniform_filter(mode="reflect")``, which a test checks against).

    Separable sums of 2r+1 shifted views in float32, one axis after the other: for the radii
    used here (2 to 4) several times faster than running sums, which need float64 (a running
    sum of L^2 over a whole row reaches ~1e7, where float32 rounding would swamp variances; a
    window's sum stays below ~1e6 and float32 is exact to ~0.1 of it). Importing
    scipy.ndimage costs ~0.3 s, more than the whole filter, on every ``autocolor colorize``
    start.

    Any size works, down to one pixel (the mirror repeats): the hints' working images are
    filtered with it too (:mod:`autocolor.hints._resample`).

    Args:
        plane: (h, w) or (k, h, w) float array, h and w >= 1.
        radius: window radius in pixels (>= 1); the cost grows with it.

    Returns:
        float32, the shape of ``plane``.
    """
    if plane.ndim not in (2, 3) or min(plane.shape[-2:]) < 1 or radius < 1:
        raise ValueError(f"expected (h, w) or (k, h, w) planes and a radius >= 1, got "
                         f"{plane.shape} and {radius}")
    height, width = plane.shape[-2:]
    size = 2 * radius + 1
    pad = [(0, 0)] * (plane.ndim - 2) + [(radius, radius)] * 2
    padded = np.pad(plane.astype(np.float32, copy=False), pad, mode="symmetric")
    rows = padded[..., 0:height, :].copy()
    for shift in range(1, size):
        rows += padded[..., shift:shift + height, :]
    window = rows[..., 0:width].copy()
    for shift in range(1, size):
        window += rows[..., shift:shift + width]
    window *= np.float32(1.0 / (size * size))
    return window


def apply_coefficients(coefficients: np.ndarray, lightness: np.ndarray) -> np.ndarray:
    """(4, H, W) upsampled coefficients and the full-res L (H, W) -> ab (H, W, 2)."""
    a = coefficients[0] * lightness + coefficients[2]
    b = coefficients[1] * lightness + coefficients[3]
    return np.stack([a, b], axis=-1).astype(np.float32, copy=False)
