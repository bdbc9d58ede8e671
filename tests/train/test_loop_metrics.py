"""The training loop's fast torch PSNR and colourfulness are evaluate.metrics' definitions: on
8-bit inputs they give the same numbers (one definition per metric; the loop keeps a batched
torch version for speed)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from autocolor.evaluate import metrics
from autocolor.train import loop


def _pairs(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two batches of (3, 40, 56) uint8 photos: truths and noisy predictions of them."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 256, (4, 40, 56, 3), dtype=np.uint8)
    noise = rng.integers(-30, 31, truth.shape) * (np.arange(1, 5)[:, None, None, None] / 4)
    prediction = np.clip(truth + noise, 0, 255).astype(np.uint8)
    return truth, prediction


def _tensor(batch: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(batch).permute(0, 3, 1, 2).float() / 255.0  # (B,3,H,W) in [0,1]


def test_psnr_is_the_evaluation_psnr_on_8_bit_inputs() -> None:
    truth, prediction = _pairs()
    fast = loop.psnr(_tensor(prediction), _tensor(truth))
    assert fast.shape == (4,)
    for index in range(4):
        expected = metrics.psnr(truth[index], prediction[index])
        assert float(fast[index]) == pytest.approx(expected, abs=1e-3)
    # Identical images: evaluate.metrics says inf; the loop caps at 100 dB to keep means finite.
    same = loop.psnr(_tensor(truth[:1]), _tensor(truth[:1]))
    assert float(same[0]) == pytest.approx(100.0) and metrics.psnr(truth[0], truth[0]) == np.inf


def test_colorfulness_is_the_evaluation_colorfulness_on_8_bit_inputs() -> None:
    truth, prediction = _pairs(1)
    fast = loop.colorfulness(_tensor(prediction))
    assert fast.shape == (4,)
    for index in range(4):
        expected = metrics.colorfulness(prediction[index])
        assert float(fast[index]) == pytest.approx(expected, rel=1e-4)
    gray = np.repeat(truth[:1, ..., :1], 3, axis=-1)
    assert float(loop.colorfulness(_tensor(gray))[0]) == pytest.approx(0.0, abs=1e-4)
