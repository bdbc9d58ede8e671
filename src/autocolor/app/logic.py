"""What the web page does, without Streamlit: decoding uploads, predicting, steering, encoding.

Everything here is a plain function or a small class, so it is tested without a browser;
``page.py`` only lays widgets out and keeps these objects in the session. Nothing touches the
disk: uploads are decoded from memory and results are encoded to bytes.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import threading
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from PIL import Image, ImageDraw

from autocolor.hints import HintPoint, HintSet
from autocolor.hints.reference import REFERENCE_MAX_SIDE
from autocolor.image_output import image_bytes
from autocolor.image_output import result_name as output_result_name
from autocolor.images import (
    SHARED_MAX_PIXELS,
    ImageError,
    LoadedImage,
    lab_to_rgb_array,
    load_image,
    load_rgb,
)

if TYPE_CHECKING:
    from autocolor.infer.colorizer import Colorizer

# File types the uploader offers (Pillow reads more; these are the ones the page promises).
UPLOAD_TYPES = ("jpg", "jpeg", "png", "webp", "tif", "tiff", "bmp")
# The app holds each photo in memory (about 7 bytes a pixel between the lightness and the
# result, ~40 while colouring): images.SHARED_MAX_PIXELS, as the HTTP API. Command-line
# `autocolor colorize` allows 100 MP (images.DEFAULT_MAX_PIXELS).
APP_MAX_PIXELS = SHARED_MAX_PIXELS
# Largest upload in MB (Streamlit's server.maxUploadSize): a 40 MP 16-bit TIFF is ~240 MB, an
# 8-bit one ~120 MB; JPEGs of that size are ~20 MB.
APP_MAX_UPLOAD_MB = 200
# Long side of what is shown on the page; downloads are always at the input's full size.
PREVIEW_MAX_SIDE = 1280
RENDER_SIZES = (256, 320, 384, 448, 512, 640, 768, 1024)
SATURATION_RANGE = (0.0, 2.0)

# Environment variables `autocolor app` sets for the page (and tests set directly).
ENV_MODEL = "AUTOCOLOR_MODEL"  # a weights name or .safetensors path offered first
ENV_MAX_PIXELS = "AUTOCOLOR_APP_MAX_PIXELS"

# Counters the tests read to prove caching works (one process, several sessions).
COUNTERS = {"model_loads": 0, "predictions": 0, "renders": 0}


# -- settings ------------------------------------------------------------------------------------


def _has_opencv() -> bool:
    import importlib.util

    return importlib.util.find_spec("cv2") is not None


# Whether the page can offer "Restore old prints" (OpenCV, the restore extra).
CAN_RESTORE = _has_opencv()


def max_pixels_from_env(environ: Mapping[str, str] = os.environ) -> int:
    """The pixel limit from ``AUTOCOLOR_APP_MAX_PIXELS``, else :data:`APP_MAX_PIXELS`."""
    raw = environ.get(ENV_MAX_PIXELS, "").strip()
    if not raw:
        return APP_MAX_PIXELS
    try:
        value = int(raw)
    except ValueError:
        return APP_MAX_PIXELS
    return value if value > 0 else APP_MAX_PIXELS


def model_choices(extra: str | None = None,
                  installed: Sequence[str] | None = None) -> tuple[dict[str, str], str | None]:
    """The models the page offers: ({label: name or path}, the default label or None if empty).

    ``extra`` (``--model`` / ``AUTOCOLOR_MODEL``) is offered first and is the default; otherwise
    the installed ``default`` is, otherwise the first installed name.
    """
    if installed is None:
        from autocolor.weights import installed_weights

        installed = installed_weights()
    choices: dict[str, str] = {name: name for name in installed}
    default = "default" if "default" in choices else (next(iter(choices)) if choices else None)
    if extra:
        if extra in choices:
            default = extra
        else:
            label = Path(extra).name if Path(extra).suffix else extra
            if label in choices:
                label = f"{label} ({extra})"
            choices = {label: extra, **choices}
            default = label
    return choices, default


def render_size_options(model_size: int) -> list[int]:
    """:data:`RENDER_SIZES` with the model's own render size among them, sorted."""
    return sorted({*RENDER_SIZES, int(model_size)})


# -- the model -----------------------------------------------------------------------------------


class ModelHandle:
    """A loaded :class:`~autocolor.infer.colorizer.Colorizer` shared by every session of the
    process, with a lock so two sessions do not run the network at once on a small CPU.

    The page's two steps are the colorizer's own: :meth:`predict` is
    :meth:`~autocolor.infer.colorizer.Colorizer.predict` at the chosen render size;
    :meth:`render` is its per-photo policy (:meth:`~autocolor.infer.colorizer.Colorizer.plan`)
    and finishing (:meth:`~autocolor.infer.colorizer.Colorizer.finish_plan`).
    """

    def __init__(self, name_or_path: str, colorizer: Colorizer) -> None:
        self.name_or_path = name_or_path
        self.colorizer = colorizer
        self.lock = threading.Lock()

    @property
    def render_size(self) -> int:
        return int(self.colorizer.render_size)

    @property
    def xmp(self) -> bytes | None:
        """The provenance packet downloads carry (the model's name and SHA-256; see
        :mod:`autocolor.provenance`)."""
        return self.colorizer.xmp()

    def xmp_for(self, restored: Sequence[str] = ()) -> bytes | None:
        """:attr:`xmp`, with the restoration steps that ran as its history."""
        return self.colorizer.xmp(True, tuple(restored))

    @property
    def has_confidence(self) -> bool:
        """Whether the model says where its colours are guesses (a bins model)."""
        return bool(self.colorizer.has_confidence)

    def predict(self, lightness: np.ndarray, render_size: int
                ) -> tuple[np.ndarray, np.ndarray | None]:
        """Full-res L (H, W) -> (ab_norm (2, h, w) at the render shape (small; upsample later),
        the (h, w) confidence or None when the model has none), in one network pass."""
        l_norm = self.colorizer.render_input(lightness, int(render_size))
        with self.lock:
            if self.has_confidence:
                [(ab_small, sure)] = self.colorizer.predict([l_norm], confidence=True)
            else:
                [ab_small], sure = self.colorizer.predict([l_norm]), None
        COUNTERS["predictions"] += 1
        return np.asarray(ab_small, dtype=np.float32), sure

    def render(self, loaded: LoadedImage, ab_small: np.ndarray, saturation: float = 1.0,
               hints: HintSet | None = None, reference: np.ndarray | None = None,
               render_size: int | None = None) -> np.ndarray:
        """A prediction (:meth:`predict` at ``render_size``, default the model's) ->
        full-resolution sRGB (H, W, 3) uint8/uint16, steered (hints in upright coordinates,
        checked against the photo)."""
        plan = self.colorizer.plan(loaded, hints=hints, reference=reference,
                                   saturation=saturation, render_size=render_size)
        COUNTERS["renders"] += 1
        return cast(np.ndarray, self.colorizer.finish_plan(plan, ab_small))  # not for a file: RGB


def load_model(name_or_path: str, max_pixels: int | None = None) -> ModelHandle:
    """Load weights by installed name or path (the page caches this once per process)."""
    from autocolor.infer.colorizer import Colorizer

    colorizer = Colorizer.from_pretrained(name_or_path, backend="auto", device="cpu",
                                          max_pixels=max_pixels or max_pixels_from_env())
    # The first run of a network pays one-off set-up (seconds on a CPU); pay it while the page
    # says "Loading the model", not on the first photo.
    colorizer.backend.predict(np.zeros((1, 1, 64, 64), np.float32))
    COUNTERS["model_loads"] += 1
    return ModelHandle(str(name_or_path), colorizer)


# -- uploads -------------------------------------------------------------------------------------


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def decode_upload(data: bytes, name: str, max_pixels: int = APP_MAX_PIXELS) -> LoadedImage:
    """Uploaded bytes -> :class:`LoadedImage` (upright, full resolution), the same reader as
    the command line's (:func:`autocolor.images.load_image`), from memory.

    Raises:
        ImageError: empty, not an image, truncated or corrupt, too many pixels, unsupported mode;
            ``str()`` is one line that starts with ``name``.
    """
    return load_image(data, max_pixels, name=name)


def decode_reference(data: bytes, name: str, max_pixels: int = APP_MAX_PIXELS,
                     max_side: int = REFERENCE_MAX_SIDE) -> np.ndarray:
    """A reference photo -> (h, w, 3) uint8 sRGB, upright, long side at most ``max_side``: the
    command line's reader (:func:`autocolor.images.load_rgb`), from memory.

    Raises:
        ImageError: as :func:`decode_upload`.
    """
    return load_rgb(data, max_pixels, name=name, max_side=max_side)


# -- one photo on the page -----------------------------------------------------------------------


@dataclass
class Photo:
    """An upload and what has been computed for it; lives in the browser session's state."""

    name: str
    digest: str
    loaded: LoadedImage | None = None
    error: str | None = None
    hints: list[HintPoint] = field(default_factory=list)
    last_click: Any = None  # the click component's last value, so a rerun does not re-add it
    # (model, render size, restored) -> ab_norm (2, h, w) at the render shape: a saturation or
    # hint change re-uses it instead of running the network again.
    predictions: dict[tuple[str, int, bool], np.ndarray] = field(default_factory=dict)
    # The confidence beside each prediction, same keys ((h, w) in [0, 1]; absent: none).
    confidences: dict[tuple[str, int, bool], np.ndarray] = field(default_factory=dict)
    # The photo with its lightness restored (autocolor.restore), the steps that ran and the
    # lightness its colour is predicted from (Restored.for_colour), made once when the page
    # first asks for it.
    restored: tuple[LoadedImage, tuple[str, ...], np.ndarray] | None = None
    render_key: tuple | None = None
    rgb: np.ndarray | None = None  # (H, W, 3) uint8 or uint16, full resolution
    xmp: bytes | None = None  # the provenance of ``rgb`` (the model that made it)
    preview: Image.Image | None = None

    @classmethod
    def from_upload(cls, name: str, data: bytes, max_pixels: int = APP_MAX_PIXELS) -> Photo:
        """Decode an upload; a bad one becomes a Photo with ``error`` set (never raises)."""
        photo = cls(name=name, digest=digest(data))
        try:
            photo.loaded = decode_upload(data, name, max_pixels)
        except ImageError as error:
            photo.error = str(error)
        except MemoryError:
            photo.error = f"{name}: not enough memory to decode this image"
        return photo

    @property
    def size(self) -> tuple[int, int]:
        assert self.loaded is not None
        return self.loaded.size

    @property
    def hint_set(self) -> HintSet:
        return HintSet(tuple(self.hints))

    def source(self, restore: bool = False) -> LoadedImage:
        """The photo the output keeps: as uploaded, or with its lightness restored
        (``restore``: the steps whose damage is found; :func:`restore_photo
        <autocolor.infer.colorizer.restore_photo>`), restored once and kept."""
        assert self.loaded is not None
        if not restore:
            return self.loaded
        if self.restored is None:
            from autocolor.infer.colorizer import restore_photo

            loaded, done = restore_photo(self.loaded, True)
            self.restored = (loaded, tuple(done.ran), done.for_colour)
        return self.restored[0]

    def coloured_from(self, restore: bool = False) -> np.ndarray:
        """The lightness the network colours: :meth:`source`'s, or, restored, the same before
        its levels stretch (:attr:`autocolor.restore.Restored.for_colour`)."""
        source = self.source(restore)
        return self.restored[2] if restore and self.restored is not None else source.lightness

    def restored_steps(self, restore: bool = False) -> tuple[str, ...]:
        """The restoration steps that ran (none when ``restore`` is off)."""
        return self.restored[1] if restore and self.restored is not None else ()

    def prediction(self, model: ModelHandle, render_size: int,
                   restore: bool = False) -> np.ndarray:
        key = (model.name_or_path, int(render_size), bool(restore))
        if key not in self.predictions:
            ab_small, sure = model.predict(self.coloured_from(restore), int(render_size))
            self.predictions[key] = ab_small
            if sure is not None:
                self.confidences[key] = sure
        return self.predictions[key]

    def confidence_preview(self, model: ModelHandle, render_size: int,
                           restore: bool = False) -> Image.Image | None:
        """The coloured preview with the guesses shown: where the model is unsure, the photo
        fades to red (:func:`confidence_overlay`); None when the model has no confidence."""
        key = (model.name_or_path, int(render_size), bool(restore))
        if self.preview is None or key not in self.confidences:
            return None
        shown = model.colorizer.confidence_map(self.confidences[key], self.preview.size)
        return confidence_overlay(self.preview, shown)

    def _key(self, model: ModelHandle, render_size: int, saturation: float,
             reference_digest: str | None, restore: bool) -> tuple:
        return (model.name_or_path, int(render_size), round(float(saturation), 4),
                self.hint_set, reference_digest, bool(restore))

    def is_current(self, model: ModelHandle, render_size: int, saturation: float,
                   reference_digest: str | None = None, restore: bool = False) -> bool:
        """True when ``rgb`` already shows these settings (so the page need not say 'Colouring')."""
        return self.rgb is not None and self.render_key == self._key(
            model, render_size, saturation, reference_digest, restore)

    def render(self, model: ModelHandle, render_size: int, saturation: float,
               reference: np.ndarray | None = None, reference_digest: str | None = None,
               restore: bool = False) -> bool:
        """Bring ``rgb`` and ``preview`` up to date; returns True when it had to recompute.

        ``reference_digest`` identifies ``reference`` (any string that changes with it);
        ``restore``: colour the restored photo (:meth:`source`), and keep its lightness.
        """
        if reference is None:
            reference_digest = None
        elif reference_digest is None:
            reference_digest = digest(np.ascontiguousarray(reference).tobytes())
        if self.is_current(model, render_size, saturation, reference_digest, restore):
            return False
        key = self._key(model, render_size, saturation, reference_digest, restore)
        ab_small = self.prediction(model, render_size, restore)
        self.rgb = model.render(self.source(restore), ab_small, saturation, self.hint_set,
                                reference, render_size)
        steps = self.restored_steps(restore)
        self.xmp = model.xmp_for(steps)  # no steps: the plain mark; no mark: None
        assert self.loaded is not None  # source() has read the photo
        self.preview = preview_image(self.rgb, self.loaded.alpha)
        self.render_key = key
        return True

    def add_click(self, value: Mapping[str, Any] | None, rgb: tuple[int, int, int],
                  radius: float) -> bool:
        """Turn a new click of the image component into a hint; returns True if one was added."""
        if not value or value == self.last_click or self.loaded is None:
            return False
        self.last_click = dict(value)
        point = click_to_hint(value, self.size, rgb, radius)
        if point is None:
            return False
        self.hints.append(point)
        return True

    def png(self) -> bytes:
        """The result as PNG at the input's exact size (alpha, 16 bits, EXIF, ICC kept), with
        its provenance."""
        assert self.rgb is not None and self.loaded is not None
        return png_bytes(self.rgb, self.loaded, self.xmp)


def _to_uint8(rgb: np.ndarray) -> np.ndarray:
    return (rgb // 257).astype(np.uint8) if rgb.dtype == np.uint16 else rgb


def _preview_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    scale = min(1.0, max_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def preview_image(rgb: np.ndarray, alpha: np.ndarray | None = None,
                  max_side: int = PREVIEW_MAX_SIDE) -> Image.Image:
    """What the page shows: 8-bit, long side at most ``max_side`` (downloads stay full size)."""
    image = Image.fromarray(_to_uint8(rgb), "RGB")
    if alpha is not None:
        image.putalpha(Image.fromarray(_to_uint8(alpha), "L"))
    size = _preview_size(*image.size, max_side)
    return image if size == image.size else image.resize(size, Image.Resampling.LANCZOS)


def confidence_overlay(preview: Image.Image, confidence: np.ndarray) -> Image.Image:
    """A preview and its (h, w) uint8 confidence map at the same size -> the preview where the
    model was sure, fading to red where it guessed (0: all red at 65 %)."""
    rgb = np.asarray(preview.convert("RGB"), dtype=np.float32)
    unsure = (1.0 - confidence.astype(np.float32) / 255.0)[..., None] * np.float32(0.65)
    red = np.array([230.0, 30.0, 30.0], np.float32)
    return Image.fromarray(np.clip(rgb * (1 - unsure) + red * unsure + 0.5, 0, 255)
                           .astype(np.uint8), "RGB")


def gray_preview(loaded: LoadedImage, hints: Sequence[HintPoint] = (),
                 max_side: int = PREVIEW_MAX_SIDE) -> Image.Image:
    """The black-and-white input as shown (RGB, scaled), with a dot on every hint."""
    from autocolor.infer.pipeline import resize_plane

    width, height = loaded.size
    size = _preview_size(width, height, max_side)
    lightness = resize_plane(loaded.lightness, size[1], size[0])
    gray = lab_to_rgb_array(lightness, np.zeros((*lightness.shape, 2), np.float32))
    image = Image.fromarray(gray, "RGB")
    draw = ImageDraw.Draw(image)
    scale = size[0] / width
    for point in hints:
        x, y = (point.x + 0.5) * scale, (point.y + 0.5) * scale
        r = max(5.0, point.radius * scale)
        draw.ellipse((x - r - 2, y - r - 2, x + r + 2, y + r + 2), fill=(0, 0, 0))
        draw.ellipse((x - r - 1, y - r - 1, x + r + 1, y + r + 1), fill=(255, 255, 255))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=point.rgb)
    return image


def click_to_hint(value: Mapping[str, Any], full_size: tuple[int, int],
                  rgb: tuple[int, int, int], radius: float = 0.0) -> HintPoint | None:
    """A click on the shown image ``{"x", "y", "width", "height"}`` (display pixels) -> a hint
    at the same place in the full-resolution upright photo, or None for a malformed value."""
    try:
        x, y = float(value["x"]), float(value["y"])
        shown_w, shown_h = float(value["width"]), float(value["height"])
    except (KeyError, TypeError, ValueError):
        return None
    if not all(math.isfinite(v) for v in (x, y, shown_w, shown_h)) or shown_w <= 0 or shown_h <= 0:
        return None
    width, height = full_size
    # Pixel centres: display pixel x covers [x, x+1) of shown_w, i.e. (x + 0.5) / shown_w of W.
    full_x = min(max((x + 0.5) * width / shown_w - 0.5, 0.0), width - 1.0)
    full_y = min(max((y + 0.5) * height / shown_h - 0.5, 0.0), height - 1.0)
    red, green, blue = (int(c) for c in rgb)
    return HintPoint(x=round(full_x, 2), y=round(full_y, 2), rgb=(red, green, blue),
                     radius=max(0.0, float(radius)))


def hint_radius(size: tuple[int, int], percent: float) -> float:
    """Hint disc radius in photo pixels from a percentage of the long side."""
    return round(max(size) * max(0.0, float(percent)) / 100.0, 1)


def hex_to_rgb(color: str) -> tuple[int, int, int]:
    from autocolor.hints.points import parse_color

    return parse_color(color)


# -- downloads -----------------------------------------------------------------------------------


def result_name(upload_name: str) -> str:
    """``photo.jpg`` -> ``photo-color.png`` (:func:`autocolor.image_output.result_name`)."""
    return output_result_name(upload_name, ".png")


def png_bytes(rgb: np.ndarray, loaded: LoadedImage, xmp: bytes | None = None,
              compress_level: int = 3) -> bytes:
    """Full-size PNG bytes (16-bit when the input was, alpha/EXIF/ICC kept, ``xmp`` in an iTXt
    chunk): the command line's encoder (:func:`autocolor.image_output.image_bytes`) into memory."""
    return image_bytes(rgb, loaded, "png", xmp, png_compress_level=compress_level)


def zip_bytes(files: Sequence[tuple[str, bytes]]) -> bytes:
    """A zip of (name, data); repeated names get ``-2``, ``-3``... PNGs are stored, not deflated."""
    buffer = io.BytesIO()
    used: set[str] = set()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, data in files:
            stem, suffix = Path(name).stem, Path(name).suffix
            unique, count = name, 1
            while unique in used:
                count += 1
                unique = f"{stem}-{count}{suffix}"
            used.add(unique)
            archive.writestr(unique, data)
    return buffer.getvalue()
