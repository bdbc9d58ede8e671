"""`autocolor video` keeps what the file holds: frames, size, rate, timestamps, rotation, sound,
subtitles; outputs appear only when complete."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from autocolor.video.colorize import VideoOptions, colorize_video
from autocolor.video.io import VideoError, VideoSource, container_metadata


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".avi"])
def test_round_trip_keeps_frames_size_rate_and_times(tmp_path, kit, colorizer, suffix):
    frames = kit.pan_frames(10)
    source = kit.write_clip(tmp_path / f"in{suffix}", frames, rate=24)
    target = tmp_path / f"out{suffix}"
    result = colorize_video(colorizer, source, target)
    assert result.path == target and result.frames == 10
    before, after = kit.read_video(source), kit.read_video(target)
    assert len(after["frames"]) == len(before["frames"]) == 10
    assert after["frames"][0].shape == (kit.size[1], kit.size[0], 3)
    assert after["rate"] == before["rate"] == 24
    np.testing.assert_allclose(after["times"], before["times"], atol=1e-3)
    # Colour was added, and the picture is the input's (lightness kept).
    chroma = np.abs(np.diff(after["frames"][5].astype(int), axis=-1)).mean()
    assert chroma > 2.0
    gray_in = before["frames"][5].astype(float).mean(-1)
    gray_out = after["frames"][5].astype(float).mean(-1)
    assert np.corrcoef(gray_in.ravel(), gray_out.ravel())[0, 1] > 0.95
    assert not list(tmp_path.glob(".*.part"))


def test_the_crf_sets_the_mpeg4_quantiser(tmp_path, kit, colorizer):
    """AVI's MPEG-4 Part 2 takes a fixed quantiser from --crf: a higher crf, a smaller file."""
    source = kit.write_clip(tmp_path / "in.avi", kit.pan_frames(6))
    sizes = [colorize_video(colorizer, source, tmp_path / f"out-{crf}.avi",
                            VideoOptions(crf=crf)).path.stat().st_size for crf in (12, 60)]
    assert sizes[1] < 0.8 * sizes[0], sizes


def test_audio_is_copied_packet_for_packet(tmp_path, kit, colorizer):
    source = kit.write_clip(tmp_path / "in.mp4", kit.pan_frames(12), audio=True)
    target = colorize_video(colorizer, source, tmp_path / "out.mp4").path
    assert ("audio", "aac") in kit.read_video(target)["streams"]
    original = kit.packets(source, "audio")
    assert len(original) > 5 and kit.packets(target, "audio") == original


def test_variable_frame_rate_timestamps_are_kept(tmp_path, kit, colorizer):
    pts = [0, 40, 80, 200, 240, 500, 520, 540, 900, 1000]  # milliseconds, irregular
    source = kit.write_clip(tmp_path / "vfr.mp4", kit.pan_frames(10), pts=pts,
                            time_base=Fraction(1, 1000))
    target = colorize_video(colorizer, source, tmp_path / "out.mp4").path
    times = kit.read_video(target)["times"]
    np.testing.assert_allclose(np.array(times) - times[0], np.array(pts) / 1000, atol=1e-3)


def test_rotation_metadata_is_kept(tmp_path, kit, colorizer):
    source = kit.write_clip(tmp_path / "phone.mp4", kit.pan_frames(6), rotation=90)
    assert kit.read_video(source)["rotation"] == 90
    target = colorize_video(colorizer, source, tmp_path / "out.mp4").path
    assert kit.read_video(target)["rotation"] == 90


def test_subtitles_are_copied(tmp_path, kit, colorizer):
    srt = tmp_path / "cues.srt"
    srt.write_text("1\n00:00:00,100 --> 00:00:00,300\nHello\n\n"
                   "2\n00:00:00,300 --> 00:00:00,400\nWorld\n", encoding="utf-8")
    source = kit.write_clip(tmp_path / "in.mkv", kit.pan_frames(10), subtitles=srt)
    target = colorize_video(colorizer, source, tmp_path / "out.mkv").path
    assert kit.read_video(target)["streams"] == kit.read_video(source)["streams"]
    assert kit.packets(target, "subtitle") == kit.packets(source, "subtitle") == [b"Hello",
                                                                                    b"World"]


def test_stream_mp4_cannot_hold_is_an_error_not_a_loss(tmp_path, kit, colorizer):
    srt = tmp_path / "cues.srt"
    srt.write_text("1\n00:00:00,100 --> 00:00:00,300\nHello\n", encoding="utf-8")
    source = kit.write_clip(tmp_path / "in.mkv", kit.pan_frames(4), subtitles=srt)
    with pytest.raises(VideoError, match=r"in.mkv: subtitle stream #1 \(\w+\) cannot be copied.*\.mkv"):
        colorize_video(colorizer, source, tmp_path / "out.mp4")
    assert not list(tmp_path.glob("out*")) and not list(tmp_path.glob(".*part"))


def test_odd_frame_size_is_kept(tmp_path, kit, colorizer):
    frames = [frame[:95, :159] for frame in kit.pan_frames(4)]
    source = kit.write_clip(tmp_path / "odd.mkv", [np.ascontiguousarray(f) for f in frames],
                            codec="ffv1")
    target = colorize_video(colorizer, source, tmp_path / "out.mp4").path
    assert kit.read_video(target)["frames"][0].shape == (95, 159, 3)


def test_per_frame_and_temporal_outputs_differ_only_after_the_first_frame(tmp_path, kit,
                                                                         colorizer):
    source = kit.write_clip(tmp_path / "in.mkv", kit.pan_frames(6), codec="ffv1")
    lossless = VideoOptions(codec="ffv1")
    steady = colorize_video(colorizer, source, tmp_path / "a.mkv", lossless).path
    alone = colorize_video(colorizer, source, tmp_path / "b.mkv",
                           VideoOptions(temporal=None, codec="ffv1")).path
    a, b = kit.read_video(steady)["frames"], kit.read_video(alone)["frames"]
    np.testing.assert_array_equal(a[0], b[0])
    assert any(np.abs(x.astype(int) - y).max() > 0 for x, y in zip(a[1:], b[1:], strict=True))


def test_container_metadata_keeps_descriptive_tags_and_says_who_made_it():
    from autocolor.provenance import SOFTWARE, Provenance

    source = {"title": "Wedding 1952", "encoder": "Lavf", "major_brand": "isom",
              "comment": "reel 3"}
    tags = container_metadata(source)
    assert tags == {"title": "Wedding 1952", "comment": "reel 3", "encoder": SOFTWARE}
    marked = container_metadata(source, Provenance("default", "ab" * 32))
    assert marked["title"] == "Wedding 1952"
    assert marked["comment"].startswith("Colourised by a trained model")
    assert marked["ai_system_version_used"] == "sha256:" + "ab" * 32


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_output_says_a_trained_model_coloured_it(tmp_path, kit, colorizer, suffix):
    from autocolor.provenance import DIGITAL_SOURCE_TYPE, file_sha256

    source = kit.write_clip(tmp_path / f"in{suffix}", kit.pan_frames(3))
    marked = colorize_video(colorizer, source, tmp_path / f"out{suffix}").path
    tags = {key.lower(): value for key, value in kit.read_video(marked)["metadata"].items()}
    assert tags["digital_source_type"] == DIGITAL_SOURCE_TYPE
    assert tags["ai_system_version_used"] == "sha256:" + file_sha256(colorizer.backend.path)
    assert tags["comment"].startswith("Colourised by a trained model")
    plain = colorize_video(colorizer, source, tmp_path / f"plain{suffix}",
                           VideoOptions(provenance=False)).path
    assert "digital_source_type" not in {k.lower() for k in kit.read_video(plain)["metadata"]}


def test_source_reports_frame_count_and_rate(tmp_path, kit):
    source = kit.write_clip(tmp_path / "in.mp4", kit.pan_frames(8), rate=30)
    with VideoSource(source) as video:
        assert (video.width, video.height) == kit.size
        assert video.rate == 30 and video.frame_count == 8
        assert sum(1 for _ in video.frames()) == 8


def test_a_killed_run_leaves_nothing(tmp_path, kit, colorizer):
    source = kit.write_clip(tmp_path / "in.mp4", kit.pan_frames(8))
    target = tmp_path / "out.mp4"

    def stop(done, total):
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        colorize_video(colorizer, source, target, on_frame=stop)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]


def test_output_path_of_unknown_container_is_refused(tmp_path, kit, colorizer):
    source = kit.write_clip(tmp_path / "in.mp4", kit.pan_frames(2))
    with pytest.raises(ValueError, match="unknown video container"):
        colorize_video(colorizer, source, Path(tmp_path / "out.gif"))


def test_4_2_0_frames_go_in_as_planes_with_the_colour_of_rgb_frames(tmp_path, kit, colorizer,
                                                                    monkeypatch):
    """A yuv420p stream gets the join's half-resolution chroma as it is (no RGB frame, no
    conversion), and decodes to what RGB frames converted by the encoder's scaler give."""
    import autocolor.infer.colorizer as colorizer_module
    from autocolor import image_output

    frames = kit.pan_frames(6, size=(320, 192))  # half size 160x96 > the render 128x64
    source = kit.write_clip(tmp_path / "in.mp4", frames)
    calls = []
    render = colorizer_module.render_ycbcr
    monkeypatch.setattr(colorizer_module, "render_ycbcr",
                        lambda *args, **kwargs: calls.append(kwargs) or render(*args, **kwargs))
    colorize_video(colorizer, source, tmp_path / "planes.mp4")
    assert len(calls) == 6
    monkeypatch.delitem(image_output.PLANE_FORMATS, "yuv420p")  # RGB frames, converted
    colorize_video(colorizer, source, tmp_path / "rgb.mp4")
    assert len(calls) == 6
    from autocolor.video.colorize import FrameColorizer

    paint = FrameColorizer(colorizer, VideoOptions())
    with VideoSource(source) as video:  # the frames in memory, as RGB
        truth = [paint(frame.gray).astype(int) for frame in video.frames()]
    planes = kit.read_video(tmp_path / "planes.mp4")["frames"]
    rgb = kit.read_video(tmp_path / "rgb.mp4")["frames"]
    assert len(planes) == len(rgb) == len(truth) == 6
    for ours, theirs, frame in zip(planes, rgb, truth, strict=True):
        # as close to the RGB frames as the encoder's own conversion of them gets
        assert np.abs(ours - frame).mean() < np.abs(theirs - frame).mean() + 0.5
        assert np.abs(np.diff(ours.astype(int), axis=-1)).mean() > 2.0  # coloured
