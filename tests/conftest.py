"""Fixtures shared by the whole test suite.

- ``smooth_rgb(seed, height, width)``: a colourful, smooth (H, W, 3) uint8 photo stand-in.
- ``tiny_weights``: a random-init ``lite0-unet`` (bins head) weights file with a render size of 64,
  written once per session. It colours nothing sensibly, but it exercises the whole inference
  path (safetensors, metadata, model, pipeline) quickly and without any download.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

TINY_RENDER_SIZE = 64

# One intra-op thread for torch (and OpenMP) in tests: the models here are tiny, and on a shared
# 2-core machine two spinning OpenMP threads per process made the suite about 4x slower whenever
# anything else was running. Set before torch is imported; an explicit setting wins.
os.environ.setdefault("OMP_NUM_THREADS", "1")
if "torch" in sys.modules:  # pragma: no cover - only when a plugin imported torch first
    sys.modules["torch"].set_num_threads(int(os.environ["OMP_NUM_THREADS"]))


def smooth_rgb_image(seed: int, height: int = 48, width: int = 64) -> np.ndarray:
    """(H, W, 3) uint8 of low-frequency sinusoids, different per seed, mid-range values."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    channels = []
    for _ in range(3):
        fx, fy, phase = rng.uniform(0.5, 2.5), rng.uniform(0.5, 2.5), rng.uniform(0, 2 * np.pi)
        channels.append(0.5 + 0.4 * np.sin(2 * np.pi * (fx * x + fy * y) + phase))
    return np.round(np.stack(channels, axis=-1) * 255).astype(np.uint8)


@pytest.fixture(scope="session")
def smooth_rgb() -> Callable[..., np.ndarray]:
    """``smooth_rgb(seed, height=48, width=64) -> (H, W, 3) uint8``."""
    return smooth_rgb_image


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random-init lite0-unet (bins head, T = 0.5) saved with render_size 64."""
    import torch

    from autocolor.models import create_model
    from autocolor.weights import save_weights

    torch.manual_seed(1234)
    model = create_model("lite0-unet", pretrained=False, head="bins", temperature=0.5).eval()
    path = tmp_path_factory.mktemp("weights") / "tiny.safetensors"
    save_weights(model, path, {
        "architecture": "lite0-unet",
        "model_kwargs": {"head": "bins", "temperature": 0.5},
        "render_size": TINY_RENDER_SIZE,
        "recipe": {"name": "tiny-test"},
    })
    return path
