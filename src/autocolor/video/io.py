"""Reading and writing video files with PyAV, faithful to the source.

PyAV wraps the FFmpeg libraries its wheel ships (libx264 included), so nothing here needs a
system ``ffmpeg``. The idioms are PyAV's cookbook's: one ``demux`` loop over the video stream
and the streams that are copied; video packets go to the decoder, audio and subtitle packets
get the output stream as their ``stream`` and are muxed as they are (no re-encoding).

What the output keeps from the input:

- every frame, with its presentation timestamp in the input's time base (a variable frame rate
  stays variable; the frame count and the size stay the same);
- the display matrix (rotation and flips), taken from the first frame's side data and set on
  the output stream, so a phone video still plays upright;
- audio and subtitle streams, copied packet by packet, with their language and title;
- the container's title, date and other tags (:func:`container_metadata`, the one place where
  output container metadata is decided).

Errors are :class:`VideoError`, one line naming the file (and the frame where it matters).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import cast

import numpy as np

from autocolor.errors import first_line
from autocolor.image_output import PLANE_FORMATS, Rendered
from autocolor.provenance import SOFTWARE, Provenance

# Output containers by file suffix (FFmpeg muxer names).
CONTAINER_FORMATS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska",
                     ".webm": "webm", ".avi": "avi"}
# Inputs a folder is searched for (anything FFmpeg reads can also be named directly).
INPUT_SUFFIXES = {".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm", ".mpg", ".mpeg", ".ts",
                  ".m2ts", ".mts", ".wmv", ".flv", ".3gp", ".ogv", ".dv", ".vob", ".mxf"}
DEFAULT_CODEC = "libx264"
# Containers whose usual video codec is not H.264: AVI stores no presentation times, and
# FFmpeg reads H.264 from AVI a frame late, so AVI gets MPEG-4 Part 2 (what AVI players expect);
# WebM holds VP8/VP9/AV1 only.
CONTAINER_CODECS = {"avi": "mpeg4", "webm": "libvpx-vp9"}
# x264's constant-quality scale: 18 is close to visually lossless; FFmpeg's default is 23.
DEFAULT_CRF = 18
# x264's speed/size trade-off. "fast" encodes 720p about twice as fast as "medium" for files a
# few percent larger (BENCHMARKS.md); the network and the join are the budget that matters.
DEFAULT_PRESET = "fast"
# Container tags carried over from the input (lower-case keys, as FFmpeg reports them).
KEPT_CONTAINER_TAGS = ("title", "date", "creation_time", "comment", "description", "artist",
                       "album", "copyright", "location", "com.apple.quicktime.location.iso6709")
STREAM_TAGS = ("language", "title", "handler_name")
ENCODER_TAG = SOFTWARE


class VideoError(Exception):
    """A video that cannot be read or written; str() is one line naming the file."""

    def __init__(self, path: str | os.PathLike | None, reason: str,
                 frame: int | None = None) -> None:
        self.path = str(path) if path is not None else "<video>"
        self.reason = reason
        self.frame = frame
        where = f" at frame {frame}" if frame is not None else ""
        super().__init__(f"{self.path}{where}: {reason}")


def _first_line(error: BaseException) -> str:
    """FFmpeg's own words for an error (PyAV's ``strerror``, without the errno and the path
    that ``str`` adds), else the first line of its text."""
    reason = getattr(error, "strerror", None)
    if isinstance(reason, str) and reason:
        return reason
    return first_line(error)


@dataclass(frozen=True)
class VideoFrame:
    """One decoded frame, as the colorizer needs it."""

    index: int  # 0-based position in decoding order of presentation
    gray: np.ndarray  # (H, W) uint8 luma, full range (0 = black, 255 = white)
    pts: int | None  # presentation timestamp in ``time_base`` units
    time_base: Fraction | None


class VideoSource:
    """An input video: its first video stream decoded to gray frames, other streams passed on.

    Args:
        path: any file FFmpeg reads.
        max_pixels: refuse frames larger than this (width x height).

    Raises:
        VideoError: not a video, no video stream, or frames too large.
    """

    def __init__(self, path: str | os.PathLike, max_pixels: int | None = None) -> None:
        import av

        self.path = Path(path)
        try:
            if self.path.stat().st_size == 0:
                raise VideoError(path, "empty file (0 bytes)")
        except OSError as error:
            raise VideoError(path, f"cannot read: {error.strerror or error}") from error
        try:
            self.container = av.open(str(path), metadata_errors="replace")
        except (av.FFmpegError, UnicodeDecodeError, ValueError) as error:
            raise VideoError(path, f"not a video, or a format FFmpeg cannot read "
                                   f"({_first_line(error)})") from error
        try:
            videos = [stream for stream in self.container.streams.video
                      if not stream.disposition & stream.disposition.attached_pic]
            if not videos:
                raise VideoError(path, "no video stream (an audio file or a still image?)")
            self.video = videos[0]
            width, height = self.video.codec_context.width, self.video.codec_context.height
            if not width or not height:
                raise VideoError(path, "the video stream has no frame size (corrupt header?)")
            if max_pixels is not None and width * height > max_pixels:
                raise VideoError(path, f"frames too large ({width}x{height} > limit "
                                       f"{max_pixels:,} pixels; see --max-pixels)")
            self.width, self.height = width, height
            # The copied streams: sound and subtitles (data streams such as timecodes and
            # attachments such as fonts are not copied).
            self.copied = [stream for stream in self.container.streams
                           if stream.type in ("audio", "subtitle")]
            # Frame threads inside FFmpeg's decoder (its own threads, not Python's).
            self.video.thread_type = "AUTO"
        except BaseException:
            self.container.close()
            raise

    # -- what is known before decoding ---------------------------------------------------------

    @property
    def time_base(self) -> Fraction:
        return self.video.time_base or Fraction(1, 90000)

    @property
    def rate(self) -> Fraction | None:
        """The average frame rate (frames per second) when the container knows it."""
        return self.video.average_rate or self.video.guessed_rate or self.video.base_rate

    @property
    def frame_count(self) -> int | None:
        """The container's frame count, else an estimate from the duration; None if unknown."""
        if self.video.frames:
            return int(self.video.frames)
        rate = self.rate
        if self.video.duration and rate:
            return max(1, round(float(self.video.duration * self.time_base * rate)))
        if self.container.duration and rate:
            return max(1, round(self.container.duration / 1_000_000 * float(rate)))
        return None

    # -- decoding --------------------------------------------------------------------------------

    def frames(self, on_packet: Callable | None = None) -> Iterator[VideoFrame]:
        """Decode the video stream in presentation order; audio and subtitle packets go to
        ``on_packet(packet)`` (in file order) as they are read.

        Raises:
            VideoError: a decode or read error, naming the frame it happened at.
        """
        import av
        import av.logging

        index = 0
        last_pts: int | None = None
        streams = [self.video, *self.copied] if on_packet is not None else [self.video]
        # FFmpeg reports some damage only in its log: a demuxer that skips a broken stretch of
        # the file (frames silently lost), a decoder that conceals a broken frame. Errors
        # logged by this file's demuxer or video decoder count as decode errors.
        level = av.logging.get_level()
        if level is None or level < av.logging.ERROR:
            av.logging.set_level(av.logging.ERROR)
        ours = {self.container.format.name, self.video.codec_context.name,
                self.video.codec_context.codec.name}
        try:
            with av.logging.Capture(local=False) as logs:
                for packet in self.container.demux(streams):
                    if packet.stream.index != self.video.index:
                        if packet.dts is not None and on_packet is not None:  # not a flush
                            on_packet(packet)
                        continue
                    for frame in packet.decode():
                        assert isinstance(frame, av.VideoFrame)  # a packet of the video stream
                        pts = frame.pts
                        if pts is None and last_pts is not None:  # no timestamp: a tick later
                            pts = last_pts + 1
                        last_pts = pts if pts is not None else last_pts
                        gray = frame.to_ndarray(format="gray")
                        if gray.shape != (self.height, self.width):
                            raise VideoError(self.path, f"the frame size changed from "
                                                        f"{self.width}x{self.height} to "
                                                        f"{gray.shape[1]}x{gray.shape[0]}", index)
                        if index == 0:
                            self.display_matrix = display_matrix(frame)
                        _raise_logged_error(logs, ours, self.path, index)
                        yield VideoFrame(index, gray, pts, frame.time_base or self.time_base)
                        index += 1
                    _raise_logged_error(logs, ours, self.path, index)
        except (av.FFmpegError, EOFError) as error:
            raise VideoError(self.path, f"corrupt or truncated video ({_first_line(error)})",
                             index) from error
        if index == 0:
            raise VideoError(self.path, "the video stream has no decodable frame")

    display_matrix: bytes | None = None

    def close(self) -> None:
        self.container.close()

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _raise_logged_error(logs: list, ours: set, path: Path, index: int) -> None:
    import av.logging

    for level, name, message in logs:
        if level <= av.logging.ERROR and name in ours:
            raise VideoError(path, f"corrupt video ({name}: {message.strip()})", index)
    logs.clear()


def display_matrix(frame) -> bytes | None:
    """The 3x3 display matrix (36 bytes, FFmpeg's layout) in a frame's side data, if any."""
    from av.sidedata.sidedata import Type

    # Looked up by type: iterating the container yields the entries up to PyAV 18.1.0 and
    # their types from 18.1.1 on; get() is the same in both.
    side = frame.side_data.get(Type.DISPLAYMATRIX)
    if side is None:
        return None
    data = bytes(side)
    identity = np.array([65536, 0, 0, 0, 65536, 0, 0, 0, 1 << 30], dtype="<i4").tobytes()
    return None if data == identity else data


def container_metadata(source_tags: dict[str, str], provenance: Provenance | None = None,
                       restored: tuple[str, ...] = ()) -> dict[str, str]:
    """The output container's tags: the one place they are decided.

    The source's descriptive tags (title, date, location...) are kept. ``provenance`` (see
    :mod:`autocolor.provenance`) adds the statement that a trained model coloured the film, the
    IPTC digital source type, the software and the model with the SHA-256 of its weights, as
    flat tags (video containers hold no XMP); its statement replaces the source's comment.
    ``restored``: the restoration steps the film went through before it was coloured
    (``--restore``), as the ``restoration`` tag; none: no such tag.
    """
    tags = {key: value for key, value in source_tags.items() if key.lower() in KEPT_CONTAINER_TAGS}
    tags["encoder"] = ENCODER_TAG
    if provenance is not None:
        tags.update(provenance.tags())
    if restored:
        tags["restoration"] = "restored before colouring: " + ", ".join(restored)
    return tags


def output_format(target: Path) -> str:
    try:
        return CONTAINER_FORMATS[target.suffix.lower()]
    except KeyError:
        raise ValueError(f"{target}: unknown video container {target.suffix!r}; use one of "
                         + ", ".join(sorted(CONTAINER_FORMATS))) from None


def uncopyable_streams(source: VideoSource, container_format: str) -> list[str]:
    """Descriptions of the source's audio/subtitle streams that ``container_format`` cannot hold
    without re-encoding (empty when all can be copied)."""
    import av

    supported = av.open(os.devnull, "w", format=container_format).supported_codecs
    return [f"{stream.type} stream #{stream.index} ({stream.codec_context.name})"
            for stream in source.copied if stream.codec_context.name not in supported]


class VideoSink:
    """The output file: an encoded video stream plus the source's copied streams.

    Written at ``path`` (a temporary name; the caller renames); ``container_format`` as FFmpeg
    names it. Frames must come in presentation order with increasing timestamps.
    """

    def __init__(self, path: Path, source: VideoSource, container_format: str,
                 codec: str | None = None, crf: int = DEFAULT_CRF,
                 preset: str = DEFAULT_PRESET, provenance: Provenance | None = None,
                 restored: tuple[str, ...] = ()) -> None:
        import av

        codec = codec or CONTAINER_CODECS.get(container_format, DEFAULT_CODEC)
        self.source = source
        self.path = path
        # MP4 and MOV write only the tags they know unless asked to keep the others (the
        # provenance tags among them).
        tags = {"movflags": "use_metadata_tags"} if container_format in ("mp4", "mov") else {}
        try:
            self.container = av.open(str(path), "w", format=container_format, options=tags)
        except av.FFmpegError as error:
            raise VideoError(path, f"cannot write ({_first_line(error)})") from error
        try:
            rate = source.rate or Fraction(25)
            try:
                stream = cast("av.VideoStream", self.container.add_stream(codec, rate=rate))
            except (ValueError, av.FFmpegError) as error:
                raise ValueError(f"unknown video encoder {codec!r} (PyAV lists them: "
                                 f"python -m av --codecs)") from error
            stream.width, stream.height = source.width, source.height
            # 4:2:0 needs even sides; an odd-sized source keeps its size in 4:4:4.
            even = source.width % 2 == 0 and source.height % 2 == 0
            self.pix_fmt = "yuv420p" if even or codec not in ("libx264",) else "yuv444p"
            stream.pix_fmt = self.pix_fmt
            # The encoder counts in the input's time base, so timestamps pass unchanged (with
            # its default 1/rate, a variable frame rate would be rounded to a fixed grid).
            stream.codec_context.time_base = source.time_base
            stream.time_base = source.time_base
            options: dict[str, object] = {}
            if codec in ("libx264", "libx265"):
                options = {"crf": str(crf), "preset": preset}
            elif codec.startswith("libvpx"):
                options = {"crf": str(crf + 13), "b": "0", "deadline": "good", "cpu-used": "4"}
            elif codec == "mpeg4":  # a fixed quantiser: 3 at crf 18
                # (qmin = qmax: PyAV's qscale is the flag alone, and left every frame at 2)
                quantiser = str(max(2, min(31, round(crf / 6))))
                options.update(qmin=quantiser, qmax=quantiser)
            if container_format == "avi":  # AVI stores no presentation times: no B-frames
                options["bf"] = "0"
            stream.options = options
            # sRGB primaries are BT.709's; tagged, players convert back with the right matrix.
            stream.codec_context.colorspace = 1  # BT.709
            stream.codec_context.color_primaries = 1
            stream.codec_context.color_trc = 1
            stream.codec_context.color_range = 1  # limited ("tv") range, what players expect
            for key in STREAM_TAGS:
                if key in source.video.metadata and key != "handler_name":
                    stream.metadata[key] = source.video.metadata[key]
            self.stream = stream
            self.copies = {}
            for template in source.copied:
                copy = self.container.add_stream_from_template(template)
                for key in STREAM_TAGS:
                    if key in template.metadata:
                        copy.metadata[key] = template.metadata[key]
                copy.disposition = template.disposition
                self.copies[template.index] = copy
            self.container.metadata.update(
                container_metadata(dict(source.container.metadata), provenance, restored))
        except BaseException:
            self.container.close()
            raise
        self.started = False
        self.pending: list = []
        self.last_pts: int | None = None
        self.frames = 0

    def _start(self) -> None:
        # The display matrix is known once the first frame is decoded; the header is written
        # with the first packet, so it is set before anything is muxed (copied packets read
        # before the first frame wait in ``pending``).
        if not self.started:
            if self.source.display_matrix is not None:
                matrix = np.frombuffer(self.source.display_matrix, dtype="<i4").tolist()
                self.stream.set_display_matrix(matrix)
            self.started = True
            for packet in self.pending:
                self.container.mux(packet)
            self.pending.clear()

    def write(self, rgb: Rendered, pts: int | None) -> None:
        """Encode one (H, W, 3) uint8 sRGB frame at ``pts`` (input time base), or its
        :class:`~autocolor.image_output.YCbCr420` planes in the stream's encoding (BT.709,
        limited range) for a 4:2:0 stream: no conversion then."""
        import av

        self._start()
        if pts is None or (self.last_pts is not None and pts <= self.last_pts):
            pts = 0 if self.last_pts is None else self.last_pts + 1  # keep them increasing
        self.last_pts = pts
        if not isinstance(rgb, np.ndarray) and (
                self.pix_fmt != "yuv420p" or rgb.encoding != PLANE_FORMATS["yuv420p"]):
            rgb = rgb.rgb()
        if isinstance(rgb, np.ndarray):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame = frame.reformat(format=self.pix_fmt, dst_colorspace="ITU709",
                                   dst_color_range="MPEG")
        else:  # the three planes one after the other, as PyAV takes yuv420p (even sides)
            frame = av.VideoFrame.from_ndarray(
                np.concatenate([rgb.y.ravel(), rgb.cb.ravel(), rgb.cr.ravel()]).reshape(
                    -1, rgb.shape[1]), format="yuv420p")
        frame.pts = pts
        frame.time_base = self.stream.time_base
        self.container.mux(self.stream.encode(frame))
        self.frames += 1

    def copy(self, packet) -> None:
        """Mux an audio or subtitle packet of the source as it is."""
        packet.stream = self.copies[packet.stream.index]
        if self.started:
            self.container.mux(packet)
        else:
            self.pending.append(packet)

    def close(self) -> None:
        """Flush the encoder and finish the file."""
        self._start()
        self.container.mux(self.stream.encode(None))
        self.container.close()

    def abort(self) -> None:
        try:
            self.container.close()
        except Exception:  # noqa: BLE001 - the file is being discarded anyway
            pass
