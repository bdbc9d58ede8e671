"""The ColorizationModel contract: what training and export use, and nothing private."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from autocolor.infer.export import export_friendly, model_temperature
from autocolor.models import create_model, list_models
from autocolor.models.base import ColorizationModel, check_l_norm
from autocolor.models.heads import BinsHead


class ToyColorizer(ColorizationModel):
    """A third architecture written against the contract alone (its inner names are its own)."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Conv2d(1, 8, 3, stride=4, padding=1), nn.BatchNorm2d(8),
                                     nn.ReLU())
        self.mixer = nn.Conv2d(8, 8, 1)
        self.head = BinsHead(8, temperature=0.7)

    def forward(self, l_norm: torch.Tensor) -> torch.Tensor:
        check_l_norm(l_norm)
        ab = self.head(self.mixer(self.encoder(l_norm)))  # (B,2,H/4,W/4)
        return nn.functional.interpolate(ab, scale_factor=4.0, mode="bilinear")


def _l_norm(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_check_l_norm_is_public_and_strict() -> None:
    check_l_norm(torch.zeros(2, 1, 64, 96))
    with pytest.raises(ValueError, match=r"\(B,1,H,W\)"):
        check_l_norm(torch.zeros(1, 3, 64, 64))
    with pytest.raises(ValueError, match="multiples of 32"):
        check_l_norm(torch.zeros(1, 1, 64, 40))


@pytest.mark.parametrize("name", list_models())
def test_every_registered_model_keeps_the_contract(name: str) -> None:
    model = create_model(name).eval()
    assert isinstance(model, ColorizationModel)
    assert isinstance(model.encoder, nn.Module) and isinstance(model.head, nn.Module)
    assert [id(p) for p in model.encoder_parameters()] == [id(p) for p in model.encoder.parameters()]
    with torch.inference_mode():
        assert model(_l_norm(1, 1, 64, 64)).shape == (1, 2, 64, 64)
    with pytest.raises(ValueError):
        model(torch.zeros(1, 1, 64, 50))
    if isinstance(model.head, BinsHead):
        logits, _ = model.bins_outputs(_l_norm(1, 1, 64, 64))
        assert logits.shape[1] == model.head.conv.out_channels
    else:
        with pytest.raises(NotImplementedError, match="no bins head"):
            model.bins_outputs(_l_norm(1, 1, 64, 64))


def test_training_freezes_a_new_architecture_through_the_contract() -> None:
    from autocolor.train import loop

    model = ToyColorizer()
    model.train()
    loop.set_encoder_trainable(model, trainable=False, freeze_bn=False)
    assert not any(p.requires_grad for p in model.encoder_parameters())
    assert all(p.requires_grad for p in model.mixer.parameters())
    assert not model.encoder[1].training and model.mixer.training  # BatchNorm keeps its stats
    model.train()
    loop.set_encoder_trainable(model, trainable=True, freeze_bn=True)
    assert all(p.requires_grad for p in model.encoder_parameters())
    assert not model.encoder[1].training
    model.train()
    loop.set_encoder_trainable(model, trainable=True, freeze_bn=False)
    assert model.encoder[1].training
    assert model_temperature(model) == pytest.approx(0.7)
    assert loop.model_kwargs_for_export(model, loop.TrainConfig())["temperature"] == 0.7


def test_prepare_for_export_works_on_a_new_architecture() -> None:
    model = ToyColorizer().eval()
    friendly = export_friendly(model)
    assert friendly.head.channels_last and not model.head.channels_last  # a copy was rewritten
    l_norm = _l_norm(2, 1, 64, 96, seed=1)
    with torch.inference_mode():
        torch.testing.assert_close(friendly(l_norm), model(l_norm), atol=1e-5, rtol=0)
    with pytest.raises(TypeError, match="ColorizationModel"):
        export_friendly(nn.Identity())


@pytest.mark.parametrize("name,folded", [("lite0-unet", True), ("lite2-unet", True),
                                         ("seed-vgg19", False)])
def test_prepare_for_export_of_the_builtin_models(name: str, folded: bool) -> None:
    """Lite's gray input is normalized alike in its three channels, so its stem takes one;
    VGG19's ImageNet mean and std differ per channel, so it keeps three. Same outputs."""
    model = create_model(name).eval()
    reference = [m for m in model.modules() if isinstance(m, nn.Conv2d)][0].weight.shape[1]
    friendly = export_friendly(model)
    first_conv = [m for m in friendly.modules() if isinstance(m, nn.Conv2d)][0]
    assert reference == 3 and first_conv.weight.shape[1] == (1 if folded else 3)
    assert friendly.to_encoder_input.one_channel is folded
    l_norm = _l_norm(1, 1, 64, 64, seed=2)
    with torch.inference_mode():
        torch.testing.assert_close(friendly(l_norm), model(l_norm), atol=1e-4, rtol=0)
