"""``autocolor data prepare``: folders of own colour photos -> a training cache (``data/cache.py``).

    autocolor data prepare SRC... --out DIR [--short-side 288] [--val-fraction F] [--test-fraction F]

For every image file under the SRC folders (recursive; hidden files and folders, and DIR itself,
are left out; JPEG, PNG, WebP, TIFF, BMP, GIF, AVIF/HEIC where Pillow reads them):

1. hash the file's bytes (sha256): a photo already in the cache or seen earlier in this run is a
   duplicate and is not decoded;
2. decode it (EXIF orientation applied with ``PIL.ImageOps.exif_transpose``; JPEGs are decoded
   at a reduced DCT scale when that still leaves at least ``--short-side`` pixels), make it 8-bit
   sRGB with the policy of every colour photo (``images.srgb_from_pil``: alpha onto white, deep
   gray scaled to 8 bits, an embedded ICC profile converted to sRGB), and resize so the short
   side is ``--short-side`` (Lanczos; never upscales);
3. measure chroma on that resized image (``cache.chroma_stats``) and drop near-grayscale
   photos (``ab_spread`` below ``cache.MIN_AB_SPREAD``) and sepia or tinted monochrome photos
   (``ab_spread_given_l``, the chroma spread left within narrow lightness bins, below
   ``cache.MIN_AB_SPREAD_GIVEN_L``: their colour is a function of lightness);
4. write ``DIR/<sha256[:24]>.jpg`` (JPEG quality 95, 4:4:4 chroma) atomically
   (``autocolor.atomic``), and a ``manifest.tsv`` row whose split is
   ``cache.split_for_hash(sha256)``.

Incremental: ``DIR/prepare-state.tsv`` remembers every source file already looked at (path, size,
mtime, hash, outcome), so a re-run with more photos hashes and decodes only the new or changed
files; the manifest and state are saved every few seconds, so an interrupted run resumes where
it stopped. Unreadable files get a one-line warning each and are retried on the next run.

An Unsplash download folder (``autocolor data unsplash --out DIR``) is read directly: photos its
``unsplash-manifest.tsv`` marks as failed are skipped, and the others get their Unsplash page as
``source`` and the Unsplash licence in the manifest.

This module is the run and the command; ``data/prepare_photos.py`` finds the photos and
processes one (steps 2-4), ``data/prepare_state.py`` keeps the state file. Importing them is cheap
(no torch, NumPy or PIL until a run starts).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from autocolor.atomic import PART_SUFFIX
from autocolor.data.prepare_photos import (
    Candidate,
    PhotoResult,
    PhotoTask,
    find_photos,
    process_photo,
)
from autocolor.data.prepare_state import (
    DUPLICATE,
    GRAY,
    KEPT,
    TONED,
    TOO_SMALL,
    SourceState,
    read_state,
    write_state,
)

DEFAULT_SHORT_SIDE = 288
DEFAULT_VAL_FRACTION = 0.15  # the defaults of cache.split_for_hash
DEFAULT_TEST_FRACTION = 0.15
DEFAULT_MIN_SIDE = 64  # smaller images are icons or thumbnails, not training photos
DEFAULT_WORKERS = 2
SAVE_EVERY_S = 10.0


# --------------------------------------------------------------------------------------------
# The run


@dataclass
class PrepareSummary:
    found: int = 0  # image files under the sources
    unchanged: int = 0  # looked at in an earlier run and not changed since: not read again
    processed: int = 0  # decoded in this run
    kept: int = 0  # added to the cache in this run
    gray: int = 0  # dropped: near-grayscale (ab_spread < min_ab_spread)
    toned: int = 0  # dropped: sepia or tinted monochrome (ab_spread_given_l < its minimum)
    duplicates: int = 0  # dropped: same bytes as a photo already in the cache or this run
    too_small: int = 0  # dropped: short side below min_side
    corrupt: list[tuple[str, str]] = field(default_factory=list)  # (path, error)
    failed_downloads: int = 0  # Unsplash photos that did not arrive
    split_moved: int = 0  # cached photos whose split changed (other --val/--test fractions)
    cache_total: int = 0
    splits: dict[str, int] = field(default_factory=dict)
    min_ab_spread: float = 0.0
    min_ab_spread_given_l: float = 0.0
    elapsed: float = 0.0
    out_dir: str = ""

    @property
    def photos_per_second(self) -> float:
        return self.processed / self.elapsed if self.elapsed > 0 else 0.0

    def format(self) -> str:
        lines = [
            f"prepare: {self.found} photo files found, {self.unchanged} unchanged since the last "
            f"run, {self.processed} decoded in {self.elapsed:.1f} s "
            f"({self.photos_per_second:.1f} photos/s)",
            f"  added {self.kept}; dropped {self.gray} near-grayscale "
            f"(ab spread < {self.min_ab_spread:g}), {self.toned} sepia or toned "
            f"(ab spread within a lightness < {self.min_ab_spread_given_l:g}), "
            f"{self.duplicates} duplicate, "
            f"{self.too_small} too small, {len(self.corrupt)} unreadable",
        ]
        if self.failed_downloads:
            lines.append(f"  left out {self.failed_downloads} failed Unsplash download(s)")
        if self.split_moved:
            lines.append(f"  {self.split_moved} cached photo(s) changed split (new fractions)")
        splits = ", ".join(f"{name} {self.splits.get(name, 0)}" for name in ("train", "val",
                                                                             "test"))
        lines.append(f"cache {self.out_dir}: {self.cache_total} photos ({splits})")
        return "\n".join(lines)


def prepare_folders(
    sources: Sequence[str | os.PathLike],
    out_dir: str | os.PathLike,
    *,
    short_side: int = DEFAULT_SHORT_SIDE,
    val_fraction: float = DEFAULT_VAL_FRACTION,
    test_fraction: float = DEFAULT_TEST_FRACTION,
    min_ab_spread: float | None = None,
    min_ab_spread_given_l: float | None = None,
    min_side: int = DEFAULT_MIN_SIDE,
    workers: int = DEFAULT_WORKERS,
    progress: bool = True,
    warn: Callable[[str], None] | None = None,
) -> PrepareSummary:
    """Add the colour photos under ``sources`` to the cache in ``out_dir``; see the module doc."""
    from tqdm.auto import tqdm

    from autocolor.data import cache

    if short_side < 1:
        raise ValueError(f"short_side must be positive, got {short_side}")
    cache.split_for_hash("0" * 8, val_fraction, test_fraction)  # validates the fractions
    min_ab_spread = cache.MIN_AB_SPREAD if min_ab_spread is None else float(min_ab_spread)
    min_given_l = (cache.MIN_AB_SPREAD_GIVEN_L if min_ab_spread_given_l is None
                   else float(min_ab_spread_given_l))
    started = time.monotonic()
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob(f".*{PART_SUFFIX}"):  # temporary files of a killed run
        stale.unlink(missing_ok=True)
    summary = PrepareSummary(min_ab_spread=min_ab_spread, min_ab_spread_given_l=min_given_l,
                             out_dir=str(out_dir))

    def report(message: str) -> None:
        if warn is not None:
            warn(message)
        else:
            tqdm.write(f"warning: {message}", file=sys.stderr)

    records = {r.sha256: r for r in cache.read_manifest(out)} if cache.is_cache(out) else {}
    larger = sum(min(r.width, r.height) > short_side for r in records.values())
    if larger:
        report(f"{larger} photo(s) in {out_dir} have a short side above {short_side}: this cache "
               f"was prepared with a larger --short-side; use a new --out to rebuild it")
    states = read_state(out)
    outcome_by_sha = {s.sha256: s for s in states.values() if s.outcome in (GRAY, TONED, TOO_SMALL)}

    candidates, summary.failed_downloads = find_photos(sources, exclude=out)
    summary.found = len(candidates)
    tasks: list[tuple[PhotoTask, Candidate, os.stat_result]] = []
    seen: set[str] = set()
    for candidate in tqdm(candidates, desc="hashing", unit="file", disable=not progress or None,
                          leave=False):
        key = str(candidate.path)
        try:
            stat = candidate.path.stat()
            known = states.get(key)
            if known and (known.size, known.mtime_ns) == (stat.st_size, stat.st_mtime_ns) and (
                    known.outcome != KEPT or known.sha256 in records):
                summary.unchanged += 1
                seen.add(known.sha256)
                continue
            sha = cache.sha256_file(candidate.path)
        except OSError as error:
            summary.corrupt.append((key, str(error)))
            report(f"skipped {key}: {error}")
            continue
        new_state = SourceState(key, stat.st_size, stat.st_mtime_ns, sha, DUPLICATE)
        if sha in records:
            if records[sha].source == candidate.source:  # same photo, file touched
                summary.unchanged += 1
                new_state.outcome, new_state.file = KEPT, records[sha].file
            else:
                summary.duplicates += 1
            states[key] = new_state
        elif sha in seen:
            summary.duplicates += 1
            states[key] = new_state
        elif sha in outcome_by_sha:  # same bytes as a photo already dropped elsewhere
            new_state.outcome = outcome_by_sha[sha].outcome
            new_state.ab_spread = outcome_by_sha[sha].ab_spread
            summary.gray += new_state.outcome == GRAY
            summary.toned += new_state.outcome == TONED
            summary.too_small += new_state.outcome == TOO_SMALL
            states[key] = new_state
        else:
            tasks.append((PhotoTask(key, sha, str(out), short_side, min_ab_spread, min_given_l,
                                min_side),
                          candidate, stat))
        seen.add(sha)

    by_path = {task.path: (candidate, stat) for task, candidate, stat in tasks}

    def save() -> None:
        cache.write_manifest(out, list(records.values()))
        write_state(out, states.values())

    def collect(result: PhotoResult) -> None:
        task = result.task
        candidate, stat = by_path[task.path]
        summary.processed += 1
        if result.outcome == "corrupt":
            summary.corrupt.append((task.path, result.error))
            report(f"skipped {task.path}: {result.error}")
            return  # not remembered: retried on the next run
        states[task.path] = SourceState(task.path, stat.st_size, stat.st_mtime_ns, task.sha256,
                                        result.outcome, result.ab_spread, result.file)
        if result.outcome == KEPT:
            summary.kept += 1
            records[task.sha256] = cache.CacheRecord(
                file=result.file, split=cache.split_for_hash(task.sha256, val_fraction,
                                                             test_fraction),
                width=result.width, height=result.height, sha256=task.sha256,
                source=candidate.source, license=candidate.license,
                ab_spread=round(result.ab_spread, 3))
        elif result.outcome == GRAY:
            summary.gray += 1
        elif result.outcome == TONED:
            summary.toned += 1
        elif result.outcome == TOO_SMALL:
            summary.too_small += 1

    bar = tqdm(total=len(tasks), desc="prepare", unit="photo", disable=not progress or None,
               dynamic_ncols=True)
    pool = None
    last_save = time.monotonic()
    try:
        todo = [task for task, _, _ in tasks]
        workers = max(1, min(int(workers), len(todo)))
        if workers == 1:
            results: Iterator[PhotoResult] = map(process_photo, todo)
        else:
            import multiprocessing

            # spawn: same behaviour on Linux, macOS and Windows, and safe beside threads
            pool = multiprocessing.get_context("spawn").Pool(workers)
            results = pool.imap_unordered(process_photo, todo, chunksize=1)
        for result in results:
            collect(result)
            bar.update(1)
            if time.monotonic() - last_save > SAVE_EVERY_S:
                save()
                last_save = time.monotonic()
        if pool is not None:
            pool.close()
            pool.join()
    finally:
        if pool is not None:
            pool.terminate()
        bar.close()
        for sha, record in list(records.items()):
            split = cache.split_for_hash(sha, val_fraction, test_fraction)
            if split != record.split:
                summary.split_moved += 1
                records[sha] = cache.CacheRecord(**{**asdict(record), "split": split})
        save()
    summary.cache_total = len(records)
    summary.splits = dict(Counter(r.split for r in records.values()))
    summary.elapsed = time.monotonic() - started
    return summary


# --------------------------------------------------------------------------------------------
# Command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sources", nargs="+", metavar="SRC",
                        help="folders of colour photos (searched recursively) or photo files; "
                             "an `autocolor data unsplash` download folder works as is")
    parser.add_argument("--out", required=True, metavar="DIR", help="the cache folder")
    parser.add_argument("--short-side", type=int, default=DEFAULT_SHORT_SIDE, metavar="PX",
                        help=f"resize so the short side is PX, never upscaling "
                             f"(default {DEFAULT_SHORT_SIDE})")
    parser.add_argument("--val-fraction", type=float, default=DEFAULT_VAL_FRACTION, metavar="F",
                        help=f"share of photos in the val split (default {DEFAULT_VAL_FRACTION})")
    parser.add_argument("--test-fraction", type=float, default=DEFAULT_TEST_FRACTION,
                        metavar="F",
                        help=f"share of photos in the test split (default {DEFAULT_TEST_FRACTION})")
    parser.add_argument("--min-ab-spread", type=float, default=None, metavar="X",
                        help="drop photos whose Lab chroma spread is below X "
                             "(near-grayscale; default cache.MIN_AB_SPREAD = 4.0)")
    parser.add_argument("--min-ab-spread-given-l", type=float, default=None, metavar="X",
                        help="drop photos whose chroma spread within a lightness is below X "
                             "(sepia, toned; default cache.MIN_AB_SPREAD_GIVEN_L = 3.5)")
    parser.add_argument("--min-side", type=int, default=DEFAULT_MIN_SIDE, metavar="PX",
                        help=f"drop images whose short side is below PX (default "
                             f"{DEFAULT_MIN_SIDE})")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS, metavar="N",
                        help=f"worker processes (default {DEFAULT_WORKERS})")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """0 when the cache holds at least one photo, 1 when it is empty, 2 on bad arguments."""
    try:
        summary = prepare_folders(
            args.sources, args.out, short_side=args.short_side, val_fraction=args.val_fraction,
            test_fraction=args.test_fraction, min_ab_spread=args.min_ab_spread,
            min_ab_spread_given_l=args.min_ab_spread_given_l, min_side=args.min_side, workers=args.workers, progress=not args.no_progress,
        )
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(summary.format())
    if summary.cache_total == 0:
        print("error: no usable colour photos; the cache is empty", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autocolor.data.prepare",
                                     description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
