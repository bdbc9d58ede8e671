"""Measuring video colouring: clips with a known motion, warping error, accuracy.

Test clips are made from colour photos moved by known affine maps (pans, zooms, a hand-held
wobble, a cut between two photos), so the exact warp from one frame to the next and the colour
truth are known; real colour clips can be added, whose motion is estimated with optical flow.

- **Warping error** (Lai et al. 2018): the mean over frame pairs of the mean, over pixels that
  are not occluded, of ``|ab_t - warp(ab_{t-1})|`` (Euclidean in the a*b* plane, Lab units). On
  a clip with a known motion the warp is exact and pixels are "not occluded" where the previous
  frame saw them; on a real clip the warp follows DIS flow on the truth's lightness and the mask
  is a forward-backward check (Lai et al. use FlowNet2 and the same check). Pairs across a cut
  are left out. The truth's own warping error is the floor (interpolation, noise).
- **Flicker ratio**: a method's warping error over per-frame colouring's, on the same clip.
- **Accuracy**: PSNR (sRGB, mean over frames) and mean CIEDE2000 against the truth, so that
  smoothing does not pass for quality by washing colours out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

import numpy as np

from autocolor.color.lab_numpy import linear_to_srgb
from autocolor.evaluate.metrics import rgb_to_lab_u8


@dataclass
class Clip:
    """Colour truth frames and how each frame maps to the one before it."""

    name: str
    frames: list[np.ndarray]  # (H, W, 3) uint8 sRGB
    # (2, 3) affine maps from frame t's pixel coordinates to frame t-1's, for t >= 1 (None at
    # a cut); None for a clip whose motion is unknown (estimated with optical flow).
    motion: list[np.ndarray | None] | None
    cuts: list[int] = field(default_factory=list)  # frames that start a shot (not 0)


def truth_gray(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 sRGB -> (H, W) uint8 gray whose lightness is the photo's L* (the gray a
    perfect black-and-white film would show; ``frame_lightness`` gives L* back)."""
    lightness = rgb_to_lab_u8(rgb)[..., 0]
    f = (lightness + 16.0) / 116.0
    luminance = np.where(lightness > 8.0, f ** 3, lightness / 903.2963)
    return np.clip(np.rint(linear_to_srgb(luminance.astype(np.float32)) * 255.0), 0,
                   255).astype(np.uint8)


def _affine_frames(photo: np.ndarray, maps: Sequence[np.ndarray], size: tuple[int, int]):
    """Frames ``photo`` sampled through (2, 3) maps from frame pixels to photo pixels."""
    import cv2

    width, height = size
    return [cv2.warpAffine(photo, m, (width, height), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                           borderMode=cv2.BORDER_REFLECT) for m in maps]


def _between(maps: Sequence[np.ndarray]) -> list[np.ndarray | None]:
    """Maps frame t -> frame t-1 from maps frame -> photo: inverse(M_{t-1}) o M_t."""
    out: list[np.ndarray | None] = [None]
    for before, now in zip(maps, maps[1:], strict=False):
        full_before = np.vstack([before, [0, 0, 1]])
        full_now = np.vstack([now, [0, 0, 1]])
        out.append((np.linalg.inv(full_before) @ full_now)[:2])
    return out


def _fit(photo: np.ndarray, size: tuple[int, int], margin: float) -> np.ndarray:
    """Resize a photo so a frame of ``size`` covers it with ``margin`` (fraction) to spare."""
    from PIL import Image

    width, height = size
    scale = max(width * (1 + margin) / photo.shape[1], height * (1 + margin) / photo.shape[0])
    image = Image.fromarray(photo).resize((max(width, round(photo.shape[1] * scale)),
                                           max(height, round(photo.shape[0] * scale))),
                                          Image.Resampling.LANCZOS)
    return np.asarray(image)


def pan_clip(photo: np.ndarray, size: tuple[int, int], frames: int,
             step: tuple[float, float] = (3.0, 1.0), name: str = "pan") -> Clip:
    """The camera pans ``step`` (x, y) frame pixels per frame across ``photo``."""
    travel = max(abs(step[0]), abs(step[1])) * frames / min(size)
    fitted = _fit(photo, size, travel + 0.05)
    start = np.array([(fitted.shape[1] - size[0]) / 2 - step[0] * frames / 2,
                      (fitted.shape[0] - size[1]) / 2 - step[1] * frames / 2])
    maps = [np.array([[1, 0, start[0] + step[0] * t], [0, 1, start[1] + step[1] * t]])
            for t in range(frames)]
    return Clip(name, _affine_frames(fitted, maps, size), _between(maps))


def zoom_clip(photo: np.ndarray, size: tuple[int, int], frames: int, rate: float = 1.01,
              name: str = "zoom") -> Clip:
    """The camera zooms in by ``rate`` per frame about the centre."""
    fitted = _fit(photo, size, 0.05)
    centre = np.array([fitted.shape[1] / 2, fitted.shape[0] / 2])
    half = np.array(size) / 2
    maps = []
    for t in range(frames):
        scale = rate ** -t  # photo pixels per frame pixel
        maps.append(np.array([[scale, 0, centre[0] - scale * half[0]],
                              [0, scale, centre[1] - scale * half[1]]]))
    return Clip(name, _affine_frames(fitted, maps, size), _between(maps))


def handheld_clip(photo: np.ndarray, size: tuple[int, int], frames: int, seed: int = 0,
                  name: str = "handheld") -> Clip:
    """A hand-held camera: a smooth random walk of shift, small rotation and zoom."""
    rng = np.random.default_rng(seed)
    fitted = _fit(photo, size, 0.25)
    centre = np.array([fitted.shape[1] / 2, fitted.shape[0] / 2])
    half = np.array(size) / 2
    velocity = np.zeros(4)
    state = np.zeros(4)  # dx, dy (frame px), angle (rad), log zoom
    maps = []
    for _ in range(frames):
        velocity = 0.8 * velocity + rng.normal(0, [0.8, 0.8, 0.002, 0.002])
        state += velocity
        state[:2] = np.clip(state[:2], -0.1 * min(size), 0.1 * min(size))
        scale = np.exp(-state[3])
        cos, sin = np.cos(state[2]) * scale, np.sin(state[2]) * scale
        linear = np.array([[cos, -sin], [sin, cos]])
        offset = centre + state[:2] - linear @ half
        maps.append(np.hstack([linear, offset[:, None]]))
    return Clip(name, _affine_frames(fitted, maps, size), _between(maps))


def fade_clip(photo: np.ndarray, size: tuple[int, int], frames: int, start: float = 0.2,
              name: str = "fade") -> Clip:
    """A still camera while the light comes up: linear-light intensity rises from ``start`` to 1
    over the clip (content that changes without moving: colour carried along the flow lags)."""
    from autocolor.color.lab_numpy import srgb_to_linear

    still = _fit(photo, size, 0.0)[:size[1], :size[0]]
    linear = srgb_to_linear(still.astype(np.float32) / 255.0)
    out = []
    for t in range(frames):
        gain = start + (1.0 - start) * t / max(1, frames - 1)
        out.append(np.clip(np.rint(linear_to_srgb(linear * np.float32(gain)) * 255.0), 0,
                           255).astype(np.uint8))
    identity = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    return Clip(name, out, [None] + [identity] * (frames - 1))


def cut_clip(first: np.ndarray, second: np.ndarray, size: tuple[int, int], frames: int,
             name: str = "cut") -> Clip:
    """Two pans, the second (another photo) starting at frame ``frames // 2``."""
    half = frames // 2
    a = pan_clip(first, size, half, (2.0, 0.0))
    b = pan_clip(second, size, frames - half, (-2.0, 1.0))
    assert a.motion is not None and b.motion is not None
    return Clip(name, a.frames + b.frames, a.motion + b.motion, cuts=[half])


def clip_from_file(path, max_frames: int, size: tuple[int, int] | None = None) -> Clip:
    """The first ``max_frames`` frames of a colour video (motion unknown)."""
    import av
    from PIL import Image

    frames = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            image = frame.to_image()
            if size is not None:
                image = image.resize(size, Image.Resampling.LANCZOS)
            frames.append(np.asarray(image.convert("RGB")))
            if len(frames) >= max_frames:
                break
    return Clip(str(path), frames, None)


# -- the measures ---------------------------------------------------------------------------

def _flow_between(gray: np.ndarray, previous: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Backward flow t -> t-1 on the truth (DIS, medium) and the non-occluded mask."""
    import cv2

    dis = cv2.DISOpticalFlow_create(  # type: ignore[attr-defined]  # not in cv2's stubs
        cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    backward = dis.calc(gray, previous, None)
    forward = dis.calc(previous, gray, None)
    height, width = gray.shape
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32),
                                 np.arange(height, dtype=np.float32))
    map_x, map_y = grid_x + backward[..., 0], grid_y + backward[..., 1]
    there = cv2.remap(forward, map_x, map_y, cv2.INTER_LINEAR)
    loop = np.square(backward + there).sum(-1)
    motion = np.square(backward).sum(-1) + np.square(there).sum(-1)
    mask = (loop <= 0.01 * motion + 0.5) & _inside(map_x, map_y, width, height)
    return np.stack([map_x, map_y]), mask


def _inside(map_x: np.ndarray, map_y: np.ndarray, width: int, height: int) -> np.ndarray:
    return (map_x >= 0) & (map_x <= width - 1) & (map_y >= 0) & (map_y <= height - 1)


def warps(clip: Clip) -> list[tuple[np.ndarray, np.ndarray] | None]:
    """Per frame t >= 1: ((2, H, W) where each pixel was in frame t-1, non-occluded mask), or
    None across a cut (or where too little of the picture can be followed)."""
    height, width = clip.frames[0].shape[:2]
    out: list[tuple[np.ndarray, np.ndarray] | None] = [None]
    grays = [truth_gray(frame) for frame in clip.frames] if clip.motion is None else []
    for t in range(1, len(clip.frames)):
        if t in clip.cuts:
            out.append(None)
            continue
        if clip.motion is not None:
            affine = clip.motion[t]
            if affine is None:
                out.append(None)
                continue
            grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float64),
                                         np.arange(height, dtype=np.float64))
            map_x = (affine[0, 0] * grid_x + affine[0, 1] * grid_y + affine[0, 2]).astype(np.float32)
            map_y = (affine[1, 0] * grid_x + affine[1, 1] * grid_y + affine[1, 2]).astype(np.float32)
            maps, mask = np.stack([map_x, map_y]), _inside(map_x, map_y, width, height)
        else:
            maps, mask = _flow_between(grays[t], grays[t - 1])
        out.append((maps, mask) if mask.mean() > 0.3 else None)
    return out


def warping_error(ab_frames: Sequence[np.ndarray], clip_warps) -> float:
    """Mean over frame pairs of the mean non-occluded |ab_t - warp(ab_{t-1})| (Lab units)."""
    import cv2

    errors = []
    for t in range(1, len(ab_frames)):
        if clip_warps[t] is None:
            continue
        maps, mask = clip_warps[t]
        warped = cv2.remap(np.ascontiguousarray(ab_frames[t - 1], dtype=np.float32), maps[0],
                           maps[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        distance = np.sqrt(np.square(ab_frames[t] - warped).sum(-1))
        errors.append(float(distance[mask].mean()))
    return float(np.mean(errors)) if errors else float("nan")


@dataclass(frozen=True)
class ClipScore:
    clip: str
    method: str
    warping_error: float
    psnr: float
    ciede2000: float
    seconds_per_frame: float


def colour_clip(colorizer, clip: Clip, options) -> tuple[list[np.ndarray], float]:
    """Colour a clip's gray frames in memory -> (sRGB frames, seconds per frame)."""
    import time

    from autocolor.video.colorize import FrameColorizer

    frames = FrameColorizer(colorizer, options)
    start = time.perf_counter()
    out = [cast(np.ndarray, frames(truth_gray(frame))) for frame in clip.frames]  # RGB
    return out, (time.perf_counter() - start) / len(out)


def score_clip(clip: Clip, outputs: Sequence[np.ndarray], method: str, seconds: float,
               clip_warps) -> ClipScore:
    from autocolor.evaluate.metrics import ciede2000_mean, psnr

    ab = [rgb_to_lab_u8(frame)[..., 1:] for frame in outputs]
    return ClipScore(
        clip=clip.name, method=method, warping_error=warping_error(ab, clip_warps),
        psnr=float(np.mean([psnr(t, o) for t, o in zip(clip.frames, outputs, strict=True)])),
        ciede2000=float(np.mean([ciede2000_mean(t, o)
                                 for t, o in zip(clip.frames, outputs, strict=True)])),
        seconds_per_frame=seconds)


def truth_warping_error(clip: Clip, clip_warps) -> float:
    return warping_error([rgb_to_lab_u8(frame)[..., 1:] for frame in clip.frames], clip_warps)
