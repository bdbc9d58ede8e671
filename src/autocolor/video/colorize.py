"""One video in, one coloured video out: decode -> lightness -> network at the render size ->
temporal blending -> upsample and join at full resolution -> encode, frame by frame.

Frames stream through: at any time a few decoded frames, one frame's render-size state and the
encoder's look-ahead are held, whatever the clip's length. The network, steering and the join
are :class:`~autocolor.infer.colorizer.Colorizer`'s (``predict_ab_norm``, ``steer``,
``finish``), the same as for photos.

Three threads overlap: one decodes (FFmpeg releases the GIL), the caller's thread runs the
network, flow and join (each on all cores), one encodes and writes.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from autocolor.atomic import atomic_path
from autocolor.color.constants import AB_SCALE
from autocolor.color.lab_numpy import lightness_from_norm
from autocolor.errors import first_line
from autocolor.image_output import Rendered
from autocolor.images import LoadedImage, gray_lightness
from autocolor.video.io import (
    DEFAULT_CRF,
    DEFAULT_PRESET,
    VideoError,
    VideoSink,
    VideoSource,
    output_format,
    uncopyable_streams,
)
from autocolor.video.temporal import TemporalConfig, TemporalFilter

if TYPE_CHECKING:
    from autocolor.infer.colorizer import Colorizer

# Decoded frames waiting for the network, and coloured frames waiting for the encoder.
QUEUE_FRAMES = 4


@dataclass(frozen=True)
class VideoOptions:
    """What to do with a clip, beyond the model."""

    temporal: TemporalConfig | None = field(default_factory=TemporalConfig)  # None: per frame
    saturation: float = 1.0
    render_size: int | None = None  # the network's long side; None: the colorizer's
    provenance: bool = True  # tag the output as made by a trained model (autocolor.provenance)
    codec: str | None = None  # None: H.264 (MPEG-4 Part 2 in AVI, VP9 in WebM)
    crf: int = DEFAULT_CRF
    preset: str = DEFAULT_PRESET
    max_pixels: int | None = None
    # Restore each frame's lightness first (autocolor.restore.film): None (never), "auto" or
    # the steps' names.
    restore: str | tuple[str, ...] | None = None


@dataclass
class VideoResult:
    path: Path
    frames: int
    cuts: list[int]  # frames that started a shot (0 included)
    predicted: int  # frames the network ran on
    restored: dict[str, int] = field(default_factory=dict)  # frames each restoration step ran on


def frame_lightness(gray: np.ndarray) -> np.ndarray:
    """(H, W) uint8 gray -> (H, W) float32 L* in [0, 100]."""
    return gray_lightness(gray)


class FrameColorizer:
    """The per-frame core, without files: gray frames in order in, sRGB frames out.

    Args:
        colorizer: the model (its render size is used).
        options: temporal settings and saturation.
        reference: (h, w, 3) uint8 colour photo whose palette the whole clip follows
            (:func:`~autocolor.infer.colorizer.reference_rgb` prepares one).
        hints: a :class:`~autocolor.video.hints.VideoHints` (hints tied to frames).
    """

    def __init__(self, colorizer: Colorizer, options: VideoOptions | None = None,
                 reference: np.ndarray | None = None, hints=None) -> None:
        self.colorizer = colorizer
        self.options = options or VideoOptions()
        self.reference = reference
        self.hints = hints
        self.filter = TemporalFilter(self.options.temporal) if self.options.temporal else None
        self.predicted = 0
        self.frames = 0
        self.shape: tuple[int, int] | None = None
        self.restorer = None
        if self.options.restore is not None:
            from autocolor.restore.film import FilmRestorer

            self.restorer = FilmRestorer(self.options.restore)

    @property
    def cuts(self) -> list[int]:
        return self.filter.cuts if self.filter is not None else []

    def render_input(self, lightness: np.ndarray) -> np.ndarray:
        """Full-res L (H, W) -> (1, h, w) L_norm at the render shape: the network's input and
        the upsampling's guide, built as for photos (:meth:`Colorizer.render_input
        <autocolor.infer.colorizer.Colorizer.render_input>`)."""
        size = self.options.render_size or self.colorizer.render_size
        l_norm = self.colorizer.render_input(lightness, size)
        self.shape = (l_norm.shape[1], l_norm.shape[2])
        return l_norm

    def render_lightness(self, lightness: np.ndarray) -> np.ndarray:
        """Full-res L (H, W) -> L (h, w) in [0, 100] at the render shape (the flow's and the
        hints' working image)."""
        return lightness_from_norm(self.render_input(lightness))

    def predict(self, l_norm: np.ndarray) -> np.ndarray:
        """(1, h, w) L_norm (:meth:`render_input`) -> ab_norm (2, h, w), steered by the
        reference."""
        ab_norm = self.colorizer.predict([l_norm])[0]
        self.predicted += 1
        if self.reference is not None:
            ab = ab_norm.transpose(1, 2, 0) * np.float32(AB_SCALE)
            ab = self.colorizer.steer(lightness_from_norm(l_norm), ab, reference=self.reference)
            ab_norm = (ab / np.float32(AB_SCALE)).transpose(2, 0, 1)
        return ab_norm

    def ab_norm(self, l_norm: np.ndarray) -> np.ndarray:
        """The next frame's (1, h, w) L_norm (:meth:`render_input`) -> its output ab_norm
        (2, h, w)."""
        index = self.frames
        self.frames += 1
        small = lightness_from_norm(l_norm)
        if self.filter is None:
            out = self.predict(l_norm)
            cut = index == 0
            flow = None
        else:
            step = self.filter.begin(small)
            prediction = self.predict(l_norm) if step.needs_prediction else None
            out = self.filter.blend(step, prediction)
            cut, flow = step.cut, step.flow
        if self.hints is not None:
            hints = self.hints.at(index, cut, flow, small.shape)
            if hints is not None:
                from autocolor.hints import propagate_hints
                from autocolor.video.hints import HINT_WORKING_SIDE

                ab = out.transpose(1, 2, 0) * np.float32(AB_SCALE)
                ab = propagate_hints(small, np.ascontiguousarray(ab), hints,
                                     max_side=HINT_WORKING_SIDE)
                # The hints' effect is not made history: the blend would carry and re-apply
                # it, and it is applied afresh on every frame of the shot anyway.
                out = (ab / np.float32(AB_SCALE)).transpose(2, 0, 1)
        return out

    def __call__(self, gray: np.ndarray, fmt: str | None = None) -> Rendered:
        """(H, W) uint8 gray -> (H, W, 3) uint8 sRGB; with ``fmt="yuv420p"`` (a writer that
        encodes 4:2:0), :class:`~autocolor.image_output.YCbCr420` planes in its encoding where
        the frame allows (:meth:`Colorizer.finish <autocolor.infer.colorizer.Colorizer.finish>`).
        """
        lightness = frame_lightness(gray)
        loaded = LoadedImage(lightness=lightness, gray=gray, gray_of=lightness)
        coloured = lightness
        if self.restorer is not None:
            restored, coloured = self.restorer.restore(lightness)
            loaded = LoadedImage(lightness=restored)
        l_norm = self.render_input(coloured)  # the network's input
        # The guide is the output's lightness (restored levels differ from what the network saw)
        guide = l_norm if coloured is loaded.lightness else self.render_input(loaded.lightness)
        return self.colorizer.finish(loaded, self.ab_norm(l_norm), render_input=guide,
                                     saturation=self.options.saturation, fmt=fmt)


def _in_thread(produce: Callable[[Callable], None], size: int) -> Iterator:
    """Run ``produce(put)`` in a thread; iterate over what it puts. Its exception is re-raised
    here; closing the iterator early stops it at its next ``put``."""
    items: queue.Queue = queue.Queue(maxsize=size)
    done = object()
    stop = threading.Event()

    def put(item) -> None:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.1)
                return
            except queue.Full:
                continue
        raise _Stopped

    def run() -> None:
        try:
            produce(put)
            put(done)
        except _Stopped:
            pass
        except BaseException as error:  # noqa: BLE001 - handed to the consumer
            try:
                put(error)
            except _Stopped:
                pass

    thread = threading.Thread(target=run, name="autocolor-video-decode", daemon=True)
    thread.start()
    try:
        while True:
            item = items.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


class _Stopped(Exception):
    pass


def colorize_video(colorizer: Colorizer, source: str | os.PathLike, target: str | os.PathLike,
                   options: VideoOptions | None = None, reference: np.ndarray | None = None,
                   hints=None, on_frame: Callable[[int, int | None], None] | None = None) -> VideoResult:
    """Colour ``source`` into ``target`` (written through a temporary name and a rename).

    Args:
        colorizer: a :class:`~autocolor.infer.colorizer.Colorizer`.
        options: see :class:`VideoOptions`.
        reference: (h, w, 3) uint8 colour photo for the whole clip.
        hints: :class:`~autocolor.video.hints.VideoHints`.
        on_frame: called with (frames done, expected frame count or None) at the start and
            after each frame.

    Raises:
        VideoError: the input cannot be read or decoded (naming the frame), or the output
            container cannot hold a stream without re-encoding it. Nothing is left at
            ``target``.
    """
    options = options or VideoOptions()
    source, target = Path(source), Path(target)
    container_format = output_format(target)
    with VideoSource(source, options.max_pixels) as video:
        blocked = uncopyable_streams(video, container_format)
        if blocked:
            raise VideoError(source, f"{', '.join(blocked)} cannot be copied into "
                                     f"{target.suffix} without re-encoding; write .mkv instead")
        frames = FrameColorizer(colorizer, options, reference, hints)
        if hints is not None and hints.last_frame > 0 and options.temporal is not None:
            _prepare_hints(source, options, frames, hints)
        restored: tuple[str, ...] = ()
        if frames.restorer is not None:  # the clip's steps, decided before the tags are written
            restored = frames.restorer.decide(_first_lightness(source, options))
        with atomic_path(target) as temp:
            mark = colorizer.provenance if options.provenance else None
            sink = VideoSink(temp, video, container_format, options.codec, options.crf,
                             options.preset, mark, restored if options.provenance else ())
            try:
                _run(video, sink, frames, on_frame)
                sink.close()
            except BaseException:
                sink.abort()
                raise
    done = {}
    if frames.restorer is not None:
        from autocolor.restore.config import STEPS

        done = {step: frames.restorer.ran[step] for step in STEPS if frames.restorer.ran[step]}
    return VideoResult(target, frames.frames, frames.cuts, frames.predicted, done)


def _first_lightness(source: Path, options: VideoOptions) -> np.ndarray:
    """The first frame's L*, decoded on its own (the clip's restoration is decided on it)."""
    with VideoSource(source, options.max_pixels) as video:
        for frame in video.frames():
            return frame_lightness(frame.gray)
    raise VideoError(source, "no video frames")


def _prepare_hints(source: Path, options: VideoOptions, frames: FrameColorizer, hints) -> None:
    """The hints' backward pre-pass: decode up to the last hinted frame at the render size."""
    with VideoSource(source, options.max_pixels) as video:
        small_frames = ((frame.index, frames.render_lightness(frame_lightness(frame.gray)))
                        for frame in video.frames())
        hints.prepare(small_frames, options.temporal)


def _run(video: VideoSource, sink: VideoSink, frames: FrameColorizer,
         on_frame: Callable[[int, int | None], None] | None) -> None:
    import av

    def decode(put) -> None:
        # Copied packets ride in the same queue, so that they reach the muxer in file order
        # relative to the video frames around them.
        for frame in video.frames(on_packet=lambda packet: put(("packet", packet))):
            put(("frame", frame))

    encode_errors: list[BaseException] = []
    writer_queue: queue.Queue = queue.Queue(maxsize=QUEUE_FRAMES)

    def write() -> None:
        try:
            while True:
                item = writer_queue.get()
                if item is None:
                    return
                kind, payload, pts = item
                if kind == "packet":
                    sink.copy(payload)
                else:
                    sink.write(payload, pts)
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            encode_errors.append(error)
            while writer_queue.get() is not None:  # drain so the producer never blocks
                pass

    writer = threading.Thread(target=write, name="autocolor-video-encode", daemon=True)
    writer.start()
    done = 0
    total = video.frame_count
    if on_frame is not None:
        on_frame(0, total)
    try:
        for kind, item in _in_thread(decode, QUEUE_FRAMES):
            if encode_errors:
                break
            if kind == "packet":
                writer_queue.put(("packet", item, None))
                continue
            try:
                rgb = frames(item.gray, sink.pix_fmt)
            except (ValueError, OSError) as error:
                raise VideoError(video.path, first_line(error), item.index) from error
            writer_queue.put(("frame", rgb, item.pts))
            done += 1
            if on_frame is not None:
                on_frame(done, total)
    finally:
        writer_queue.put(None)
        writer.join()
    if encode_errors:
        failure = encode_errors[0]
        if isinstance(failure, av.FFmpegError):
            raise VideoError(sink.path, f"cannot encode ({failure})") from failure
        raise failure
