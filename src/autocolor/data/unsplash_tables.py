"""The two tables of an Unsplash download (``autocolor data unsplash``, ``data/unsplash.py``):
the data set's photos table, read (:func:`read_photos`), and the download manifest
``OUT/unsplash-manifest.tsv``, read and written (:func:`read_download_manifest`,
:func:`write_download_manifest`, :class:`ManifestJournal`); ``autocolor data prepare`` reads the
manifest too.

Importing this module is cheap (no torch, NumPy or PIL).
"""

from __future__ import annotations

import csv
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, TextIO

from autocolor.atomic import atomic_write

MANIFEST_NAME = "unsplash-manifest.tsv"
LICENSE = "Unsplash License (Unsplash Dataset Lite)"

TABLE_NAME = re.compile(r"^photos\.tsv\d*$")
PHOTO_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # used as a file name: no separators, no dots


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


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


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
    reason: str = ""  # machine-readable failure class, a key of unsplash_fetch.REASON_TEXT
    http_status: int = 0
    attempts: int = 0
    file: str = ""  # relative to the download folder, set when status is ok
    page_url: str = ""
    photographer: str = ""
    finished_at: str = ""  # UTC, ISO 8601


MANIFEST_FIELDS = tuple(f.name for f in fields(DownloadRecord))


def _record_from_row(row: dict[str, str]) -> DownloadRecord | None:
    try:
        values: dict[str, Any] = {
            name: (int(row.get(name) or 0) if name in {"bytes", "http_status", "attempts"}
                   else (row.get(name) or ""))
            for name in MANIFEST_FIELDS
        }
        record = DownloadRecord(**values)
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


class ManifestJournal:
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


def utc_now() -> str:
    """The time now as the manifest's ``finished_at`` holds it (UTC, ISO 8601)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
