"""Screen: one colour per surface, and colours kept inside sRGB (issue 20, "neutral surfaces
and casts"), on the bundled model with no retraining.

Walls, desks and clock faces get patches of several hues. Two post-steps on the network's ab at
the render size, before the guided upsampling, each scored on the validation split (never test)
clean and as ``default`` old prints, by the training sweep's scoring (``evaluate_folder``):

- ``smooth-R-E``: a guided filter of ab guided by the render-size L (He et al. 2010) at a large
  radius R (px at the render size) and ridge E (L units squared): where the lightness says "one
  surface" (flat within sqrt(E) over the window) the ab is averaged over it, across lightness
  edges it is not.
- ``gamut``: each pixel's chroma scaled down (hue and L kept) until the colour is inside sRGB.
  Today an out-of-gamut colour is clipped per RGB channel, which also turns its hue.
- ``smooth-R-E-xG``: the smoothing, then the chroma times G (the colourfulness the smoothing
  takes, given back evenly).

    python scripts/surface_screen.py --steps none,gamut,smooth-16-100,smooth-32-100 --out runs/surface.csv
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path
from typing import Any

import numpy as np

from autocolor.color.constants import AB_SCALE, WHITE_D65
from autocolor.color.lab_numpy import lightness_from_norm
from autocolor.infer.guided import apply_coefficients, guided_coefficients

# sRGB (D65) from CIE XYZ, and the D65 white: the matrix of IEC 61966-2-1.
XYZ_TO_RGB = np.array([[3.2404542, -1.5371385, -0.4985314],
                       [-0.9692660, 1.8760108, 0.0415560],
                       [0.0556434, -0.2040259, 1.0572252]], dtype=np.float64)
WHITE = np.asarray(WHITE_D65, dtype=np.float64)


def linear_rgb(lightness: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Lab (any shape, L in [0, 100]) -> linear sRGB (..., 3), unclipped (float64)."""
    fy = (lightness.astype(np.float64) + 16.0) / 116.0
    f = np.stack([fy + a / 500.0, fy, fy - b / 200.0], axis=-1)
    delta = 6.0 / 29.0
    xyz = np.where(f > delta, f ** 3, 3 * delta * delta * (f - 4.0 / 29.0)) * WHITE
    return xyz @ XYZ_TO_RGB.T


def gamut_scale(lightness: np.ndarray, a: np.ndarray, b: np.ndarray, steps: int = 10
                ) -> np.ndarray:
    """The largest s in [0, 1] per pixel with (L, s a, s b) inside sRGB (bisection; a gray of
    any L in [0, 100] is inside)."""
    low = np.zeros(lightness.shape)
    high = np.ones(lightness.shape)
    inside = _inside(lightness, a, b)
    low[inside] = 1.0
    for _ in range(steps):
        middle = (low + high) / 2
        ok = _inside(lightness, a * middle, b * middle)
        low = np.where(ok, middle, low)
        high = np.where(ok, high, middle)
    return low


def _inside(lightness: np.ndarray, a: np.ndarray, b: np.ndarray, tol: float = 1e-4) -> np.ndarray:
    rgb = linear_rgb(lightness, a, b)
    return np.all((rgb >= -tol) & (rgb <= 1 + tol), axis=-1)


def post_step(name: str, l_norm: np.ndarray, ab_norm: np.ndarray) -> np.ndarray:
    """(1, h, w) L_norm and (2, h, w) ab_norm -> the stepped ab_norm (2, h, w)."""
    if name == "none":
        return ab_norm
    lightness = lightness_from_norm(l_norm)  # (h, w)
    ab = ab_norm * np.float32(AB_SCALE)
    if name == "gamut":
        scale = gamut_scale(lightness, ab[0], ab[1]).astype(np.float32)
        return ab_norm * scale
    if name.startswith("smooth-"):
        _, radius, eps, *scale = name.split("-")
        coefficients = guided_coefficients(lightness, ab, int(radius), float(eps))
        out = apply_coefficients(coefficients, lightness).transpose(2, 0, 1)
        gain = float(scale[0].lstrip("x")) if scale else 1.0
        return (out * np.float32(gain / AB_SCALE)).astype(np.float32)
    raise ValueError(f"unknown step {name!r}")


class SteppedBackend:
    """A backend whose ab goes through :func:`post_step` (the screen only)."""

    def __init__(self, inner: Any, step: str) -> None:
        self.inner, self.step = inner, step
        self.name, self.device = inner.name, inner.device
        self.metadata, self.has_confidence = inner.metadata, inner.has_confidence
        self.path = getattr(inner, "path", None)

    def predict(self, l_norm: np.ndarray) -> np.ndarray:
        ab = self.inner.predict(l_norm)
        return np.stack([post_step(self.step, one, x) for one, x in zip(l_norm, ab, strict=True)])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", default="none,gamut,smooth-16-100,smooth-32-100")
    parser.add_argument("--data", default="data/corpus")
    parser.add_argument("--out", type=Path, default=Path("runs/surface.csv"))
    parser.add_argument("--model", default="default",
                        help="a name or weights file (docs/recipes.md: the screen ran on the model "
                             "bundled before the heavy mix)")
    args = parser.parse_args()

    from autocolor.evaluate import evaluate_folder
    from autocolor.infer.colorizer import Colorizer

    base = Colorizer.from_pretrained(args.model)
    rows = []
    for step in args.steps.split(","):
        started = time.time()
        colorizer = Colorizer(SteppedBackend(base.backend, step), render_size=base.render_size)
        summary = evaluate_folder(colorizer, args.data, split="val", progress=False,
                                  degraded="default")["summary"]
        old = summary["degraded"]
        row = {"step": step, "psnr": summary["delta"]["psnr"],
               "ciede2000": summary["delta"]["ciede2000"], "ab_auc": summary["delta"]["ab_auc"],
               "cf": summary["colorfulness_ratio"]["ours"],
               "below_gray": summary["blotches"]["below_gray"],
               "worst": summary["blotches"]["worst"][0]["psnr_minus_gray"],
               "old_psnr": old["delta"]["psnr"], "old_ciede2000": old["delta"]["ciede2000"],
               "old_cf": old["colorfulness_ratio"]["ours"],
               "old_below_gray": old["blotches"]["below_gray"], "ab_moved": old["ab_shift"],
               "seconds": round(time.time() - started)}
        rows.append(row)
        print({k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()},
              flush=True)
        with open(args.out, "w", newline="") as handle:
            writer = csv.DictWriter(handle, list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
