"""What ImageNet encoders expect to see, built from the colorizer's normalized L."""

from __future__ import annotations

import torch

from autocolor.color.normalize import denormalize_l

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def l_norm_to_gray_srgb(l_norm: torch.Tensor) -> torch.Tensor:
    """L_norm (B,1,H,W) in [-1,1] -> the sRGB gray value (B,1,H,W) in [0,1] with that lightness.

    Encoders were trained on sRGB photos, so they should see the gray photo itself rather than
    L/100 (which is not the same curve) or raw L in [0, 100] (the seed project's mistake).
    """
    lightness = denormalize_l(l_norm)  # (B,1,H,W) in [0,100]
    fy = (lightness + 16.0) / 116.0
    cube = fy * fy * fy  # not fy**3: a Pow node costs more than two Mul nodes in ONNX Runtime
    luminance = torch.where(fy > 6.0 / 29.0, cube, (116.0 * fy - 16.0) * (27.0 / 24389.0))
    luminance = luminance.clamp(0.0, 1.0)
    # sRGB transfer curve; the clamp keeps the gradient of pow finite at 0.
    return torch.where(
        luminance > 0.0031308,
        1.055 * luminance.clamp_min(1e-6) ** (1.0 / 2.4) - 0.055,
        12.92 * luminance,
    )


class GrayToEncoderInput(torch.nn.Module):
    """L_norm (B,1,H,W) -> (B,3,H,W) normalized as the encoder's ImageNet weights expect."""

    def __init__(self, mean: tuple[float, float, float], std: tuple[float, float, float]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def forward(self, l_norm: torch.Tensor) -> torch.Tensor:
        gray = l_norm_to_gray_srgb(l_norm)  # (B,1,H,W)
        return (gray - self.mean) / self.std  # (B,3,H,W) by broadcasting
