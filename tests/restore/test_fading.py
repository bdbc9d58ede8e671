"""Fading: the levels come back, never clipping more than the percentiles' share."""

from __future__ import annotations

import numpy as np
import pytest

from autocolor.restore.config import RestoreConfig
from autocolor.restore.fading import fading_level, levels, levels_curve, restore_fading, stretch


def test_levels_are_robust_percentiles(photo) -> None:
    low, high = levels(photo)
    assert low == pytest.approx(np.percentile(photo, 0.5), abs=0.5)
    assert high == pytest.approx(np.percentile(photo, 99.5), abs=0.5)
    assert fading_level(np.full((8, 8), 50.0, np.float32)) == pytest.approx(100.0)


def test_restoring_a_faded_print_raises_psnr(synth, photo) -> None:
    faded = synth.fade(photo)
    before = synth.psnr(photo, faded)
    restored = restore_fading(faded)
    assert restored.dtype == np.float32 and restored.shape == photo.shape
    assert synth.psnr(photo, restored) > before + 5.0
    assert fading_level(restored) < fading_level(faded) / 2


@pytest.mark.parametrize("strength", [0.75, 1.0])
def test_never_clips_more_than_the_tails(synth, photo, strength: float) -> None:
    config = RestoreConfig(fading_strength=strength, clahe_weight=0.0)
    out = stretch(synth.fade(photo), config)
    clipped = np.mean((out <= 0.0) | (out >= 100.0))
    assert clipped <= (config.low_percentile + 100 - config.high_percentile) / 100


def test_the_curve_only_ever_stretches() -> None:
    config = RestoreConfig()
    grid, curve = levels_curve(1.0, 99.0, config)  # already deeper than the targets
    assert np.allclose(grid, curve, atol=0.05)
    grid, curve = levels_curve(20.0, 80.0, config)
    assert np.all(np.diff(curve) >= 0)  # monotone
    assert np.interp(20.0, grid, curve) < 20.0 and np.interp(80.0, grid, curve) > 80.0
    _, capped = levels_curve(49.0, 51.0, RestoreConfig(max_gain=2.0))  # a gray card
    assert np.interp(51.0, grid, capped) - np.interp(49.0, grid, capped) < 2 * 2.0 + 0.5


def test_clahe_is_gentle(synth, photo) -> None:
    """Off by default; asked for, it moves the levels' result a little."""
    faded = synth.fade(photo)
    plain = restore_fading(faded, RestoreConfig(clahe_weight=0.0))
    assert np.array_equal(restore_fading(faded), plain)
    gentle = restore_fading(faded, RestoreConfig(clahe_weight=0.25))
    difference = np.abs(gentle - plain)
    assert 0 < difference.mean() < 3.0
