"""The restoration pass: :func:`restore_lightness`, the steps in order on one lightness plane.

For each step of :data:`~autocolor.restore.config.STEPS` that is asked for, its damage is
measured on the lightness as restored so far (:mod:`autocolor.restore.detect`); with ``"auto"``
the step runs only when the measure passes its threshold, with a list of names it runs whenever
it has something to work on (a screen's peaks, specks or scratches found, some noise): the steps
that ran are the steps that changed the photo.
With ``"auto"`` nothing runs unless the photo, as it came, measures as an old print
(:func:`autocolor.restore.detect.is_old_print`: a halftone screen, or two kinds of damage besides
dust): no kind alone is proof of age (fine texture reads as dust, haze as fading, a textured
camera photo as grain), and a clean photo must come back as it was.
A photo on which no step runs comes back as the very array it was, at full float precision.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from autocolor.restore.config import DEFAULT_CONFIG, STEPS, RestoreConfig
from autocolor.restore.convert import check_lightness
from autocolor.restore.damage import find_damage, grow, inpaint
from autocolor.restore.detect import is_damaged, is_old_print, survey
from autocolor.restore.fading import fading_level, restore_fading
from autocolor.restore.grain import noise_levels, restore_grain
from autocolor.restore.halftone import find_screen, remove_halftone

AUTO = "auto"


@dataclass(frozen=True, eq=False)
class Restored:
    """What :func:`restore_lightness` did.

    Attributes:
        lightness: (H, W) float32 L* in [0, 100], restored (the input array itself when no step
            ran).
        mask: (H, W) bool, the pixels inpainted (dust and scratches).
        ran: the steps that ran, in the order they ran.
        measured: each considered step's measured value (:mod:`autocolor.restore.detect`).
        before_levels: (H, W) float32 L*, the lightness repaired by every step but the last,
            ``fading`` (a tone curve stretching the levels), when that step ran; else None.
            :attr:`for_colour` is what the colour is predicted from.
    """

    lightness: np.ndarray
    mask: np.ndarray
    ran: list[str] = field(default_factory=list)
    measured: dict[str, float] = field(default_factory=dict)
    before_levels: np.ndarray | None = field(default=None, repr=False)

    @property
    def for_colour(self) -> np.ndarray:
        """The lightness the network colours: repaired (screen, dust, scratches, grain), its
        levels as the print has them. The levels stretch is left to the output: colour predicted
        from stretched levels was worse than from the scan as it was (validation old prints,
        CIEDE2000 of the colour +0.21 and +0.01 against the scan; without the stretch -0.23 and
        -0.46; docs/restore.md), since the model learned its colours on faded prints too."""
        return self.lightness if self.before_levels is None else self.before_levels


def parse_steps(steps: str | Iterable[str]) -> tuple[str, ...] | None:
    """``"auto"`` -> None (decide per photo); a list of names, or one comma-separated string
    of them, -> those steps in :data:`STEPS` order.

    Raises:
        ValueError: an unknown name, or no name at all.
    """
    if isinstance(steps, str):
        if steps.strip() == AUTO:
            return None
        steps = steps.split(",")
    names = [name.strip() for name in steps if name.strip()]
    unknown = [name for name in names if name not in STEPS]
    if unknown:
        raise ValueError(f"unknown restoration step {unknown[0]!r}; the steps are "
                         f"{', '.join(STEPS)} (or auto)")
    if not names:
        raise ValueError(f"name at least one restoration step of {', '.join(STEPS)} (or auto)")
    return tuple(step for step in STEPS if step in names)


def restore_lightness(lightness: np.ndarray, steps: str | Iterable[str] = AUTO,
                      config: RestoreConfig = DEFAULT_CONFIG) -> Restored:
    """Restore an old print's lightness before it is coloured.

    Args:
        lightness: (H, W) L* in [0, 100] (float; :attr:`autocolor.images.LoadedImage.lightness`).
        steps: ``"auto"`` (each step only where its damage is measured) or the steps to run
            (names of :data:`STEPS`, a list or one comma-separated string); they run in
            :data:`STEPS` order whatever the order given.
        config: thresholds and strengths (:class:`RestoreConfig`).

    Returns:
        :class:`Restored`: the lightness, the inpainted pixels, the steps that ran and what was
        measured.

    Raises:
        ValueError: a bad lightness or step name.
        ModuleNotFoundError: OpenCV is not installed (``pip install 'autocolor[restore]'``).
    """
    lightness = check_lightness(lightness)
    chosen = parse_steps(steps)
    auto = chosen is None
    first = None  # auto: the survey of the photo as it came, reused while it is unchanged
    if auto:
        first = survey(lightness, config)
        if not is_old_print(first.measured, config):
            return Restored(lightness, np.zeros(lightness.shape, bool), [], first.measured)
    wanted = STEPS if chosen is None else chosen
    current = lightness
    mask = np.zeros(lightness.shape, bool)
    ran: list[str] = []
    measured: dict[str, float] = {}

    def decide(step: str, value: float, possible: bool = True) -> bool:
        """Record ``step``'s measure; -> whether it runs (asked for, or found with auto)."""
        measured[step] = float(value)
        go = possible and (not auto or is_damaged(step, value, config))
        if go:
            ran.append(step)
        return go

    if "halftone" in wanted:
        screen = first.screen if first is not None else find_screen(current, config)
        if decide("halftone", screen.strength, possible=bool(screen.peaks)):
            current = remove_halftone(current, screen, config)
    still = first if current is lightness else None  # the survey, if nothing changed since
    sigma = coverage = 0.0  # the grain's level (the filter's), and over the quietest blocks
    if {"dust", "scratches", "grain"} & set(wanted):
        sigma, coverage = ((still.sigma, still.measured["grain"]) if still is not None
                           else noise_levels(current))
    if "dust" in wanted or "scratches" in wanted:
        damage = still.damage if still is not None else find_damage(current, sigma, config)
        fill_dust = "dust" in wanted and decide("dust", damage.dust_share,
                                                possible=bool(damage.dust.any()))
        fill_scratches = "scratches" in wanted and decide(
            "scratches", damage.scratch_share, possible=bool(damage.scratches.any()))
        if fill_dust or fill_scratches:
            found = damage.mask(current.shape, fill_dust, fill_scratches)
            mask = grow(found, int(config.mask_grow) * damage.factor)
            current = inpaint(current, mask, int(config.inpaint_radius) * damage.factor)
    if "grain" in wanted and decide("grain", coverage, possible=sigma > 0):
        current = restore_grain(current, sigma, config)
    before_levels = None
    if "fading" in wanted and decide("fading", fading_level(current, config)):
        before_levels = current
        current = restore_fading(current, config)
    return Restored(current, mask, ran, measured, before_levels)
