"""``seed-vgg19``: the seed project's design, kept as a model choice.

Encoder: VGG19's convolutional layers laid out exactly like torchvision's ``vgg19().features``
(indices 0..36, so torchvision's ImageNet state dict loads with ``features.`` keys) up to the last
max-pool (stride 32, 512 channels). Decoder: conv 256, conv 128, up, conv 64, up, conv 32, up,
conv 16, up, conv 2 + tanh, up. The seed fed raw L; we feed the gray photo normalized with
ImageNet mean/std, which is what VGG19's weights expect.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from autocolor.models.base import ColorizationModel, check_l_norm
from autocolor.models.encoder_input import IMAGENET_MEAN, IMAGENET_STD, GrayToEncoderInput
from autocolor.models.registry import register_model

# torchvision's configuration "E": numbers are conv widths, "M" is a 2x2 max-pool.
VGG19_LAYOUT = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
                512, 512, 512, 512, "M", 512, 512, 512, 512, "M")


def vgg19_features() -> nn.Sequential:
    layers: list[nn.Module] = []
    in_ch = 3
    for item in VGG19_LAYOUT:
        if item == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(in_ch, int(item), kernel_size=3, padding=1), nn.ReLU(inplace=True)]
            in_ch = int(item)
    return nn.Sequential(*layers)


class SeedVGG19(ColorizationModel):
    """L_norm (B,1,H,W) -> ab_norm (B,2,H,W) with the seed's plain upsampling decoder."""

    def __init__(self) -> None:
        super().__init__()
        self.to_encoder_input = GrayToEncoderInput(IMAGENET_MEAN, IMAGENET_STD)
        self.features = vgg19_features()

        def conv(in_ch: int, out_ch: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(in_ch, out_ch, 3, padding=1), nn.ReLU(inplace=True))

        self.decoder = nn.ModuleList([conv(512, 256), conv(256, 128), conv(128, 64),
                                      conv(64, 32), conv(32, 16)])
        self.output = nn.Conv2d(16, 2, 3, padding=1)

    # The contract's names for the parts, whose state-dict names are torchvision's ("features.*").
    @property
    def encoder(self) -> nn.Sequential:  # type: ignore[override]  # read-only, as named
        return self.features

    @property
    def head(self) -> nn.Conv2d:  # type: ignore[override]  # then tanh: a regression head
        return self.output

    def forward(self, l_norm: torch.Tensor) -> torch.Tensor:
        check_l_norm(l_norm)
        x = self.features(self.to_encoder_input(l_norm))  # (B,512,H/32,W/32)
        x = self.decoder[1](self.decoder[0](x))  # conv 256, conv 128
        for layer in self.decoder[2:]:  # up, conv 64 / up, conv 32 / up, conv 16
            x = layer(F.interpolate(x, scale_factor=2.0, mode="nearest"))
        x = torch.tanh(self.output(F.interpolate(x, scale_factor=2.0, mode="nearest")))
        return F.interpolate(x, scale_factor=2.0, mode="nearest")  # (B,2,H,W)


def load_torchvision_vgg19_features(model: SeedVGG19, path: str | Path) -> None:
    """Load a torchvision VGG19 ImageNet state dict (``vgg19-dcbb9e9d.pth`` or its safetensors).

    Only the ``features.*`` keys are used; the classifier is ignored. Never unpickles arbitrary
    objects (``weights_only=True``).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"VGG19 weights file not found: {path}")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(path))
    else:
        state = torch.load(path, map_location="cpu", weights_only=True)
    features = {k.removeprefix("features."): v for k, v in state.items() if k.startswith("features.")}
    if not features:
        raise ValueError(f"{path} holds no 'features.*' keys; is it a torchvision VGG19 state dict?")
    model.features.load_state_dict(features, strict=True)


@register_model("seed-vgg19")
def seed_vgg19(pretrained: bool = False, encoder_weights: str | None = None) -> SeedVGG19:
    """The seed design. ImageNet weights cannot be downloaded here: pass ``encoder_weights``."""
    model = SeedVGG19()
    if encoder_weights:
        load_torchvision_vgg19_features(model, encoder_weights)
    elif pretrained:
        raise ValueError(
            "seed-vgg19 has no bundled ImageNet weights and autocolor never downloads any: pass "
            "the torchvision VGG19 state dict with --encoder-weights PATH (vgg19-dcbb9e9d.pth)"
        )
    return model
