"""The corpus's source lists: data files, read here, fetched by :mod:`autocolor.data.fetch`.

``data/sources/photos.tsv`` lists every real colour photo of the default corpus, each judged by
eye; ``data/sources/stamps.tsv`` the photographic Tux Paint cut-outs used for composites. One row
per file, tab-separated, UTF-8, columns :data:`PHOTO_FIELDS` (stamps: the first six):

- ``storage``: how to get the bytes. ``deb``: a plain file inside a Debian package
  (``apt-get download``, then ``dpkg-deb -x``); ``rcc``: a blob inside a Qt resource file of a
  package, ``member`` = ``FILE.rcc#OFFSET:PATH-IN-RCC`` with the blob's big-endian 4-byte length
  just before OFFSET; ``library``: a sample file of an installed Python distribution, ``member``
  relative to site-packages.
- ``sha256``: of the file's (blob's) bytes, verified on every fetch.
- ``rotation``: degrees clockwise to show the photo upright (on top of EXIF orientation).
- ``subject``: animal, building, food, landscape, object, people or other (the split is
  stratified by it, and evaluation reports people apart).
- ``group``: photos of one scene or shoot (the same monument at two sizes, one evening's
  snapshots) share a group name, so that they land in one split.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, fields
from pathlib import Path

STORAGES = ("deb", "rcc", "library")
SUBJECTS = ("animal", "building", "food", "landscape", "object", "people", "other")
# The default source lists, beside the repository's data/ folder (not inside the package: they
# are inputs of `make corpus`, not of inference).
DEFAULT_PHOTOS = Path("data/sources/photos.tsv")
DEFAULT_STAMPS = Path("data/sources/stamps.tsv")


@dataclass(frozen=True)
class Source:
    storage: str  # one of STORAGES
    package: str  # Debian package or Python distribution
    version: str  # the version the row was judged on (a newer one is fine if the hash matches)
    member: str  # where inside the package (see the module docstring)
    sha256: str
    license: str
    rotation: int = 0  # degrees clockwise
    subject: str = "other"
    group: str = ""  # photos of one scene or shoot share a group, and so a split ("" = alone)
    width: int = 0  # as judged (informative)
    height: int = 0

    @property
    def name(self) -> str:
        """``package:member``, the row's identity in messages and cache records."""
        return f"{self.package}:{self.member}"


PHOTO_FIELDS = tuple(f.name for f in fields(Source))
STAMP_FIELDS = PHOTO_FIELDS[:6]  # storage .. license


def read_sources(path: str | Path) -> list[Source]:
    """Parse a sources TSV; raises ValueError naming the row for a bad storage or subject."""
    sources = []
    with open(path, encoding="utf-8", newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle, delimiter="\t"), start=2):
            if row["storage"] not in STORAGES:
                raise ValueError(f"{path}:{line}: unknown storage {row['storage']!r}")
            subject = row.get("subject") or "other"
            if subject not in SUBJECTS:
                raise ValueError(f"{path}:{line}: unknown subject {subject!r}")
            if len(row["sha256"]) != 64:
                raise ValueError(f"{path}:{line}: sha256 must be 64 hex digits")
            sources.append(Source(
                storage=row["storage"], package=row["package"], version=row["version"],
                member=row["member"], sha256=row["sha256"].lower(), license=row["license"],
                rotation=int(row.get("rotation") or 0), subject=subject,
                group=row.get("group") or "",
                width=int(row.get("width") or 0), height=int(row.get("height") or 0)))
    return sources
