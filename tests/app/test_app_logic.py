"""The page's logic without Streamlit or a browser: uploads, caching, hints, downloads."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from autocolor.app import logic
from autocolor.hints import HintPoint, HintSet
from autocolor.images import ImageError


class OrangeBackend:
    """Predicts a constant orange (normalized a*, b* = 0.25, 0.35) and counts its calls."""

    name = "orange"
    device = "cpu"
    metadata: dict = {}

    def __init__(self) -> None:
        self.calls = 0

    def predict(self, l_norm: np.ndarray) -> np.ndarray:
        self.calls += 1
        ab = np.zeros((l_norm.shape[0], 2, *l_norm.shape[2:]), np.float32)
        ab[:, 0], ab[:, 1] = 0.25, 0.35
        return ab


class FakeModel(logic.ModelHandle):
    """A real logic.ModelHandle and Colorizer over a constant orange backend, counting its
    predictions."""

    def __init__(self, name: str = "fake", render_size: int = 256) -> None:
        from autocolor.infer.colorizer import Colorizer

        super().__init__(name, Colorizer(OrangeBackend(), render_size=render_size))

    @property
    def calls(self) -> int:
        return self.colorizer.backend.calls


def chroma(rgb: np.ndarray) -> float:
    rgb = rgb.astype(np.int32)
    return float(np.abs(rgb[..., 0] - rgb[..., 2]).mean())


# -- decoding ------------------------------------------------------------------------------------


def test_decode_gray_png_keeps_size(gray_png):
    loaded = logic.decode_upload(gray_png, "a.png")
    assert loaded.size == (180, 120)
    assert not loaded.had_color
    assert loaded.lightness.dtype == np.float32


def test_decode_color_photo_is_taken_to_gray(color_jpeg):
    loaded = logic.decode_upload(color_jpeg, "c.jpg")
    assert loaded.had_color
    assert loaded.lightness.shape == (120, 180)


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP", "TIFF", "BMP"])
def test_decode_every_offered_format(fmt, encode, gray_array):
    data = encode(Image.fromarray(gray_array(64, 96), "L"), fmt)
    assert logic.decode_upload(data, f"x.{fmt.lower()}").size == (96, 64)


def test_decode_applies_exif_orientation(encode, gray_array):
    image = Image.fromarray(gray_array(40, 70), "L")
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    loaded = logic.decode_upload(encode(image, "JPEG", exif=exif.tobytes()), "r.jpg")
    assert loaded.size == (40, 70)
    assert loaded.stored_size == (70, 40)


@pytest.mark.parametrize("data, reason", [
    (b"", "empty file"),
    (b"this is not a photo at all", "not an image"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "image"),
])
def test_decode_rejects_bad_data_with_one_line(data, reason):
    with pytest.raises(ImageError) as caught:
        logic.decode_upload(data, "bad.png")
    message = str(caught.value)
    assert message.startswith("bad.png: ") and reason in message and "\n" not in message


def test_decode_rejects_truncated(gray_png):
    with pytest.raises(ImageError, match="truncated"):
        logic.decode_upload(gray_png[: len(gray_png) // 2], "t.png")


def test_decode_rejects_too_many_pixels_before_decoding(gray_png):
    with pytest.raises(ImageError, match="too many pixels"):
        logic.decode_upload(gray_png, "big.png", max_pixels=1000)


def test_photo_from_upload_never_raises():
    photo = logic.Photo.from_upload("junk.png", b"junk")
    assert photo.loaded is None and "junk.png" in photo.error


def test_decode_reference_is_small_rgb(color_jpeg):
    rgb = logic.decode_reference(color_jpeg, "ref.jpg", max_side=64)
    assert rgb.dtype == np.uint8 and rgb.shape[2] == 3 and max(rgb.shape[:2]) <= 64
    with pytest.raises(ImageError):
        logic.decode_reference(b"nope", "ref.jpg")


# -- caching and colouring -----------------------------------------------------------------------


def test_saturation_and_hints_reuse_the_prediction(gray_png):
    model = FakeModel()
    photo = logic.Photo.from_upload("a.png", gray_png)
    assert photo.render(model, 256, 1.0)
    assert model.calls == 1 and photo.rgb.shape == (120, 180, 3)
    colourful = chroma(photo.rgb)
    assert colourful > 5
    assert not photo.render(model, 256, 1.0)  # nothing changed: no work at all
    assert photo.render(model, 256, 0.0)  # saturation: re-rendered, not re-predicted
    assert model.calls == 1
    assert chroma(photo.rgb) < 1
    photo.hints.append(HintPoint(x=10, y=10, rgb=(0, 0, 255), radius=3))
    assert photo.render(model, 256, 1.0)
    assert model.calls == 1
    assert photo.render(model, 320, 1.0)  # a new render size runs the network again
    assert model.calls == 2
    assert photo.render(model, 256, 1.5)  # ...and going back finds the first prediction
    assert model.calls == 2


def test_the_page_colours_through_the_colorizer(gray_png, monkeypatch):
    """No copy of the inference path: a plain render is the colorizer's fused join, and a
    steered one is its plan + finish, equal to what the command line's Colorizer.finish makes."""
    from autocolor.infer import colorizer as colorizer_module

    fused = []
    real_render_rgb = colorizer_module.render_rgb
    monkeypatch.setattr(colorizer_module, "render_rgb",
                        lambda *args: fused.append(1) or real_render_rgb(*args))
    model = FakeModel()
    photo = logic.Photo.from_upload("a.png", gray_png)
    photo.render(model, 320, 0.8)
    assert fused == [1]
    ab_small = photo.predictions[("fake", 320, False)]
    assert ab_small.shape == (2, 224, 320)  # the render size of this call, not the model's 256
    np.testing.assert_array_equal(photo.rgb, model.colorizer.finish(photo.loaded, ab_small,
                                                                    saturation=0.8))
    hint = HintPoint(x=10, y=10, rgb=(0, 0, 255), radius=3)
    photo.hints.append(hint)
    photo.render(model, 320, 0.8)
    assert fused == [1, 1]  # the check above; hints need the full-resolution ab
    np.testing.assert_array_equal(photo.rgb, model.colorizer.finish(
        photo.loaded, ab_small, hints=HintSet((hint,)), saturation=0.8))
    photo.hints.append(HintPoint(x=500, y=10, rgb=(0, 0, 255)))
    with pytest.raises(ValueError, match="outside"):
        photo.render(model, 320, 0.8)


def test_restore_colours_the_restored_print(old_print, encode):
    """The "Restore old prints" box: the network sees the restored lightness, the result keeps
    it, the steps are reported, and switching back reuses the plain prediction."""
    from autocolor.infer.colorizer import restore_photo

    image, _ = old_print(96, 72)
    photo = logic.Photo.from_upload("print.png", encode(image))
    model = FakeModel()
    assert photo.render(model, 256, 1.0)
    plain = photo.rgb
    assert photo.restored_steps(False) == () and photo.restored is None  # never by default
    assert photo.render(model, 256, 1.0, restore=True)
    assert model.calls == 2
    expected, done = restore_photo(photo.loaded, True)
    assert photo.restored_steps(True) == tuple(done.ran) and {"dust", "fading"} <= set(done.ran)
    np.testing.assert_array_equal(photo.source(True).lightness, expected.lightness)
    assert not np.array_equal(photo.rgb, plain)
    np.testing.assert_array_equal(photo.rgb, model.colorizer.finish(
        expected, photo.predictions[("fake", 256, True)]))
    assert photo.render(model, 256, 1.0, restore=False) and model.calls == 2
    np.testing.assert_array_equal(photo.rgb, plain)


def test_hint_pulls_the_colour_towards_it(gray_png):
    model = FakeModel()
    photo = logic.Photo.from_upload("a.png", gray_png)
    photo.render(model, 256, 1.0)
    before = photo.rgb[60, 90].astype(int)
    photo.hints.append(HintPoint(x=90, y=60, rgb=(40, 90, 220), radius=4))
    photo.render(model, 256, 1.0)
    after = photo.rgb[60, 90].astype(int)
    assert before[0] > before[2]  # orange: more red than blue
    assert after[2] > after[0]  # the blue hint wins where it was placed


def test_reference_changes_the_result(gray_png, color_jpeg):
    model = FakeModel()
    photo = logic.Photo.from_upload("a.png", gray_png)
    photo.render(model, 256, 1.0)
    plain = photo.rgb.copy()
    reference = logic.decode_reference(color_jpeg, "ref.jpg")
    assert photo.render(model, 256, 1.0, reference=reference, reference_digest="r1")
    assert not np.array_equal(plain, photo.rgb)
    assert not photo.render(model, 256, 1.0, reference=reference, reference_digest="r1")


def test_preview_is_scaled_but_result_is_full_size():
    rgb = np.zeros((300, 2000, 3), np.uint8)
    preview = logic.preview_image(rgb, max_side=500)
    assert preview.size == (500, 75)
    assert logic.preview_image(rgb[:, :400]).size == (400, 300)


def test_gray_preview_marks_hints(gray_png):
    loaded = logic.decode_upload(gray_png, "a.png")
    plain = np.asarray(logic.gray_preview(loaded))
    marked = np.asarray(logic.gray_preview(loaded, [HintPoint(90, 60, (255, 0, 0), 0)]))
    assert plain.shape == (120, 180, 3)
    assert chroma(plain) == 0
    assert tuple(marked[60, 90]) == (255, 0, 0)


# -- clicks and hints ----------------------------------------------------------------------------


def test_click_maps_display_pixels_to_photo_pixels():
    value = {"x": 49, "y": 24, "width": 100, "height": 50, "unix_time": 1}
    point = logic.click_to_hint(value, (1000, 500), (1, 2, 3), 7)
    assert point == HintPoint(x=494.5, y=244.5, rgb=(1, 2, 3), radius=7.0)
    corner = logic.click_to_hint({"x": 250, "y": -3, "width": 100, "height": 50}, (1000, 500),
                                 (0, 0, 0))
    assert (corner.x, corner.y) == (999.0, 0.0)  # clamped onto the photo
    HintSet((point, corner)).validate((1000, 500))


@pytest.mark.parametrize("value", [{}, {"x": 1}, {"x": "a", "y": 1, "width": 2, "height": 2},
                                   {"x": 1, "y": 1, "width": 0, "height": 2}])
def test_malformed_clicks_are_ignored(value):
    assert logic.click_to_hint(value, (10, 10), (0, 0, 0)) is None


def test_add_click_ignores_the_same_click_on_rerun(gray_png):
    photo = logic.Photo.from_upload("a.png", gray_png)
    click = {"x": 5, "y": 5, "width": 180, "height": 120, "unix_time": 111}
    assert photo.add_click(click, (255, 0, 0), 2)
    assert not photo.add_click(dict(click), (255, 0, 0), 2)  # the component repeats its value
    assert photo.add_click({**click, "unix_time": 112}, (0, 255, 0), 2)  # same spot, new click
    assert [p.rgb for p in photo.hints] == [(255, 0, 0), (0, 255, 0)]
    assert not photo.add_click(None, (0, 0, 0), 2)


def test_hint_radius_and_colour():
    assert logic.hint_radius((4000, 3000), 1.0) == 40.0
    assert logic.hex_to_rgb("#3a7bd5") == (0x3A, 0x7B, 0xD5)


# -- settings and downloads ----------------------------------------------------------------------


def test_model_choices():
    assert logic.model_choices(None, []) == ({}, None)
    assert logic.model_choices(None, ["a", "default"]) == ({"a": "a", "default": "default"},
                                                          "default")
    choices, default = logic.model_choices("/x/tiny.safetensors", ["default"])
    assert default == "tiny.safetensors" and choices[default] == "/x/tiny.safetensors"
    assert list(choices) == ["tiny.safetensors", "default"]
    assert logic.model_choices("a", ["a", "default"])[1] == "a"


def test_render_size_options_include_the_models():
    assert 300 in logic.render_size_options(300)
    assert logic.render_size_options(256) == sorted(logic.RENDER_SIZES)


def test_max_pixels_from_env():
    assert logic.max_pixels_from_env({}) == logic.APP_MAX_PIXELS
    assert logic.max_pixels_from_env({logic.ENV_MAX_PIXELS: "1234"}) == 1234
    assert logic.max_pixels_from_env({logic.ENV_MAX_PIXELS: "lots"}) == logic.APP_MAX_PIXELS


def test_png_download_is_exact_size_with_alpha(encode):
    rgba = np.zeros((33, 47, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, 128
    loaded = logic.decode_upload(encode(Image.fromarray(rgba, "RGBA")), "a.png")
    rgb = FakeModel().render(loaded, np.zeros((2, 32, 32), np.float32))
    out = Image.open(io.BytesIO(logic.png_bytes(rgb, loaded)))
    assert out.format == "PNG" and out.size == (47, 33) and out.mode == "RGBA"
    assert np.asarray(out)[0, 0, 3] == 128


def test_png_download_keeps_16_bits(encode, gray_array):
    gray16 = (gray_array(20, 30).astype(np.uint16) * 257)
    loaded = logic.decode_upload(encode(Image.fromarray(gray16)), "a.png")
    assert loaded.bit_depth == 16
    rgb = FakeModel().render(loaded, np.full((2, 32, 32), 0.2, np.float32))
    data = logic.png_bytes(rgb, loaded)
    assert data[24] == 16  # IHDR bit depth
    assert Image.open(io.BytesIO(data)).size == (30, 20)


def test_result_names_and_zip():
    assert logic.result_name("holiday.photo.JPG") == "holiday.photo-color.png"
    assert logic.result_name("scan") == "scan-color.png"
    data = logic.zip_bytes([("a-color.png", b"1"), ("a-color.png", b"2"), ("b-color.png", b"3")])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == ["a-color.png", "a-color-2.png", "b-color.png"]
        assert archive.read("a-color-2.png") == b"2"


def test_downloads_carry_provenance(gray_png, tiny_weights, xmp_of):
    import hashlib

    model = logic.load_model(str(tiny_weights))
    photo = logic.Photo.from_upload("a.png", gray_png)
    photo.render(model, model.render_size, 1.0)
    fields = xmp_of(photo.png())
    assert fields is not None
    assert fields["Iptc4xmpExt:DigitalSourceType"].endswith("/compositeWithTrainedAlgorithmicMedia")
    assert fields["Iptc4xmpExt:AISystemUsed"] == tiny_weights.name
    sha = hashlib.sha256(tiny_weights.read_bytes()).hexdigest()
    assert fields["Iptc4xmpExt:AISystemVersionUsed"] == f"sha256:{sha}"
    archive = zipfile.ZipFile(io.BytesIO(logic.zip_bytes([("a-color.png", photo.png())])))
    assert xmp_of(archive.read("a-color.png")) == fields


def test_confidence_overlay():
    preview = Image.fromarray(np.full((4, 6, 3), 100, np.uint8))
    sure = np.full((4, 6), 255, np.uint8)
    sure[:, 3:] = 0
    shown = np.asarray(logic.confidence_overlay(preview, sure)).astype(int)
    assert (shown[:, :3] == 100).all()  # sure: as it is
    assert np.abs(shown[0, 5] - (0.35 * 100 + 0.65 * np.array([230, 30, 30]))).max() <= 1


def test_the_guesses_toggle_shows_the_models_map(gray_png, tiny_weights):
    """A model with a confidence: one network pass gives both, and the toggle's picture is the
    preview under its map; the stand-in model without one offers no picture."""
    from autocolor.infer.colorizer import Colorizer

    model = logic.ModelHandle("tiny", Colorizer.from_pretrained(tiny_weights, backend="torch"))
    photo = logic.Photo.from_upload("a.png", gray_png)
    assert photo.render(model, 64, 1.0)
    key = ("tiny", 64, False)
    assert photo.confidences[key].shape == photo.predictions[key].shape[1:]
    shown = photo.confidence_preview(model, 64)
    expected = logic.confidence_overlay(photo.preview, model.colorizer.confidence_map(
        photo.confidences[key], photo.preview.size))
    assert shown.size == photo.preview.size
    assert np.array_equal(np.asarray(shown), np.asarray(expected))
    fake = logic.Photo.from_upload("a.png", gray_png)
    fake.render(FakeModel(), 256, 1.0)
    assert fake.confidence_preview(FakeModel(), 256) is None
