"""Shared fixtures of the training tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from autocolor.data.cache import CacheRecord, sha256_file, write_manifest


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory, smooth_rgb) -> Path:
    """Six small colour photos: four in train, two in val."""
    folder = tmp_path_factory.mktemp("cache")
    records = []
    for index in range(6):
        name = f"photo{index}.png" if index % 2 else f"photo{index}.jpg"
        height, width = (72, 96) if index % 3 else (96, 80)
        Image.fromarray(smooth_rgb(index, height, width)).save(folder / name)
        records.append(CacheRecord(file=name, split="train" if index < 4 else "val", width=width,
                                   height=height, sha256=sha256_file(folder / name)))
    write_manifest(folder, records)
    return folder
