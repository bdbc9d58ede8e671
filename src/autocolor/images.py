"""Reading photos: into full-resolution lightness (:func:`load_image`), colour photos as sRGB
(:func:`load_rgb`, the one reader of colour photos), and the way back from L and ab to sRGB
pixels (:func:`lab_to_rgb_array`). Writing the results is :mod:`autocolor.image_output`.

Pillow does the decoding. Everything here is NumPy (no torch), so the ONNX path stays light.
Errors are :class:`ImageError` with a one-line message that names the file.
"""

from __future__ import annotations

import io
import os
import struct
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from autocolor.color.lab_numpy import (
    gray_to_lightness,
    lab_to_srgb_into,
    luminance_to_lightness,
    map_strips,
    scratch,
    srgb_to_linear,
)
from autocolor.errors import first_line

# 100 megapixels: a 24 MP photo passes with room; a 20000 x 20000 "bomb" (400 MP) does not.
# Peak memory is about 40 bytes per pixel, so the default bounds a job to about 4 GB.
DEFAULT_MAX_PIXELS = 100_000_000
# A process that serves many people (the web app, the HTTP API) holds each one's photo in its
# own memory: 40 MP keeps one job near 1.6 GB on a shared server.
SHARED_MAX_PIXELS = 40_000_000
# A film's frames: 8K UHD passes (a frame is held a few times over along the frame pipeline).
FRAME_MAX_PIXELS = 7680 * 4320
INPUT_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif", ".jfif",
                  ".jp2", ".ppm", ".pgm", ".pbm", ".pnm", ".tga", ".mpo"}
# A photo whose chroma spread (Lab units) is below this is treated as black and white.
GRAY_CHROMA_THRESHOLD = 2.0
# Rows per strip when converting Lab to RGB (bounds temporary memory on 24 MP photos); None:
# about lab_numpy.STRIP_PIXELS pixels per strip.
STRIP_ROWS: int | None = None

# Truncated files must fail loudly, not decode half a photo in gray.
ImageFile.LOAD_TRUNCATED_IMAGES = False


class ImageError(Exception):
    """A photo that cannot be read or written; str() is one line naming the file."""

    def __init__(self, path: str | os.PathLike | None, reason: str) -> None:
        self.path = str(path) if path is not None else "<image>"
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class PixelLimitError(ImageError):
    """A photo with more pixels than the limit, found from its header before decoding (the
    server answers 413 for it, and 415 for other :class:`ImageError`)."""


@dataclass
class LoadedImage:
    """A photo reduced to what colorization needs, upright (EXIF orientation applied)."""

    lightness: np.ndarray  # (H, W) float32, CIE L* in [0, 100], full resolution
    alpha: np.ndarray | None = None  # (H, W) uint8 or uint16, same depth as the output
    bit_depth: int = 8  # 8 or 16
    format: str | None = None  # Pillow format name of the source (JPEG, PNG, ...)
    exif: bytes | None = None  # with orientation reset to 1, since pixels are now upright
    icc_profile: bytes | None = None  # only RGB profiles (a gray profile is wrong on RGB output)
    had_color: bool = False  # the input had chroma and was taken to gray first
    orientation: int = 1  # the EXIF orientation that was applied
    stored_size: tuple[int, int] = (0, 0)  # (W, H) before orientation, for hint coordinates
    extra: dict = field(default_factory=dict)
    # The 8-bit gray codes ``lightness`` was read from, and the lightness array they belong to:
    # read them through gray_codes(), which gives None once the lightness is another array.
    gray: np.ndarray | None = field(default=None, repr=False)
    gray_of: np.ndarray | None = field(default=None, repr=False)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (the Ray engine ships plans between processes): a photo read from 8-bit
        gray codes sends the codes alone, a quarter of the float32 lightness's bytes; unpickling
        rebuilds the same lightness from them (:func:`gray_lightness`). Codes that no longer
        belong to the lightness (restored) are not sent."""
        state = dict(self.__dict__)
        if self.gray_codes() is not None:
            state["lightness"] = state["gray_of"] = None
        else:
            state["gray"] = state["gray_of"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        if state["lightness"] is None:
            state["lightness"] = state["gray_of"] = gray_lightness(state["gray"])
        self.__dict__.update(state)

    def gray_codes(self) -> np.ndarray | None:
        """(H, W) uint8: the 8-bit gray input ``lightness`` was read from (its exact neutral
        sRGB codes), or None: not an 8-bit gray input, or ``lightness`` was replaced since
        (restored)."""
        if self.gray is None or self.gray_of is not self.lightness:
            return None
        return self.gray

    @property
    def size(self) -> tuple[int, int]:
        """(W, H) of the upright image, as Pillow reports sizes."""
        return self.lightness.shape[1], self.lightness.shape[0]


# L* of each 8-bit gray code (a neutral sRGB value).
_GRAY_LIGHTNESS = gray_to_lightness(np.arange(256, dtype=np.float32) / np.float32(255.0))


def gray_lightness(gray: np.ndarray) -> np.ndarray:
    """(H, W) uint8 gray codes -> (H, W) float32 L* in [0, 100], by table."""
    return np.take(_GRAY_LIGHTNESS, gray)


def _rgb_lightness(rgb: np.ndarray, max_value: float) -> np.ndarray:
    """(H, W, 3) integer sRGB -> L* (H, W) float32; only luminance is needed for L.

    Per channel, one table maps the integer code straight to its share of the luminance
    (weight * linear value); strips of rows run on all cores.
    """
    weights = (0.212671, 0.715160, 0.072169)  # Y row of the sRGB -> XYZ matrix
    codes = np.arange(int(max_value) + 1, dtype=np.float32) / np.float32(max_value)
    linear = srgb_to_linear(codes)
    tables = [(linear * np.float32(weight)).astype(np.float32) for weight in weights]
    height, width = rgb.shape[:2]
    out = np.empty((height, width), dtype=np.float32)

    def strip(top: int, bottom: int) -> None:
        rows = rgb[top:bottom]
        target = out[top:bottom]
        share = scratch("luminance_share", target.shape)
        np.take(tables[0], rows[..., 0], out=target)
        for channel in (1, 2):
            np.take(tables[channel], rows[..., channel], out=share)
            target += share
        luminance_to_lightness(target, out=target, spare=share)

    map_strips(height, width, strip)
    return out


def _has_color(rgb: np.ndarray) -> bool:
    """True when an (H, W, 3) image has visible chroma (checked on a subsample for speed)."""
    step = max(1, int(np.sqrt(rgb.shape[0] * rgb.shape[1] / 250_000)))
    sample = rgb[::step, ::step].astype(np.int32)
    spread = np.abs(sample[..., 0] - sample[..., 1]) + np.abs(sample[..., 1] - sample[..., 2])
    scale = 255.0 if rgb.dtype == np.uint8 else 65535.0
    return float(np.percentile(spread, 99)) / scale * 100.0 > GRAY_CHROMA_THRESHOLD


def lightness_from_pil(image: Image.Image, name: str | None = None) -> LoadedImage:
    """Any Pillow mode -> :class:`LoadedImage` (no EXIF handling here; see :func:`load_image`)."""
    mode = image.mode
    alpha = None
    bit_depth = 8
    had_color = False
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        values = np.asarray(image)
        if mode == "I" and (values.min() < 0 or values.max() > 65535):
            raise ImageError(name, f"unsupported 32-bit integer image (values {values.min()}..{values.max()})")
        table = gray_to_lightness(np.arange(65536, dtype=np.float32) / np.float32(65535.0))
        lightness = np.take(table, values)
        bit_depth = 16
    elif mode == "F":
        values = np.asarray(image, dtype=np.float32)
        if not np.isfinite(values).all() or values.min() < 0 or values.max() > 1:
            raise ImageError(name, "unsupported floating-point image (values outside [0, 1])")
        lightness = gray_to_lightness(values)
        bit_depth = 16
    elif mode in ("1", "L", "LA", "La"):
        gray = np.asarray(image if mode == "L" else image.convert("L"))
        if mode in ("LA", "La"):
            alpha = np.asarray(image.getchannel("A"))
        return _from_gray_codes(gray, alpha)
    else:
        if mode in ("P", "PA"):
            has_alpha = mode == "PA" or "transparency" in image.info
            image = image.convert("RGBA" if has_alpha else "RGB")
        elif mode in ("CMYK", "YCbCr", "LAB", "HSV", "RGBX", "RGBa"):
            image = image.convert("RGB")
        elif mode not in ("RGB", "RGBA"):
            raise ImageError(name, f"unsupported image mode {mode!r}")
        if image.mode == "RGBA":
            alpha = np.asarray(image.getchannel("A"))
            image = image.convert("RGB")
        rgb = np.asarray(image)
        had_color = _has_color(rgb)
        lightness = _rgb_lightness(rgb, 255)
    if alpha is not None and bit_depth == 16:
        alpha = (alpha.astype(np.uint16) * 257).astype(np.uint16)
    return LoadedImage(lightness=lightness, alpha=alpha, bit_depth=bit_depth, had_color=had_color)


def _from_gray_codes(gray: np.ndarray, alpha: np.ndarray | None = None) -> LoadedImage:
    """(H, W) uint8 gray codes (and alpha) -> :class:`LoadedImage` that remembers the codes."""
    lightness = gray_lightness(gray)
    return LoadedImage(lightness=lightness, alpha=alpha, gray=gray, gray_of=lightness)


def _gray_jpeg(image: Image.Image, source: str | os.PathLike | bytes | None) -> np.ndarray | None:
    """An 8-bit gray JPEG's (H, W) uint8 codes, decoded by libjpeg-turbo (simplejpeg, already
    the JPEG writer) straight into a NumPy array; None for any other photo, or one it will not
    decode cleanly (Pillow then decodes it, and names what is wrong).

    Pillow decodes the same libjpeg-turbo codes into its own image memory, and NumPy then
    copies them out (35-45 ms of a 24 MP scan); this skips the copy and that memory. With the
    4:2:0 join's luma in NumPy (autocolor.infer.chroma), a 12 MP scan's whole process took 0.96x
    the time and 41 MB less memory at its peak (24 MP: 0.89x), paired runs, medians.
    """
    if image.format != "JPEG" or image.mode != "L" or source is None:
        return None
    try:
        import simplejpeg

        data = source if isinstance(source, bytes) else Path(source).read_bytes()
        codes = simplejpeg.decode_jpeg(data, colorspace="GRAY", strict=True)
    except (ValueError, OSError):
        return None
    width, height = image.size
    if codes.shape[:2] != (height, width):
        return None
    return codes.reshape(height, width)


def _rgb_icc_profile(icc: bytes | None) -> bytes | None:
    # The colour-space signature lives at bytes 16..20 of an ICC header.
    return icc if icc and len(icc) >= 20 and icc[16:20] == b"RGB " else None


def open_image(source: str | os.PathLike | bytes, max_pixels: int = DEFAULT_MAX_PIXELS,
               name: str | None = None) -> Image.Image:
    """Open a photo file or its bytes without decoding pixels; refuse empty data, non-images and
    more than ``max_pixels`` first. The caller closes the image.

    Raises:
        ImageError: naming ``name`` (default: the path).
    """
    label = name or (str(source) if not isinstance(source, bytes) else "<image>")
    if isinstance(source, bytes):
        if not source:
            raise ImageError(label, "empty file (0 bytes)")
        opened: str | os.PathLike | io.BytesIO = io.BytesIO(source)
    else:
        try:
            if Path(source).stat().st_size == 0:
                raise ImageError(label, "empty file (0 bytes)")
        except OSError as error:
            raise ImageError(label, f"cannot read: {error.strerror or error}") from error
        opened = source
    try:
        with warnings.catch_warnings():
            # Pillow warns above its own 89.5 MP; our limit (checked from the header just below)
            # is ``max_pixels``. Pillow's hard error (above 179 MP) still stops larger headers.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(opened)
    except UnidentifiedImageError as error:
        raise ImageError(label, "not an image, or a format Pillow cannot read") from error
    except Image.DecompressionBombError as error:
        raise PixelLimitError(label, f"too many pixels (limit {max_pixels:,}): {error}") from error
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as error:
        raise ImageError(label, f"corrupt or truncated image ({first_line(error)})") from error
    width, height = image.size
    if width * height > max_pixels:
        image.close()
        raise PixelLimitError(label, f"too many pixels ({width}x{height} > limit {max_pixels:,})")
    return image


def load_image(source: str | os.PathLike | bytes, max_pixels: int = DEFAULT_MAX_PIXELS,
               name: str | None = None) -> LoadedImage:
    """Read a photo (a file, or its bytes: uploads) into full-resolution lightness, upright,
    with metadata.

    Raises:
        ImageError: empty, truncated, corrupt, not an image, too many pixels, unsupported mode;
            one line starting with ``name`` (default: the path).
    """
    label = name or (str(source) if not isinstance(source, bytes) else "<image>")
    image = open_image(source, max_pixels, label)
    try:
        with image:
            return _load_opened(image, label, source)
    except ImageError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as error:
        raise ImageError(label, f"corrupt or truncated image ({first_line(error)})") from error
    except MemoryError as error:
        raise ImageError(label, "not enough memory to decode this image") from error


def _load_opened(image: Image.Image, label: str,
                 source: str | os.PathLike | bytes | None = None) -> LoadedImage:
    source_format = image.format
    stored_size = image.size
    icc = image.info.get("icc_profile")
    exif = image.getexif()
    orientation = int(exif.get(0x0112, 1) or 1)
    gray = _gray_jpeg(image, source) if orientation == 1 else None
    if gray is not None:
        loaded = _from_gray_codes(gray)
    else:
        image.load()  # decode now, so truncation errors surface here
        upright = ImageOps.exif_transpose(image) if orientation != 1 else image
        loaded = lightness_from_pil(upright, label)
    loaded.format = source_format
    loaded.orientation = orientation
    loaded.stored_size = stored_size
    loaded.icc_profile = _rgb_icc_profile(icc)
    if len(exif):
        exif[0x0112] = 1
        loaded.exif = exif.tobytes()
    return loaded


def load_rgb(source: str | os.PathLike | bytes, max_pixels: int = DEFAULT_MAX_PIXELS,
             name: str | None = None, max_side: int | None = None) -> np.ndarray:
    """Read a colour photo (a file, or its bytes) as ``(H, W, 3) uint8`` sRGB, upright.

    The one reader of colour photos (reference photos on the command line and in the app,
    photos to score, measurement scripts), with one policy:

    - the limits of :func:`open_image`: empty data, non-images and more than ``max_pixels``
      (counted at the stored size, before any reduction) are refused before decoding;
    - EXIF orientation is applied;
    - an embedded ICC profile other than sRGB is converted to sRGB (as ``autocolor data
      prepare`` does for training photos); without a profile the pixels are taken as sRGB;
    - transparent pixels are composited onto white; 16-bit and float gray is scaled to 8 bits;
    - ``max_side``: the long side is reduced to at most that (box filter; a JPEG is decoded at
      a fraction of its size first), e.g. for a reference photo, of which only 256 px are used.

    Raises:
        ImageError: one line starting with ``name`` (default: the path).
    """
    label = name or (str(source) if not isinstance(source, bytes) else "<image>")
    if max_side is not None and max_side < 1:
        raise ValueError(f"max_side must be positive, got {max_side}")
    image = open_image(source, max_pixels, label)
    try:
        with image:
            if max_side is not None:
                image.draft("RGB", (max_side, max_side))  # JPEG: DCT-domain 1/2, 1/4, 1/8
            icc = image.info.get("icc_profile")
            rgb = srgb_from_pil(ImageOps.exif_transpose(image), icc)  # decodes
        if max_side is not None:
            rgb = shrink_rgb(rgb, max_side)
        return np.asarray(rgb, dtype=np.uint8)
    except ImageError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as error:
        raise ImageError(label, f"corrupt or truncated image ({first_line(error)})") from error
    except MemoryError as error:
        raise ImageError(label, "not enough memory to decode this image") from error


def srgb_from_pil(image: Image.Image, icc: bytes | None = None) -> Image.Image:
    """Any Pillow mode -> an 8-bit RGB image in sRGB, with :func:`load_rgb`'s policy (alpha onto
    white, deep gray scaled to 8 bits, an ICC profile ``icc`` (default: the image's own)
    converted to sRGB)."""
    if icc is None:
        icc = image.info.get("icc_profile")
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        values = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if mode.startswith("I;16") or values.max(initial=0) > 255 else 255.0
        gray = np.clip(values / peak * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(gray, "L").convert("RGB")
    if mode == "F":  # float gray in 0..255, as Pillow's own conversions take it
        gray = np.clip(np.asarray(image, dtype=np.float64) + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(gray, "L").convert("RGB")
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba).convert("RGB")
    if icc and image.mode in ("RGB", "CMYK"):
        converted = _icc_to_srgb(image, icc)
        if converted is not None:
            return converted
    return image if image.mode == "RGB" else image.convert("RGB")


def shrink_rgb(image: Image.Image, max_side: int) -> Image.Image:
    """``image`` with its long side reduced to at most ``max_side`` (aspect kept, each side
    rounded, at least 1; box filter, i.e. area averages); never enlarged."""
    if max(image.size) <= max_side:
        return image
    scale = max_side / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.BOX)


def _icc_to_srgb(image: Image.Image, icc: bytes) -> Image.Image | None:
    """An RGB/CMYK image with profile ``icc`` in sRGB, or None when the profile is sRGB already
    or unreadable (then the pixels are taken as sRGB)."""
    from PIL import ImageCms

    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if "srgb" in ImageCms.getProfileDescription(profile).lower().replace(" ", ""):
            return None
        return ImageCms.profileToProfile(image, profile, ImageCms.createProfile("sRGB"),
                                         outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return None


def lab_to_rgb_array(lightness: np.ndarray, ab: np.ndarray, bit_depth: int = 8) -> np.ndarray:
    """Join full-res L (H, W) with ab (H, W, 2) into sRGB (H, W, 3) uint8 or uint16, in strips."""
    if lightness.shape != ab.shape[:2] or ab.shape[-1] != 2:
        raise ValueError(f"lightness {lightness.shape} and ab {ab.shape} do not match")
    dtype = np.uint16 if bit_depth == 16 else np.uint8
    height, width = lightness.shape
    out = np.empty((height, width, 3), dtype=dtype)
    lightness = lightness.astype(np.float32, copy=False)
    ab = ab.astype(np.float32, copy=False)

    def strip(top: int, bottom: int) -> None:
        rows = slice(top, bottom)
        lab_to_srgb_into(lightness[rows], ab[rows, :, 0], ab[rows, :, 1], out[rows])

    map_strips(height, width, strip, rows=STRIP_ROWS)
    return out
