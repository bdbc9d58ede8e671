"""What every colorization model is, so that training and export never guess attribute names.

timm's encoder/head contract, for colorizers. A :class:`ColorizationModel`

- maps ``L_norm (B,1,H,W)`` in [-1, 1] to ``ab_norm (B,2,H,W)`` (:meth:`~ColorizationModel.forward`,
  checking its input with :func:`check_l_norm`);
- has an ``encoder`` (the ImageNet-pretrained part: ``encoder_parameters()`` get their own
  learning rate and can be frozen, and training keeps its BatchNorm statistics through
  ``encoder.eval()``) and a ``head`` (a :class:`~autocolor.models.heads.BinsHead` gets its
  decoding temperature tuned and exported);
- optionally, with a bins head, ``bins_outputs(l_norm)`` for the cross-entropy loss and
  ``forward_confidence(l_norm)``: ab and where the model was sure of it;
- rewrites itself for export (:meth:`~ColorizationModel.prepare_for_export`, same math).

:func:`autocolor.models.create_model` refuses a factory whose model is not one.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from autocolor.models.heads import BinsHead

# Every model downsamples 5 times (infer.pipeline.SIZE_MULTIPLE, the torch-free side's copy).
SIZE_MULTIPLE = 32


def check_l_norm(l_norm: torch.Tensor) -> None:
    """Refuse what no model can colour: anything but (B,1,H,W) with H and W multiples of 32.

    Raises:
        ValueError: naming the shape received.
    """
    if l_norm.ndim != 4 or l_norm.shape[1] != 1:
        raise ValueError(f"expected L_norm of shape (B,1,H,W), got {tuple(l_norm.shape)}")
    if l_norm.shape[-1] % SIZE_MULTIPLE or l_norm.shape[-2] % SIZE_MULTIPLE:
        raise ValueError(f"H and W must be multiples of {SIZE_MULTIPLE}, "
                         f"got {tuple(l_norm.shape[-2:])}")


class ColorizationModel(nn.Module):
    """Base class of registered models: ``encoder``, ``head``, ``encoder_parameters()``,
    ``forward(l_norm)``, optional ``bins_outputs(l_norm)``, ``prepare_for_export()``.

    Subclasses assign ``self.encoder`` and ``self.head`` (modules, or properties returning
    them where the state-dict names are fixed otherwise) and implement :meth:`forward`.
    ``architecture`` and ``model_kwargs`` are set by :func:`~autocolor.models.create_model`.
    """

    encoder: nn.Module
    head: nn.Module
    architecture: str
    model_kwargs: dict

    def encoder_parameters(self) -> list[nn.Parameter]:
        """The encoder's parameters (their own learning rate; frozen for the first epochs)."""
        return list(self.encoder.parameters())

    def forward(self, l_norm: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        """L_norm (B,1,H,W) in [-1, 1] -> ab_norm (B,2,H,W)."""
        raise NotImplementedError

    def bins_outputs(self, l_norm: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """For the cross-entropy loss: bin logits (B,Q,H/s,W/s) and a refined ab_norm or None;
        a model with K decoder members stacks theirs along the batch axis (K*B rows). Only
        models with a bins head have it."""
        raise NotImplementedError(f"{type(self).__name__} has no bins head; use an l1/mse/huber "
                                  "loss, or head='bins'")

    def forward_confidence(self, l_norm: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """L_norm (B,1,H,W) -> (ab_norm (B,2,H,W), confidence (B,1,H,W) in [0, 1]: how sure the
        model is of each pixel's colour). Only models with a bins head have it."""
        raise NotImplementedError(f"{type(self).__name__} has no bins head: no distribution "
                                  "to read a confidence from")

    def set_decoding(self, temperature: float, gate: tuple[float, float] | None) -> None:
        """How the bins head decodes: annealed-mean temperature and confidence gate (tuned on
        validation after training). Models with several heads set them all."""
        head: Any = self.head  # a BinsHead (or one holding several)
        head.temperature.fill_(temperature)
        head.set_gate(gate)

    def prepare_for_export(self) -> ColorizationModel:
        """In place (call it on a copy), the same math in the forms ONNX Runtime runs fastest;
        returns ``self``. Here: every :class:`BinsHead` computes channels-last
        (:meth:`BinsHead.prepare_for_export`). Models with more to rewrite extend it."""
        for module in self.modules():
            if isinstance(module, BinsHead):
                module.prepare_for_export()
        return self


class WithConfidence(nn.Module):
    """A bins model whose ``forward`` gives ``(ab_norm, confidence)``
    (:meth:`ColorizationModel.forward_confidence`): what ``autocolor export onnx`` writes, so
    that the ONNX file has both outputs."""

    def __init__(self, model: ColorizationModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, l_norm: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model.forward_confidence(l_norm)

