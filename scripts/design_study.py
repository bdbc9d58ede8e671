"""Train several lite0-unet designs with the `default` recipe and several seeds, all at once (meant
for a GPU machine: scripts/gpu_design_study.sh), and pack the weights and logs for scoring with
`autocolor eval` on the CPU (docs/recipes.md, section 2).

    python scripts/design_study.py --out runs/study --seeds 0 1 2 \
        --variant 'default={}' --variant 'default-s2={"head_stride": 2, "decoder_channels": [160, 96, 64, 32, 16]}'

Each variant is NAME=JSON: model kwargs laid over the default recipe's. Writes
OUT/NAME-seedS/ (a normal training run) and, with --pack DIR, DIR/NAME-seedS.safetensors plus
DIR/logs.tgz (log.csv, decoding.csv, config.json and the console log of every run).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from autocolor.train.config import resolve_config  # noqa: E402


def parse_variant(text: str) -> tuple[str, dict]:
    name, separator, kwargs = text.partition("=")
    if not separator or not name:
        raise argparse.ArgumentTypeError(f"--variant must look like NAME=JSON, got {text!r}")
    return name, json.loads(kwargs or "{}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="data/corpus")
    parser.add_argument("--out", type=Path, default=Path("runs/study"))
    parser.add_argument("--variant", type=parse_variant, action="append", required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--max-minutes", type=float, default=None,
                        help="cap each run's training time (a run cut short logs fewer epochs)")
    parser.add_argument("--pack", type=Path, default=None)
    args = parser.parse_args()

    args.out.mkdir(parents=True, exist_ok=True)
    processes = []
    for name, kwargs in args.variant:
        config = resolve_config("default", {"data": args.data})
        config.model_kwargs = {**config.model_kwargs, **kwargs}
        config_path = args.out / f"{name}.config.json"
        config.save(config_path)
        for seed in args.seeds:
            run = f"{name}-seed{seed}"
            command = [sys.executable, "-m", "autocolor.cli", "train", "--config", str(config_path),
                       "--out", str(args.out / run), "--seed", str(seed), "--device",
                       args.device, "--restart"]
            if args.max_minutes:
                command += ["--max-minutes", str(args.max_minutes)]
            log = open(args.out / f"{run}.log", "w")
            processes.append((run, subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                                    env={**os.environ, "PYTHONUNBUFFERED": "1"})))
    failed = [run for run, process in processes if process.wait() != 0]
    for run in failed:
        print(f"{run}: failed, see {args.out / (run + '.log')}", file=sys.stderr)
    if args.pack:
        args.pack.mkdir(parents=True, exist_ok=True)
        with tarfile.open(args.pack / "logs.tgz", "w:gz") as archive:
            for run, _ in processes:
                weights = args.out / run / "final.safetensors"
                if weights.is_file():
                    (args.pack / f"{run}.safetensors").write_bytes(weights.read_bytes())
                for file in ("log.csv", "decoding.csv", "config.json"):
                    if (args.out / run / file).is_file():
                        archive.add(args.out / run / file, arcname=f"{run}/{file}")
                archive.add(args.out / f"{run}.log", arcname=f"{run}.log")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
