"""Fixtures for the inference tests.

- ``onnx_pair``: a copy of the session's ``tiny_weights`` with its ONNX export beside it (same
  stem), made once per session through the real ``autocolor export onnx`` command. It lives in
  its own folder, so ``tiny_weights`` itself keeps having no ONNX file beside it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def onnx_pair(tiny_weights: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """-> the ``.safetensors`` path; ``.with_suffix('.onnx')`` is its export."""
    from autocolor.cli import main

    folder = tmp_path_factory.mktemp("onnx-pair")
    weights = folder / "tiny.safetensors"
    shutil.copy2(tiny_weights, weights)
    status = main(["export", "onnx", "--model", str(weights), "-o", str(weights.with_suffix(".onnx"))])
    assert status == 0 and weights.with_suffix(".onnx").is_file()
    return weights
