"""ONNX Runtime backend: ``predict(l_norm (B,1,h,w)) -> ab_norm (B,2,h,w)`` without torch.

Sessions are cached per (file, its size and mtime, device, threads), so building several
:class:`~autocolor.infer.colorizer.Colorizer` objects on one file (the app, the evaluator) pays
for graph optimization once.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from autocolor.color.lab_numpy import cpu_threads
from autocolor.infer.pipeline import SIZE_MULTIPLE

_SESSIONS: dict[tuple, Any] = {}
_SESSIONS_LOCK = threading.Lock()
_MAX_CACHED_SESSIONS = 4


def session_options(threads: int):
    """CPU session settings: all graph optimizations; one intra-op thread per core and no
    inter-op pool (the graph is a chain). Worker threads may spin between operators (ONNX
    Runtime's default): lite0-unet runs about a hundred small operators, and waking sleeping
    threads for each made it about 20% slower at 256 px (8.1 against 6.6 ms on 2 cores); the
    whole-process times of one 12 MP photo and of a 28-photo batch, whose decoding and encoding
    threads share the cores, did not change measurably (BENCHMARKS.md). ``autocolor video``, whose
    network alternates with flow, joining, decoding and encoding on the same cores many times a
    second, turns spinning off with ``AUTOCOLOR_ORT_SPINNING=0`` (docs/video.md)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only
    spinning = "0" if os.environ.get("AUTOCOLOR_ORT_SPINNING", "1") == "0" else "1"
    options.add_session_config_entry("session.intra_op.allow_spinning", spinning)
    return options


def _providers(device: str) -> list[str]:
    import onnxruntime as ort

    if device == "cpu":
        return ["CPUExecutionProvider"]
    if device == "cuda":
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            raise RuntimeError("--device cuda with --backend onnx needs onnxruntime-gpu "
                               "(CUDAExecutionProvider is not available)")
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")


def create_session(path: Path, device: str = "cpu", threads: int | None = None,
                   cache: bool = True):
    """An ``onnxruntime.InferenceSession`` for ``path``, shared while the file is unchanged."""
    import onnxruntime as ort

    threads = threads or cpu_threads()
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, device, threads)
    with _SESSIONS_LOCK:
        if cache and key in _SESSIONS:
            return _SESSIONS[key]
    session = ort.InferenceSession(str(path), sess_options=session_options(threads),
                                   providers=_providers(device))
    if cache:
        with _SESSIONS_LOCK:
            while len(_SESSIONS) >= _MAX_CACHED_SESSIONS:
                _SESSIONS.pop(next(iter(_SESSIONS)))
            _SESSIONS[key] = session
    return session


def clear_session_cache() -> None:
    with _SESSIONS_LOCK:
        _SESSIONS.clear()


class OnnxBackend:
    """Runs an exported autocolor model (``autocolor export onnx``) with ONNX Runtime."""

    name = "onnx"

    def __init__(self, path: str | os.PathLike, device: str = "cpu", threads: int | None = None,
                 cache: bool = True) -> None:
        from autocolor.weights import decode_metadata

        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"no ONNX file at {self.path}; make one with "
                                    "'autocolor export onnx --model WEIGHTS'")
        self.device = device
        self.session = create_session(self.path, device, threads, cache)
        self.input_name = self.session.get_inputs()[0].name
        outputs = [output.name for output in self.session.get_outputs()]
        self.output_name = outputs[0]
        # Files exported before the confidence output (or of regression models) lack it.
        self.confidence_name = "confidence" if "confidence" in outputs else None
        self.has_confidence = self.confidence_name is not None
        # The metadata written by `autocolor export onnx` (architecture, render_size, ...).
        self.metadata: dict[str, Any] = decode_metadata(
            dict(self.session.get_modelmeta().custom_metadata_map))

    @staticmethod
    def _checked(l_norm: np.ndarray) -> np.ndarray:
        l_norm = np.ascontiguousarray(l_norm, dtype=np.float32)
        if l_norm.ndim != 4 or l_norm.shape[1] != 1:
            raise ValueError(f"expected L_norm of shape (B,1,H,W), got {l_norm.shape}")
        if l_norm.shape[2] % SIZE_MULTIPLE or l_norm.shape[3] % SIZE_MULTIPLE:
            raise ValueError(f"H and W must be multiples of {SIZE_MULTIPLE}, "
                             f"got {l_norm.shape[2:]}")
        return l_norm

    def predict(self, l_norm: np.ndarray) -> np.ndarray:
        (ab_norm,) = self.session.run([self.output_name], {self.input_name: self._checked(l_norm)})
        return ab_norm  # (B,2,h,w) float32

    def predict_confidence(self, l_norm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """-> (ab_norm (B,2,h,w), confidence (B,1,h,w) in [0, 1]) in one run.

        Raises:
            ValueError: the file has no confidence output (a regression model, or one exported
                before it existed: re-export it with ``autocolor export onnx``).
        """
        if self.confidence_name is None:
            raise ValueError(f"{self.path.name} has no confidence output (a regression model, "
                             "or an export older than it: autocolor export onnx)")
        ab_norm, confidence = self.session.run([self.output_name, self.confidence_name],
                                               {self.input_name: self._checked(l_norm)})
        return ab_norm, confidence
