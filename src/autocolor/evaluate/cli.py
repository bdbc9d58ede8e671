"""``autocolor eval``: score a model against the gray baseline, optionally writing a report.

    autocolor eval --model M --data DIR [--report OUT] [--render-size N] [--limit N]
                   [--split train|val|test|test-oos|all] [--degraded [PRESET]]

DIR is a training cache (its ``--split`` is scored, ``val`` by default) or a plain folder of
colour photos (all of them, recursively). The model is loaded once.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from autocolor.evaluate.evaluator import DEFAULT_BATCH_SIZE, evaluate_folder
from autocolor.evaluate.photos import SPLIT_CHOICES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        default="default",
        help="weights name or path, as for Colorizer.from_pretrained (default: %(default)s)",
    )
    parser.add_argument(
        "--data",
        required=True,
        metavar="DIR",
        help="training cache (folder with manifest.tsv) or folder of colour photos",
    )
    parser.add_argument(
        "--report",
        metavar="OUT",
        help="write report.md, metrics.json, grids and a-b histograms to this folder",
    )
    parser.add_argument(
        "--render-size",
        type=int,
        metavar="N",
        help="render size of the model (default: the model's own)",
    )
    parser.add_argument(
        "--limit", type=int, metavar="N", help="score only the first N photos (by name)"
    )
    parser.add_argument(
        "--split",
        choices=SPLIT_CHOICES,
        default=None,
        help="split of a training cache to score (default: val); ignored for a plain folder",
    )
    parser.add_argument("--backend", default="auto", help="inference backend (default: auto)")
    parser.add_argument("--device", default="cpu", help="device (default: cpu)")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH_SIZE,
        metavar="N",
        help="photos per inference batch (default: %(default)s)",
    )
    parser.add_argument(
        "--score-max-side",
        type=int,
        metavar="PX",
        help="downscale photos with a longer side to PX after colourising, for "
        "scoring speed; the report says so (default: full size)",
    )
    parser.add_argument(
        "--degraded",
        nargs="?",
        const="eval",
        metavar="PRESET",
        help="also colour an old-print copy of every photo (autocolor.degrade preset: eval, "
        "eval-alt or default; bare: eval) and score its colour alone (the original's L with the "
        "predicted ab), beside the clean score, with how far the damage moves ab",
    )
    parser.add_argument(
        "--degrade-seed", type=int, default=0, metavar="N",
        help="seed of the old-print copies (default: %(default)s)",
    )
    parser.add_argument(
        "--restore", action="store_true",
        help="restore every input's lightness first, as colorize --restore does (auto steps); "
        "with --degraded, how restoring changes the colour of old prints",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _load_colorizer(args: argparse.Namespace) -> Any:
    from autocolor.infer.colorizer import Colorizer  # may import torch; only here

    return Colorizer.from_pretrained(
        args.model, backend=args.backend, device=args.device, render_size=args.render_size
    )


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from autocolor.data.cache import is_cache
    from autocolor.evaluate.report import format_summary

    data = Path(args.data)
    if not data.is_dir():
        print(f"error: --data {args.data}: not a folder", file=sys.stderr)
        return 2
    for name in ("limit", "render_size", "batch_size", "score_max_side"):
        value = getattr(args, name)
        if value is not None and value < (0 if name == "limit" else 1):
            print(f"error: --{name.replace('_', '-')} must be positive", file=sys.stderr)
            return 2
    if not is_cache(data) and args.split not in (None, "all"):
        print(
            f"note: {args.data} is not a training cache (no manifest.tsv); --split is ignored "
            "and every photo below it is scored",
            file=sys.stderr,
        )
    if args.degraded is not None:
        from autocolor.degrade import PRESETS

        if args.degraded not in PRESETS:
            print(f"error: --degraded {args.degraded}: unknown preset; available: "
                  f"{', '.join(PRESETS)}", file=sys.stderr)
            return 2
    colorizer = _load_colorizer(args)
    result = evaluate_folder(
        colorizer,
        data,
        split=args.split,
        limit=args.limit,
        report_dir=args.report,
        batch_size=args.batch_size,
        score_max_side=args.score_max_side,
        progress=not args.no_progress,
        degraded=args.degraded,
        degrade_seed=args.degrade_seed,
        restore=args.restore,
        settings={
            "model": args.model,
            "backend": args.backend,
            "device": args.device,
            **({"render_size": args.render_size} if args.render_size else {}),
        },
    )
    for item in result["skipped"]:
        print(f"skipped {item['file']}: {item['error']}", file=sys.stderr)
    if not result["images"]:
        print(f"error: no photos to score in {args.data}", file=sys.stderr)
        return 1
    print(f"{len(result['images'])} photos")
    print(format_summary(result))
    if result.get("report"):
        print(f"report: {result['report']}")
    return 0
