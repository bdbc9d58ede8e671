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

    mean: torch.Tensor  # (1, 3, 1, 1) buffers
    std: torch.Tensor

    def __init__(self, mean: tuple[float, float, float], std: tuple[float, float, float]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)
        self.one_channel = False  # set by fold_into

    def forward(self, l_norm: torch.Tensor) -> torch.Tensor:
        gray = l_norm_to_gray_srgb(l_norm)  # (B,1,H,W)
        if self.one_channel:  # the three channels are equal: the stem takes one (fold_into)
            return (gray - self.mean[:, :1]) / self.std[:, :1]  # (B,1,H,W)
        return (gray - self.mean) / self.std  # (B,3,H,W) by broadcasting

    @torch.no_grad()
    def fold_into(self, stem: torch.nn.Conv2d) -> bool:
        """For export, in place, exact: when every channel has the same mean and std, the three
        channels this module builds are equal, so ``stem`` (the encoder's first convolution)
        takes one channel with its weights summed over the three (the padded zeros are equal in
        every channel too). Saves building a 3-channel copy of the render and 2/3 of the stem.
        Returns whether it folded (not for per-channel ImageNet mean/std)."""
        if self.one_channel or stem.in_channels != 3:
            return False
        if not (torch.all(self.mean == self.mean[:, :1]) and torch.all(self.std == self.std[:, :1])):
            return False
        stem.weight = torch.nn.Parameter(stem.weight.sum(dim=1, keepdim=True))  # (C,1,k,k)
        stem.in_channels = 1
        self.one_channel = True
        return True
