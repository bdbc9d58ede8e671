"""Fixtures for the video tests: tiny clips written with PyAV, and a fast colorizer."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

av = pytest.importorskip("av")
pytest.importorskip("cv2")

# Frames of the test clips: tiny, so the whole module stays well under a minute on 2 cores.
WIDTH, HEIGHT = 160, 96


def photo(seed: int = 0) -> np.ndarray:
    """A colour photo from scikit-image's samples (offline), different per seed."""
    from skimage import data

    return [data.chelsea, data.coffee, data.astronaut, data.rocket][seed % 4]()


def pan_frames(count: int, seed: int = 0, step: tuple[int, int] = (2, 1),
               size: tuple[int, int] = (WIDTH, HEIGHT)) -> list[np.ndarray]:
    """``count`` (H, W, 3) uint8 frames of a camera panning across a photo, ``step`` px each."""
    from PIL import Image

    width, height = size
    source = Image.fromarray(photo(seed))
    scale = max((width + abs(step[0]) * count + 8) / source.width,
                (height + abs(step[1]) * count + 8) / source.height)
    big = np.asarray(source.resize((round(source.width * scale) + 1,
                                    round(source.height * scale) + 1)))
    x0 = 4 if step[0] >= 0 else big.shape[1] - width - 4
    y0 = 4 if step[1] >= 0 else big.shape[0] - height - 4
    return [np.ascontiguousarray(big[y0 + step[1] * t:y0 + step[1] * t + height,
                                     x0 + step[0] * t:x0 + step[0] * t + width])
            for t in range(count)]


def write_clip(path: Path, frames: list[np.ndarray], *, rate: int = 25,
               pts: list[int] | None = None, time_base: Fraction | None = None,
               codec: str | None = None, audio: bool = False, rotation: int | None = None,
               subtitles: Path | None = None, container_format: str | None = None) -> Path:
    """Write (H, W, 3) uint8 frames as a video; optionally a 440 Hz tone, a rotation and the
    cues of an .srt file. Returns ``path``."""
    suffix = path.suffix.lower()
    codec = codec or {".avi": "mpeg4", ".webm": "libvpx-vp9"}.get(suffix, "libx264")
    out = av.open(str(path), "w", format=container_format)
    stream = out.add_stream(codec, rate=rate)
    stream.height, stream.width = frames[0].shape[:2]
    stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
    if codec == "libx264":
        stream.options = {"preset": "ultrafast", "crf": "16"}
    if time_base is not None:
        stream.codec_context.time_base = time_base
        stream.time_base = time_base
    if rotation is not None:
        stream.set_display_rotation(rotation)
    tone = None
    if audio:
        tone = out.add_stream("aac" if suffix != ".avi" else "mp3", rate=44100)
    srt_input = srt_stream = None
    if subtitles is not None:
        srt_input = av.open(str(subtitles))
        srt_stream = out.add_stream_from_template(srt_input.streams.subtitles[0])
    for index, rgb in enumerate(frames):
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        frame.pts = pts[index] if pts is not None else index
        if time_base is not None:
            frame.time_base = time_base
        out.mux(stream.encode(frame))
    out.mux(stream.encode())
    if tone is not None:
        seconds = len(frames) / rate
        samples = int(44100 * seconds)
        wave = (0.3 * np.sin(2 * np.pi * 440 * np.arange(samples) / 44100)).astype(np.float32)
        chunk = 1152
        for start in range(0, samples - chunk + 1, chunk):
            piece = av.AudioFrame.from_ndarray(wave[None, start:start + chunk], format="fltp",
                                               layout="mono")
            piece.sample_rate = 44100
            piece.pts = start
            out.mux(tone.encode(piece))
        out.mux(tone.encode())
    if srt_input is not None:
        for packet in srt_input.demux(srt_input.streams.subtitles[0]):
            if packet.dts is None:
                continue
            packet.stream = srt_stream
            out.mux(packet)
        srt_input.close()
    out.close()
    return path


def read_video(path: Path) -> dict:
    """What a test checks of a video file: frames (RGB), timestamps in seconds, streams."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        frames, times, rotations = [], [], []
        for frame in container.decode(video):
            frames.append(frame.to_ndarray(format="rgb24"))
            times.append(float(frame.pts * frame.time_base))
            rotations.append(frame.rotation)
        streams = [(s.type, s.codec_context.name) for s in container.streams]
        return {"frames": frames, "times": times, "rotation": rotations[0] if rotations else 0,
                "streams": streams, "rate": video.average_rate,
                "metadata": dict(container.metadata)}


def packets(path: Path, kind: str) -> list[bytes]:
    """The payloads of the first ``kind`` ("audio", "subtitle") stream's packets."""
    with av.open(str(path)) as container:
        stream = [s for s in container.streams if s.type == kind][0]
        return [bytes(p) for p in container.demux(stream) if p.dts is not None]


@pytest.fixture(scope="session")
def colorizer():
    """The bundled default model at a small render size (fast enough for many frames)."""
    from autocolor.infer.colorizer import Colorizer

    return Colorizer.from_pretrained("default", render_size=128, batch_size=1)


@pytest.fixture
def pan_clip(tmp_path: Path) -> Path:
    return write_clip(tmp_path / "pan.mp4", pan_frames(12), audio=True)


class Kit:
    """The helpers above, handed to tests as the ``kit`` fixture."""

    photo = staticmethod(photo)
    pan_frames = staticmethod(pan_frames)
    write_clip = staticmethod(write_clip)
    read_video = staticmethod(read_video)
    packets = staticmethod(packets)
    size = (WIDTH, HEIGHT)


@pytest.fixture(scope="session")
def kit() -> type[Kit]:
    return Kit
