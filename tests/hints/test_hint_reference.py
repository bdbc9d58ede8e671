"""Reference-photo colour transfer (Welsh et al.)."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
from PIL import Image
from skimage.color import deltaE_ciede2000

from autocolor.color.lab_numpy import lab_to_rgb, rgb_to_lab
from autocolor.hints import transfer_reference
from autocolor.hints.reference import jittered_samples


def _small(image: np.ndarray, side: int) -> np.ndarray:
    pil = Image.fromarray(image)
    scale = side / max(pil.size)
    return np.asarray(
        pil.resize((round(pil.width * scale), round(pil.height * scale)), Image.Resampling.BOX)
    )


def _ciede(original: np.ndarray, lightness: np.ndarray, ab: np.ndarray) -> float:
    """Mean CIEDE2000 of the rendered result (gamut-clipped, as saved) against the original."""
    rendered = lab_to_rgb(np.concatenate([lightness[..., None], ab], axis=-1))
    target = rgb_to_lab(original.astype(np.float32) / 255.0)
    return float(deltaE_ciede2000(target, rgb_to_lab(rendered)).mean())


@pytest.mark.parametrize("name", ["astronaut", "coffee"])
def test_own_original_as_reference_beats_the_gray_prior(name: str) -> None:
    original = _small(getattr(skimage.data, name)(), 320)
    lightness = rgb_to_lab(original.astype(np.float32) / 255.0)[..., 0]
    prior = np.zeros((*lightness.shape, 2), dtype=np.float32)
    ab = transfer_reference(lightness, prior, original)
    assert ab.shape == prior.shape and ab.dtype == np.float32
    gray, transferred = _ciede(original, lightness, prior), _ciede(original, lightness, ab)
    # Target 1.5 lower; measured ~6 (astronaut) and ~16 (coffee) lower, see docs/hints.md.
    assert transferred < gray - 3.0


def test_other_view_of_the_scene_as_reference_helps() -> None:
    # The other half of the same photo: similar content, different pixels.
    original = _small(skimage.data.chelsea(), 320)
    half = original.shape[1] // 2
    target, reference = original[:, :half], original[:, half:]
    lightness = rgb_to_lab(target.astype(np.float32) / 255.0)[..., 0]
    prior = np.zeros((*lightness.shape, 2), dtype=np.float32)
    ab = transfer_reference(lightness, prior, np.ascontiguousarray(reference))
    assert _ciede(target, lightness, ab) < _ciede(target, lightness, prior) - 3.0


def _two_texture_scene(rng: np.random.Generator, flip: bool) -> np.ndarray:
    """A smooth orange region and a grainy green region of the same mean lightness."""
    h, w = 120, 160
    rgb = np.empty((h, w, 3), dtype=np.float32)
    rgb[:] = (0.85, 0.45, 0.15)
    grain = rng.normal(0.0, 0.18, (h, w // 2, 1))
    rgb[:, w // 2 :] = np.clip(np.array([0.25, 0.55, 0.2]) + grain, 0.0, 1.0)
    if flip:
        rgb = rgb[:, ::-1]
    return (rgb * 255).round().astype(np.uint8)


def test_matches_by_texture_not_position() -> None:
    rng = np.random.default_rng(0)
    target = _two_texture_scene(rng, flip=False)
    reference = _two_texture_scene(rng, flip=True)  # textures swapped sides
    lightness = rgb_to_lab(target.astype(np.float32) / 255.0)[..., 0]
    prior = np.zeros((*lightness.shape, 2), dtype=np.float32)
    ab = transfer_reference(lightness, prior, reference)
    smooth_ab, grain_ab = ab[10:-10, 10:60].mean(axis=(0, 1)), ab[10:-10, 100:150].mean(axis=(0, 1))
    assert smooth_ab[0] > 15 and smooth_ab[1] > 25  # orange: a* > 0, b* >> 0
    assert grain_ab[0] < -10  # green: a* < 0


def test_keeps_the_prior_where_nothing_matches_well() -> None:
    # Reference has only smooth gray ramps; the target is pure grain, a poor match everywhere.
    rng = np.random.default_rng(1)
    ramp = np.tile(np.linspace(0, 255, 200, dtype=np.float32), (150, 1))
    reference = np.repeat(ramp[..., None], 3, axis=-1).astype(np.uint8)
    lightness = np.clip(rng.normal(50, 25, (150, 200)), 0, 100).astype(np.float32)
    prior = np.empty((150, 200, 2), dtype=np.float32)
    prior[:] = (20.0, 30.0)
    ab = transfer_reference(lightness, prior, reference)
    # The matches are gray (ab = 0); low confidence keeps most of the prior's chroma.
    assert np.linalg.norm(ab, axis=-1).mean() > 0.5 * np.hypot(20.0, 30.0)


def test_deterministic_and_checked() -> None:
    rgb = _small(skimage.data.chelsea(), 96)
    lightness = rgb_to_lab(rgb.astype(np.float32) / 255.0)[..., 0]
    prior = np.zeros((*lightness.shape, 2), dtype=np.float32)
    np.testing.assert_array_equal(
        transfer_reference(lightness, prior, rgb, samples=500),
        transfer_reference(lightness, prior, rgb, samples=500),
    )
    with pytest.raises(ValueError, match="uint8"):
        transfer_reference(lightness, prior, rgb.astype(np.float32))
    with pytest.raises(ValueError, match="ab_prior"):
        transfer_reference(lightness, prior[:-1], rgb)


def test_jittered_samples_cover_the_image() -> None:
    rng = np.random.default_rng(2)
    chosen = jittered_samples((100, 200), 800, rng)
    ys, xs = np.divmod(chosen, 200)
    assert 600 <= len(chosen) <= 1000
    # Every 20x20 block gets samples: a jittered grid has no holes.
    blocks = np.zeros((5, 10), dtype=int)
    np.add.at(blocks, (ys // 20, xs // 20), 1)
    assert blocks.min() >= 2
    np.testing.assert_array_equal(jittered_samples((4, 5), 100, rng), np.arange(20))
