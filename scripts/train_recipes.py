"""Train several recipes side by side on one machine within a time budget, then score each on
the validation split of the cache. Used for the recipe comparison in docs/recipes.md
(``make train-default`` trains the bundled default alone, with the recipe's own settings).

1. calibrate (GPU): every recipe trains 2 short epochs concurrently; the second epoch's time
   (encoder unfrozen, validation included) sets how many epochs fit the budget. Or (CPU) give
   the plan explicitly: ``--plan recipe:epochs:samples,...`` and ``--sequential``.
2. train: every recipe runs for its number of epochs (--restart).
3. score: each final model with ``autocolor eval``'s code (full-resolution inference path) on
   the validation split, next to the gray baseline -> OUT/<recipe>/eval/, OUT/recipes.json.

    python scripts/train_recipes.py --data data/corpus --out runs/recipes --budget-minutes 6
    python scripts/train_recipes.py --sequential --device cpu --batch-size 16 --workers 1 \
        --crop-size 192 --plan unet-bins:3:1024,unet-l1:3:1024,seed:1:512
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
    if args.crop_size:
        command += ["--crop-size", str(args.crop_size)]
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


def score(weights: Path, data: str, render_size: int, device: str, report: Path) -> dict:
    """Validation scores through the same code as ``autocolor eval`` (full-resolution path)."""
    from autocolor.evaluate import evaluate_folder
    from autocolor.infer.colorizer import Colorizer

    colorizer = Colorizer.from_pretrained(weights, backend="torch", device=device,
                                          render_size=render_size)
    result = evaluate_folder(colorizer, data, split="val", report_dir=report, progress=False)
    summary = result["summary"]
    return {"ours": summary["ours"], "gray": summary["gray"],
            "cf_ratio": summary["colorfulness_ratio"]["ours"], "photos": len(result["images"])}


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
    parser.add_argument("--crop-size", type=int, default=None, help="override every recipe's")
    parser.add_argument("--plan", default=None, help="recipe:epochs:samples,... (no calibration)")
    parser.add_argument("--sequential", action="store_true", help="one recipe at a time (CPU)")
    args = parser.parse_args()
    recipes = args.recipes.split(",")
    started = time.monotonic()

    # 1. calibrate (or take the plan as given)
    if args.plan:
        plan = {}
        for item in args.plan.split(","):
            recipe, epochs, samples = item.split(":")
            plan[recipe] = (int(epochs), int(samples))
        return train_and_score(args, plan, started)
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
        epochs = max(2, int(args.budget_minutes * 60 / (per_sample * args.samples_per_epoch)))
        plan[recipe] = (epochs, args.samples_per_epoch)
    print(f"calibrated in {time.monotonic() - started:.0f}s; plan: {plan}", flush=True)
    return train_and_score(args, plan, started)


def train_and_score(args: argparse.Namespace, plan: dict[str, tuple[int, int]],
                    started: float) -> int:
    # 2. train
    codes = {}
    if args.sequential:
        for recipe, (epochs, samples) in plan.items():
            codes[recipe] = launch(recipe, args, args.out / recipe, epochs, samples, []).wait()
    else:
        codes = wait_all({r: launch(r, args, args.out / r, epochs, samples, [])
                          for r, (epochs, samples) in plan.items()})
    print(f"trained in {time.monotonic() - started:.0f}s; exit codes {codes}", flush=True)

    # 3. score
    results = {}
    for recipe, code in codes.items():
        run = args.out / recipe
        if code != 0:
            print(f"{recipe} failed:\n" + (run / "stdout.txt").read_text()[-3000:])
            continue
        epochs, samples = plan[recipe]
        with open(run / "log.csv") as handle:
            train_seconds = float(list(csv.DictReader(handle))[-1]["seconds"])
        results[recipe] = {"epochs": epochs, "samples_per_epoch": samples,
                           "batch_size": args.batch_size, "train_seconds": train_seconds,
                           **score(run / "final.safetensors", args.data, args.render_size,
                                   args.device, run / "eval")}
        print(recipe, json.dumps(results[recipe]), flush=True)
    (args.out / "recipes.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"done in {time.monotonic() - started:.0f}s")
    return 0 if results else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
