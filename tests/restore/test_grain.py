"""Grain: the noise sigma is measured, and smoothed away keeping edges."""

from __future__ import annotations

import numpy as np
import pytest

from autocolor.restore.grain import grain_coverage, noise_levels, noise_sigma, restore_grain


@pytest.mark.parametrize("sigma", [2.0, 5.0, 8.0])
def test_the_estimate_follows_white_noise(synth, photo, sigma: float) -> None:
    assert noise_sigma(synth.add_grain(photo, sigma)) == pytest.approx(sigma, rel=0.2)


@pytest.mark.parametrize("sigma", [2.0, 5.0])
def test_grain_everywhere_reads_the_same_at_every_percentile(synth, photo, sigma: float) -> None:
    level, coverage = noise_levels(synth.add_grain(photo, sigma))
    assert coverage == pytest.approx(sigma, rel=0.25)
    assert coverage <= level
    assert noise_levels(photo, (25.0,)) == (noise_sigma(photo),)


def test_texture_over_part_of_the_photo_is_not_grain(synth, photo) -> None:
    """Fine texture (a lawn, foliage) over most of a clean photo reads as noise at the quieter
    blocks' level, but film grain covers all of it: the quietest tenth of the blocks holds none."""
    textured = photo.copy()
    columns = int(photo.shape[1] * 0.85)
    textured[:, :columns] = synth.add_grain(photo, 6.0)[:, :columns]
    assert noise_sigma(textured) > 4.0  # the 25th percentile falls in the texture
    assert grain_coverage(textured) < 1.0  # the 10th does not
    assert grain_coverage(synth.add_grain(photo, 6.0)) > 4.0


def test_tiny_and_flat_photos() -> None:
    assert noise_sigma(np.full((40, 50), 30.0, np.float32)) == 0.0
    assert noise_sigma(np.full((3, 3), 30.0, np.float32)) == 0.0
    assert noise_sigma(np.zeros((64, 64), np.float32)) == 0.0  # all clipped black
    assert noise_levels(np.full((3, 3), 30.0, np.float32)) == (0.0, 0.0)


@pytest.mark.parametrize("size", [0.0, 0.8])
def test_denoising_raises_psnr_and_keeps_edges(synth, photo, size: float) -> None:
    grainy = synth.add_grain(photo, 5.0, size=size)
    restored = restore_grain(grainy, noise_sigma(grainy))
    assert restored.dtype == np.float32 and restored.shape == photo.shape
    assert synth.psnr(photo, restored) > synth.psnr(photo, grainy) + 2.0
    # A sharp step keeps most of its contrast.
    step = np.full((64, 64), 20.0, np.float32)
    step[:, 32:] = 80.0
    kept = restore_grain(synth.add_grain(step, 5.0), 5.0)
    assert kept[:, 34:].mean() - kept[:, :30].mean() > 55.0


def test_bad_sigma(photo) -> None:
    with pytest.raises(ValueError, match="sigma"):
        restore_grain(photo, -1.0)
    assert np.array_equal(restore_grain(photo, 0.0), photo)
