"""Which kinds of damage a photo shows: one measured number per step, and its threshold.

=========== ======================================================= =========================
step        measured number                                         damaged when above
=========== ======================================================= =========================
halftone    the strongest spectral peak with a partner at 90 deg,   ``halftone_threshold``
            over its neighbourhood's median (a ratio, >= 1)
grain       the noise sigma of the quietest tenth of the blocks,    ``grain_threshold``
            L* units (finest Haar band, MAD): grain covers a print
dust        share of pixels in small compact top-/black-hat blobs   ``dust_threshold``
scratches   share of pixels in long thin top-/black-hat lines       ``scratch_threshold``
fading      twice the smaller of the L* ranges missing at the dark  ``fading_threshold``
            (0.5 %) and at the light (99.5 %) end: both ends moved
=========== ======================================================= =========================

:func:`detect` measures a photo as it is; :func:`autocolor.restore.restore_lightness` measures
each step on the photo as restored so far. ``auto`` restores nothing unless the photo as it
came measures as an old print (:func:`is_old_print`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from autocolor.restore.config import DEFAULT_CONFIG, STEPS, RestoreConfig
from autocolor.restore.convert import check_lightness
from autocolor.restore.damage import Damage, find_damage
from autocolor.restore.fading import fading_level
from autocolor.restore.grain import grain_coverage, noise_levels, noise_sigma
from autocolor.restore.halftone import Screen, find_screen


def threshold(step: str, config: RestoreConfig = DEFAULT_CONFIG) -> float:
    """The measured value above which ``step``'s damage counts as present."""
    thresholds = {
        "halftone": config.halftone_threshold,
        "grain": config.grain_threshold,
        "dust": config.dust_threshold,
        "scratches": config.scratch_threshold,
        "fading": config.fading_threshold,
    }
    if step not in thresholds:
        raise ValueError(f"unknown restoration step {step!r}; the steps are {', '.join(STEPS)}")
    return float(thresholds[step])


def is_damaged(step: str, value: float, config: RestoreConfig = DEFAULT_CONFIG) -> bool:
    """Whether the measured ``value`` of ``step`` says the damage is there."""
    return value > threshold(step, config)


def detect_fading(lightness: np.ndarray, config: RestoreConfig = DEFAULT_CONFIG) -> float:
    """(H, W) L* -> twice the smaller of the L* ranges missing at the robust black and white
    points (:func:`autocolor.restore.fading.fading_level`)."""
    return fading_level(lightness, config)


def detect_grain(lightness: np.ndarray, config: RestoreConfig = DEFAULT_CONFIG) -> float:
    """(H, W) L* -> the noise sigma of the photo's quietest tenth of blocks, in L* units
    (:func:`autocolor.restore.grain.grain_coverage`): film grain covers the whole print, a
    clean photo's texture only part of it."""
    del config  # the estimate has no setting
    return grain_coverage(lightness)


def detect_dust_and_scratches(lightness: np.ndarray, config: RestoreConfig = DEFAULT_CONFIG,
                              sigma: float | None = None) -> tuple[float, float]:
    """(H, W) L* -> (dust share, scratch share) of the photo's pixels, each in [0, 1];
    ``sigma``: the noise sigma if already measured."""
    sigma = noise_sigma(lightness) if sigma is None else sigma
    damage = find_damage(lightness, sigma, config)
    return damage.dust_share, damage.scratch_share


def detect_halftone(lightness: np.ndarray, config: RestoreConfig = DEFAULT_CONFIG) -> float:
    """(H, W) L* -> the halftone screen's peak strength (1.0: no screen)."""
    return find_screen(lightness, config).strength


@dataclass(frozen=True, eq=False)
class Survey:
    """What :func:`survey` found on a photo as it is: the screen, the grain's sigma (the
    quieter blocks' level, which the grain filter and the dust floor work to) and the
    dust-and-scratch masks (which the restoration steps reuse while the photo is unchanged),
    and ``measured``, one number per step (:func:`detect`)."""

    screen: Screen
    sigma: float
    damage: Damage
    measured: dict[str, float]


def survey(lightness: np.ndarray, config: RestoreConfig = DEFAULT_CONFIG) -> Survey:
    """(H, W) L* in [0, 100] -> :class:`Survey` of every kind of damage, on the photo as it
    is."""
    lightness = check_lightness(lightness)
    sigma, coverage = noise_levels(lightness)
    damage = find_damage(lightness, sigma, config)
    # The levels without the specks and scratches: their whites and blacks would hide a fade.
    fading = fading_level(lightness, config, damage.mask(lightness.shape))
    screen = find_screen(lightness, config)
    return Survey(screen, sigma, damage, {
        "halftone": screen.strength, "grain": coverage, "dust": damage.dust_share,
        "scratches": damage.scratch_share, "fading": fading})


def detect(lightness: np.ndarray, config: RestoreConfig = DEFAULT_CONFIG) -> dict[str, float]:
    """(H, W) L* in [0, 100] -> ``{step: measured value}`` for every step of :data:`STEPS`, on
    the photo as it is (:func:`damaged` names the steps whose value passes the threshold)."""
    return survey(lightness, config).measured


def is_old_print(measured: dict[str, float], config: RestoreConfig = DEFAULT_CONFIG) -> bool:
    """Whether ``auto`` takes the photo measured (:func:`detect`) for an old print: a halftone
    screen, or at least ``config.min_kinds`` kinds of damage besides dust. No single kind is
    proof of age: fine texture passes the dust threshold, haze and fog the fading one, a
    textured or noisy camera photo the grain one."""
    found = {step for step, value in measured.items() if is_damaged(step, value, config)}
    return "halftone" in found or len(found - {"dust"}) >= config.min_kinds


def damaged(measured: dict[str, float], config: RestoreConfig = DEFAULT_CONFIG) -> list[str]:
    """The steps of ``measured`` (:func:`detect`) whose damage is present, in :data:`STEPS`
    order, as ``auto`` decides: none unless the photo is an old print (:func:`is_old_print`)."""
    if not is_old_print(measured, config):
        return []
    return [step for step in STEPS if step in measured and is_damaged(step, measured[step], config)]
