"""Colours that hold still: flicker against per-frame colouring, cuts, keyframes."""

from __future__ import annotations

import numpy as np
import pytest

from autocolor.video.colorize import FrameColorizer, VideoOptions, frame_lightness
from autocolor.video.evaluate import (
    Clip,
    colour_clip,
    cut_clip,
    pan_clip,
    score_clip,
    truth_gray,
    warping_error,
    warps,
    zoom_clip,
)
from autocolor.video.temporal import TemporalConfig, TemporalFilter, histogram_distance

SIZE = (192, 112)


@pytest.fixture(scope="module")
def photos():
    from skimage import data

    return [data.chelsea(), data.coffee(), data.astronaut()]


def _scores(colorizer, clip, **config):
    """Per-frame colouring against the temporal filter (on every frame unless ``config`` says
    otherwise)."""
    config = {"keyframe_interval": 1, **config}
    clip_warps = warps(clip)
    results = {}
    for name, options in {"per-frame": VideoOptions(temporal=None),
                          "temporal": VideoOptions(temporal=TemporalConfig(**config))}.items():
        outputs, seconds = colour_clip(colorizer, clip, options)
        results[name] = score_clip(clip, outputs, name, seconds, clip_warps)
    return results


def test_flicker_on_a_pan_is_a_fraction_of_per_frame_colouring(colorizer, photos):
    clip = pan_clip(photos[0], SIZE, 12, (3.0, 1.0))
    scores = _scores(colorizer, clip)
    ratio = scores["temporal"].warping_error / scores["per-frame"].warping_error
    assert scores["per-frame"].warping_error > 0.2  # the model does flicker on its own
    assert ratio < 0.5
    # ... without washing colours out.
    assert scores["temporal"].psnr > scores["per-frame"].psnr - 0.5


def test_the_default_keyframe_mode_flickers_less_at_the_same_accuracy(colorizer, photos):
    assert TemporalConfig().keyframe_interval == 3  # what `autocolor video` does by default
    clip = pan_clip(photos[1], SIZE, 12, (-2.0, 1.5))
    default = _scores(colorizer, clip, keyframe_interval=TemporalConfig().keyframe_interval)
    every = _scores(colorizer, clip)
    assert default["temporal"].warping_error < 0.5 * default["per-frame"].warping_error
    assert default["temporal"].warping_error < every["temporal"].warping_error * 1.1
    assert default["temporal"].psnr > default["per-frame"].psnr - 0.5


def test_flicker_on_a_zoom_is_reduced_too(colorizer, photos):
    scores = _scores(colorizer, zoom_clip(photos[1], SIZE, 10, 1.015))
    assert scores["temporal"].warping_error < 0.6 * scores["per-frame"].warping_error


def test_more_history_means_less_flicker(colorizer, photos):
    clip = pan_clip(photos[2], SIZE, 10, (-2.0, 1.0))
    weak = _scores(colorizer, clip, history=0.3)["temporal"].warping_error
    strong = _scores(colorizer, clip, history=0.9)["temporal"].warping_error
    assert strong < weak


def test_cut_is_detected_and_the_new_scene_is_coloured_afresh(colorizer, photos):
    clip = cut_clip(photos[0], photos[1], SIZE, 12)
    frames = FrameColorizer(colorizer, VideoOptions())
    together = [frames(truth_gray(frame)) for frame in clip.frames]
    assert frames.cuts == [0, 6]
    alone_frames = FrameColorizer(colorizer, VideoOptions())
    alone = [alone_frames(truth_gray(frame)) for frame in clip.frames[6:]]
    for a, b in zip(together[6:], alone, strict=True):
        np.testing.assert_array_equal(a, b)


def test_no_cut_is_found_in_a_pan_or_a_zoom(colorizer, photos):
    for clip in (pan_clip(photos[0], SIZE, 10), zoom_clip(photos[2], SIZE, 10)):
        frames = FrameColorizer(colorizer, VideoOptions())
        for frame in clip.frames:
            frames(truth_gray(frame))
        assert frames.cuts == [0], clip.name


def test_keyframe_mode_runs_the_network_less_and_still_holds_colours(colorizer, photos):
    clip = pan_clip(photos[0], SIZE, 12, (2.0, 1.0))
    frames = FrameColorizer(colorizer, VideoOptions(temporal=TemporalConfig(keyframe_interval=4)))
    outputs = [frames(truth_gray(frame)) for frame in clip.frames]
    assert frames.predicted <= 12 // 4 + 2
    per_frame, _ = colour_clip(colorizer, clip, VideoOptions(temporal=None))
    clip_warps = warps(clip)
    assert (score_clip(clip, outputs, "k", 0, clip_warps).warping_error
            < score_clip(clip, per_frame, "p", 0, clip_warps).warping_error)


def test_occluded_pixels_take_the_new_prediction():
    """Where the previous frame's lightness does not match (something appeared), nothing of the
    past is carried over."""
    flat = np.full((64, 96), 50.0, dtype=np.float32)
    changed = flat.copy()
    changed[20:40, 30:60] = 95.0  # a bright object appears
    temporal = TemporalFilter(TemporalConfig(history=0.9, cut_histogram=1.0, cut_confidence=0.0))
    first = temporal.begin(flat)
    temporal.blend(first, np.full((2, 64, 96), 0.2, dtype=np.float32))
    step = temporal.begin(changed)
    out = temporal.blend(step, np.full((2, 64, 96), -0.2, dtype=np.float32))
    assert not step.cut
    np.testing.assert_allclose(out[:, 25:35, 40:50], -0.2, atol=1e-3)  # new: prediction
    assert np.all(out[:, 2:10, 2:10] > 0.1)  # unchanged background: mostly the past


def test_warping_error_of_an_exact_pan_of_the_truth_is_zero(photos):
    clip = pan_clip(photos[0], SIZE, 5, (2.0, 1.0))
    ab = [frame[..., :2].astype(np.float32) for frame in clip.frames]
    assert warping_error(ab, warps(clip)) == pytest.approx(0.0, abs=1e-4)
    shuffled = Clip("x", clip.frames[::-1], clip.motion)
    ab = [frame[..., :2].astype(np.float32) for frame in shuffled.frames]
    assert warping_error(ab, warps(clip)) > 1.0


def test_truth_gray_gives_the_photo_lightness_back(photos):
    from autocolor.evaluate.metrics import rgb_to_lab_u8
    from autocolor.video.colorize import frame_lightness

    rgb = photos[1][:40, :60]
    lightness = frame_lightness(truth_gray(rgb))
    np.testing.assert_allclose(lightness, rgb_to_lab_u8(rgb)[..., 0], atol=0.6)


def test_histogram_distance_bounds():
    dark = np.zeros((10, 10), np.uint8)
    bright = np.full((10, 10), 255, np.uint8)
    assert histogram_distance(dark, dark) == 0.0
    assert histogram_distance(dark, bright) == pytest.approx(1.0)


@pytest.mark.parametrize("bad", [{"history": 1.0}, {"history": -0.1}, {"keyframe_interval": 0},
                                 {"flow_tolerance": 0.0}])
def test_config_is_checked(bad):
    with pytest.raises(ValueError):
        TemporalConfig(**bad)


def test_a_fade_is_a_still_clip_whose_colours_change_without_moving(photos):
    from autocolor.evaluate.metrics import rgb_to_lab_u8
    from autocolor.video.evaluate import fade_clip

    clip = fade_clip(photos[0], SIZE, 5)
    assert [frame.shape for frame in clip.frames] == [(SIZE[1], SIZE[0], 3)] * 5
    means = [float(frame.mean()) for frame in clip.frames]
    assert means == sorted(means) and means[0] < 0.6 * means[-1]  # the light comes up
    assert clip.motion[0] is None and all(
        np.array_equal(m, [[1, 0, 0], [0, 1, 0]]) for m in clip.motion[1:])
    # the truth's own chroma changes from frame to frame, with nothing moving
    assert warping_error([rgb_to_lab_u8(f)[..., 1:] for f in clip.frames], warps(clip)) > 0.5


def test_keyframe_mode_runs_the_network_when_the_light_changes(colorizer, photos):
    from autocolor.video.evaluate import fade_clip

    def network_runs(clip, **config):
        frames = FrameColorizer(colorizer, VideoOptions(temporal=TemporalConfig(
            keyframe_interval=6, **config)))
        for frame in clip.frames:
            frames(truth_gray(frame))
        return frames.predicted

    fade = fade_clip(photos[1], SIZE, 12)
    assert network_runs(pan_clip(photos[1], SIZE, 12, (2.0, 1.0))) <= 12 // 6 + 1
    assert network_runs(fade) > 12 // 6 + 2
    assert network_runs(fade, keyframe_lightness=100.0) <= 12 // 6 + 1  # only the drift did it


def test_a_restored_frame_is_coloured_from_its_levels_before_the_stretch() -> None:
    """--restore on films: the network sees the frame repaired but before its levels stretch
    (as for photos); the output keeps the stretched lightness."""
    from autocolor.infer.colorizer import Colorizer
    from autocolor.restore.film import FilmRestorer

    class Recording:
        name, device, metadata = "recording", "cpu", {}

        def __init__(self) -> None:
            self.inputs: list[np.ndarray] = []

        def predict(self, l_norm: np.ndarray) -> np.ndarray:
            self.inputs.append(l_norm.copy())
            return np.zeros((l_norm.shape[0], 2, *l_norm.shape[2:]), np.float32)

    backend = Recording()
    colorizer = Colorizer(backend, render_size=64)
    rng = np.random.default_rng(5)
    gray = np.clip(90 + 0.3 * np.arange(96)[None, :] + rng.normal(0, 3, (64, 96)), 0, 255)
    gray = gray.astype(np.uint8)
    frames = FrameColorizer(colorizer, VideoOptions(temporal=None, restore="fading"))
    rgb = frames(gray)
    lightness = frame_lightness(gray)
    stretched, coloured = FilmRestorer("fading").restore(lightness)
    assert np.array_equal(coloured, lightness) and not np.array_equal(stretched, lightness)
    assert np.array_equal(backend.inputs[-1][0], colorizer.render_input(lightness))
    assert abs(float(np.asarray(rgb).mean()) - float(gray.mean())) > 2.0  # levels stretched
