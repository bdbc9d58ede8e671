"""Which photos an evaluation scores. They are read with :func:`autocolor.images.load_rgb`
(8-bit sRGB, upright; the reader of every colour photo), re-exported here.

The data folder is either a training cache (``manifest.tsv``, see :mod:`autocolor.data.cache`),
whose photos of one split are scored, or a plain folder of colour photos, searched recursively.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from autocolor.data.cache import SPLITS, is_cache, read_manifest
from autocolor.images import load_rgb

PHOTO_SUFFIXES: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp"}
)
SPLIT_CHOICES: tuple[str, ...] = (*SPLITS, "all")
DEFAULT_SPLIT = "val"

__all__ = ["DEFAULT_SPLIT", "PHOTO_SUFFIXES", "SPLIT_CHOICES", "Photo", "list_photos", "load_rgb"]


@dataclass(frozen=True)
class Photo:
    path: Path  # absolute
    name: str  # path relative to the data folder, with forward slashes
    subject: str = ""  # what it shows, from a cache's manifest (people, animal, ...); "" if unknown


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
        photos = [Photo(root / r.file, r.file.replace(os.sep, "/"), r.subject) for r in records]
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
