"""``autocolor train --data CACHE_OR_FOLDER [--recipe NAME] [--out DIR] [overrides]``.

Running the same command again after a kill resumes from OUT/checkpoint.pt (``--restart`` to
start over). ``--config FILE`` loads a saved config.json (every run writes one).

On several GPUs (or CPU processes): ``torchrun --nproc-per-node N -m autocolor train ARGS``,
with ``--batch-size`` per process (:mod:`autocolor.train.distributed`). A second run on a
folder in use stops at once, naming the run that holds it (:mod:`autocolor.train.lock`).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from autocolor.train.config import RECIPES, TrainConfig, resolve_config

# CLI flag -> TrainConfig field, for the fields worth changing from the command line.
OVERRIDES = {
    "data": str, "out": str, "model": str, "epochs": int, "batch_size": int, "lr": float,
    "crop_size": int, "samples_per_epoch": int, "workers": int, "device": str,
    "max_minutes": float, "render_size": int, "encoder_weights": str, "seed": int,
    "freeze_encoder_epochs": int, "loss": str,
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--recipe", choices=sorted(RECIPES), default="quick",
                        help="named preset: quick (the default: a lite0-unet for 20 epochs, to "
                             "try), own-photos (the bundled model's design, its decoding chosen "
                             "on your validation photos), default (how the bundled model was "
                             "made, on the corpus: make train-default), ...")
    parser.add_argument("--config", type=Path, help="a config.json to start from")
    for name, kind in OVERRIDES.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=None)
    parser.add_argument("--no-pretrained", action="store_true", help="random encoder init")
    parser.add_argument("--restart", action="store_true", help="ignore an existing checkpoint")
    parser.add_argument("--stop-after", type=int, default=None, metavar="EPOCH",
                        help="end after this epoch; running again resumes (the schedule still "
                             "spans --epochs)")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    overrides = {name: getattr(args, name) for name in OVERRIDES}
    if args.no_pretrained:
        overrides["pretrained"] = False
    if args.config:
        base = json.loads(args.config.read_text())
        base.update({k: v for k, v in overrides.items() if v is not None})
        config = TrainConfig.from_dict(base)
    else:
        config = resolve_config(args.recipe, overrides)
    if args.seed is not None:  # one run of that seed, not the recipe's runs of several
        config.seeds = ()
    return config


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    # The loop (torch) first: without the `train` extra, fail at once, in one line (autocolor.cli).
    from autocolor.train import distributed
    from autocolor.train.lock import RunFolderInUse
    from autocolor.train.loop import train

    world = distributed.setup(config.device)  # under torchrun: join the other processes
    if not args.config and world.is_main:
        print(f"recipe {args.recipe}: {config.model}, {config.epochs} epochs of "
              f"{config.samples_per_epoch} crops of {config.crop_size} px"
              + ("; --recipe own-photos trains the bundled model's design"
                 if args.recipe == "quick" else ""), file=sys.stderr)
    try:
        # The folder is held before anything is written to it: the cache, --restart's deletions.
        with distributed.hold_run_folder(config.out, world):
            if world.is_main:
                prepare_run_folder(config, args.restart)
            distributed.barrier(world)
            config.data = distributed.broadcast(config.data, world)
            weights = train(config, resume=not args.restart, stop_after=args.stop_after)
    except RunFolderInUse as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        distributed.cleanup()
    print(weights)
    return 0


def prepare_run_folder(config, restart: bool) -> None:
    """A cache of a plain photo folder inside the run folder; ``--restart``'s clean slate."""
    from autocolor.data.cache import is_cache

    if not is_cache(config.data):
        # A plain folder of photos: prepare a cache inside the run folder first.
        from autocolor.data.prepare import prepare_folders

        cache = Path(config.out) / "cache"
        print(f"{config.data} is not a training cache; preparing one in {cache}")
        prepare_folders([Path(config.data)], cache)
        config.data = str(cache)
    if restart and Path(config.out).exists():
        # A run per seed (TrainConfig.seeds) keeps its own checkpoint in OUT/seed-N.
        for folder in [Path(config.out), *(Path(config.out) / f"seed-{s}" for s in config.seeds)]:
            for name in ("checkpoint.pt", "log.csv"):
                (folder / name).unlink(missing_ok=True)
            shutil.rmtree(folder / "grids", ignore_errors=True)
