"""Hint points tied to a frame, followed through their shot.

A video hints file is a photo hints file whose points may carry ``"frame": N`` (0-based, default
0)::

    {"points": [{"x": 120, "y": 45, "color": "#a0c040", "frame": 30}]}

``x`` and ``y`` are pixel coordinates in the frame as stored in the file (before any rotation a
player applies). A point is followed with the optical flow forward to the end of its shot and
backward to the shot's start (a pre-pass decodes up to the last hinted frame for that, holding
the shot's small frames, at most :data:`MAX_BACKWARD_FRAMES` of them); where the flow loses it
(it leaves the picture or is covered) it stops. On every frame where a point is followed, the
frame's colours are steered through it (Levin et al.'s propagation, as for photos, at a working
size of :data:`HINT_WORKING_SIDE`): a user fixes a wrong colour once, not on every frame.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np

from autocolor.hints import HintError, HintPoint, HintSet

# Long side the hint propagation is solved at per frame (~70 ms at 192 on one core; 512, the
# photos' default, costs ~330 ms a frame).
HINT_WORKING_SIDE = 192
# Frames of a shot held for tracking hints backward (384x224 uint8: 86 kB each; 750 = 30 s at
# 25 frames/s, 65 MB). Earlier frames of a longer shot do not get the hint.
MAX_BACKWARD_FRAMES = 750


@dataclass(frozen=True)
class FrameHint:
    """A hint point and the frame it was given on."""

    point: HintPoint  # in stored frame pixels
    frame: int


def read_video_hints(source: str | os.PathLike | bytes | dict) -> list[FrameHint]:
    """Parse a hints file whose points may have a ``"frame"`` field.

    Raises:
        HintError: as :meth:`HintSet.from_json`, or a bad frame number.
    """
    import json
    from pathlib import Path

    if isinstance(source, dict):
        data = source
    else:
        try:
            text = source.decode() if isinstance(source, bytes) else Path(source).read_text(
                encoding="utf-8")
            data = json.loads(text)
        except (OSError, UnicodeDecodeError) as error:
            raise HintError(f"cannot read hints file {source!s}: {error}") from None
        except json.JSONDecodeError as error:
            raise HintError(f"hints file {source!s} is not valid JSON: {error.msg} at line "
                            f"{error.lineno} column {error.colno}") from None
    if not isinstance(data, dict) or not isinstance(data.get("points"), list):
        raise HintError('hints must be a JSON object {"points": [...]}')
    frames: list[int] = []
    points = []
    for index, raw in enumerate(data["points"]):
        raw = dict(raw) if isinstance(raw, dict) else raw
        frame = raw.pop("frame", 0) if isinstance(raw, dict) else 0
        if isinstance(frame, bool) or not isinstance(frame, int) or frame < 0:
            raise HintError(f"hint point {index}: frame must be an integer >= 0, got {frame!r}")
        frames.append(frame)
        points.append(raw)
    parsed = HintSet.from_json({**data, "points": points})
    return [FrameHint(point, frame) for point, frame in zip(parsed.points, frames, strict=True)]


@dataclass
class _Track:
    point: HintPoint  # in render pixels (x, y, radius scaled)
    position: np.ndarray  # (2,) x, y at the render size


class VideoHints:
    """The hints of one clip; :meth:`at` gives each frame's points at the render size.

    Args:
        hints: the points and their frames.
        frame_size: (W, H) of the stored frames, which the points are checked against.
    """

    def __init__(self, hints: Iterable[FrameHint], frame_size: tuple[int, int]) -> None:
        self.hints = list(hints)
        width, height = frame_size
        for item in self.hints:
            HintSet((item.point,)).validate(frame_size)
        self.frame_size = (width, height)
        self.backward: dict[int, list[_Track]] = {}  # frame -> points followed back to it
        self.active: list[_Track] = []

    @property
    def last_frame(self) -> int:
        return max((item.frame for item in self.hints), default=0)

    def _scaled(self, item: FrameHint, shape: tuple[int, int]) -> _Track:
        height, width = shape
        sx, sy = width / self.frame_size[0], height / self.frame_size[1]
        # Pixel centres: x_small + 0.5 = (x + 0.5) * scale.
        x = (item.point.x + 0.5) * sx - 0.5
        y = (item.point.y + 0.5) * sy - 0.5
        point = replace(item.point, x=float(np.clip(x, 0, width - 1)),
                        y=float(np.clip(y, 0, height - 1)),
                        radius=item.point.radius * min(sx, sy))
        return _Track(point, np.array([point.x, point.y], dtype=np.float32))

    def prepare(self, small_frames: Iterable[tuple[int, np.ndarray]], temporal) -> None:
        """The backward pre-pass: ``small_frames`` yields (index, L at the render size) from
        frame 0 on; it is read up to the last hinted frame. ``temporal``: the clip's
        :class:`~autocolor.video.temporal.TemporalConfig` (the cuts must be the same)."""
        from autocolor.video.temporal import FlowField, TemporalFilter, to_flow_image

        wanted = {item.frame for item in self.hints if item.frame > 0}
        if not wanted:
            return
        cutter = TemporalFilter(temporal)
        shot: list[np.ndarray] = []  # uint8 frames of the current shot, oldest first
        shot_start = 0
        for index, small in small_frames:
            step = cutter.begin(small)
            if step.cut:
                shot, shot_start = [], index
            shot.append(to_flow_image(small))
            if len(shot) > MAX_BACKWARD_FRAMES:
                shot.pop(0)
                shot_start += 1
            if index in wanted:
                tracks = [self._scaled(item, small.shape) for item in self.hints
                          if item.frame == index]
                for back in range(len(shot) - 1, 0, -1):  # frame shot_start + back -> back - 1
                    flow = FlowField(shot[back - 1], shot[back], cutter.dis, cutter.config)
                    moved = []
                    for track in tracks:
                        position, followed = flow.track_backward(track.position[None])
                        if followed[0]:
                            moved.append(_Track(track.point, position[0]))
                    tracks = moved
                    if not tracks:
                        break
                    self.backward.setdefault(shot_start + back - 1, []).extend(tracks)
            if index >= max(wanted):
                return

    def at(self, index: int, cut: bool, flow, shape: tuple[int, int]) -> HintSet | None:
        """The points on frame ``index`` at the render shape (h, w), or None.

        Call once per frame, in order: ``cut`` and ``flow`` (from the previous frame) are the
        temporal filter's for this frame. Without a temporal filter (``flow`` always None) a
        point applies on its own frame only.
        """
        if cut or flow is None:
            self.active = []
        else:
            positions = np.array([track.position for track in self.active],
                                 dtype=np.float32).reshape(-1, 2)
            moved, followed = flow.track(positions)
            self.active = [_Track(track.point, position) for track, position, ok
                           in zip(self.active, moved, followed, strict=True) if ok]
        self.active += [self._scaled(item, shape) for item in self.hints if item.frame == index]
        tracks = self.active + self.backward.pop(index, [])
        if not tracks:
            return None
        return HintSet(tuple(replace(track.point, x=float(track.position[0]),
                                     y=float(track.position[1])) for track in tracks))
