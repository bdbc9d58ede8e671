"""Camera-sized photos end to end with the bundled model (``make test-slow``; tens of seconds
on 2 cores, so not part of ``make test``, whose photos are small)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from autocolor.cli import main
from autocolor.images import load_image

pytestmark = pytest.mark.slow


def test_24_megapixels_both_backends_full_size_and_sharp(tmp_path: Path) -> None:
    """A 6000x4000 black-and-white JPEG: the output has its exact size, its own lightness
    (full-resolution detail, not the render's), and ONNX Runtime and torch agree."""
    height, width = 4000, 6000
    y, x = np.mgrid[0:height, 0:width]
    gray = 128 + 60 * np.sin(x / 40.0) * np.cos(y / 55.0)
    gray[:, ::97] = 20  # one-pixel lines the 384-px render cannot see
    Image.fromarray(gray.astype(np.uint8)).save(tmp_path / "big.jpg", quality=95)
    for backend in ("onnx", "torch"):
        assert main(["colorize", str(tmp_path / "big.jpg"), "-o", str(tmp_path / backend),
                     "--backend", backend]) == 0
    source = load_image(tmp_path / "big.jpg")
    by_backend = {}
    for backend in ("onnx", "torch"):
        written = load_image(tmp_path / backend / "big.jpg")
        assert written.size == (width, height)
        difference = np.abs(written.lightness - source.lightness)
        assert np.median(difference) < 1.0 and np.percentile(difference, 99.9) < 6.0
        with Image.open(tmp_path / backend / "big.jpg") as image:
            by_backend[backend] = np.asarray(image.convert("RGB"), dtype=np.int16)
    assert np.abs(by_backend["onnx"] - by_backend["torch"]).mean() < 1.0
