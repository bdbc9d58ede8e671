"""Grain: the noise sigma is measured, and smoothed away keeping edges."""

from __future__ import annotations

import numpy as np
import pytest

from autocolor.restore.grain import noise_sigma, restore_grain


@pytest.mark.parametrize("sigma", [2.0, 5.0, 8.0])
def test_the_estimate_follows_white_noise(synth, photo, sigma: float) -> None:
    assert noise_sigma(synth.add_grain(photo, sigma)) == pytest.approx(sigma, rel=0.2)


def test_tiny_and_flat_photos() -> None:
    assert noise_sigma(np.full((40, 50), 30.0, np.float32)) == 0.0
    assert noise_sigma(np.full((3, 3), 30.0, np.float32)) == 0.0
    assert noise_sigma(np.zeros((64, 64), np.float32)) == 0.0  # all clipped black


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
