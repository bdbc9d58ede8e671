"""Fixtures for the evaluation tests: small synthetic colour photos."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def _smooth_photo(seed: int, height: int = 40, width: int = 56) -> np.ndarray:
    """A colourful (H, W, 3) uint8 image of low-frequency sinusoids, different per seed."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    channels = []
    for _ in range(3):
        fx, fy, phase = rng.uniform(0.5, 2.5), rng.uniform(0.5, 2.5), rng.uniform(0, 2 * np.pi)
        channels.append(0.5 + 0.45 * np.sin(2 * np.pi * (fx * x + fy * y) + phase))
    return np.round(np.stack(channels, axis=-1) * 255).astype(np.uint8)


@pytest.fixture
def make_photo() -> Callable[..., np.ndarray]:
    """``make_photo(seed, height=40, width=56) -> (H, W, 3) uint8``."""
    return _smooth_photo


@pytest.fixture
def photo_folder(tmp_path: Path) -> Path:
    """Three PNG photos, one in a subfolder, plus files that must be ignored."""
    root = tmp_path / "photos"
    (root / "sub").mkdir(parents=True)
    (root / ".hidden").mkdir()
    Image.fromarray(_smooth_photo(1)).save(root / "a.png")
    Image.fromarray(_smooth_photo(2, 48, 36)).save(root / "sub" / "b.png")
    Image.fromarray(_smooth_photo(3, 32, 32)).save(root / "c.PNG")
    Image.fromarray(_smooth_photo(4)).save(root / ".hidden" / "d.png")
    (root / "notes.txt").write_text("not a photo")
    return root
