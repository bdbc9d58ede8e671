"""Does leaving out the unused ab bins keep the colours? Two ONNX files of one model (the whole
grid, and ``autocolor export onnx --bins-from``'s) colour the validation photos, clean and as
old prints of the ``eval`` and ``eval-alt`` presets (seed 1000 + the photo's row), through the
whole ``Colorizer`` path; the outputs are compared pixel by pixel (issue 23: within 1 level of
today's on average) and the network's ab at the render size. ``--speed`` scores nothing: it
times the two networks (ONNX Runtime, the command's settings) interleaved in rounds, at the
renders of a 4:3 photo, and gives the ratio of the medians.

    autocolor export onnx --model src/autocolor/weights/default.safetensors \\
        -o runs/default-bins.onnx --bins-from data/corpus
    python scripts/bins_check.py --before src/autocolor/weights/default.onnx \\
        --after runs/default-bins.onnx
    python scripts/bins_check.py --before ... --after ... --speed
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from autocolor.color.constants import AB_SCALE
from autocolor.degrade import PRESETS, degrade
from autocolor.evaluate.photos import list_photos, load_rgb
from autocolor.images import lightness_from_pil
from autocolor.infer.colorizer import Colorizer
from autocolor.infer.onnx_backend import OnnxBackend

SEED = 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True)
    parser.add_argument("--after", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=Path("data/corpus"))
    parser.add_argument("--split", default="val")
    parser.add_argument("--speed", action="store_true", help="time the two networks instead")
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    if args.speed:
        return speed(args.before, args.after, args.rounds)
    before = Colorizer(OnnxBackend(args.before, cache=False))
    after = Colorizer(OnnxBackend(args.after, cache=False))
    rows: dict[str, list[tuple[float, int, float]]] = {"clean": [], "eval": [], "eval-alt": []}
    for index, photo in enumerate(list_photos(args.data, split=args.split)):
        original = load_rgb(photo.path)
        inputs = {"clean": Image.fromarray(original).convert("L")}
        for preset in ("eval", "eval-alt"):
            inputs[preset] = Image.fromarray(degrade(original, SEED + index, PRESETS[preset]).rgb)
        for kind, image in inputs.items():
            loaded = lightness_from_pil(image.convert("L"))
            outputs, abs_ = [], []
            for colorizer in (before, after):
                plan = colorizer.plan(loaded, Path("out.png"))
                [ab_norm] = colorizer.predict([plan.render_input])
                abs_.append(ab_norm)
                outputs.append(colorizer.finish_plan(plan, ab_norm).astype(np.int32))
            levels = np.abs(outputs[1] - outputs[0])
            rows[kind].append((float(levels.mean()), int(levels.max()),
                               float(np.abs(abs_[1] - abs_[0]).max()) * AB_SCALE))
    print(f"{len(rows['clean'])} photos of the {args.split} split; {args.before.name} against "
          f"{args.after.name}")
    print("| inputs | mean level difference (mean over photos) | largest level difference | "
          "largest ab difference at the render size (Lab units) |")
    print("| --- | ---: | ---: | ---: |")
    for kind, values in rows.items():
        print(f"| {kind} | {statistics.fmean(v[0] for v in values):.2e} | "
              f"{max(v[1] for v in values)} | {max(v[2] for v in values):.4f} |")
    return 0


def speed(before_path: Path, after_path: Path, rounds: int) -> int:
    """Median latency of each network, batch 1, interleaved (the first 3 rounds dropped)."""
    backends = {"before": OnnxBackend(before_path, cache=False),
                "after": OnnxBackend(after_path, cache=False)}
    rng = np.random.default_rng(0)
    print(f"| render | {before_path.name} | {after_path.name} | ratio |")
    print("| --- | ---: | ---: | ---: |")
    for height, width in ((192, 256), (384, 512)):
        l_norm = rng.uniform(-1, 1, (1, 1, height, width)).astype(np.float32)
        times: dict[str, list[float]] = {name: [] for name in backends}
        for _ in range(rounds):
            for name, backend in backends.items():
                start = time.perf_counter()
                backend.predict(l_norm)
                times[name].append(time.perf_counter() - start)
        before, after = (statistics.median(times[name][3:]) for name in backends)
        print(f"| {width}x{height} | {1000 * before:.1f} ms | {1000 * after:.1f} ms | "
              f"{after / before:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
