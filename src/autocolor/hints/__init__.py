"""Colour control: hint points (Levin et al. propagation) and reference-photo colour transfer.

NumPy/SciPy only, so it runs in the torch-free ONNX path.
"""

from __future__ import annotations

from autocolor.hints.points import HintError, HintPoint, HintSet, oriented_size
from autocolor.hints.propagate import propagate_hints
from autocolor.hints.reference import transfer_reference

__all__ = [
    "HintError",
    "HintPoint",
    "HintSet",
    "oriented_size",
    "propagate_hints",
    "transfer_reference",
]
