"""Composites: a photographic cut-out (a Tux Paint stamp) pasted onto a crop of a real photo.

They add objects the real photos lack, at the price of scenes no camera took. They go to the
training split only, on backgrounds from training photos, so that validation and test stay real.
Every random choice of a composite is seeded by the stamp's hash: the corpus is reproducible.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageOps

COMPOSITE_SIZE = (512, 384)  # width, height: short side 384
COMPOSITE_SEED = 20240601


def stamp_rng(sha256: str) -> np.random.Generator:
    """Random stream of one composite: the fixed seed plus the stamp's hash."""
    return np.random.default_rng([COMPOSITE_SEED, int(sha256[:16], 16)])


def random_crop(image: Image.Image, size: tuple[int, int], rng: np.random.Generator) -> Image.Image:
    """A random crop with the target's aspect ratio, 50-100 % of the largest one, resized."""
    width, height = image.size
    aspect = size[0] / size[1]
    crop_w = min(width, height * aspect) * rng.uniform(0.5, 1.0)
    crop_h = crop_w / aspect
    x0, y0 = rng.uniform(0, width - crop_w), rng.uniform(0, height - crop_h)
    box = (x0, y0, x0 + crop_w, y0 + crop_h)
    return image.convert("RGB").resize(size, Image.Resampling.LANCZOS, box=box)


def compose(stamp: Image.Image, background: Image.Image, rng: np.random.Generator,
            size: tuple[int, int] = COMPOSITE_SIZE) -> Image.Image:
    """Paste a cut-out at a random scale (at most 1.5x native) and position onto a random crop.

    Args:
        stamp: the cut-out, with alpha (any mode; converted to RGBA).
        background: a colour photo, larger than ``size`` or not.
        rng: the composite's random stream (:func:`stamp_rng`).

    Returns:
        an RGB image of ``size``.
    """
    stamp = stamp.convert("RGBA")
    stamp = stamp.crop(stamp.getchannel("A").getbbox() or (0, 0, *stamp.size))
    canvas = random_crop(background, size, rng).convert("RGBA")
    target = rng.uniform(0.45, 0.9) * size[1]  # long side of the stamp
    scale = min(target / max(stamp.size), 1.5, size[0] / stamp.size[0], size[1] / stamp.size[1])
    scaled = (max(1, round(stamp.size[0] * scale)), max(1, round(stamp.size[1] * scale)))
    stamp = stamp.resize(scaled, Image.Resampling.LANCZOS)  # Pillow premultiplies alpha here
    if rng.random() < 0.5:
        stamp = ImageOps.mirror(stamp)
    x = int(rng.integers(0, size[0] - scaled[0] + 1))
    y = int(rng.integers(0, size[1] - scaled[1] + 1))
    canvas.alpha_composite(stamp, (x, y))
    return canvas.convert("RGB")


def pick_background(sha256: str, backgrounds: list[str], rng: np.random.Generator) -> str:
    """One of ``backgrounds`` (photo hashes), chosen by the stamp's random stream; the choice
    does not depend on the order of the list."""
    if not backgrounds:
        raise ValueError("no background photos to composite onto")
    pool = sorted(backgrounds)
    return pool[int(rng.integers(len(pool)))]
