"""A clean colour photo -> a plausible scan of an old black-and-white print of it.

The photo is first taken to the gray a panchromatic print records: its CIE luminance Y, encoded
as an sRGB gray level (so the gray has the photo's Lab lightness L* exactly; a gray photo is kept
as it is). Then, in the order things happen to a print:

1. the print: lens vignetting; the print's softness with the film grain added before it (grain
   of the negative, enlarged with the picture) or after it (drawn); a newspaper halftone; uneven
   exposure under the enlarger; fading (black and white levels, gamma); a toner (gray -> RGB);
2. damage on the print: dust specks, scratches, creases and cracks (their pixels: ``damage``);
3. the scan: the scanner's softness, a low-resolution scan enlarged, JPEG.

Each step is applied with its probability in :class:`DegradeConfig` and strengths drawn from its
ranges. Every step draws from its own stream spawned from ``default_rng(seed)``, so that turning
one step off in a config leaves the others' draws as they were.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from autocolor.color.lab_numpy import linear_to_srgb, srgb_to_linear
from autocolor.degrade import effects
from autocolor.degrade.config import DEFAULT, DegradeConfig

# The steps in the order they may run (grain may also run before print_blur); each has a stream.
STEPS: tuple[str, ...] = ("vignette", "print_blur", "grain", "halftone", "uneven_exposure", "fade",
                          "tone", "dust", "scratches", "creases", "scan_blur", "low_res", "jpeg")
_Y_WEIGHTS = (0.212671, 0.715160, 0.072169)  # the Y row of the sRGB -> XYZ matrix (D65)


@dataclass(frozen=True)
class Degraded:
    """What :func:`degrade` made."""

    rgb: np.ndarray  # (H, W, 3) uint8: the scan as the user would give it (toned: not gray)
    damage: np.ndarray  # (H, W) bool: pixels hit by dust, scratches, creases or cracks
    steps: dict[str, dict[str, float]]  # effect name -> the parameters drawn, in order applied


def _luminance_gray(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 sRGB -> (H, W) float32 in [0, 1]: the sRGB gray of the same luminance."""
    linear = srgb_to_linear(np.arange(256, dtype=np.float32) / np.float32(255.0))
    luminance = np.zeros(rgb.shape[:2], dtype=np.float32)
    for channel, weight in enumerate(_Y_WEIGHTS):
        luminance += np.take(linear * np.float32(weight), rgb[..., channel])
    return linear_to_srgb(luminance)


def _uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(rng.uniform(bounds[0], bounds[1]))


def _log_uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(math.exp(rng.uniform(math.log(bounds[0]), math.log(bounds[1]))))


def _integer(rng: np.random.Generator, bounds: tuple[float, float]) -> int:
    return int(rng.integers(round(bounds[0]), round(bounds[1]) + 1))


def degrade(rgb: np.ndarray, seed: int, config: DegradeConfig = DEFAULT) -> Degraded:
    """Make a scan of an old black-and-white print of a photo.

    Args:
        rgb: (H, W, 3) uint8 sRGB, or (H, W) uint8 gray.
        seed: >= 0; the same seed and config give byte-identical results.
        config: what may happen and how hard (:data:`autocolor.degrade.PRESETS`).

    Returns:
        :class:`Degraded`: ``rgb`` (H, W, 3) uint8 (R = G = B unless toned), ``damage`` (H, W)
        bool, ``steps`` the parameters of the steps that ran, in order.
    """
    if not isinstance(rgb, np.ndarray):
        raise TypeError(f"rgb must be a numpy.ndarray, got {type(rgb).__name__}")
    if rgb.dtype != np.uint8:
        raise TypeError(f"rgb must be uint8, got {rgb.dtype}")
    if not (rgb.ndim == 2 or (rgb.ndim == 3 and rgb.shape[-1] == 3)) or min(rgb.shape[:2]) < 1:
        raise ValueError(f"rgb must have shape (H, W, 3) or (H, W), got {rgb.shape}")
    if not isinstance(config, DegradeConfig):
        raise TypeError(f"config must be a DegradeConfig, got {type(config).__name__}")
    streams = dict(zip(STEPS, np.random.default_rng(seed).spawn(len(STEPS)), strict=True))
    steps: dict[str, dict[str, float]] = {}
    c = config

    def drawn(name: str, probability: float) -> np.random.Generator | None:
        rng = streams[name]
        return rng if rng.random() < probability else None

    image = rgb.astype(np.float32) / np.float32(255.0) if rgb.ndim == 2 else _luminance_gray(rgb)
    height, width = image.shape

    # 1. The print (gray until toned).
    if rng := drawn("vignette", c.vignette_p):
        steps["vignette"] = {"amount": _uniform(rng, c.vignette_amount)}
        image = effects.vignette(image, **steps["vignette"])
    grain_rng = drawn("grain", c.grain_p)
    grain_first = grain_rng is not None and grain_rng.random() < c.grain_first_p

    def add_grain(image: np.ndarray) -> np.ndarray:
        assert grain_rng is not None
        steps["grain"] = {"std": _uniform(grain_rng, c.grain_std),
                          "size": _uniform(grain_rng, c.grain_size)}
        return effects.film_grain(image, rng=grain_rng, **steps["grain"])

    if grain_first:
        image = add_grain(image)
    if rng := drawn("print_blur", c.print_blur_p):
        steps["print_blur"] = {"sigma": _log_uniform(rng, c.print_blur_sigma)}
        image = effects.gaussian_blur(image, **steps["print_blur"])
    if grain_rng is not None and not grain_first:
        image = add_grain(image)
    if rng := drawn("halftone", c.halftone_p):
        steps["halftone"] = {"period": _uniform(rng, c.halftone_period),
                             "angle": _uniform(rng, c.halftone_angle)}
        image = effects.halftone(image, **steps["halftone"])
    if rng := drawn("uneven_exposure", c.exposure_p):
        steps["uneven_exposure"] = {"amount": _uniform(rng, c.exposure_amount),
                                    "angle": float(rng.uniform(0.0, 360.0))}
        image = effects.uneven_exposure(image, **steps["uneven_exposure"])
    if rng := drawn("fade", c.fade_p):
        steps["fade"] = {"black": _uniform(rng, c.fade_black),
                         "white": _uniform(rng, c.fade_white),
                         "gamma": _log_uniform(rng, c.fade_gamma)}
        image = effects.fade(image, **steps["fade"])
    if rng := drawn("tone", c.tone_p):
        weights = np.asarray(c.tone_weights, dtype=np.float64)
        toner = list(effects.TONERS)[int(rng.choice(len(weights), p=weights / weights.sum()))]
        strength = _uniform(rng, c.tone_strength)
        steps["tone"] = {toner: strength}
        image = effects.tone(image, toner, strength)

    # 2. Damage on the print.
    damage = np.zeros((height, width), dtype=bool)
    if rng := drawn("dust", c.dust_p):
        steps["dust"] = {"density": _log_uniform(rng, c.dust_density),
                         "max_radius": _uniform(rng, c.dust_size)}
        image, hit = effects.dust(image, rng=rng, **steps["dust"])
        damage |= hit
    if rng := drawn("scratches", c.scratch_p):
        count, scratch_width = _integer(rng, c.scratch_count), _uniform(rng, c.scratch_width)
        steps["scratches"] = {"count": float(count), "width": scratch_width, "film": c.scratch_film}
        image, hit = effects.scratches(image, count, scratch_width, rng, film=c.scratch_film)
        damage |= hit
    if rng := drawn("creases", c.crease_p):
        count, crease_width = _integer(rng, c.crease_count), _uniform(rng, c.crease_width)
        steps["creases"] = {"count": float(count), "width": crease_width}
        image, hit = effects.creases(image, count, crease_width, rng)
        damage |= hit

    # 3. The scan.
    if rng := drawn("scan_blur", c.scan_blur_p):
        steps["scan_blur"] = {"sigma": _log_uniform(rng, c.scan_blur_sigma)}
        image = effects.gaussian_blur(image, **steps["scan_blur"])
    if rng := drawn("low_res", c.low_res_p):
        steps["low_res"] = {"factor": _log_uniform(rng, c.low_res_factor)}
        image = effects.low_res(image, **steps["low_res"])
    if rng := drawn("jpeg", c.jpeg_p):
        quality = _integer(rng, c.jpeg_quality)
        steps["jpeg"] = {"quality": float(quality)}
        image = effects.jpeg(image, quality)

    codes = np.rint(np.clip(image, 0.0, 1.0) * np.float32(255.0)).astype(np.uint8)
    if codes.ndim == 2:  # untoned: the same gray in every channel
        codes = np.repeat(codes[..., None], 3, axis=-1)
    return Degraded(rgb=codes, damage=damage, steps=steps)
