"""Where the colours are guesses: the network's raw confidence made into an 8-bit map.

The bins head gives, per render pixel, a raw confidence in [0, 1]: 1 minus the decoded
distribution's ab spread over a uniform one's, pooled over the decoder members
(:meth:`autocolor.models.heads.BinsHead.spread_confidence`). For the bundled model it is
calibrated: drawn through its deciles over the validation photos (``confidence_deciles.json``,
written by ``scripts/confidence_calibration.py --write-deciles``), so 128 is a pixel as sure as
the median validation pixel and 26 one less sure than 90 % of them. Other weights give the raw
confidence times 255. The map is made 8-bit at the render size and resized bilinearly, as the
colour is (docs/confidence.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

# The bundled model's raw confidence deciles on the validation photos, with the SHA-256 of the
# weights they were measured for.
DECILES_PATH = Path(__file__).with_name("confidence_deciles.json")


def stored_deciles(weights_sha256: str | None, path: Path = DECILES_PATH) -> np.ndarray | None:
    """The deciles stored in ``path`` when they were measured for these weights (matched by the
    SHA-256 of the .safetensors file); else None (other weights: the raw confidence)."""
    if weights_sha256 is None or not path.is_file():
        return None
    stored = json.loads(path.read_text())
    if stored.get("weights_sha256") != weights_sha256:
        return None
    return np.asarray(stored["deciles"], dtype=np.float64)


def to_codes(confidence: np.ndarray, deciles: np.ndarray | None) -> np.ndarray:
    """(h, w) raw confidence in [0, 1] -> (h, w) uint8: through the ``deciles`` when given
    (each decile's value maps to its rank, linearly between), times 255, rounded."""
    confidence = np.ascontiguousarray(confidence, dtype=np.float32)
    if deciles is not None:
        confidence = np.interp(confidence, deciles,
                               np.linspace(0.0, 1.0, len(deciles))).astype(np.float32)
    return np.clip(confidence * np.float32(255.0) + np.float32(0.5), 0, 255).astype(np.uint8)


def resize_codes(codes: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(h, w) uint8 -> (H, W) uint8 at ``size`` (width, height), bilinear."""
    return np.asarray(Image.fromarray(codes, "L").resize(size, Image.Resampling.BILINEAR))


def resize_raw(confidence: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(h, w) raw confidence -> (H, W) float32 at ``size`` (width, height), bilinear."""
    small = Image.fromarray(np.ascontiguousarray(confidence, dtype=np.float32), "F")
    return np.asarray(small.resize(size, Image.Resampling.BILINEAR), dtype=np.float32)
