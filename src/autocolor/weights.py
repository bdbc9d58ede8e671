"""Weights files: safetensors (no pickle) with JSON metadata.

Metadata keys (all strings in the file; nested values JSON-encoded):
    architecture, model_kwargs, render_size, normalization, recipe, data_manifest_sha256,
    git_commit, trained_on, created, metrics (optional, validation scores).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from autocolor.atomic import atomic_path

PACKAGE_WEIGHTS_DIR = Path(__file__).parent / "weights"
DEFAULT_WEIGHTS_NAME = "default"
JSON_KEYS = ("joined_runs", "model_kwargs", "normalization", "recipe", "metrics")


def git_commit(repo: Path | None = None) -> str:
    """The current commit of the source tree, with ``+dirty`` when tracked files differ from it
    (the weights then came from code that no commit holds), or 'unknown' outside a git checkout."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=repo or Path(__file__).parent,
                              capture_output=True, text=True, timeout=5, check=True).stdout

    try:
        commit = git("rev-parse", "HEAD").strip()
        dirty = git("status", "--porcelain", "--untracked-files=no").strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{commit}+dirty" if dirty else commit


def normalization_metadata() -> dict[str, float]:
    from autocolor.color.constants import AB_SCALE, L_SCALE, L_SHIFT

    return {"L_SCALE": L_SCALE, "L_SHIFT": L_SHIFT, "AB_SCALE": AB_SCALE}


def encode_metadata(metadata: dict[str, Any]) -> dict[str, str]:
    encoded = {}
    for key, value in metadata.items():
        encoded[key] = json.dumps(value, sort_keys=True) if key in JSON_KEYS else str(value)
    return encoded


def decode_metadata(raw: dict[str, str] | None) -> dict[str, Any]:
    decoded: dict[str, Any] = {}
    for key, value in (raw or {}).items():
        decoded[key] = json.loads(value) if key in JSON_KEYS else value
    if "render_size" in decoded:
        decoded["render_size"] = int(decoded["render_size"])
    return decoded


def resolve_weights(name_or_path: str | os.PathLike) -> Path:
    """'default' or another installed name -> the packaged file; otherwise a path that exists."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".safetensors", ".onnx") and candidate.is_file():
        return candidate
    for suffix in (".safetensors", ".onnx"):  # an installation may ship only the ONNX file
        packaged = PACKAGE_WEIGHTS_DIR / f"{name_or_path}{suffix}"
        if packaged.is_file():
            return packaged
    if candidate.is_file():
        return candidate
    installed = ", ".join(installed_weights()) or "none"
    raise FileNotFoundError(f"no weights named or at {str(name_or_path)!r} (installed: {installed})")


def installed_weights() -> list[str]:
    return sorted({p.stem for suffix in ("safetensors", "onnx")
                   for p in PACKAGE_WEIGHTS_DIR.glob(f"*.{suffix}")})


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """Metadata only, without reading tensors (and without torch)."""
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as handle:
        return decode_metadata(handle.metadata())


def save_weights(model, path: str | os.PathLike, metadata: dict[str, Any],
                 half: bool = True) -> Path:
    """Save ``model.state_dict()`` and metadata atomically as safetensors.

    ``half`` stores floating-point tensors as float16 (half the size; loading casts back to the
    model's float32, and the colour difference is far below what 8-bit output can show).
    """
    import torch
    from safetensors.torch import save_file

    path = Path(path)
    state = {}
    for key, value in model.state_dict().items():
        value = value.detach().to("cpu", copy=True).contiguous()
        if half and value.dtype == torch.float32:
            value = value.half()
        state[key] = value
    full = {"normalization": normalization_metadata(), "git_commit": git_commit(), **metadata}
    full.setdefault("architecture", getattr(model, "architecture", type(model).__name__))
    full.setdefault("model_kwargs", getattr(model, "model_kwargs", {}))
    with atomic_path(path) as temp:
        save_file(state, str(temp), metadata=encode_metadata(full))
    return path


def load_model(name_or_path: str | os.PathLike, device: str = "cpu"):
    """Build the architecture named in the metadata and load the weights strictly.

    Returns (model in eval mode, metadata dict).
    """
    from safetensors.torch import load_file

    from autocolor.models import create_model

    path = resolve_weights(name_or_path)
    metadata = read_metadata(path)
    if "architecture" not in metadata:
        raise ValueError(f"{path}: no 'architecture' in the metadata; not an autocolor weights file")
    model = create_model(metadata["architecture"], pretrained=False, **metadata.get("model_kwargs", {}))
    model.load_state_dict(load_file(str(path), device=device), strict=True)
    return model.to(device).eval(), metadata
