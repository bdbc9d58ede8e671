"""Composites: seeded, pasted, backgrounds chosen independently of list order."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from autocolor.data import composite


def _photo(width: int, height: int, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8))


def _cutout(rgb: Image.Image) -> Image.Image:
    w, h = rgb.size
    y, x = np.mgrid[0:h, 0:w]
    alpha = (((x - w / 2) / (w / 2)) ** 2 + ((y - h / 2) / (h / 2)) ** 2 <= 1.0) * 255
    return Image.fromarray(np.dstack([np.asarray(rgb), alpha.astype(np.uint8)]), "RGBA")


def test_compose_is_seeded_and_pastes_the_stamp() -> None:
    stamp = _cutout(_photo(150, 120, seed=5))
    background = _photo(700, 500, seed=6)
    first = composite.compose(stamp, background, composite.stamp_rng("ab" * 32))
    second = composite.compose(stamp, background, composite.stamp_rng("ab" * 32))
    other = composite.compose(stamp, background, composite.stamp_rng("cd" * 32))
    assert first.size == composite.COMPOSITE_SIZE
    assert np.array_equal(np.asarray(first), np.asarray(second))
    assert not np.array_equal(np.asarray(first), np.asarray(other))
    plain = composite.random_crop(background, composite.COMPOSITE_SIZE,
                                  composite.stamp_rng("ab" * 32))
    changed = np.any(np.asarray(first) != np.asarray(plain), axis=-1).mean()
    assert changed > 0.02, "the stamp must cover part of the crop"


def test_background_choice_ignores_list_order() -> None:
    pool = [f"{i:064x}" for i in range(10)]
    picks = {composite.pick_background("ef" * 32, order, composite.stamp_rng("ef" * 32))
             for order in (pool, list(reversed(pool)))}
    assert len(picks) == 1 and picks <= set(pool)
    with pytest.raises(ValueError):
        composite.pick_background("ef" * 32, [], composite.stamp_rng("ef" * 32))
