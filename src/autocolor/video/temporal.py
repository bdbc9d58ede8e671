"""Colours that stick to the content: flow-guided recursive blending at the render size.

Per frame t, at the render size (the network's long side, e.g. 384):

1. DIS optical flow (Kroeger et al. 2016, OpenCV) on the lightness, from frame t back to frame
   t-1 (and, optionally, forward from t-1 to t);
2. the previous *output* ab is warped to frame t along the backward flow;
3. a confidence per pixel in [0, 1]: high where the warped previous lightness matches this
   frame's (the residual Bonneel et al. 2015 weight their temporal term with), where the flow
   stays inside the frame, and, with ``forward_backward``, where the two flows agree (the check
   of Sundaram et al. 2010 and Ruder et al. 2016);
4. the output is ``prediction + history * confidence * (warped - prediction)``: a recursive
   filter along the motion trajectories, so a colour is the average of the network's guesses
   for the same piece of content over the last few frames, and where the flow fails the new
   prediction is taken as it is.

A cut is detected from the same quantities (the lightness histogram jumps, or almost nothing of
the previous frame can be followed); after a cut nothing is carried over, so a new scene is
coloured exactly as if it started the clip.

Keyframe mode (``keyframe_interval`` k > 1, k = 3 by default): the network runs on every k-th
frame (and on cuts, when too little of the picture can be followed, and when the light changes:
the mean lightness moved since the last keyframe); between keyframes the
output is the warped previous output alone. k = 1 runs the network and the blend on every frame.

Everything here is NumPy and OpenCV on (h, w) planes at the render size; the caller upsamples the
result and joins it with the full-resolution lightness.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Histogram bins of the cut test.
_BINS = 32
# A tracked point whose flow is trusted less than this is lost (covered, or the flow failed).
TRACK_CONFIDENCE = 0.2


@dataclass(frozen=True)
class TemporalConfig:
    """How strongly colours are held, and when a frame starts afresh."""

    # Weight of the warped past where the flow is fully trusted. The flicker left, for
    # independent per-frame noise, is about (1 - h) / sqrt(1 + h) of per-frame colouring's:
    # 0.85 leaves 0.11; the network's own flicker is not independent from frame to frame, so
    # the measured ratio is higher (docs/video.md). Too close to 1 and colours lag behind
    # content that changes without moving (lights switched on).
    history: float = 0.85
    # Forward-backward disagreement (pixels at the render size) at which trust falls to e^-1/2;
    # it grows by 1% of the motion, as in Ruder et al.'s occlusion test.
    flow_tolerance: float = 1.0
    # Lightness residual (L units, warped previous frame against this one) at which trust falls
    # to e^-1/2. Film grain at the render size is a few units.
    lightness_tolerance: float = 8.0
    # A cut: the normalised lightness histograms differ by more than this (0..1, half the L1
    # distance), or the mean trust is below cut_confidence. Measured at 384x224 (docs/video.md):
    # between unrelated photos the mean trust was 0.12-0.48, within shots (pans of 8 px a frame,
    # 4% zooms, hand-held wobble, a real night-time clip) 0.93 or more.
    cut_histogram: float = 0.4
    cut_confidence: float = 0.65
    # Network every k frames (1: every frame); between keyframes colours are carried by flow.
    # 3 by default: the network is most of a frame's time (61 of 101 ms at 640x352 on 2 cores),
    # and on the validation clips k = 3 flickered less than every frame at the same accuracy
    # (docs/video.md); it lags by up to k - 1 frames where content changes without moving.
    keyframe_interval: int = 3
    # In keyframe mode, a frame whose mean trust is below this gets the network too.
    keyframe_confidence: float = 0.85
    # ... and so does a frame whose mean lightness moved more than this (L units) since the last
    # keyframe: light coming up or going down changes the colours without moving anything, so
    # the flow carries stale colours (the fade clips of docs/video.md: -1.5 dB on one without).
    keyframe_lightness: float = 1.5
    # OpenCV DIS preset: 0 ultrafast, 1 fast, 2 medium. "fast" costs ~2 ms per flow at 384x224;
    # "medium" ~12 ms for flows that differ little on film footage.
    flow_preset: int = 1
    # DIS's finest pyramid level (None: the preset's). "fast" stops at 2 (a quarter of the
    # render size); 1 costs ~6 ms instead of ~2 ms a flow at 384x224 and cut the flicker left on
    # pans and zooms by a tenth to a quarter (docs/video.md).
    flow_finest_scale: int | None = 1
    # Check flows forward and backward (a second flow per frame). Off by default: in flat
    # regions DIS flows are ambiguous and fail the check though the warped colour is right
    # (flicker ratio 0.27 with it, 0.22 without on a pan over a graphic, equal elsewhere);
    # the lightness residual still finds what is covered or uncovered.
    forward_backward: bool = False

    def __post_init__(self) -> None:
        if not 0.0 <= self.history < 1.0:
            raise ValueError(f"history must be in [0, 1), got {self.history}")
        if self.keyframe_interval < 1:
            raise ValueError(f"keyframe_interval must be >= 1, got {self.keyframe_interval}")
        if self.flow_tolerance <= 0 or self.lightness_tolerance <= 0:
            raise ValueError("tolerances must be > 0")


def to_flow_image(lightness: np.ndarray) -> np.ndarray:
    """(h, w) L in [0, 100] -> (h, w) uint8, what DIS flow takes."""
    return np.clip(lightness * np.float32(2.55) + np.float32(0.5), 0, 255).astype(np.uint8)


def histogram_distance(first: np.ndarray, second: np.ndarray) -> float:
    """Half the L1 distance of two uint8 images' normalised histograms, in [0, 1]."""
    import cv2

    hists = []
    for image in (first, second):
        hist = cv2.calcHist([image], [0], None, [_BINS], [0, 256]).ravel()
        hists.append(hist / max(1.0, float(hist.sum())))
    return 0.5 * float(np.abs(hists[0] - hists[1]).sum())


class FlowField:
    """Dense flows between two frames and what follows from them, at one (h, w)."""

    def __init__(self, previous: np.ndarray, current: np.ndarray, dis,
                 config: TemporalConfig) -> None:
        """previous, current: (h, w) uint8 lightness images (:func:`to_flow_image`)."""
        import cv2

        height, width = current.shape
        self.backward = dis.calc(current, previous, None)  # (h, w, 2): t -> t-1, in pixels
        grid_x, grid_y = _grid(height, width)
        self.map_x = grid_x + self.backward[..., 0]
        self.map_y = grid_y + self.backward[..., 1]
        self._forward: np.ndarray | None = None
        self._dis = dis
        self._images = (previous, current)
        if config.forward_backward:
            # Following t -> t-1 -> t should come back to the start.
            forward_there = cv2.remap(self.forward, self.map_x, self.map_y, cv2.INTER_LINEAR,
                                      borderMode=cv2.BORDER_REPLICATE)
            loop = self.backward + forward_there
            disagreement = np.einsum("hwc,hwc->hw", loop, loop)
            motion = (np.einsum("hwc,hwc->hw", self.backward, self.backward)
                      + np.einsum("hwc,hwc->hw", forward_there, forward_there))
            tolerance = np.float32(config.flow_tolerance ** 2) + np.float32(0.01) * motion
            trust = np.exp(-0.5 * disagreement / tolerance)
        else:
            trust = np.ones((height, width), dtype=np.float32)
        # Lightness residual of the warp.
        warped = cv2.remap(previous, self.map_x, self.map_y, cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE)
        residual = (warped.astype(np.float32) - current.astype(np.float32)) / np.float32(2.55)
        trust *= np.exp(-0.5 * np.square(residual / np.float32(config.lightness_tolerance)))
        inside = ((self.map_x >= -0.5) & (self.map_x <= width - 0.5)
                  & (self.map_y >= -0.5) & (self.map_y <= height - 0.5))
        trust[~inside] = 0.0
        self.confidence = trust.astype(np.float32)  # (h, w) in [0, 1]

    @property
    def forward(self) -> np.ndarray:
        """(h, w, 2) flow from frame t-1 to t (computed when first asked for)."""
        if self._forward is None:
            self._forward = self._dis.calc(*self._images, None)
        return self._forward

    def warp(self, planes: np.ndarray) -> np.ndarray:
        """(h, w, C) float32 of frame t-1 -> the same seen at frame t (backward warp)."""
        import cv2

        out = cv2.remap(planes, self.map_x, self.map_y, cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_REPLICATE)
        return out.reshape(planes.shape)

    def track(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Move (N, 2) (x, y) positions of frame t-1 to frame t along the forward flow;
        -> (positions, followed) where ``followed`` is False for points that left the frame or
        whose flow fails the forward-backward check."""
        if len(points) == 0:
            return points, np.zeros(0, dtype=bool)
        height, width = self.confidence.shape
        moved = points + _sample(self.forward, points)
        inside = ((moved[:, 0] >= 0) & (moved[:, 0] <= width - 1)
                  & (moved[:, 1] >= 0) & (moved[:, 1] <= height - 1))
        trusted = _sample(self.confidence[..., None], np.clip(moved, 0, [width - 1, height - 1]))
        return moved, inside & (trusted[:, 0] > TRACK_CONFIDENCE)

    def track_backward(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Move (N, 2) (x, y) positions of frame t back to frame t-1 along the backward flow;
        -> (positions, followed), as :meth:`track`."""
        if len(points) == 0:
            return points, np.zeros(0, dtype=bool)
        height, width = self.confidence.shape
        trusted = _sample(self.confidence[..., None], points)
        moved = points + _sample(self.backward, points)
        inside = ((moved[:, 0] >= 0) & (moved[:, 0] <= width - 1)
                  & (moved[:, 1] >= 0) & (moved[:, 1] <= height - 1))
        return moved, inside & (trusted[:, 0] > TRACK_CONFIDENCE)


_GRIDS: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}


def _grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    key = (height, width)
    if key not in _GRIDS:
        _GRIDS[key] = tuple(np.meshgrid(np.arange(width, dtype=np.float32),  # type: ignore[assignment]
                                        np.arange(height, dtype=np.float32)))
    return _GRIDS[key]


def _sample(planes: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Bilinear samples of (h, w, C) planes at (N, 2) (x, y) points -> (N, C)."""
    import cv2

    xs = np.ascontiguousarray(points[:, 0], dtype=np.float32).reshape(1, -1)
    ys = np.ascontiguousarray(points[:, 1], dtype=np.float32).reshape(1, -1)
    out = cv2.remap(np.ascontiguousarray(planes, dtype=np.float32), xs, ys, cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_REPLICATE)
    return out.reshape(len(points), -1)


@dataclass
class Step:
    """What :meth:`TemporalFilter.begin` decided for one frame."""

    cut: bool  # a new shot starts here (or the clip does)
    needs_prediction: bool  # the network must run on this frame
    flow: FlowField | None  # from the previous frame; None after a cut


class TemporalFilter:
    """The state carried from frame to frame: the previous frame's lightness and output ab.

    Per frame, :meth:`begin` with the frame's lightness at the render size says whether it is a
    cut and whether the network must run; :meth:`blend` with the prediction (or None) gives the
    output ab, which becomes the history for the next frame.
    """

    def __init__(self, config: TemporalConfig | None = None) -> None:
        import cv2

        self.config = config or TemporalConfig()
        self.dis = cv2.DISOpticalFlow_create(  # type: ignore[attr-defined]  # not in cv2's stubs
            self.config.flow_preset)
        if self.config.flow_finest_scale is not None:
            self.dis.setFinestScale(self.config.flow_finest_scale)
        self.previous: np.ndarray | None = None  # (h, w) uint8
        self.history: np.ndarray | None = None  # (h, w, 2) float32 output ab_norm
        self.since_keyframe = 0
        self.keyframe_level = 0.0  # mean L of the last frame the network ran on
        self.cuts: list[int] = []
        self.frame = -1

    def reset(self) -> None:
        self.previous = None
        self.history = None

    def begin(self, lightness_small: np.ndarray) -> Step:
        """(h, w) L in [0, 100] at the render size -> the frame's :class:`Step`."""
        self.frame += 1
        image = to_flow_image(lightness_small)
        level = float(lightness_small.mean())
        previous, self.previous = self.previous, image
        if previous is None or previous.shape != image.shape:
            return self._cut(level)
        if histogram_distance(previous, image) > self.config.cut_histogram:
            return self._cut(level)
        flow = FlowField(previous, image, self.dis, self.config)
        mean_trust = float(flow.confidence.mean())
        if mean_trust < self.config.cut_confidence:
            return self._cut(level)
        self.since_keyframe += 1
        needs = (self.since_keyframe >= self.config.keyframe_interval
                 or mean_trust < self.config.keyframe_confidence
                 or abs(level - self.keyframe_level) > self.config.keyframe_lightness)
        if needs:
            self.keyframe_level = level
        return Step(cut=False, needs_prediction=needs, flow=flow)

    def _cut(self, level: float) -> Step:
        self.keyframe_level = level
        self.history = None
        self.cuts.append(self.frame)
        self.since_keyframe = 0
        return Step(cut=True, needs_prediction=True, flow=None)

    def blend(self, step: Step, prediction: np.ndarray | None) -> np.ndarray:
        """The frame's output ab_norm (2, h, w) from its prediction (2, h, w), or None on a
        frame between keyframes."""
        if step.flow is None or self.history is None:
            if prediction is None:
                raise ValueError("a cut or the first frame needs a prediction")
            out = np.ascontiguousarray(prediction.transpose(1, 2, 0), dtype=np.float32)
        else:
            warped = step.flow.warp(self.history)
            if prediction is None:
                out = warped
            else:
                self.since_keyframe = 0
                current = prediction.transpose(1, 2, 0).astype(np.float32)
                weight = step.flow.confidence * np.float32(self.config.history)
                out = current + weight[..., None] * (warped - current)
        self.history = out
        return out.transpose(2, 0, 1)

    def replace_history(self, ab_norm: np.ndarray) -> None:
        """Make (2, h, w) ``ab_norm`` the history (after steering changed the output)."""
        self.history = np.ascontiguousarray(ab_norm.transpose(1, 2, 0), dtype=np.float32)
