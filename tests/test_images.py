"""autocolor.images: reading every kind of photo to full-resolution L (writing is
test_image_output.py)."""

from __future__ import annotations

import functools
import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms, JpegImagePlugin
from skimage.color import rgb2lab

from autocolor import images
from autocolor.image_output import save_image
from autocolor.images import (
    ImageError,
    LoadedImage,
    lab_to_rgb_array,
    lightness_from_pil,
    load_image,
)

ORIENTATION = 0x0112
MAKE = 0x010F


# -- helpers ----------------------------------------------------------------------------------

def srgb_lightness(rgb_uint: np.ndarray, max_value: float = 255.0) -> np.ndarray:
    """Reference L* of (H, W, 3) integer sRGB, from scikit-image."""
    return rgb2lab(rgb_uint.astype(np.float64) / max_value)[..., 0]


def gray_lightness(gray: np.ndarray, max_value: float = 255.0) -> np.ndarray:
    return srgb_lightness(np.repeat(gray[..., None], 3, axis=-1), max_value)


@functools.cache
def srgb_icc() -> bytes:
    """Made once: the profile's header holds its creation time, so two made a second apart
    differ (a test comparing them failed when its calls straddled a second)."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def gray_icc() -> bytes:
    """An ICC profile whose header says colour space 'GRAY' (bytes 16..20)."""
    data = bytearray(srgb_icc())
    data[16:20] = b"GRAY"
    return bytes(data)


def gray_ab(loaded: LoadedImage) -> np.ndarray:
    return np.zeros((*loaded.lightness.shape, 2), np.float32)


def quadrants(height: int = 24, width: int = 40) -> np.ndarray:
    """A gray image with four distinct quadrants, so any rotation or flip is visible."""
    gray = np.empty((height, width), np.uint8)
    gray[: height // 2, : width // 2] = 30
    gray[: height // 2, width // 2:] = 90
    gray[height // 2:, : width // 2] = 150
    gray[height // 2:, width // 2:] = 220
    return gray


def exif_with(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[MAKE] = "TestCam"
    return exif.tobytes()


def parse_exif(data: bytes) -> Image.Exif:
    exif = Image.Exif()
    exif.load(data)
    return exif


# -- modes --------------------------------------------------------------------------------------

def test_rgb(tmp_path: Path, smooth_rgb) -> None:
    rgb = smooth_rgb(0)
    Image.fromarray(rgb).save(tmp_path / "a.png")
    loaded = load_image(tmp_path / "a.png")
    assert loaded.lightness.shape == rgb.shape[:2] and loaded.lightness.dtype == np.float32
    np.testing.assert_allclose(loaded.lightness, srgb_lightness(rgb), atol=0.02)
    assert loaded.alpha is None and loaded.bit_depth == 8 and loaded.had_color
    assert loaded.format == "PNG" and loaded.size == (rgb.shape[1], rgb.shape[0])


def test_rgba_keeps_alpha(tmp_path: Path, smooth_rgb) -> None:
    rgb = smooth_rgb(1)
    alpha = np.linspace(0, 255, rgb.shape[0] * rgb.shape[1]).reshape(rgb.shape[:2]).astype(np.uint8)
    Image.fromarray(np.dstack([rgb, alpha])).save(tmp_path / "a.png")
    loaded = load_image(tmp_path / "a.png")
    np.testing.assert_array_equal(loaded.alpha, alpha)
    np.testing.assert_allclose(loaded.lightness, srgb_lightness(rgb), atol=0.02)
    assert loaded.had_color


def test_l(tmp_path: Path) -> None:
    gray = np.arange(256, dtype=np.uint8).reshape(16, 16)
    Image.fromarray(gray).save(tmp_path / "g.png")
    loaded = load_image(tmp_path / "g.png")
    np.testing.assert_allclose(loaded.lightness, gray_lightness(gray), atol=0.02)
    assert not loaded.had_color and loaded.alpha is None and loaded.bit_depth == 8


def test_la(tmp_path: Path) -> None:
    gray = quadrants(8, 8)
    alpha = np.tile(np.array([0, 255], np.uint8), (8, 4))
    Image.fromarray(np.dstack([gray, alpha]), "LA").save(tmp_path / "la.png")
    loaded = load_image(tmp_path / "la.png")
    np.testing.assert_array_equal(loaded.alpha, alpha)
    np.testing.assert_allclose(loaded.lightness, gray_lightness(gray), atol=0.02)


def test_a_gray_photo_pickles_as_its_codes(tmp_path: Path) -> None:
    """The Ray engine ships plans pickled: an 8-bit gray photo goes as its codes (a quarter of
    the float32 lightness) and comes back equal to the bit; a replaced lightness goes whole."""
    import pickle
    from dataclasses import replace

    gray = np.random.default_rng(3).integers(0, 256, (120, 160), dtype=np.uint8)
    Image.fromarray(gray).save(tmp_path / "g.png")
    loaded = load_image(tmp_path / "g.png")
    data = pickle.dumps(loaded, protocol=pickle.HIGHEST_PROTOCOL)
    assert len(data) < gray.nbytes + 2000 < loaded.lightness.nbytes
    back = pickle.loads(data)
    assert np.array_equal(back.lightness, loaded.lightness) and back.lightness.dtype == np.float32
    assert back.gray_codes() is not None and np.array_equal(back.gray_codes(), gray)
    assert (back.size, back.format, back.exif) == (loaded.size, loaded.format, loaded.exif)
    restored = replace(loaded, lightness=loaded.lightness + 1)  # no longer the codes' lightness
    restored_data = pickle.dumps(restored, protocol=pickle.HIGHEST_PROTOCOL)
    assert len(restored_data) < loaded.lightness.nbytes + 2000  # nor the stale codes' array
    again = pickle.loads(restored_data)
    assert np.array_equal(again.lightness, restored.lightness) and again.gray_codes() is None


PALETTE_COLOURS = np.array([[250, 20, 20], [20, 200, 40], [30, 40, 220], [128, 128, 128]], np.uint8)


def palette_image(transparency: int | None) -> tuple[Image.Image, np.ndarray]:
    indices = (np.arange(64).reshape(8, 8) % 4).astype(np.uint8)
    image = Image.fromarray(indices, "L").convert("P")
    image.putpalette(PALETTE_COLOURS.reshape(-1).tolist())
    image.putdata(indices.reshape(-1).tolist())
    if transparency is not None:
        image.info["transparency"] = transparency
    return image, indices


def test_palette_without_transparency(tmp_path: Path) -> None:
    image, indices = palette_image(None)
    image.save(tmp_path / "p.png")
    assert Image.open(tmp_path / "p.png").mode == "P"
    loaded = load_image(tmp_path / "p.png")
    assert loaded.alpha is None and loaded.had_color
    np.testing.assert_allclose(loaded.lightness, srgb_lightness(PALETTE_COLOURS[indices]), atol=0.02)


def test_palette_with_transparency(tmp_path: Path) -> None:
    image, indices = palette_image(transparency=2)
    image.save(tmp_path / "p.png", transparency=2)
    assert "transparency" in Image.open(tmp_path / "p.png").info
    loaded = load_image(tmp_path / "p.png")
    np.testing.assert_array_equal(loaded.alpha, np.where(indices == 2, 0, 255))
    np.testing.assert_allclose(loaded.lightness, srgb_lightness(PALETTE_COLOURS[indices]), atol=0.02)


@pytest.mark.parametrize("suffix", [".jpg", ".tif"])
def test_cmyk(tmp_path: Path, suffix: str) -> None:
    cmyk = np.zeros((8, 8, 4), np.uint8)
    cmyk[:4] = (0, 180, 200, 0)  # orange-red
    cmyk[4:] = (150, 0, 30, 40)  # teal
    Image.fromarray(cmyk, "CMYK").save(tmp_path / f"c{suffix}")
    with Image.open(tmp_path / f"c{suffix}") as reopened:
        assert reopened.mode == "CMYK"
        expected = srgb_lightness(np.asarray(reopened.convert("RGB")))
    loaded = load_image(tmp_path / f"c{suffix}")
    np.testing.assert_allclose(loaded.lightness, expected, atol=0.02)
    assert loaded.had_color


def test_16_bit_gray(tmp_path: Path) -> None:
    gray = np.linspace(0, 65535, 40 * 30).reshape(30, 40).astype(np.uint16)
    Image.fromarray(gray).save(tmp_path / "g16.png")
    assert Image.open(tmp_path / "g16.png").mode.startswith("I")
    loaded = load_image(tmp_path / "g16.png")
    assert loaded.bit_depth == 16
    np.testing.assert_allclose(loaded.lightness, gray_lightness(gray, 65535.0), atol=0.02)
    # 1200 distinct 16-bit levels keep far more than 8 bits of lightness.
    assert len(np.unique(loaded.lightness)) > 1000


def test_bilevel(tmp_path: Path) -> None:
    pattern = (np.indices((8, 8)).sum(0) % 2).astype(bool)
    Image.fromarray(pattern).save(tmp_path / "b.png")
    assert Image.open(tmp_path / "b.png").mode == "1"
    loaded = load_image(tmp_path / "b.png")
    np.testing.assert_allclose(loaded.lightness, np.where(pattern, 100.0, 0.0), atol=1e-3)


def test_float_in_unit_range(tmp_path: Path) -> None:
    values = np.linspace(0.0, 1.0, 64, dtype=np.float32).reshape(8, 8)
    Image.fromarray(values).save(tmp_path / "f.tif")
    loaded = load_image(tmp_path / "f.tif")
    assert loaded.bit_depth == 16
    np.testing.assert_allclose(loaded.lightness, gray_lightness(values, 1.0), atol=0.02)


def test_had_color(tmp_path: Path, smooth_rgb) -> None:
    gray = smooth_rgb(2)[..., 0]
    gray_rgb = np.repeat(gray[..., None], 3, axis=-1)
    slight = gray_rgb.copy()
    slight[..., 0] = np.clip(slight[..., 0].astype(int) + 2, 0, 255)  # below the threshold
    sepia = np.clip(gray_rgb * np.array([1.0, 0.85, 0.65]), 0, 255).astype(np.uint8)
    cases = {"gray": (gray_rgb, False), "slight": (slight, False), "sepia": (sepia, True),
             "colour": (smooth_rgb(3), True)}
    for name, (rgb, expected) in cases.items():
        Image.fromarray(rgb).save(tmp_path / f"{name}.png")
        assert load_image(tmp_path / f"{name}.png").had_color is expected, name


# -- orientation and metadata -----------------------------------------------------------------

def test_exif_orientation_6_jpeg(tmp_path: Path) -> None:
    stored = quadrants(24, 40)  # (H, W) = (24, 40) as stored
    Image.fromarray(stored).save(tmp_path / "r.jpg", quality=95, exif=exif_with(6))
    loaded = load_image(tmp_path / "r.jpg")
    assert loaded.orientation == 6 and loaded.stored_size == (40, 24)
    assert loaded.size == (24, 40) and loaded.lightness.shape == (40, 24)
    expected = gray_lightness(np.rot90(stored, k=-1))  # 6: rotate 90 degrees clockwise
    assert np.median(np.abs(loaded.lightness - expected)) < 1.0
    # The upright top-left quadrant is the stored bottom-left one (150), not top-left (30).
    assert abs(loaded.lightness[:10, :6].mean() - gray_lightness(np.array([150]))[0]) < 2.0
    exif = parse_exif(loaded.exif)
    assert exif[ORIENTATION] == 1 and exif[MAKE] == "TestCam"

    rgb = lab_to_rgb_array(loaded.lightness, gray_ab(loaded))
    out = save_image(rgb, tmp_path / "out" / "r.jpg", loaded)
    with Image.open(out) as written:
        assert written.format == "JPEG" and written.size == (24, 40)
        assert written.getexif()[ORIENTATION] == 1 and written.getexif()[MAKE] == "TestCam"


@pytest.mark.parametrize("orientation,transform", [
    (1, lambda a: a), (2, lambda a: a[:, ::-1]), (3, lambda a: a[::-1, ::-1]),
    (4, lambda a: a[::-1]), (5, lambda a: a.T), (6, lambda a: np.rot90(a, -1)),
    (7, lambda a: a[::-1, ::-1].T), (8, lambda a: np.rot90(a, 1)),
])
def test_every_exif_orientation(tmp_path: Path, orientation: int, transform) -> None:
    stored = quadrants(6, 10)
    Image.fromarray(stored).save(tmp_path / "o.png", exif=exif_with(orientation))
    loaded = load_image(tmp_path / "o.png")
    assert loaded.orientation == orientation
    np.testing.assert_allclose(loaded.lightness, gray_lightness(transform(stored)), atol=0.02)


def test_gray_icc_profile_dropped(tmp_path: Path) -> None:
    Image.fromarray(quadrants()).save(tmp_path / "in.png", icc_profile=gray_icc())
    assert Image.open(tmp_path / "in.png").info["icc_profile"][16:20] == b"GRAY"
    loaded = load_image(tmp_path / "in.png")
    assert loaded.icc_profile is None
    out = save_image(lab_to_rgb_array(loaded.lightness, gray_ab(loaded)), tmp_path / "o.png", loaded)
    with Image.open(out) as written:
        assert "icc_profile" not in written.info


# -- bad inputs -----------------------------------------------------------------------------------

def _jpeg_bytes(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _png_bytes(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "PNG")
    return buffer.getvalue()


def _bomb_png(width: int = 30000, height: int = 30000) -> bytes:
    """A tiny PNG whose header claims width x height pixels."""
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 1024)) + chunk(b"IEND", b""))


def _noisy(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (48, 64, 3), dtype=np.uint8)


def write_bad_inputs(folder: Path) -> dict[str, str]:
    """Write one file per kind of bad input; -> {file name: expected words in the message}."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty.png").write_bytes(b"")
    (folder / "truncated.jpg").write_bytes(_jpeg_bytes(_noisy(1))[:1500])
    png = _png_bytes(_noisy(2))
    (folder / "truncated.png").write_bytes(png[: len(png) // 2])
    (folder / "text.jpg").write_text("this is not an image\n" * 20)
    (folder / "bomb.png").write_bytes(_bomb_png())
    Image.fromarray(np.full((8, 8), 3.5, np.float32)).save(folder / "float.tif")
    return {"empty.png": "empty", "truncated.jpg": "truncated", "truncated.png": "truncated",
            "text.jpg": "not an image", "bomb.png": "too many pixels",
            "float.tif": "unsupported floating-point"}


BAD_INPUTS = ["empty.png", "truncated.jpg", "truncated.png", "text.jpg", "bomb.png", "float.tif"]


@pytest.mark.parametrize("name", BAD_INPUTS)
def test_bad_input_raises_one_line_image_error(tmp_path: Path, name: str) -> None:
    expected = write_bad_inputs(tmp_path)[name]
    path = tmp_path / name
    with pytest.raises(ImageError) as error:
        load_image(path)
    message = str(error.value)
    assert message.startswith(f"{path}: ")
    assert "\n" not in message
    assert expected in message
    assert error.value.path == str(path)


def test_max_pixels(tmp_path: Path) -> None:
    Image.fromarray(_noisy()).save(tmp_path / "big.png")  # 64 x 48 = 3072 pixels
    assert load_image(tmp_path / "big.png", max_pixels=3072).size == (64, 48)
    with pytest.raises(ImageError, match="too many pixels") as error:
        load_image(tmp_path / "big.png", max_pixels=3071)
    assert str(tmp_path / "big.png") in str(error.value) and "\n" not in str(error.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="cannot read") as error:
        load_image(tmp_path / "nope.png")
    assert "nope.png" in str(error.value)


def test_32_bit_integer_out_of_range(tmp_path: Path) -> None:
    Image.fromarray(np.full((4, 4), 70000, np.int32)).save(tmp_path / "i.tif")
    with pytest.raises(ImageError, match="32-bit"):
        load_image(tmp_path / "i.tif")


@pytest.mark.parametrize("mode", ["HSV", "YCbCr", "LAB", "RGBX"])
def test_other_colour_modes_are_converted(mode: str, smooth_rgb) -> None:
    image = Image.fromarray(smooth_rgb(8)).convert(mode)
    expected = srgb_lightness(np.asarray(image.convert("RGB")))
    loaded = lightness_from_pil(image)
    np.testing.assert_allclose(loaded.lightness, expected, atol=0.02)
    assert loaded.had_color


def test_lightness_from_pil_errors_name_the_image() -> None:
    with pytest.raises(ImageError, match="^x.tif: unsupported floating-point"):
        lightness_from_pil(Image.fromarray(np.full((4, 4), -0.5, np.float32)), "x.tif")
    with pytest.raises(ImageError, match="^<image>: "):
        lightness_from_pil(Image.fromarray(np.full((4, 4), np.nan, np.float32)))


# -- writing --------------------------------------------------------------------------------------

def test_lab_to_rgb_array_gray_and_strips(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(9)
    lightness = rng.uniform(0, 100, (37, 5)).astype(np.float32)
    ab = rng.uniform(-60, 60, (37, 5, 2)).astype(np.float32)
    whole = lab_to_rgb_array(lightness, ab)
    monkeypatch.setattr(images, "STRIP_ROWS", 8)  # several strips, the last one partial
    np.testing.assert_array_equal(lab_to_rgb_array(lightness, ab), whole)
    gray = lab_to_rgb_array(lightness, np.zeros_like(ab))
    assert gray.dtype == np.uint8
    assert (np.ptp(gray.astype(int), axis=-1) <= 1).all()
    np.testing.assert_allclose(srgb_lightness(gray), lightness, atol=0.5)
    deep = lab_to_rgb_array(lightness, np.zeros_like(ab), bit_depth=16)
    assert deep.dtype == np.uint16
    np.testing.assert_allclose(srgb_lightness(deep, 65535.0), lightness, atol=0.01)
    with pytest.raises(ValueError, match="do not match"):
        lab_to_rgb_array(lightness, ab[:-1])




def test_the_documented_limit_is_ours_not_pillows() -> None:
    """Pillow warns above 89.5 MP; a 95 MP photo is within autocolor's default 100 MP and opens
    (only the header is read), while 101 MP is refused by our own check."""
    from autocolor.images import DEFAULT_MAX_PIXELS, open_image

    assert DEFAULT_MAX_PIXELS == 100_000_000
    image = open_image(_bomb_png(10_000, 9_500))
    assert image.size == (10_000, 9_500)
    image.close()
    with pytest.raises(ImageError, match="too many pixels"):
        open_image(_bomb_png(10_100, 10_000))


def test_a_gray_jpeg_is_decoded_straight_into_numpy(tmp_path: Path, monkeypatch) -> None:
    """A plain gray JPEG skips Pillow's decode (libjpeg-turbo through simplejpeg): the same
    codes, from a file or its bytes; a truncated one still fails in one line."""
    rng = np.random.default_rng(7)
    gray = np.clip(np.linspace(0, 255, 131)[None, :] + rng.normal(0, 20, (97, 131)), 0, 255)
    path = tmp_path / "gray.jpg"
    Image.fromarray(gray.astype(np.uint8)).save(path, quality=90)
    with Image.open(path) as image:
        pillow = np.asarray(image)
    pillow_load = Image.Image.load

    def refuse(self):  # the fast path must not need Pillow's pixels
        if getattr(self, "format", None) == "JPEG" and self.mode == "L":
            raise AssertionError("Pillow decoded a plain gray JPEG")
        return pillow_load(self)

    monkeypatch.setattr(Image.Image, "load", refuse)
    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "load", refuse)
    for source in (path, path.read_bytes()):
        loaded = load_image(source)
        assert loaded.gray is not None and np.array_equal(loaded.gray, pillow)
        assert loaded.size == (131, 97) and loaded.format == "JPEG"
    monkeypatch.undo()
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(path.read_bytes()[:700])
    with pytest.raises(ImageError, match="cut.jpg: corrupt or truncated"):
        load_image(truncated)
