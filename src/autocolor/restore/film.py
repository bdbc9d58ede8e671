"""Restoring a film frame by frame without flicker: :class:`FilmRestorer`.

A photo's restoration decides per photo; a film's must not decide per frame, or the steps, the
levels and the grain filter would change from one frame to the next and the clip would flicker.
So, for a clip:

- the steps are decided once, on its first frame (``auto``: :func:`autocolor.restore.detect.
  damaged`), or named; they then run on every frame;
- the levels (black and white points) follow the clip slowly: an exponential average over the
  frames with weight ``LEVELS_WEIGHT`` per frame (about 20 frames, under a second, to follow a
  new shot), rather than each frame's own;
- dust, scratches, grain and halftone screens are found and treated per frame (film dust moves
  from frame to frame, and the grain's level is measured on each).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import numpy as np

from autocolor.restore.config import DEFAULT_CONFIG, STEPS, RestoreConfig
from autocolor.restore.convert import check_lightness
from autocolor.restore.detect import damaged, detect
from autocolor.restore.fading import apply_curve, levels, levels_curve, local_contrast
from autocolor.restore.pipeline import parse_steps, restore_lightness

# How much of each new frame's black and white points enters the clip's running ones.
LEVELS_WEIGHT = 0.05


class FilmRestorer:
    """Frames' lightness in order in, restored lightness out.

    Args:
        steps: ``"auto"`` (decided on the first frame) or the steps to run (names, or one
            comma-separated string).
        config: thresholds and strengths (:class:`RestoreConfig`).
    """

    def __init__(self, steps: str | Iterable[str] = "auto",
                 config: RestoreConfig = DEFAULT_CONFIG) -> None:
        self.chosen = parse_steps(steps)  # None: decide on the first frame
        self.config = config
        self.steps: tuple[str, ...] | None = None if self.chosen is None else self.chosen
        self.ran: Counter[str] = Counter()  # frames each step ran on
        self.frames = 0
        self._levels: tuple[float, float] | None = None

    def decide(self, lightness: np.ndarray) -> tuple[str, ...]:
        """The clip's steps, decided on ``lightness`` (its first frame) when ``auto``."""
        if self.steps is None:
            self.steps = tuple(damaged(detect(check_lightness(lightness), self.config),
                                       self.config))
        return self.steps

    def __call__(self, lightness: np.ndarray) -> np.ndarray:
        """(H, W) L* in [0, 100] of the next frame -> its restored (H, W) float32 L* (the frame
        itself when the clip has no step to run)."""
        return self.restore(lightness)[0]

    def restore(self, lightness: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(H, W) L* in [0, 100] of the next frame -> (its restored (H, W) float32 L*, the
        lightness its colour is predicted from: the same before the levels stretch, as
        :attr:`autocolor.restore.Restored.for_colour`)."""
        steps = self.decide(lightness)
        self.frames += 1
        if not steps:
            return lightness, lightness
        local = [step for step in steps if step != "fading"]
        out = lightness
        if local:
            restored = restore_lightness(lightness, local, self.config)
            out = restored.lightness
            self.ran.update(restored.ran)
        repaired = out
        if "fading" in steps:
            out = self._fade(out)
            self.ran["fading"] += 1
        return out, repaired

    def _fade(self, lightness: np.ndarray) -> np.ndarray:
        config = self.config
        low, high = levels(lightness, config)
        if self._levels is None:
            self._levels = (low, high)
        else:
            old_low, old_high = self._levels
            self._levels = (old_low + LEVELS_WEIGHT * (low - old_low),
                            old_high + LEVELS_WEIGHT * (high - old_high))
        _, curve = levels_curve(*self._levels, config)
        return local_contrast(apply_curve(check_lightness(lightness), curve), config)

    def summary(self) -> str:
        """``fading 250, dust 243`` (frames per step, in STEPS order), or ``no damage found``."""
        counts = ", ".join(f"{step} {self.ran[step]}" for step in STEPS if self.ran[step])
        return counts or "no damage found"
