"""The corpus's source lists: parsing, and the committed lists themselves."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from autocolor.data.sources import (
    DEFAULT_PHOTOS,
    DEFAULT_STAMPS,
    PHOTO_FIELDS,
    STORAGES,
    SUBJECTS,
    read_sources,
)

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "corpus" / "debian-photos.tsv"
# Kept for independent evaluation: never a source of the corpus (see the project's brief).
RESERVED_PACKAGES = ("lomiri-wallpapers", "opencv-doc")


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, PHOTO_FIELDS, delimiter="\t")
        writer.writeheader()
        writer.writerows(rows)
    return path


def _row(**changes: str) -> dict[str, str]:
    row = {"storage": "deb", "package": "p", "version": "1", "member": "usr/share/p/a.jpg",
           "sha256": "ab" * 32, "license": "GPL-2+", "rotation": "90", "subject": "animal",
           "group": "", "width": "640", "height": "480"}
    return {**row, **changes}


def test_a_row_is_parsed_with_types(tmp_path: Path) -> None:
    [source] = read_sources(_write(tmp_path / "s.tsv", [_row(sha256="AB" * 32)]))
    assert source.rotation == 90 and source.width == 640 and source.subject == "animal"
    assert source.sha256 == "ab" * 32, "hashes are compared in lower case"
    assert source.name == "p:usr/share/p/a.jpg"


@pytest.mark.parametrize(("field", "value", "message"), [
    ("storage", "zip", "unknown storage"), ("subject", "robot", "unknown subject"),
    ("sha256", "abc", "sha256 must be 64 hex digits")])
def test_bad_rows_are_refused_with_the_line(tmp_path: Path, field: str, value: str,
                                            message: str) -> None:
    path = _write(tmp_path / "s.tsv", [_row(), _row(**{field: value})])
    with pytest.raises(ValueError, match=f"s.tsv:3: {message}"):
        read_sources(path)


def test_committed_photo_list() -> None:
    photos = read_sources(REPO / DEFAULT_PHOTOS)
    assert len(photos) == len({p.sha256 for p in photos}) >= 380, "one row per distinct photo"
    assert {p.storage for p in photos} <= set(STORAGES) and {p.subject for p in photos} <= set(SUBJECTS)
    assert all(p.license for p in photos)
    for photo in photos:
        assert not photo.package.startswith(RESERVED_PACKAGES), photo.name
    text = (REPO / DEFAULT_PHOTOS).read_text(encoding="utf-8")
    assert "lomiri" not in text and "opencv" not in text
    assert sum(p.subject == "people" for p in photos) >= 25


def test_black_and_white_photos_are_no_training_source() -> None:
    """data/sources/bw-photos.tsv (the restoration figure's real B/W photos) lists photos the
    corpus leaves out: none of them is in the training list."""
    bw = read_sources(REPO / "data" / "sources" / "bw-photos.tsv")
    photos = {p.sha256 for p in read_sources(REPO / DEFAULT_PHOTOS)}
    assert bw and all(p.license for p in bw)
    assert not {p.sha256 for p in bw} & photos
    assert not any(p.package.startswith(RESERVED_PACKAGES) for p in bw)


def test_committed_stamp_list() -> None:
    stamps = read_sources(REPO / DEFAULT_STAMPS)
    assert len(stamps) == len({s.sha256 for s in stamps}) > 100
    assert {s.package for s in stamps} == {"tuxpaint-stamps-default"}


@pytest.mark.skipif(not SHARED.is_file(), reason="../shared is not on user machines")
def test_every_vetted_photo_is_listed() -> None:
    with open(SHARED, encoding="utf-8", newline="") as handle:
        vetted = {r["sha256"] for r in csv.DictReader(handle, delimiter="\t") if r["keep"] == "yes"}
    listed = {p.sha256 for p in read_sources(REPO / DEFAULT_PHOTOS)}
    assert len(vetted) == 360
    assert vetted <= listed
