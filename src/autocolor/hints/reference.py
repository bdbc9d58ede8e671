"""Colour transfer from a reference photo, after Welsh, Ashikhmin & Mueller 2002.

"Transferring Color to Greyscale Images": remap the reference's luminance to the target's
statistics, describe every pixel by its lightness and the mean and standard deviation of
lightness in its 5x5 neighbourhood, and give each target pixel the chroma of the best-matching
jittered reference sample. Differences from the paper, each measured in docs/hints.md:

- far more samples (default 32k jittered-grid samples rather than ~200), found with a k-d tree,
  and the chroma of the ``k`` nearest samples averaged with distance weights instead of taking
  the single best one, which removes most of the speckle;
- a per-pixel confidence from the match distance and from how much the ``k`` matches disagree
  on colour; the result is ``prior + confidence * (match - prior)``, so pixels without a
  convincing match keep the model's colour;
- the correction is smoothed and upsampled with a lightness-guided filter, so the matching runs
  at a small working resolution (long side 256 by default) on any photo size.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from autocolor.color.lab_numpy import rgb_to_lab
from autocolor.hints._resample import guided_upsample, resize_plane, resize_stack, working_shape

# Long side a reference photo is matched at; readers reduce a reference to it once
# (autocolor.infer.colorizer.reference_rgb), not for every photo it colours.
REFERENCE_MAX_SIDE = 256


def _features(lightness: np.ndarray, std_weight: float, window: int) -> np.ndarray:
    """``(h, w, 3)`` float32 per-pixel features: L, window mean of L, weighted window std of L."""
    y = lightness.astype(np.float64)
    mean = ndimage.uniform_filter(y, size=window, mode="reflect")
    var = np.maximum(ndimage.uniform_filter(y * y, size=window, mode="reflect") - mean * mean, 0.0)
    return np.stack([y, mean, std_weight * np.sqrt(var)], axis=-1).astype(np.float32)


def jittered_samples(shape: tuple[int, int], count: int, rng: np.random.Generator) -> np.ndarray:
    """Flat indices of about ``count`` samples on a jittered grid over ``shape = (h, w)``.

    One uniformly random pixel per grid cell: the samples cover the whole reference (a purely
    random draw leaves holes and clumps) without the aliasing of a regular grid.
    """
    h, w = shape
    if count >= h * w:
        return np.arange(h * w)
    step = max(1.0, float(np.sqrt(h * w / count)))
    ys = np.arange(0.0, h, step)
    xs = np.arange(0.0, w, step)
    gy, gx = np.meshgrid(ys, xs, indexing="ij")
    sy = np.minimum(gy + rng.uniform(0.0, step, gy.shape), h - 1).astype(np.int64)
    sx = np.minimum(gx + rng.uniform(0.0, step, gx.shape), w - 1).astype(np.int64)
    return np.unique((sy * w + sx).ravel())


def transfer_reference(
    lightness: np.ndarray,
    ab_prior: np.ndarray,
    reference_rgb: np.ndarray,
    *,
    max_side: int = 256,
    reference_max_side: int = REFERENCE_MAX_SIDE,
    samples: int = 32768,
    neighbours: int = 8,
    std_weight: float = 2.0,
    window: int = 5,
    ambiguity_scale: float = 30.0,
    distance_scale: float = 10.0,
    smooth_radius: int = 2,
    smooth_eps: float = 4.0,
    seed: int = 0,
) -> np.ndarray:
    """Colour a photo after a reference photo of a similar scene.

    Args:
        lightness: ``(H, W)`` float32 L in [0, 100] of the photo (full resolution, upright).
        ab_prior: ``(H, W, 2)`` float32 a*, b* in Lab units (the model's output; zeros = gray).
        reference_rgb: ``(h, w, 3)`` uint8 sRGB reference photo (any size).
        max_side: long side of the working grid the photo is matched on.
        reference_max_side: long side the reference is reduced to before sampling.
        samples: number of jittered reference samples (Welsh et al. use ~200).
        neighbours: matches averaged per pixel (distance-weighted).
        std_weight: weight of the neighbourhood standard deviation against lightness.
        window: neighbourhood size in working pixels (Welsh et al.: 5).
        ambiguity_scale: ab spread (Lab units) among the matches at which confidence falls to
            ``1/e``; ambiguous texture matches keep more of the prior.
        distance_scale: best-match feature distance (L units) at which confidence falls to
            ``1/e``; good matches are ~1.
        smooth_radius, smooth_eps: guided-filter smoothing/upsampling of the correction
            (working pixels, L units squared).
        seed: seed of the jittered sampling (the result is deterministic for a given seed).

    Returns:
        ``(H, W, 2)`` float32 ab in Lab units.

    Raises:
        ValueError: on shape or dtype mismatches.
    """
    if not isinstance(lightness, np.ndarray) or lightness.ndim != 2:
        raise ValueError(
            f"lightness must be an (H, W) array, got {getattr(lightness, 'shape', None)}"
        )
    if not isinstance(ab_prior, np.ndarray) or ab_prior.shape != (*lightness.shape, 2):
        raise ValueError(f"ab_prior must have shape {(*lightness.shape, 2)}")
    reference_rgb = np.asarray(reference_rgb)
    if reference_rgb.ndim != 3 or reference_rgb.shape[-1] != 3 or reference_rgb.dtype != np.uint8:
        raise ValueError(
            f"reference_rgb must be (h, w, 3) uint8, got {reference_rgb.shape} {reference_rgb.dtype}"
        )
    if min(reference_rgb.shape[:2]) < 1:
        raise ValueError("reference_rgb is empty")
    rng = np.random.default_rng(seed)
    lightness = lightness.astype(np.float32, copy=False)
    full_shape = lightness.shape

    shape = working_shape(full_shape[0], full_shape[1], max_side)
    light_low = resize_plane(lightness, shape)
    prior_low = resize_stack(ab_prior, shape)

    ref_shape = working_shape(reference_rgb.shape[0], reference_rgb.shape[1], reference_max_side)
    ref_rgb = resize_stack(reference_rgb.astype(np.float32) / 255.0, ref_shape)
    ref_lab = rgb_to_lab(np.clip(ref_rgb, 0.0, 1.0))
    ref_l = ref_lab[..., 0]
    # Luminance remapping (Welsh et al. sec. 2): shift and scale the reference's L histogram to
    # the target's mean and spread, so a brighter reference still matches by structure.
    ref_std = float(ref_l.std())
    scale = float(light_low.std()) / ref_std if ref_std > 1e-6 else 1.0
    ref_l = (ref_l - float(ref_l.mean())) * scale + float(light_low.mean())

    ref_feat = _features(ref_l, std_weight, window).reshape(-1, 3)
    ref_ab = ref_lab[..., 1:].reshape(-1, 2)
    chosen = jittered_samples(ref_shape, samples, rng)
    tree = cKDTree(ref_feat[chosen])
    target_feat = _features(light_low, std_weight, window).reshape(-1, 3)
    k = min(neighbours, len(chosen))
    dist, idx = tree.query(target_feat, k=k, workers=1)
    dist = dist.reshape(len(target_feat), k)
    idx = idx.reshape(len(target_feat), k)

    # Distance weights relative to each pixel's best match, so a uniformly worse match (a pixel
    # whose structure is rare in the reference) still averages its neighbours sensibly.
    best = dist[:, :1]
    typical = float(np.median(best)) + 1e-3
    weights = np.exp(-(((dist - best) / typical) ** 2))
    weights /= weights.sum(axis=1, keepdims=True)
    match_ab = np.einsum("nk,nkc->nc", weights, ref_ab[chosen][idx])
    spread = np.sqrt(
        np.einsum("nk,nk->n", weights, ((ref_ab[chosen][idx] - match_ab[:, None, :]) ** 2).sum(-1))
    )
    # An absolute scale (L units), not relative to the median: a reference that matches nothing
    # well (every distance large) must lose to the prior everywhere.
    confidence = np.exp(-((best[:, 0] / distance_scale) ** 2))
    confidence *= np.exp(-((spread / ambiguity_scale) ** 2))

    match_ab = match_ab.reshape(*shape, 2).astype(np.float32)
    confidence = confidence.reshape(shape).astype(np.float32)
    delta_low = confidence[..., None] * (match_ab - prior_low)
    delta = guided_upsample(light_low, delta_low, lightness, radius=smooth_radius, eps=smooth_eps)
    delta += ab_prior
    return delta
