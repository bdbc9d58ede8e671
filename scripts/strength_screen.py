"""Screen: how hard the old-print crops are (issue 20, "screen the share and the strengths").

The shipped recipe degrades half of its crops with the ``default`` mix of autocolor.degrade. The
share was screened (0, 0.5, 0.8: docs/recipes.md, section 0); this screens the strengths, the
share kept at 0.5: one run of the recipe's first seed with a variant of the mix registered
under its own name, the decoding fixed at the shipped render size and temperature, so the
training's own sweep scores it as the render-size screen scored seed 0 (the validation split,
clean and as ``default`` old prints). Also scores the two reporting recipes on validation.

Variants (each a :func:`dataclasses.replace` of ``DEFAULT``):
- ``heavy``: the upper strengths about 1.5x the default's (blur, grain, fading, dust,
  scratches, low resolution, JPEG down to quality 5), probabilities unchanged: damage harder
  than our own evaluation recipes, as a hidden recipe may be.
- ``light``: the upper strengths about halfway to the lower ones.
- ``harder``: the upper strengths about 2x the default's where a limit leaves room (JPEG stays
  at quality 5, the fading near its limits), probabilities unchanged: the trend light < default
  < heavy, continued one step.

    python scripts/strength_screen.py --variant heavy --out runs/strength-heavy
    python scripts/strength_screen.py --variant harder --out runs/strength-harder
    python scripts/strength_screen.py --variant heavy --epochs 12 --out runs/strength-heavy-e12
    git show 58d2831:src/autocolor/weights/default.safetensors > runs/default-mix.safetensors
    python scripts/strength_screen.py --baseline runs/default-mix.safetensors --seed 0 \
        --out runs/strength-base

``--epochs N`` trains N epochs instead of the recipe's 6, the one-cycle schedule spread over
all of them (one run of 12 costs what the recipe's two runs of 6 cost together).

``--baseline FILE`` trains nothing: a joined model's run of ``--seed`` is three of its
decoders (FILE: the model bundled before the heavy mix, the default mix's; the join keeps each
run's decoders as they were), written to OUT and scored the same way, so every figure of the
comparison comes from one scoring path (``autocolor eval``, the torch backend, render 224, T
0.2; the ``default`` row is the training sweep's scoring).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from autocolor.degrade import config as degrade_config

DEFAULT = degrade_config.DEFAULT

VARIANTS = {
    "heavy": degrade_config.HEAVY,  # the bundled model's mix since this screen
    "light": replace(
        DEFAULT,
        print_blur_sigma=(0.3, 1.0), grain_std=(0.01, 0.04), grain_size=(0.3, 1.0),
        fade_black=(0.0, 0.15), fade_white=(0.85, 1.0), fade_gamma=(0.8, 1.2),
        vignette_amount=(0.05, 0.2), exposure_amount=(0.05, 0.2),
        dust_density=(1e-4, 1.5e-3), dust_size=(0.7, 1.6), scratch_count=(1.0, 3.0),
        scratch_width=(1.0, 1.8), crease_count=(1.0, 2.0), crease_width=(1.0, 1.5),
        scan_blur_sigma=(0.3, 0.8), low_res_factor=(1.5, 2.5), jpeg_quality=(30.0, 70.0),
    ),
    "harder": replace(
        DEFAULT,
        print_blur_sigma=(0.3, 4.0), grain_std=(0.01, 0.16), grain_size=(0.3, 2.5),
        fade_black=(0.0, 0.45), fade_white=(0.55, 1.0), fade_gamma=(0.5, 1.8),
        vignette_amount=(0.05, 0.6), exposure_amount=(0.05, 0.6),
        dust_density=(1e-4, 2e-2), dust_size=(0.7, 4.5), scratch_count=(1.0, 10.0),
        scratch_width=(1.0, 4.5), crease_count=(1.0, 6.0), crease_width=(1.0, 4.0),
        scan_blur_sigma=(0.3, 2.4), low_res_factor=(1.5, 8.0), jpeg_quality=(5.0, 60.0),
    ),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variant", choices=sorted(VARIANTS))
    parser.add_argument("--baseline", type=Path, metavar="FILE",
                        help="score the run of --seed in this joined model (three of its decoders)")
    parser.add_argument("--data", default="data/corpus")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=None,
                        help="train this many epochs instead of the recipe's 6 (the one-cycle "
                             "schedule spans them all)")
    parser.add_argument("--skip-train", action="store_true", help="score OUT's final weights")
    args = parser.parse_args()
    weights = args.out / "final.safetensors"
    if args.baseline:
        write_seed_run(args.baseline, weights, args.seed)
        return score(args, weights, {"variant": "default mix", "seed": args.seed})
    if args.variant is None:
        parser.error("give --variant or --baseline")

    name = f"screen-{args.variant}"
    degrade_config.PRESETS[name] = VARIANTS[args.variant]
    from autocolor.train.config import resolve_config
    from autocolor.train.loop import train

    config = resolve_config("own-photos", {
        "data": args.data, "out": str(args.out), "seed": args.seed, "degrade_preset": name,
        "render_sizes": (224,), "temperatures": (0.2,), "gates": (None,),
        "epochs": args.epochs})
    started = time.time()
    if not args.skip_train:
        args.out.mkdir(parents=True, exist_ok=True)
        train(config, resume=True)
    seconds = time.time() - started
    return score(args, weights, {"variant": args.variant, "seed": args.seed,
                                 "epochs": config.epochs, "train_seconds": round(seconds)})


def write_seed_run(joined: Path, weights: Path, seed: int) -> None:
    """The ``joined`` model's decoders of its run ``seed`` (0: members 0-2, 1: members 3-5;
    the join keeps each run's decoders in order) over its encoder -> ``weights``, with its
    decoding (the temperature; scored at render 224)."""
    from autocolor.models import create_model
    from autocolor.weights import load_model, save_weights

    model, metadata = load_model(joined)
    members = 3
    first = members * seed
    kwargs = {**model.model_kwargs, "members": members}
    run = create_model(model.architecture, pretrained=False, **kwargs)
    state = {}
    for key, value in model.state_dict().items():
        if key.startswith("decoders."):
            index = int(key.split(".")[1])
            if not first <= index < first + members:
                continue
            key = f"decoders.{index - first}." + key.split(".", 2)[2]
        state[key] = value
    run.load_state_dict(state, strict=True)
    run.eval()
    weights.parent.mkdir(parents=True, exist_ok=True)
    save_weights(run, weights, {k: v for k, v in metadata.items() if k != "joined_runs"}
                 | {"model_kwargs": {**metadata["model_kwargs"], "members": members}})


def score(args: argparse.Namespace, weights: Path, scores: dict) -> int:
    """``autocolor eval`` of the validation split, clean and as old prints of each preset."""
    for preset in ("default", "eval", "eval-alt"):
        report = args.out / f"val-{preset}"
        subprocess.run([sys.executable, "-m", "autocolor", "eval", "--model", str(weights),
                        "--backend", "torch", "--data", args.data, "--split", "val",
                        "--degraded", preset, "--render-size", "224", "--report", str(report)],
                       check=True)
        scores[preset] = json.loads((report / "metrics.json").read_text()).get("summary")
    (args.out / "screen.json").write_text(json.dumps(scores, indent=2) + "\n")
    print(json.dumps(scores, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
