"""Train / val / test split of the corpus's real photos: by photo, stratified, deterministic.

Validation and test must each hold enough real photos to choose and to report on (at least 40),
spread over every source and subject like the whole corpus. Systematic sampling does that
without randomness: order the photos by stratum (package, subject), then by hash, and send every
``PERIOD``-th photo from position ``VAL_PHASE`` to val and from ``TEST_PHASE`` to test. Each
stratum of n photos gives about n / PERIOD to each of val and test; the phase carries over from
one stratum to the next, so small strata share the draws fairly.

Photos of one scene (a ``group`` in the source list) move as one unit: the unit is placed where
its first photo would be, and all its photos take that split.

The default corpus (:func:`corpus_splits`) also holds out whole sources (packages, or one
activity's resource file of a package), listed in ``data/sources/holdout.tsv``: the validation
split on which every design and the decoding are chosen is made of sources that training never
sees, and so is a second test split (``test-oos``). Photos users colour come from elsewhere, and
a validation split that shares packages, scenes and photographers with training flatters: on
photos from other sources the gain over gray was half of what the in-source split said.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from autocolor.data.sources import Source

PERIOD = 8  # 1/8 to val and 1/8 to test: about 48 of 387 photos each
VAL_PHASE = 3
TEST_PHASE = 7
# Whole sources held out of training (data, not code): out-of-source validation and test.
DEFAULT_HOLDOUT = Path("data/sources/holdout.tsv")
HOLDOUT_SPLITS = ("val", "test-oos")


@dataclass(frozen=True)
class Holdout:
    split: str  # one of HOLDOUT_SPLITS
    package: str
    member_prefix: str = ""  # "" = the whole package; else the members starting so
    why: str = ""  # what the source shows (informative)

    def holds(self, photo: Source) -> bool:
        return photo.package == self.package and photo.member.startswith(self.member_prefix)


def read_holdouts(path: str | Path = DEFAULT_HOLDOUT) -> list[Holdout]:
    """Parse the hold-out list; raises ValueError naming the row for an unknown split."""
    holdouts = []
    with open(path, encoding="utf-8", newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle, delimiter="\t"), start=2):
            if row["split"] not in HOLDOUT_SPLITS:
                raise ValueError(f"{path}:{line}: split must be one of {HOLDOUT_SPLITS}")
            holdouts.append(Holdout(row["split"], row["package"], row.get("member_prefix") or "",
                                    row.get("why") or ""))
    return holdouts


def corpus_splits(photos: Iterable[Source], holdouts: Iterable[Holdout]) -> dict[str, str]:
    """sha256 -> "train" | "val" | "test" | "test-oos" for the default corpus.

    - A photo of a held-out source takes its hold-out's split (``val``: out-of-source
      validation, where everything is chosen; ``test-oos``: out-of-source test).
    - Otherwise the in-source test split is :func:`stratified_splits`' test over *all* photos,
      so it is the same 48-photo test split earlier models were scored on, less the held-out
      sources' photos; every other photo trains, the in-source validation photos too when a
      source is held out for ``val`` (nothing is chosen in-source then); without one they stay
      ``val``.
    """
    photos, holdouts = list(photos), list(holdouts)
    inner = stratified_splits(photos)
    in_source_val = "train" if any(h.split == "val" for h in holdouts) else "val"
    splits = {}
    for photo in photos:
        held = sorted({h.split for h in holdouts if h.holds(photo)})
        if len(held) > 1:
            raise ValueError(f"{photo.name} is held out for both {' and '.join(held)}")
        if held:
            splits[photo.sha256] = held[0]
        elif inner[photo.sha256] == "val":
            splits[photo.sha256] = in_source_val
        else:
            splits[photo.sha256] = inner[photo.sha256]
    return splits


def stratified_splits(photos: Iterable[Source], period: int = PERIOD, val_phase: int = VAL_PHASE,
                      test_phase: int = TEST_PHASE) -> dict[str, str]:
    """sha256 -> "train" | "val" | "test" for every photo.

    Depends only on the photos' packages, subjects, groups and hashes, not on their order.
    """
    if not (0 <= val_phase < period and 0 <= test_phase < period and val_phase != test_phase):
        raise ValueError("phases must be distinct and in [0, period)")
    units: dict[str, list[Source]] = {}
    for photo in photos:
        units.setdefault(photo.group or photo.sha256, []).append(photo)
    ordered = sorted(units.values(), key=_unit_key)
    splits = {}
    for position, unit in enumerate(ordered):
        phase = position % period
        split = "val" if phase == val_phase else "test" if phase == test_phase else "train"
        for photo in unit:
            splits[photo.sha256] = split
    return splits


def _unit_key(unit: list[Source]) -> tuple[str, str, str]:
    first = min(unit, key=lambda photo: photo.sha256)
    return first.package, first.subject, first.sha256
