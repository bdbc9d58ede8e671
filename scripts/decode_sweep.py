"""Decoding choices for a trained bins model, scored on the validation split (never test):
annealed-mean temperature, test-time horizontal flip, and a chroma scale. One model, no
retraining; every row goes through ``autocolor eval``'s code at full resolution.

    python scripts/decode_sweep.py --model runs/gpu1/default.safetensors --out runs/sweep.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from autocolor.evaluate import evaluate_folder
from autocolor.infer.colorizer import Colorizer


class FlipAveraged:
    """A backend that averages the prediction of the photo and of its mirror image."""

    name = "torch+flip"

    def __init__(self, backend) -> None:
        self.backend = backend
        self.device, self.metadata = backend.device, backend.metadata  # the Backend protocol

    def predict(self, l_norm: np.ndarray) -> np.ndarray:
        mirrored = self.backend.predict(np.ascontiguousarray(l_norm[..., ::-1]))[..., ::-1]
        return 0.5 * (self.backend.predict(l_norm) + mirrored)


class ChromaScaled:
    name = "torch+scale"

    def __init__(self, backend, scale: float) -> None:
        self.backend, self.scale = backend, scale
        self.device, self.metadata = backend.device, backend.metadata  # the Backend protocol

    def predict(self, l_norm: np.ndarray) -> np.ndarray:
        return self.backend.predict(l_norm) * np.float32(self.scale)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", default="data/corpus")
    parser.add_argument("--split", default="val")
    parser.add_argument("--render-size", type=int, default=384)
    parser.add_argument("--temperatures", default="1.0,0.6,0.38,0.3,0.22")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    colorizer = Colorizer.from_pretrained(args.model, backend="torch",
                                          render_size=args.render_size)
    torch_backend = colorizer.backend
    head = torch_backend.model.head
    shipped = float(head.temperature)
    variants = [(f"T={t}", float(t), None) for t in args.temperatures.split(",")]
    variants += [(f"T={shipped:g} + flip", shipped, "flip"),
                 (f"T={shipped:g} x0.8 chroma", shipped, 0.8)]
    rows = {}
    for label, temperature, extra in variants:
        torch_backend.model.set_decoding(temperature, None)
        colorizer.backend = (FlipAveraged(torch_backend) if extra == "flip" else
                             ChromaScaled(torch_backend, extra) if extra else torch_backend)
        result = evaluate_folder(colorizer, args.data, split=args.split, progress=False)
        summary = result["summary"]
        rows[label] = {"ours": summary["ours"], "gray": summary["gray"],
                       "cf_ratio": summary["colorfulness_ratio"]["ours"]}
        ours, gray = summary["ours"], summary["gray"]
        print(f"{label:22s} PSNR {ours['psnr']:.2f} ({gray['psnr']:.2f})  CIEDE2000 "
              f"{ours['ciede2000']:.2f} ({gray['ciede2000']:.2f})  AuC {ours['ab_auc']:.3f} "
              f"({gray['ab_auc']:.3f})  CF ratio {rows[label]['cf_ratio']:.2f}", flush=True)
    args.out.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
