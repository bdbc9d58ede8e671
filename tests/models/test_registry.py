"""autocolor.models.registry: names, errors, kwargs and the recorded architecture."""

from __future__ import annotations

import pytest
import torch

from autocolor.models import create_model, list_models, register_model, registry
from autocolor.models.base import ColorizationModel
from autocolor.models.heads import BinsHead, RegressionHead


@pytest.fixture
def scratch_registry(monkeypatch: pytest.MonkeyPatch) -> dict:
    """A copy of the registry, so test registrations do not leak into other tests."""
    copy = dict(registry._REGISTRY)
    monkeypatch.setattr(registry, "_REGISTRY", copy)
    return copy


def test_builtin_models_are_listed() -> None:
    names = list_models()
    assert "lite0-unet" in names and "seed-vgg19" in names
    assert names == sorted(names)


def test_unknown_model_name() -> None:
    with pytest.raises(ValueError, match="unknown model 'nope'") as error:
        create_model("nope")
    assert "lite0-unet" in str(error.value) and "seed-vgg19" in str(error.value)


def test_duplicate_registration_is_refused(scratch_registry: dict) -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_model("lite0-unet")(lambda pretrained=False: torch.nn.Identity())
    assert scratch_registry["lite0-unet"] is registry._REGISTRY["lite0-unet"]


class Tiny(ColorizationModel):
    """The smallest model that keeps the contract."""

    def __init__(self, width: int = 1) -> None:
        super().__init__()
        self.encoder = torch.nn.Conv2d(1, width, 1)
        self.head = torch.nn.Conv2d(width, 2, 1)

    def forward(self, l_norm: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(l_norm))


def test_register_and_create(scratch_registry: dict) -> None:
    calls = []

    @register_model("test-tiny")
    def factory(pretrained: bool = False, width: int = 1) -> Tiny:
        calls.append((pretrained, width))
        return Tiny(width)

    assert "test-tiny" in list_models()
    model = create_model("test-tiny", pretrained=True, width=3)
    assert isinstance(model, Tiny)
    assert calls == [(True, 3)]
    assert model.architecture == "test-tiny" and model.model_kwargs == {"width": 3}
    with pytest.raises(ValueError, match="already registered"):
        register_model("test-tiny")(factory)


def test_models_that_break_the_contract_are_refused(scratch_registry: dict) -> None:
    register_model("test-identity")(lambda pretrained=False: torch.nn.Identity())
    with pytest.raises(TypeError, match="made a Identity, not a ColorizationModel"):
        create_model("test-identity")

    class Headless(Tiny):
        def __init__(self) -> None:
            super().__init__()
            del self.head

    register_model("test-headless")(lambda pretrained=False: Headless())
    with pytest.raises(TypeError, match="has no head module"):
        create_model("test-headless")


def test_kwargs_reach_the_factory_and_architecture_is_recorded() -> None:
    bins = create_model("lite0-unet", head="bins", temperature=0.3)
    regression = create_model("lite0-unet", head="regression")
    assert isinstance(bins.head, BinsHead) and float(bins.head.temperature) == pytest.approx(0.3)
    assert isinstance(regression.head, RegressionHead)
    assert bins.architecture == "lite0-unet"
    assert create_model("seed-vgg19").architecture == "seed-vgg19"
    with pytest.raises(TypeError):
        create_model("lite0-unet", no_such_option=1)
