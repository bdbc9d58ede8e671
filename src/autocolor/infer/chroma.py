"""The join for 4:2:0 outputs: full-resolution luma, chroma at half resolution.

A JPEG at quality 95 (Pillow's default subsampling) keeps colour at half resolution on each
side: the encoder averages each 2x2 block of Cb and Cr. :func:`~autocolor.infer.pipeline.
render_rgb` computes the colour of every pixel and the encoder then throws three quarters of it
away. :func:`render_ycbcr420` computes only what the file keeps:

- **Cb and Cr** from the colour of each 2x2 block: ab upsampled (guided or bilinear) to half
  resolution, joined with the block's mean L, to sRGB, to JFIF YCbCr. A quarter of the pixels.
- **Y** at full resolution from the photo's own L: the 8-bit code of each pixel's gray, plus
  the luma that the block's colour adds or takes away (a colour of lightness L* is not the gray
  of lightness L* in Y'; ``delta`` below, at half resolution). Gray regions keep the input's
  gray exactly.

The files decode as close to the RGB join's colours as its own 4:2:0 encoding does (tests; on
the validation photos 0.67 levels from the RGB join's JPEG on average, with PSNR, CIEDE2000 and
colourfulness within 0.006 dB, 0.001 and 0.002: ``scripts/jpeg_join_check.py``). The same
planes in the videos' encoding (BT.709, limited range) go into yuv420p frames.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.lib.stride_tricks import as_strided

from autocolor.color.lab_numpy import (
    gray_codes_into,
    lab_to_srgb_planes,
    map_strips,
    scratch,
)
from autocolor.image_output import YCBCR_ENCODINGS, YCbCr420, ycbcr_matrix

if TYPE_CHECKING:
    from autocolor.infer.pipeline import _Upsampler

# Full-range luma codes to limited range (the videos' encoding): 0-255 -> 16-235.
_LIMITED_RANGE = np.array([round(16 + code * 219 / 255) for code in range(256)], dtype=np.uint8)


def half_lightness(lightness: np.ndarray) -> np.ndarray:
    """(H, W) L -> (ceil(H / 2), ceil(W / 2)) means of 2x2 blocks (partial at odd edges)."""
    from autocolor.infer.pipeline import box_reduce

    return box_reduce(lightness.astype(np.float32, copy=False), 2)


def render_ycbcr420(lightness: np.ndarray, half: np.ndarray, upsampler: _Upsampler,
                    guided: bool, gray: np.ndarray | None = None,
                    encoding: str = "jfif") -> YCbCr420:
    """Full-res L (H, W) in [0, 100], its :func:`half_lightness` and an upsampler of ab (or of
    its guided-filter coefficients, ``guided``) for the half-resolution grid -> :class:`YCbCr420`.

    ``upsampler``: :class:`autocolor.infer.pipeline._Upsampler` over (2, h, w) ab in Lab units,
    or (4, h, w) coefficients A_a, A_b, B_a, B_b (``a = A_a * L + B_a``), enlarging to
    (ceil(H / 2), ceil(W / 2)). ``gray``: (H, W) uint8, the 8-bit gray codes ``lightness`` was
    read from, when known (:meth:`autocolor.images.LoadedImage.gray_codes`): the codes of its
    gray, without computing them. ``encoding``: a key of
    :data:`autocolor.image_output.YCBCR_ENCODINGS` (JPEG's, or the videos'). Use
    :func:`autocolor.infer.pipeline.render_ycbcr` rather than this directly.
    """
    height, width = lightness.shape
    half_h, half_w = half.shape
    matrix, offset = ycbcr_matrix(encoding)
    # Y' of the colour in full-range codes (delta is added to full-range gray codes)
    luma_weights = np.array(YCBCR_ENCODINGS[encoding][0], dtype=np.float32)
    cb = np.empty((half_h, half_w), dtype=np.uint8)
    cr = np.empty((half_h, half_w), dtype=np.uint8)
    # Y' of each block's colour minus Y' of its gray
    delta = np.empty((half_h, half_w), dtype=np.int16)

    def chroma_strip(top: int, bottom: int) -> None:
        shape = (bottom - top, half_w)
        rows = half[top:bottom]
        a = upsampler.strip(0, top, bottom, scratch("chroma_a", shape))
        b = upsampler.strip(1, top, bottom, scratch("chroma_b", shape))
        if guided:
            a *= rows
            a += upsampler.strip(2, top, bottom, scratch("chroma_offset", shape))
            b *= rows
            b += upsampler.strip(3, top, bottom, scratch("chroma_offset", shape))
        rgb = lab_to_srgb_planes(rows, a, b)  # (3, rows, w) uint8, as the RGB join rounds
        work = scratch("chroma_work", shape)
        spare = scratch("chroma_spare", shape)
        targets: tuple[np.ndarray, ...] = (delta[top:bottom], cb[top:bottom], cr[top:bottom])
        for row, target in enumerate(targets):
            weights = luma_weights if row == 0 else matrix[row]
            np.multiply(rgb[0], weights[0], out=work)
            for channel in (1, 2):
                np.multiply(rgb[channel], weights[channel], out=spare)
                work += spare
            if row == 0:  # the luma the colour adds to its gray
                work -= gray_codes_into(rows, scratch("chroma_gray", shape, np.uint8))
            else:
                work += offset[row]
                np.clip(work, np.float32(0.0), np.float32(255.0), out=work)
            np.rint(work, out=work)
            np.copyto(target, work, casting="unsafe")

    map_strips(half_h, half_w, chroma_strip)
    if gray is None:
        codes = np.empty((height, width), dtype=np.uint8)

        def gray_strip(top: int, bottom: int) -> None:
            gray_codes_into(lightness[top:bottom], codes[top:bottom])

        map_strips(height, width, gray_strip)
        gray = codes
    # Y = gray + the block's delta (clipped to [-128, 127], as when Pillow's 8-bit images did
    # this), over each 2x2 block, in strips on all cores: the same codes, without three
    # full-size Pillow images and the copy out of them (a 24 MP join took 28,000 page faults
    # in a fresh process, now 10,000: NumPy's large arrays are mapped in 2 MB pages).
    luma = np.empty((height, width), dtype=np.uint8)
    table = _LIMITED_RANGE if YCBCR_ENCODINGS[encoding][1] else None  # 0-255 -> 16-235

    def luma_strip(top: int, bottom: int) -> None:  # rows of the half-size planes
        first, last = 2 * top, min(height, 2 * bottom)
        rows = last - first
        block = np.clip(delta[top:bottom], -128, 127)
        work = scratch("luma_work", (rows, width), np.int16)
        np.copyto(work, gray[first:last])
        # each block's delta onto its 2x2 pixels: a (rows/2, 2, width/2, 2) view of the even
        # part, and the odd last row and column apart
        pairs_h, pairs_w = rows // 2, width // 2
        quads = as_strided(work, (pairs_h, 2, pairs_w, 2),
                           (2 * work.strides[0], work.strides[0], 2 * work.strides[1],
                            work.strides[1]), writeable=True)
        quads += block[:pairs_h, None, :pairs_w, None]
        if width % 2:
            work[:2 * pairs_h, -1] += np.repeat(block[:pairs_h, -1], 2)
        if rows % 2:
            work[-1] += np.repeat(block[-1], 2)[:width]
        np.clip(work, 0, 255, out=work)
        if table is None:
            np.copyto(luma[first:last], work, casting="unsafe")
        else:
            np.take(table, work, out=luma[first:last], mode="clip")

    map_strips(half_h, 4 * half_w, luma_strip)
    return YCbCr420(luma, cb, cr, encoding)
