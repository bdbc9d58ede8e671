"""The web page's Video tab, without Streamlit: colour an uploaded clip, show a few frames.

The upload is written to a private temporary folder (FFmpeg reads files), coloured with
:func:`autocolor.video.colorize.colorize_video` (the command's path: temporal consistency,
sound and subtitles copied), and read back into memory; the folder is removed at once.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from autocolor.image_output import result_name as output_result_name

# File types the Video tab offers (FFmpeg reads more).
VIDEO_TYPES = ("mp4", "m4v", "mov", "mkv", "avi", "webm", "mpg", "mpeg")
# A clip is coloured while the page waits: at most a minute at 25 frames/s, at most Full HD.
APP_MAX_VIDEO_FRAMES = 1500
APP_MAX_VIDEO_PIXELS = 1920 * 1080
# Frames shown before and after (the first, the middle, the last), at most this long side.
PREVIEW_FRAMES = 3
PREVIEW_SIDE = 480


@dataclass
class ColouredClip:
    """A coloured upload, held in the session."""

    name: str  # the download's file name
    data: bytes  # the coloured file (MP4, or MKV when a stream MP4 cannot hold must be kept)
    mime: str
    frames: int
    cuts: list[int]  # frames that start a shot
    previews: list[tuple[int, Image.Image, Image.Image]]  # (frame, black and white, coloured)


def result_name(upload_name: str, suffix: str = ".mp4") -> str:
    """``reel 1.MOV`` -> ``reel_1-color.mp4`` (:func:`autocolor.image_output.result_name`)."""
    return output_result_name(upload_name, suffix, "video")


def colour_clip(model, data: bytes, name: str, render_size: int, saturation: float,
                on_progress: Callable[[int, int | None], None] | None = None,
                max_frames: int = APP_MAX_VIDEO_FRAMES,
                max_pixels: int = APP_MAX_VIDEO_PIXELS) -> ColouredClip:
    """Colour an uploaded clip with ``model`` (a :class:`~autocolor.app.logic.ModelHandle`).

    Raises:
        VideoError: one line naming the upload: not a video, no video stream, corrupt, frames
            too large or too many.
    """
    from autocolor.video.colorize import VideoOptions, colorize_video
    from autocolor.video.io import VideoError, VideoSource, uncopyable_streams

    suffix = Path(name).suffix.lower() if Path(name).suffix.lower()[1:] in VIDEO_TYPES else ".mp4"
    with tempfile.TemporaryDirectory(prefix="autocolor-video-") as temp:
        source = Path(temp) / f"upload{suffix}"
        source.write_bytes(data)
        try:
            with VideoSource(source, max_pixels) as video:
                if video.frame_count is not None and video.frame_count > max_frames:
                    raise VideoError(source, f"{video.frame_count} frames; the page colours "
                                             f"clips of up to {max_frames} (use autocolor video)")
                out_suffix = ".mkv" if uncopyable_streams(video, "mp4") else ".mp4"
            target = Path(temp) / f"coloured{out_suffix}"

            def on_frame(done: int, total: int | None) -> None:
                if done > max_frames:
                    raise VideoError(source, f"more than {max_frames} frames; the page colours "
                                             "clips up to that (use autocolor video)")
                if on_progress is not None:
                    on_progress(done, total)

            options = VideoOptions(render_size=render_size, saturation=saturation)
            with model.lock:
                result = colorize_video(model.colorizer, source, target, options,
                                        on_frame=on_frame)
            previews = preview_frames(source, target, result.frames)
        except VideoError as error:  # name the upload, not the temporary file
            raise VideoError(name, error.reason, error.frame) from error
        mime = "video/mp4" if out_suffix == ".mp4" else "video/x-matroska"
        return ColouredClip(result_name(name, out_suffix), target.read_bytes(), mime,
                            result.frames, result.cuts, previews)


def preview_frames(source: Path, coloured: Path, frames: int,
                   count: int = PREVIEW_FRAMES) -> list[tuple[int, Image.Image, Image.Image]]:
    """(index, gray, colour) for ``count`` frames spread over the clip, reduced for the page."""
    import av

    wanted = sorted({round(i * (frames - 1) / max(1, count - 1)) for i in range(count)})

    def pick(path: Path, mode: str) -> dict[int, Image.Image]:
        found = {}
        with av.open(str(path)) as container:
            for index, frame in enumerate(container.decode(video=0)):
                if index in wanted:
                    image = frame.to_image().convert(mode)
                    image.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
                    found[index] = image
                if index >= wanted[-1]:
                    break
        return found

    gray, colour = pick(source, "L"), pick(coloured, "RGB")
    return [(index, gray[index], colour[index]) for index in wanted
            if index in gray and index in colour]

