"""Train several recipes side by side on one machine within a time budget, then score each on
the validation split of the cache. Used for the recipe comparison (docs/recipes.md) and for the
bundled default (``make train-default`` runs the default recipe alone, with the epochs found here).

1. calibrate: every recipe trains 2 short epochs concurrently; the second epoch's time (encoder
   unfrozen, validation included) sets how many epochs fit the budget.
2. train: every recipe runs for its number of epochs concurrently (--restart).
3. score: each final model on the validation photos at its render size, next to the gray
   baseline: PSNR, CIEDE2000, ab AuC, colourfulness ratio -> OUT/recipes.json.

    python scripts/train_recipes.py --data data/corpus --out runs/recipes --budget-minutes 6
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path


def launch(recipe: str, args: argparse.Namespace, out: Path, epochs: int, samples: int,
           extra: list[str]) -> subprocess.Popen:
    command = [sys.executable, "-m", "autocolor.cli", "train", "--recipe", recipe,
               "--data", args.data, "--out", str(out), "--epochs", str(epochs),
               "--samples-per-epoch", str(samples), "--batch-size", str(args.batch_size),
               "--workers", str(args.workers), "--device", args.device, "--restart", *extra]
    out.mkdir(parents=True, exist_ok=True)
    log = open(out / "stdout.txt", "w")
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)


def epoch_seconds(run: Path) -> float:
    with open(run / "log.csv") as handle:
        rows = list(csv.DictReader(handle))
    seconds = [float(row["seconds"]) for row in rows]
    return seconds[-1] - seconds[-2] if len(seconds) >= 2 else seconds[-1]


def wait_all(processes: dict[str, subprocess.Popen]) -> dict[str, int]:
    return {name: process.wait() for name, process in processes.items()}


def score(weights: Path, data: str, render_size: int, device: str) -> dict[str, float]:
    import numpy as np
    import torch
    from skimage.color import deltaE_ciede2000

    from autocolor.color.lab import model_io_to_rgb, rgb_to_lab, rgb_to_model_io
    from autocolor.data.dataset import ValidationDataset
    from autocolor.train.loop import colorfulness, psnr
    from autocolor.weights import load_model

    model, _ = load_model(weights, device=device)
    dataset = ValidationDataset(data, render_size)
    rows: dict[str, list[float]] = {}
    with torch.no_grad():
        for index in range(len(dataset)):
            rgb = dataset[index][None].to(device).float() / 255.0
            l_norm, ab_truth = rgb_to_model_io(rgb)
            for name, ab in (("model", model(l_norm).float()), ("gray", torch.zeros_like(ab_truth))):
                prediction = model_io_to_rgb(l_norm, ab)
                lab_p = rgb_to_lab(prediction)[0].permute(1, 2, 0).cpu().numpy()
                lab_t = rgb_to_lab(rgb)[0].permute(1, 2, 0).cpu().numpy()
                error = np.hypot(*(lab_p[..., 1:] - lab_t[..., 1:]).transpose(2, 0, 1))
                auc = float(np.mean([(error <= t).mean() for t in range(151)]))
                values = {"psnr": psnr(prediction, rgb).item(),
                          "ciede2000": float(deltaE_ciede2000(lab_t, lab_p).mean()),
                          "auc": auc, "cf": colorfulness(prediction).item()}
                for key, value in values.items():
                    rows.setdefault(f"{name}_{key}", []).append(value)
            rows.setdefault("truth_cf", []).append(colorfulness(rgb).item())
    result = {key: float(np.mean(values)) for key, values in rows.items()}
    result["model_cf_ratio"] = result["model_cf"] / result["truth_cf"]
    result["photos"] = len(dataset)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="data/corpus")
    parser.add_argument("--out", type=Path, default=Path("runs/recipes"))
    parser.add_argument("--recipes", default="default,unet-l1,unet-mse,unet-bins-rebalanced,seed")
    parser.add_argument("--budget-minutes", type=float, default=6.0)
    parser.add_argument("--samples-per-epoch", type=int, default=8192)
    parser.add_argument("--calibration-samples", type=int, default=1024)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--render-size", type=int, default=384)
    args = parser.parse_args()
    recipes = args.recipes.split(",")
    started = time.monotonic()

    # 1. calibrate
    calibration = {r: launch(r, args, args.out / "calibrate" / r, 2, args.calibration_samples, [])
                   for r in recipes}
    codes = wait_all(calibration)
    plan = {}
    for recipe in recipes:
        if codes[recipe] != 0:
            print(f"{recipe}: calibration failed ({codes[recipe]})")
            print((args.out / "calibrate" / recipe / "stdout.txt").read_text()[-3000:])
            continue
        per_sample = epoch_seconds(args.out / "calibrate" / recipe) / args.calibration_samples
        plan[recipe] = max(2, int(args.budget_minutes * 60 / (per_sample * args.samples_per_epoch)))
    print(f"calibrated in {time.monotonic() - started:.0f}s; epochs: {plan}", flush=True)

    # 2. train
    runs = {r: launch(r, args, args.out / r, epochs, args.samples_per_epoch, [])
            for r, epochs in plan.items()}
    codes = wait_all(runs)
    print(f"trained in {time.monotonic() - started:.0f}s; exit codes {codes}", flush=True)

    # 3. score
    results = {}
    for recipe, code in codes.items():
        run = args.out / recipe
        if code != 0:
            print(f"{recipe} failed:\n" + (run / "stdout.txt").read_text()[-3000:])
            continue
        results[recipe] = {"epochs": plan[recipe], "samples_per_epoch": args.samples_per_epoch,
                           "batch_size": args.batch_size,
                           **score(run / "final.safetensors", args.data, args.render_size,
                                   args.device)}
        print(recipe, json.dumps(results[recipe]), flush=True)
    (args.out / "recipes.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"done in {time.monotonic() - started:.0f}s")
    return 0 if results else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
