"""Model registry. Importing this package registers every architecture."""

from autocolor.models import unet, vgg19  # noqa: F401  (registration side effects)
from autocolor.models.registry import create_model, list_models, register_model

__all__ = ["create_model", "list_models", "register_model"]
