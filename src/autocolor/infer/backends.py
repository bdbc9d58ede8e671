"""Backends run the network: ``predict(l_norm (B,1,h,w) float32) -> ab_norm (B,2,h,w) float32``.

Only :class:`TorchBackend` imports torch, and only when it is created.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np

BACKENDS = ("auto", "torch", "onnx")


class Backend(Protocol):
    """What :class:`~autocolor.infer.colorizer.Colorizer` needs of a backend."""

    name: str  # "torch", "onnx", ...
    device: str  # "cpu" or "cuda": on the CPU, batches are capped in render pixels
    metadata: dict[str, Any]  # of the file that runs (architecture, render_size, ...)
    has_confidence: bool  # predict_confidence works (a bins model)
    # Backends that run a file also have ``path`` (the file), hashed into outputs' provenance.

    def predict(self, l_norm: np.ndarray) -> np.ndarray:
        """L_norm (B,1,h,w) float32 in [-1, 1], h and w multiples of 32 -> ab_norm (B,2,h,w)."""
        ...

    def predict_confidence(self, l_norm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """As :meth:`predict`, and the confidence (B,1,h,w) in [0, 1] of each pixel's colour.
        Raises ValueError for a model without one (a regression head)."""
        ...


class TorchBackend:
    name = "torch"

    def __init__(self, weights: Path, device: str = "cpu") -> None:
        import torch

        from autocolor.weights import load_model

        if device == "cuda" and not torch.cuda.is_available():
            raise RuntimeError("--device cuda was asked for, but torch sees no CUDA device")
        self.torch = torch
        self.device = device
        self.path: Path | None = Path(weights)
        self.model, self.metadata = load_model(weights, device=device)
        self.has_confidence = getattr(self.model, "head_type", None) == "bins"

    @classmethod
    def from_model(cls, model: Any, device: str = "cpu",
                   metadata: dict[str, Any] | None = None) -> TorchBackend:
        """A model already in memory (training's decoding sweep scores the model being
        trained); it runs no file, so outputs carry no model hash (``path`` is None)."""
        import torch

        backend = cls.__new__(cls)
        backend.torch, backend.device, backend.path = torch, str(device), None
        backend.model, backend.metadata = model, dict(metadata or {})
        backend.has_confidence = getattr(model, "head_type", None) == "bins"
        return backend

    def predict(self, l_norm: np.ndarray) -> np.ndarray:
        torch = self.torch
        with torch.inference_mode():
            batch = torch.from_numpy(np.ascontiguousarray(l_norm, dtype=np.float32)).to(self.device)
            return self.model(batch).float().cpu().numpy()  # (B,2,h,w)

    def predict_confidence(self, l_norm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        torch = self.torch
        with torch.inference_mode():
            batch = torch.from_numpy(np.ascontiguousarray(l_norm, dtype=np.float32)).to(self.device)
            try:
                ab, confidence = self.model.forward_confidence(batch)
            except NotImplementedError as error:
                raise ValueError(str(error)) from None
            return ab.float().cpu().numpy(), confidence.float().cpu().numpy()


def onnx_path_for(weights: Path) -> Path:
    """The ONNX file that ships beside a weights file (same stem)."""
    return weights.with_suffix(".onnx")


def onnx_available(weights: Path) -> bool:
    if not onnx_path_for(weights).is_file():
        return False
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def create_backend(kind: str, weights: Path, device: str = "cpu") -> Backend:
    """``auto`` takes ONNX Runtime on the CPU when an ONNX file is beside the weights."""
    if kind not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {kind!r}")
    if kind == "auto":
        kind = "onnx" if device == "cpu" and onnx_available(weights) else "torch"
    if kind == "onnx":
        from autocolor.infer.onnx_backend import OnnxBackend

        return OnnxBackend(onnx_path_for(weights) if weights.suffix != ".onnx" else weights, device)
    return TorchBackend(weights, device)
