"""Torch-free pre- and post-processing around a model.

L (full res) -> L_norm at the render size -> [backend] -> ab_norm at the render size ->
ab upsampled to full res -> (hints, reference) -> joined with the full-res L.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from autocolor.color.constants import AB_SCALE, L_SCALE, L_SHIFT

# Long side the network sees when the weights' metadata does not say otherwise.
DEFAULT_RENDER_SIZE = 384
# Models downsample 5 times (stride 32).
SIZE_MULTIPLE = 32


def render_shape(height: int, width: int, render_size: int) -> tuple[int, int]:
    """(h, w) the network sees: long side ~ render_size, aspect kept, sides multiples of 32."""
    if render_size < SIZE_MULTIPLE:
        raise ValueError(f"render size must be at least {SIZE_MULTIPLE}, got {render_size}")
    scale = render_size / max(height, width)

    def side(length: int) -> int:
        return max(SIZE_MULTIPLE, int(round(length * scale / SIZE_MULTIPLE)) * SIZE_MULTIPLE)

    return side(height), side(width)


def resize_plane(plane: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize one float32 (H, W) plane with Pillow's antialiased bilinear filter."""
    if plane.shape == (height, width):
        return plane.astype(np.float32, copy=False)
    image = Image.fromarray(np.ascontiguousarray(plane, dtype=np.float32), mode="F")
    return np.asarray(image.resize((width, height), Image.Resampling.BILINEAR), dtype=np.float32)


def model_input(lightness: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Full-res L (H, W) in [0, 100] -> L_norm (1, h, w) float32 at the render shape."""
    small = resize_plane(lightness, *shape)  # (h, w)
    return (small / L_SCALE - L_SHIFT)[None].astype(np.float32)


def upsample_ab(ab_norm: np.ndarray, height: int, width: int) -> np.ndarray:
    """ab_norm (2, h, w) -> ab (H, W, 2) float32 in Lab units at full resolution."""
    planes = [resize_plane(ab_norm[channel] * np.float32(AB_SCALE), height, width)
              for channel in range(2)]
    return np.stack(planes, axis=-1)
