"""The 8-bit confidence map (autocolor.infer.confidence_map), function by function."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from autocolor.infer.confidence_map import resize_codes, resize_raw, stored_deciles, to_codes


def test_raw_confidence_is_scaled_and_rounded() -> None:
    raw = np.array([[0.0, 0.5, 1.0], [0.001, 0.999, 1.5]], np.float32)
    assert to_codes(raw, None).tolist() == [[0, 128, 255], [0, 255, 255]]
    assert to_codes(raw, None).dtype == np.uint8


def test_deciles_map_each_decile_to_its_rank() -> None:
    """A pixel at the k-th of the 11 stored values (0 %, 10 %, ..., 100 %) gets k/10 of 255;
    between two, linearly (0.2625: a quarter of the way to 10 %, 6.4); outside, the ends."""
    deciles = np.linspace(0.25, 0.75, 11)  # raw values 0.25, 0.3, ..., 0.75
    raw = np.array([[0.25, 0.5, 0.75], [0.0, 0.2625, 0.9]], np.float32)
    assert to_codes(raw, deciles).tolist() == [[0, 128, 255], [0, 6, 255]]


def test_stored_deciles_only_for_the_weights_they_were_measured_for(tmp_path: Path) -> None:
    path = tmp_path / "deciles.json"
    assert stored_deciles("abc", path) is None  # no file
    path.write_text(json.dumps({"weights_sha256": "abc", "deciles": [0.1, 0.5, 0.9]}))
    assert stored_deciles("abc", path).tolist() == [0.1, 0.5, 0.9]
    assert stored_deciles("other", path) is None
    assert stored_deciles(None, path) is None


@pytest.mark.parametrize("size", [(7, 5), (64, 48), (3, 2)])
def test_maps_reach_the_photos_size(size: tuple[int, int]) -> None:
    codes = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    assert resize_codes(codes, size).shape == (size[1], size[0])
    raw = codes.astype(np.float32) / 255
    out = resize_raw(raw, size)
    assert out.shape == (size[1], size[0]) and out.dtype == np.float32
    assert raw.min() - 1e-6 <= out.min() and out.max() <= raw.max() + 1e-6
    assert np.array_equal(resize_codes(codes, (4, 3)), codes)  # the same size: unchanged
