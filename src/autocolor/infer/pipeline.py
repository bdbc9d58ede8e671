"""Torch-free pre- and post-processing around a model.

L (full res) -> L_norm at the render size -> [backend] -> ab_norm at the render size ->
ab upsampled to full res -> (hints, reference) -> joined with the full-res L.

Without hints or a reference photo, :func:`render_rgb` fuses the last three steps: ab is
upsampled strip by strip and turned into sRGB at once, so no full-resolution ab is ever held
(12 MP: 96 MB less, and the strips stay in the CPU cache) and the strips run on all cores.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from autocolor.color.constants import AB_SCALE, L_SCALE, L_SHIFT
from autocolor.color.lab_numpy import (
    lab_to_srgb_into,
    lightness_from_norm,
    map_strips,
    scratch,
)
from autocolor.infer.guided import guided_coefficients

if TYPE_CHECKING:
    from autocolor.image_output import YCbCr420

# Long side the network sees when the weights' metadata does not say otherwise.
DEFAULT_RENDER_SIZE = 384
# Models downsample 5 times (stride 32).
SIZE_MULTIPLE = 32
# Before the antialiased resize to the render size, L is box-averaged by an integer factor that
# leaves at least this much reduction to the resize (as Pillow's ``reducing_gap``; 2 is
# visually the same as the plain resize, and 3x cheaper on a 12 MP photo).
REDUCING_GAP = 2.0


def render_shape(height: int, width: int, render_size: int) -> tuple[int, int]:
    """(h, w) the network sees: long side ~ render_size, aspect kept, sides multiples of 32."""
    if render_size < SIZE_MULTIPLE:
        raise ValueError(f"render size must be at least {SIZE_MULTIPLE}, got {render_size}")
    scale = render_size / max(height, width)

    def side(length: int) -> int:
        return max(SIZE_MULTIPLE, int(round(length * scale / SIZE_MULTIPLE)) * SIZE_MULTIPLE)

    return side(height), side(width)


def resize_plane(plane: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize one float32 (H, W) plane with Pillow's antialiased bilinear filter."""
    if plane.shape == (height, width):
        return plane.astype(np.float32, copy=False)
    image = Image.fromarray(np.ascontiguousarray(plane, dtype=np.float32), mode="F")
    return np.asarray(image.resize((width, height), Image.Resampling.BILINEAR), dtype=np.float32)


def box_reduce(plane: np.ndarray, factor: int) -> np.ndarray:
    """Means of ``factor`` x ``factor`` blocks, float32, (ceil(H / factor), ceil(W / factor));
    the blocks at the bottom and right edges may be partial (means of the pixels there), as in
    Pillow's ``Image.reduce``."""
    height, width = plane.shape
    whole_h, whole_w = height // factor, width // factor
    out_h, out_w = -(-height // factor), -(-width // factor)
    rows = np.empty((out_h, width), dtype=np.float32)  # sums of `factor` rows
    rows[:whole_h] = plane[0:whole_h * factor:factor]
    for offset in range(1, factor):
        rows[:whole_h] += plane[offset:whole_h * factor:factor]
    if out_h > whole_h:
        rows[whole_h] = plane[whole_h * factor:].mean(axis=0, dtype=np.float32) * factor
    out = np.empty((out_h, out_w), dtype=np.float32)
    out[:, :whole_w] = rows[:, 0:whole_w * factor:factor]
    for offset in range(1, factor):
        out[:, :whole_w] += rows[:, offset:whole_w * factor:factor]
    if out_w > whole_w:
        out[:, whole_w] = rows[:, whole_w * factor:].mean(axis=1, dtype=np.float32) * factor
    out *= np.float32(1.0 / (factor * factor))
    return out


def model_input(lightness: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Full-res L (H, W) in [0, 100] -> L_norm (1, h, w) float32 at the render shape."""
    height, width = lightness.shape
    factor = int(min(height / shape[0], width / shape[1]) / REDUCING_GAP)
    if factor >= 2:
        # As Pillow's reducing_gap: a box reduction, then the antialiased resize of the part
        # of the reduced image that is the photo (its last row and column may be partial).
        reduced = Image.fromarray(box_reduce(lightness, factor), mode="F")
        box = (0.0, 0.0, width / factor, height / factor)
        small = np.asarray(reduced.resize((shape[1], shape[0]), Image.Resampling.BILINEAR,
                                          box=box), dtype=np.float32)
    else:
        small = resize_plane(lightness, *shape)  # (h, w)
    small = small * np.float32(1.0 / L_SCALE)
    small -= np.float32(L_SHIFT)
    return small[None].astype(np.float32, copy=False)


def _bilinear_axis(out_size: int, in_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sample positions of a bilinear upsampling along one axis (pixel centres aligned, edges
    clamped, as Pillow's BILINEAR for enlargements): -> (index0, index1, weight of index1)."""
    source = (np.arange(out_size, dtype=np.float64) + 0.5) * (in_size / out_size) - 0.5
    source = np.clip(source, 0.0, in_size - 1)
    index0 = np.minimum(np.floor(source).astype(np.intp), in_size - 1)
    index1 = np.minimum(index0 + 1, in_size - 1)
    return index0, index1, (source - index0).astype(np.float32)


class _Upsampler:
    """Bilinear enlargement of a few (h, w) planes to (H, W), row strip by row strip.

    The horizontal pass runs once on the small planes ((C, h, W): cheap; Pillow's bilinear
    resize, whose samples are :func:`_bilinear_axis`'s); each output row is
    then ``row[y0] + weight * (row[y0 + 1] - row[y0])``, done for the runs of output rows that
    share ``y0`` at once.
    """

    def __init__(self, planes: np.ndarray, height: int, width: int) -> None:
        _, small_h, small_w = planes.shape
        # The horizontal pass is Pillow's bilinear enlargement, the same samples as
        # _bilinear_axis in C (1.5x faster than NumPy's fancy indexing here).
        wide = np.stack([np.asarray(Image.fromarray(np.ascontiguousarray(plane, np.float32), "F")
                                    .resize((width, small_h), Image.Resampling.BILINEAR))
                         for plane in planes])  # (C, h, W)
        self.rows = wide
        y0, _, self.wy = _bilinear_axis(height, small_h)
        self.y0 = y0.tolist()
        # Difference to the next row (zero for the last).
        step = np.zeros(wide.shape, dtype=np.float32)
        step[:, :-1] = wide[:, 1:] - wide[:, :-1]
        self.step = step

    def strip(self, channel: int, top: int, bottom: int, out: np.ndarray) -> np.ndarray:
        rows, steps, y0, wy = self.rows[channel], self.step[channel], self.y0, self.wy
        start = top
        while start < bottom:
            source = y0[start]
            end = start + 1
            while end < bottom and y0[end] == source:
                end += 1
            target = out[start - top:end - top]
            np.multiply(wy[start:end, None], steps[source], out=target)
            target += rows[source]
            start = end
        return out


def _enlarges(small: tuple[int, int], height: int, width: int) -> bool:
    return height >= small[0] and width >= small[1]


def guide_at(lightness: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Full-res L (H, W) -> L (h, w) in [0, 100] at the render shape, as the network saw it."""
    return lightness_from_norm(model_input(lightness, shape))


def guide_of(l_norm: np.ndarray) -> np.ndarray:
    """The network's input (1, h, w) L_norm (:func:`model_input`) -> (h, w) L in [0, 100]: the
    guided filter's guide at the render size, without reducing the full-size photo again."""
    return lightness_from_norm(l_norm)


def _planes(lightness: np.ndarray, ab_small: np.ndarray, guided: bool,
            guide: np.ndarray | None = None) -> np.ndarray:
    """What to upsample: ab itself (2, h, w), or its guided-filter coefficients (4, h, w);
    ``guide``: L at the render shape when the caller has it (:func:`guide_of`)."""
    if not guided:
        return ab_small
    if guide is None or guide.shape != ab_small.shape[1:]:
        guide = guide_at(lightness, ab_small.shape[1:])
    return guided_coefficients(guide, ab_small)


def upsample_ab(ab_norm: np.ndarray, height: int, width: int,
                lightness: np.ndarray | None = None,
                guide: np.ndarray | None = None) -> np.ndarray:
    """ab_norm (2, h, w) -> ab (H, W, 2) float32 in Lab units at full resolution.

    With the full-res ``lightness`` (H, W), the upsampling is edge-aware (the fast guided
    filter, :mod:`autocolor.infer.guided`; ``guide``: L at the render shape, when known);
    without it, bilinear.
    """
    ab_small = ab_norm.astype(np.float32) * np.float32(AB_SCALE)
    if not _enlarges(ab_small.shape[1:], height, width):  # a photo smaller than the render
        planes = [resize_plane(ab_small[channel], height, width) for channel in range(2)]
        return np.stack(planes, axis=-1)
    guided = lightness is not None
    full = (lightness if lightness is not None else np.zeros((1, 1), np.float32)).astype(
        np.float32, copy=False)  # the guide's full-resolution side (unused when bilinear)
    upsampler = _Upsampler(_planes(full, ab_small, guided, guide), height, width)
    out = np.empty((height, width, 2), dtype=np.float32)

    def strip(top: int, bottom: int) -> None:
        plane = scratch("upsample_plane", (bottom - top, width))
        for channel in range(2):
            upsampler.strip(channel, top, bottom, plane)
            if guided:  # ab = A * L + B
                plane *= full[top:bottom]
                plane += upsampler.strip(2 + channel, top, bottom,
                                         scratch("upsample_offset", (bottom - top, width)))
            out[top:bottom, :, channel] = plane

    map_strips(height, width, strip)
    return out


def render_rgb(lightness: np.ndarray, ab_norm: np.ndarray, bit_depth: int = 8,
               saturation: float = 1.0, guided: bool = False,
               guide: np.ndarray | None = None) -> np.ndarray:
    """Full-res L (H, W) + ab_norm (2, h, w) at the render size -> sRGB (H, W, 3) uint8/uint16.

    The same as ``lab_to_rgb_array(lightness, saturation * upsample_ab(ab_norm, H, W, L))``
    (``guided``: edge-aware, else bilinear; ``guide``: L at the render shape, when known) but
    fused per strip of rows: no full-resolution ab, all cores.
    """
    from autocolor.images import lab_to_rgb_array

    height, width = lightness.shape
    ab_small = ab_norm.astype(np.float32) * np.float32(AB_SCALE * saturation)
    if not _enlarges(ab_small.shape[1:], height, width):
        ab = np.stack([resize_plane(ab_small[c], height, width) for c in range(2)], axis=-1)
        return lab_to_rgb_array(lightness, ab, bit_depth)
    lightness = lightness.astype(np.float32, copy=False)
    upsampler = _Upsampler(_planes(lightness, ab_small, guided, guide), height, width)
    out = np.empty((height, width, 3), dtype=np.uint16 if bit_depth == 16 else np.uint8)

    def strip(top: int, bottom: int) -> None:
        shape = (bottom - top, width)
        a = upsampler.strip(0, top, bottom, scratch("render_a", shape))
        b = upsampler.strip(1, top, bottom, scratch("render_b", shape))
        if guided:  # ab = A * L + B
            rows = lightness[top:bottom]
            a *= rows
            a += upsampler.strip(2, top, bottom, scratch("render_offset", shape))
            b *= rows
            b += upsampler.strip(3, top, bottom, scratch("render_offset", shape))
        lab_to_srgb_into(lightness[top:bottom], a, b, out[top:bottom])

    map_strips(height, width, strip)
    return out


def render_ycbcr(lightness: np.ndarray, ab_norm: np.ndarray, saturation: float = 1.0,
                 guided: bool = False, guide: np.ndarray | None = None,
                 gray: np.ndarray | None = None, encoding: str = "jfif"
                 ) -> YCbCr420 | np.ndarray:
    """Full-res L (H, W) + ab_norm (2, h, w) -> what an 8-bit 4:2:0 JPEG keeps of
    :func:`render_rgb`'s result: full-resolution luma and half-resolution chroma
    (:mod:`autocolor.infer.chroma`), for a quarter of the join's work. ``gray``: the 8-bit gray
    codes ``lightness`` was read from, when known (:meth:`LoadedImage.gray_codes
    <autocolor.images.LoadedImage.gray_codes>`); ``encoding``: JPEG's (``"jfif"``) or the
    videos' (``"bt709-tv"``), :data:`autocolor.image_output.YCBCR_ENCODINGS`.

    A photo whose half-resolution grid is smaller than the render on a side gets
    :func:`render_rgb`'s (H, W, 3) uint8 array instead (the encoder subsamples it).
    """
    from autocolor.infer.chroma import half_lightness, render_ycbcr420

    height, width = lightness.shape
    half_shape = (-(-height // 2), -(-width // 2))
    ab_small = ab_norm.astype(np.float32) * np.float32(AB_SCALE * saturation)
    if not _enlarges(ab_small.shape[1:], *half_shape):
        return render_rgb(lightness, ab_norm, 8, saturation, guided, guide)
    lightness = lightness.astype(np.float32, copy=False)
    half = half_lightness(lightness)
    upsampler = _Upsampler(_planes(half, ab_small, guided, guide), *half_shape)
    return render_ycbcr420(lightness, half, upsampler, guided, gray, encoding)
