"""Halftone: the screen is found in the spectrum and notched out."""

from __future__ import annotations

import numpy as np
import pytest

from autocolor.restore.halftone import Screen, find_screen, remove_halftone


@pytest.mark.parametrize("period,angle", [(4.0, 45.0), (5.0, 45.0), (6.0, 30.0)])
def test_the_screen_is_found_and_removed(synth, photo, period: float, angle: float) -> None:
    printed = synth.halftone(photo, period, angle)
    screen = find_screen(printed)
    assert screen.strength > 10 and screen.peaks
    assert 1 / screen.frequency == pytest.approx(period, rel=0.1)
    assert all(fx >= 0 for _, fx in screen.peaks)
    restored = remove_halftone(printed, screen)
    assert restored.dtype == np.float32 and restored.shape == photo.shape
    assert synth.psnr(photo, restored) > synth.psnr(photo, printed) + 10.0
    assert find_screen(restored).strength < screen.strength / 4


def test_no_screen_on_clean_photos(photo) -> None:
    screen = find_screen(photo)
    assert screen.strength < 3
    assert np.array_equal(remove_halftone(photo, Screen(1.0, (), 0)), photo)
    assert find_screen(np.zeros((20, 300), np.float32)).tile == 0  # too small to tell
