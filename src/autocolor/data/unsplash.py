"""``autocolor data unsplash``: download the photos listed in the Unsplash Lite ``photos`` table.

    autocolor data unsplash photos.tsv000 --out unsplash/ [--workers 8] [--width 512] [--limit N]

PATH is a ``photos.tsv000`` file, a folder holding ``photos.tsv*`` files (the Full release splits
the table into numbered files, each with its own header row) or the downloaded zip. The tables
are CSV with a tab delimiter and ``"`` quoting (the data set's own loaders read them as
``FORMAT csv, DELIMITER E'\\t'`` / ``pandas.read_csv(sep="\\t")``), so they are parsed with the
``csv`` module: quoted fields, embedded tabs and newlines, UTF-8, empty cells.

Each photo's ``photo_image_url`` is fetched with resize parameters (``?w=512&fm=jpg&q=85``) into
``OUT/<photo_id>.jpg``: fully decoded first (``images.load_rgb``, the reader of every colour
photo), then written to a hidden temporary name and renamed (``autocolor.atomic``), so an
interrupted run, an HTML error page or a truncated body never leaves a file behind.

``OUT/unsplash-manifest.tsv`` records every photo (id, url, status, bytes, sha256, error, ...).
Rows are appended as photos finish, so a killed run loses nothing, and the file is compacted to
one row per photo at the start and end of each run. A later run skips photos that arrived whole
(manifest says ok, the file is there with the recorded size) and retries only the failed ones;
``autocolor data prepare`` reads the manifest to skip failed entries and to record each photo's
Unsplash page as its source.

Politeness: at most ``--workers`` connections at a time (capped at ``MAX_WORKERS``); transient
failures (connection errors, timeouts, truncated bodies, 408, 5xx, 429) are retried with
exponential backoff and jitter; a 429 closes a shared gate that every worker waits on for the
server's ``Retry-After`` (or the backoff delay), so the whole downloader slows down, not just one
worker. 404 and other 4xx are not retried.

This module is the run and the command; the photos table and the manifest are
``data/unsplash_tables.py``, one photo's request, retries and the rate gate
``data/unsplash_fetch.py``. Importing them is cheap (no torch, NumPy, PIL or urllib until a
download starts).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from autocolor.atomic import PART_SUFFIX
from autocolor.data.unsplash_fetch import (
    DEFAULT_QUALITY,
    DEFAULT_WIDTH,
    REASON_TEXT,
    DownloadContext,
    RateGate,
    RetryPolicy,
    download_one,
)
from autocolor.data.unsplash_tables import (
    MANIFEST_NAME,
    PHOTO_ID,
    DownloadRecord,
    ManifestJournal,
    PhotoRow,
    read_download_manifest,
    read_photos,
    utc_now,
    write_download_manifest,
)

DEFAULT_WORKERS = 8
MAX_WORKERS = 32


# --------------------------------------------------------------------------------------------
# The run


@dataclass
class Summary:
    total: int = 0  # photos in the table (after --limit)
    fetched: int = 0  # arrived in this run
    skipped: int = 0  # already here from an earlier run
    failed: dict[str, DownloadRecord] = field(default_factory=dict)
    bytes_fetched: int = 0
    elapsed: float = 0.0
    rate_limit_pauses: int = 0
    out_dir: str = ""
    manifest: str = ""

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def done(self) -> int:
        return self.fetched + self.skipped

    def failed_by_reason(self) -> Counter[str]:
        return Counter(record.reason for record in self.failed.values())

    def format(self, max_listed: int = 50) -> str:
        rate = self.fetched / self.elapsed if self.elapsed > 0 else 0.0
        lines = [
            f"unsplash: {self.done}/{self.total} photos in {self.out_dir} "
            f"({self.fetched} fetched, {self.skipped} already here), {len(self.failed)} failed; "
            f"{self.bytes_fetched / 1e6:.1f} MB in {self.elapsed:.1f} s ({rate:.1f} photos/s)"
        ]
        if self.rate_limit_pauses:
            lines.append(f"the server rate-limited us {self.rate_limit_pauses} time(s)")
        if self.failed:
            by_reason = ", ".join(
                f"{REASON_TEXT.get(reason, reason)}: {count}"
                for reason, count in self.failed_by_reason().most_common()
            )
            lines.append(f"failed by reason: {by_reason}")
            lines.append("failures (photo_id: reason, detail):")
            for photo_id, record in list(sorted(self.failed.items()))[:max_listed]:
                lines.append(f"  {photo_id}: {REASON_TEXT.get(record.reason, record.reason)}"
                             f", {record.error}")
            if len(self.failed) > max_listed:
                lines.append(f"  ... and {len(self.failed) - max_listed} more, all listed in "
                             f"{self.manifest} (status 'failed')")
            lines.append("run the same command again to retry the failed photos")
        return "\n".join(lines)


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def _already_here(target: Path, previous: DownloadRecord | None) -> DownloadRecord | None:
    """The record of a photo that arrived whole in an earlier run, else None."""
    if not target.is_file():
        return None
    size = target.stat().st_size
    if previous is not None and previous.status == "ok" and previous.bytes == size:
        return previous
    if previous is not None and previous.status == "ok":
        return None  # the file changed since: fetch it again
    # A file with no ok record (the manifest was deleted): adopt it if it decodes whole.
    from autocolor.images import load_rgb

    try:
        load_rgb(target)
    except Exception:  # noqa: BLE001 - any decode failure means "not whole"
        return None
    data = target.read_bytes()
    return DownloadRecord(target.stem, previous.url if previous else "", "ok", len(data),
                          hashlib.sha256(data).hexdigest(), file=target.name,
                          finished_at=utc_now())


def download_unsplash(
    table: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    width: int = DEFAULT_WIDTH,
    quality: int = DEFAULT_QUALITY,
    workers: int = DEFAULT_WORKERS,
    limit: int | None = None,
    policy: RetryPolicy | None = None,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
) -> Summary:
    """Download the photos of an Unsplash photos table into ``out_dir``; see the module doc."""
    import urllib.request
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    from tqdm.auto import tqdm

    if not 1 <= width <= 10000:
        raise ValueError(f"width must be in [1, 10000], got {width}")
    workers = max(1, min(int(workers), MAX_WORKERS))
    policy = policy or RetryPolicy()
    log = log or _warn
    started = time.monotonic()
    photos = read_photos(table, limit=limit, warn=log)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob(f".*{PART_SUFFIX}"):  # temporary files of a killed run
        stale.unlink(missing_ok=True)

    records = read_download_manifest(out)
    summary = Summary(total=len(photos), out_dir=str(out), manifest=str(out / MANIFEST_NAME))
    todo: list[PhotoRow] = []
    for photo in photos:
        if not PHOTO_ID.match(photo.photo_id):
            record = DownloadRecord(photo.photo_id, photo.image_url, "failed", reason="bad_row",
                                    error="photo_id is not a safe file name")
            summary.failed[photo.photo_id] = record  # never in the manifest: it can't be a key
            continue
        arrived = _already_here(out / f"{photo.photo_id}.jpg", records.get(photo.photo_id))
        if arrived is not None:
            arrived.page_url = arrived.page_url or photo.page_url
            arrived.photographer = arrived.photographer or photo.photographer
            records[photo.photo_id] = arrived
            summary.skipped += 1
        else:
            todo.append(photo)
    write_download_manifest(out, records)  # compacted; drops torn rows of a killed run

    stop = threading.Event()
    gate = RateGate(stop)
    ctx = DownloadContext(urllib.request.build_opener(), out, width, quality, policy, gate, stop)
    journal = ManifestJournal(out)
    bar = tqdm(total=len(todo), unit="photo", desc="unsplash", disable=not progress or None,
               dynamic_ncols=True)
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="unsplash")
    pending = {executor.submit(download_one, photo, ctx) for photo in todo}

    def take(record: DownloadRecord) -> None:
        records[record.photo_id] = record
        journal.append(record)
        if record.status == "ok":
            summary.fetched += 1
            summary.bytes_fetched += record.bytes
        else:
            summary.failed[record.photo_id] = record
        bar.update(1)

    try:
        while pending:
            finished, pending = wait(pending, timeout=1.0, return_when=FIRST_COMPLETED)
            for future in finished:
                take(future.result())
            if finished:
                bar.set_postfix(failed=len(summary.failed), refresh=False)
    finally:
        stop.set()  # on KeyboardInterrupt: workers stop waiting and report "interrupted"
        executor.shutdown(wait=True, cancel_futures=True)
        for future in pending:  # photos that finished while we were shutting down
            if future.done() and not future.cancelled() and future.exception() is None:
                take(future.result())
        bar.close()
        journal.close()
        write_download_manifest(out, records)
    summary.rate_limit_pauses = gate.pauses
    summary.elapsed = time.monotonic() - started
    return summary


# --------------------------------------------------------------------------------------------
# Command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="PATH",
                        help="photos.tsv000, a folder of photos.tsv* files, or the data set zip")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="download folder: DIR/<photo_id>.jpg and DIR/" + MANIFEST_NAME)
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS, metavar="N",
                        help=f"parallel downloads = open connections (default {DEFAULT_WORKERS}, "
                             f"at most {MAX_WORKERS})")
    parser.add_argument("--width", type=int, default=DEFAULT_WIDTH, metavar="N",
                        help=f"resize width requested from the image CDN (default {DEFAULT_WIDTH})")
    parser.add_argument("--quality", type=int, default=DEFAULT_QUALITY, metavar="Q",
                        help=f"JPEG quality requested (default {DEFAULT_QUALITY})")
    parser.add_argument("--limit", type=int, default=None, metavar="N",
                        help="only the first N photos of the table")
    parser.add_argument("--timeout", type=float, default=RetryPolicy.timeout, metavar="S",
                        help=f"per-request timeout in seconds (default {RetryPolicy.timeout:g})")
    parser.add_argument("--attempts", type=int, default=RetryPolicy.attempts, metavar="N",
                        help=f"tries per photo (default {RetryPolicy.attempts})")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """0 when every photo is here, 1 when any failed, 2 when the table can't be read."""
    policy = RetryPolicy(attempts=max(1, args.attempts), timeout=args.timeout)
    try:
        summary = download_unsplash(
            args.path, args.out, width=args.width, quality=args.quality, workers=args.workers,
            limit=args.limit, policy=policy, progress=not args.no_progress,
        )
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(summary.format(), file=sys.stderr if summary.failed else sys.stdout)
    return 0 if summary.ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autocolor.data.unsplash",
                                     description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
