"""Dust and scratches: found with good precision and recall, and inpainted."""

from __future__ import annotations

import numpy as np
import pytest

from autocolor.restore.config import RestoreConfig
from autocolor.restore.damage import find_damage, grow, inpaint


def precision_recall(found: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    hit = (found & truth).sum()
    return hit / max(found.sum(), 1), hit / truth.sum()


def test_nothing_on_a_clean_photo(photo) -> None:
    damage = find_damage(photo)
    assert not damage.dust.any() and not damage.scratches.any() and damage.factor == 1


def test_dust_is_found_and_inpainted(synth, photo) -> None:
    dusty, specks = synth.add_dust(photo, 40)
    damage = find_damage(dusty)
    precision, recall = precision_recall(damage.mask(photo.shape, scratches=False), specks)
    assert precision >= 0.9 and recall >= 0.8
    assert not damage.scratches.any()
    mask = grow(damage.mask(photo.shape), 1)
    restored = inpaint(dusty, mask)
    assert synth.psnr(photo, restored) > synth.psnr(photo, dusty) + 15.0
    assert np.array_equal(restored[~mask], dusty[~mask])  # the rest keeps its exact values


def test_scratches_are_found_and_inpainted(synth, photo) -> None:
    scratched, lines = synth.add_scratches(photo, 3)
    damage = find_damage(scratched)
    precision, recall = precision_recall(damage.mask(photo.shape, dust=False), lines)
    # Two of the lines cross in a narrow X: near the crossing each hides the other.
    assert precision >= 0.9 and recall >= 0.6
    restored = inpaint(scratched, grow(damage.mask(photo.shape), 1))
    assert synth.psnr(photo, restored) > synth.psnr(photo, scratched) + 4.0


def test_grain_is_not_dust(synth, photo) -> None:
    grainy = synth.add_grain(photo, 5.0)
    damage = find_damage(grainy, sigma=5.0)
    assert damage.dust_share < RestoreConfig().dust_threshold


def test_a_big_photo_is_searched_reduced(synth) -> None:
    photo = synth.clean_photo(1, 300, 400)
    dusty, specks = synth.add_dust(photo, 30)
    big = np.repeat(np.repeat(dusty, 2, axis=0), 2, axis=1)  # the same print scanned at 2x
    damage = find_damage(big, config=RestoreConfig(work_side=300))
    assert damage.factor == 2 and damage.dust.shape == (300, 400)
    mask = damage.mask(big.shape)
    truth = np.repeat(np.repeat(specks, 2, axis=0), 2, axis=1)
    assert precision_recall(mask, truth)[1] >= 0.7


def test_inpaint_checks(photo) -> None:
    with pytest.raises(ValueError, match="does not match"):
        inpaint(photo, np.zeros((3, 3), bool))
    with pytest.raises(ValueError, match="radius"):
        inpaint(photo, np.zeros(photo.shape, bool), radius=0)
    assert np.array_equal(inpaint(photo, np.zeros(photo.shape, bool)), photo)
    with pytest.raises(ValueError, match="sigma"):
        find_damage(photo, sigma=float("nan"))
