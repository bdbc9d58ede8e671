"""sRGB (D65) <-> CIE Lab on torch tensors, and the model-space normalization.

Conversions are batched, differentiable and device-agnostic; kornia does the colour science and
these wrappers add input checks. The normalization every model shares is in
:mod:`autocolor.color.normalize` (torch without kornia), re-exported here.
"""

from __future__ import annotations

import torch
from kornia.color import lab_to_rgb as _kornia_lab_to_rgb
from kornia.color import rgb_to_lab as _kornia_rgb_to_lab

from autocolor.color.normalize import check_image as _check_image
from autocolor.color.normalize import denormalize_ab, denormalize_l, normalize_ab, normalize_l

__all__ = ["LabToRgb", "RgbToLab", "denormalize_ab", "denormalize_l", "lab_to_rgb",
           "model_io_to_rgb", "normalize_ab", "normalize_l", "rgb_to_lab", "rgb_to_model_io"]


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
