"""Reference colorizers with the Colorizer's lightness API, for sanity checks and tests.

- :class:`GrayColorizer` predicts a = b = 0: it must score exactly like the gray baseline.
- :class:`OracleColorizer` returns the true ab of photos it was shown, looked up by their
  lightness: the ceiling of the scoring path (only Lab -> 8-bit sRGB rounding is lost).

Both record the sizes of the batches they were called with in ``batches``. No torch.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence

import numpy as np

from autocolor.evaluate.metrics import rgb_to_lab_u8
from autocolor.evaluate.photos import load_rgb


def _key(lightness: np.ndarray) -> str:
    data = np.ascontiguousarray(lightness, dtype=np.float32)
    return hashlib.sha256(repr(data.shape).encode() + data.tobytes()).hexdigest()


class GrayColorizer:
    """Predicts a = b = 0 everywhere."""

    def __init__(self, render_size: int | None = None) -> None:
        self.render_size = render_size
        self.batches: list[int] = []

    def colorize_lightness(self, lightness: np.ndarray) -> np.ndarray:
        return np.zeros((*np.shape(lightness), 2), dtype=np.float32)

    def colorize_lightness_batch(self, lightness: Sequence[np.ndarray]) -> list[np.ndarray]:
        self.batches.append(len(lightness))
        return [self.colorize_lightness(item) for item in lightness]


class OracleColorizer(GrayColorizer):
    """Returns the original ab of known photos (KeyError for an unknown lightness)."""

    def __init__(
        self, photos: Iterable[str | os.PathLike | np.ndarray], render_size: int | None = None
    ) -> None:
        super().__init__(render_size)
        self.table: dict[str, np.ndarray] = {}
        for photo in photos:
            rgb = photo if isinstance(photo, np.ndarray) else load_rgb(photo)
            lab = rgb_to_lab_u8(rgb)
            self.table[_key(lab[..., 0])] = np.ascontiguousarray(lab[..., 1:])

    def colorize_lightness(self, lightness: np.ndarray) -> np.ndarray:
        key = _key(lightness)
        if key not in self.table:
            raise KeyError("OracleColorizer was not shown the photo with this lightness")
        return self.table[key].copy()
