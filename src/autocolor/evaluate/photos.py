"""Which photos an evaluation scores, and reading them as 8-bit sRGB.

The data folder is either a training cache (``manifest.tsv``, see :mod:`autocolor.data.cache`),
whose photos of one split are scored, or a plain folder of colour photos, searched recursively.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from autocolor.data.cache import SPLITS, is_cache, read_manifest

PHOTO_SUFFIXES: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp"}
)
SPLIT_CHOICES: tuple[str, ...] = (*SPLITS, "all")
DEFAULT_SPLIT = "val"


@dataclass(frozen=True)
class Photo:
    path: Path  # absolute
    name: str  # path relative to the data folder, with forward slashes


def _is_report(folder: Path) -> bool:
    """An ``autocolor eval`` report folder (its thumbnails are not photos to score)."""
    return (folder / "metrics.json").is_file() and (folder / "report.md").is_file()


def list_photos(
    data_dir: str | os.PathLike,
    split: str | None = DEFAULT_SPLIT,
    limit: int | None = None,
    exclude: str | os.PathLike | None = None,
) -> list[Photo]:
    """The photos to score, sorted by relative name, at most ``limit`` of them.

    For a cache, ``split`` (one of :data:`SPLIT_CHOICES`, None meaning ``val``) selects rows of
    the manifest; for a plain folder it is ignored and every photo below the folder is used,
    skipping hidden files and folders, anything under ``exclude`` (e.g. the report folder)
    and earlier report folders (holding ``metrics.json`` and ``report.md``).
    """
    root = Path(data_dir).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"not a folder: {data_dir}")
    if limit is not None and limit < 0:
        raise ValueError("limit must be >= 0")
    if is_cache(root):
        split = split or DEFAULT_SPLIT
        if split not in SPLIT_CHOICES:
            raise ValueError(f"split must be one of {SPLIT_CHOICES}, got {split!r}")
        records = [r for r in read_manifest(root) if split == "all" or r.split == split]
        photos = [Photo(root / r.file, r.file.replace(os.sep, "/")) for r in records]
    else:
        excluded = Path(exclude).resolve() if exclude is not None else None
        photos = []
        for folder, subfolders, files in os.walk(root):
            here = Path(folder)
            # prune hidden folders, the excluded folder and earlier evaluation reports
            subfolders[:] = sorted(
                name
                for name in subfolders
                if not name.startswith(".")
                and (excluded is None or (here / name).resolve() != excluded)
                and not _is_report(here / name)
            )
            for name in files:
                path = here / name
                if name.startswith(".") or path.suffix.lower() not in PHOTO_SUFFIXES:
                    continue
                photos.append(Photo(path, path.relative_to(root).as_posix()))
    photos.sort(key=lambda photo: photo.name)
    return photos if limit is None else photos[:limit]


def load_rgb(path: str | os.PathLike) -> np.ndarray:
    """Read a colour photo as ``(H, W, 3) uint8`` sRGB in display orientation (EXIF applied).

    Transparent images are composited on white; 16-bit and float gray images are scaled to 8
    bits. Embedded ICC profiles are not applied (the photo is taken to be sRGB).
    """
    with Image.open(path) as image:
        image = ImageOps.exif_transpose(image)
        if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
            values = np.asarray(image, dtype=np.float64)
            peak = 65535.0 if image.mode.startswith("I;16") or values.max() > 255 else 255.0
            gray = np.clip(values / peak * 255.0 + 0.5, 0, 255).astype(np.uint8)
            return np.repeat(gray[..., None], 3, axis=-1)
        if image.mode == "F":
            gray = np.clip(np.asarray(image, dtype=np.float64) + 0.5, 0, 255).astype(np.uint8)
            return np.repeat(gray[..., None], 3, axis=-1)
        if image.mode == "P" and "transparency" in image.info:
            image = image.convert("RGBA")
        if image.mode in ("RGBA", "LA", "RGBa", "La", "PA"):
            rgba = image.convert("RGBA")
            background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            image = Image.alpha_composite(background, rgba)
        return np.array(image.convert("RGB"), dtype=np.uint8)
