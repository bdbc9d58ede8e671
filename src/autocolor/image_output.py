"""Writing colour results: which format a target gets (:func:`output_suffix`,
:func:`format_of`, :func:`fit_target`) and the one encoder (:func:`write_image`) behind files
(:func:`save_image`, through :mod:`autocolor.atomic`) and bytes in memory (:func:`image_bytes`).

Pillow does the encoding, except 16-bit PNGs, which are written here, and JPEGs whose colour
comes as 4:2:0 planes (:class:`YCbCr420`): simplejpeg (libjpeg-turbo)
encodes those planes as they are, with no RGB step, and the metadata segments are added here.
The photos come from :mod:`autocolor.images` (:class:`~autocolor.images.LoadedImage` carries the
metadata kept).
"""

from __future__ import annotations

import io
import os
import re
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TypeAlias

import numpy as np
from PIL import Image

from autocolor.atomic import atomic_write
from autocolor.images import LoadedImage

# Lossy JPEG inputs stay JPEG; everything else becomes PNG (lossless, alpha, 16 bit).
JPEG_SUFFIXES = {".jpg", ".jpeg", ".jfif", ".mpo"}
JPEG_QUALITY = 95
# Lossy WebP at the JPEG's quality (a WebP is asked for to be small; PNG is the lossless choice).
WEBP_QUALITY = 95
# Deflate (lossless, zlib) for TIFF outputs; uncompressed a 12 MP photo is 36 MB.
TIFF_COMPRESSION = "tiff_adobe_deflate"
# What autocolor writes: format name -> the suffixes that ask for it (the first is the usual one).
OUTPUT_SUFFIXES = {"png": (".png",), "jpeg": (".jpg", ".jpeg"), "webp": (".webp",),
                   "tiff": (".tif", ".tiff")}
OUTPUT_FORMATS = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp",
                  "tiff": "image/tiff"}  # format -> media type
# zlib level of PNG outputs: level 6 took 15% longer than 1 on a 12 MP photo for files 0.1% to
# 4% smaller (photos with grain hardly compress losslessly).
PNG_COMPRESS_LEVEL = 1


# Y'CbCr encodings a result may come in: the luma weights of R, G, B, and whether the range is
# limited ("TV": Y in 16-235, Cb and Cr in 16-240) or full (0-255).
YCBCR_ENCODINGS: dict[str, tuple[tuple[float, float, float], bool]] = {
    "jfif": ((0.299, 0.587, 0.114), False),  # JPEG (BT.601, full range)
    "bt709-tv": ((0.2126, 0.7152, 0.0722), True),  # the video outputs, as they are tagged
}


# Outputs whose files hold 4:2:0 Y'CbCr -> its encoding: Colorizer.finish may hand them planes.
PLANE_FORMATS = {"jpeg": "jfif", "yuv420p": "bt709-tv"}


def ycbcr_matrix(encoding: str) -> tuple[np.ndarray, np.ndarray]:
    """-> (matrix (3, 3), offset (3,)) float32: [Y, Cb, Cr] = matrix @ [R, G, B] + offset, in
    8-bit codes, for one of :data:`YCBCR_ENCODINGS`."""
    (red, green, blue), limited = YCBCR_ENCODINGS[encoding]
    luma = np.array([red, green, blue], dtype=np.float64)
    # Cb = (B - Y) / (2 (1 - Kb)), Cr = (R - Y) / (2 (1 - Kr))
    cb = (np.array([0.0, 0.0, 1.0]) - luma) / (2.0 * (1.0 - blue))
    cr = (np.array([1.0, 0.0, 0.0]) - luma) / (2.0 * (1.0 - red))
    matrix = np.stack([luma, cb, cr])
    offset = np.array([0.0, 128.0, 128.0])
    if limited:
        matrix = matrix * np.array([219.0, 224.0, 224.0])[:, None] / 255.0
        offset = offset + np.array([16.0, 0.0, 0.0])
    return matrix.astype(np.float32), offset.astype(np.float32)


@dataclass(frozen=True, eq=False)
class YCbCr420:
    """An 8-bit photo or frame as 4:2:0 files hold it: ``y`` (H, W) uint8, ``cb`` and ``cr``
    (ceil(H / 2), ceil(W / 2)) uint8, in ``encoding`` (a key of :data:`YCBCR_ENCODINGS`)."""

    y: np.ndarray
    cb: np.ndarray
    cr: np.ndarray
    encoding: str = "jfif"

    @property
    def shape(self) -> tuple[int, int]:
        """(H, W) of the photo."""
        return self.y.shape[0], self.y.shape[1]

    def rgb(self) -> np.ndarray:
        """-> (H, W, 3) uint8 sRGB, the chroma repeated over each 2x2 block, by the inverse
        matrix in floating point (for a consumer that needs RGB: a PNG, a preview; Pillow's
        own YCbCr conversion is off by a level or two)."""
        height, width = self.shape
        matrix, offset = ycbcr_matrix(self.encoding)
        planes = [self.y.astype(np.float32) - offset[0]] + [
            np.repeat(np.repeat(plane.astype(np.float32) - offset[index], 2, axis=0), 2,
                      axis=1)[:height, :width]
            for index, plane in ((1, self.cb), (2, self.cr))]
        inverse = np.linalg.inv(matrix.astype(np.float64)).astype(np.float32)
        rgb = np.stack([inverse[row, 0] * planes[0] + inverse[row, 1] * planes[1]
                        + inverse[row, 2] * planes[2] for row in range(3)], axis=-1)
        return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


# A colour result: (H, W, 3) uint8/uint16 sRGB, or an 8-bit one as a 4:2:0 JPEG keeps it.
Rendered: TypeAlias = "np.ndarray | YCbCr420"


def result_name(upload_name: str, suffix: str, fallback: str = "photo") -> str:
    """A result's file name from the name it came with: ``scan 1.tif`` and ``.png`` ->
    ``scan_1-color.png`` (characters that are not safe in an HTTP header or on every disk become
    ``_``; ``fallback`` when nothing is left). The web app's downloads and the API's answers."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(upload_name).stem).strip("._") or fallback
    return f"{stem[:100]}-color{suffix}"


def gray_png(image: np.ndarray) -> bytes:
    """An (H, W) bool mask (255 where true) or uint8 map -> an 8-bit gray PNG (the restore
    masks and the confidence maps).

    Written here rather than by Pillow: every row takes PNG's "Up" filter (the difference from
    the row above) and zlib's run-length strategy. A confidence map is an enlarged small map
    and a mask is mostly one value, so the differences are runs of a few values: about a
    quarter of Pillow's time at level 1 on a 12 MP map, for a smaller file
    (``scripts/bench_restore.py`` times both, and the whole ``--confidence-map``).
    """
    array = np.asarray(image)
    if array.dtype == bool:
        array = array.astype(np.uint8) * 255
    if array.ndim != 2 or array.dtype != np.uint8 or 0 in array.shape:
        raise ValueError(f"expected an (H, W) uint8 or bool image, got {array.shape} "
                         f"{array.dtype}")
    height, width = array.shape
    rows = np.empty((height, width + 1), np.uint8)  # each row: its filter type, then the bytes
    rows[0, 0], rows[0, 1:] = 0, array[0]  # the first row as it is (filter None)
    rows[1:, 0] = 2  # Up: the byte minus the one above, modulo 256
    np.subtract(array[1:], array[:-1], out=rows[1:, 1:], dtype=np.uint8, casting="unsafe")
    compressor = zlib.compressobj(1, zlib.DEFLATED, 15, 9, zlib.Z_RLE)
    pixels = compressor.compress(rows.data) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit gray, no interlace
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", pixels)
            + _png_chunk(b"IEND", b""))


def output_suffix(input_path: str | os.PathLike) -> str:
    """JPEG stays JPEG; anything else becomes PNG. Decided from the name alone, so a resumed
    batch can skip finished outputs without decoding their inputs."""
    return ".jpg" if Path(input_path).suffix.lower() in JPEG_SUFFIXES else ".png"


def default_format(source_format: str | None) -> str:
    """:func:`output_suffix`'s rule for a decoded photo (an upload has no trustworthy name):
    a JPEG (Pillow's ``JPEG`` or ``MPO``) stays ``"jpeg"``, anything else becomes ``"png"``."""
    return "jpeg" if source_format in ("JPEG", "MPO") else "png"


def format_of(path: str | os.PathLike) -> str:
    """The output format a target's suffix names (a key of :data:`OUTPUT_FORMATS`).

    Raises:
        ValueError: a suffix autocolor does not write.
    """
    suffix = Path(path).suffix.lower()
    for name, suffixes in OUTPUT_SUFFIXES.items():
        if suffix in suffixes:
            return name
    raise ValueError(f"{path}: cannot write {suffix or 'a file without a suffix'!r}; use one of "
                     + ", ".join(s for suffixes in OUTPUT_SUFFIXES.values() for s in suffixes))


def can_hold(fmt: str, loaded: LoadedImage) -> bool:
    """Whether format ``fmt`` holds the photo as it is: JPEG has no alpha and no 16 bits; WebP
    and Pillow's TIFF writer have no 16-bit colour; PNG holds everything."""
    if fmt == "png":
        return True
    if loaded.bit_depth == 16:
        return False
    return fmt != "jpeg" or loaded.alpha is None


def fit_format(fmt: str, loaded: LoadedImage) -> str:
    """``fmt``, or ``"png"`` for a photo that ``fmt`` cannot hold (:func:`can_hold`)."""
    return fmt if can_hold(fmt, loaded) else "png"


def fit_target(target: Path, loaded: LoadedImage) -> Path:
    """A target whose format cannot hold the photo (alpha or 16 bits in a ``.jpg``, 16 bits in a
    ``.webp`` or ``.tif``) becomes ``.png`` rather than failing."""
    if can_hold(format_of(target), loaded):
        return target
    return target.with_suffix(".png")


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def png_xmp_chunk(xmp: bytes) -> bytes:
    """A PNG ``iTXt`` chunk holding an XMP packet (keyword ``XML:com.adobe.xmp``, uncompressed,
    as the XMP specification asks)."""
    from autocolor.provenance import PNG_XMP_KEYWORD

    # keyword NUL, compression flag 0, method 0, no language tag NUL, no translated keyword NUL
    return _png_chunk(b"iTXt", PNG_XMP_KEYWORD.encode("latin-1") + b"\x00\x00\x00\x00\x00" + xmp)


def _png16_bytes(pixels: np.ndarray, icc: bytes | None, exif: bytes | None,
                 xmp: bytes | None = None, compress_level: int = PNG_COMPRESS_LEVEL) -> bytes:
    """A 16-bit RGB(A) PNG (Pillow cannot write 48/64-bit colour PNGs)."""
    height, width, channels = pixels.shape
    color_type = {3: 2, 4: 6}[channels]
    rows = np.empty((height, 1 + width * channels * 2), dtype=np.uint8)
    rows[:, 0] = 0  # filter type None
    rows[:, 1:] = pixels.astype(">u2").view(np.uint8).reshape(height, -1)
    body = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 16,
                                                                    color_type, 0, 0, 0))
    if icc:
        body += _png_chunk(b"iCCP", b"ICC profile\x00\x00" + zlib.compress(icc))
    if exif:
        body += _png_chunk(b"eXIf", exif[6:] if exif.startswith(b"Exif\x00\x00") else exif)
    if xmp:
        body += png_xmp_chunk(xmp)
    body += _png_chunk(b"IDAT", zlib.compress(rows.tobytes(), compress_level)) + _png_chunk(
        b"IEND", b"")
    return body


def _segment(marker: int, payload: bytes) -> bytes:
    if len(payload) > 65533:
        raise ValueError(f"a JPEG segment holds at most 65533 bytes, got {len(payload)}")
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def jpeg_from_planes(planes: YCbCr420, loaded: LoadedImage, xmp: bytes | None = None) -> bytes:
    """A 4:2:0 JPEG at :data:`JPEG_QUALITY` straight from Y, Cb and Cr planes (simplejpeg),
    with ``loaded``'s EXIF and RGB ICC profile and ``xmp``, in the segments and the order Pillow
    writes them (APP1 EXIF, APP1 XMP, APP2 ICC chunks, after the JFIF APP0)."""
    import simplejpeg

    if planes.encoding != "jfif":
        raise ValueError(f"a JPEG holds JFIF Y'CbCr, not {planes.encoding}")
    data = simplejpeg.encode_jpeg_yuv_planes(planes.y, planes.cb, planes.cr,
                                             quality=JPEG_QUALITY)
    if data[:4] != b"\xff\xd8\xff\xe0":
        raise ValueError("the JPEG encoder wrote no JFIF header")
    app0_end = 4 + struct.unpack(">H", data[4:6])[0]
    segments = []
    if loaded.exif:
        exif = loaded.exif if loaded.exif.startswith(b"Exif\x00\x00") else (
            b"Exif\x00\x00" + loaded.exif)
        segments.append(_segment(0xE1, exif))
    if xmp:
        segments.append(_segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + xmp))
    if loaded.icc_profile:
        size = 65519  # 65533 less the 14-byte chunk header
        chunks = [loaded.icc_profile[at:at + size]
                  for at in range(0, len(loaded.icc_profile), size)]
        segments += [_segment(0xE2, b"ICC_PROFILE\x00" + bytes((number, len(chunks))) + chunk)
                     for number, chunk in enumerate(chunks, start=1)]
    return data[:app0_end] + b"".join(segments) + data[app0_end:]


def write_image(handle: IO[bytes], rgb: Rendered, loaded: LoadedImage, fmt: str,
                xmp: bytes | None = None, png_compress_level: int = PNG_COMPRESS_LEVEL) -> None:
    """Encode (H, W, 3) uint8/uint16 sRGB as ``fmt`` (a key of :data:`OUTPUT_FORMATS`) into a
    binary file ``handle``: the one encoder behind :func:`save_image` (files) and
    :func:`image_bytes` (the app's downloads, the server's responses). ``rgb`` may also be
    :class:`YCbCr420` planes: a JPEG encodes them as they are
    (:func:`jpeg_from_planes`), any other format their RGB.

    Keeps alpha, EXIF (orientation reset) and RGB ICC profiles from ``loaded``; ``xmp`` (an XMP
    packet, :meth:`autocolor.provenance.Provenance.xmp`) goes where each format keeps it: a JPEG
    APP1 segment, a PNG iTXt chunk, the WebP XMP chunk, TIFF tag 700.

    Raises:
        ValueError: an unknown format, or a photo ``fmt`` cannot hold (16 bits in anything but
            PNG, alpha in JPEG; :func:`fit_format` picks one that can).
    """
    if fmt not in OUTPUT_FORMATS:
        raise ValueError(f"unknown output format {fmt!r}; use one of {', '.join(OUTPUT_FORMATS)}")
    if not can_hold(fmt, loaded):
        what = "16-bit" if loaded.bit_depth == 16 else "transparent"
        raise ValueError(f"{what} output must be written as PNG, not {fmt.upper()}")
    if not isinstance(rgb, np.ndarray):  # YCbCr420 planes
        if fmt == "jpeg":
            handle.write(jpeg_from_planes(rgb, loaded, xmp))
            return
        rgb = rgb.rgb()
    if loaded.alpha is not None:
        rgb = np.concatenate([rgb, loaded.alpha[..., None].astype(rgb.dtype)], axis=-1)
    if rgb.dtype == np.uint16:
        handle.write(_png16_bytes(rgb, loaded.icc_profile, loaded.exif, xmp, png_compress_level))
        return
    image = Image.fromarray(rgb, "RGBA" if rgb.shape[-1] == 4 else "RGB")
    options: dict = {}
    if loaded.icc_profile:
        options["icc_profile"] = loaded.icc_profile
    if fmt == "tiff":  # Pillow takes EXIF or extra tags, not both: the packet joins the EXIF
        from autocolor.provenance import TIFF_XMP_TAG

        exif = Image.Exif()
        if loaded.exif:
            exif.load(loaded.exif)
        if xmp:
            exif[TIFF_XMP_TAG] = xmp
        image.save(handle, "TIFF", compression=TIFF_COMPRESSION, exif=exif, **options)
        return
    if loaded.exif:
        options["exif"] = loaded.exif
    if fmt == "png":
        if xmp:
            from PIL.PngImagePlugin import PngInfo

            from autocolor.provenance import PNG_XMP_KEYWORD

            info = PngInfo()
            info.add_itxt(PNG_XMP_KEYWORD, xmp.decode("utf-8"), zip=False)
            options["pnginfo"] = info
        image.save(handle, "PNG", compress_level=png_compress_level, **options)
        return
    if xmp:
        options["xmp"] = xmp
    if fmt == "jpeg":
        image.save(handle, "JPEG", quality=JPEG_QUALITY, **options)
    else:
        image.save(handle, "WEBP", quality=WEBP_QUALITY, **options)


def image_bytes(rgb: Rendered, loaded: LoadedImage, fmt: str, xmp: bytes | None = None,
                png_compress_level: int = PNG_COMPRESS_LEVEL) -> bytes:
    """:func:`write_image` into memory -> the file's bytes."""
    buffer = io.BytesIO()
    write_image(buffer, rgb, loaded, fmt, xmp, png_compress_level)
    return buffer.getvalue()


def save_image(rgb: Rendered, path: str | os.PathLike, loaded: LoadedImage,
               xmp: bytes | None = None,
               sign: Callable[[bytes, str], bytes] | None = None) -> Path:
    """Write (H, W, 3) uint8/uint16 sRGB to ``path`` in the format its suffix names
    (:func:`format_of`) through a temporary file and a rename
    (:func:`autocolor.atomic.atomic_write`), with :func:`write_image`'s metadata and ``xmp``.
    ``sign(data, format) -> data``: a last step on the encoded file (a C2PA manifest,
    :meth:`autocolor.credentials.ContentCredentials.sign`). A failure leaves no file behind.
    """
    path = Path(path)
    fmt = format_of(path)
    with atomic_write(path) as handle:
        if sign is None:
            write_image(handle, rgb, loaded, fmt, xmp)
        else:
            handle.write(sign(image_bytes(rgb, loaded, fmt, xmp), fmt))
    return path
