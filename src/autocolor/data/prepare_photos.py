"""The photos of ``autocolor data prepare`` (``data/prepare.py``): finding them under the source
folders (:func:`find_photos`), and one photo in a worker process (:func:`process_photo`: decode,
reduce, drop gray and toned ones, write the cache JPEG).

Importing this module is cheap (no torch, NumPy or PIL until a photo is processed).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from autocolor.data import unsplash_tables
from autocolor.data.prepare_state import GRAY, KEPT, TONED, TOO_SMALL

JPEG_QUALITY = 95
IMAGE_EXTENSIONS = frozenset(
    ".jpg .jpeg .jpe .jfif .png .webp .tif .tiff .bmp .gif .avif .heic .heif .jp2 .j2k"
    .split()
)


# --------------------------------------------------------------------------------------------
# Finding photos


@dataclass(frozen=True)
class Candidate:
    """A photo file found under the sources."""

    path: Path
    source: str  # recorded as CacheRecord.source
    license: str = ""


def find_photos(
    sources: Sequence[str | os.PathLike], exclude: Path | None = None
) -> tuple[list[Candidate], int]:
    """Image files under ``sources`` (recursive, sorted) and the count of failed Unsplash
    downloads left out."""
    found: dict[Path, Candidate] = {}
    failed_downloads = 0
    exclude = exclude.resolve() if exclude is not None else None

    def add(path: Path, meta: dict[str, unsplash_tables.DownloadRecord]) -> None:
        nonlocal failed_downloads
        if path.suffix.lower() not in IMAGE_EXTENSIONS or path.name.startswith("."):
            return
        resolved = path.resolve()
        record = meta.get(path.stem)
        if record is not None and record.status != "ok":
            failed_downloads += 1
            return
        if record is not None:
            found.setdefault(resolved, Candidate(resolved, record.page_url or str(resolved),
                                                 unsplash_tables.LICENSE))
        else:
            found.setdefault(resolved, Candidate(resolved, str(resolved)))

    for source in sources:
        root = Path(source)
        if root.is_file():
            add(root, unsplash_tables.read_download_manifest(root.parent))
            continue
        if not root.is_dir():
            raise FileNotFoundError(f"{root}: no such file or folder")
        if exclude is not None and root.resolve() == exclude:
            continue  # the cache folder itself
        for dirpath, dirnames, filenames in os.walk(root):
            here = Path(dirpath)
            dirnames[:] = sorted(
                d for d in dirnames
                if not d.startswith(".") and (exclude is None or (here / d).resolve() != exclude)
            )
            meta = (unsplash_tables.read_download_manifest(here)
                    if unsplash_tables.MANIFEST_NAME in filenames else {})
            for name in sorted(filenames):
                add(here / name, meta)
    return sorted(found.values(), key=lambda c: str(c.path)), failed_downloads


# --------------------------------------------------------------------------------------------
# One photo (runs in a worker process)


@dataclass(frozen=True)
class PhotoTask:
    """One photo to decode, sent to a worker process (so: plain, picklable values)."""

    path: str
    sha256: str
    out_dir: str
    short_side: int
    min_ab_spread: float
    min_ab_spread_given_l: float
    min_side: int


@dataclass
class PhotoResult:
    task: PhotoTask
    outcome: str  # KEPT, GRAY, TONED, TOO_SMALL or "corrupt"
    width: int = 0
    height: int = 0
    ab_spread: float = 0.0
    file: str = ""
    error: str = ""


def cache_file_name(sha256: str) -> str:
    return f"{sha256[:24]}.jpg"


def process_photo(task: PhotoTask) -> PhotoResult:
    """Steps 2-4 of ``data/prepare.py``'s list for one photo; never raises for a bad file
    (outcome "corrupt" with a one-line error instead)."""
    import warnings

    import numpy as np
    from PIL import Image, ImageOps

    from autocolor.atomic import atomic_path
    from autocolor.data.cache import chroma_stats, low_chroma_reason, resize_short_side
    from autocolor.images import srgb_from_pil

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # EXIF quirks; real failures raise below
            with Image.open(task.path) as opened:
                image: Image.Image = opened
                width, height = image.size
                if min(width, height) < task.min_side:
                    return PhotoResult(task, TOO_SMALL, width, height)
                scale = task.short_side / min(width, height)
                if scale < 1.0 and image.format == "JPEG":
                    # DCT-domain downscale by 1/2, 1/4 or 1/8, never below the target size.
                    image.draft("RGB", (math.ceil(width * scale), math.ceil(height * scale)))
                icc = image.info.get("icc_profile")
                image = ImageOps.exif_transpose(image)  # loads the pixels
                rgb = resize_short_side(srgb_from_pil(image, icc), task.short_side)
    except Exception as error:  # noqa: BLE001 - any undecodable file is reported and skipped
        message = str(error).splitlines()[0] if str(error) else ""
        return PhotoResult(task, "corrupt", error=f"{type(error).__name__}: {message}".rstrip(": "))
    stats = chroma_stats(np.asarray(rgb))
    spread = stats["ab_spread"]
    low = low_chroma_reason(stats, task.min_ab_spread, task.min_ab_spread_given_l)
    if low:
        return PhotoResult(task, GRAY if low == "gray" else TONED, rgb.width, rgb.height, spread)
    name = cache_file_name(task.sha256)
    with atomic_path(Path(task.out_dir) / name) as temp:
        rgb.save(temp, "JPEG", quality=JPEG_QUALITY, subsampling=0, optimize=True)
    return PhotoResult(task, KEPT, rgb.width, rgb.height, spread, name)
