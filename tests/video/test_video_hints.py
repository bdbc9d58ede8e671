"""A hint given on one frame holds through its shot, forward and backward, and stops at a cut."""

from __future__ import annotations

import numpy as np
import pytest

from autocolor.evaluate.metrics import rgb_to_lab_u8
from autocolor.hints import HintError
from autocolor.video.colorize import VideoOptions, colorize_video
from autocolor.video.hints import VideoHints, read_video_hints

STEP = (2, 1)  # the camera's pan per frame: content moves by -STEP
GREEN = "#20c020"


def _ab_near(frames, index, x, y, radius=3):
    lab = rgb_to_lab_u8(frames[index])
    return lab[y - radius:y + radius + 1, x - radius:x + radius + 1, 1:].reshape(-1, 2).mean(0)


def _colour(tmp_path, colorizer, kit, source, hints, name):
    parsed = read_video_hints(hints) if hints is not None else None
    video_hints = VideoHints(parsed, kit.size) if parsed is not None else None
    target = colorize_video(colorizer, source, tmp_path / name, VideoOptions(codec="ffv1"),
                            hints=video_hints).path
    return kit.read_video(target)["frames"]


def test_a_hint_holds_through_its_shot_both_ways(tmp_path, colorizer, kit):
    source = kit.write_clip(tmp_path / "pan.mkv", kit.pan_frames(12, step=STEP), codec="ffv1")
    x, y, frame = 80, 50, 6
    hints = {"points": [{"x": x, "y": y, "color": GREEN, "radius": 3, "frame": frame}]}
    plain = _colour(tmp_path, colorizer, kit, source, None, "plain.mkv")
    hinted = _colour(tmp_path, colorizer, kit, source, hints, "hinted.mkv")
    green_ab = rgb_to_lab_u8(np.array([[[0x20, 0xc0, 0x20]]], np.uint8))[0, 0, 1:]
    for index in (0, 3, 6, 9, 11):
        # where the hinted content is in this frame
        cx, cy = x - STEP[0] * (index - frame), y - STEP[1] * (index - frame)
        with_hint = _ab_near(hinted, index, cx, cy)
        without = _ab_near(plain, index, cx, cy)
        # much nearer the hint's colour than the model's own guess is
        assert np.linalg.norm(with_hint - green_ab) < 0.5 * np.linalg.norm(without - green_ab), index


def test_a_hint_does_not_cross_a_cut(tmp_path, colorizer, kit):
    frames = kit.pan_frames(6, seed=0) + kit.pan_frames(6, seed=1, step=(-2, 1))
    source = kit.write_clip(tmp_path / "cut.mkv", frames, codec="ffv1")
    hints = {"points": [{"x": 80, "y": 50, "color": GREEN, "radius": 3, "frame": 2}]}
    plain = _colour(tmp_path, colorizer, kit, source, None, "plain.mkv")
    hinted = _colour(tmp_path, colorizer, kit, source, hints, "hinted.mkv")
    assert np.abs(hinted[2].astype(int) - plain[2]).max() > 20
    for index in range(6, 12):
        np.testing.assert_array_equal(hinted[index], plain[index])


def test_read_video_hints_takes_frames_and_defaults_to_zero():
    parsed = read_video_hints({"points": [{"x": 1, "y": 2, "color": "#ff0000"},
                                          {"x": 3, "y": 4, "color": "#00ff00", "frame": 7}]})
    assert [item.frame for item in parsed] == [0, 7]
    assert parsed[1].point.x == 3 and parsed[1].point.rgb == (0, 255, 0)


@pytest.mark.parametrize("bad", [{"frame": -1}, {"frame": 1.5}, {"frame": True},
                                 {"colour": "#fff"}])
def test_bad_frame_hints_are_refused(bad):
    with pytest.raises(HintError):
        read_video_hints({"points": [{"x": 1, "y": 2, "color": "#ff0000", **bad}]})


def test_hints_outside_the_frame_are_refused():
    parsed = read_video_hints({"points": [{"x": 500, "y": 2, "color": "#ff0000", "frame": 1}]})
    with pytest.raises(HintError):
        VideoHints(parsed, (160, 96))
