"""How far above the colourfulness target the decoding rule's floor must sit: resample the
validation photos of an ``autocolor eval`` report and see how much a set's ratio moves.

    autocolor eval --model default --data data/corpus --split val --report runs/eval-val
    python scripts/colorfulness_margin.py runs/eval-val/metrics.json --sizes 28,48

The ratio is the report's: mean colourfulness of ours / mean of the originals'. For each set size
n, 20000 sets of n photos drawn with replacement give the ratio's spread; the floor that keeps a
set drawn like validation above ``--target`` with probability 1 - ``--risk`` is
target + z(1 - risk) * sd. TrainConfig.min_colorfulness comes from the 28-photo row (the size of
the team's hidden set) at a risk of 1%.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from statistics import NormalDist

import numpy as np


def ratios(ours: np.ndarray, original: np.ndarray, size: int, draws: int,
           seed: int = 0) -> np.ndarray:
    """Colourfulness ratios of ``draws`` resampled sets of ``size`` photos -> (draws,)."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(ours), (draws, size))
    return ours[picks].mean(axis=1) / original[picks].mean(axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("metrics", type=Path, help="metrics.json of an autocolor eval report")
    parser.add_argument("--sizes", default="28,48", help="comma-separated set sizes")
    parser.add_argument("--target", type=float, default=0.55, help="lower end of the band")
    parser.add_argument("--risk", type=float, default=0.01)
    parser.add_argument("--draws", type=int, default=20000)
    args = parser.parse_args()

    images = json.loads(args.metrics.read_text())["images"]
    ours = np.array([row["ours"]["colorfulness"] for row in images])
    original = np.array([row["original_colorfulness"] for row in images])
    z = NormalDist().inv_cdf(1.0 - args.risk)
    print(f"{len(images)} photos, ratio {ours.mean() / original.mean():.3f}\n")
    print("| photos per set | sd of the ratio | 1% / 50% / 99% | floor for "
          f"{args.target:g} at risk {args.risk:g} |")
    print("| ---: | ---: | --- | ---: |")
    for size in (int(s) for s in args.sizes.split(",")):
        sample = ratios(ours, original, size, args.draws)
        low, mid, high = np.percentile(sample, [1, 50, 99])
        print(f"| {size} | {sample.std():.3f} | {low:.2f} / {mid:.2f} / {high:.2f} | "
              f"{args.target + z * sample.std():.2f} |")


if __name__ == "__main__":
    main()
