"""One request's work: its options checked, then the command line's path from bytes to bytes.

:func:`parse_options` turns the form's text fields into :class:`Options` (400 on anything bad,
before the request waits for the worker); :func:`check_header` refuses non-images and photos
over the pixel limit from the header alone (415, 413), also before waiting; :func:`colorize`
runs on the worker thread: :func:`autocolor.images.load_image`,
:meth:`Colorizer.plan <autocolor.infer.colorizer.Colorizer.plan>`,
:meth:`Colorizer.colorize_plans <autocolor.infer.colorizer.Colorizer.colorize_plans>` and
:func:`autocolor.image_output.image_bytes`: what ``autocolor colorize`` does to a file, in memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from autocolor.hints import HintError, HintSet
from autocolor.image_output import (
    OUTPUT_FORMATS,
    default_format,
    fit_format,
    gray_png,
    image_bytes,
)
from autocolor.images import load_image, open_image
from autocolor.infer.colorizer import reference_rgb
from autocolor.serve.config import MAX_RENDER_SIZE

if TYPE_CHECKING:
    from autocolor.credentials import ContentCredentials
    from autocolor.infer.colorizer import Colorizer

# Form fields besides the files, and what each takes (the OpenAPI description says the same).
TEXT_FIELDS = ("render_size", "saturation", "format", "hints", "restore", "confidence")
# A yes-or-no field's words (restore: "auto" is yes too, and any other value names the steps).
NO_WORDS = ("", "0", "false", "no", "off")
YES_WORDS = ("1", "true", "yes", "on")
FILE_FIELDS = ("image", "reference")
FORMAT_ALIASES = {"jpg": "jpeg", "tif": "tiff"}


class OptionError(ValueError):
    """A bad form field (400)."""


@dataclass(frozen=True)
class Options:
    """A request's checked options; None means the command line's default."""

    render_size: int | None = None
    saturation: float = 1.0
    format: str | None = None  # a key of OUTPUT_FORMATS
    hints: HintSet | None = None  # coordinates as stored in the file (as --hints)
    restore: str | tuple[str, ...] | None = None  # as Colorizer.plan's restore (None: never)
    confidence: bool = False  # answer a zip: the result and its confidence map


def parse_options(fields: dict[str, str]) -> Options:
    """The form's text fields -> :class:`Options`.

    Raises:
        OptionError: an unknown field, or a value that is not what the field takes.
    """
    unknown = sorted(set(fields) - set(TEXT_FIELDS))
    if unknown:
        raise OptionError(f"unknown form field(s) {unknown}; the fields are "
                          + ", ".join(FILE_FIELDS + TEXT_FIELDS))
    render_size = None
    if fields.get("render_size", "").strip():
        try:
            render_size = int(fields["render_size"])
        except ValueError:
            raise OptionError(f"render_size must be a whole number, got "
                              f"{fields['render_size']!r}") from None
        if not 32 <= render_size <= MAX_RENDER_SIZE:
            raise OptionError(f"render_size must be 32-{MAX_RENDER_SIZE}, got {render_size}")
    saturation = 1.0
    if fields.get("saturation", "").strip():
        try:
            saturation = float(fields["saturation"])
        except ValueError:
            raise OptionError(f"saturation must be a number, got "
                              f"{fields['saturation']!r}") from None
        if not math.isfinite(saturation) or saturation < 0:
            raise OptionError(f"saturation must be a finite number >= 0, got {saturation}")
    fmt = None
    if fields.get("format", "").strip():
        fmt = fields["format"].strip().lower()
        fmt = FORMAT_ALIASES.get(fmt, fmt)
        if fmt not in OUTPUT_FORMATS:
            raise OptionError(f"format must be one of {', '.join(OUTPUT_FORMATS)}, "
                              f"got {fields['format']!r}")
    hints = None
    if fields.get("hints", "").strip():
        try:  # bytes: from_json reads a str that is not JSON as a path, which must not happen
            hints = HintSet.from_json(fields["hints"].encode("utf-8"))
        except HintError as error:
            raise OptionError(f"hints: {error}") from None
    confidence = fields.get("confidence", "").strip().lower()
    if confidence not in NO_WORDS + YES_WORDS:
        raise OptionError(f"confidence must be true or false, got {fields['confidence']!r}")
    return Options(render_size, saturation, fmt, hints, parse_restore(fields.get("restore", "")),
                   confidence in YES_WORDS)


def parse_restore(value: str) -> str | tuple[str, ...] | None:
    """The ``restore`` field -> None (no: empty, false, 0), ``"auto"`` (true, 1, auto), or the
    steps it names (``fading,grain``), as ``--restore`` and ``--restore-steps``.

    Raises:
        OptionError: an unknown step, or OpenCV missing on the server (the restore extra).
    """
    word = value.strip().lower()
    if word in NO_WORDS:
        return None
    from autocolor.restore import AUTO, parse_steps

    try:
        steps = None if word in YES_WORDS else parse_steps(word)  # "auto" -> None too
    except ValueError as error:
        raise OptionError(f"restore: {error}") from None
    try:
        import cv2  # noqa: F401  (the restore extra)
    except ModuleNotFoundError:
        raise OptionError("restore: this server has no OpenCV (pip install "
                          "'autocolor[restore]')") from None
    return AUTO if steps is None else steps


def check_header(data: bytes, max_pixels: int, name: str) -> str | None:
    """Open ``data`` without decoding its pixels; -> Pillow's format name (``JPEG``, ...).

    Raises:
        autocolor.images.PixelLimitError: more than ``max_pixels`` (413).
        autocolor.images.ImageError: empty, not an image (415).
    """
    with open_image(data, max_pixels, name) as image:
        return image.format


def colorize(colorizer: Colorizer, image: bytes, options: Options, max_pixels: int,
             reference: bytes | None = None, xmp: bytes | None = None,
             credentials: ContentCredentials | None = None,
             image_name: str = "image") -> tuple[bytes, str, bytes | None]:
    """Colour one upload as ``autocolor colorize`` colours a file with the same options;
    -> (the encoded result, its format). Runs on the worker thread.

    The format is ``options.format``, else the command line's rule (JPEG stays JPEG, anything
    else becomes PNG); a photo the format cannot hold (16 bits, or alpha in a JPEG) becomes PNG.
    ``xmp`` as for :func:`autocolor.image_output.save_image` (with the restoration's history
    added when the photo was restored); ``credentials`` sign the result, with the upload
    (``image_name``) as the manifest's ingredient. The third item is the confidence map as an
    8-bit PNG when ``options.confidence`` (else None).

    Raises:
        autocolor.images.ImageError: the photo or the reference cannot be read (413 for
            :class:`~autocolor.images.PixelLimitError`, else 415).
        ValueError: hints that do not lie on the photo (400).
    """
    loaded = load_image(image, max_pixels, name="image")
    prepared = None
    if reference is not None:
        prepared = reference_rgb(reference, max_pixels, name="reference")
    plan = colorizer.plan(loaded, hints=options.hints, hints_as_stored=True, reference=prepared,
                          saturation=options.saturation, name="image",
                          restore=options.restore)
    confidence_png = None
    if options.confidence:
        [(rgb, confidence)] = colorizer.colorize_plans_confidence([plan], options.render_size)
        confidence_png = gray_png(confidence)
    else:
        rgb = colorizer.colorize_plans([plan], options.render_size)[0]
    fmt = fit_format(options.format or default_format(loaded.format), loaded)
    steps = plan.restored_steps
    if steps and xmp is not None:
        xmp = colorizer.xmp(True, steps)
    data = image_bytes(rgb, plan.loaded, fmt, xmp)
    if credentials is not None:
        data = credentials.for_photo(image, image_name or "image", steps)(data, fmt)
    return data, fmt, confidence_png
