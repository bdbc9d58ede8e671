"""autocolor.image_output: the output format rules and writing results safely, with the
metadata read from the input (alpha, ICC, EXIF, 16 bits)."""

from __future__ import annotations

import functools
import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from autocolor.image_output import output_suffix, save_image
from autocolor.images import LoadedImage, lab_to_rgb_array, load_image

ORIENTATION = 0x0112
MAKE = 0x010F


# -- helpers ----------------------------------------------------------------------------------

@functools.cache
def srgb_icc() -> bytes:
    """Made once: the profile's header holds its creation time (as in test_images.py)."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def exif_with(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[MAKE] = "TestCam"
    return exif.tobytes()


def gray_ab(loaded: LoadedImage) -> np.ndarray:
    return np.zeros((*loaded.lightness.shape, 2), np.float32)


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset:offset + 4])
        tag = data[offset + 4:offset + 8]
        payload = data[offset + 8:offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length:offset + 12 + length])
        assert crc == zlib.crc32(tag + payload), tag
        chunks.append((tag, payload))
        offset += 12 + length
    return chunks


def png_ihdr(data: bytes) -> tuple[int, int, int, int]:
    """(width, height, bit depth, colour type) from a PNG file's bytes."""
    tag, payload = png_chunks(data)[0]
    assert tag == b"IHDR"
    return struct.unpack(">IIBB", payload[:10])


def decode_png16(data: bytes) -> np.ndarray:
    """Pixels of an unfiltered 16-bit RGB(A) PNG as written by autocolor, (H, W, C) uint16."""
    width, height, depth, colour_type = png_ihdr(data)
    assert depth == 16
    channels = {2: 3, 6: 4}[colour_type]
    raw = zlib.decompress(b"".join(p for t, p in png_chunks(data) if t == b"IDAT"))
    rows = np.frombuffer(raw, dtype=np.uint8).reshape(height, 1 + width * channels * 2)
    assert (rows[:, 0] == 0).all()  # filter type None
    return rows[:, 1:].copy().view(">u2").reshape(height, width, channels).astype(np.uint16)


# -- target names -----------------------------------------------------------------------------

@pytest.mark.parametrize("name,suffix", [("a.jpg", ".jpg"), ("a.JPEG", ".jpg"), ("a.jfif", ".jpg"),
                                         ("a.png", ".png"), ("a.tif", ".png"), ("a.webp", ".png"),
                                         ("a.bmp", ".png")])
def test_output_suffix(name: str, suffix: str) -> None:
    assert output_suffix(name) == suffix


# -- metadata kept in the output -------------------------------------------------------------

def test_alpha_kept_in_the_output(tmp_path: Path, smooth_rgb) -> None:
    gray = smooth_rgb(4)[..., 1]
    alpha = np.zeros_like(gray)
    alpha[:, ::3] = 255
    alpha[:, 1::3] = 100
    Image.fromarray(np.dstack([gray, alpha]), "LA").save(tmp_path / "a.png")
    loaded = load_image(tmp_path / "a.png")
    ab = np.full((*gray.shape, 2), 20.0, np.float32)
    out = save_image(lab_to_rgb_array(loaded.lightness, ab), tmp_path / "out.png", loaded)
    with Image.open(out) as written:
        assert written.mode == "RGBA"
        np.testing.assert_array_equal(np.asarray(written)[..., 3], alpha)


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_rgb_icc_profile_kept(tmp_path: Path, smooth_rgb, suffix: str) -> None:
    icc = srgb_icc()
    assert icc[16:20] == b"RGB "
    Image.fromarray(smooth_rgb(5)).save(tmp_path / f"in{suffix}", icc_profile=icc)
    loaded = load_image(tmp_path / f"in{suffix}")
    assert loaded.icc_profile == icc
    out = save_image(lab_to_rgb_array(loaded.lightness, gray_ab(loaded)),
                     tmp_path / f"out{suffix}", loaded)
    with Image.open(out) as written:
        assert written.info.get("icc_profile") == icc


def test_16_bit_in_16_bit_png_out(tmp_path: Path) -> None:
    gray = np.linspace(1000, 64000, 20 * 12).reshape(12, 20).astype(np.uint16)
    Image.fromarray(gray).save(tmp_path / "in.png", exif=exif_with(1), icc_profile=srgb_icc())
    loaded = load_image(tmp_path / "in.png")
    rgb = lab_to_rgb_array(loaded.lightness, np.full((12, 20, 2), (15.0, -10.0), np.float32), 16)
    assert rgb.dtype == np.uint16
    out = save_image(rgb, tmp_path / "out.png", loaded)
    data = out.read_bytes()
    assert png_ihdr(data) == (20, 12, 16, 2)
    np.testing.assert_array_equal(decode_png16(data), rgb)
    tags = [tag for tag, _ in png_chunks(data)]
    assert b"iCCP" in tags and b"eXIf" in tags and tags[-1] == b"IEND"
    with Image.open(out) as written:  # Pillow reads it (as 8-bit) with the metadata
        written.load()
        assert written.size == (20, 12)
        assert written.info.get("icc_profile") == srgb_icc()
        assert written.getexif()[MAKE] == "TestCam"


def test_16_bit_output_keeps_alpha(tmp_path: Path) -> None:
    loaded = LoadedImage(lightness=np.full((4, 6), 50.0, np.float32),
                         alpha=np.full((4, 6), 40000, np.uint16), bit_depth=16)
    rgb = lab_to_rgb_array(loaded.lightness, gray_ab(loaded), 16)
    data = save_image(rgb, tmp_path / "o.png", loaded).read_bytes()
    assert png_ihdr(data) == (6, 4, 16, 6)
    np.testing.assert_array_equal(decode_png16(data)[..., 3], 40000)


def test_16_bit_output_must_be_png(tmp_path: Path) -> None:
    loaded = LoadedImage(lightness=np.full((4, 6), 50.0, np.float32), bit_depth=16)
    with pytest.raises(ValueError, match="16-bit"):
        save_image(lab_to_rgb_array(loaded.lightness, gray_ab(loaded), 16), tmp_path / "o.jpg",
                   loaded)
    assert os.listdir(tmp_path) == []


# -- writing safely ---------------------------------------------------------------------------

def test_save_image_writes_no_temporary_files(tmp_path: Path, smooth_rgb) -> None:
    rgb = smooth_rgb(6)
    loaded = LoadedImage(lightness=np.zeros(rgb.shape[:2], np.float32))
    out = save_image(rgb, tmp_path / "deep" / "er" / "o.png", loaded)
    assert os.listdir(tmp_path / "deep" / "er") == ["o.png"]
    np.testing.assert_array_equal(np.asarray(Image.open(out)), rgb)
    mode = os.stat(out).st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask  # an ordinary file, not mkstemp's 0600


def test_save_image_failure_leaves_nothing(tmp_path: Path, smooth_rgb,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    rgb = smooth_rgb(7)
    loaded = LoadedImage(lightness=np.zeros(rgb.shape[:2], np.float32))
    existing = tmp_path / "old.png"
    existing.write_bytes(b"previous result")

    def failing_save(self, fp, format=None, **params):
        fp.write(b"partial data")
        raise OSError("encoder exploded")

    monkeypatch.setattr(Image.Image, "save", failing_save)
    with pytest.raises(OSError, match="encoder exploded"):
        save_image(rgb, tmp_path / "new.png", loaded)
    with pytest.raises(OSError, match="encoder exploded"):
        save_image(rgb, existing, loaded)
    assert sorted(os.listdir(tmp_path)) == ["old.png"]
    assert existing.read_bytes() == b"previous result"


def test_save_image_failure_on_16_bit_write(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = LoadedImage(lightness=np.full((4, 6), 50.0, np.float32), bit_depth=16)
    rgb = lab_to_rgb_array(loaded.lightness, gray_ab(loaded), 16)

    def failing_replace(source, target):
        raise OSError("rename failed")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="rename failed"):
        save_image(rgb, tmp_path / "o.png", loaded)
    assert os.listdir(tmp_path) == []


# -- JPEGs from 4:2:0 planes ----------------------------------------------------------------------

def gentle_rgb(height: int = 48, width: int = 64, seed: int = 0) -> np.ndarray:
    """Colour that changes over tens of pixels (what 4:2:0 keeps), on sharper gray detail."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    detail = rng.normal(0, 12, (height, width))[..., None]
    base = np.stack([128 + 90 * np.sin(x / 40 + seed), 128 + 80 * np.cos(y / 35),
                     128 + 70 * np.sin((x + y) / 50)], axis=-1)
    return np.clip(base + detail, 0, 255).astype(np.uint8)


def planes_of(rgb: np.ndarray):
    """An RGB image as the YCbCr420 planes a 4:2:0 JPEG keeps (chroma averaged per 2x2 block)."""
    from autocolor.image_output import YCbCr420

    ycc = rgb.astype(np.float32) @ np.array([[0.299, 0.587, 0.114],
                                             [-0.168735892, -0.331264108, 0.5],
                                             [0.5, -0.418687589, -0.081312411]]).T + [0, 128, 128]
    height, width = ycc.shape[:2]
    padded = np.pad(ycc.astype(np.float32), ((0, height % 2), (0, width % 2), (0, 0)), "edge")
    blocks = padded.reshape(padded.shape[0] // 2, 2, padded.shape[1] // 2, 2, 3).mean((1, 3))
    chroma = np.rint(blocks).astype(np.uint8)
    return YCbCr420(np.rint(ycc[..., 0]).astype(np.uint8), np.ascontiguousarray(chroma[..., 1]),
                    np.ascontiguousarray(chroma[..., 2]))


@pytest.mark.parametrize("size", [(48, 64), (47, 63)])
def test_jpeg_from_planes_is_as_close_as_pillows_jpeg(tmp_path: Path,
                                                   size: tuple[int, int]) -> None:
    rgb = gentle_rgb(*size, seed=7)
    loaded = LoadedImage(lightness=np.zeros(size, np.float32))
    path = save_image(planes_of(rgb), tmp_path / "planes.jpg", loaded)
    pillow = save_image(rgb, tmp_path / "pillow.jpg", loaded)
    with Image.open(path) as ours, Image.open(pillow) as theirs:
        assert ours.size == theirs.size == (size[1], size[0])
        assert ours.mode == "RGB"
        error = np.abs(np.asarray(ours, np.int32) - rgb).mean()
        pillows_error = np.abs(np.asarray(theirs, np.int32) - rgb).mean()
    assert error < pillows_error + 0.2, (error, pillows_error)


def test_jpeg_from_planes_keeps_exif_xmp_and_a_long_icc_profile(tmp_path: Path) -> None:
    rgb = gentle_rgb(seed=8)
    # a profile longer than one segment holds: split in two APP2 chunks, as Pillow does
    icc = srgb_icc() + bytes(70_000)
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"></x:xmpmeta>'
    loaded = LoadedImage(lightness=np.zeros(rgb.shape[:2], np.float32), exif=exif_with(1),
                         icc_profile=icc)
    ours = save_image(planes_of(rgb), tmp_path / "planes.jpg", loaded, xmp=xmp).read_bytes()
    theirs = save_image(rgb, tmp_path / "pillow.jpg", loaded, xmp=xmp).read_bytes()
    with Image.open(tmp_path / "planes.jpg") as image:
        assert image.info["icc_profile"] == icc
        assert image.info["xmp"] == xmp
        assert image.getexif()[MAKE] == "TestCam"

    def markers(data: bytes) -> list[bytes]:
        found, offset = [], 2
        while data[offset + 1] != 0xDA:
            (length,) = struct.unpack(">H", data[offset + 2:offset + 4])
            if 0xE0 <= data[offset + 1] <= 0xEF:
                found.append(data[offset:offset + 2] + data[offset + 4:offset + 18])
            offset += 2 + length
        return found

    assert markers(ours) == markers(theirs)  # the same segments, in Pillow's order


def test_planes_to_another_format_become_rgb(tmp_path: Path) -> None:
    rgb = gentle_rgb(seed=9)
    loaded = LoadedImage(lightness=np.zeros(rgb.shape[:2], np.float32))
    path = save_image(planes_of(rgb), tmp_path / "planes.png", loaded)
    with Image.open(path) as image:
        assert np.abs(np.asarray(image, np.int32) - rgb).mean() < 1.5


@pytest.mark.parametrize("shape", [(1, 1), (1, 37), (29, 1), (61, 83)])
def test_gray_png_decodes_to_the_same_bytes(shape) -> None:
    """The hand-written 8-bit gray PNG (Up filter, run-length zlib) reads back exactly, in
    Pillow and in OpenCV's libpng, for noise (the filter's worst case), a smooth map and a
    mask."""
    from autocolor.image_output import gray_png

    cv2 = pytest.importorskip("cv2")  # the restore extra

    rng = np.random.default_rng(sum(shape))
    noise = rng.integers(0, 256, shape, dtype=np.uint8)
    smooth = np.asarray(Image.fromarray(noise[:4, :4]).resize(shape[::-1], Image.Resampling.BILINEAR))
    mask = rng.random(shape) < 0.1
    for image, expected in ((noise, noise), (smooth, smooth), (mask, mask.astype(np.uint8) * 255)):
        data = gray_png(image)
        with Image.open(io.BytesIO(data)) as decoded:
            assert decoded.mode == "L" and decoded.size == shape[::-1]
            assert np.array_equal(np.asarray(decoded), expected)
        by_libpng = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        assert np.array_equal(by_libpng, expected)


def test_gray_png_refuses_what_it_cannot_write() -> None:
    from autocolor.image_output import gray_png

    for bad in (np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), np.uint16), np.zeros((0, 4), np.uint8)):
        with pytest.raises(ValueError):
            gray_png(bad)
