"""Train / val / test split of the corpus's real photos: by photo, stratified, deterministic.

Validation and test must each hold enough real photos to choose and to report on (at least 40),
spread over every source and subject like the whole corpus. Systematic sampling does that
without randomness: order the photos by stratum (package, subject), then by hash, and send every
``PERIOD``-th photo from position ``VAL_PHASE`` to val and from ``TEST_PHASE`` to test. Each
stratum of n photos gives about n / PERIOD to each of val and test; the phase carries over from
one stratum to the next, so small strata share the draws fairly.

Photos of one scene (a ``group`` in the source list) move as one unit: the unit is placed where
its first photo would be, and all its photos take that split.
"""

from __future__ import annotations

from collections.abc import Iterable

from autocolor.data.sources import Source

PERIOD = 8  # 1/8 to val and 1/8 to test: about 48 of 387 photos each
VAL_PHASE = 3
TEST_PHASE = 7


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
