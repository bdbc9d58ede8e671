"""The Video tab's work without a browser: colour an upload, previews, limits, errors."""

from __future__ import annotations

import io

import numpy as np
import pytest

av = pytest.importorskip("av")

from autocolor.app import logic, video  # noqa: E402
from autocolor.video.io import VideoError  # noqa: E402


@pytest.fixture(scope="module")
def model(tiny_weights):
    return logic.load_model(str(tiny_weights))


def test_an_upload_is_coloured_with_previews_and_sound(model, clip_bytes):
    seen = []
    clip = video.colour_clip(model, clip_bytes(9, audio=True), "home movie.mp4", 256, 1.0,
                             on_progress=lambda done, total: seen.append((done, total)))
    assert clip.name == "home_movie-color.mp4" and clip.mime == "video/mp4"
    assert clip.frames == 9 and clip.cuts == [0]
    assert seen[0] == (0, 9) and seen[-1] == (9, 9)
    assert [index for index, _, _ in clip.previews] == [0, 4, 8]
    for _, gray, colour in clip.previews:
        assert gray.mode == "L" and colour.mode == "RGB" and gray.size == colour.size == (96, 64)
        rgb = np.asarray(colour).astype(int)
        assert (rgb[..., 0] - rgb[..., 2]).mean() > 10  # the tiny model's orange
    with av.open(io.BytesIO(clip.data)) as container:
        assert [s.type for s in container.streams] == ["video", "audio"]
        assert sum(1 for _ in container.decode(video=0)) == 9


def test_saturation_zero_gives_gray(model, clip_bytes):
    clip = video.colour_clip(model, clip_bytes(3), "a.mp4", 256, 0.0)
    rgb = np.asarray(clip.previews[0][2]).astype(int)
    assert np.abs(rgb[..., 0] - rgb[..., 2]).mean() < 3


def test_errors_name_the_upload(model, clip_bytes):
    with pytest.raises(VideoError, match=r"^notes\.mp4: not a video"):
        video.colour_clip(model, b"hello, not a video", "notes.mp4", 256, 1.0)
    with pytest.raises(VideoError, match=r"^long\.mp4: 8 frames; the page colours clips of up "
                                         r"to 5"):
        video.colour_clip(model, clip_bytes(8), "long.mp4", 256, 1.0, max_frames=5)
    with pytest.raises(VideoError, match=r"^big\.mp4: frames too large"):
        video.colour_clip(model, clip_bytes(2), "big.mp4", 256, 1.0, max_pixels=1000)


def test_result_name():
    assert video.result_name("reel 1.MOV") == "reel_1-color.mp4"
    assert video.result_name("", ".mkv") == "video-color.mkv"
