"""A timm-style model registry: ``create_model(name, pretrained=..., **kwargs)``."""

from __future__ import annotations

from collections.abc import Callable

import torch

from autocolor.models.base import ColorizationModel

ModelFactory = Callable[..., ColorizationModel]
_REGISTRY: dict[str, ModelFactory] = {}


def register_model(name: str) -> Callable[[ModelFactory], ModelFactory]:
    """Decorator: register ``factory(pretrained: bool, **kwargs) -> ColorizationModel`` under
    ``name``."""

    def decorate(factory: ModelFactory) -> ModelFactory:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is already registered")
        _REGISTRY[name] = factory
        return factory

    return decorate


def list_models() -> list[str]:
    return sorted(_REGISTRY)


def create_model(name: str, pretrained: bool = False, **kwargs: object) -> ColorizationModel:
    """Build a registered colorization model mapping L_norm (B,1,H,W) -> ab_norm (B,2,H,W).

    Every model is a :class:`~autocolor.models.base.ColorizationModel` with an ``encoder`` and a
    ``head`` module, the interface training and export rely on; a factory that makes anything
    else is refused here (TypeError).

    Args:
        name: one of :func:`list_models`.
        pretrained: load the encoder's ImageNet weights (never downloads; see each model).
        kwargs: passed to the model's factory (for example ``encoder_weights=PATH``).
    """
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; available: {', '.join(list_models())}")
    model = _REGISTRY[name](pretrained=pretrained, **kwargs)
    if not isinstance(model, ColorizationModel):
        raise TypeError(f"model {name!r}: its factory made a {type(model).__name__}, not a "
                        "ColorizationModel (autocolor.models.base), which training and export "
                        "need")
    missing = [part for part in ("encoder", "head") if not isinstance(
        getattr(model, part, None), torch.nn.Module)]
    if missing:
        raise TypeError(f"model {name!r} has no {' or '.join(missing)} module (the "
                        "ColorizationModel contract)")
    model.architecture = name  # recorded in weights metadata, with the kwargs that shape it
    model.model_kwargs = {k: v for k, v in kwargs.items() if k != "encoder_weights"}
    return model
