"""The corpus split: by photo, stratified, order-free, groups kept together."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from autocolor.data.sources import DEFAULT_PHOTOS, Source, read_sources
from autocolor.data.split import PERIOD, stratified_splits

REPO = Path(__file__).resolve().parents[2]


def _source(index: int, package: str = "p", subject: str = "animal", group: str = "") -> Source:
    sha = f"{(index * 2654435761) % 2**64:016x}" * 4
    return Source("deb", package, "1", f"f{index}.jpg", sha, "GPL", subject=subject, group=group)


def test_order_free_and_deterministic() -> None:
    photos = [_source(i, package=f"p{i % 3}", subject=("animal", "people")[i % 2])
              for i in range(100)]
    assert stratified_splits(photos) == stratified_splits(list(reversed(photos)))


def test_every_stratum_gives_its_share() -> None:
    photos = [_source(i, package=package, subject=subject)
              for i, (package, subject) in enumerate(
                  [(p, s) for p in ("a", "b") for s in ("animal", "people") for _ in range(24)])]
    splits = stratified_splits(photos)
    for package in ("a", "b"):
        for subject in ("animal", "people"):
            counts = Counter(splits[p.sha256] for p in photos
                             if p.package == package and p.subject == subject)
            assert counts["val"] == counts["test"] == 24 // PERIOD, (package, subject, counts)


def test_a_group_lands_in_one_split() -> None:
    photos = [_source(i) for i in range(40)] + [_source(100 + i, group="g") for i in range(3)]
    splits = stratified_splits(photos)
    assert len({splits[p.sha256] for p in photos if p.group == "g"}) == 1


def test_committed_list_has_enough_real_val_and_test_photos() -> None:
    photos = read_sources(REPO / DEFAULT_PHOTOS)
    splits = stratified_splits(photos)
    counts = Counter(splits.values())
    assert counts["val"] >= 40 and counts["test"] >= 40
    for group in {p.group for p in photos if p.group}:
        assert len({splits[p.sha256] for p in photos if p.group == group}) == 1, group
    # every subject is represented in both held-out splits
    for subject in {p.subject for p in photos if p.subject != "food"}:
        held = Counter(splits[p.sha256] for p in photos if p.subject == subject)
        assert held["val"] and held["test"], subject
