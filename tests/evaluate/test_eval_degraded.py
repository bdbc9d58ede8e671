"""``autocolor eval --degraded``: old-print copies scored on the colour alone."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from autocolor.evaluate import evaluate_folder
from autocolor.evaluate.evaluator import ab_shift, degraded_lightness
from autocolor.evaluate.metrics import rgb_to_lab_u8
from autocolor.evaluate.photos import load_rgb
from autocolor.evaluate.reference import GrayColorizer


class ConstantColorizer(GrayColorizer):
    """The same ab everywhere, whatever the lightness: damage cannot move it."""

    def colorize_lightness(self, lightness: np.ndarray) -> np.ndarray:
        ab = np.empty((*lightness.shape, 2), np.float32)
        ab[..., 0], ab[..., 1] = 12.0, -20.0
        return ab


class LightnessColorizer(GrayColorizer):
    """a grows with the lightness: damage to the lightness moves it."""

    def colorize_lightness(self, lightness: np.ndarray) -> np.ndarray:
        return np.stack([0.5 * (lightness - 50), np.zeros_like(lightness)], -1).astype(np.float32)

    def colorize_lightness_batch(self, lightness: Sequence[np.ndarray]) -> list[np.ndarray]:
        self.batches.append(len(lightness))
        return [self.colorize_lightness(item) for item in lightness]


def test_colour_alone_equals_clean_when_the_damage_cannot_move_ab(photo_folder: Path) -> None:
    result = evaluate_folder(ConstantColorizer(), photo_folder, progress=False, degraded="eval")
    for row in result["images"]:
        assert row["degraded"]["ours"] == row["ours"]  # the original's L with the same ab
        assert row["degraded"]["ab_shift"] == 0.0
    old = result["summary"]["degraded"]
    assert old["delta"] == result["summary"]["delta"]
    assert old["ab_shift"] == 0.0
    assert result["settings"]["degraded"] == "eval"


def test_ab_shift_is_the_mean_distance_the_damage_moves_ab(photo_folder: Path) -> None:
    colorizer = LightnessColorizer()
    result = evaluate_folder(colorizer, photo_folder, progress=False, degraded="eval",
                             batch_size=8)
    assert colorizer.batches == [6]  # clean and damaged lightness in one call
    row = next(r for r in result["images"] if r["file"] == "a.png")
    rgb = load_rgb(photo_folder / "a.png")
    clean = rgb_to_lab_u8(rgb)[..., 0]
    damaged = degraded_lightness("a.png", rgb, "eval", 0)
    assert np.abs(damaged - clean).mean() > 2  # the copy is damaged
    expected = np.abs(0.5 * (damaged - clean)).mean()  # |delta a|, b = 0 in both
    assert row["degraded"]["ab_shift"] == pytest.approx(expected, rel=1e-4)
    assert result["summary"]["degraded"]["ab_shift"] == pytest.approx(
        np.mean([r["degraded"]["ab_shift"] for r in result["images"]]))
    assert row["degraded"]["ours"] != row["ours"]


def test_copies_are_fixed_by_seed_and_name(photo_folder: Path) -> None:
    rgb = load_rgb(photo_folder / "a.png")
    first = degraded_lightness("a.png", rgb, "eval", 0)
    assert np.array_equal(first, degraded_lightness("a.png", rgb, "eval", 0))
    assert not np.array_equal(first, degraded_lightness("a.png", rgb, "eval", 1))
    assert not np.array_equal(first, degraded_lightness("b.png", rgb, "eval", 0))
    with pytest.raises(ValueError, match="unknown degradation preset"):
        degraded_lightness("a.png", rgb, "nope", 0)


def test_ab_shift_of_known_arrays() -> None:
    ab = np.zeros((2, 2, 2), np.float32)
    moved = ab.copy()
    moved[0, 0] = (3, 4)  # 5 units at one of 4 pixels
    assert ab_shift(moved, ab) == pytest.approx(1.25)


def test_restore_colours_the_restored_lightness(photo_folder: Path, monkeypatch) -> None:
    """--restore: what the colorizer sees is each input, clean and old, restored first (here a
    stand-in restoration that halves the contrast), so the ab shift is that of the restored
    copies."""
    import autocolor.restore as restore

    seen = []

    def halve(lightness, steps="auto"):
        seen.append(steps)
        return restore.Restored(0.5 * lightness + 25, np.zeros(lightness.shape, bool), ["fading"])

    monkeypatch.setattr(restore, "restore_lightness", halve)
    result = evaluate_folder(LightnessColorizer(), photo_folder, progress=False,
                             degraded="eval", restore=True)
    assert result["settings"]["restore"] is True
    assert seen == ["auto"] * 2 * len(result["images"])  # every input, clean and old
    row = next(r for r in result["images"] if r["file"] == "a.png")
    rgb = load_rgb(photo_folder / "a.png")
    clean = rgb_to_lab_u8(rgb)[..., 0]
    damaged = degraded_lightness("a.png", rgb, "eval", 0)
    expected = np.abs(0.25 * (damaged - clean)).mean()  # half the lightness step, a = 0.5 L
    assert row["degraded"]["ab_shift"] == pytest.approx(expected, rel=1e-4)
