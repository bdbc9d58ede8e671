"""sRGB <-> Lab in float32 NumPy for the inference path, which must run without torch.

scikit-image's converters work in float64 and are several times slower on 12-megapixel photos;
these functions use the same constants and are tested against scikit-image.

Speed notes (what made the full-resolution join fast on a CPU):

- No ``np.where`` and no boolean masks: both CIE piecewise curves are *tangent* where their
  pieces meet, so each is written branch-free as ``curve(max(x, knee)) + slope * (min(x, knee) -
  knee)``, which is exact on both sides and several times cheaper than a masked select. The sRGB
  curves meet continuously (not tangentially) at their knee; the same form is exact to 1e-7.
- Planar (channel-first) work on row strips that fit the L2 cache, with preallocated buffers.
- 8-bit output goes through a lookup table from linear light straight to uint8 (no ``pow``).
- :func:`map_strips` spreads strips over the cores (NumPy releases the GIL in its loops).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from autocolor.color.constants import L_SCALE, L_SHIFT, WHITE_D65

# sRGB primaries (D65), rows map linear RGB -> XYZ; the inverse is computed once.
_RGB_TO_XYZ = np.array(
    [[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]],
    dtype=np.float64,
)
_XYZ_TO_RGB = np.linalg.inv(_RGB_TO_XYZ)
_WHITE = np.asarray(WHITE_D65, dtype=np.float64)
_EPS = 216.0 / 24389.0  # CIE epsilon: (6/29)^3
_KAPPA = 24389.0 / 27.0
_DELTA = 6.0 / 29.0  # f at the CIE knee; f^3 and its tangent line 3 delta^2 (f - 4/29) meet here
_F_SLOPE = np.float32(3.0 * _DELTA**2)  # = 1 / 7.787, slope of the linear piece of f^-1
_L_SLOPE = np.float32(_KAPPA / 116.0)  # slope of the linear piece of f
# f^-1 (XYZ from f) per channel, folded with the white point into the matrix to linear RGB.
_LAB_XYZ_TO_RGB = (_XYZ_TO_RGB * _WHITE[None, :]).astype(np.float32)  # (3, 3)
_SRGB_KNEE = 0.04045  # on the encoded side
_LINEAR_KNEE = 0.0031308  # on the linear side
# 8-bit output: linear light in [0, 1] is cut into this many bins; the table holds each bin
# centre's sRGB value rounded to 8 bits (at most 1 level off for the rare values near a rounding
# boundary in the steepest, darkest part of the curve).
_ENCODE_BINS = 65536
# Rows per strip target about this many pixels. Each strip is a task handed to a pool thread,
# so small strips cost wake-ups: 65,536 pixels (which kept a few float32 planes in a core's L2
# cache) took the 4:2:0 join of a 12 MP photo 173 ms and the RGB join 252 ms, 262,144 pixels
# 104 and 172 ms (24 MP: 326 -> 207 and 683 -> 343 ms; 720p and 512 px frames faster too; the
# same pixels; interleaved, medians, 2 cores).
STRIP_PIXELS = 1 << 18


def _check(image: object, channels: int, name: str) -> np.ndarray:
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(image).__name__}")
    if image.ndim != 3 or image.shape[-1] != channels:
        raise ValueError(f"{name} must have shape (H, W, {channels}), got {image.shape}")
    if not np.issubdtype(image.dtype, np.floating):
        raise TypeError(f"{name} must be floating point, got {image.dtype}")
    return image


# -- strips over threads ----------------------------------------------------------------------

_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def cpu_threads() -> int:
    """Cores this process may run on (the environment variable ``AUTOCOLOR_THREADS`` overrides)."""
    override = os.environ.get("AUTOCOLOR_THREADS")
    if override:
        return max(1, int(override))
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def strip_rows(width: int) -> int:
    return max(8, STRIP_PIXELS // max(1, width))


def map_strips(height: int, width: int, work: Callable[[int, int], None],
               rows: int | None = None) -> None:
    """Call ``work(top, bottom)`` over row strips covering ``height``, on all cores.

    ``rows`` per strip defaults to about :data:`STRIP_PIXELS` pixels. The strips run on a pool
    used for nothing else (and they never wait on one another), so any thread may call this.
    """
    rows = rows or strip_rows(width)
    strips = [(top, min(height, top + rows)) for top in range(0, height, rows)]
    threads = min(cpu_threads(), len(strips))
    if threads <= 1:
        for top, bottom in strips:
            work(top, bottom)
        return
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL._max_workers < threads:  # type: ignore[attr-defined]
            _POOL = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="autocolor-strip")
        pool = _POOL
    for future in [pool.submit(work, top, bottom) for top, bottom in strips]:
        future.result()


_SCRATCH = threading.local()
# np.clip with two finite bounds is several times faster than a minimum or maximum with a
# scalar (which take a slower, NaN-aware path); these stand for "no bound".
_BIG = np.float32(3.0e38)


def scratch(name: str, shape: tuple[int, ...], dtype=np.float32) -> np.ndarray:
    """A per-thread reusable buffer (strips of one image share a shape)."""
    buffers = getattr(_SCRATCH, "buffers", None)
    if buffers is None:
        buffers = _SCRATCH.buffers = {}
    key = (name, np.dtype(dtype).str)
    size = int(np.prod(shape))
    buffer = buffers.get(key)
    if buffer is None or buffer.size < size:
        buffer = buffers[key] = np.empty(size, dtype=dtype)
    return buffer[:size].reshape(shape)


# -- the curves --------------------------------------------------------------------------------

def srgb_to_linear(values: np.ndarray) -> np.ndarray:
    """sRGB transfer function inverse, float32 in [0, 1] -> linear [0, 1]."""
    values = np.asarray(values, dtype=np.float32)
    low = np.clip(values, -_BIG, np.float32(_SRGB_KNEE), out=np.empty_like(values))
    high = np.clip(values, np.float32(_SRGB_KNEE), _BIG, out=np.empty_like(values))
    high += np.float32(0.055)
    high *= np.float32(1.0 / 1.055)
    np.power(high, np.float32(2.4), out=high)
    low -= np.float32(_SRGB_KNEE)
    low *= np.float32(1.0 / 12.92)
    high += low
    return high


def _linear_to_srgb_inplace(values: np.ndarray, spare: np.ndarray,
                            root: np.ndarray) -> np.ndarray:
    """In place: linear (any range) -> sRGB in [0, 1]; ``spare`` and ``root`` are buffers of the
    same shape."""
    np.clip(values, np.float32(0.0), np.float32(1.0), out=values)
    np.clip(values, -_BIG, np.float32(_LINEAR_KNEE), out=spare)
    np.clip(values, np.float32(_LINEAR_KNEE), _BIG, out=values)
    # x^(1/2.4) = x^(5/12) = c^(5/4) = c * sqrt(sqrt(c)) with c = cbrt(x): 5x cheaper than a
    # float32 pow, and within 2e-7 of it.
    np.cbrt(values, out=values)
    np.sqrt(values, out=root)
    np.sqrt(root, out=root)
    values *= root
    values *= np.float32(1.055)
    values -= np.float32(0.055)
    spare -= np.float32(_LINEAR_KNEE)
    spare *= np.float32(12.92)
    values += spare
    # The pieces meet to within float32 rounding; keep the range exact.
    np.clip(values, np.float32(0.0), np.float32(1.0), out=values)
    return values


def linear_to_srgb(values: np.ndarray) -> np.ndarray:
    """Linear [0, 1] -> sRGB [0, 1] (input clipped to [0, 1] first), float32."""
    values = np.array(values, dtype=np.float32)  # a copy
    return _linear_to_srgb_inplace(values, np.empty_like(values), np.empty_like(values))


def luminance_to_lightness(y: np.ndarray, out: np.ndarray | None = None,
                           spare: np.ndarray | None = None) -> np.ndarray:
    """Relative luminance Y (any shape, float32) -> CIE L* in [0, 100], float32.

    ``y`` is overwritten when ``out`` is ``y``; ``spare`` is an optional buffer like ``y``.
    """
    if out is None:
        out = np.empty(np.shape(y), dtype=np.float32)
    if spare is None:
        spare = np.empty_like(out)
    np.clip(y, -_BIG, np.float32(_EPS), out=spare)
    np.clip(y, np.float32(_EPS), _BIG, out=out)
    np.cbrt(out, out=out)
    spare -= np.float32(_EPS)
    spare *= _L_SLOPE
    out += spare
    out *= np.float32(116.0)
    out -= np.float32(16.0)
    return out


def _f_inverse_inplace(f: np.ndarray, low: np.ndarray, square: np.ndarray) -> np.ndarray:
    """In place: f -> f^-1(f) (X/Xn, Y/Yn, Z/Zn); ``low`` and ``square`` are spare buffers."""
    np.clip(f, -_BIG, np.float32(_DELTA), out=low)
    np.clip(f, np.float32(_DELTA), _BIG, out=f)
    np.multiply(f, f, out=square)
    f *= square
    low -= np.float32(_DELTA)
    low *= _F_SLOPE
    f += low
    return f


def _lab_to_f(lightness: np.ndarray, a: np.ndarray, b: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Planes L, a, b (...) -> f (3, ...) = (f_x, f_y, f_z)."""
    np.multiply(lightness, np.float32(1.0 / 116.0), out=f[1])
    f[1] += np.float32(16.0 / 116.0)
    np.multiply(a, np.float32(1.0 / 500.0), out=f[0])
    f[0] += f[1]
    np.multiply(b, np.float32(-1.0 / 200.0), out=f[2])
    f[2] += f[1]
    # Like scikit-image and kornia: f_z < 0 (dark, strongly yellow, out of gamut) is taken as 0.
    np.clip(f[2], np.float32(0.0), _BIG, out=f[2])
    return f


def _f_to_linear_rgb(f: np.ndarray, rgb: np.ndarray, spare: np.ndarray, scale: float) -> None:
    """f (3, ...) -> ``scale`` * linear RGB (3, ...) in ``rgb``; ``f`` is destroyed."""
    _f_inverse_inplace(f, rgb, spare)  # rgb and spare used as scratch here
    matrix = _LAB_XYZ_TO_RGB * np.float32(scale)
    for channel in range(3):
        target = rgb[channel]
        np.multiply(f[0], matrix[channel, 0], out=target)
        for column in (1, 2):
            np.multiply(f[column], matrix[channel, column], out=spare[0])
            target += spare[0]


_ENCODE_LUT: np.ndarray | None = None


def _encode_lut() -> np.ndarray:
    """Bin index of linear light (``floor(v * _ENCODE_BINS)``) -> 8-bit sRGB."""
    global _ENCODE_LUT
    if _ENCODE_LUT is None:
        centres = (np.arange(_ENCODE_BINS, dtype=np.float64) + 0.5) / _ENCODE_BINS
        encoded = np.where(centres > _LINEAR_KNEE, 1.055 * centres ** (1 / 2.4) - 0.055,
                           12.92 * centres)
        _ENCODE_LUT = np.floor(encoded * 255.0 + 0.5).astype(np.uint8)
    return _ENCODE_LUT


def lab_to_srgb_into(lightness: np.ndarray, a: np.ndarray, b: np.ndarray,
                     out: np.ndarray) -> np.ndarray:
    """Planes L, a, b (h, w) float32 -> ``out`` (h, w, 3) uint8 or uint16 sRGB, rounded.

    Meant for strips (see :func:`map_strips`): the work buffers are per thread and sized to the
    strip. uint8 goes through a table from linear light (within 1 level of exact rounding);
    uint16 computes the curve exactly.
    """
    if out.dtype == np.uint8:
        # a contiguous plane per channel, then one interleaving copy, beat a strided target
        planes = lab_to_srgb_planes(lightness, a, b)
        for channel in range(3):
            out[..., channel] = planes[channel]
        return out
    shape = lightness.shape
    f = scratch("f", (3, *shape))
    rgb = scratch("rgb", (3, *shape))
    spare = scratch("spare", (3, *shape))
    _lab_to_f(lightness, a, b, f)
    if out.dtype == np.uint16:
        _f_to_linear_rgb(f, rgb, spare, 1.0)
        _linear_to_srgb_inplace(rgb, spare, f)
        rgb *= np.float32(65535.0)
        rgb += np.float32(0.5)
        for channel in range(3):
            np.copyto(out[..., channel], rgb[channel], casting="unsafe")
    else:
        raise TypeError(f"out must be uint8 or uint16, got {out.dtype}")
    return out


def lab_to_srgb_planes(lightness: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Planes L, a, b (h, w) float32 -> (3, h, w) uint8 sRGB planes, as
    :func:`lab_to_srgb_into` rounds them; a per-thread scratch buffer, valid until this thread's
    next call."""
    shape = lightness.shape
    f = scratch("f", (3, *shape))
    rgb = scratch("rgb", (3, *shape))
    spare = scratch("spare", (3, *shape))
    _lab_to_f(lightness, a, b, f)
    _f_to_linear_rgb(f, rgb, spare, _ENCODE_BINS)
    np.clip(rgb, np.float32(0.0), np.float32(_ENCODE_BINS - 1), out=rgb)
    index = scratch("index", (3, *shape), np.uint16)
    np.copyto(index, rgb, casting="unsafe")  # floor, values are >= 0
    lut = _encode_lut()
    planes = scratch("encoded", (3, *shape), np.uint8)
    for channel in range(3):
        # mode="clip" skips the bounds check (indices are in range) and is 2x faster
        np.take(lut, index[channel], out=planes[channel], mode="clip")
    return planes


def gray_codes_into(lightness: np.ndarray, out: np.ndarray) -> np.ndarray:
    """L* (h, w) float32 -> ``out`` (h, w) uint8: the 8-bit sRGB code of the gray of each L*,
    as :func:`lab_to_srgb_into` rounds a = b = 0 (its green channel, through the same table;
    per-thread buffers, for strips)."""
    shape = lightness.shape
    f = scratch("gray_f", shape)
    low = scratch("gray_low", shape)
    square = scratch("gray_square", shape)
    np.multiply(lightness, np.float32(1.0 / 116.0), out=f)
    f += np.float32(16.0 / 116.0)
    _f_inverse_inplace(f, low, square)
    # linear green of a neutral colour: its row of the matrix applied to (f^-1, f^-1, f^-1)
    f *= np.float32(_LAB_XYZ_TO_RGB[1].astype(np.float64).sum() * _ENCODE_BINS)
    np.clip(f, np.float32(0.0), np.float32(_ENCODE_BINS - 1), out=f)
    index = scratch("gray_index", shape, np.uint16)
    np.copyto(index, f, casting="unsafe")
    return np.take(_encode_lut(), index, out=out, mode="clip")


# -- whole images ------------------------------------------------------------------------------

def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) sRGB float in [0, 1] -> (H, W, 3) float32 Lab (L in [0, 100])."""
    rgb = _check(rgb, 3, "rgb")
    xyz = srgb_to_linear(rgb) @ (_RGB_TO_XYZ / _WHITE[:, None]).T.astype(np.float32)  # (H, W, 3)
    f = np.where(xyz > _EPS, np.cbrt(xyz), (_KAPPA * xyz + 16.0) / 116.0).astype(np.float32)
    lightness = 116.0 * f[..., 1] - 16.0
    a = 500.0 * (f[..., 0] - f[..., 1])
    b = 200.0 * (f[..., 1] - f[..., 2])
    return np.stack([lightness, a, b], axis=-1).astype(np.float32)


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """(H, W, 3) Lab -> (H, W, 3) float32 sRGB clipped to [0, 1]."""
    lab = _check(lab, 3, "lab")
    height, width = lab.shape[:2]
    out = np.empty((height, width, 3), dtype=np.float32)

    def strip(top: int, bottom: int) -> None:
        rows = lab[top:bottom]
        shape = rows.shape[:2]
        f = scratch("f", (3, *shape))
        rgb = scratch("rgb", (3, *shape))
        spare = scratch("spare", (3, *shape))
        _lab_to_f(rows[..., 0], rows[..., 1], rows[..., 2], f)
        _f_to_linear_rgb(f, rgb, spare, 1.0)
        _linear_to_srgb_inplace(rgb, spare, f)
        out[top:bottom] = np.moveaxis(rgb, 0, -1)

    map_strips(height, width, strip)
    return out


def gray_to_lightness(gray: np.ndarray) -> np.ndarray:
    """Gray sRGB values in [0, 1] (any shape) -> L in [0, 100], float32 (a = b = 0 for gray)."""
    y = srgb_to_linear(gray)
    return luminance_to_lightness(y, out=y)


def lightness_from_norm(l_norm: np.ndarray) -> np.ndarray:
    """A network input (1, h, w) L_norm in [-1, 1] -> (h, w) float32 L* in [0, 100]."""
    return (l_norm[0] + np.float32(L_SHIFT)) * np.float32(L_SCALE)
