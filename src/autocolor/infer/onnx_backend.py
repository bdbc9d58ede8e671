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

from autocolor.cache_dirs import cache_dir
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


def optimized_cache_dir() -> Path | None:
    """Where optimized graphs are kept between processes: ``$AUTOCOLOR_ORT_CACHE``, else
    ``$XDG_CACHE_HOME/autocolor/ort`` (``~/.cache/autocolor/ort``); None when
    ``AUTOCOLOR_ORT_CACHE=0``."""
    return cache_dir("AUTOCOLOR_ORT_CACHE", "ort")


def optimized_path(path: Path, stat: os.stat_result, threads: int) -> Path | None:
    """The cached optimized graph of ``path`` for this ONNX Runtime, machine and thread count
    (ORT_ENABLE_ALL's layouts may depend on the CPU), or None without a cache."""
    import hashlib
    import platform

    import onnxruntime as ort

    folder = optimized_cache_dir()
    if folder is None:
        return None
    key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{ort.__version__}|" \
          f"{platform.machine()}|{platform.processor()}|{threads}"
    return folder / f"{path.stem}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.onnx"


def _new_session(path: Path, device: str, threads: int, stat: os.stat_result):
    """A session for ``path``. On the CPU, graph optimization (40 of 68 ms of a session's start
    for the bundled model) is done once and its result kept (:func:`optimized_path`): later
    processes load the optimized graph with optimization off. A cache that cannot be written or
    read is skipped."""
    import onnxruntime as ort

    providers = _providers(device)
    cached = optimized_path(path, stat, threads) if device == "cpu" else None
    if cached is not None and cached.is_file():
        options = session_options(threads)
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        try:
            return ort.InferenceSession(str(cached), sess_options=options, providers=providers)
        except Exception:  # noqa: BLE001 - a damaged cache file: rebuild it below
            cached.unlink(missing_ok=True)
    options = session_options(threads)
    temp = None
    if cached is not None:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            temp = cached.with_name(f".{cached.name}.{os.getpid()}.part")
            options.optimized_model_filepath = str(temp)
        except OSError:
            temp = None
    session = ort.InferenceSession(str(path), sess_options=options, providers=providers)
    if cached is not None and temp is not None and temp.is_file():
        try:
            os.replace(temp, cached)  # whole or not at all, whatever runs beside
            _trim_cache(cached.parent)
        except OSError:
            temp.unlink(missing_ok=True)
    return session


def _trim_cache(folder: Path, keep: int = 4) -> None:
    """Keep the ``keep`` most recently written optimized graphs (about 33 MB each)."""
    graphs = sorted(folder.glob("*.onnx"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in graphs[keep:]:
        old.unlink(missing_ok=True)


def create_session(path: Path, device: str = "cpu", threads: int | None = None,
                   cache: bool = True):
    """An ``onnxruntime.InferenceSession`` for ``path``, shared while the file is unchanged."""
    threads = threads or cpu_threads()
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, device, threads)
    with _SESSIONS_LOCK:
        if cache and key in _SESSIONS:
            return _SESSIONS[key]
    session = _new_session(path, device, threads, stat)
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
