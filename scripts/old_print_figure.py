"""The README's old-print figure: an old-print copy as a user would scan it | what the previous
bundled model makes of it | what the current one makes of it | the original colour photo.

Each model's cell is what a user gets (the damaged lightness with the predicted colour) and is
labelled with the score of its colour alone (the original's L with the predicted ab, PSNR minus
the gray baseline's), as ``autocolor eval --degraded`` scores it. Rows: the first photos of a
split, then the worst old prints of an evaluation by the current model.

    autocolor eval --model default --data data/corpus --split test-oos --degraded eval \\
        --report runs/eval-test-oos-eval
    python scripts/old_print_figure.py --previous runs/old/default.onnx \\
        --worst-from runs/eval-test-oos-eval/metrics.json --out docs/images/old-prints.jpg
"""

from __future__ import annotations

import argparse
import json
import zlib
from pathlib import Path

from PIL import Image
from readme_images import label, save_rows  # scripts/, beside this file

from autocolor.data.cache import read_manifest
from autocolor.degrade import PRESETS, degrade
from autocolor.evaluate.evaluator import lab_to_rgb_u8
from autocolor.evaluate.metrics import psnr, rgb_to_lab_u8
from autocolor.images import load_rgb
from autocolor.infer.colorizer import Colorizer

CELL_HEIGHT = 220


def row_for(models: list[tuple[str, Colorizer]], path: Path, name: str, preset: str,
            seed: int) -> list[Image.Image]:
    truth = load_rgb(path)
    lightness = rgb_to_lab_u8(truth)[..., 0]
    # the same copy `autocolor eval --degraded PRESET --degrade-seed SEED` scores
    old = degrade(truth, seed=zlib.crc32(name.encode()) ^ seed, config=PRESETS[preset]).rgb
    damaged = rgb_to_lab_u8(old)[..., 0]
    gray_psnr = psnr(truth, lab_to_rgb_u8(lightness, None))
    cells = [label(Image.fromarray(old), f"old print ({preset})")]
    for title, colorizer in models:
        ab = colorizer.colorize_lightness(damaged)
        gain = psnr(truth, lab_to_rgb_u8(lightness, ab)) - gray_psnr
        cells.append(label(Image.fromarray(lab_to_rgb_u8(damaged, ab)),
                           f"{title}: {gain:+.1f} dB vs gray"))
    cells.append(label(Image.fromarray(truth), "original"))
    width = round(truth.shape[1] * CELL_HEIGHT / truth.shape[0])
    return [cell.resize((width, CELL_HEIGHT), Image.Resampling.LANCZOS) for cell in cells]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("data/corpus"))
    parser.add_argument("--split", default="test-oos")
    parser.add_argument("--first", type=int, default=3, help="first photos of the split")
    parser.add_argument("--model", default="default")
    parser.add_argument("--previous", default=None, help="the previous model, for comparison")
    parser.add_argument("--preset", default="eval")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worst-from", type=Path, default=None,
                        help="metrics.json of `autocolor eval --degraded` by the current model")
    parser.add_argument("--worst", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("docs/images/old-prints.jpg"))
    args = parser.parse_args()

    models = [("now", Colorizer.from_pretrained(args.model))]
    if args.previous:
        models.insert(0, ("before", Colorizer.from_pretrained(args.previous)))
    records = sorted((r for r in read_manifest(args.data) if r.split == args.split),
                     key=lambda r: r.file)
    names = [r.file for r in records[:args.first]]
    if args.worst_from:
        images = json.loads(args.worst_from.read_text())["images"]
        images.sort(key=lambda row: row["degraded"]["ours"]["psnr"] - row["gray"]["psnr"])
        names += [row["file"] for row in images[:args.worst] if row["file"] not in names]
    rows = [row_for(models, args.data / name, name, args.preset, args.seed) for name in names]
    save_rows(rows, args.out, CELL_HEIGHT)
    print(args.out)


if __name__ == "__main__":
    main()
