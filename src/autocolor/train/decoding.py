"""How a trained bins model decodes, chosen on the validation photos (never on test).

Two knobs, both in :class:`~autocolor.models.heads.BinsHead`: the annealed-mean temperature T
(lower = more vivid) and the confidence gate (chroma fades toward gray where the model's bin
distribution is flat). Every pair of the config's ``temperatures`` x ``gates`` colours the
validation photos through the real inference path (:class:`~autocolor.infer.colorizer.Colorizer`,
full size, scored by ``autocolor eval``'s code), and the rule is, in order:

1. colourfulness at least ``config.min_colorfulness`` of the originals' (restraint must not
   wash everything out; if no pair reaches it, the most colourful pair is taken);
2. the fewest photos more than 3 dB PSNR below the gray baseline (colour that does harm);
3. the highest mean PSNR.

The sweep is written to OUT/decoding.csv.
"""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
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


class InMemoryBackend:
    """The model being trained as a :class:`~autocolor.infer.backends.Backend`."""

    name = "torch"

    def __init__(self, model: ColorizationModel, device: torch.device,
                 metadata: dict[str, Any]) -> None:
        self.model, self.device, self.metadata = model, str(device.type), metadata
        self._device = device

    @torch.inference_mode()
    def predict(self, l_norm: np.ndarray) -> np.ndarray:
        batch = torch.from_numpy(np.ascontiguousarray(l_norm, dtype=np.float32)).to(self._device)
        return self.model(batch).float().cpu().numpy()  # (B,2,h,w)


def score_decoding(model: ColorizationModel, data_dir: str | Path, render_size: int,
                   device: torch.device, temperature: float,
                   gate: tuple[float, float] | None) -> DecodingScore:
    """Set the head's decoding and score the validation photos next to gray."""
    from autocolor.evaluate import evaluate_folder
    from autocolor.infer.colorizer import Colorizer

    model.eval()
    model.set_decoding(temperature, gate)
    colorizer = Colorizer(InMemoryBackend(model, device, {"render_size": render_size}),
                          render_size=render_size)
    summary = evaluate_folder(colorizer, data_dir, split="val", progress=False)["summary"]
    delta = summary["delta"]
    return DecodingScore(temperature, gate, delta["psnr"], delta["ciede2000"], delta["ab_auc"],
                         summary["colorfulness_ratio"]["ours"], summary["blotches"]["below_gray"],
                         summary["blotches"]["photos"])


def choose(scores: list[DecodingScore], min_colorfulness: float) -> DecodingScore:
    """The rule of the module docstring."""
    vivid = [s for s in scores if s.cf_ratio >= min_colorfulness]
    if not vivid:
        return max(scores, key=lambda s: s.cf_ratio)
    return min(vivid, key=lambda s: (s.below_gray, -s.psnr_delta))


def tune_decoding(model: ColorizationModel, data_dir: str | Path, render_size: int,
                  device: torch.device, temperatures: tuple[float, ...],
                  gates: tuple[tuple[float, float] | None, ...], min_colorfulness: float,
                  out: Path) -> DecodingScore:
    """Score every (temperature, gate), keep the chosen one in the model's head, write
    OUT/decoding.csv; returns the choice."""
    scores = [score_decoding(model, data_dir, render_size, device, t, g)
              for t in temperatures for g in (gates or (None,))]
    best = choose(scores, min_colorfulness)
    model.set_decoding(best.temperature, best.gate)
    with open(out / "decoding.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, [*asdict(best), "chosen"])
        writer.writeheader()
        for score in scores:
            writer.writerow({**asdict(score), "chosen": score == best})
    for score in scores:
        print(f"decoding T={score.temperature:g} gate={score.gate}: PSNR {score.psnr_delta:+.2f}"
              f" CIEDE2000 {score.ciede2000_delta:+.2f} CF {score.cf_ratio:.2f} below gray "
              f"{score.below_gray}/{score.photos}" + ("  <- chosen" if score == best else ""))
    return best
