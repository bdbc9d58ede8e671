"""Shared fixtures of the training tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from autocolor.data.cache import CacheRecord, sha256_file, write_manifest


def make_cache(folder: Path, smooth_rgb, jpegs: bool = True) -> Path:
    """Six small colour photos in ``folder``: four in train, two in val; every other one a JPEG
    (``jpegs``) or all PNG."""
    records = []
    for index in range(6):
        name = f"photo{index}.jpg" if jpegs and index % 2 == 0 else f"photo{index}.png"
        height, width = (72, 96) if index % 3 else (96, 80)
        Image.fromarray(smooth_rgb(index, height, width)).save(folder / name)
        records.append(CacheRecord(file=name, split="train" if index < 4 else "val", width=width,
                                   height=height, sha256=sha256_file(folder / name)))
    write_manifest(folder, records)
    return folder


@pytest.fixture(scope="session")
def cache_maker():
    """:func:`make_cache`, for a module that wants its own kind of cache."""
    return make_cache


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory, smooth_rgb) -> Path:
    """:func:`make_cache`: PNGs and JPEGs."""
    return make_cache(tmp_path_factory.mktemp("cache"), smooth_rgb)
