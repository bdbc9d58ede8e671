"""autocolor.degrade.effects: the strength each effect asks for is the strength it makes."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage
from skimage.color import rgb2lab

from autocolor.degrade import effects


def flat(value: float, height: int = 128, width: int = 128) -> np.ndarray:
    return np.full((height, width), value, dtype=np.float32)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return 10 * math.log10(1.0 / float(np.mean((a.astype(np.float64) - b) ** 2)))


# -- fading and exposure ------------------------------------------------------------------------

@pytest.mark.parametrize(("black", "white"), [(0.0, 1.0), (0.1, 0.9), (0.25, 0.8)])
def test_fade_levels(black: float, white: float) -> None:
    ramp = np.tile(np.linspace(0, 1, 256, dtype=np.float32), (4, 1))
    out = effects.fade(ramp, black, white, gamma=1.3)
    assert out.dtype == np.float32 and out.shape == ramp.shape
    assert abs(out.min() - black) < 0.01
    assert abs(out.max() - white) < 0.01
    assert np.all(np.diff(out[0]) >= 0)  # tones stay in order


@pytest.mark.parametrize("gamma", [0.6, 1.0, 1.5])
def test_fade_gamma(gamma: float) -> None:
    out = effects.fade(flat(0.5, 4, 4), 0.0, 1.0, gamma)
    assert np.allclose(out, 0.5**gamma, atol=1e-4)


@pytest.mark.parametrize("amount", [0.1, 0.35])
def test_vignette_corner_ratio(amount: float) -> None:
    out = effects.vignette(flat(0.8, 101, 151), amount)
    centre = out[50, 75]
    for corner in (out[0, 0], out[0, -1], out[-1, 0], out[-1, -1]):
        assert abs(corner / centre - (1 - amount)) < 0.01
    assert centre > out[50, 0] > out[0, 0]  # darker toward the corners
    rgb = effects.vignette(np.full((101, 151, 3), 0.8, np.float32), amount)
    assert np.allclose(rgb[..., 1], out)


@pytest.mark.parametrize(("angle", "near", "far"), [
    (0.0, (slice(None), 0), (slice(None), -1)),
    (90.0, (0, slice(None)), (-1, slice(None))),
    (180.0, (slice(None), -1), (slice(None), 0)),
])
def test_uneven_exposure_gradient(angle: float, near: tuple, far: tuple) -> None:
    amount = 0.3
    out = effects.uneven_exposure(flat(0.8, 60, 90), amount, angle)
    ratio = out[far].mean() / out[near].mean()
    assert abs(ratio - (1 - amount)) < 0.01
    assert out[near].max() <= 0.8 + 1e-6


# -- tone ---------------------------------------------------------------------------------------

def lab_of(rgb: np.ndarray) -> np.ndarray:
    return rgb2lab(rgb.astype(np.float64))


@pytest.mark.parametrize("toner", list(effects.TONERS))
def test_tone_hue_and_chroma(toner: str) -> None:
    hue = effects.TONERS[toner][0]
    chromas = []
    for strength in (0.25, 0.5, 1.0):
        lab = lab_of(effects.tone(flat(0.5, 4, 4), toner, strength))
        a, b = lab[..., 1].mean(), lab[..., 2].mean()
        measured = math.degrees(math.atan2(b, a)) % 360
        assert abs((measured - hue + 180) % 360 - 180) < 2.0
        chromas.append(math.hypot(a, b))
    assert chromas[0] > 1.0
    assert chromas[0] < chromas[1] < chromas[2]


@pytest.mark.parametrize("toner", list(effects.TONERS))
def test_tone_strength_zero_is_gray(toner: str) -> None:
    gray = np.tile(np.linspace(0, 1, 97, dtype=np.float32), (3, 1))
    out = effects.tone(gray, toner, 0.0)
    assert out.shape == (3, 97, 3)
    assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 1], out[..., 2])
    assert np.abs(out[..., 0] - gray).max() < 1e-3


@pytest.mark.parametrize("toner", list(effects.TONERS))
@pytest.mark.parametrize("strength", [0.5, 1.0])
def test_tone_changes_lightness(toner: str, strength: float) -> None:
    _, _, black_l, log2_gamma = effects.TONERS[toner]
    levels = np.array([[0.0, 0.25, 0.5, 0.75]], dtype=np.float32)
    before = lab_of(np.repeat(levels[..., None], 3, -1))[0, :, 0]
    after = lab_of(effects.tone(levels, toner, strength))[0, :, 0]
    black = strength * black_l  # L' = black + (100 - black) * (L / 100) ** gamma
    expected = black + (100 - black) * (before / 100) ** (2 ** (strength * log2_gamma))
    assert np.abs(after - expected).max() < 0.5
    assert abs(after[0] - black) < 0.5


def test_tone_rejects_rgb_and_unknown() -> None:
    with pytest.raises(ValueError):
        effects.tone(np.zeros((4, 4, 3), np.float32), "sepia", 0.5)
    with pytest.raises(ValueError):
        effects.tone(flat(0.5, 4, 4), "platinum", 0.5)


# -- softness -----------------------------------------------------------------------------------

def edge_spread(row: np.ndarray) -> float:
    """The std (px) of the derivative of a rising edge profile."""
    slope = np.diff(row.astype(np.float64))
    slope /= slope.sum()
    x = np.arange(len(slope))
    centre = (slope * x).sum()
    return math.sqrt((slope * (x - centre) ** 2).sum())


@pytest.mark.parametrize("sigma", [1.0, 2.0, 4.0])
def test_blur_edge_spread_is_sigma(sigma: float) -> None:
    step = np.zeros((16, 128), np.float32)
    step[:, 64:] = 1.0
    out = effects.gaussian_blur(step, sigma)
    assert abs(edge_spread(out[8]) - sigma) < 0.15 * sigma
    rgb = effects.gaussian_blur(np.repeat(step[..., None], 3, -1), sigma)
    assert np.allclose(rgb[..., 2], out, atol=1e-6)  # channels apart, not blurred together


def test_blur_zero_is_identity() -> None:
    image = np.random.default_rng(0).random((8, 9)).astype(np.float32)
    assert np.array_equal(effects.gaussian_blur(image, 0.0), image)


@pytest.mark.parametrize("factor", [2.0, 3.0])
def test_low_res_removes_detail_finer_than_factor(factor: float) -> None:
    y, x = np.mgrid[0:96, 0:96]
    checker = ((x + y) % 2).astype(np.float32) * 0.6 + 0.2
    assert effects.low_res(checker, factor).std() < 0.1 * checker.std()  # box: aliasing left
    period = 12 * factor  # well above the new pixel size: kept
    wave = (0.5 + 0.3 * np.sin(2 * np.pi * x / period)).astype(np.float32)
    out = effects.low_res(wave, factor)
    assert out[:, 12:-12].std() > 0.9 * wave[:, 12:-12].std()
    assert abs(out.mean() - wave.mean()) < 0.01


# -- grain --------------------------------------------------------------------------------------

def lag1(noise: np.ndarray) -> float:
    noise = noise - noise.mean()
    return float((noise[:, 1:] * noise[:, :-1]).mean() / noise.var())


@pytest.mark.parametrize(("std", "size"), [(0.02, 0.0), (0.05, 1.0), (0.08, 2.0)])
def test_grain_std_at_mid_gray(std: float, size: float) -> None:
    rng = np.random.default_rng(1)
    residual = effects.film_grain(flat(0.5, 256, 256), std, size, rng) - 0.5
    assert abs(residual.std() - std) < 0.1 * std
    assert abs(residual.mean()) < 0.1 * std


def test_grain_is_signal_dependent() -> None:
    dark = effects.film_grain(flat(0.05, 256, 256), 0.05, 1.0, np.random.default_rng(2)) - 0.05
    mid = effects.film_grain(flat(0.5, 256, 256), 0.05, 1.0, np.random.default_rng(2)) - 0.5
    assert dark.std() < 0.6 * mid.std()


def test_grain_size_correlates_neighbours() -> None:
    fine = effects.film_grain(flat(0.5, 256, 256), 0.05, 0.0, np.random.default_rng(3))
    coarse = effects.film_grain(flat(0.5, 256, 256), 0.05, 1.5, np.random.default_rng(3))
    assert abs(lag1(fine)) < 0.05
    assert lag1(coarse) > 0.3


def test_grain_same_in_every_channel_and_deterministic() -> None:
    rgb = np.full((64, 64, 3), 0.5, np.float32)
    one = effects.film_grain(rgb, 0.05, 1.0, np.random.default_rng(4))
    two = effects.film_grain(rgb, 0.05, 1.0, np.random.default_rng(4))
    assert np.array_equal(one, two)
    assert np.array_equal(one[..., 0], one[..., 2])


# -- JPEG ---------------------------------------------------------------------------------------

def test_jpeg_quality_orders_psnr(smooth_rgb) -> None:
    image = smooth_rgb(5, 128, 128).astype(np.float32) / 255
    scores = [psnr(effects.jpeg(image, quality), image) for quality in (10, 30, 60, 95)]
    assert scores[0] < scores[1] < scores[2] < scores[3]
    assert scores[3] > 40.0
    gray = image[..., 1]
    out = effects.jpeg(gray, 20)
    assert out.shape == gray.shape and out.dtype == np.float32
    assert psnr(out, gray) < psnr(effects.jpeg(gray, 90), gray)


# -- halftone -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("period", "angle"), [(8.0, 45.0), (6.0, 30.0), (5.0, 15.0)])
def test_halftone_spectrum_peak(period: float, angle: float) -> None:
    size = 256
    out = effects.halftone(flat(0.5, size, size), period, angle)
    power = np.abs(np.fft.fft2(out - out.mean())) ** 2
    ky, kx = np.unravel_index(np.argmax(power), power.shape)
    fy, fx = np.fft.fftfreq(size)[ky], np.fft.fftfreq(size)[kx]
    assert abs(1 / math.hypot(fy, fx) - period) < 0.05 * period
    measured = math.degrees(math.atan2(fy, fx))
    assert abs((measured - angle + 45) % 90 - 45) < 3.0


@pytest.mark.parametrize("value", [0.2, 0.5, 0.8])
def test_halftone_keeps_tone_and_is_mostly_ink_or_paper(value: float) -> None:
    out = effects.halftone(flat(value, 192, 192), 6.0, 45.0)
    assert abs(out.mean() - value) < 0.02
    assert ((out < 0.1) | (out > 0.9)).mean() > 0.6


# -- damage -------------------------------------------------------------------------------------

def check_mask(before: np.ndarray, after: np.ndarray, mask: np.ndarray) -> None:
    assert mask.dtype == bool and mask.shape == before.shape[:2]
    changed = np.abs(after - before).reshape(mask.size, -1).max(-1).reshape(mask.shape) > 1e-6
    assert np.array_equal(changed, mask)


@pytest.mark.parametrize(("density", "max_radius"), [(0.001, 1.0), (0.005, 2.0), (0.03, 2.5)])
def test_dust_covers_the_asked_fraction(density: float, max_radius: float) -> None:
    image = np.full((200, 300, 3), 0.5, np.float32)
    out, mask = effects.dust(image, density, max_radius, np.random.default_rng(5))
    check_mask(image, out, mask)
    speck = math.pi * (max_radius + 1) ** 2 / mask.size  # overshoot: at most one speck
    assert density <= mask.mean() <= density + speck
    labels, count = ndimage.label(mask)
    assert ndimage.sum(mask, labels, range(1, count + 1)).min() >= 1
    if density >= 0.005:
        assert (out[mask] > 0.5).any() and (out[mask] < 0.5).any()  # bright and dark specks


def component_angles(mask: np.ndarray) -> list[float]:
    """Each component's principal axis, degrees from vertical."""
    labels, count = ndimage.label(mask, structure=np.ones((3, 3)))
    angles = []
    for index in range(1, count + 1):
        y, x = np.nonzero(labels == index)
        cov = np.cov(np.stack([y, x]).astype(np.float64))
        values, vectors = np.linalg.eigh(cov)
        dy, dx = vectors[:, -1]
        angles.append(math.degrees(math.atan2(abs(dx), abs(dy))))
    return angles


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_film_scratches_near_vertical_long(seed: int) -> None:
    image = flat(0.5, 256, 256)
    out, mask = effects.scratches(image, 3, 1.5, np.random.default_rng(seed), film=1.0)
    check_mask(image, out, mask)
    angles = component_angles(mask)
    assert 1 <= len(angles) <= 3
    assert max(angles) < 6.0
    assert np.nonzero(mask.any(1))[0].size >= 0.5 * 256  # each spans half the height or more


@pytest.mark.parametrize("width", [1.0, 2.0, 3.0])
def test_scratch_width(width: float) -> None:
    image = flat(0.5, 256, 256)
    out, mask = effects.scratches(image, 1, width, np.random.default_rng(7), film=1.0)
    rows = mask.sum(1)
    assert abs(rows[rows > 0][5:-5].mean() - width) < 0.25 * width


def test_print_scratches_any_direction() -> None:
    image = flat(0.5, 256, 256)
    angles = []
    for seed in range(4):
        out, mask = effects.scratches(image, 3, 1.5, np.random.default_rng(seed), film=0.0)
        check_mask(image, out, mask)
        angles += component_angles(mask)
    assert max(angles) > 20.0


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_creases_long_branching_with_bright_edge(seed: int) -> None:
    image = np.full((160, 240, 3), 0.4, np.float32)
    out, mask = effects.creases(image, 2, 2.0, np.random.default_rng(seed))
    check_mask(image, out, mask)
    labels, count = ndimage.label(mask, structure=np.ones((3, 3)))
    objects = ndimage.find_objects(labels)
    # Branches stay joined to their crease: a crease falls apart only where it leaves the print.
    inner = [s for s in objects if s[0].start > 0 and s[1].start > 0
             and s[0].stop < 160 and s[1].stop < 240]
    assert count >= 1 and len(inner) <= 2
    extent = max(math.hypot(s[0].stop - s[0].start, s[1].stop - s[1].start) for s in objects)
    assert extent > 0.3 * 240
    assert (out[mask][:, 0] > 0.6).mean() > 0.3  # the bright edge


def test_damage_is_deterministic_and_zero_does_nothing() -> None:
    image = flat(0.5, 64, 64)
    for function, args in ((effects.dust, (0.01, 2.0)), (effects.scratches, (2, 1.5)),
                           (effects.creases, (1, 1.5))):
        one = function(image, *args, rng=np.random.default_rng(8))
        two = function(image, *args, rng=np.random.default_rng(8))
        assert np.array_equal(one[0], two[0]) and np.array_equal(one[1], two[1])
        assert not np.array_equal(one[0], image)
    out, mask = effects.dust(image, 0.0, 2.0, np.random.default_rng(8))
    assert not mask.any() and np.array_equal(out, image)


def test_input_checks() -> None:
    with pytest.raises(TypeError):
        effects.fade(np.zeros((4, 4), np.uint8), 0.1, 0.9)
    with pytest.raises(ValueError):
        effects.fade(flat(0.5, 4, 4), 0.5, 0.4)
    with pytest.raises(ValueError):
        effects.halftone(flat(0.5, 4, 4), 1.0)
    with pytest.raises(ValueError):
        effects.vignette(np.zeros((4, 4, 2), np.float32), 0.2)
