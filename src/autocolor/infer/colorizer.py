"""The Python API: ``Colorizer.from_pretrained("default").colorize(image)``."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from autocolor.images import LoadedImage, lab_to_rgb_array, lightness_from_pil
from autocolor.infer.backends import Backend, create_backend
from autocolor.infer.pipeline import (
    DEFAULT_RENDER_SIZE,
    model_input,
    render_rgb,
    render_shape,
    upsample_ab,
)
from autocolor.weights import read_metadata, resolve_weights

# Render pixels in one backend call at most (4 renders of 384x288; 2 of 512x384).
MAX_BATCH_RENDER_PIXELS = 1 << 19


class Colorizer:
    """Colours lightness with a model at a render size, then joins at full resolution."""

    def __init__(self, backend: Backend, render_size: int, metadata: dict[str, Any] | None = None,
                 batch_size: int = 8) -> None:
        self.backend = backend
        self.render_size = int(render_size)
        self.metadata = metadata or {}
        self.batch_size = batch_size

    @classmethod
    def from_pretrained(cls, name_or_path: str | os.PathLike = "default", backend: str = "auto",
                        device: str = "cpu", render_size: int | None = None,
                        batch_size: int = 8) -> Colorizer:
        """Load installed weights by name ('default'), a ``.safetensors`` or an ``.onnx`` path.

        Never downloads. An ``.onnx`` file (``autocolor export onnx``) stands on its own: its
        render size and the rest of the metadata come from the ONNX ``metadata_props``.
        """
        weights = resolve_weights(name_or_path)
        if weights.suffix == ".onnx":
            if backend == "torch":
                raise ValueError(f"{weights}: an ONNX file runs on --backend onnx (or auto), "
                                 "not torch; pass the .safetensors weights for torch")
            backend = "onnx"
        runner = create_backend(backend, weights, device)
        if weights.suffix == ".safetensors":
            metadata = read_metadata(weights)
        else:
            metadata = dict(getattr(runner, "metadata", {}) or {})
        size = render_size or int(metadata.get("render_size", DEFAULT_RENDER_SIZE))
        return cls(runner, size, metadata, batch_size)

    # -- core: lightness in, full-resolution ab out -------------------------------------------

    def predict_ab_norm(self, lightness_list: Sequence[np.ndarray]) -> list[np.ndarray]:
        """[(H_i, W_i) L in [0,100]] -> [(2, h_i, w_i) ab_norm at the render shape].

        Photos whose renders have the same shape go through the backend together, up to
        ``batch_size`` at a time and, on the CPU, :data:`MAX_BATCH_RENDER_PIXELS` render pixels
        (the activations grow with the batch: 8 renders of 512 px hold two (pixels/16, 529)
        float32 tensors of 0.2 GB each in the bins head alone, while on a CPU batching hardly
        changes throughput). On a GPU it does.
        """
        shapes = [render_shape(*lightness.shape, self.render_size) for lightness in lightness_list]
        results: list[np.ndarray | None] = [None] * len(lightness_list)
        by_shape: dict[tuple[int, int], list[int]] = {}
        for index, shape in enumerate(shapes):
            by_shape.setdefault(shape, []).append(index)
        for shape, indices in by_shape.items():
            size = max(1, self.batch_size)
            if getattr(self.backend, "device", "cpu") == "cpu":  # host memory; GPUs have plenty
                size = max(1, min(size, MAX_BATCH_RENDER_PIXELS // (shape[0] * shape[1])))
            for start in range(0, len(indices), size):
                chunk = indices[start:start + size]
                batch = np.stack([model_input(lightness_list[i], shape) for i in chunk])  # (B,1,h,w)
                ab_small = self.backend.predict(batch)  # (B,2,h,w)
                for row, index in enumerate(chunk):
                    results[index] = ab_small[row]
        return results  # type: ignore[return-value]

    def colorize_lightness_batch(self, lightness_list: Sequence[np.ndarray]) -> list[np.ndarray]:
        """[(H_i, W_i) L in [0,100]] -> [(H_i, W_i, 2) ab]; same-shaped renders share a batch."""
        predicted = self.predict_ab_norm(lightness_list)
        return [upsample_ab(ab_norm, *lightness.shape)
                for ab_norm, lightness in zip(predicted, lightness_list, strict=True)]

    def colorize_lightness(self, lightness: np.ndarray, hints=None, reference=None,
                           saturation: float = 1.0) -> np.ndarray:
        """(H, W) L in [0, 100] -> (H, W, 2) ab in Lab units, with optional colour control.

        Args:
            hints: a :class:`autocolor.hints.HintSet` in upright-image coordinates.
            reference: (h, w, 3) uint8 colour photo whose palette to follow, or a Pillow image.
            saturation: scales the predicted chroma (1.0 = as predicted).
        """
        ab = self.colorize_lightness_batch([lightness])[0]
        return self.steer(lightness, ab, hints=hints, reference=reference, saturation=saturation)

    @staticmethod
    def steer(lightness: np.ndarray, ab: np.ndarray, hints=None, reference=None,
              saturation: float = 1.0) -> np.ndarray:
        """Apply saturation, a reference photo and hint points to a predicted ab, in that order
        (hints last: they are the user's most specific word)."""
        if saturation != 1.0:
            ab = ab * np.float32(saturation)
        if reference is not None:
            from autocolor.hints import transfer_reference

            if isinstance(reference, Image.Image):
                reference = np.asarray(reference.convert("RGB"))
            ab = transfer_reference(lightness, ab, reference)
        if hints is not None and len(hints.points):
            from autocolor.hints import propagate_hints

            ab = propagate_hints(lightness, ab, hints)
        return ab.astype(np.float32, copy=False)

    # -- images -------------------------------------------------------------------------------

    def colorize_loaded(self, loaded: LoadedImage, **steering) -> np.ndarray:
        """A :class:`LoadedImage` -> (H, W, 3) uint8/uint16 sRGB at full resolution."""
        return self.finish(loaded, self.predict_ab_norm([loaded.lightness])[0], **steering)

    def finish(self, loaded: LoadedImage, ab_norm: np.ndarray, hints=None, reference=None,
               saturation: float = 1.0) -> np.ndarray:
        """A :class:`LoadedImage` and its predicted ab_norm (2, h, w) (:meth:`predict_ab_norm`)
        -> (H, W, 3) uint8/uint16 sRGB, with the same steering as :meth:`colorize_lightness`.

        Without hints or a reference, upsampling and the join run fused, strip by strip
        (:func:`~autocolor.infer.pipeline.render_rgb`), never holding a full-resolution ab.
        """
        lightness = loaded.lightness
        if reference is None and (hints is None or not len(hints.points)):
            return render_rgb(lightness, ab_norm, loaded.bit_depth, saturation)
        ab = upsample_ab(ab_norm, *lightness.shape)
        ab = self.steer(lightness, ab, hints=hints, reference=reference, saturation=saturation)
        return lab_to_rgb_array(lightness, ab, loaded.bit_depth)

    def colorize(self, image: Image.Image | np.ndarray, **steering) -> Image.Image | np.ndarray:
        """Colour a Pillow image or a NumPy array; returns the same kind, RGB (RGBA with alpha).

        Arrays: (H, W) gray or (H, W, 3|4) uint8/uint16; uint16 in gives uint16 out.
        Colour inputs are taken to gray first (only their lightness is used).
        """
        as_array = isinstance(image, np.ndarray)
        pil = _array_to_pil(image) if as_array else image
        if not isinstance(pil, Image.Image):
            raise TypeError(f"expected a PIL.Image or numpy.ndarray, got {type(image).__name__}")
        loaded = lightness_from_pil(pil)
        rgb = self.colorize_loaded(loaded, **steering)
        if loaded.alpha is not None:
            rgb = np.concatenate([rgb, loaded.alpha[..., None].astype(rgb.dtype)], axis=-1)
        if as_array:
            return rgb
        if rgb.dtype == np.uint16:  # Pillow has no 16-bit RGB mode; the file path keeps 16 bits
            rgb = (rgb // 257).astype(np.uint8)
        return Image.fromarray(rgb, "RGBA" if rgb.shape[-1] == 4 else "RGB")

    def colorize_file(self, source: str | os.PathLike, target: str | os.PathLike,
                      **steering) -> Path:
        from autocolor.images import load_image, save_image

        loaded = load_image(source)
        return save_image(self.colorize_loaded(loaded, **steering), target, loaded)


def _array_to_pil(array: np.ndarray) -> Image.Image:
    if array.ndim == 2:
        if array.dtype == np.uint16:
            return Image.fromarray(array.astype(np.int32), "I")
        return Image.fromarray(_to_uint8(array), "L")
    if array.ndim == 3 and array.shape[-1] in (3, 4):
        if array.dtype == np.uint16:
            # Keep 16-bit precision for the lightness: build L from a 16-bit luminance plane.
            raise TypeError("16-bit colour arrays are not supported; pass a 16-bit gray array")
        return Image.fromarray(_to_uint8(array), "RGB" if array.shape[-1] == 3 else "RGBA")
    raise ValueError(f"expected (H, W), (H, W, 3) or (H, W, 4), got shape {array.shape}")


def _to_uint8(array: np.ndarray) -> np.ndarray:
    if array.dtype == np.uint8:
        return array
    if np.issubdtype(array.dtype, np.floating):
        return (np.clip(array, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    raise TypeError(f"unsupported array dtype {array.dtype}; use uint8, uint16 or float in [0, 1]")
