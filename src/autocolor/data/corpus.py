"""``autocolor data build-corpus``: the default training corpus, built offline and reproducibly.

Reads the source lists (``data/sources/photos.tsv``: 387 real colour photos from 26 Debian
packages and Python libraries, each judged by eye; ``data/sources/stamps.tsv``: 152 photographic
cut-outs), fetches each file with :mod:`autocolor.data.fetch` (verifying its sha256), splits the
real photos with :mod:`autocolor.data.split` (val and test: real photos only), and writes a
training cache (:mod:`autocolor.data.cache` layout). With ``--composites``, each stamp is pasted
onto a training photo (:mod:`autocolor.data.composite`) as one more training image.

Two runs give byte-identical caches (with the same Pillow).
"""

from __future__ import annotations

import argparse
import io
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from autocolor.data.cache import (
    CACHE_MANIFEST,
    SPLITS,
    CacheRecord,
    chroma_stats,
    is_cache,
    resize_short_side,
    write_manifest,
)
from autocolor.data.composite import compose, pick_background, stamp_rng
from autocolor.data.fetch import Fetcher, FetchError
from autocolor.data.sources import DEFAULT_PHOTOS, DEFAULT_STAMPS, Source, read_sources
from autocolor.data.split import DEFAULT_HOLDOUT, Holdout, corpus_splits, read_holdouts

PHOTO_SHORT_SIDE = 512  # training crops are 192-256 px; validation renders at a 384 px long side
JPEG_QUALITY = 95
MAX_CACHE_BYTES = 80_000_000  # the cache travels to a GPU box
SAMPLE_LONG_SIDE = 1600
# The demo photos: the first test photo (by hash) of each of these subjects.
SAMPLE_SUBJECTS = ("people", "animal", "building", "landscape")


@dataclass
class BuildResult:
    records: list[CacheRecord]
    splits: dict[str, str]  # real photos: sha256 -> split
    problems: list[str] = field(default_factory=list)  # one line per source left out


def cache_name(source: Source, prefix: str) -> str:
    """Flat, unique, readable file name in the cache: ``PREFIX-package-name-HASH8.jpg``."""
    member = source.member.rsplit(":", 1)[-1]  # an rcc member's path inside the resource file
    stem = Path(member).stem
    if stem in ("2560x1600", "5120x2880"):  # plasma wallpapers: the name is the folder
        stem = Path(member).parts[3]
    slug = re.sub(r"[^A-Za-z0-9]+", "-", f"{source.package}-{stem}").strip("-")
    return f"{prefix}-{slug}-{source.sha256[:8]}.jpg"


def open_photo(data: bytes, rotation: int) -> Image.Image:
    """Decode, apply EXIF orientation and the list's rotation (degrees clockwise) -> RGB."""
    image = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    if rotation % 360:
        image = image.rotate(-rotation, expand=True)
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")  # a few PNG/GIF photos carry (opaque) alpha: flatten it
        flat = Image.new("RGB", rgba.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")


def save_jpeg(image: Image.Image, file: Path) -> CacheRecord:
    """JPEG q95, 4:4:4 (chroma is what the model learns), and the measured part of its record."""
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=JPEG_QUALITY, subsampling=0, optimize=True)
    file.write_bytes(buffer.getvalue())
    saved = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
    return CacheRecord(file=file.name, split="", width=saved.shape[1], height=saved.shape[0],
                       sha256="", ab_spread=chroma_stats(saved)["ab_spread"])


def build(photos: list[Source], stamps: list[Source], fetcher: Fetcher, staging: Path,
          composites: bool = False, holdouts: list[Holdout] | None = None) -> BuildResult:
    """Fetch, check, split (:func:`~autocolor.data.split.corpus_splits`, with ``holdouts``) and
    write every photo (and composite) into ``staging``."""
    problems: list[str] = []
    splits = corpus_splits(photos, holdouts or [])
    records: list[CacheRecord] = []
    backgrounds: dict[str, Image.Image] = {}
    for source in photos:
        try:
            image = open_photo(fetcher.fetch(source), source.rotation)
        except (FetchError, OSError) as error:
            problems.append(f"{source.name}: {error}")
            continue
        image = resize_short_side(image, PHOTO_SHORT_SIDE)
        # Every listed photo was judged a colour photo by eye, so none is dropped for low chroma:
        # a white plate on a white table is exactly what teaches the model to leave gray alone.
        record = save_jpeg(image, staging / cache_name(source, "photo"))
        records.append(replace(record, split=splits[source.sha256], sha256=source.sha256,
                               source=source.name, license=source.license,
                               subject=source.subject))
        if splits[source.sha256] == "train":
            backgrounds[source.sha256] = image
    if composites:
        records += build_composites(stamps, fetcher, backgrounds, photos, staging, problems)
    return BuildResult(records, splits, problems)


def build_composites(stamps: list[Source], fetcher: Fetcher, backgrounds: dict[str, Image.Image],
                     photos: list[Source], staging: Path, problems: list[str]
                     ) -> list[CacheRecord]:
    """One composite per stamp, on a training photo: training split only."""
    by_sha = {photo.sha256: photo for photo in photos}
    records = []
    for stamp in stamps:
        try:
            cutout = Image.open(io.BytesIO(fetcher.fetch(stamp)))
        except (FetchError, OSError) as error:
            problems.append(f"{stamp.name}: {error}")
            continue
        rng = stamp_rng(stamp.sha256)
        background = pick_background(stamp.sha256, list(backgrounds), rng)
        image = compose(cutout, backgrounds[background], rng)
        record = save_jpeg(image, staging / cache_name(stamp, "comp"))
        records.append(replace(record, split="train", sha256=stamp.sha256,
                               source=f"{stamp.name} on {by_sha[background].name}",
                               license=f"{stamp.license} + background {by_sha[background].license}",
                               subject="composite"))
    return records


def replace_folder(staging: Path, out: Path) -> None:
    """Swap the finished cache in; only an earlier cache (or an empty folder) is ever removed."""
    if out.exists():
        if not (is_cache(out) or not any(out.iterdir())):
            raise FileExistsError(f"{out} exists and is not a training cache; not overwriting it")
        shutil.rmtree(out)
    staging.chmod(0o755)  # mkdtemp made it private
    staging.rename(out)


def folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.iterdir() if f.is_file())


def write_samples(photos: list[Source], splits: dict[str, str], fetcher: Fetcher,
                  folder: Path) -> list[Source]:
    """Grayscale JPEGs (long side <= SAMPLE_LONG_SIDE) of a few test photos, one per subject of
    SAMPLE_SUBJECTS, and a LICENSES.md naming their sources."""
    chosen = []
    for subject in SAMPLE_SUBJECTS:
        pool = sorted((p for p in photos if p.subject == subject and splits[p.sha256] == "test"),
                      key=lambda p: p.sha256)
        chosen += pool[:1]
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["# Demo photos", "",
             "Grayscale versions of real photos in the **test** split of the default corpus, so no "
             "model trained on it has seen them. Written by `autocolor data build-corpus --samples "
             f"samples` (8-bit grayscale, long side at most {SAMPLE_LONG_SIDE} px). See "
             "docs/corpus.md.", "",
             "| file | source (package: path) | licence | sha256 of the original |",
             "| --- | --- | --- | --- |"]
    for photo in chosen:
        name = sample_name(photo)
        image = open_photo(fetcher.fetch(photo), photo.rotation).convert("L")
        image.thumbnail((SAMPLE_LONG_SIDE, SAMPLE_LONG_SIDE), Image.Resampling.LANCZOS)
        image.save(folder / name, "JPEG", quality=92, optimize=True)
        lines.append(f"| {name} | {photo.package}: `{photo.member}` | {photo.license} | "
                     f"`{photo.sha256}` |")
    (folder / "LICENSES.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return chosen


def sample_name(photo: Source) -> str:
    stem = Path(photo.member.rsplit(":", 1)[-1]).stem
    return re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-") + ".jpg"


def summary(result: BuildResult, out: Path, seconds: float) -> str:
    """Counts per package and split, problems, size and time."""
    table: dict[str, Counter[str]] = {}
    for record in result.records:
        package = record.source.split(":")[0]
        key = f"{package} (composites)" if record.subject == "composite" else package
        table.setdefault(key, Counter())[record.split] += 1
    lines = [f"{'source':38} " + " ".join(f"{s:>6}" for s in (*SPLITS, "total"))]
    for key, counts in sorted(table.items()):
        lines.append(f"{key:38} " + " ".join(f"{counts[s]:>6}" for s in SPLITS)
                     + f" {sum(counts.values()):>6}")
    totals = Counter(r.split for r in result.records)
    lines.append(f"{'all':38} " + " ".join(f"{totals[s]:>6}" for s in SPLITS)
                 + f" {len(result.records):>6}")
    lines.append(f"cache {out}: {folder_bytes(out) / 1e6:.1f} MB, {seconds:.0f} s")
    return "\n".join(lines + [f"left out: {problem}" for problem in result.problems])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("data/corpus"),
                        help="cache folder (replaced as a whole; only a cache or an empty folder)")
    parser.add_argument("--photos", type=Path, default=DEFAULT_PHOTOS, help="photo source list")
    parser.add_argument("--stamps", type=Path, default=DEFAULT_STAMPS, help="cut-out source list")
    parser.add_argument("--composites", action="store_true",
                        help="add one composite per cut-out to the training split")
    parser.add_argument("--debs", type=Path, default=Path("data/debs"),
                        help="folder of the .deb files; missing ones are fetched with apt-get download")
    parser.add_argument("--extract-dir", type=Path, default=None,
                        help="where the packages are unpacked, kept between runs (default DEBS/extracted)")
    parser.add_argument("--holdout", type=Path, default=DEFAULT_HOLDOUT,
                        help="sources held out of training: out-of-source val and test-oos "
                        "(default: %(default)s)")
    parser.add_argument("--samples", type=Path, default=None,
                        help="also write the grayscale demo photos and LICENSES.md here")


def run(args: argparse.Namespace) -> int:
    start = time.monotonic()
    photos = read_sources(args.photos)
    stamps = read_sources(args.stamps) if args.composites else []
    fetcher = Fetcher(args.debs, args.extract_dir)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{args.out.name}-", dir=args.out.parent))
    try:
        result = build(photos, stamps, fetcher, staging, composites=args.composites,
                       holdouts=read_holdouts(args.holdout))
        if not result.records:
            print("error: no photo could be fetched:\n  " + "\n  ".join(result.problems),
                  file=sys.stderr)
            return 1
        write_manifest(staging, result.records)
        size = folder_bytes(staging)
        if size >= MAX_CACHE_BYTES:
            print(f"error: cache is {size / 1e6:.1f} MB, over {MAX_CACHE_BYTES / 1e6:.0f} MB",
                  file=sys.stderr)
            return 1
        replace_folder(staging, args.out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if args.samples:
        write_samples(photos, result.splits, fetcher, args.samples)
    print(summary(result, args.out, time.monotonic() - start))
    print(f"wrote {args.out / CACHE_MANIFEST}")
    # A source left out changes the corpus (and every score on it): say so in the exit status.
    return 1 if result.problems else 0
