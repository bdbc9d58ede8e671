"""Each detector fires on its own kind of damage and stays quiet on clean photos."""

from __future__ import annotations

import numpy as np
import pytest

from autocolor.restore.config import STEPS
from autocolor.restore.detect import (
    damaged,
    detect,
    detect_dust_and_scratches,
    detect_fading,
    detect_grain,
    detect_halftone,
    is_damaged,
)


@pytest.mark.parametrize("seed", range(4))
def test_nothing_fires_on_clean_photos(synth, seed: int) -> None:
    measured = detect(synth.clean_photo(seed))
    assert set(measured) == set(STEPS)
    assert damaged(measured) == [], measured


def test_a_flat_photo_is_clean() -> None:
    measured = detect(np.full((64, 80), 40.0, np.float32))
    assert damaged(measured) == []
    assert measured["grain"] == 0.0 and measured["dust"] == measured["scratches"] == 0.0


def test_fading(synth, photo) -> None:
    clean, faded = detect_fading(photo), detect_fading(synth.fade(photo))
    assert not is_damaged("fading", clean) and is_damaged("fading", faded)
    # Only one end moved (a dark photo with black blacks, or a hazy one): not fading.
    darker = photo * 0.6
    assert not is_damaged("fading", detect_fading(darker))


@pytest.mark.parametrize("size", [0.0, 0.8])
def test_grain_measures_the_noise_sigma(synth, photo, size: float) -> None:
    assert detect_grain(photo) < 1.0
    sigma = detect_grain(synth.add_grain(photo, 5.0, size=size))
    assert 4.0 < sigma < 6.5
    assert is_damaged("grain", sigma)
    assert not is_damaged("grain", detect_grain(synth.add_grain(photo, 1.0)))


def test_dust_and_scratches_are_told_apart(synth, photo) -> None:
    assert detect_dust_and_scratches(photo) == (0.0, 0.0)
    dusty, specks = synth.add_dust(photo, 30)
    dust, scratches = detect_dust_and_scratches(dusty)
    assert is_damaged("dust", dust) and not is_damaged("scratches", scratches)
    assert dust == pytest.approx(specks.mean(), rel=0.5)
    scratched, lines = synth.add_scratches(photo, 3)
    dust, scratches = detect_dust_and_scratches(scratched)
    assert is_damaged("scratches", scratches) and not is_damaged("dust", dust)
    assert scratches == pytest.approx(lines.mean(), rel=0.5)


def test_halftone(synth, photo) -> None:
    assert not is_damaged("halftone", detect_halftone(photo))
    for period, angle in [(4.0, 45.0), (6.0, 30.0)]:
        assert is_damaged("halftone", detect_halftone(synth.halftone(photo, period, angle)))
    # One sharp grating (a fence, a shirt's stripes) has no partner at 90 degrees: no screen.
    x = np.arange(photo.shape[1], dtype=np.float32)
    striped = np.clip(photo + 10 * np.sin(2 * np.pi * x / 5.0)[None, :], 0, 100)
    assert not is_damaged("halftone", detect_halftone(striped))
