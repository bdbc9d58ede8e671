"""Output heads: how decoder features become ab.

- ``RegressionHead``: conv -> 2 channels -> tanh, ab_norm directly (trained with L1/MSE).
- ``BinsHead``: logits over a grid of ab bins (Zhang et al. 2016 style); decoded to ab with an
  annealed mean at a temperature T (lower T = more vivid, T = 1 = the mean = most restrained),
  then, optionally, *restrained where unsure*: the chroma is scaled by a gate that rises from 0 to
  1 as the model's confidence (1 - the normalised entropy of its bin distribution at T = 1) goes
  from ``gate[0]`` to ``gate[1]``. A flat distribution (the model has no idea) gives gray, a
  peaked one keeps its colour. T and the gate are tuned on validation photos after training
  and travel as buffers with the weights' kwargs and in the ONNX export.
  A model may have several decoder *members* (an ensemble over one shared encoder): their
  annealed means are averaged and the gate reads the confidence of their mean distribution, so
  where members disagree the colour fades (:meth:`BinsHead.forward_members`).
"""

from __future__ import annotations

import math
from typing import Any, cast

import torch
from torch import nn

from autocolor.color.constants import AB_SCALE

# Bin grid over a, b in Lab units: centres every AB_BIN_STEP from -AB_BIN_LIMIT to +AB_BIN_LIMIT.
AB_BIN_STEP = 10.0
AB_BIN_LIMIT = 110.0
# Bins along a and along b (23); the grid holds AB_BIN_SIDE ** 2 = 529, a-major.
AB_BIN_SIDE = int(round(2 * AB_BIN_LIMIT / AB_BIN_STEP)) + 1


def ab_bin_centers() -> torch.Tensor:
    """(Q, 2) bin centres in normalized ab units, a-major order; Q = 23 * 23 = 529."""
    axis = torch.arange(-AB_BIN_LIMIT, AB_BIN_LIMIT + 0.5, AB_BIN_STEP) / AB_SCALE  # (23,)
    grid_a, grid_b = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([grid_a.reshape(-1), grid_b.reshape(-1)], dim=1)


def soft_encode_ab(ab_norm: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Bilinear soft-encoding of ab on the bin grid.

    Args:
        ab_norm: (B,2,H,W) normalized ab.

    Returns:
        indices (B,4,H,W) long bin indices and weights (B,4,H,W) summing to 1; the weighted mean
        of the bin centres equals the (clamped) input exactly, so decoding at T = 1 is unbiased.
    """
    steps = AB_BIN_SIDE
    position = (ab_norm * AB_SCALE + AB_BIN_LIMIT) / AB_BIN_STEP  # (B,2,H,W) in bin units
    position = position.clamp(0.0, steps - 1 - 1e-4)
    low = position.floor()
    frac = position - low
    low = low.long()
    a0, b0 = low[:, 0], low[:, 1]  # (B,H,W)
    fa, fb = frac[:, 0], frac[:, 1]
    indices = torch.stack(
        [a0 * steps + b0, a0 * steps + b0 + 1, (a0 + 1) * steps + b0, (a0 + 1) * steps + b0 + 1], 1
    )
    weights = torch.stack([(1 - fa) * (1 - fb), (1 - fa) * fb, fa * (1 - fb), fa * fb], 1)
    return indices, weights


class RegressionHead(nn.Module):
    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, 2, 3, padding=1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.conv(features))  # (B,2,H,W) ab_norm


class BinsHead(nn.Module):
    # buffers (register_buffer), typed for the callers
    centers: torch.Tensor
    moments: torch.Tensor
    uniform_variance: torch.Tensor
    temperature: torch.Tensor
    gate: torch.Tensor

    def __init__(self, in_channels: int, temperature: float = 0.5,
                 gate: tuple[float, float] | None = None) -> None:
        super().__init__()
        self.register_buffer("centers", ab_bin_centers(), persistent=False)  # (Q,2)
        # The centres and their squared length: one matrix product gives a distribution's mean
        # ab and its second moment, so its spread (the confidence) costs one column more.
        self.register_buffer("moments", torch.cat(
            [self.centers, (self.centers ** 2).sum(1, keepdim=True)], dim=1), persistent=False)
        # The ab variance of a uniform distribution over the whole grid: the confidence's unit,
        # kept when an export drops bins the model never uses (:meth:`keep_bins`).
        self.register_buffer("uniform_variance", (self.centers ** 2).sum(1).mean()
                             - (self.centers.mean(0) ** 2).sum(), persistent=False)
        self.conv = nn.Conv2d(in_channels, self.centers.shape[0], 1)
        self.register_buffer("temperature", torch.tensor(float(temperature)))
        # Not in the state dict: the values travel in the weights' kwargs (older weights have
        # none, and load with the gate off).
        self.register_buffer("gate", torch.zeros(2), persistent=False)
        self.set_gate(gate)
        self.channels_last = False  # set by prepare_for_export
        # How several decoder members join: "ab" averages their annealed means (where they
        # disagree, the colour fades toward gray); "logits" decodes the annealed mean of their
        # mean logits (one distribution, one softmax); "mixture" that of their mean distribution
        # (screened on the torch path only). A Python flag, like the gate's; the
        # bundled model uses "ab" (scripts/decoding_screen.py, docs/recipes.md section 0).
        self.join = "ab"

    def set_gate(self, gate: tuple[float, float] | None) -> None:
        """Confidence (low, high) between which chroma fades in; None (or low >= high): off."""
        if gate is not None and not 0.0 <= gate[0] < gate[1] <= 1.0:
            raise ValueError(f"gate must be (low, high) with 0 <= low < high <= 1, got {gate}")
        self.gate.copy_(torch.tensor(gate or (0.0, 0.0), dtype=torch.float32))
        self.gated = gate is not None  # a Python flag: torch.export cannot branch on a tensor

    def confidence(self, probabilities: torch.Tensor, dim: int) -> torch.Tensor:
        """How sure a bin distribution at T = 1 is, along ``dim`` (keeps that dim with size 1):
        1 - entropy / log Q, in [0, 1] (0: flat, no idea; 1: one bin)."""
        p = probabilities.float()
        entropy = -(p * torch.log(p.clamp_min(1e-12))).sum(dim, keepdim=True)
        return 1.0 - entropy / math.log(self.centers.shape[0])

    def restraint(self, probabilities: torch.Tensor, dim: int) -> torch.Tensor:
        """Chroma scale in [0, 1] from :meth:`confidence`, mapped through the gate."""
        confidence = self.confidence(probabilities, dim)
        return ((confidence - self.gate[0]) / (self.gate[1] - self.gate[0])).clamp(0.0, 1.0)

    def logits(self, features: torch.Tensor) -> torch.Tensor:
        return self.conv(features)  # (B,Q,H,W)

    def decode(self, logits: torch.Tensor) -> torch.Tensor:
        """Annealed mean: softmax(log p / T) weighted bin centres, restrained by the gate.
        (B,Q,H,W) -> (B,2,H,W). Training's view of one member (the refinement's input)."""
        return self.decode_members([logits])

    def decode_members(self, logits: list[torch.Tensor]) -> torch.Tensor:
        """Several members' logits (each (B,Q,H,W)) -> (B,2,H,W): the mean of their annealed
        means at this head's T, times the gate of their mean distribution at T = 1 (members
        that disagree make it flat, and the colour fades). With ``join == "logits"``: the
        annealed mean of one distribution, that of the members' mean logits."""
        if self.join == "logits" and len(logits) > 1:
            return self.decode_members([torch.stack(logits).mean(0)])
        if self.join == "mixture" and len(logits) > 1:
            # One distribution, the members' pooled one (a mixture: where they disagree it keeps
            # each one's mode), decoded by its annealed mean: log p / T through the softmax.
            pooled = cast(torch.Tensor, sum(torch.softmax(member.float(), dim=1)
                                            for member in logits)) / len(logits)
            decoded = torch.nn.functional.conv2d(
                torch.softmax(torch.log(pooled.clamp_min(1e-12)) / self.temperature, dim=1),
                self.centers.t()[:, :, None, None])
            return decoded * self.restraint(pooled, dim=1) if self.gated else decoded
        # Sums over the members, tensors from the first one on (Any: they start as the float 0).
        ab: Any = 0.0
        mean_p: Any = 0.0
        for member in logits:
            probabilities = torch.softmax(member.float() / self.temperature, dim=1)
            # A 1x1 convolution with the centres as weights: the expectation over bins per pixel.
            ab = ab + torch.nn.functional.conv2d(probabilities,
                                                 self.centers.t()[:, :, None, None])
            if self.gated:
                mean_p = mean_p + torch.softmax(member.float(), dim=1)
        ab = ab / len(logits)
        return ab * self.restraint(mean_p / len(logits), dim=1) if self.gated else ab

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.forward_members([features], [self])

    def forward_members(self, features: list[torch.Tensor], heads: list[BinsHead]
                        ) -> torch.Tensor:
        """Each member's decoder features through its own head's convolution, decoded together
        with this head's temperature and gate (:meth:`decode_members`) -> (B,2,H,W)."""
        if self.channels_last:
            return self._forward_channels_last(features, heads, False)[0]
        return self.decode_members([head.logits(x) for x, head in zip(features, heads,
                                                                       strict=True)])

    def forward_members_confidence(self, features: list[torch.Tensor], heads: list[BinsHead]
                                   ) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`forward_members` and where the colour is a guess: -> ((B,2,H,W) ab,
        (B,1,H,W) confidence in [0, 1]) (:meth:`spread_confidence`): 1 where the decoded
        distributions, pooled over the members, put all their weight on one bin; 0 where they
        are as spread as a uniform distribution over every bin. Members that disagree spread
        the pool, so the map is low both where each member is unsure and where they differ."""
        if self.channels_last:
            ab, confidence = self._forward_channels_last(features, heads, True)
            assert confidence is not None
            return ab, confidence
        logits = [head.logits(x) for x, head in zip(features, heads, strict=True)]
        if self.join == "logits" and len(logits) > 1:
            logits = [torch.stack(logits).mean(0)]
        moments = cast(torch.Tensor, sum(torch.nn.functional.conv2d(
            torch.softmax(member.float() / self.temperature, dim=1),
            self.moments.t()[:, :, None, None]) for member in logits)) / len(logits)
        return self.decode_members(logits), self.spread_confidence(moments, dim=1)

    def spread_confidence(self, moments: torch.Tensor, dim: int) -> torch.Tensor:
        """Pooled (mean a, mean b, mean |ab|^2) along ``dim`` -> 1 - the distribution's ab
        standard deviation over that of a uniform distribution over the bins, clamped to
        [0, 1] (keeps ``dim`` with size 1)."""
        mean, second = moments.narrow(dim, 0, 2), moments.narrow(dim, 2, 1)
        variance = (second - (mean ** 2).sum(dim, keepdim=True)).clamp_min(0.0)
        return (1.0 - torch.sqrt(variance / self.uniform_variance)).clamp(0.0, 1.0)

    def keep_bins(self, indices: list[int]) -> None:
        """Keep only the bins ``indices`` (of the Q of :func:`ab_bin_centers`), in place: the
        convolution's rows and the centres. For export (:mod:`autocolor.infer.bin_usage`):
        a bin whose annealed probability is negligible on every pixel adds nothing to the
        annealed mean, and the head's matrix product and softmax shrink with Q. The
        confidence keeps the whole grid's unit. Not for a gated head, whose gate reads the
        distribution at T = 1, where every bin weighs.

        Raises:
            ValueError: a gated head, no index, or one outside 0..Q-1.
        """
        if self.gated:
            raise ValueError("a gated head reads every bin at T = 1; its bins cannot be dropped")
        index = torch.as_tensor(sorted(set(indices)), dtype=torch.long)
        if index.numel() == 0 or int(index[0]) < 0 or int(index[-1]) >= self.centers.shape[0]:
            raise ValueError(f"bins to keep must be 1 to {self.centers.shape[0]} indices in "
                             f"0..{self.centers.shape[0] - 1}")
        conv = nn.Conv2d(self.conv.in_channels, index.numel(), 1).to(self.conv.weight.device)
        with torch.no_grad():
            conv.weight.copy_(self.conv.weight[index])
            assert self.conv.bias is not None and conv.bias is not None
            conv.bias.copy_(self.conv.bias[index])
        self.conv = conv
        self.centers = self.centers[index]
        self.moments = self.moments[index]

    def prepare_for_export(self) -> None:
        """Compute channels-last from now on (same math, same parameters and temperature):
        ONNX Runtime's Softmax over the channel axis of an NCHW tensor transposes internally and
        took 80% of lite0-unet's time; over the last axis of a (pixels, bins) matrix it is a
        fast contiguous kernel."""
        self.channels_last = True

    def _forward_channels_last(self, features: list[torch.Tensor], heads: list[BinsHead],
                               confident: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        """:meth:`forward_members` on (pixels, channels): each 1x1 convolution is one matrix
        product with the bias fused (Gemm) and the temperature applied to the weights
        (logits / T = x (W / T)^T + b / T), so no extra pass runs over the (pixels, Q) logits."""
        if self.join == "mixture":
            raise NotImplementedError("the mixture join was screened on the torch path only")
        batch, _, height, width = features[0].shape
        # Sums over the members, tensors from the first one on (Any: they start as the float 0).
        ab: Any = 0.0
        mean_p: Any = 0.0
        # With the confidence, one more column: (mean a, mean b, mean |ab|^2) per pixel.
        columns = self.moments if confident else self.centers
        terms = []  # per distribution to decode: (pixels (B*H*W, C), weight (Q, C), bias (Q,))
        for x, head in zip(features, heads, strict=True):
            assert head.conv.bias is not None
            terms.append((x.permute(0, 2, 3, 1).reshape(-1, x.shape[1]),
                          head.conv.weight.flatten(1), head.conv.bias))
        if self.join == "logits" and len(terms) > 1:
            # The mean of the members' logits is one product over their features side by side.
            terms = [(torch.cat([t[0] for t in terms], dim=1),
                      torch.cat([t[1] for t in terms], dim=1) / len(terms),
                      torch.stack([t[2] for t in terms]).mean(0))]
        for pixels, weight, bias in terms:
            # (B*H*W, Q), already divided by T
            logits = torch.addmm(bias / self.temperature, pixels, (weight / self.temperature).t())
            ab = ab + torch.softmax(logits.float(), dim=-1) @ columns  # the annealed mean
            if self.gated:  # the gate's confidence is of the distribution at T = 1
                mean_p = mean_p + torch.softmax(logits.float() * self.temperature, dim=-1)
        ab = ab / len(terms)
        confidence = None
        if confident:
            confidence = self.spread_confidence(ab, dim=-1).reshape(batch, 1, height, width)
            ab = ab[:, :2]
        if self.gated:
            ab = ab * self.restraint(mean_p / len(terms), dim=-1)
        return ab.reshape(batch, height, width, 2).permute(0, 3, 1, 2), confidence
