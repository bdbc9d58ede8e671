"""autocolor.degrade.degrade: determinism, the steps record, the presets, the clean gray."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from skimage.color import rgb2lab

from autocolor.degrade import CLEAN, DEFAULT, EVAL, EVAL_ALT, PRESETS, DegradeConfig, degrade
from autocolor.degrade.model import STEPS

# The probability field of each step.
PROBABILITY = {"vignette": "vignette_p", "print_blur": "print_blur_p", "grain": "grain_p",
               "halftone": "halftone_p", "uneven_exposure": "exposure_p", "fade": "fade_p",
               "tone": "tone_p", "dust": "dust_p", "scratches": "scratch_p",
               "creases": "crease_p", "scan_blur": "scan_blur_p", "low_res": "low_res_p",
               "jpeg": "jpeg_p"}


def photo(seed: int = 0, height: int = 96, width: int = 128) -> np.ndarray:
    """A smooth colourful (H, W, 3) uint8 image with some fine texture."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    channels = [0.5 + 0.35 * np.sin(2 * np.pi * (rng.uniform(0.5, 2) * x + rng.uniform(0.5, 2) * y)
                                     + rng.uniform(0, 6)) for _ in range(3)]
    image = np.stack(channels, -1) + rng.normal(0, 0.03, (height, width, 3))
    return np.clip(np.rint(image * 255), 0, 255).astype(np.uint8)


def luminance_gray(rgb: np.ndarray) -> np.ndarray:
    """Expected gray (float, 0..255): the sRGB encoding of the CIE luminance Y."""
    c = rgb.astype(np.float64) / 255
    linear = np.where(c > 0.04045, ((c + 0.055) / 1.055) ** 2.4, c / 12.92)
    y = linear @ np.array([0.212671, 0.715160, 0.072169])
    return 255 * np.where(y > 0.0031308, 1.055 * y ** (1 / 2.4) - 0.055, 12.92 * y)


@pytest.mark.parametrize("name", list(PRESETS))
def test_same_seed_same_bytes_other_seed_differs(name: str) -> None:
    image = photo(1)
    one, two = degrade(image, 7, PRESETS[name]), degrade(image, 7, PRESETS[name])
    assert one.rgb.tobytes() == two.rgb.tobytes()
    assert np.array_equal(one.damage, two.damage) and one.steps == two.steps
    other = degrade(image, 8, PRESETS[name])
    assert other.rgb.tobytes() != one.rgb.tobytes()


@pytest.mark.parametrize("name", list(PRESETS))
@pytest.mark.parametrize("shape", [(96, 128), (37, 53), (192, 192)])
def test_shapes_and_types(name: str, shape: tuple[int, int]) -> None:
    out = degrade(photo(2, *shape), 3, PRESETS[name])
    assert out.rgb.shape == (*shape, 3) and out.rgb.dtype == np.uint8
    assert out.damage.shape == shape and out.damage.dtype == bool


def test_gray_crop() -> None:
    gray = np.rint(luminance_gray(photo(3, 192, 192))).astype(np.uint8)
    for seed in range(4):
        out = degrade(gray, seed, DEFAULT)
        assert out.rgb.shape == (192, 192, 3) and out.rgb.dtype == np.uint8
    assert np.array_equal(degrade(gray, 0, CLEAN).rgb, np.repeat(gray[..., None], 3, -1))


def test_clean_config_returns_the_luminance_gray() -> None:
    image = photo(4)
    out = degrade(image, 5, CLEAN)
    assert out.steps == {} and not out.damage.any()
    assert np.array_equal(out.rgb[..., 0], out.rgb[..., 1])
    assert np.array_equal(out.rgb[..., 1], out.rgb[..., 2])
    assert np.abs(out.rgb[..., 0] - luminance_gray(image)).max() <= 1.0
    lightness = rgb2lab(image)[..., 0]  # the gray keeps the photo's Lab lightness
    assert np.abs(rgb2lab(out.rgb)[..., 0] - lightness).max() < 0.5


def test_steps_record_in_order_and_grain_on_either_side_of_print_blur() -> None:
    image = photo(5, 64, 64)
    grain_first = set()
    for seed in range(40):
        steps = degrade(image, seed, DEFAULT).steps
        names = list(steps)
        assert set(names) <= set(STEPS)
        assert all(isinstance(v, float) for params in steps.values() for v in params.values())
        rest = [name for name in names if name != "grain"]
        assert rest == sorted(rest, key=STEPS.index)
        if "grain" in steps and "print_blur" in steps:
            grain_first.add(names.index("grain") < names.index("print_blur"))
    assert grain_first == {True, False}


def test_default_mixes_effects_and_draws_within_ranges() -> None:
    image = photo(6, 48, 48)
    counts = dict.fromkeys(STEPS, 0)
    for seed in range(60):
        steps = degrade(image, seed, DEFAULT).steps
        for name in steps:
            counts[name] += 1
        if "fade" in steps:
            assert DEFAULT.fade_black[0] <= steps["fade"]["black"] <= DEFAULT.fade_black[1]
        if "jpeg" in steps:
            assert DEFAULT.jpeg_quality[0] <= steps["jpeg"]["quality"] <= DEFAULT.jpeg_quality[1]
    for name in STEPS:  # each about as often as its probability says
        expected = 60 * getattr(DEFAULT, PROBABILITY[name])
        assert abs(counts[name] - expected) < 4 * np.sqrt(expected) + 2, name


@pytest.mark.parametrize("config", [EVAL, EVAL_ALT])
def test_eval_presets_apply_what_they_promise(config: DegradeConfig) -> None:
    image = photo(7)
    always = {name for name in STEPS if getattr(config, PROBABILITY[name]) == 1.0}
    never = {name for name in STEPS if getattr(config, PROBABILITY[name]) == 0.0}
    assert always | never == set(STEPS) - ({"halftone"} if config is EVAL_ALT else set())
    for seed in range(8):
        out = degrade(image, seed, config)
        assert always <= set(out.steps) and not never & set(out.steps)
        assert out.damage.any()
        if "halftone" not in out.steps:
            assert (out.rgb[..., 0] != out.rgb[..., 2]).mean() > 0.5  # toned
    promised = {"fade", "tone", "print_blur", "grain", "jpeg", "dust", "scratches"}
    assert {name for name in STEPS if getattr(EVAL, PROBABILITY[name]) == 1.0} == promised
    assert {"creases", "low_res", "uneven_exposure", "tone"} <= {
        name for name in STEPS if getattr(EVAL_ALT, PROBABILITY[name]) == 1.0}
    halftoned = ["halftone" in degrade(image[:32, :32], seed, EVAL_ALT).steps for seed in range(40)]
    assert 8 <= sum(halftoned) <= 32  # half of them


def test_damage_mask_marks_the_changed_pixels() -> None:
    image = photo(8)
    clean = degrade(image, 0, CLEAN).rgb
    config = dataclasses.replace(CLEAN, dust_p=1.0, scratch_p=1.0, crease_p=1.0)
    out = degrade(image, 9, config)
    changed = (out.rgb != clean).any(-1)
    assert out.damage.any()
    assert not changed[~out.damage].any()
    assert changed[out.damage].mean() > 0.9


def test_steps_draw_from_their_own_streams() -> None:
    image = photo(9)
    with_jpeg = degrade(image, 11, EVAL)
    without = degrade(image, 11, dataclasses.replace(EVAL, jpeg_p=0.0, grain_p=0.0))
    assert np.array_equal(with_jpeg.damage, without.damage)
    assert with_jpeg.steps["dust"] == without.steps["dust"]


def test_input_and_config_checks() -> None:
    with pytest.raises(TypeError):
        degrade(photo(0).astype(np.float32), 0)
    with pytest.raises(ValueError):
        degrade(np.zeros((8, 8, 4), np.uint8), 0)
    with pytest.raises(ValueError):
        DegradeConfig(grain_p=1.5)
    with pytest.raises(ValueError):
        DegradeConfig(grain_std=(0.08, 0.01))
    with pytest.raises(ValueError):
        DegradeConfig(tone_weights=(0.0, 0.0, 0.0))
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT.grain_p = 0.1  # type: ignore[misc]
    assert set(PRESETS) == {"default", "heavy", "eval", "eval-alt"}


def test_heavy_mix_is_the_default_with_stronger_upper_strengths() -> None:
    """The bundled model's training mix: the default's probabilities, no strength range weaker."""
    heavy = PRESETS["heavy"]
    stronger = 0
    for field in dataclasses.fields(DegradeConfig):
        mine, base = getattr(heavy, field.name), getattr(DEFAULT, field.name)
        if field.name.endswith("_p") or not isinstance(base, tuple) or field.name == "tone_weights":
            assert mine == base, field.name
        elif field.name in ("fade_white", "jpeg_quality"):  # lower is harder
            assert mine[0] <= base[0], field.name
            stronger += mine[0] < base[0]
        else:
            assert mine[1] >= base[1], field.name
            stronger += mine[1] > base[1]
    assert stronger >= 10
