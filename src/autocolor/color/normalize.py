"""The model-space normalization of L and ab on torch tensors, shared by every model.

Torch only (no kornia): the models import it, so running a model (the torch backend, the
exporter) needs torch and nothing else; the colour conversions for training live in
:mod:`autocolor.color.lab`. The constants are in :mod:`autocolor.color.constants`.
"""

from __future__ import annotations

import torch

from autocolor.color.constants import AB_SCALE, L_SCALE, L_SHIFT


def check_image(image: object, channels: int, name: str) -> torch.Tensor:
    """``image`` if it is a floating-point tensor of shape (*, channels, H, W).

    Raises:
        TypeError: not a tensor, or not floating point.
        ValueError: another shape.
    """
    if not isinstance(image, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(image).__name__}")
    if not image.is_floating_point():
        raise TypeError(f"{name} must be a floating point tensor, got {image.dtype}")
    if image.ndim < 3 or image.shape[-3] != channels:
        raise ValueError(f"{name} must have shape (*, {channels}, H, W), got {tuple(image.shape)}")
    return image


def normalize_l(lightness: torch.Tensor) -> torch.Tensor:
    """L in [0, 100] -> model input in [-1, 1]. Shape is kept: (*, 1, H, W)."""
    return check_image(lightness, 1, "lightness") / L_SCALE - L_SHIFT


def denormalize_l(l_norm: torch.Tensor) -> torch.Tensor:
    """Model input in [-1, 1] -> L in [0, 100]. Shape is kept: (*, 1, H, W)."""
    return (check_image(l_norm, 1, "l_norm") + L_SHIFT) * L_SCALE


def normalize_ab(ab: torch.Tensor) -> torch.Tensor:
    """a, b in Lab units -> model units (ab / AB_SCALE, about [-0.86, 0.86]). (*, 2, H, W)."""
    return check_image(ab, 2, "ab") / AB_SCALE


def denormalize_ab(ab_norm: torch.Tensor) -> torch.Tensor:
    """Model units -> a, b in Lab units. (*, 2, H, W)."""
    return check_image(ab_norm, 2, "ab_norm") * AB_SCALE
