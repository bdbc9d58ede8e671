"""sRGB (D65) <-> CIE Lab on torch tensors, and the model-space normalization.

Conversions are batched, differentiable and device-agnostic; kornia does the colour science and
these wrappers add input checks and the normalization that every model in this package shares.
"""

from __future__ import annotations

import torch
from kornia.color import lab_to_rgb as _kornia_lab_to_rgb
from kornia.color import rgb_to_lab as _kornia_rgb_to_lab

from autocolor.color.constants import AB_SCALE, L_SCALE, L_SHIFT


def _check_image(image: object, channels: int, name: str) -> torch.Tensor:
    if not isinstance(image, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(image).__name__}")
    if not image.is_floating_point():
        raise TypeError(f"{name} must be a floating point tensor, got {image.dtype}")
    if image.ndim < 3 or image.shape[-3] != channels:
        raise ValueError(f"{name} must have shape (*, {channels}, H, W), got {tuple(image.shape)}")
    return image


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """Convert sRGB to CIE Lab (D65).

    Args:
        rgb: (*, 3, H, W) float, sRGB in [0, 1].

    Returns:
        (*, 3, H, W) Lab: L in [0, 100], a and b in about [-110, 110].
    """
    return _kornia_rgb_to_lab(_check_image(rgb, 3, "rgb"))


def lab_to_rgb(lab: torch.Tensor, clip: bool = True) -> torch.Tensor:
    """Convert CIE Lab (D65) to sRGB.

    Args:
        lab: (*, 3, H, W) float, L in [0, 100], a and b unbounded.
        clip: clamp the result to [0, 1] (out-of-gamut colours are clipped per channel).

    Returns:
        (*, 3, H, W) sRGB, in [0, 1] when ``clip``.
    """
    return _kornia_lab_to_rgb(_check_image(lab, 3, "lab"), clip=clip)


def normalize_l(lightness: torch.Tensor) -> torch.Tensor:
    """L in [0, 100] -> model input in [-1, 1]. Shape is kept: (*, 1, H, W)."""
    return _check_image(lightness, 1, "lightness") / L_SCALE - L_SHIFT


def denormalize_l(l_norm: torch.Tensor) -> torch.Tensor:
    """Model input in [-1, 1] -> L in [0, 100]. Shape is kept: (*, 1, H, W)."""
    return (_check_image(l_norm, 1, "l_norm") + L_SHIFT) * L_SCALE


def normalize_ab(ab: torch.Tensor) -> torch.Tensor:
    """a, b in Lab units -> model units (ab / AB_SCALE, about [-0.86, 0.86]). (*, 2, H, W)."""
    return _check_image(ab, 2, "ab") / AB_SCALE


def denormalize_ab(ab_norm: torch.Tensor) -> torch.Tensor:
    """Model units -> a, b in Lab units. (*, 2, H, W)."""
    return _check_image(ab_norm, 2, "ab_norm") * AB_SCALE


def rgb_to_model_io(rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """sRGB (B, 3, H, W) in [0, 1] -> (L_norm (B, 1, H, W), ab_norm (B, 2, H, W)), training pairs."""
    lab = rgb_to_lab(rgb)  # (B, 3, H, W)
    return normalize_l(lab[..., :1, :, :]), normalize_ab(lab[..., 1:, :, :])


def model_io_to_rgb(l_norm: torch.Tensor, ab_norm: torch.Tensor) -> torch.Tensor:
    """(L_norm (B, 1, H, W), ab_norm (B, 2, H, W)) -> sRGB (B, 3, H, W) in [0, 1]."""
    lab = torch.cat([denormalize_l(l_norm), denormalize_ab(ab_norm)], dim=-3)  # (B, 3, H, W)
    return lab_to_rgb(lab)


class RgbToLab(torch.nn.Module):
    """Module wrapper of :func:`rgb_to_lab`."""

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        return rgb_to_lab(rgb)


class LabToRgb(torch.nn.Module):
    """Module wrapper of :func:`lab_to_rgb`."""

    def __init__(self, clip: bool = True) -> None:
        super().__init__()
        self.clip = clip

    def forward(self, lab: torch.Tensor) -> torch.Tensor:
        return lab_to_rgb(lab, clip=self.clip)
