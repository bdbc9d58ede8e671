"""Fixtures for the server tests: one colorizer over the session's tiny weights (torch, render
size 64), an app factory with any settings, and small photos as bytes."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi", reason="the serve extra is not installed")


@pytest.fixture(scope="session")
def serve_colorizer(tiny_weights: Path):
    from autocolor.infer.colorizer import Colorizer

    return Colorizer.from_pretrained(tiny_weights, backend="torch", batch_size=1,
                                     max_pixels=40_000_000)


@pytest.fixture
def make_client(serve_colorizer) -> Callable:
    """``make_client(**ServeConfig fields)`` -> a TestClient (closed after the test)."""
    from fastapi.testclient import TestClient

    from autocolor.serve.app import create_app
    from autocolor.serve.config import ServeConfig

    clients = []

    def make(raise_server_exceptions: bool = True, **settings):
        app = create_app(ServeConfig(**settings), serve_colorizer)
        client = TestClient(app, raise_server_exceptions=raise_server_exceptions)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def gray_pattern(width: int = 96, height: int = 64, seed: int = 0) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    phase = np.random.default_rng(seed).uniform(0, 6)
    return (128 + 90 * np.sin(x / 9.0 + phase) * np.cos(y / 13.0)).astype(np.uint8)


def encoded(array: np.ndarray, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, fmt, **options)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def make_photo() -> Callable[..., bytes]:
    """``make_photo(width=96, height=64, fmt="PNG", seed=0, **save_options)`` -> file bytes of
    a smooth gray pattern."""
    def make(width: int = 96, height: int = 64, fmt: str = "PNG", seed: int = 0,
             **options) -> bytes:
        return encoded(gray_pattern(width, height, seed), fmt, **options)

    return make


@pytest.fixture
def gray_png() -> bytes:
    return encoded(gray_pattern())


@pytest.fixture
def gray_jpeg() -> bytes:
    return encoded(gray_pattern(seed=1), "JPEG", quality=90)
