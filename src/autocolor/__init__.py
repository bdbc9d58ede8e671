"""autocolor: automatic, steerable colorization of black-and-white photographs."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["Colorizer", "create_model", "__version__"]


def __getattr__(name: str):
    # Lazy so that `import autocolor` stays torch-free (the ONNX path must not import torch).
    if name == "Colorizer":
        from autocolor.infer.colorizer import Colorizer

        return Colorizer
    if name == "create_model":
        from autocolor.models import create_model

        return create_model
    raise AttributeError(name)
