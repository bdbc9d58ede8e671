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

Importing this module is cheap (no torch, NumPy, PIL or urllib until a download starts).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import random
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TextIO

from autocolor.atomic import PART_SUFFIX, atomic_write

MANIFEST_NAME = "unsplash-manifest.tsv"
DEFAULT_WIDTH = 512
DEFAULT_QUALITY = 85
DEFAULT_WORKERS = 8
MAX_WORKERS = 32
MAX_IMAGE_BYTES = 64 << 20  # a resized JPEG is ~100 kB; anything this big is not what we asked for
USER_AGENT = "autocolor-unsplash-downloader/0.1 (+https://github.com/unsplash/datasets)"
LICENSE = "Unsplash License (Unsplash Dataset Lite)"

TABLE_NAME = re.compile(r"^photos\.tsv\d*$")
PHOTO_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # used as a file name: no separators, no dots

# Reasons a photo failed, as written to the manifest's ``reason`` column.
NOT_FOUND = "not_found"  # HTTP 404: the photo was removed from Unsplash
REASON_TEXT = {
    NOT_FOUND: "not found (HTTP 404)",
    "http_4xx": "client error (HTTP 4xx)",
    "http_5xx": "server error (HTTP 5xx)",
    "rate_limited": "rate limited (HTTP 429)",
    "timeout": "timed out",
    "connection": "connection error",
    "truncated": "truncated body (Content-Length mismatch)",
    "not_an_image": "not a decodable image",
    "too_large": f"body larger than {MAX_IMAGE_BYTES >> 20} MiB",
    "bad_row": "bad row in the photos table",
    "interrupted": "interrupted",
}


# --------------------------------------------------------------------------------------------
# The photos table


@dataclass(frozen=True)
class PhotoRow:
    photo_id: str
    image_url: str  # photo_image_url, without resize parameters
    page_url: str = ""  # photo_url, the photo's page on unsplash.com (attribution)
    photographer: str = ""


def _table_sort_key(name: str) -> tuple[str, int]:
    stem, _, number = name.rpartition(".tsv")
    return stem, int(number) if number.isdigit() else -1


def _open_tables(path: Path) -> Iterator[tuple[str, TextIO]]:
    """Yield (name, text stream) for each photos table in a file, folder or zip."""
    import io
    import zipfile

    if path.is_dir():
        names = sorted(
            (p for p in path.iterdir() if p.is_file() and TABLE_NAME.match(p.name)),
            key=lambda p: _table_sort_key(p.name),
        )
        if not names:
            raise ValueError(f"{path}: no photos.tsv* file in this folder")
        for table in names:
            with open(table, encoding="utf-8-sig", newline="") as handle:
                yield str(table), handle
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            members = sorted(
                (m for m in archive.namelist() if TABLE_NAME.match(m.rsplit("/", 1)[-1])),
                key=lambda m: _table_sort_key(m.rsplit("/", 1)[-1]),
            )
            if not members:
                raise ValueError(f"{path}: no photos.tsv* member in this zip")
            for member in members:
                with archive.open(member) as raw:
                    handle = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
                    yield f"{path}:{member}", handle
    elif path.is_file():
        with open(path, encoding="utf-8-sig", newline="") as handle:
            yield str(path), handle
    else:
        raise FileNotFoundError(f"{path}: no such file or folder")


def read_photos(
    path: str | os.PathLike,
    limit: int | None = None,
    warn: Callable[[str], None] | None = None,
) -> list[PhotoRow]:
    """Read the photos table(s) at ``path`` (file, folder of ``photos.tsv*`` or zip).

    Rows without a photo_id or an http(s) photo_image_url are skipped with a warning; a photo
    id seen twice is kept once. ``limit`` keeps the first N photos in table order.
    """
    warn = warn or _warn
    photos: list[PhotoRow] = []
    seen: set[str] = set()
    duplicates = 0
    for name, handle in _open_tables(Path(path)):
        reader = csv.DictReader(handle, delimiter="\t", quotechar='"', doublequote=True)
        try:
            header = reader.fieldnames or []
            missing = {"photo_id", "photo_image_url"} - set(header)
            if missing:
                raise ValueError(
                    f"{name}: not an Unsplash photos table, missing column(s) {sorted(missing)}"
                )
            for row in reader:
                if None in row or any(value is None for value in row.values()):
                    warn(f"{name}:{reader.line_num}: skipped a row with {len(row)} cells, "
                         f"expected {len(header)}")
                    continue
                photo_id = row["photo_id"].strip()
                url = row["photo_image_url"].strip()
                if not photo_id or not url.lower().startswith(("http://", "https://")):
                    warn(f"{name}:{reader.line_num}: skipped a row without photo_id or "
                         f"http(s) photo_image_url")
                    continue
                if photo_id in seen:
                    duplicates += 1
                    continue
                seen.add(photo_id)
                first = row.get("photographer_first_name", "").strip()
                last = row.get("photographer_last_name", "").strip()
                username = row.get("photographer_username", "").strip()
                photographer = " ".join(p for p in (first, last) if p) or username
                photos.append(
                    PhotoRow(photo_id, url, row.get("photo_url", "").strip(), photographer)
                )
                if limit is not None and len(photos) >= limit:
                    return photos
        except csv.Error as error:
            raise ValueError(f"{name}:{reader.line_num}: unreadable TSV: {error}") from error
    if duplicates:
        warn(f"{duplicates} duplicate photo_id row(s) ignored")
    return photos


def image_request_url(
    image_url: str, width: int = DEFAULT_WIDTH, quality: int = DEFAULT_QUALITY
) -> str:
    """``photo_image_url`` with Unsplash's dynamic resize parameters (w, fm=jpg, q) set."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    parts = urlsplit(image_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if k not in {"w", "fm", "q"}]
    query += [("w", str(width)), ("fm", "jpg"), ("q", str(quality))]
    return urlunsplit(parts._replace(query=urlencode(query)))


# --------------------------------------------------------------------------------------------
# The download manifest


@dataclass
class DownloadRecord:
    photo_id: str
    url: str  # the URL fetched (with resize parameters)
    status: str  # "ok" or "failed"
    bytes: int = 0
    sha256: str = ""
    error: str = ""  # human-readable detail of the last failure
    reason: str = ""  # machine-readable failure class, a key of REASON_TEXT
    http_status: int = 0
    attempts: int = 0
    file: str = ""  # relative to the download folder, set when status is ok
    page_url: str = ""
    photographer: str = ""
    finished_at: str = ""  # UTC, ISO 8601


MANIFEST_FIELDS = tuple(f.name for f in fields(DownloadRecord))


def _record_from_row(row: dict[str, str]) -> DownloadRecord | None:
    try:
        record = DownloadRecord(
            **{
                name: (int(row.get(name) or 0) if name in {"bytes", "http_status", "attempts"}
                       else (row.get(name) or ""))
                for name in MANIFEST_FIELDS
            }
        )
    except (TypeError, ValueError):
        return None
    if record.status not in {"ok", "failed"} or not PHOTO_ID.match(record.photo_id):
        return None
    return record


def read_download_manifest(folder: str | os.PathLike) -> dict[str, DownloadRecord]:
    """photo_id -> latest record in ``folder/unsplash-manifest.tsv`` ({} when there is none).

    Rows are appended as photos finish, so the last row of a photo wins; a malformed row (a
    run killed mid-write) is ignored.
    """
    path = Path(folder) / MANIFEST_NAME
    records: dict[str, DownloadRecord] = {}
    if not path.is_file():
        return records
    with open(path, encoding="utf-8", newline="") as handle:
        try:
            for row in csv.DictReader(handle, delimiter="\t"):
                if None in row or None in row.values():
                    continue  # too many or too few cells: a torn or foreign row
                record = _record_from_row(row)
                if record is not None:
                    records[record.photo_id] = record
        except csv.Error:
            pass  # a torn last row; everything before it was read
    return records


def write_download_manifest(folder: str | os.PathLike, records: dict[str, DownloadRecord]) -> Path:
    """Write one row per photo, sorted by id, atomically (:func:`autocolor.atomic.atomic_write`)."""
    target = Path(folder) / MANIFEST_NAME
    with atomic_write(target, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=MANIFEST_FIELDS, delimiter="\t")
        writer.writeheader()
        for photo_id in sorted(records):
            writer.writerow(asdict(records[photo_id]))
    return target


class _ManifestJournal:
    """Appends one row per finished photo and flushes it, so a killed run loses nothing."""

    def __init__(self, folder: Path) -> None:
        path = folder / MANIFEST_NAME
        new = not path.exists() or path.stat().st_size == 0
        self._handle = open(path, "a", encoding="utf-8", newline="")  # noqa: SIM115
        self._writer = csv.DictWriter(self._handle, fieldnames=MANIFEST_FIELDS, delimiter="\t")
        if new:
            self._writer.writeheader()

    def append(self, record: DownloadRecord) -> None:
        self._writer.writerow(asdict(record))
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()


# --------------------------------------------------------------------------------------------
# Fetching


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. Delays are seconds; tests shrink them to milliseconds."""

    attempts: int = 6  # tries per photo, the first included
    timeout: float = 30.0  # per request: connect, headers and the whole body
    backoff_base: float = 1.0  # first retry waits about this long, then 2x, 4x, ...
    backoff_max: float = 60.0
    jitter: float = 0.5  # each delay is scaled by a random factor in [1 - jitter, 1]
    retry_after_max: float = 600.0  # cap on a server's Retry-After

    def delay(self, retry: int, rng: random.Random | None = None) -> float:
        """Backoff before retry number ``retry`` (1 for the first retry)."""
        base = min(self.backoff_max, self.backoff_base * 2 ** max(0, retry - 1))
        return base * (1.0 - self.jitter * (rng or random).random())


class _Cancelled(Exception):
    pass


class RateGate:
    """A gate every worker passes before each request; a 429 closes it for everyone."""

    def __init__(self, stop: threading.Event | None = None) -> None:
        self._lock = threading.Lock()
        self._open_at = 0.0  # time.monotonic() when the gate reopens
        self._stop = stop or threading.Event()
        self.pauses = 0

    def pause(self, seconds: float) -> None:
        with self._lock:
            self._open_at = max(self._open_at, time.monotonic() + max(0.0, seconds))
            self.pauses += 1

    def wait(self) -> float:
        """Block while the gate is closed; return the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                remaining = self._open_at - time.monotonic()
            if remaining <= 0:
                return waited
            if self._stop.wait(remaining):
                raise _Cancelled
            waited += remaining


class FetchError(Exception):
    def __init__(self, reason: str, message: str, *, retryable: bool, http_status: int = 0,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.retryable = retryable
        self.http_status = http_status
        self.retry_after = retry_after


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delay-seconds or an HTTP date); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def _fetch(opener, url: str, timeout: float) -> tuple[bytes, int]:
    """GET ``url``; return (body, status) or raise FetchError, classified for retrying."""
    import http.client
    import ssl
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        url, headers={"User-Agent": USER_AGENT, "Accept": "image/jpeg,image/*;q=0.8"}
    )
    deadline = time.monotonic() + timeout
    try:
        with opener.open(request, timeout=timeout) as response:
            status = response.status
            length = response.headers.get("Content-Length", "").strip()
            expected = int(length) if length.isdigit() else None
            content_type = response.headers.get_content_type()
            if expected is not None and expected > MAX_IMAGE_BYTES:
                raise FetchError("too_large", f"Content-Length {expected}", retryable=False)
            chunks: list[bytes] = []
            received = 0
            while chunk := response.read(1 << 16):
                received += len(chunk)
                chunks.append(chunk)
                if received > MAX_IMAGE_BYTES:
                    raise FetchError("too_large", f"more than {MAX_IMAGE_BYTES} bytes",
                                     retryable=False)
                if time.monotonic() > deadline:
                    raise FetchError("timeout", f"body not complete after {timeout:g} s",
                                     retryable=True)
    except FetchError:
        raise
    except http.client.IncompleteRead as error:
        raise FetchError("truncated", f"body ended early: {error!r}", retryable=True) from error
    except urllib.error.HTTPError as error:
        code = error.code
        retry_after = parse_retry_after(error.headers.get("Retry-After") if error.headers else None)
        error.close()
        message = f"HTTP {code} {error.reason}"
        if code == 404:
            raise FetchError(NOT_FOUND, message, retryable=False, http_status=code) from None
        if code == 429:
            raise FetchError("rate_limited", message, retryable=True, http_status=code,
                             retry_after=retry_after) from None
        if code >= 500 or code == 408:
            raise FetchError("http_5xx" if code >= 500 else "timeout", message, retryable=True,
                             http_status=code, retry_after=retry_after) from None
        raise FetchError("http_4xx", message, retryable=False, http_status=code) from None
    except TimeoutError as error:
        raise FetchError("timeout", f"timed out after {timeout:g} s", retryable=True) from error
    except urllib.error.URLError as error:
        cause = error.reason
        if isinstance(cause, TimeoutError):
            raise FetchError("timeout", f"timed out after {timeout:g} s",
                             retryable=True) from error
        permanent = isinstance(cause, ssl.SSLCertVerificationError) or not isinstance(
            cause, OSError)  # e.g. "unknown url type"
        raise FetchError("connection", str(cause), retryable=not permanent) from error
    except (http.client.HTTPException, ConnectionError, OSError) as error:
        raise FetchError("connection", f"{type(error).__name__}: {error}",
                         retryable=True) from error
    body = b"".join(chunks)
    if expected is not None and received != expected:
        raise FetchError("truncated", f"received {received} of {expected} bytes",
                         retryable=True, http_status=status)
    if content_type.startswith("text/"):
        raise FetchError("not_an_image", f"got {content_type} instead of an image",
                         retryable=False, http_status=status)
    return body, status


def _store_verified(body: bytes, target: Path) -> None:
    """Decode ``body`` fully (:func:`autocolor.images.load_rgb`: truncated data, non-images and
    pixel bombs fail), then write it to ``target`` through a hidden temporary name and a rename
    (:func:`autocolor.atomic.atomic_write`)."""
    from autocolor.images import ImageError, load_rgb

    try:
        if load_rgb(body, name=target.name).size == 0:
            raise FetchError("not_an_image", "empty image", retryable=False)
    except ImageError as error:
        raise FetchError("not_an_image", error.reason, retryable=False) from error
    with atomic_write(target) as handle:
        handle.write(body)


@dataclass
class _Context:
    opener: object
    out_dir: Path
    width: int
    quality: int
    policy: RetryPolicy
    gate: RateGate
    stop: threading.Event
    rng: random.Random = field(default_factory=random.Random)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _download_one(photo: PhotoRow, ctx: _Context) -> DownloadRecord:
    url = image_request_url(photo.image_url, ctx.width, ctx.quality)
    record = DownloadRecord(photo.photo_id, url, "failed", page_url=photo.page_url,
                            photographer=photo.photographer)
    target = ctx.out_dir / f"{photo.photo_id}.jpg"
    policy = ctx.policy
    try:
        while True:
            ctx.gate.wait()
            record.attempts += 1
            try:
                body, status = _fetch(ctx.opener, url, policy.timeout)
                _store_verified(body, target)
            except FetchError as error:
                record.reason, record.error = error.reason, str(error)
                record.http_status = error.http_status
                if not error.retryable or record.attempts >= policy.attempts:
                    break
                delay = policy.delay(record.attempts, ctx.rng)
                if error.retry_after is not None:
                    delay = min(max(delay, error.retry_after), policy.retry_after_max)
                if error.reason == "rate_limited":
                    ctx.gate.pause(delay)  # everyone waits, not just this worker
                elif ctx.stop.wait(delay):
                    raise _Cancelled from None
                continue
            record.status, record.reason, record.error = "ok", "", ""
            record.http_status, record.bytes = status, len(body)
            record.sha256 = hashlib.sha256(body).hexdigest()
            record.file = target.name
            break
    except _Cancelled:
        record.reason, record.error = "interrupted", "interrupted before it arrived"
    record.finished_at = _now()
    return record


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
                          finished_at=_now())


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
    ctx = _Context(urllib.request.build_opener(), out, width, quality, policy, gate, stop)
    journal = _ManifestJournal(out)
    bar = tqdm(total=len(todo), unit="photo", desc="unsplash", disable=not progress or None,
               dynamic_ncols=True)
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="unsplash")
    pending = {executor.submit(_download_one, photo, ctx) for photo in todo}

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
