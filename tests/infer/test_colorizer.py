"""The Python API: ``Colorizer.from_pretrained(path).colorize(image)``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage.color import rgb2lab

from autocolor.infer.colorizer import Colorizer
from autocolor.infer.pipeline import render_shape


class ConstantBackend:
    """Predicts the same ab_norm everywhere and records the batches it was given."""

    name = "constant"
    device = "cpu"
    metadata: dict = {}

    def __init__(self, ab_norm: tuple[float, float]) -> None:
        self.ab_norm = np.asarray(ab_norm, np.float32)
        self.batches: list[tuple[int, ...]] = []

    def predict(self, l_norm: np.ndarray) -> np.ndarray:
        assert l_norm.dtype == np.float32 and l_norm.ndim == 4 and l_norm.shape[1] == 1
        assert l_norm.shape[2] % 32 == 0 and l_norm.shape[3] % 32 == 0
        assert -1.0 - 1e-4 <= l_norm.min() and l_norm.max() <= 1.0 + 1e-4
        self.batches.append(l_norm.shape)
        out = np.empty((l_norm.shape[0], 2, *l_norm.shape[2:]), np.float32)
        out[:, 0], out[:, 1] = self.ab_norm
        return out


@pytest.fixture(scope="module")
def colorizer(tiny_weights: Path) -> Colorizer:
    return Colorizer.from_pretrained(tiny_weights, backend="torch")


def lab_of(rgb: np.ndarray, max_value: float = 255.0) -> np.ndarray:
    return rgb2lab(rgb[..., :3].astype(np.float64) / max_value)


def mid_gray(width: int, height: int, seed: int = 0) -> np.ndarray:
    """(H, W) uint8 gray in 60..200 (lightness about 25..80, where moderate ab is in gamut)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    values = 130 + 60 * np.sin(x / 7.0 + rng.uniform(0, 6)) * np.cos(y / 5.0)
    return np.clip(values, 60, 200).astype(np.uint8)


def test_from_pretrained(colorizer: Colorizer, tiny_weights: Path) -> None:
    assert colorizer.render_size == 64  # from the weights' metadata
    assert colorizer.metadata["architecture"] == "lite0-unet"
    assert colorizer.backend.name == "torch"
    assert Colorizer.from_pretrained(tiny_weights, render_size=96).render_size == 96
    assert Colorizer.from_pretrained(str(tiny_weights)).backend.name == "torch"  # no ONNX beside


def test_from_pretrained_errors(tmp_path: Path, tiny_weights: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no-such-weights"):
        Colorizer.from_pretrained("no-such-weights")
    with pytest.raises(FileNotFoundError):
        Colorizer.from_pretrained(tmp_path / "missing.safetensors")
    with pytest.raises(ValueError, match="backend"):
        Colorizer.from_pretrained(tiny_weights, backend="tpu")


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "1", "P"])
def test_pil_in_pil_out(colorizer: Colorizer, mode: str) -> None:
    gray = mid_gray(45, 67)
    image = Image.fromarray(gray).convert(mode)
    out = colorizer.colorize(image)
    assert isinstance(out, Image.Image)
    assert out.size == (45, 67)
    assert out.mode == ("RGBA" if mode == "RGBA" else "RGB")
    if mode == "RGBA":
        np.testing.assert_array_equal(np.asarray(out)[..., 3], 255)


def test_pil_rgba_alpha_kept(colorizer: Colorizer) -> None:
    rgba = np.dstack([np.repeat(mid_gray(33, 21)[..., None], 3, -1),
                      np.linspace(0, 255, 33 * 21).reshape(21, 33).astype(np.uint8)])
    out = colorizer.colorize(Image.fromarray(rgba))
    assert out.mode == "RGBA" and out.size == (33, 21)
    np.testing.assert_array_equal(np.asarray(out)[..., 3], rgba[..., 3])


def test_numpy_uint8_gray(colorizer: Colorizer) -> None:
    gray = mid_gray(51, 37)
    out = colorizer.colorize(gray)
    assert isinstance(out, np.ndarray) and out.dtype == np.uint8 and out.shape == (37, 51, 3)


def test_numpy_uint16_gray_gives_uint16(colorizer: Colorizer) -> None:
    gray16 = (mid_gray(40, 24).astype(np.uint16) * 257 + np.arange(40, dtype=np.uint16)[None, :])
    out = colorizer.colorize(gray16, saturation=0.0)
    assert out.dtype == np.uint16 and out.shape == (24, 40, 3)
    # The 16-bit lightness survives: compare with the input at 16-bit precision.
    expected = rgb2lab(np.repeat(gray16[..., None], 3, -1) / 65535.0)[..., 0]
    np.testing.assert_allclose(lab_of(out, 65535.0)[..., 0], expected, atol=0.02)


def test_numpy_float_and_colour_arrays(colorizer: Colorizer) -> None:
    gray = mid_gray(30, 20) / 255.0
    out = colorizer.colorize(gray)
    assert out.dtype == np.uint8 and out.shape == (20, 30, 3)
    float_out = colorizer.colorize(gray.astype(np.float32), saturation=0.0)
    np.testing.assert_allclose(lab_of(float_out)[..., 0], lab_of(np.repeat(
        mid_gray(30, 20)[..., None], 3, -1))[..., 0], atol=0.5)
    rgb = np.dstack([mid_gray(30, 20, 1)] * 3)
    assert colorizer.colorize(rgb).shape == (20, 30, 3)
    rgba = np.dstack([rgb, np.full((20, 30), 7, np.uint8)])
    out = colorizer.colorize(rgba)
    assert out.shape == (20, 30, 4) and (out[..., 3] == 7).all()


@pytest.mark.parametrize("bad,error", [
    (np.zeros((4, 4), np.int32), TypeError),
    (np.zeros((4, 4, 3), np.uint16), TypeError),
    (np.zeros((4, 4, 2), np.uint8), ValueError),
    (np.zeros((2, 4, 4, 3), np.uint8), ValueError),
    ([[0, 1], [1, 0]], TypeError),
    ("photo.jpg", TypeError),
])
def test_bad_inputs(colorizer: Colorizer, bad, error) -> None:
    with pytest.raises(error):
        colorizer.colorize(bad)


def test_colour_input_lightness_preserved(colorizer: Colorizer, smooth_rgb) -> None:
    rgb = smooth_rgb(0, 50, 70)
    out = colorizer.colorize(Image.fromarray(rgb))
    assert out.size == (70, 50)
    difference = np.abs(lab_of(np.asarray(out))[..., 0] - lab_of(rgb)[..., 0])
    assert np.median(difference) < 0.5 and np.percentile(difference, 99) < 2.0


def test_saturation_zero_gives_gray(colorizer: Colorizer, smooth_rgb) -> None:
    rgb = smooth_rgb(1, 40, 56)
    out = np.asarray(colorizer.colorize(Image.fromarray(rgb), saturation=0.0)).astype(int)
    assert np.ptp(out, axis=-1).max() <= 1
    np.testing.assert_allclose(lab_of(out)[..., 0], lab_of(rgb)[..., 0], atol=0.5)


def test_constant_backend_colours_exactly() -> None:
    """A backend that predicts ab_norm (0.15, -0.1) everywhere: ab (19.2, -12.8) comes out."""
    colorizer = Colorizer(ConstantBackend((0.15, -0.1)), render_size=64)
    gray = mid_gray(77, 41)
    out = colorizer.colorize(gray)
    lab = lab_of(out)
    expected_l = rgb2lab(np.repeat(gray[..., None], 3, -1) / 255.0)[..., 0]
    assert np.abs(lab[..., 0] - expected_l).max() < 1.0
    np.testing.assert_allclose(lab[..., 1], 19.2, atol=1.5)
    np.testing.assert_allclose(lab[..., 2], -12.8, atol=1.5)
    half = Colorizer(ConstantBackend((0.15, -0.1)), render_size=64).colorize(gray, saturation=0.5)
    np.testing.assert_allclose(lab_of(half)[..., 1], 9.6, atol=1.5)
    ab = colorizer.colorize_lightness(expected_l.astype(np.float32), saturation=2.0)
    np.testing.assert_allclose(ab[..., 0], 38.4, atol=1e-3)
    np.testing.assert_allclose(ab[..., 1], -25.6, atol=1e-3)


def test_batches_group_equal_render_shapes() -> None:
    backend = ConstantBackend((0.0, 0.0))
    colorizer = Colorizer(backend, render_size=64, batch_size=2)
    sizes = [(40, 60), (41, 62), (60, 40), (40, 60), (40, 60)]
    lightness = [np.full(size, 50.0, np.float32) for size in sizes]
    results = colorizer.predict([colorizer.render_input(item) for item in lightness])
    assert [r.shape for r in results] == [(2, *render_shape(*size, 64)) for size in sizes]
    wide, tall = render_shape(40, 60, 64), render_shape(60, 40, 64)
    assert wide != tall
    assert sorted(backend.batches) == sorted([(2, 1, *wide), (2, 1, *wide), (1, 1, *tall)])


def test_colorize_file(colorizer: Colorizer, tmp_path: Path) -> None:
    Image.fromarray(mid_gray(35, 29)).save(tmp_path / "in.png")
    out = colorizer.colorize_file(tmp_path / "in.png", tmp_path / "out" / "in.png")
    assert out == tmp_path / "out" / "in.png"
    with Image.open(out) as written:
        assert written.size == (35, 29) and written.mode == "RGB"


# -- the per-photo policy and the shared path ---------------------------------------------------


def _loaded(width: int, height: int, **fields):
    from autocolor.images import lightness_from_pil

    loaded = lightness_from_pil(Image.fromarray(mid_gray(width, height)))
    for key, value in fields.items():
        setattr(loaded, key, value)
    return loaded


def test_a_render_size_per_call() -> None:
    backend = ConstantBackend((0.1, 0.1))
    colorizer = Colorizer(backend, render_size=64)
    lightness = np.full((60, 90), 50.0, np.float32)
    small, large = colorizer.render_input(lightness), colorizer.render_input(lightness, 128)
    assert small.shape == (1, *render_shape(60, 90, 64)) and small.dtype == np.float32
    assert colorizer.predict([small])[0].shape == (2, *render_shape(60, 90, 64))
    assert colorizer.predict([large])[0].shape == (2, *render_shape(60, 90, 128))
    assert colorizer.render_size == 64  # unchanged
    loaded = _loaded(90, 60)
    plan = colorizer.plan(loaded, render_size=128)
    assert plan.render_input is not None
    assert np.array_equal(plan.render_input, colorizer.render_input(loaded.lightness, 128))
    assert [shape[2:] for shape in backend.batches] == [render_shape(60, 90, 64),
                                                        render_shape(60, 90, 128)]


def test_plan_checks_the_photo_and_its_steering(tmp_path: Path) -> None:
    from autocolor.hints import HintError, HintPoint, HintSet
    from autocolor.images import ImageError

    colorizer = Colorizer(ConstantBackend((0.0, 0.0)), render_size=64, max_pixels=40 * 30)
    loaded = _loaded(40, 30)
    plan = colorizer.plan(loaded, tmp_path / "a.jpg")
    assert plan.target == tmp_path / "a.jpg" and plan.hints is None and plan.reference is None
    alpha = _loaded(40, 30, alpha=np.full((30, 40), 255, np.uint8))
    assert colorizer.plan(alpha, tmp_path / "a.jpg").target == tmp_path / "a.png"  # fit_target
    with pytest.raises(ImageError, match="^big.png: too many pixels"):
        colorizer.plan(_loaded(41, 30), name="big.png")
    with pytest.raises(ValueError, match="saturation"):
        colorizer.plan(loaded, saturation=-1.0)
    # Hints as stored in a file turned by EXIF orientation 6 (stored 30x40, shown 40x30).
    turned = _loaded(40, 30, orientation=6, stored_size=(30, 40))
    stored = HintSet((HintPoint(x=2.0, y=35.0, rgb=(200, 0, 0)),))
    upright = colorizer.plan(turned, hints=stored, hints_as_stored=True).hints
    assert upright is not None and upright.points[0] != stored.points[0]
    upright.validate(turned.size)
    with pytest.raises(HintError, match="outside"):
        colorizer.plan(turned, hints=stored)  # taken as upright, y = 35 is off the photo
    assert colorizer.plan(loaded, hints=HintSet(())).hints is None


def test_plan_reduces_the_reference_once(tmp_path: Path, smooth_rgb) -> None:
    from autocolor.hints.reference import REFERENCE_MAX_SIDE
    from autocolor.infer.colorizer import reference_rgb

    colorizer = Colorizer(ConstantBackend((0.0, 0.0)), render_size=64)
    big = smooth_rgb(4, 600, 900)
    Image.fromarray(big).save(tmp_path / "ref.png")
    for reference in (big, Image.fromarray(big), tmp_path / "ref.png", str(tmp_path / "ref.png")):
        used = colorizer.plan(_loaded(40, 30), reference=reference).reference
        assert used.dtype == np.uint8 and used.shape == (171, REFERENCE_MAX_SIDE, 3)
    small = reference_rgb(big)
    assert reference_rgb(small) is small  # prepared once, free per photo
    with pytest.raises(ValueError, match="uint8"):
        reference_rgb(big.astype(np.float32))


def test_steering_goes_through_the_same_finish(smooth_rgb) -> None:
    """colorize with a reference equals plan + predict + finish_plan, and steers the colour."""
    colorizer = Colorizer(ConstantBackend((0.0, 0.0)), render_size=64)
    gray = mid_gray(48, 40)
    reference = smooth_rgb(5, 64, 64)
    steered = colorizer.colorize(gray, reference=reference)
    loaded = _loaded(48, 40)
    plan = colorizer.plan(loaded, reference=reference)
    np.testing.assert_array_equal(colorizer.colorize_plans([plan])[0], steered)
    assert np.ptp(steered.astype(int), axis=-1).max() > 5  # gray prior, coloured by the reference


def test_colorize_file_applies_the_limit_and_fits_the_target(colorizer: Colorizer,
                                                             tmp_path: Path) -> None:
    from autocolor.images import ImageError

    rgba = np.dstack([np.repeat(mid_gray(35, 29)[..., None], 3, -1),
                      np.full((29, 35), 200, np.uint8)])
    Image.fromarray(rgba).save(tmp_path / "cutout.png")
    out = colorizer.colorize_file(tmp_path / "cutout.png", tmp_path / "out" / "cutout.jpg")
    assert out == tmp_path / "out" / "cutout.png"  # JPEG cannot hold the alpha
    with Image.open(out) as written:
        assert written.mode == "RGBA" and written.size == (35, 29)
    small = Colorizer(colorizer.backend, max_pixels=35 * 29 - 1)
    assert small.render_size == 64  # from the backend's metadata
    with pytest.raises(ImageError, match="too many pixels"):
        small.colorize_file(tmp_path / "cutout.png", tmp_path / "out" / "again.png")
    assert not (tmp_path / "out" / "again.png").exists()


def test_upsampling_choice() -> None:
    """Guided upsampling (the default) and bilinear differ on a photo with edges, agree on a
    constant prediction, and anything else is refused."""
    rng = np.random.default_rng(5)
    photo = (rng.random((90, 130)) * 255).astype(np.uint8)
    constant = [Colorizer(ConstantBackend((0.15, -0.1)), render_size=64, upsampling=mode)
                .colorize(photo) for mode in ("guided", "bilinear")]
    assert np.abs(constant[0].astype(int) - constant[1].astype(int)).max() <= 1

    class Ramp(ConstantBackend):
        def predict(self, l_norm: np.ndarray) -> np.ndarray:
            return np.repeat(l_norm * 0.3, 2, axis=1)  # ab follows L: edges in ab

    ramp = [Colorizer(Ramp((0, 0)), render_size=64, upsampling=mode).colorize(photo)
            for mode in ("guided", "bilinear")]
    assert not np.array_equal(ramp[0], ramp[1])
    assert Colorizer(ConstantBackend((0, 0)), render_size=64).guided
    with pytest.raises(ValueError, match="upsampling"):
        Colorizer(ConstantBackend((0, 0)), render_size=64, upsampling="nearest")


def test_plan_restores_the_lightness_only_when_asked(colorizer: Colorizer) -> None:
    from autocolor.images import lightness_from_pil

    rng = np.random.default_rng(3)
    gray = np.clip(50 + 0.6 * mid_gray(64, 48) + rng.normal(0, 10, (48, 64)), 0, 255)
    loaded = lightness_from_pil(Image.fromarray(gray.astype(np.uint8)))
    before = loaded.lightness.copy()
    plain = colorizer.plan(loaded)
    assert plain.loaded is loaded and plain.restored is None and plain.restored_steps == ()
    assert colorizer.plan(loaded, restore=False).restored is None
    graded = colorizer.plan(loaded, restore="grain,fading")
    assert graded.restored_steps == ("grain", "fading")
    assert graded.loaded is not loaded and graded.loaded.size == loaded.size
    assert np.array_equal(graded.loaded.lightness, graded.restored.lightness)
    assert not np.array_equal(graded.loaded.lightness, loaded.lightness)
    assert np.array_equal(loaded.lightness, before)  # the caller's photo is untouched
    with pytest.raises(ValueError, match="unknown restoration step"):
        colorizer.plan(loaded, restore="sharpen")
    # The output keeps the restored lightness.
    backend = ConstantBackend((0.0, 0.0))
    neutral = Colorizer(backend, render_size=64)
    rgb = neutral.colorize(Image.fromarray(gray.astype(np.uint8)), restore=["fading"])
    out_l = lab_of(np.asarray(rgb))[..., 0]
    expected = neutral.plan(loaded, restore=["fading"]).loaded.lightness
    assert np.abs(out_l - expected).max() < 1.0


class RecordingBackend(ConstantBackend):
    """A ConstantBackend that keeps the inputs it was given."""

    def __init__(self, ab_norm: tuple[float, float]) -> None:
        super().__init__(ab_norm)
        self.inputs: list[np.ndarray] = []

    def predict(self, l_norm: np.ndarray) -> np.ndarray:
        self.inputs.append(l_norm.copy())
        return super().predict(l_norm)


def test_a_restored_photo_is_coloured_from_its_levels_before_the_stretch() -> None:
    """The network sees the repaired lightness before the levels stretch (Restored.for_colour);
    the upsampling's guide and the output are the stretched one."""
    from autocolor.images import lightness_from_pil
    from autocolor.restore import restore_lightness

    rng = np.random.default_rng(4)
    gray = np.clip(60 + 0.5 * mid_gray(64, 48) + rng.normal(0, 8, (48, 64)), 0, 255)
    loaded = lightness_from_pil(Image.fromarray(gray.astype(np.uint8)))
    backend = RecordingBackend((0.1, -0.1))
    colorizer = Colorizer(backend, render_size=64)
    plan = colorizer.plan(loaded, restore="grain,fading")
    repaired = restore_lightness(loaded.lightness, ["grain"]).lightness
    assert np.array_equal(plan.render_input, colorizer.render_input(repaired))
    assert plan.guide_input is not None
    assert np.array_equal(plan.guide_input, colorizer.render_input(plan.loaded.lightness))
    assert not np.array_equal(plan.render_input, plan.guide_input)
    assert plan.restored is not None and plan.restored.before_levels is None  # not kept
    colorizer.colorize_plans([plan])
    assert np.array_equal(backend.inputs[-1][0], plan.render_input)
    # Without the levels step there is one input, the restored lightness's.
    grain = colorizer.plan(loaded, restore="grain")
    assert grain.guide_input is None
    assert np.array_equal(grain.render_input, colorizer.render_input(grain.loaded.lightness))
    # colorize_lightness: the same split, for the evaluation.
    ab = colorizer.colorize_lightness(plan.loaded.lightness, coloured_from=repaired)
    assert np.array_equal(backend.inputs[-1][0], colorizer.render_input(repaired))
    assert ab.shape == (*loaded.lightness.shape, 2)
    with pytest.raises(ValueError, match="coloured_from"):
        colorizer.colorize_lightness(plan.loaded.lightness, coloured_from=repaired[1:])


def test_predict_confidence_and_the_map(colorizer: Colorizer, tmp_path: Path) -> None:
    """One pass gives ab (as predict) and the confidence at the render shape; the map is
    8-bit at the photo's size; a model without one says so in a line."""
    from autocolor.images import LoadedImage

    lightness = mid_gray(150, 100).astype(np.float32) / 2.55
    l_norm = colorizer.render_input(lightness)
    [(ab_norm, sure)] = colorizer.predict([l_norm], confidence=True)
    assert np.allclose(ab_norm, colorizer.predict([l_norm])[0], atol=1e-6)
    assert sure.shape == ab_norm.shape[1:] and 0 <= sure.min() and sure.max() <= 1
    assert colorizer.has_confidence
    confidence_map = colorizer.confidence_map(sure, (150, 100))
    assert confidence_map.shape == (100, 150) and confidence_map.dtype == np.uint8
    # No deciles for these weights: the raw confidence times 255.
    raw = colorizer.confidence_map(sure, (150, 100), raw=True)
    assert np.abs(confidence_map.astype(np.float32) - raw * 255).max() <= 0.51
    [(rgb, same_map)] = colorizer.colorize_plans(
        [colorizer.plan(LoadedImage(lightness=lightness))], confidence=True)
    assert np.array_equal(same_map, confidence_map) and rgb.shape == (100, 150, 3)
    plain = Colorizer(ConstantBackend((0.1, 0.1)))
    assert not plain.has_confidence
    with pytest.raises(ValueError):
        plain.predict([l_norm], confidence=True)


def test_the_bundled_models_map_is_calibrated() -> None:
    """The bundled model's map goes through its validation deciles: the deciles' edges map to
    0, 25.5, ..., 255."""
    import json

    from autocolor.infer.confidence_map import DECILES_PATH

    colorizer = Colorizer.from_pretrained("default")
    stored = json.loads(DECILES_PATH.read_text())
    deciles = colorizer._confidence_deciles()
    assert deciles is not None and np.allclose(deciles, stored["deciles"])
    edges = np.asarray(stored["deciles"], np.float32)[None, :]
    mapped = colorizer.confidence_map(edges, (edges.shape[1], 1))
    assert np.abs(mapped[0].astype(float) - np.linspace(0, 255, edges.shape[1])).max() <= 1.0



def test_the_networks_input_guides_the_upsampling(colorizer: Colorizer, monkeypatch) -> None:
    """finish with the guide taken from the network's input equals finish that reduces the
    full-size photo again, to the bit, without reducing it; an input of another shape is not
    used; a plan carries its input, so finishing it reduces nothing again."""
    from autocolor.images import LoadedImage
    from autocolor.infer import pipeline

    reductions = []
    real_guide_at = pipeline.guide_at
    monkeypatch.setattr(pipeline, "guide_at",
                        lambda *args: reductions.append(1) or real_guide_at(*args))

    lightness = mid_gray(301, 203).astype(np.float32) / 2.55
    l_norm = colorizer.render_input(lightness)
    [ab_norm] = colorizer.predict([l_norm])
    loaded = LoadedImage(lightness=lightness)
    reduced_again = colorizer.finish(loaded, ab_norm)
    assert reductions == [1]
    assert np.array_equal(colorizer.finish(loaded, ab_norm, render_input=l_norm), reduced_again)
    assert reductions == [1]  # the guide was used: no second reduction
    wrong = np.zeros((1, 5, 7), np.float32)
    assert np.array_equal(colorizer.finish(loaded, ab_norm, render_input=wrong), reduced_again)
    assert reductions == [1, 1]
    plan = colorizer.plan(loaded)
    assert np.array_equal(colorizer.colorize_plans([plan])[0], reduced_again)
    assert reductions == [1, 1]


# -- JPEG targets: the 4:2:0 join ---------------------------------------------------------------

def test_a_jpeg_target_gets_the_420_planes_and_keeps_the_colour(tmp_path: Path) -> None:
    """colorize_file to a .jpg writes the planes render_ycbcr made: the file decodes to the RGB
    join's colour as closely as a JPEG of the RGB join does."""
    from autocolor.image_output import YCbCr420, save_image
    from autocolor.images import load_image

    colorizer = Colorizer(ConstantBackend((0.3, -0.2)), render_size=64)
    Image.fromarray(mid_gray(211, 157)).save(tmp_path / "in.png")
    loaded = load_image(tmp_path / "in.png")
    plan = colorizer.plan(loaded, tmp_path / "ours.jpg")
    [ab_norm] = colorizer.predict([plan.render_input])
    assert isinstance(colorizer.finish_plan(plan, ab_norm, for_file=True), YCbCr420)
    rgb = colorizer.finish_plan(plan, ab_norm)  # not for a file: RGB
    assert isinstance(rgb, np.ndarray) and rgb.shape == (157, 211, 3)
    ours = colorizer.colorize_file(tmp_path / "in.png", tmp_path / "ours.jpg")
    theirs = save_image(rgb, tmp_path / "theirs.jpg", loaded)
    with Image.open(ours) as a, Image.open(theirs) as b:
        error = np.abs(np.asarray(a, np.int32) - rgb).mean()
        their_error = np.abs(np.asarray(b, np.int32) - rgb).mean()
        assert np.abs(lab_of(np.asarray(a))[..., 1:].mean((0, 1)) - [38.4, -25.6]).max() < 2.0
    assert error < their_error + 0.3, (error, their_error)


def test_what_a_jpeg_cannot_hold_stays_rgb(tmp_path: Path, smooth_rgb) -> None:
    """Hints, a reference, 16 bits or alpha: the JPEG-bound finish still gives RGB (or a PNG)."""
    colorizer = Colorizer(ConstantBackend((0.1, 0.1)), render_size=64)
    loaded = _loaded(200, 150)
    [ab_norm] = colorizer.predict([colorizer.render_input(loaded.lightness)])
    steered = colorizer.plan(loaded, tmp_path / "a.jpg", reference=smooth_rgb(5, 64, 64))
    assert isinstance(colorizer.finish_plan(steered, ab_norm, for_file=True), np.ndarray)
    deep = _loaded(200, 150, bit_depth=16)
    rendered = colorizer.finish(deep, ab_norm, fmt="jpeg")
    assert isinstance(rendered, np.ndarray) and rendered.dtype == np.uint16


def test_gray_codes_are_dropped_with_the_lightness_they_came_with() -> None:
    from dataclasses import replace

    loaded = _loaded(40, 30)
    assert loaded.gray_codes() is not None and loaded.gray_codes().dtype == np.uint8
    restored = replace(loaded, lightness=loaded.lightness + 1.0)
    assert restored.gray_codes() is None
