"""The Python API, and the one path every front end takes: ``Colorizer``.

``Colorizer.from_pretrained("default").colorize(image)`` for one photo. Front ends that handle
many (the command line, the web app, the HTTP API, Ray, films) take the same three steps
through the same methods:

1. :meth:`Colorizer.plan` - the per-photo policy: the pixel limit, hints mapped and checked
   against the photo, the reference photo reduced to what is used, the output's name, and, when
   asked (``restore=``), the old print's lightness restored (:mod:`autocolor.restore`): the
   plan's photo then carries the restored lightness, which the output keeps; the network sees
   it before its levels were stretched (:attr:`autocolor.restore.Restored.for_colour`). The
   plan also holds the network's input (:meth:`Colorizer.render_input`), built once: it is the
   guide of the upsampling too (unless the levels were stretched: then ``guide_input``), and
   all that the network stage needs;
2. :meth:`Colorizer.predict` - the network, on a batch of render inputs;
3. :meth:`Colorizer.finish_plan` - upsampling, steering and the join with the full-resolution
   lightness (fused strip by strip when nothing is steered), then ``image_output.save_image``.

:meth:`Colorizer.colorize_plans` runs 2 and 3 on a batch; :meth:`Colorizer.colorize_file` all
of it for one file; :meth:`Colorizer.colorize_lightness` is lightness in, ab out (evaluation).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np
from PIL import Image

from autocolor.image_output import PLANE_FORMATS, Rendered, fit_target, format_of
from autocolor.images import (
    DEFAULT_MAX_PIXELS,
    LoadedImage,
    PixelLimitError,
    lab_to_rgb_array,
    lightness_from_pil,
)
from autocolor.infer.backends import Backend, create_backend
from autocolor.infer.confidence_map import resize_codes, resize_raw, stored_deciles, to_codes
from autocolor.infer.photo_plan import PhotoPlan, marked_xmp, reference_rgb, restore_photo
from autocolor.infer.pipeline import (
    DEFAULT_RENDER_SIZE,
    guide_of,
    model_input,
    render_rgb,
    render_shape,
    render_ycbcr,
    upsample_ab,
)
from autocolor.provenance import Provenance
from autocolor.weights import resolve_weights

if TYPE_CHECKING:
    from autocolor.hints import HintSet

# Planning a photo (photo_plan.py) is part of this module's API.
__all__ = ["Colorizer", "PhotoPlan", "marked_xmp", "reference_rgb", "restore_photo"]

# How ab reaches full resolution (Colorizer's ``upsampling``).
UPSAMPLING = ("guided", "bilinear")
# Render pixels in one backend call at most (4 renders of 384x288; 2 of 512x384).
MAX_BATCH_RENDER_PIXELS = 1 << 19


class Colorizer:
    """Colours lightness with a model at a render size, then joins at full resolution.

    Args:
        backend: runs the network (:class:`~autocolor.infer.backends.Backend`).
        render_size: long side the network sees (default: the backend's metadata, else 384).
        metadata: what is known about the model (default: the backend's).
        batch_size: photos whose renders have the same shape share a network run.
        max_pixels: the largest photo :meth:`plan` accepts.
        model_name: names the model in the provenance of outputs (default: the weights file's
            name).
        upsampling: how ab goes from the render size to full resolution: "guided" (edge-aware,
            the fast guided filter of :mod:`autocolor.infer.guided`; the default) or
            "bilinear".
    """

    def __init__(self, backend: Backend, render_size: int | None = None,
                 metadata: dict[str, Any] | None = None, batch_size: int = 8,
                 max_pixels: int = DEFAULT_MAX_PIXELS, model_name: str | None = None,
                 upsampling: str = "guided") -> None:
        if upsampling not in UPSAMPLING:
            raise ValueError(f"upsampling must be one of {UPSAMPLING}, got {upsampling!r}")
        self.guided = upsampling == "guided"
        self.backend = backend
        self.model_name = model_name
        self._provenance: Provenance | None = None
        self._deciles: np.ndarray | None = None  # read once (confidence_map)
        self._deciles_read = False
        self.metadata = dict(backend.metadata if metadata is None else metadata)
        self.render_size = int(render_size or self.metadata.get("render_size",
                                                                DEFAULT_RENDER_SIZE))
        self.batch_size = batch_size
        self.max_pixels = int(max_pixels)

    @classmethod
    def from_pretrained(cls, name_or_path: str | os.PathLike = "default", backend: str = "auto",
                        device: str = "cpu", render_size: int | None = None,
                        batch_size: int = 8, max_pixels: int = DEFAULT_MAX_PIXELS,
                        upsampling: str = "guided") -> Colorizer:
        """Load installed weights by name ('default'), a ``.safetensors`` or an ``.onnx`` path.

        Never downloads. The metadata (render size included) is the file's that runs: with
        ``auto`` that is the ONNX file beside the weights when there is one, whose
        ``metadata_props`` may record another render size than the ``.safetensors``.
        """
        weights = resolve_weights(name_or_path)
        if weights.suffix == ".onnx":
            if backend == "torch":
                raise ValueError(f"{weights}: an ONNX file runs on --backend onnx (or auto), "
                                 "not torch; pass the .safetensors weights for torch")
            backend = "onnx"
        runner = create_backend(backend, weights, device)
        # An installed name ("default") names the model; a path is named by its file.
        name = str(name_or_path) if not Path(name_or_path).suffix else Path(name_or_path).name
        return cls(runner, render_size, None, batch_size, max_pixels, model_name=name,
                   upsampling=upsampling)

    @property
    def provenance(self) -> Provenance | None:
        """What outputs say about the model (:class:`autocolor.provenance.Provenance`: the
        model's name and the SHA-256 of the weights file that runs, hashed once), or None for a
        backend that runs no file (a stand-in in tests)."""
        if self._provenance is None:
            path = getattr(self.backend, "path", None)
            if path is None:
                return None
            self._provenance = Provenance.for_weights(path, self.model_name)
        return self._provenance

    def xmp(self, provenance: bool = True, restored: Sequence[str] = ()) -> bytes | None:
        """The XMP packet every output of this colorizer carries (None with ``provenance=False``,
        the command line's ``--no-provenance``). ``restored``: the restoration steps that ran on
        the photo (:attr:`PhotoPlan.restored_steps`), recorded as its ``xmpMM:History``."""
        mark = self.provenance if provenance else None
        return marked_xmp(mark, restored) if mark is not None else None

    # -- the per-photo policy -----------------------------------------------------------------

    def plan(self, loaded: LoadedImage, target: str | os.PathLike | None = None, *,
             hints: HintSet | None = None, hints_as_stored: bool = False,
             reference: Any = None, saturation: float = 1.0,
             name: str | None = None, restore: Any = None,
             render_size: int | None = None) -> PhotoPlan:
        """Check one photo and its steering; -> a :class:`PhotoPlan` for :meth:`finish_plan`.

        Args:
            loaded: the photo (:func:`autocolor.images.load_image`).
            target: the output path; a ``.jpg`` for a photo JPEG cannot hold (alpha, 16 bits)
                becomes ``.png`` (:func:`autocolor.image_output.fit_target`).
            hints: hint points in upright coordinates, or as stored in the file (before EXIF
                rotation) with ``hints_as_stored``; they must lie on the photo.
            reference: a colour photo of a similar scene (see :func:`reference_rgb`); prepare
                it once with :func:`reference_rgb` when it serves many photos.
            saturation: chroma scale, >= 0.
            name: names the photo in errors.
            restore: restore the old print's lightness first (:func:`restore_photo`): None or
                False (the default: never), True or ``"auto"`` (the steps whose damage is
                measured), or the steps to run (names, or one comma-separated string). The plan
                then holds the restored lightness and :attr:`PhotoPlan.restored`.
            render_size: the long side the network sees (default: the colorizer's): the plan's
                :attr:`PhotoPlan.render_input` is built at it.

        Raises:
            ImageError: more than ``max_pixels`` pixels.
            ValueError: (HintError among them) bad hints, saturation, reference or restoration
                steps.
            ModuleNotFoundError: ``restore`` without OpenCV (``autocolor[restore]``).
        """
        width, height = loaded.size
        if width * height > self.max_pixels:
            raise PixelLimitError(name, f"too many pixels ({width}x{height} > limit "
                                   f"{self.max_pixels:,})")
        saturation = float(saturation)
        if not np.isfinite(saturation) or saturation < 0:
            raise ValueError(f"saturation must be a finite number >= 0, got {saturation}")
        if hints is not None and len(hints.points):
            if hints_as_stored:
                hints = hints.to_oriented(loaded.orientation, loaded.stored_size)
            hints.validate(loaded.size)
        else:
            hints = None
        if reference is not None:
            reference = reference_rgb(reference, self.max_pixels)
        restored = None
        if restore is not None and restore is not False:
            loaded, restored = restore_photo(loaded, restore)
        network = self.render_input(loaded.lightness, render_size)
        guide = None
        if restored is not None and restored.before_levels is not None:
            # the network colours the lightness before its levels stretch; the output's guides
            guide = network
            network = self.render_input(restored.before_levels, render_size)
            restored = replace(restored, before_levels=None)  # its render input is all we need
        return PhotoPlan(loaded, fit_target(Path(target), loaded) if target is not None else None,
                         saturation, hints, reference, restored,
                         render_input=network, guide_input=guide)

    # -- core: lightness in, ab out -----------------------------------------------------------

    def render_input(self, lightness: np.ndarray, render_size: int | None = None) -> np.ndarray:
        """(H, W) L in [0, 100] at full resolution -> (1, h, w) L_norm float32 at the render
        shape (long side ``render_size``, default the colorizer's; sides multiples of 32): what
        the network sees (a box reduction and a resize of the photo), and the upsampling's
        guide. The app changes ``render_size`` per photo without building another colorizer.
        """
        size = int(render_size or self.render_size)
        return model_input(lightness, render_shape(lightness.shape[0], lightness.shape[1], size))

    @property
    def has_confidence(self) -> bool:
        """Whether the model can say where it is sure (:meth:`predict_confidence`)."""
        return bool(getattr(self.backend, "has_confidence", False))

    def confidence_map(self, confidence: np.ndarray, size: tuple[int, int] | None,
                       raw: bool = False) -> np.ndarray:
        """(h, w) confidence in [0, 1] at the render shape (:meth:`predict`) ->
        (H, W) uint8 at the photo's ``size`` (width, height): 255 where the model is sure of the
        colour, 0 where it guessed; resized bilinearly.

        For the bundled model the value is calibrated on the validation photos, so 128 is a
        pixel as sure as the median one (:mod:`autocolor.infer.confidence_map`); other models
        give the raw confidence times 255. ``raw``: the (H, W) float32 raw confidence instead.

        In two steps where they run apart (the Ray engine's network actor and write task):
        ``size=None`` gives the calibrated (h, w) uint8 map at the render shape, and such a
        uint8 map given back is only resized.
        """
        if raw:
            assert size is not None
            return resize_raw(confidence, size)
        if confidence.dtype == np.uint8:
            codes = confidence
        else:
            # Calibrated and made 8-bit at the render size, then resized as 8-bit: on a 12 MP
            # photo the full-size float map, its table lookup and its rounding took 0.4 s.
            codes = to_codes(confidence, self._confidence_deciles())
        return codes if size is None else resize_codes(codes, size)

    def _confidence_deciles(self) -> np.ndarray | None:
        """The validation deciles of this model's raw confidence, when they were measured for
        these weights (matched by the SHA-256 of the .safetensors file); else None."""
        if not self._deciles_read:
            self._deciles_read = True
            sha = self.metadata.get("source_weights_sha256")
            path = getattr(self.backend, "path", None)
            if sha is None and path is not None and Path(path).suffix == ".safetensors":
                sha = self.provenance.model_sha256 if self.provenance is not None else None
            self._deciles = stored_deciles(sha)
        return self._deciles

    def predict(self, inputs: Sequence[np.ndarray], confidence: bool = False) -> list[Any]:
        """[(1, h_i, w_i) L_norm] (:meth:`render_input`) -> [(2, h_i, w_i) ab_norm].

        Inputs of the same shape go through the backend together, up to ``batch_size`` at a
        time and, on the CPU, :data:`MAX_BATCH_RENDER_PIXELS` render pixels (the activations
        grow with the batch: 8 renders of 512 px hold two (pixels/16, 529) float32 tensors of
        0.2 GB each in the bins head alone, while on a CPU batching hardly changes throughput).
        On a GPU it does. ``confidence``: each result is (ab_norm, (h, w) confidence in [0, 1]),
        from the same network pass: 1 minus the decoded distribution's ab spread over a uniform
        one's, pooled over the decoder members (:mod:`autocolor.infer.confidence_map`;
        :meth:`confidence_map` takes it to the photo's size).

        Raises:
            ValueError: ``confidence`` from a model that has none (a regression head, or an
                ONNX file exported before it; :attr:`has_confidence`).
        """
        if confidence and not self.has_confidence:
            raise ValueError("this model has no confidence output (a regression head, or an "
                             "ONNX file exported before it)")
        results: list[Any] = [None] * len(inputs)
        by_shape: dict[tuple[int, ...], list[int]] = {}
        for index, l_norm in enumerate(inputs):
            if l_norm.ndim != 3 or l_norm.shape[0] != 1:
                raise ValueError(f"expected L_norm of shape (1, h, w), got {l_norm.shape}")
            by_shape.setdefault(l_norm.shape, []).append(index)
        for shape, indices in by_shape.items():
            per_call = max(1, self.batch_size)
            if self.backend.device == "cpu":  # host memory; GPUs have plenty
                per_call = max(1, min(per_call, MAX_BATCH_RENDER_PIXELS // (shape[1] * shape[2])))
            for start in range(0, len(indices), per_call):
                chunk = indices[start:start + per_call]
                batch = np.stack([inputs[i] for i in chunk])  # (B,1,h,w)
                if confidence:
                    ab_small, sure = self.backend.predict_confidence(batch)  # (B,1,h,w)
                    for row, index in enumerate(chunk):
                        results[index] = (ab_small[row], sure[row, 0])
                    continue
                ab_small = self.backend.predict(batch)  # (B,2,h,w)
                for row, index in enumerate(chunk):
                    results[index] = ab_small[row]
        return results

    def colorize_lightness(self, lightness: np.ndarray, hints: HintSet | None = None,
                           reference: Any = None, saturation: float = 1.0,
                           coloured_from: np.ndarray | None = None) -> np.ndarray:
        """(H, W) L in [0, 100] -> (H, W, 2) ab in Lab units, with optional colour control (the
        evaluation's entry: lightness in, colour out, no file).

        Args:
            hints: a :class:`autocolor.hints.HintSet` in upright-image coordinates.
            reference: a colour photo whose palette to follow (see :func:`reference_rgb`).
            saturation: scales the predicted chroma (1.0 = as predicted).
            coloured_from: (H, W) L the network sees instead of ``lightness`` (a restored
                print's before its levels stretch, :attr:`autocolor.restore.Restored.
                for_colour`); the ab still follows ``lightness``'s edges.
        """
        l_norm = self.render_input(lightness)
        guide = guide_of(l_norm)
        if coloured_from is not None:
            if coloured_from.shape != lightness.shape:
                raise ValueError(f"coloured_from is {coloured_from.shape}, the lightness "
                                 f"{lightness.shape}")
            l_norm = self.render_input(coloured_from)
        [ab_norm] = self.predict([l_norm])
        ab = upsample_ab(ab_norm, lightness.shape[0], lightness.shape[1],
                         lightness if self.guided else None, guide)
        if reference is not None:
            reference = reference_rgb(reference, self.max_pixels)
        return self.steer(lightness, ab, hints=hints, reference=reference, saturation=saturation)

    @staticmethod
    def steer(lightness: np.ndarray, ab: np.ndarray, hints: HintSet | None = None,
              reference: np.ndarray | None = None, saturation: float = 1.0) -> np.ndarray:
        """Apply saturation, a reference photo ((h, w, 3) uint8, see :func:`reference_rgb`) and
        hint points to a predicted ab, in that order (hints last: they are the user's most
        specific word)."""
        if saturation != 1.0:
            ab = ab * np.float32(saturation)
        if reference is not None:
            from autocolor.hints import transfer_reference

            ab = transfer_reference(lightness, ab, reference)
        if hints is not None and len(hints.points):
            from autocolor.hints import propagate_hints

            ab = propagate_hints(lightness, ab, hints)
        return ab.astype(np.float32, copy=False)

    # -- photos --------------------------------------------------------------------------------

    def finish(self, loaded: LoadedImage, ab_norm: np.ndarray, hints: HintSet | None = None,
               reference: np.ndarray | None = None, saturation: float = 1.0,
               render_input: np.ndarray | None = None, fmt: str | None = None) -> Rendered:
        """A :class:`LoadedImage` and its predicted ab_norm (2, h, w) (:meth:`predict`)
        -> (H, W, 3) uint8/uint16 sRGB, with the same steering as :meth:`colorize_lightness`.

        Without hints or a reference, upsampling and the join run fused, strip by strip
        (:func:`~autocolor.infer.pipeline.render_rgb`), never holding a full-resolution ab.
        ``render_input``: the network's input (:meth:`render_input`), when the caller has it:
        the guided filter takes its guide from it instead of reducing the full-size photo a
        second time. ``fmt``: the format the result will be
        encoded in (:func:`autocolor.image_output.format_of`, or a video's ``"yuv420p"``); for
        one of :data:`~autocolor.image_output.PLANE_FORMATS` an 8-bit photo may come back as
        the :class:`~autocolor.image_output.YCbCr420` planes such a file keeps
        (:func:`~autocolor.infer.pipeline.render_ycbcr`: a quarter of the join's work), which
        :func:`~autocolor.image_output.save_image` and the video writer encode as they are.
        """
        lightness = loaded.lightness
        guide = guide_of(render_input) if render_input is not None else None
        if reference is None and (hints is None or not len(hints.points)):
            encoding = PLANE_FORMATS.get(fmt or "")
            if encoding and loaded.bit_depth == 8 and loaded.alpha is None:
                return render_ycbcr(lightness, ab_norm, saturation, self.guided, guide,
                                    loaded.gray_codes(), encoding)
            return render_rgb(lightness, ab_norm, loaded.bit_depth, saturation, self.guided,
                              guide)
        ab = upsample_ab(ab_norm, lightness.shape[0], lightness.shape[1],
                         lightness if self.guided else None, guide)
        ab = self.steer(lightness, ab, hints=hints, reference=reference, saturation=saturation)
        return lab_to_rgb_array(lightness, ab, loaded.bit_depth)

    def finish_plan(self, plan: PhotoPlan, ab_norm: np.ndarray,
                    for_file: bool = False) -> Rendered:
        """:meth:`finish` with a plan's photo and steering -> (H, W, 3) uint8/uint16 sRGB;
        ``for_file``: the result goes to :func:`~autocolor.image_output.save_image` at the
        plan's target, so a JPEG target may get :class:`~autocolor.image_output.YCbCr420`
        planes (:meth:`finish`'s ``fmt``)."""
        fmt = format_of(plan.target) if for_file and plan.target is not None else None
        guide = plan.render_input if plan.guide_input is None else plan.guide_input
        return self.finish(plan.loaded, ab_norm, render_input=guide, fmt=fmt, **plan.steering)

    @overload
    def colorize_plans(self, plans: Sequence[PhotoPlan],
                       confidence: Literal[False] = False) -> list[np.ndarray]: ...

    @overload
    def colorize_plans(self, plans: Sequence[PhotoPlan],
                       confidence: Literal[True]) -> list[tuple[np.ndarray, np.ndarray]]: ...

    def colorize_plans(self, plans: Sequence[PhotoPlan], confidence: bool = False) -> list[Any]:
        """Planned photos -> their (H, W, 3) uint8/uint16 sRGB results: one batched network
        pass over the plans' render inputs (:meth:`predict`), then :meth:`finish_plan` per
        photo. ``confidence``: each result is (sRGB, (H, W) uint8 map: 255 sure, 0 a guess;
        :meth:`confidence_map`)."""
        # RGB arrays: no plan is finished for a file here
        out = self._colorize_plans(plans, confidence)
        return out if confidence else [rgb for rgb, _ in out]

    def _colorize_plans(self, plans: Sequence[PhotoPlan], confidence: bool,
                        for_file: bool = False) -> list[tuple[Any, np.ndarray | None]]:
        predicted = self.predict([plan.render_input for plan in plans], confidence=confidence)
        out: list[tuple[Any, np.ndarray | None]] = []
        for plan, result in zip(plans, predicted, strict=True):
            ab_norm, sure = result if confidence else (result, None)
            rgb = self.finish_plan(plan, ab_norm, for_file)
            out.append((rgb, self.confidence_map(sure, plan.loaded.size)
                        if sure is not None else None))
        return out

    def colorize(self, image: Image.Image | np.ndarray, **steering) -> Image.Image | np.ndarray:
        """Colour a Pillow image or a NumPy array; returns the same kind, RGB (RGBA with alpha).

        Arrays: (H, W) gray or (H, W, 3|4) uint8/uint16; uint16 in gives uint16 out.
        Colour inputs are taken to gray first (only their lightness is used). ``steering``:
        ``hints``, ``reference``, ``saturation``, ``restore`` as for :meth:`plan`.
        """
        as_array = isinstance(image, np.ndarray)
        pil = _array_to_pil(image) if isinstance(image, np.ndarray) else image
        if not isinstance(pil, Image.Image):
            raise TypeError(f"expected a PIL.Image or numpy.ndarray, got {type(image).__name__}")
        loaded = lightness_from_pil(pil)
        rgb = self.colorize_plans([self.plan(loaded, **steering)])[0]
        if loaded.alpha is not None:
            rgb = np.concatenate([rgb, loaded.alpha[..., None].astype(rgb.dtype)], axis=-1)
        if as_array:
            return rgb
        if rgb.dtype == np.uint16:  # Pillow has no 16-bit RGB mode; the file path keeps 16 bits
            rgb = (rgb // 257).astype(np.uint8)
        return Image.fromarray(rgb, "RGBA" if rgb.shape[-1] == 4 else "RGB")

    def colorize_file(self, source: str | os.PathLike, target: str | os.PathLike,
                      provenance: bool = True, **steering) -> Path:
        """Read ``source`` (under ``max_pixels``), colour it and write ``target`` atomically, as
        ``autocolor colorize`` does; -> the path written (``.png`` for a ``.jpg`` target that
        JPEG cannot hold). ``steering`` as for :meth:`plan` (hints in upright coordinates
        unless ``hints_as_stored=True``); ``provenance``: the XMP mark (:meth:`xmp`).

        Raises:
            ImageError: the photo cannot be read (one line naming the file).
            OSError: the result cannot be written (nothing is left behind).
            ValueError: bad steering.
        """
        from autocolor.image_output import save_image
        from autocolor.images import load_image

        loaded = load_image(source, self.max_pixels)
        plan = self.plan(loaded, target, name=str(source), **steering)
        assert plan.target is not None
        [(rendered, _)] = self._colorize_plans([plan], False, for_file=True)
        return save_image(rendered, plan.target, plan.loaded,
                          xmp=self.xmp(provenance, plan.restored_steps))


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
