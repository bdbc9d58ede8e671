"""restore_lightness: auto runs what is found and nothing on a clean photo; named steps run."""

from __future__ import annotations

import numpy as np
import pytest

from autocolor.restore import AUTO, STEPS, Restored, parse_steps, restore_lightness
from autocolor.restore.damage import grow


def test_parse_steps() -> None:
    assert parse_steps("auto") is None and parse_steps(AUTO) is None
    assert parse_steps("fading, dust") == ("dust", "fading")  # in the order they run
    assert parse_steps(["grain", "halftone"]) == ("halftone", "grain")
    with pytest.raises(ValueError, match="unknown restoration step 'sharpen'"):
        parse_steps("dust,sharpen")
    with pytest.raises(ValueError, match="at least one"):
        parse_steps(" , ")


@pytest.mark.parametrize("seed", range(3))
def test_auto_leaves_a_clean_photo_as_it_is(synth, seed: int) -> None:
    photo = synth.clean_photo(seed)
    restored = restore_lightness(photo)
    assert isinstance(restored, Restored)
    assert restored.ran == [] and not restored.mask.any()
    assert restored.lightness is photo  # not even a copy: full precision kept
    assert set(restored.measured) == set(STEPS)


def test_auto_leaves_a_low_contrast_photo_alone(synth, photo) -> None:
    """A hazy photo looks faded but shows no other sign of age: auto does not stretch it."""
    restored = restore_lightness(synth.fade(photo))
    assert restored.ran == []
    assert restored.measured["fading"] > 16


def test_auto_restores_an_old_print(synth, photo) -> None:
    damaged, specks = synth.add_dust(synth.fade(photo), 40)
    damaged, lines = synth.add_scratches(damaged, 2)
    damaged = synth.add_grain(damaged, 4.0)
    restored = restore_lightness(damaged)
    assert restored.ran == ["dust", "scratches", "grain", "fading"]
    assert synth.psnr(photo, restored.lightness) > synth.psnr(photo, damaged) + 3.0
    truth = specks | lines
    assert (restored.mask & truth).sum() / truth.sum() >= 0.9
    # The mask is what was inpainted: the damage found, grown by a pixel (a speck's soft edge),
    # so it lies within the true damage grown by as much.
    near = grow(truth, 1)
    assert (restored.mask & near).sum() / restored.mask.sum() >= 0.9


def test_the_colour_is_predicted_before_the_levels_stretch(synth, photo) -> None:
    faded = synth.add_grain(synth.fade(photo), 4.0)
    both = restore_lightness(faded, ["grain", "fading"])
    repaired = restore_lightness(faded, ["grain"])
    assert both.ran == ["grain", "fading"] and both.before_levels is not None
    assert np.array_equal(both.for_colour, repaired.lightness)
    assert not np.array_equal(both.for_colour, both.lightness)
    assert repaired.before_levels is None and repaired.for_colour is repaired.lightness


def test_named_steps_always_run(photo) -> None:
    restored = restore_lightness(photo, ["fading", "grain"])
    assert restored.ran == ["grain", "fading"]
    assert set(restored.measured) == {"grain", "fading"}
    assert restored.lightness is not photo and restored.lightness.dtype == np.float32
    assert restored.lightness.min() >= 0 and restored.lightness.max() <= 100
    nothing = restore_lightness(photo, "dust,scratches,halftone")  # nothing to work on
    assert nothing.ran == [] and not nothing.mask.any() and nothing.lightness is photo


def test_halftone_in_auto(synth, photo) -> None:
    printed = synth.halftone(photo, 5.0)
    restored = restore_lightness(printed)
    assert restored.ran[0] == "halftone"
    assert synth.psnr(photo, restored.lightness) > synth.psnr(photo, printed) + 10.0


def test_input_checks() -> None:
    with pytest.raises(ValueError, match="\\(H, W\\)"):
        restore_lightness(np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ValueError, match="unknown"):
        restore_lightness(np.zeros((4, 4), np.float32), "all")


def test_auto_finds_the_damage_once(synth, photo, monkeypatch) -> None:
    """auto's survey of the photo (the grain's sigma, the dust and scratch masks) serves the
    steps while no step has changed the photo: each is measured once."""
    import importlib

    detect = importlib.import_module("autocolor.restore.detect")
    pipeline = importlib.import_module("autocolor.restore.pipeline")

    calls = {"find_damage": 0, "noise_levels": 0}

    def counted(module, name):
        real = getattr(module, name)

        def wrapper(*args, **kwargs):
            calls[name] += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, wrapper)

    for module in (detect, pipeline):
        counted(module, "find_damage")
        counted(module, "noise_levels")
    damaged, _ = synth.add_dust(synth.fade(photo), 40)
    damaged, _ = synth.add_scratches(damaged, 2)
    restored = restore_lightness(damaged)
    assert "dust" in restored.ran and "halftone" not in restored.ran
    assert calls == {"find_damage": 1, "noise_levels": 1}
