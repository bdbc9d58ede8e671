"""Model registry: ``create_model(name, pretrained=...)``, ``list_models()``, ``register_model``.

Their first use imports torch and registers every architecture; importing the package alone
does not, so ``autocolor models --weights`` (metadata only) runs without torch.
"""

from __future__ import annotations

__all__ = ["create_model", "list_models", "register_model"]


def __getattr__(name: str):
    if name in __all__:
        from autocolor.models import registry, unet, vgg19  # noqa: F401  (registration)

        return getattr(registry, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
