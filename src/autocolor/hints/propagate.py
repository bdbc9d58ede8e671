"""Hint propagation after Levin, Lischinski & Weiss 2004, "Colorization using Optimization".

Neighbouring pixels with similar lightness should have similar colour. Levin et al. solve for
chroma U minimising ``sum_r (U_r - sum_s w_rs U_s)^2`` with user scribbles fixed, where
``w_rs ~ exp(-(Y_r - Y_s)^2 / 2 sigma_r^2)`` over the 3x3 window and ``sigma_r`` comes from the
local variance. Here:

- the unknown is the *correction* ``delta = ab - ab_prior`` (the model's prediction), fixed to
  ``hint_ab - prior_ab`` on the hinted discs, so regions the hints do not reach keep the automatic
  colour;
- a weak prior ``lambda * D_r * delta_r^2`` pulls delta to 0 away from hints. ``lambda`` comes from
  ``reach``, the decay length of a correction in a flat region as a fraction of the image's long
  side (default 2: a click fills its edge-bounded region; far regions fade out through the edges,
  which the affinity cuts, not through distance);
- the system ``(D (1 + lambda) - A) delta = 0`` is the symmetric form of Levin's row-normalised
  ``(I - D^-1 A)`` equations (multiply each row by ``D_r``), solved once for both channels with a
  sparse LU factorisation in nested-dissection order at a working resolution (long side 512 by
  default, ~0.5 s), then upsampled with a lightness-guided filter (docs/hints.md has the numbers).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy import ndimage

from autocolor.hints._resample import guided_upsample, resize_plane, resize_stack, working_shape
from autocolor.hints.points import HintSet

# The four "forward" neighbour offsets (dy, dx); with their mirrors they make the 3x3 window.
_OFFSETS: tuple[tuple[int, int], ...] = ((0, 1), (1, 0), (1, 1), (1, -1))
# For the 8-neighbour stencil with unit weights, sum_s w_s (s . grad)^2 / 2 = 3 |grad|^2, so the
# operator is ~ -3 Laplacian and the prior's decay length is sqrt(3 / (8 lambda)) pixels.
_STENCIL_DIFFUSION = 3.0
_STENCIL_DEGREE = 8.0
# Smallest affinity: negligible next to a disc's pull (~1 per pinned pixel) but never exactly 0.
_WEIGHT_FLOOR = 1e-6

# 1/e spread of a hint in a flat region, as a fraction of the long side. 0.5 keeps one hint to
# its own region on real photos (at 2.0, one hint on a cup moved the colour of every pixel of the
# photo by more than 5 ab units); with 20 random true-colour hints on the validation photos it
# scores within 0.2 dB of 2.0 (docs/hints.md).
DEFAULT_REACH = 0.5


def _check_inputs(lightness: np.ndarray, ab_prior: np.ndarray) -> None:
    if not isinstance(lightness, np.ndarray) or lightness.ndim != 2:
        raise ValueError(
            f"lightness must be an (H, W) array, got {getattr(lightness, 'shape', None)}"
        )
    if not isinstance(ab_prior, np.ndarray) or ab_prior.shape != (*lightness.shape, 2):
        raise ValueError(
            f"ab_prior must have shape {(*lightness.shape, 2)}, got {getattr(ab_prior, 'shape', None)}"
        )


def hint_constraints(
    hints: HintSet,
    lightness: np.ndarray,
    full_shape: tuple[int, int],
    *,
    min_radius: float = 1.0,
    gate: float = 8.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Rasterise hint discs onto a working grid.

    A disc pins only pixels whose lightness is within ``gate`` of the pixel under its centre: a
    click next to an edge should colour the clicked object, not the pixels across the edge.

    Args:
        hints: points in full-resolution coordinates of an image of ``full_shape = (H, W)``.
        lightness: ``(h, w)`` working-grid L in [0, 100].
        full_shape: ``(H, W)`` the hints refer to.
        min_radius: smallest disc radius in working pixels. A one-pixel constraint is weak in 2-D
            (its influence falls off logarithmically right next to it), so even a "radius 0"
            hint pins a small patch of similar pixels.
        gate: largest lightness difference (L units) from the centre pixel for a pinned pixel.

    Returns:
        ``owner (h, w) int32`` (-1 = free, else the index of the hint that pins the pixel; later
        hints overwrite earlier ones) and ``ab (N, 2) float32`` hint chroma in Lab units.
    """
    h, w = lightness.shape
    scaled = hints.scaled(w / full_shape[1], h / full_shape[0])
    owner = np.full((h, w), -1, dtype=np.int32)
    for i, point in enumerate(scaled):
        cy = min(max(round(point.y), 0), h - 1)
        cx = min(max(round(point.x), 0), w - 1)
        r = max(point.radius, min_radius)
        y0, y1 = max(0, int(np.floor(point.y - r))), min(h, int(np.ceil(point.y + r)) + 1)
        x0, x1 = max(0, int(np.floor(point.x - r))), min(w, int(np.ceil(point.x + r)) + 1)
        yy, xx = np.mgrid[y0:y1, x0:x1]
        inside = (yy - point.y) ** 2 + (xx - point.x) ** 2 <= r * r
        inside &= np.abs(lightness[y0:y1, x0:x1] - lightness[cy, cx]) <= gate
        owner[y0:y1, x0:x1][inside] = i
        owner[cy, cx] = i  # the pixel under the centre is always pinned, whatever the radius
    return owner, hints.ab_array()


def affinity_matrix(
    lightness: np.ndarray,
    *,
    sigma_scale: float = 0.6,
    sigma_floor: float = 0.5,
    noise_sigmas: float = 2.0,
) -> sp.csr_matrix:
    """Symmetric 8-neighbour affinity ``A`` of a lightness image (Levin et al. weights).

    ``A_rs = exp(-(Y_r - Y_s)^2 / (2 min(sigma_r^2, sigma_s^2)))`` with
    ``sigma_r^2 = max(sigma_scale * v_r, sigma_floor^2)``, ``v_r`` the smallest 3x3-window
    variance among the windows containing ``r``. This is Levin's per-pixel sigma from the local
    variance, made symmetric (so the system is SPD) and robust at edges (see the comments), with a
    floor of ``max(sigma_floor, noise_sigmas * noise)`` so grain and quantisation steps in flat
    areas do not cut the graph (``noise`` is estimated from the image).

    Args:
        lightness: ``(h, w)`` L in [0, 100].
        sigma_scale: Levin's 0.6 factor on the local variance.
        sigma_floor: minimum sigma in L units.
        noise_sigmas: the floor in multiples of the estimated noise level.

    Returns:
        ``(h*w, h*w)`` CSR matrix, zero diagonal, entries in (0, 1].
    """
    y = lightness.astype(np.float64)
    h, w = y.shape
    mean = ndimage.uniform_filter(y, size=3, mode="reflect")
    var = np.maximum(ndimage.uniform_filter(y * y, size=3, mode="reflect") - mean * mean, 0.0)
    # Levin's window variance is large on *both* sides of an edge (the window straddles it), which
    # leaves ~2% conductance across every edge pixel -- enough to leak a point hint into the next
    # region. The smallest variance among the 3x3 windows that contain the pixel is still high in
    # texture (every window is textured) but drops to the noise level next to a clean edge.
    var = ndimage.minimum_filter(var, size=3, mode="nearest")
    # Noise floor: the robust (MAD) noise level of neighbour differences. Below ~2 noise sigmas a
    # lightness difference is noise, and cutting the graph there would stop a hint in any grainy
    # flat area (sky, wall); real edges are many noise sigmas high and still cut.
    noise = 1.4826 * float(np.median(np.abs(np.diff(y, axis=1)))) / np.sqrt(2.0) if w > 1 else 0.0
    floor2 = max(sigma_floor**2, (noise_sigmas * noise) ** 2)
    sigma2 = np.maximum(sigma_scale * var, floor2)
    index = np.arange(h * w, dtype=np.int64).reshape(h, w)
    rows, cols, vals = [], [], []
    for dy, dx in _OFFSETS:
        xa = slice(max(0, -dx), w - max(0, dx))
        xb = slice(max(0, dx), w - max(0, -dx))
        ya, yb = slice(0, h - dy), slice(dy, h)
        diff = y[ya, xa] - y[yb, xb]
        # The smaller of the two sigmas: a pixel straddling an edge after downsampling has a
        # large variance and would otherwise bridge the two regions it separates.
        weight = np.exp(-(diff * diff) / (2.0 * np.minimum(sigma2[ya, xa], sigma2[yb, xb])))
        # A floor keeps isolated pixels tied (weakly) to their neighbours instead of to 0.
        weight += _WEIGHT_FLOOR
        a, b = index[ya, xa].ravel(), index[yb, xb].ravel()
        rows += [a, b]
        cols += [b, a]
        vals += [weight.ravel(), weight.ravel()]
    return sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(h * w, h * w)
    )


def nested_dissection_order(h: int, w: int, leaf: int = 32) -> np.ndarray:
    """Nested-dissection permutation of an ``h x w`` grid with an 8-neighbour stencil.

    Splits the longer side by a one-pixel separator (enough for a 3x3 stencil), orders both halves
    recursively and the separator last. SuperLU's own orderings (COLAMD, MMD) produce ~2-3x more
    fill on grids; this makes the 512x384 factorisation ~0.5 s instead of ~1.8 s.
    """
    index = np.arange(h * w, dtype=np.int64).reshape(h, w)
    parts: list[np.ndarray] = []
    # Explicit stack (post-order) instead of recursion: (y0, y1, x0, x1, separator or None).
    stack: list[tuple[int, int, int, int, np.ndarray | None]] = [(0, h, 0, w, None)]
    while stack:
        y0, y1, x0, x1, separator = stack.pop()
        if separator is not None:
            parts.append(separator)
            continue
        hh, ww = y1 - y0, x1 - x0
        if hh <= 0 or ww <= 0:
            continue
        if hh * ww <= leaf:
            parts.append(index[y0:y1, x0:x1].ravel())
            continue
        if ww >= hh:
            m = (x0 + x1) // 2
            sep = index[y0:y1, m]
            children = [(y0, y1, x0, m, None), (y0, y1, m + 1, x1, None)]
        else:
            m = (y0 + y1) // 2
            sep = index[m, x0:x1]
            children = [(y0, m, x0, x1, None), (m + 1, y1, x0, x1, None)]
        # Popped in reverse: first child, second child, then the separator.
        stack.append((0, 0, 0, 0, sep))
        stack.extend(reversed(children))
    return np.concatenate(parts)


def solve_delta(
    lightness: np.ndarray,
    owner: np.ndarray,
    fixed: np.ndarray,
    *,
    reach: float = DEFAULT_REACH,
    sigma_scale: float = 0.6,
    sigma_floor: float = 0.5,
) -> np.ndarray:
    """Solve the Levin system for a correction field with hard constraints.

    Args:
        lightness: ``(h, w)`` working-resolution L in [0, 100].
        owner: ``(h, w)`` int, ``>= 0`` where the pixel is constrained.
        fixed: ``(h, w, C)`` float, the constrained values (read where ``owner >= 0``).
        reach: 1/e decay distance of a hint in a flat region, as a fraction of the long side;
            ``inf`` disables the prior (pure Levin).
        sigma_scale, sigma_floor: see :func:`affinity_matrix`.

    Returns:
        ``(h, w, C)`` float32 correction, equal to ``fixed`` on constrained pixels.
    """
    h, w = lightness.shape
    channels = fixed.shape[-1]
    constrained = (owner >= 0).ravel()
    out = np.zeros((h * w, channels), dtype=np.float64)
    values = fixed.reshape(-1, channels).astype(np.float64)
    out[constrained] = values[constrained]
    if constrained.all():
        return out.reshape(h, w, channels).astype(np.float32)
    affinity = affinity_matrix(lightness, sigma_scale=sigma_scale, sigma_floor=sigma_floor)
    degree = np.asarray(affinity.sum(axis=1)).ravel()
    length = reach * max(h, w)
    lam = 0.0 if not np.isfinite(length) else _STENCIL_DIFFUSION / (_STENCIL_DEGREE * length**2)
    # A pixel cut off from all neighbours would make a zero row when lambda = 0; the tiny floor
    # keeps the system non-singular without visibly changing anything.
    diagonal = degree * (1.0 + lam) + 1e-9
    system = (sp.diags(diagonal) - affinity).tocsr()

    order = nested_dissection_order(h, w)
    free_order = order[~constrained[order]]
    fixed_idx = np.flatnonzero(constrained)
    # Constrained unknowns move to the right-hand side: M_FF x_F = -M_FC x_C.
    free_rows = system[free_order]
    rhs = -(free_rows[:, fixed_idx] @ values[fixed_idx])
    m_ff = free_rows[:, free_order].tocsc()
    # The matrix is symmetric positive definite; no pivoting keeps the nested-dissection fill.
    lu = spla.splu(
        m_ff, permc_spec="NATURAL", diag_pivot_thresh=0.0, options={"SymmetricMode": True}
    )
    solution = lu.solve(np.ascontiguousarray(rhs))
    out[free_order] = solution.reshape(-1, channels)
    return out.reshape(h, w, channels).astype(np.float32)


def propagate_hints(
    lightness: np.ndarray,
    ab_prior: np.ndarray,
    hints: HintSet,
    *,
    max_side: int = 512,
    reach: float = DEFAULT_REACH,
    sigma_scale: float = 0.6,
    sigma_floor: float = 0.5,
    upsample_radius: int = 2,
    upsample_eps: float = 4.0,
    min_radius: float = 1.0,
    gate: float = 8.0,
) -> np.ndarray:
    """Recolour a photo from hint points, keeping the prior's colour where hints do not reach.

    Args:
        lightness: ``(H, W)`` float32 L in [0, 100] (full resolution, upright).
        ab_prior: ``(H, W, 2)`` float32 a*, b* in Lab units (e.g. the model's upsampled output;
            zeros = gray).
        hints: points in the coordinates of ``lightness`` (upright: call
            :meth:`HintSet.to_oriented` first for stored-image coordinates).
        max_side: long side of the working grid the system is solved on.
        reach: how far a hint spreads in a flat region before fading to the prior, as a fraction
            of the long side (1/e distance). Edges in lightness stop it much sooner.
        sigma_scale, sigma_floor: affinity parameters, see :func:`affinity_matrix`.
        upsample_radius, upsample_eps: guided-filter upsampling parameters (working pixels,
            L units squared), see :func:`autocolor.hints._resample.guided_upsample`.
        min_radius, gate: smallest hint disc (working pixels) and the lightness gate (L units)
            of a disc, see :func:`hint_constraints`.

    Returns:
        ``(H, W, 2)`` float32 ab in Lab units. Equals ``ab_prior`` (copied) when ``hints`` is empty.

    Raises:
        HintError: a hint lies outside the image.
        ValueError: shapes do not match.
    """
    _check_inputs(lightness, ab_prior)
    full_shape = lightness.shape
    if not hints:
        return ab_prior.astype(np.float32, copy=True)
    hints.validate((full_shape[1], full_shape[0]))
    lightness = lightness.astype(np.float32, copy=False)
    shape = working_shape(full_shape[0], full_shape[1], max_side)
    light_low = resize_plane(lightness, shape)
    prior_low = resize_stack(ab_prior, shape)
    owner, hint_ab = hint_constraints(
        hints, light_low, full_shape, min_radius=min_radius, gate=gate
    )
    fixed = np.zeros((*shape, 2), dtype=np.float32)
    mask = owner >= 0
    fixed[mask] = hint_ab[owner[mask]] - prior_low[mask]
    delta_low = solve_delta(
        light_low, owner, fixed, reach=reach, sigma_scale=sigma_scale, sigma_floor=sigma_floor
    )
    if shape == full_shape:
        return (ab_prior + delta_low).astype(np.float32)
    delta = guided_upsample(
        light_low, delta_low, lightness, radius=upsample_radius, eps=upsample_eps
    )
    delta += ab_prior
    return delta
