"""The shared helpers: the lightness check, the working image and its mask."""

from __future__ import annotations

import numpy as np
import pytest

from autocolor.restore.convert import (
    check_lightness,
    enlarge_mask,
    from_u16,
    reduce,
    to_u16,
    working_factor,
)


def test_check_lightness() -> None:
    plane = np.full((4, 5), 50, np.float32)
    assert check_lightness(plane) is plane  # float32 passes through untouched
    assert check_lightness(np.full((4, 5), 50, np.uint8)).dtype == np.float32
    for bad, words in [(np.zeros((4, 5, 3)), "\\(H, W\\)"), (np.zeros((0, 5)), "non-empty"),
                       (np.full((2, 2), np.nan), "finite"), (np.full((2, 2), 120.0), "0, 100"),
                       (np.full((2, 2), "a"), "numeric")]:
        with pytest.raises(ValueError, match=words):
            check_lightness(bad)


def test_working_image_and_mask_round_trip() -> None:
    assert working_factor((512, 700), 1024) == 1
    assert working_factor((3000, 4000), 1024) == 3
    plane = np.arange(7 * 8, dtype=np.float32).reshape(7, 8)
    small = reduce(plane, 2)
    assert small.shape == (4, 4)
    assert small[0, 0] == pytest.approx(plane[:2, :2].mean())
    assert small[3, 0] == pytest.approx(plane[6, :2].mean())  # the edge row, replicated
    assert reduce(plane, 1) is plane
    mask = np.zeros((4, 4), bool)
    mask[1, 2] = True
    big = enlarge_mask(mask, 2, (7, 8))
    assert big.shape == (7, 8) and big.sum() == 4 and big[2:4, 4:6].all()


def test_u16_codes_keep_precision() -> None:
    plane = np.linspace(0, 100, 1001, dtype=np.float32).reshape(11, 91)
    assert np.abs(from_u16(to_u16(plane)) - plane).max() < 1e-3
