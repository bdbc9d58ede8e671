"""What the restoration pass does, and when ``auto`` decides a kind of damage is there:
:class:`RestoreConfig`.

Thresholds are in the units the detectors measure (:mod:`autocolor.restore.detect`): L* units
(0..100) for levels and noise, a share of the photo's pixels for dust and scratches, a spectral
peak's height over its neighbourhood (a ratio) for halftones. Lengths are pixels of the
*working image* (:func:`autocolor.restore.convert.working_factor`): the photo itself up to
``work_side`` px on the short side, a box reduction of it above, so that a 12 MP scan and a
512 px copy see dust and scratches at the same pixel sizes.

The detectors' thresholds were first set on degraded and clean copies of the corpus's in-source
test photos; the rule that decides for ``auto`` (``min_kinds``) was chosen on the out-of-source
validation photos (``scripts/restore_measure.py --splits val``), which no threshold saw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

# The steps, in the order they run: the halftone notch first (it needs the untouched spectrum,
# and its dots would read as dust), then dust and scratches (found against the grain's own
# level, so grain is not taken for dust) and inpainted, then the grain smoothed, and the levels
# last (on clean lightness, so CLAHE amplifies no grain).
STEPS: tuple[str, ...] = ("halftone", "dust", "scratches", "grain", "fading")
# What each step is in an output's XMP history (autocolor.provenance): (stEvt:action,
# stEvt:parameters). Filters change every pixel a little; inpainting repaints a few wholly.
EVENTS: dict[str, tuple[str, str]] = {
    "halftone": ("filtered", "restore halftone: the screen's peaks notched out of the spectrum"),
    "dust": ("edited", "restore dust: specks inpainted"),
    "scratches": ("edited", "restore scratches: scratches and creases inpainted"),
    "grain": ("filtered", "restore grain: edge-preserving denoising"),
    "fading": ("filtered", "restore fading: black and white points stretched, gentle CLAHE"),
}

# What each step is as a C2PA 2.x action (autocolor.provenance.Provenance.c2pa_manifest):
# filters for the screen and the grain, a colour (tone) adjustment for the levels, and edits for
# the inpainted specks and scratches, whose pixels are repainted.
C2PA_ACTIONS: dict[str, tuple[str, str]] = {
    "halftone": ("c2pa.filtered", EVENTS["halftone"][1]),
    "dust": ("c2pa.edited", EVENTS["dust"][1]),
    "scratches": ("c2pa.edited", EVENTS["scratches"][1]),
    "grain": ("c2pa.filtered", EVENTS["grain"][1]),
    "fading": ("c2pa.color_adjustments", EVENTS["fading"][1]),
}


@dataclass(frozen=True)
class RestoreConfig:
    """Detection thresholds and step strengths of :func:`autocolor.restore.restore_lightness`."""

    # -- the working image (dust, scratches) ---------------------------------------------------
    # Short side (px) up to which dust and scratches are found at full resolution; a larger
    # photo is box-reduced by an integer factor first (a 12 MP scan by 3), and the mask grown
    # back. Specks of a 512 px copy and of a 12 MP scan of the same print then look alike.
    work_side: int = 1024

    # -- fading ---------------------------------------------------------------------------------
    # Robust black and white points: 0.5 % of the pixels may lie beyond each (specks, glints).
    low_percentile: float = 0.5
    high_percentile: float = 99.5
    # ``fading`` measures twice the smaller of the L* ranges the photo lacks at its two ends
    # (black point - 0, 100 - white point): a faded print has both ends moved (blacks lifted to
    # L* 7-21, whites dulled to 83-92), a night photo keeps its blacks, a hazy or high-key one
    # its whites. On the corpus: the degraded copies measure 10-50 (median ~25), the clean
    # photos mostly under 10. Low contrast alone is still no proof of age (fog, underwater
    # photos measure 30+), so ``auto`` also wants another kind of damage found.
    fading_threshold: float = 16.0
    # ``auto`` takes a photo for an old print only when this many kinds of damage besides dust
    # pass their thresholds, or a halftone screen does: fine texture (bark, a lawn, stars)
    # passes the dust threshold alone, and a textured or hazy clean photo passes one of grain
    # or fading. On the out-of-source validation photos (scripts/restore_measure.py), this
    # changes none of the 71 clean photos (any kind alone: 26) and still restores 57 of 71 old
    # prints of the ``eval`` preset and 42 of 71 ``eval-alt`` ones (the rest show one kind);
    # of the 233 clean training photos, used as more clean photos to check it on, it changes 2.
    min_kinds: int = 2
    # Where the black and white points go: the typical (median) black and white points of the
    # clean corpus photos, rather than 0 and 100, so that nothing is clipped by the stretch
    # beyond the 0.5 % each side that lies beyond the percentiles.
    target_black: float = 3.0
    target_white: float = 97.0
    # How far the points move toward the targets (1: all the way). The original's own black and
    # white points are unknown (a foggy or low-key photo has neither); part of the way is, on
    # average, nearer than all of it: on the validation prints ``auto`` gained +1.53 / +1.58 /
    # +1.33 dB (``eval``) and +3.96 / +3.82 / +3.60 dB (``eval-alt``) at 0.5 / 0.75 / 1.
    fading_strength: float = 0.75
    # No stretch beyond this gain: a photo of fog stays a photo of fog, not a noise amplifier.
    max_gain: float = 2.0
    # CLAHE after the levels: a gentle clip limit (1 = none; OpenCV's default is 40) on 8x8
    # tiles, blended in at ``clahe_weight``. It brings back local contrast a faded print lost
    # unevenly, but the original's tones are unknown: on the validation photos' old prints,
    # ``auto`` gained +1.96 / +1.58 / +0.99 dB of L* (``eval``) and +3.90 / +3.82 / +3.59 dB
    # (``eval-alt``) with a weight of 0 / 0.25 / 0.5, so it is off unless asked for.
    clahe_clip_limit: float = 1.5
    clahe_tiles: int = 8
    clahe_weight: float = 0.0

    # -- grain ----------------------------------------------------------------------------------
    # ``grain`` measures the noise sigma (L* units) from the finest Haar band (median absolute
    # deviation, Donoho's estimator) over the photo's quietest tenth of blocks (film grain covers
    # the print; texture does not: autocolor.restore.grain.COVERAGE_PERCENTILE). Half the clean
    # photos measure under 0.3 and 92 % under 3; the coarse grain of the ``eval-alt`` prints
    # 11 at the median. The filter works to the quieter quarter's level, the photo's noise.
    grain_threshold: float = 3.0
    # Filter strength in units of the measured sigma: the range sigma of the edge-preserving
    # filter (detail with more contrast than this is kept).
    grain_strength: float = 1.5
    # Spatial sigma (px) and diameter of the filter: grain of 0.5-1.5 px.
    grain_spatial_sigma: float = 2.0
    grain_diameter: int = 9

    # -- dust and scratches ---------------------------------------------------------------------
    # Top-hat / black-hat element (px, working image): features narrower than this stand out.
    hat_size: int = 7
    # A pixel is damage when its top-hat (or black-hat) exceeds
    # ``max(hat_contrast, hat_noise * sigma) + hat_texture * local mean of |hat|``: a speck has
    # at least a few L* of contrast, more than the grain's, and more than the texture around it.
    hat_contrast: float = 20.0
    hat_noise: float = 6.0
    hat_texture: float = 3.0
    # White noise of sigma alone gives top-hats plus black-hats of mean 2.9 sigma (2.1 sigma
    # when blurred by 0.8 px): that much of the local mean is the grain's, not texture's.
    hat_grain: float = 1.5
    # A flagged blob extends to the pixels that clear this share of that threshold (the soft edge
    # of a speck, the fainter stretch of a scratch), as long as one of its pixels clears it all.
    hat_low: float = 0.6
    texture_window: int = 15
    # A pixel adds at most this many floors to the texture measure (0: no limit), so that a few
    # strong features close together (two crossing scratches) do not hide each other. On the
    # validation photos' ``eval`` prints, 0 / 1 / 1.5 / 2 find 41 / 52 / 46 / 42 % of the damage
    # (precision 0.91 / 0.89 / 0.90 / 0.90), and flag 23 / 41 / 28 / 24 of the 71 clean photos
    # for dust or scratches (which ``min_kinds`` then keeps from being restored).
    texture_clip: float = 1.5
    # A speck: a blob of at most this many pixels (a disc of radius ~3.5 px) whose bounding box
    # has no side over ``dust_max_side``.
    dust_max_area: int = 40
    dust_max_side: int = 8
    # A scratch: a component at least this long (bounding-box diagonal, px) and at most
    # ``scratch_max_width`` wide on average (area / length).
    scratch_min_length: float = 40.0
    scratch_max_width: float = 3.0
    # ``dust`` and ``scratches`` measure the share of the photo's pixels flagged; a clean photo's
    # highlights, stars and text flag a little, so the decision needs more than that.
    dust_threshold: float = 6e-4
    scratch_threshold: float = 4e-4
    # Inpainting: the mask is grown by this many pixels (the speck's soft edge), then filled by
    # Telea's method from this radius around it (px, working image; scaled to full size).
    mask_grow: int = 1
    inpaint_radius: int = 3

    # -- halftone -------------------------------------------------------------------------------
    # Tiles (px) whose averaged power spectrum shows the screen; at most ``halftone_tiles`` of
    # them, spread over the photo.
    halftone_tile: int = 256
    halftone_tiles: int = 9
    # Peaks nearer DC than this (cycles/px; 0.5 is Nyquist) are picture content: screens have
    # periods of 2-10 px (0.1-0.5 cycles/px).
    halftone_min_frequency: float = 0.08
    # ``halftone`` measures the height of the strongest peak whose partner at 90 degrees (a
    # screen is a 2-D grid) also stands out, over the local median of the spectrum: screens
    # stand 30-1000x above it, natural textures rarely 10x and then without a 90-degree partner.
    # At 5, one clean photo of 304 (training and validation: a blackboard's fine grid) passed
    # at 5.01 and lost 8 dB to the notch; the weakest screen of the validation photos' old
    # prints (``eval-alt``) measures 21.6 and the clean photos' next highest 2.0.
    halftone_threshold: float = 10.0
    # The notch: every spectral bin of the full photo this much above the local level, away from
    # DC, near a detected peak, is brought down to the local level.
    notch_ratio: float = 4.0
    # Then a Gaussian low-pass of this sigma, as a share of the screen's period: on the
    # halftoned copies of the corpus, notch alone gained 4.1 dB of L* PSNR, notch and a
    # low-pass of 0.25 / 0.35 / 0.45 periods 6.1 / 6.3 / 6.2 dB.
    descreen_blur: float = 0.35

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"{item.name} must be a finite number >= 0, got {value!r}")
        if not 0 <= self.low_percentile < self.high_percentile <= 100:
            raise ValueError("need 0 <= low_percentile < high_percentile <= 100")
        if not 0 <= self.target_black < self.target_white <= 100:
            raise ValueError("need 0 <= target_black < target_white <= 100")
        if not 0 <= self.clahe_weight <= 1:
            raise ValueError(f"clahe_weight must be in [0, 1], got {self.clahe_weight}")
        if self.max_gain < 1 or self.clahe_clip_limit < 1 or self.clahe_tiles < 1:
            raise ValueError("max_gain, clahe_clip_limit and clahe_tiles must be >= 1")
        if self.hat_size < 3 or self.hat_size % 2 == 0:
            raise ValueError(f"hat_size must be odd and >= 3, got {self.hat_size}")
        if self.grain_diameter < 3 or self.work_side < 64 or self.halftone_tile < 32:
            raise ValueError("grain_diameter >= 3, work_side >= 64 and halftone_tile >= 32")
        if self.inpaint_radius < 1 or self.texture_window < 3:
            raise ValueError("inpaint_radius >= 1 and texture_window >= 3")


DEFAULT_CONFIG = RestoreConfig()
