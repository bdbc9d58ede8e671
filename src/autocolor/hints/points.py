"""Colour hint points: parsing, validation and EXIF-orientation mapping.

A hints file is JSON::

    {"points": [{"x": 120, "y": 45, "color": "#a0c040"},
                {"x": 300, "y": 80, "color": [200, 30, 30], "radius": 12}]}

``x`` and ``y`` are pixel-centre coordinates (column, row; integers or floats) in the input image
*as stored*, i.e. before EXIF rotation, because that is what a user or another tool sees when it
reads the raw pixel grid. :meth:`HintSet.to_oriented` maps them to the upright image that
``PIL.ImageOps.exif_transpose`` produces, which is the image the colorizer works on.

A hint gives chroma only: the a*, b* of its colour. The photo's own lightness is kept, so a hint
"#a0c040" on a dark pixel gives a dark green, not the hint's light green.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from autocolor.color.lab_numpy import rgb_to_lab

# Radius 0 means "just the pixel under (x, y)"; propagation always constrains at least one pixel of
# its working resolution, so this is never empty.
DEFAULT_RADIUS: float = 0.0

_POINT_KEYS = frozenset({"x", "y", "color", "radius"})
_TOP_KEYS = frozenset({"points"})


class HintError(ValueError):
    """A hints file or hint set is invalid; the message names the problem and the point index."""


def _point_error(index: int, message: str) -> HintError:
    return HintError(f"hint point {index}: {message}")


def parse_color(value: object, index: int = 0) -> tuple[int, int, int]:
    """Parse ``"#rrggbb"``, ``"#rgb"`` or ``[r, g, b]`` (integers 0-255) into an RGB tuple.

    Args:
        value: the JSON value of a point's ``"color"``.
        index: the point's index, only used in error messages.

    Returns:
        ``(r, g, b)`` integers in [0, 255].

    Raises:
        HintError: if the colour is not one of the accepted forms.
    """
    if isinstance(value, str):
        text = value.strip()
        digits = text[1:] if text.startswith("#") else None
        if (
            digits is None
            or len(digits) not in (3, 6)
            or any(ch not in "0123456789abcdefABCDEF" for ch in digits)
        ):
            raise _point_error(
                index, f'bad color {value!r}: expected "#rrggbb", "#rgb" or [r, g, b] with 0-255'
            )
        if len(digits) == 3:
            digits = "".join(ch * 2 for ch in digits)  # CSS rule: "#abc" == "#aabbcc"
        return (int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16))
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        if len(value) != 3:
            raise _point_error(index, f"bad color {value!r}: a list colour needs exactly 3 values")
        channels: list[int] = []
        for channel in value:
            # bool is an int subclass; true/false in JSON is a mistake, not a channel value.
            if isinstance(channel, bool) or not isinstance(channel, (int, float)):
                raise _point_error(index, f"bad color {value!r}: channels must be numbers 0-255")
            if not (math.isfinite(channel) and float(channel).is_integer() and 0 <= channel <= 255):
                raise _point_error(index, f"bad color {value!r}: channels must be integers 0-255")
            channels.append(int(channel))
        return (channels[0], channels[1], channels[2])
    raise _point_error(
        index, f'bad color {value!r}: expected "#rrggbb", "#rgb" or [r, g, b] with 0-255'
    )


def _number(point: Mapping[str, Any], key: str, index: int) -> float:
    value = point[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _point_error(index, f"{key!r} must be a finite number, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class HintPoint:
    """One hint: a colour at pixel-centre coordinates ``(x, y)``, applied to a disc of ``radius``.

    Attributes:
        x: column in pixels (0 = centre of the leftmost pixel).
        y: row in pixels (0 = centre of the top pixel).
        rgb: the hint colour as 8-bit sRGB.
        radius: disc radius in pixels of the same image; 0 = the single pixel at (x, y).
    """

    x: float
    y: float
    rgb: tuple[int, int, int]
    radius: float = DEFAULT_RADIUS

    @property
    def ab(self) -> tuple[float, float]:
        """The hint's chroma: a*, b* of ``rgb`` in Lab units (about [-86, 98] x [-108, 95])."""
        lab = rgb_to_lab(np.asarray(self.rgb, dtype=np.float32).reshape(1, 1, 3) / 255.0)
        return (float(lab[0, 0, 1]), float(lab[0, 0, 2]))

    @property
    def hex(self) -> str:
        """The colour as ``"#rrggbb"``."""
        return "#{:02x}{:02x}{:02x}".format(*self.rgb)


@dataclass(frozen=True)
class HintSet:
    """An ordered set of hint points; later points win where discs overlap.

    Build one with :meth:`from_json` (file, JSON text or dict) or directly from
    :class:`HintPoint` objects, e.g. from clicks in the app.
    """

    points: tuple[HintPoint, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        # Accept any sequence (a list from the app) but store a tuple so the set stays hashable.
        object.__setattr__(self, "points", tuple(self.points))

    def __len__(self) -> int:
        return len(self.points)

    def __iter__(self) -> Iterator[HintPoint]:
        return iter(self.points)

    def __bool__(self) -> bool:
        return bool(self.points)

    @classmethod
    def from_json(cls, source: str | os.PathLike[str] | bytes | Mapping[str, Any]) -> HintSet:
        """Parse a hints file.

        Args:
            source: a path (``str`` or ``PathLike``) to a JSON file, JSON text (a ``str`` starting
                with ``{`` or ``bytes``), or an already-decoded ``dict``.

        Returns:
            The hint set. Coordinates are not checked against an image size here; call
            :meth:`validate` once the image size is known.

        Raises:
            HintError: unreadable file, malformed JSON, missing or unknown keys, non-numeric or
                non-finite coordinates, bad colours, negative radius.
        """
        data: object
        if isinstance(source, Mapping):
            data = source
        else:
            if isinstance(source, bytes):
                text = source.decode("utf-8", errors="replace")
                origin = "hints JSON"
            elif isinstance(source, str) and source.lstrip().startswith(("{", "[")):
                text = source
                origin = "hints JSON"
            else:
                path = Path(source)
                try:
                    text = path.read_text(encoding="utf-8")
                except FileNotFoundError:
                    raise HintError(f"hints file not found: {path}") from None
                except (OSError, UnicodeDecodeError) as exc:
                    raise HintError(f"cannot read hints file {path}: {exc}") from None
                origin = f"hints file {path}"
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise HintError(
                    f"{origin} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
                ) from None
        if not isinstance(data, Mapping):
            raise HintError(
                f'hints must be a JSON object {{"points": [...]}}, got {type(data).__name__}'
            )
        if "points" not in data:
            raise HintError('hints JSON is missing the "points" list')
        unknown = sorted(set(data) - _TOP_KEYS)
        if unknown:
            raise HintError(f'hints JSON has unknown key(s) {unknown}; only "points" is allowed')
        raw_points = data["points"]
        if not isinstance(raw_points, list):
            raise HintError(f'"points" must be a list, got {type(raw_points).__name__}')
        points: list[HintPoint] = []
        for index, raw in enumerate(raw_points):
            if not isinstance(raw, Mapping):
                raise _point_error(index, f"must be an object, got {type(raw).__name__}")
            missing = [key for key in ("x", "y", "color") if key not in raw]
            if missing:
                raise _point_error(index, f"missing key(s) {missing}")
            unknown = sorted(set(raw) - _POINT_KEYS)
            if unknown:
                # Rejecting typos such as "raduis" beats silently using the default radius.
                raise _point_error(index, f"unknown key(s) {unknown}; allowed: x, y, color, radius")
            x = _number(raw, "x", index)
            y = _number(raw, "y", index)
            rgb = parse_color(raw["color"], index)
            radius = _number(raw, "radius", index) if "radius" in raw else DEFAULT_RADIUS
            if radius < 0:
                raise _point_error(index, f"radius must be >= 0, got {radius:g}")
            points.append(HintPoint(x=x, y=y, rgb=rgb, radius=radius))
        return cls(tuple(points))

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form, which :meth:`from_json` reads back unchanged."""
        out: list[dict[str, Any]] = []
        for point in self.points:
            entry: dict[str, Any] = {
                "x": int(point.x) if float(point.x).is_integer() else point.x,
                "y": int(point.y) if float(point.y).is_integer() else point.y,
                "color": point.hex,
            }
            if point.radius != DEFAULT_RADIUS:
                entry["radius"] = point.radius
            out.append(entry)
        return {"points": out}

    def to_json(self) -> str:
        """Serialise to JSON text."""
        return json.dumps(self.to_dict())

    def validate(self, size: tuple[int, int]) -> HintSet:
        """Check every point lies on an image of ``size = (width, height)``; returns ``self``.

        A point is inside when ``0 <= x <= width - 1`` and ``0 <= y <= height - 1`` (pixel
        centres). Radius and colour were checked at parse time but are checked again here because
        a HintSet can be built directly.

        Raises:
            HintError: naming the first offending point index.
        """
        width, height = (int(size[0]), int(size[1]))
        if width <= 0 or height <= 0:
            raise HintError(f"image size must be positive, got {size}")
        for index, point in enumerate(self.points):
            if not (math.isfinite(point.x) and math.isfinite(point.y)):
                raise _point_error(index, f"coordinates must be finite, got ({point.x}, {point.y})")
            if not (0 <= point.x <= width - 1 and 0 <= point.y <= height - 1):
                raise _point_error(
                    index,
                    f"({point.x:g}, {point.y:g}) is outside the {width}x{height} image "
                    f"(x must be in [0, {width - 1}], y in [0, {height - 1}])",
                )
            if not (math.isfinite(point.radius) and point.radius >= 0):
                raise _point_error(index, f"radius must be >= 0, got {point.radius:g}")
            parse_color(list(point.rgb), index)
        return self

    def to_oriented(self, orientation: int, stored_size: tuple[int, int]) -> HintSet:
        """Map stored-image coordinates to the upright image ``exif_transpose`` produces.

        Args:
            orientation: EXIF Orientation tag (0x0112). 1..8; any other value (absent, 0,
                garbage) leaves coordinates unchanged, as ``exif_transpose`` leaves the pixels.
            stored_size: ``(width, height)`` of the image as stored (before rotation).

        Returns:
            A new HintSet in upright coordinates; radius and colour unchanged. Its valid size is
            :func:`oriented_size` ``(orientation, stored_size)``.
        """
        width, height = (int(stored_size[0]), int(stored_size[1]))
        mapped = []
        for point in self.points:
            x, y = _map_point(point.x, point.y, orientation, width, height)
            mapped.append(replace(point, x=x, y=y))
        return HintSet(tuple(mapped))

    def scaled(self, factor_x: float, factor_y: float) -> HintSet:
        """Coordinates for the same image resized by ``(factor_x, factor_y)`` (pixel centres kept).

        The radius scales with the mean factor. Used to carry hints to a working resolution.
        """
        mapped = [
            replace(
                point,
                # Pixel centres sit at i + 0.5 in continuous coordinates, so scale about 0 there.
                x=(point.x + 0.5) * factor_x - 0.5,
                y=(point.y + 0.5) * factor_y - 0.5,
                radius=point.radius * 0.5 * (factor_x + factor_y),
            )
            for point in self.points
        ]
        return HintSet(tuple(mapped))

    def ab_array(self) -> np.ndarray:
        """``(N, 2)`` float32 a*, b* of every point's colour, in Lab units."""
        if not self.points:
            return np.zeros((0, 2), dtype=np.float32)
        rgb = np.asarray([p.rgb for p in self.points], dtype=np.float32).reshape(-1, 1, 3) / 255.0
        return rgb_to_lab(rgb)[:, 0, 1:].astype(np.float32)


def oriented_size(orientation: int, stored_size: tuple[int, int]) -> tuple[int, int]:
    """``(width, height)`` of the upright image; orientations 5-8 swap the sides."""
    width, height = (int(stored_size[0]), int(stored_size[1]))
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def _map_point(
    x: float, y: float, orientation: int, width: int, height: int
) -> tuple[float, float]:
    """One stored pixel centre -> upright pixel centre (see ``PIL.ImageOps.exif_transpose``).

    ``width``/``height`` are the stored sizes. The table follows the transposes exif_transpose
    applies: 2 FLIP_LEFT_RIGHT, 3 ROTATE_180, 4 FLIP_TOP_BOTTOM, 5 TRANSPOSE, 6 ROTATE_270
    (clockwise 90), 7 TRANSVERSE, 8 ROTATE_90 (counter-clockwise 90).
    """
    right = width - 1 - x  # mirrored column
    bottom = height - 1 - y  # mirrored row
    if orientation == 2:
        return (right, y)
    if orientation == 3:
        return (right, bottom)
    if orientation == 4:
        return (x, bottom)
    if orientation == 5:
        return (y, x)
    if orientation == 6:
        return (bottom, x)
    if orientation == 7:
        return (bottom, right)
    if orientation == 8:
        return (y, right)
    return (x, y)
