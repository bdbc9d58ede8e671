"""The corpus split: by photo, stratified, order-free, groups kept together."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from autocolor.data.sources import DEFAULT_PHOTOS, Source, read_sources
from autocolor.data.split import (
    DEFAULT_HOLDOUT,
    PERIOD,
    Holdout,
    corpus_splits,
    read_holdouts,
    stratified_splits,
)

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


def _holdouts() -> list[Holdout]:
    return [Holdout("val", "held"), Holdout("test-oos", "q", "usr/share/q/activity-b")]


def test_holdouts_take_whole_sources_and_keep_the_in_source_test_split() -> None:
    photos = [_source(i, package=("p", "held")[i % 2]) for i in range(64)]
    photos += [Source("deb", "q", "1", f"usr/share/q/activity-{kind}/{i}.jpg",
                      f"{ord(kind) * 100 + i:064x}", "GPL") for kind in "ab" for i in range(8)]
    inner = stratified_splits(photos)
    splits = corpus_splits(photos, _holdouts())
    for photo in photos:
        if photo.package == "held":
            assert splits[photo.sha256] == "val"
        elif photo.member.startswith("usr/share/q/activity-b"):
            assert splits[photo.sha256] == "test-oos"
        else:  # in-source: test as before, the in-source val photos train
            assert splits[photo.sha256] == ("test" if inner[photo.sha256] == "test" else "train")
    assert Counter(splits.values())["val"] == 32


def test_without_a_val_holdout_the_in_source_val_stays() -> None:
    photos = [_source(i) for i in range(48)]
    assert corpus_splits(photos, []) == stratified_splits(photos)


def test_a_photo_held_out_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="held out for both"):
        corpus_splits([_source(1, package="held")],
                      [Holdout("val", "held"), Holdout("test-oos", "held")])


def test_committed_holdout_list() -> None:
    """The default corpus chooses on >= 60 photos of sources training never sees, and tests
    on both in-source and out-of-source photos; groups never straddle splits."""
    photos = read_sources(REPO / DEFAULT_PHOTOS)
    holdouts = read_holdouts(REPO / DEFAULT_HOLDOUT)
    splits = corpus_splits(photos, holdouts)
    counts = Counter(splits.values())
    assert counts["val"] >= 60 and counts["test-oos"] >= 40 and counts["test"] >= 25
    assert all(any(h.holds(p) for p in photos) for h in holdouts), "a hold-out matches nothing"
    train_sources = {(p.package, p.member.split("#")[0]) for p in photos
                     if splits[p.sha256] == "train"}
    for photo in photos:
        if splits[photo.sha256] in ("val", "test-oos"):
            assert (photo.package, photo.member.split("#")[0]) not in train_sources, photo.name
    for group in {p.group for p in photos if p.group}:
        assert len({splits[p.sha256] for p in photos if p.group == group}) == 1, group


def test_bad_holdout_split_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "holdout.tsv"
    path.write_text("split\tpackage\tmember_prefix\twhy\ntrain\tp\t\tx\n", encoding="utf-8")
    with pytest.raises(ValueError, match="holdout.tsv:2"):
        read_holdouts(path)
