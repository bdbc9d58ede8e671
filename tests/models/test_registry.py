"""autocolor.models.registry: names, errors, kwargs and the recorded architecture."""

from __future__ import annotations

import pytest
import torch

from autocolor.models import create_model, list_models, register_model, registry
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


def test_register_and_create(scratch_registry: dict) -> None:
    calls = []

    @register_model("test-identity")
    def factory(pretrained: bool = False, width: int = 1) -> torch.nn.Module:
        calls.append((pretrained, width))
        return torch.nn.Identity()

    assert "test-identity" in list_models()
    model = create_model("test-identity", pretrained=True, width=3)
    assert isinstance(model, torch.nn.Identity)
    assert calls == [(True, 3)]
    assert model.architecture == "test-identity"
    with pytest.raises(ValueError, match="already registered"):
        register_model("test-identity")(factory)


def test_kwargs_reach_the_factory_and_architecture_is_recorded() -> None:
    bins = create_model("lite0-unet", head="bins", temperature=0.3)
    regression = create_model("lite0-unet", head="regression")
    assert isinstance(bins.head, BinsHead) and float(bins.head.temperature) == pytest.approx(0.3)
    assert isinstance(regression.head, RegressionHead)
    assert bins.architecture == "lite0-unet"
    assert create_model("seed-vgg19").architecture == "seed-vgg19"
    with pytest.raises(TypeError):
        create_model("lite0-unet", no_such_option=1)
