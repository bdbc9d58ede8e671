"""How a trained bins model decodes, chosen on the validation photos (never on test).

Three knobs: the render size (the long side the network sees: smaller sees more of the photo
at once and less of its grain), and two in :class:`~autocolor.models.heads.BinsHead`: the
annealed-mean temperature T (lower = more vivid) and the confidence gate (chroma fades toward
gray where the model's bin distribution is flat). Every triple of the config's
``render_sizes`` x ``temperatures`` x ``gates`` colours the validation photos through the real inference path (:class:`~autocolor.infer.colorizer.Colorizer`,
full size, scored by ``autocolor eval``'s code), clean and, with ``degraded``, as old-print copies
too (``autocolor eval --degraded``: the colour alone), and the rule is, in order:

1. colourfulness at least ``min_colorfulness`` of the originals' on the clean photos, and at
   least ``min_colorfulness_degraded`` on the old-print copies (restraint must not wash
   everything out). If none reaches both, the choices within ``colorfulness_tie`` of the most
   colourful one on the clean photos are kept: differences smaller than the spread of the
   ratio over a set of photos are not told apart by any set users will judge;
2. the fewest clean photos more than 3 dB PSNR below the gray baseline (colour that does harm);
3. the highest mean PSNR over gray, clean plus old prints.

The sweep is written to OUT/decoding.csv.
"""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from autocolor.models.base import ColorizationModel


@dataclass(frozen=True)
class DecodingScore:
    temperature: float
    gate: tuple[float, float] | None
    psnr_delta: float  # mean over photos of ours - gray, dB
    ciede2000_delta: float
    ab_auc_delta: float
    cf_ratio: float  # mean colourfulness / the originals'
    below_gray: int  # photos more than 3 dB below gray
    photos: int
    old_psnr_delta: float = 0.0  # the old-print copies, colour alone (0 when not scored)
    old_ciede2000_delta: float = 0.0
    old_cf_ratio: float | None = None  # None: old prints not scored
    old_ab_shift: float = 0.0
    render_size: int | None = None  # None: the model's own


def score_decoding(model: ColorizationModel, data_dir: str | Path, render_size: int,
                   device: torch.device, temperature: float,
                   gate: tuple[float, float] | None, degraded: str | None = None
                   ) -> DecodingScore:
    """Set the head's decoding and score the validation photos next to gray (and their
    old-print copies made with the ``degraded`` preset, when given)."""
    from autocolor.evaluate import evaluate_folder
    from autocolor.infer.backends import TorchBackend
    from autocolor.infer.colorizer import Colorizer

    model.eval()
    model.set_decoding(temperature, gate)
    colorizer = Colorizer(TorchBackend.from_model(model, device.type, {"render_size": render_size}),
                          render_size=render_size)
    summary = evaluate_folder(colorizer, data_dir, split="val", progress=False,
                              degraded=degraded)["summary"]
    delta = summary["delta"]
    old = summary.get("degraded")
    return DecodingScore(temperature, gate, delta["psnr"], delta["ciede2000"], delta["ab_auc"],
                         summary["colorfulness_ratio"]["ours"], summary["blotches"]["below_gray"],
                         summary["blotches"]["photos"],
                         old["delta"]["psnr"] if old else 0.0,
                         old["delta"]["ciede2000"] if old else 0.0,
                         old["colorfulness_ratio"]["ours"] if old else None,
                         old["ab_shift"] if old else 0.0, render_size)


def choose(scores: list[DecodingScore], min_colorfulness: float,
           min_colorfulness_degraded: float = 0.0, colorfulness_tie: float = 0.0
           ) -> DecodingScore:
    """The rule of the module docstring."""
    vivid = [s for s in scores if s.cf_ratio >= min_colorfulness
             and (s.old_cf_ratio is None or s.old_cf_ratio >= min_colorfulness_degraded)]
    if not vivid:
        most = max(s.cf_ratio for s in scores)
        vivid = [s for s in scores if s.cf_ratio >= most - colorfulness_tie]
    return min(vivid, key=lambda s: (s.below_gray, -(s.psnr_delta + s.old_psnr_delta),
                                     -s.cf_ratio))


def tune_decoding(model: ColorizationModel, data_dir: str | Path,
                  render_sizes: tuple[int, ...], device: torch.device,
                  temperatures: tuple[float, ...],
                  gates: tuple[tuple[float, float] | None, ...], min_colorfulness: float,
                  out: Path, degraded: str | None = None,
                  min_colorfulness_degraded: float = 0.0,
                  colorfulness_tie: float = 0.0) -> DecodingScore:
    """Score every (render size, temperature, gate), keep the chosen temperature and gate in
    the model's head, write OUT/decoding.csv; returns the choice (its ``render_size`` is the
    one to record as the model's)."""
    scores = [score_decoding(model, data_dir, size, device, t, g, degraded)
              for size in render_sizes for t in temperatures for g in (gates or (None,))]
    best = choose(scores, min_colorfulness, min_colorfulness_degraded, colorfulness_tie)
    model.set_decoding(best.temperature, best.gate)
    with open(out / "decoding.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, [*asdict(best), "chosen"])
        writer.writeheader()
        for score in scores:
            writer.writerow({**asdict(score), "chosen": score == best})
    for score in scores:
        print(f"decoding render {score.render_size} T={score.temperature:g} gate={score.gate}: "
              f"PSNR {score.psnr_delta:+.2f} CIEDE2000 {score.ciede2000_delta:+.2f} CF {score.cf_ratio:.2f} below gray "
              f"{score.below_gray}/{score.photos}"
              + (f"; old prints PSNR {score.old_psnr_delta:+.2f} CIEDE2000 "
                 f"{score.old_ciede2000_delta:+.2f} CF {score.old_cf_ratio:.2f} ab moved "
                 f"{score.old_ab_shift:.1f}" if score.old_cf_ratio is not None else "")
              + ("  <- chosen" if score == best else ""))
    return best
