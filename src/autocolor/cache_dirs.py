"""Where autocolor keeps what it computes once and reuses between processes: optimized ONNX
graphs (:mod:`autocolor.infer.onnx_backend`) and weights files' digests
(:mod:`autocolor.provenance`). Each cache has an environment variable that moves it or, set to
``0``, turns it off."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(variable: str, name: str) -> Path | None:
    """``$variable`` when set, else ``$XDG_CACHE_HOME/autocolor/<name>``
    (``~/.cache/autocolor/<name>``); None when ``$variable`` is ``0``."""
    setting = os.environ.get(variable, "")
    if setting == "0":
        return None
    if setting:
        return Path(setting)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "autocolor" / name
