"""The training cache: a folder of resized colour photos plus ``manifest.tsv``.

Every producer (``autocolor data prepare``, the default-corpus builder, the Unsplash downloader
followed by prepare) writes this layout and the training loader reads only this layout:

    CACHE_DIR/manifest.tsv      one row per photo, columns FIELDS, tab-separated, UTF-8
    CACHE_DIR/<file>            JPEG (quality 95) or PNG, short side = the cache's size

The split is a pure function of the photo's content hash, so adding photos never moves an
existing photo between train, val and test.
"""

from __future__ import annotations

import csv
import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
from PIL import Image

from autocolor.atomic import atomic_write

CACHE_MANIFEST = "manifest.tsv"
SPLITS = ("train", "val", "test", "test-oos")  # test-oos: the default corpus's
# out-of-source test split (data/split.py); own caches have the first three

# A photo is "near gray" when its chroma spread in Lab is below this (the mean chroma would
# keep tinted monochrome photos). Checked on ../shared/corpus/wallpaper-photos.tsv
# (docs/corpus.md). Spread alone does not catch sepia: see MIN_AB_SPREAD_GIVEN_L.
MIN_AB_SPREAD: float = 4.0

# Sepia and other toned monochrome photos get past MIN_AB_SPREAD: their chroma grows with
# lightness, so over a whole photo a and b spread out (sepia JPEG copies of the scikit-image
# sample photos: ab_spread 3.5-10.1). But their ab is a function of L, so the spread left within
# narrow lightness bins, "ab_spread_given_l", stays at or below 3.36 for them and at or above
# 4.15 for the colour originals (table in docs/data.md). A photo is kept only when both spreads
# reach their minimum.
MIN_AB_SPREAD_GIVEN_L: float = 3.5
LIGHTNESS_BINS: int = 16


@dataclass(frozen=True)
class CacheRecord:
    file: str  # path relative to the cache folder
    split: str  # one of SPLITS
    width: int
    height: int
    sha256: str  # of the ORIGINAL source file's bytes (dedup key and split key)
    source: str = ""  # where it came from (package/path, URL, or original file path)
    license: str = ""
    ab_spread: float = 0.0  # chroma_stats(...)["ab_spread"] of the cached image
    subject: str = ""  # what the photo shows (data/sources/photos.tsv), "composite", or ""


FIELDS = tuple(f.name for f in fields(CacheRecord))


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def split_for_hash(sha256: str, val_fraction: float = 0.15, test_fraction: float = 0.15) -> str:
    """Deterministic split from a hex digest: the first 8 hex digits as a fraction of 2**32."""
    if not 0.0 <= val_fraction + test_fraction < 1.0:
        raise ValueError("val_fraction + test_fraction must be in [0, 1)")
    position = int(sha256[:8], 16) / 2**32
    if position < test_fraction:
        return "test"
    if position < test_fraction + val_fraction:
        return "val"
    return "train"


def chroma_stats(rgb: np.ndarray) -> dict[str, float]:
    """Chroma statistics of an (H, W, 3) uint8 sRGB image (downscale large images first).

    Returns mean_chroma (mean sqrt(a^2 + b^2)), ab_spread (sqrt(var a + var b)) and
    ab_spread_given_l (the same within LIGHTNESS_BINS lightness bins, pooled), in Lab units.
    """
    from autocolor.color.lab_numpy import rgb_to_lab

    if rgb.ndim != 3 or rgb.shape[-1] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected (H, W, 3) uint8, got {rgb.shape} {rgb.dtype}")
    lab = rgb_to_lab(rgb.astype(np.float32) / 255.0)
    a, b = lab[..., 1], lab[..., 2]
    return {
        "mean_chroma": float(np.mean(np.hypot(a, b))),
        "ab_spread": float(np.sqrt(a.var() + b.var())),
        "ab_spread_given_l": _ab_spread_given_lightness(lab),
    }


def _ab_spread_given_lightness(lab: np.ndarray, bins: int = LIGHTNESS_BINS) -> float:
    """sqrt of the pixel-weighted mean, over lightness bins, of var a + var b within the bin."""
    index = np.clip((lab[..., 0].ravel() * (bins / 100.0)).astype(np.intp), 0, bins - 1)
    counts = np.bincount(index, minlength=bins).astype(np.float64)
    total = 0.0
    for channel in (lab[..., 1].ravel(), lab[..., 2].ravel()):
        channel = channel.astype(np.float64)
        sums = np.bincount(index, channel, minlength=bins)
        squares = np.bincount(index, channel * channel, minlength=bins)
        # per bin, count * variance = sum of squares - sum^2 / count
        total += float(np.sum(squares - sums * sums / np.maximum(counts, 1.0)))
    return float(np.sqrt(max(total, 0.0) / max(counts.sum(), 1.0)))


def low_chroma_reason(
    stats: dict[str, float],
    min_ab_spread: float = MIN_AB_SPREAD,
    min_ab_spread_given_l: float = MIN_AB_SPREAD_GIVEN_L,
) -> str:
    """"gray" (near-grayscale), "toned" (sepia or tinted monochrome) or "" for a colour photo."""
    if stats["ab_spread"] < min_ab_spread:
        return "gray"
    if stats.get("ab_spread_given_l", min_ab_spread_given_l) < min_ab_spread_given_l:
        return "toned"
    return ""


def resize_short_side(image: Image.Image, short_side: int) -> Image.Image:
    """Downscale so the short side is ``short_side`` (never upscales), Lanczos."""
    width, height = image.size
    scale = short_side / min(width, height)
    if scale >= 1.0:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


def is_cache(folder: str | os.PathLike) -> bool:
    return (Path(folder) / CACHE_MANIFEST).is_file()


def read_manifest(folder: str | os.PathLike) -> list[CacheRecord]:
    path = Path(folder) / CACHE_MANIFEST
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        records = []
        for row in reader:
            records.append(
                CacheRecord(
                    file=row["file"],
                    split=row["split"],
                    width=int(row["width"]),
                    height=int(row["height"]),
                    sha256=row["sha256"],
                    source=row.get("source", ""),
                    license=row.get("license", ""),
                    ab_spread=float(row.get("ab_spread") or 0.0),
                    subject=row.get("subject") or "",
                )
            )
    return records


def write_manifest(folder: str | os.PathLike, records: list[CacheRecord]) -> Path:
    """Write the manifest atomically (temporary file, then rename), sorted by file name."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for record in sorted(records, key=lambda r: r.file):
        row = asdict(record)
        row["ab_spread"] = f"{record.ab_spread:.3f}"
        rows.append(row)
    return write_tsv_atomic(folder / CACHE_MANIFEST, FIELDS, rows)


def write_tsv_atomic(target: str | os.PathLike, fieldnames: Sequence[str],
                     rows: Iterable[dict]) -> Path:
    """Write a tab-separated table with a header through a hidden temporary file and a rename
    (:func:`autocolor.atomic.atomic_write`), so a reader never sees half a table."""
    target = Path(target)
    with atomic_write(target, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fieldnames, delimiter="\t")
        writer.writeheader()
        writer.writerows(rows)
    return target
