"""Fixtures for the web-app tests: a tiny weights file that colours, and small test photos."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

# The tiny model's head always picks the ab bin at a* = b* = +40 (an orange): a random-init
# network predicts gray, and a test must be able to tell a coloured result from a gray one.
ORANGE_BIN = 15 * 23 + 15


def build_tiny_weights(path: Path) -> Path:
    import torch

    from autocolor.models import create_model
    from autocolor.weights import save_weights

    model = create_model("lite0-unet", pretrained=False)
    with torch.no_grad():
        model.head.conv.weight.zero_()
        model.head.conv.bias.zero_()
        model.head.conv.bias[ORANGE_BIN] = 8.0
    return save_weights(model, path, {"render_size": 256})


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random-init ``lite0-unet`` weights file (render size 256) whose colour is orange."""
    return build_tiny_weights(tmp_path_factory.mktemp("weights") / "tiny.safetensors")


def _gray_array(height: int = 120, width: int = 180) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    return (128 + 100 * np.sin(x / 17.0) * np.cos(y / 13.0)).astype(np.uint8)


def _encode(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


@pytest.fixture
def gray_array():
    """``gray_array(height=120, width=180)`` -> a smooth gray test pattern (H, W) uint8."""
    return _gray_array


@pytest.fixture
def encode():
    """``encode(pil_image, fmt="PNG", **options)`` -> the file's bytes."""
    return _encode


@pytest.fixture
def gray_png() -> bytes:
    return _encode(Image.fromarray(_gray_array(), "L"))


@pytest.fixture
def color_jpeg() -> bytes:
    gray = _gray_array()
    rgb = np.stack([gray, np.flipud(gray), np.full_like(gray, 60)], axis=-1)
    return _encode(Image.fromarray(rgb, "RGB"), "JPEG", quality=92)


def _clip_bytes(frames: int = 8, width: int = 96, height: int = 64, audio: bool = False) -> bytes:
    """A small gray H.264 MP4 (a moving pattern), optionally with a tone."""
    import av

    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        sound = out.add_stream("aac", rate=44100) if audio else None
        y, x = np.mgrid[0:height, 0:width]
        for index in range(frames):
            gray = (128 + 100 * np.sin((x + 2 * index) / 9.0) * np.cos(y / 7.0)).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(gray, format="gray")
            frame.pts = index
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
        if sound is not None:
            for start in range(0, 44100 * frames // 25 - 1024, 1024):
                piece = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32),
                                                   format="fltp", layout="mono")
                piece.sample_rate, piece.pts = 44100, start
                out.mux(sound.encode(piece))
            out.mux(sound.encode())
    return buffer.getvalue()


@pytest.fixture
def clip_bytes():
    """``clip_bytes(frames=8, width=96, height=64, audio=False)`` -> a small gray MP4's bytes."""
    return _clip_bytes
