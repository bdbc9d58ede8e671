"""One request's work: its options checked, then the command line's path from bytes to bytes.

:class:`Options` is the form's text fields, in one Pydantic model: :func:`parse_options` checks a
request's fields with it (400 on anything bad, before the request waits for the worker), and the
OpenAPI description of the form is generated from it (:func:`form_schema`), so a field is
written once. :func:`check_header` refuses non-images and photos over the pixel limit from the
header alone (415, 413), also before waiting; :func:`colorize` runs on the worker thread:
:func:`autocolor.images.load_image`,
:meth:`Colorizer.plan <autocolor.infer.colorizer.Colorizer.plan>`,
:meth:`Colorizer.colorize_plans <autocolor.infer.colorizer.Colorizer.colorize_plans>` and
:func:`autocolor.image_output.image_bytes`: what ``autocolor colorize`` does to a file, in memory.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    field_validator,
)

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

# A yes-or-no field's words (restore: "auto" is yes too, and any other value names the steps).
NO_WORDS = ("", "0", "false", "no", "off")
YES_WORDS = ("1", "true", "yes", "on")
# The form's file fields: the photo, and a colour photo whose palette to follow.
FILE_FIELDS = {
    "image": "the black-and-white photo (any format Pillow reads)",
    "reference": "optional: a colour photo whose palette to follow",
}
FORMAT_ALIASES = {"jpg": "jpeg", "tif": "tiff"}


class OptionError(ValueError):
    """A bad form field (400)."""


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class Options(BaseModel):
    """A request's text fields, checked; a field left out (or empty) is the command line's
    default. The form sends text: each validator takes the text and says what was wrong in one
    line; the ``Field`` constraints and schemas describe the same to OpenAPI."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    render_size: int | None = Field(
        None, ge=32, le=MAX_RENDER_SIZE,
        description="long side the network sees (default: the model's)")
    saturation: float = Field(1.0, ge=0, description="chroma scale, 1 = as predicted")
    format: str | None = Field(
        None, json_schema_extra={"enum": list(OUTPUT_FORMATS)},
        description="default: JPEG stays JPEG, anything else becomes PNG")
    # Coordinates as stored in the file (as --hints).
    hints: Annotated[HintSet | None, WithJsonSchema({"type": "string"})] = Field(
        None, description='hints JSON, coordinates as stored in the file: '
                          '{"points": [{"x": 120, "y": 45, "color": "#a0c040"}]}')
    # As Colorizer.plan's restore: None (never), "auto" or the steps.
    restore: Annotated[str | tuple[str, ...] | None,
                       WithJsonSchema({"type": "string"})] = Field(
        None, json_schema_extra={"default": "false"}, description="restore the old print before colouring it: false (default), true or "
                          "auto (the steps whose damage is found), or steps such as "
                          "fading,grain,dust,scratches,halftone; the answer's XMP lists what ran")
    confidence: bool = Field(
        False, description="true: answer a zip (application/zip) of the result and "
                           "<name>-confidence.png, an 8-bit gray map at the photo's size: 255 "
                           "where the model is sure of the colour, 0 where it guessed")

    @field_validator("render_size", mode="before")
    @classmethod
    def _render_size(cls, value: Any) -> int | None:
        if _blank(value):
            return None
        try:
            size = int(value)
        except (TypeError, ValueError):
            raise ValueError(f"render_size must be a whole number, got {value!r}") from None
        if not 32 <= size <= MAX_RENDER_SIZE:
            raise ValueError(f"render_size must be 32-{MAX_RENDER_SIZE}, got {size}")
        return size

    @field_validator("saturation", mode="before")
    @classmethod
    def _saturation(cls, value: Any) -> float:
        if _blank(value):
            return 1.0
        try:
            saturation = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"saturation must be a number, got {value!r}") from None
        if not math.isfinite(saturation) or saturation < 0:
            raise ValueError(f"saturation must be a finite number >= 0, got {saturation}")
        return saturation

    @field_validator("format", mode="before")
    @classmethod
    def _format(cls, value: Any) -> str | None:
        if _blank(value):
            return None
        fmt = str(value).strip().lower()
        fmt = FORMAT_ALIASES.get(fmt, fmt)
        if fmt not in OUTPUT_FORMATS:
            raise ValueError(f"format must be one of {', '.join(OUTPUT_FORMATS)}, "
                             f"got {value!r}")
        return fmt

    @field_validator("hints", mode="before")
    @classmethod
    def _hints(cls, value: Any) -> HintSet | None:
        if _blank(value) or isinstance(value, HintSet):
            return value or None
        try:  # bytes: from_json reads a str that is not JSON as a path, which must not happen
            return HintSet.from_json(str(value).encode("utf-8"))
        except HintError as error:
            raise ValueError(f"hints: {error}") from None

    @field_validator("restore", mode="before")
    @classmethod
    def _restore(cls, value: Any) -> str | tuple[str, ...] | None:
        if isinstance(value, tuple):
            return value
        return parse_restore("" if value is None else str(value))

    @field_validator("confidence", mode="before")
    @classmethod
    def _confidence(cls, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        word = "" if value is None else str(value).strip().lower()
        if word not in NO_WORDS + YES_WORDS:
            raise ValueError(f"confidence must be true or false, got {value!r}")
        return word in YES_WORDS


# Form fields besides the files, from the model.
TEXT_FIELDS = tuple(Options.model_fields)


def parse_options(fields: dict[str, str]) -> Options:
    """The form's text fields -> :class:`Options`.

    Raises:
        OptionError: an unknown field, or a value that is not what the field takes (one line:
            the first bad field's).
    """
    unknown = sorted(set(fields) - set(TEXT_FIELDS))
    if unknown:
        raise OptionError(f"unknown form field(s) {unknown}; the fields are "
                          + ", ".join((*FILE_FIELDS, *TEXT_FIELDS)))
    try:
        return Options.model_validate(fields)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        message = str(first["msg"]).removeprefix("Value error, ")
        field = ".".join(str(part) for part in first["loc"])
        if not message.startswith(field):
            message = f"{field}: {message}"
        raise OptionError(message.splitlines()[0] if message else field) from None


def form_schema() -> dict[str, Any]:
    """The OpenAPI schema of the multipart form: the files, then :class:`Options`' fields."""
    schema = Options.model_json_schema()
    properties = {name: {"type": "string", "format": "binary", "description": text}
                  for name, text in FILE_FIELDS.items()}
    for name, field in schema["properties"].items():
        field.pop("title", None)
        if "anyOf" in field:  # X | None: the form sends X or nothing
            kinds = [kind for kind in field.pop("anyOf") if kind.get("type") != "null"]
            field = {**kinds[0], **field}
        if field.get("default", 0) is None:  # left out: the command line's default
            del field["default"]
        properties[name] = field
    return {"type": "object", "required": ["image"], "properties": properties}


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
                          restore=options.restore, render_size=options.render_size)
    confidence_png = None
    if options.confidence:
        [(rgb, confidence)] = colorizer.colorize_plans([plan], confidence=True)
        confidence_png = gray_png(confidence)
    else:
        rgb = colorizer.colorize_plans([plan])[0]
    fmt = fit_format(options.format or default_format(loaded.format), loaded)
    steps = plan.restored_steps
    if steps and xmp is not None:
        xmp = colorizer.xmp(True, steps)
    data = image_bytes(rgb, plan.loaded, fmt, xmp)
    if credentials is not None:
        data = credentials.for_photo(image, image_name or "image", steps)(data, fmt)
    return data, fmt, confidence_png
