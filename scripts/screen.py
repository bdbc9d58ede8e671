"""Screen model designs on the real validation photos: train each design (one at a time, so they
do not share the 2 cores), then score it through ``autocolor eval``'s code at several decoding
temperatures, next to gray. Used for the comparison in docs/recipes.md.

    python scripts/screen.py --out runs/screen --design 'lite0-ft={"recipe": "default"}' \
        --design 'lite2-frozen={"recipe": "default", "model": "lite2-unet", "freeze_encoder_epochs": 99}'

Each design is NAME=JSON: a TrainConfig override dict; "recipe" picks the base recipe. ``--seeds``
trains each design once per seed (NAME-sSEED). Results: OUT/screen.json (one row per design,
seed, temperature and confidence gate), printed as a table. A design already in screen.json is
not trained again (delete its entry to redo it); one scored with an older grid is re-scored. CPU time is the user + system time of the training process and its
data workers (``resource.getrusage(RUSAGE_CHILDREN)``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

TEMPERATURES = (1.0, 0.6, 0.4)
GATES = (None, (0.1, 0.4), (0.2, 0.5), (0.3, 0.6))


def child_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def train(name: str, overrides: dict, out: Path, data: str) -> dict:
    """Train one design in a child process; returns wall and CPU seconds."""
    from autocolor.train.config import resolve_config

    overrides = dict(overrides)
    recipe = overrides.pop("recipe", None)
    config = resolve_config(recipe, {"data": data, **overrides, "out": str(out)})
    out.mkdir(parents=True, exist_ok=True)
    config.save(out / "design.json")
    cpu_before, started = child_cpu_seconds(), time.monotonic()
    with open(out / "stdout.txt", "w") as log:
        code = subprocess.call([sys.executable, "-m", "autocolor.cli", "train", "--config",
                                str(out / "design.json"), "--restart"], stdout=log,
                               stderr=subprocess.STDOUT)
    if code != 0:
        raise RuntimeError(f"{name} failed; see {out / 'stdout.txt'}")
    costs = {"wall_seconds": time.monotonic() - started,
             "cpu_seconds": child_cpu_seconds() - cpu_before}
    (out / "costs.json").write_text(json.dumps(costs) + "\n")
    return costs


def per_photo(result: dict) -> dict:
    """Blotch measures from the per-photo rows (``autocolor eval``'s ``blotches``), and every
    photo's PSNR of ours - gray."""
    from autocolor.evaluate.evaluator import blotches

    found = blotches(result["images"], worst=1)
    deltas = [row["ours"]["psnr"] - row["gray"]["psnr"] for row in result["images"]]
    return {"below_gray_3db": found["below_gray"], "photos": len(deltas),
            "worst_delta_psnr": found["worst"][0]["psnr_minus_gray"],
            "worst_photo": found["worst"][0]["file"],
            "deltas": [round(float(d), 3) for d in deltas]}


def score(weights: Path, data: str, temperatures: tuple[float, ...], split: str,
          gates: tuple) -> list[dict]:
    """Rows per (temperature, gate): the designs compared with no gate at the same
    temperatures, and each gate on top."""
    from autocolor.evaluate import evaluate_folder
    from autocolor.infer.colorizer import Colorizer

    # bilinear: designs are compared on the network alone (the upsampling is chosen apart)
    colorizer = Colorizer.from_pretrained(weights, backend="torch", upsampling="bilinear")
    head = getattr(colorizer.backend.model, "head", None)
    rows = []
    if head is None or not hasattr(head, "temperature"):
        settings = [(None, None)]
        tuned = None
    else:
        settings = [(t, g) for t in temperatures for g in gates]
        tuned = (float(head.temperature), [float(v) for v in head.gate] if head.gated else None)
    for temperature, gate in settings:
        if temperature is not None:
            colorizer.backend.model.set_decoding(temperature, gate)
        result = evaluate_folder(colorizer, data, split=split, progress=False)
        summary = result["summary"]
        rows.append({"temperature": temperature, "gate": gate, "tuned": tuned,
                     "delta": summary["delta"], "gray": summary["gray"],
                     "cf_ratio": summary["colorfulness_ratio"]["ours"], **per_photo(result)})
    return rows


def print_row(name: str, row: dict, costs: dict) -> None:
    d = row["delta"]
    temperature = "-" if row["temperature"] is None else f"{row['temperature']:g}"
    gate = "-" if not row.get("gate") else "{:g}:{:g}".format(*row["gate"])
    print(f"{name:28s} T={temperature:5s} gate={gate:7s} dPSNR {d['psnr']:+.2f}  dCIEDE {d['ciede2000']:+.2f}  "
          f"dAuC {d['ab_auc']:+.4f}  CF {row['cf_ratio']:.2f}  <-3dB {row['below_gray_3db']}/"
          f"{row['photos']}  worst {row['worst_delta_psnr']:+.1f} ({row['worst_photo'][:28]})  "
          f"cpu {costs['cpu_seconds'] / 60 if costs.get('cpu_seconds') else float('nan'):.0f} min",
          flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("runs/screen"))
    parser.add_argument("--data", default="data/corpus")
    parser.add_argument("--design", action="append", default=[], metavar="NAME=JSON")
    parser.add_argument("--seeds", default="0", help="comma-separated training seeds")
    parser.add_argument("--temperatures", default=",".join(map(str, TEMPERATURES)))
    parser.add_argument("--gates", default="none,0.1:0.4,0.2:0.5,0.3:0.6",
                        help="confidence gates LOW:HIGH (none = off) scored at each temperature")
    parser.add_argument("--split", default="val", help="val; test only for the final report")
    args = parser.parse_args()
    temperatures = tuple(float(t) for t in args.temperatures.split(","))
    gates = tuple(None if g == "none" else tuple(float(v) for v in g.split(":"))
                  for g in args.gates.split(","))
    results_path = args.out / "screen.json"
    results = json.loads(results_path.read_text()) if results_path.is_file() else {}
    for item in args.design:
        name, _, spec = item.partition("=")
        overrides = json.loads(spec)
        for seed in (int(s) for s in args.seeds.split(",")):
            key = f"{name}-s{seed}"
            run = args.out / key
            done = results.get(key)
            if done and all("gate" in row for row in done["rows"]):
                for row in done["rows"]:
                    print_row(key, row, done["costs"])
                continue
            if done and (run / "final.safetensors").is_file():
                costs = done["costs"]  # trained already, scored with an older grid: re-score
            elif (run / "final.safetensors").is_file() and (run / "costs.json").is_file():
                costs = json.loads((run / "costs.json").read_text())  # trained, not scored
            else:
                costs = train(key, {**overrides, "seed": seed}, run, args.data)
            rows = score(run / "final.safetensors", args.data, temperatures, args.split, gates)
            results[key] = {"overrides": overrides, "seed": seed, "costs": costs, "rows": rows}
            args.out.mkdir(parents=True, exist_ok=True)
            results_path.write_text(json.dumps(results, indent=1) + "\n")
            for row in rows:
                print_row(key, row, costs)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
