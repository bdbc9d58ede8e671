"""FilmRestorer: the steps decided once per clip, the levels following the clip slowly."""

from __future__ import annotations

import numpy as np

from autocolor.restore import restore_lightness
from autocolor.restore.fading import levels
from autocolor.restore.film import LEVELS_WEIGHT, FilmRestorer


def test_the_steps_are_decided_on_the_first_frame(synth, photo) -> None:
    first = synth.add_dust(synth.fade(photo), 40, seed=1)[0]
    first = synth.add_scratches(first, 2)[0]
    restorer = FilmRestorer()
    out = restorer(first)
    steps = restore_lightness(first).ran
    assert restorer.steps == tuple(steps) and {"dust", "fading"} <= set(steps)
    assert synth.psnr(photo, out) > synth.psnr(photo, first) + 3.0
    # A later frame runs the same steps even where it alone would not be taken for old: its
    # dust moved, and it is restored as the shot is.
    second = synth.add_dust(synth.fade(photo), 3, seed=2)[0]
    restorer(second)
    assert restorer.steps == tuple(steps) and restorer.frames == 2
    assert restorer.ran["fading"] == 2 and restorer.ran["dust"] == 2


def test_a_clean_clip_is_left_alone(synth) -> None:
    restorer = FilmRestorer()
    frames = [synth.clean_photo(seed) for seed in range(3)]
    assert all(restorer(frame) is frame for frame in frames)
    assert restorer.steps == () and restorer.summary() == "no damage found"


def test_levels_follow_the_clip_slowly(synth, photo) -> None:
    """A frame whose own levels jump (a flash, a bright sky coming into view) moves the clip's
    stretch by only LEVELS_WEIGHT of the jump: no flicker."""
    restorer = FilmRestorer("fading")
    faded = synth.fade(photo)
    restorer(faded)
    before = restorer._levels
    brighter = np.clip(faded + 10, 0, 100)
    restorer(brighter)
    after = restorer._levels
    jump = np.subtract(levels(brighter), levels(faded))
    np.testing.assert_allclose(np.subtract(after, before), LEVELS_WEIGHT * jump, rtol=1e-5)
    assert restorer.summary() == "fading 2"


def test_a_frame_is_coloured_from_its_levels_before_the_stretch(synth, photo) -> None:
    restorer = FilmRestorer("grain,fading")
    frame = synth.add_grain(synth.fade(photo), 4.0)
    out, coloured = restorer.restore(frame)
    assert np.array_equal(coloured, restore_lightness(frame, ["grain"]).lightness)
    assert not np.array_equal(out, coloured)
    plain = FilmRestorer("grain")
    out, coloured = plain.restore(frame)
    assert coloured is out
