"""sRGB <-> Lab in float32 NumPy for the inference path, which must run without torch.

scikit-image's converters work in float64 and are several times slower on 12-megapixel photos;
these functions use the same constants and are tested against scikit-image.
"""

from __future__ import annotations

import numpy as np

from autocolor.color.constants import WHITE_D65

# sRGB primaries (D65), rows map linear RGB -> XYZ; the inverse is computed once.
_RGB_TO_XYZ = np.array(
    [[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]],
    dtype=np.float64,
)
_XYZ_TO_RGB = np.linalg.inv(_RGB_TO_XYZ)
_WHITE = np.asarray(WHITE_D65, dtype=np.float64)
_EPS = 216.0 / 24389.0  # CIE epsilon: (6/29)^3
_KAPPA = 24389.0 / 27.0


def _check(image: object, channels: int, name: str) -> np.ndarray:
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(image).__name__}")
    if image.ndim != 3 or image.shape[-1] != channels:
        raise ValueError(f"{name} must have shape (H, W, {channels}), got {image.shape}")
    if not np.issubdtype(image.dtype, np.floating):
        raise TypeError(f"{name} must be floating point, got {image.dtype}")
    return image


def srgb_to_linear(values: np.ndarray) -> np.ndarray:
    """sRGB transfer function inverse, float32 in [0, 1] -> linear [0, 1]."""
    values = np.asarray(values, dtype=np.float32)
    return np.where(values > 0.04045, ((values + 0.055) / 1.055) ** 2.4, values / 12.92).astype(
        np.float32
    )


def linear_to_srgb(values: np.ndarray) -> np.ndarray:
    """Linear [0, 1] -> sRGB [0, 1] (input clipped to [0, 1] first), float32."""
    values = np.clip(values, 0.0, 1.0, dtype=np.float32)
    return np.where(
        values > 0.0031308, 1.055 * np.power(values, 1.0 / 2.4) - 0.055, 12.92 * values
    ).astype(np.float32)


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) sRGB float in [0, 1] -> (H, W, 3) float32 Lab (L in [0, 100])."""
    rgb = _check(rgb, 3, "rgb")
    xyz = srgb_to_linear(rgb) @ (_RGB_TO_XYZ / _WHITE[:, None]).T.astype(np.float32)  # (H, W, 3)
    f = np.where(xyz > _EPS, np.cbrt(xyz), (_KAPPA * xyz + 16.0) / 116.0).astype(np.float32)
    lightness = 116.0 * f[..., 1] - 16.0
    a = 500.0 * (f[..., 0] - f[..., 1])
    b = 200.0 * (f[..., 1] - f[..., 2])
    return np.stack([lightness, a, b], axis=-1).astype(np.float32)


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """(H, W, 3) Lab -> (H, W, 3) float32 sRGB clipped to [0, 1]."""
    lab = _check(lab, 3, "lab")
    fy = (lab[..., 0] + 16.0) / 116.0
    # f_z is clamped at 0 as in scikit-image and kornia (the training path): very large b at low
    # L would otherwise give a different out-of-gamut colour here than in training.
    f = np.stack([fy + lab[..., 1] / 500.0, fy, np.maximum(fy - lab[..., 2] / 200.0, 0.0)],
                 axis=-1)
    f = f.astype(np.float32)
    xyz = np.where(f > 6.0 / 29.0, f * f * f, (116.0 * f - 16.0) / _KAPPA)  # (H, W, 3)
    linear = xyz @ (_XYZ_TO_RGB * _WHITE[None, :]).T.astype(np.float32)
    return linear_to_srgb(linear)


def gray_to_lightness(gray: np.ndarray) -> np.ndarray:
    """Gray sRGB values in [0, 1] (any shape) -> L in [0, 100], float32 (a = b = 0 for gray)."""
    y = srgb_to_linear(gray)
    f = np.where(y > _EPS, np.cbrt(y), (_KAPPA * y + 16.0) / 116.0)
    return (116.0 * f - 16.0).astype(np.float32)
