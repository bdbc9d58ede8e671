"""autocolor.images.load_rgb: the one reader of colour photos (references, photos to score)."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from autocolor.images import ImageError, load_rgb, srgb_from_pil

ORIENTATION = 0x0112


def srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def bomb_png(width: int = 30000, height: int = 30000) -> bytes:
    """A tiny PNG whose header claims width x height pixels."""
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 1024)) + chunk(b"IEND", b""))


def swapped_icc() -> bytes:
    """An RGB profile like sRGB but with the red and green primaries swapped (and not named
    sRGB): converting pure-ish red under it to sRGB gives green."""
    data = bytearray(srgb_icc())
    (count,) = struct.unpack(">I", data[128:132])
    tags = {}
    for index in range(count):
        signature, offset, size = struct.unpack(">4sII", data[132 + 12 * index:144 + 12 * index])
        tags[signature] = (index, offset, size)
    (red, red_offset, red_size), (green, green_offset, green_size) = tags[b"rXYZ"], tags[b"gXYZ"]
    struct.pack_into(">4sII", data, 132 + 12 * red, b"rXYZ", green_offset, green_size)
    struct.pack_into(">4sII", data, 132 + 12 * green, b"gXYZ", red_offset, red_size)
    blob = bytes(data).replace(b"sRGB", b"swap")
    return blob.replace("sRGB".encode("utf-16-be"), "swap".encode("utf-16-be"))


def test_modes_alpha_on_white_and_16_bits(tmp_path: Path) -> None:
    rgba = np.zeros((4, 4, 4), dtype=np.uint8)
    rgba[..., 0] = 255
    rgba[:2, ..., 3] = 255  # top half opaque red, bottom half transparent -> white
    Image.fromarray(rgba, "RGBA").save(tmp_path / "alpha.png")
    rgb = load_rgb(tmp_path / "alpha.png")
    assert rgb.dtype == np.uint8 and rgb.shape == (4, 4, 3)
    assert tuple(rgb[0, 0]) == (255, 0, 0) and tuple(rgb[3, 3]) == (255, 255, 255)
    Image.fromarray(np.full((3, 5), 65535, dtype=np.uint16)).save(tmp_path / "deep.png")
    assert np.all(load_rgb(tmp_path / "deep.png") == 255)
    dark = np.full((3, 5), 200, dtype=np.uint16)  # 16-bit values below 256 are still 16-bit
    Image.fromarray(dark).save(tmp_path / "dark.png")
    assert np.all(load_rgb(tmp_path / "dark.png") == 1)
    Image.fromarray(np.full((2, 2), 127.6, np.float32)).save(tmp_path / "float.tif")
    assert np.all(load_rgb(tmp_path / "float.tif") == 128)
    assert load_rgb(tmp_path / "alpha.png").shape == load_rgb(
        (tmp_path / "alpha.png").read_bytes(), name="upload.png").shape  # bytes work too


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    stored = np.zeros((10, 30, 3), np.uint8)
    stored[:, :10] = (250, 0, 0)  # red on the left as stored
    image = Image.fromarray(stored)
    exif = image.getexif()
    exif[ORIENTATION] = 6  # shown rotated 90 degrees clockwise: red at the top
    image.save(tmp_path / "turned.png", exif=exif.tobytes())
    rgb = load_rgb(tmp_path / "turned.png")
    assert rgb.shape == (30, 10, 3)
    assert tuple(rgb[2, 5]) == (250, 0, 0) and tuple(rgb[-2, 5]) == (0, 0, 0)


def test_icc_profiles_are_converted_to_srgb(tmp_path: Path) -> None:
    red = np.zeros((6, 6, 3), np.uint8)
    red[...] = (200, 30, 30)
    Image.fromarray(red).save(tmp_path / "srgb.png", icc_profile=srgb_icc())
    Image.fromarray(red).save(tmp_path / "swapped.png", icc_profile=swapped_icc())
    Image.fromarray(red).save(tmp_path / "broken.png", icc_profile=b"not a profile at all")
    np.testing.assert_array_equal(load_rgb(tmp_path / "srgb.png"), red)  # sRGB: untouched
    np.testing.assert_array_equal(load_rgb(tmp_path / "broken.png"), red)  # unreadable: as sRGB
    green = load_rgb(tmp_path / "swapped.png")[0, 0].astype(int)
    assert green[1] > 150 and green[0] < 80  # the profile was applied
    pil = Image.open(tmp_path / "swapped.png")
    assert tuple(np.asarray(srgb_from_pil(pil))[0, 0]) == tuple(green)


def test_max_side_reduces_after_orientation(tmp_path: Path, smooth_rgb) -> None:
    photo = smooth_rgb(3, 300, 500)
    Image.fromarray(photo).save(tmp_path / "p.jpg", quality=95)
    Image.fromarray(photo).save(tmp_path / "p.png")
    for name in ("p.jpg", "p.png"):
        small = load_rgb(tmp_path / name, max_side=100)
        assert small.shape == (60, 100, 3)
        expected = np.asarray(Image.fromarray(photo).resize((100, 60), Image.Resampling.BOX))
        assert np.abs(small.astype(int) - expected).mean() < 3  # the same picture, smaller
    assert load_rgb(tmp_path / "p.png", max_side=1000).shape == (300, 500, 3)  # never enlarged
    with pytest.raises(ValueError, match="max_side"):
        load_rgb(tmp_path / "p.png", max_side=0)


def test_limits_and_one_line_errors(tmp_path: Path) -> None:
    (tmp_path / "bomb.png").write_bytes(bomb_png())
    (tmp_path / "text.jpg").write_text("not a photo")
    (tmp_path / "empty.png").write_bytes(b"")
    Image.fromarray(np.zeros((10, 10, 3), np.uint8)).save(tmp_path / "ok.png")
    cases = {"bomb.png": "too many pixels", "text.jpg": "not an image", "empty.png": "empty"}
    for name, words in cases.items():
        with pytest.raises(ImageError) as error:
            load_rgb(tmp_path / name, max_side=256)  # the limit counts the stored size
        message = str(error.value)
        assert message.startswith(f"{tmp_path / name}: ") and words in message
        assert "\n" not in message
    with pytest.raises(ImageError, match="too many pixels"):
        load_rgb(tmp_path / "ok.png", max_pixels=99)
    with pytest.raises(ImageError, match="^ref.jpg: not an image"):
        load_rgb(b"junk", name="ref.jpg")
    png = io.BytesIO()
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(png, "PNG")
    with pytest.raises(ImageError, match="truncated"):
        load_rgb(png.getvalue()[:60], name="cut.png")
