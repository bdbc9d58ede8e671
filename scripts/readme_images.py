"""The README's before/after figure: gray | bundled default model | original, for each demo photo
(samples/, from the corpus's test split) and then for the worst test photos of an evaluation
(the lowest PSNR against the gray baseline), each row labelled with its PSNR minus gray's.

    autocolor eval --model default --data data/corpus --split test --report runs/eval-test
    python scripts/readme_images.py --data data/corpus --worst-from runs/eval-test/metrics.json \
        --worst 3 --out docs/images/before-after.jpg
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from autocolor.data.cache import read_manifest
from autocolor.evaluate.evaluator import lab_to_rgb_u8
from autocolor.evaluate.metrics import psnr
from autocolor.images import lightness_from_pil, load_rgb
from autocolor.infer.colorizer import Colorizer

CELL_HEIGHT = 260
GAP = 4


def row_for(colorizer: Colorizer, path: Path, kind: str) -> list[Image.Image]:
    """gray | ours | original of one photo, scaled to CELL_HEIGHT, "ours" labelled."""
    original = Image.fromarray(load_rgb(path))
    lightness = lightness_from_pil(original).lightness
    ours = lab_to_rgb_u8(lightness, colorizer.colorize_lightness(lightness))
    gray = lab_to_rgb_u8(lightness, None)
    truth = np.asarray(original)
    text = f"{kind}: {psnr(truth, ours) - psnr(truth, gray):+.1f} dB vs gray"
    width = round(original.width * CELL_HEIGHT / original.height)
    cells = [Image.fromarray(a).resize((width, CELL_HEIGHT), Image.Resampling.LANCZOS)
             for a in (gray, ours, truth)]
    label(cells[1], text)
    return cells


def label(cell: Image.Image, text: str) -> Image.Image:
    """White text on a black box in the top-left corner of ``cell`` (in place)."""
    draw = ImageDraw.Draw(cell)
    box = draw.textbbox((6, 6), text)
    draw.rectangle((box[0] - 3, box[1] - 3, box[2] + 3, box[3] + 3), fill=(0, 0, 0))
    draw.text((6, 6), text, fill=(255, 255, 255))
    return cell


def save_rows(rows: list[list[Image.Image]], out: Path, cell_height: int = CELL_HEIGHT) -> None:
    """Rows of equally tall cells, GAP apart, on white, saved as a JPEG."""
    canvas_width = max(sum(cell.width for cell in row) + (len(row) - 1) * GAP for row in rows)
    canvas = Image.new("RGB", (canvas_width, len(rows) * (cell_height + GAP) - GAP), "white")
    for index, row in enumerate(rows):
        x = 0
        for cell in row:
            canvas.paste(cell, (x, index * (cell_height + GAP)))
            x += cell.width + GAP
    out.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(out, quality=88)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("data/corpus"))
    parser.add_argument("--samples", type=Path, default=Path("samples"))
    parser.add_argument("--model", default="default")
    parser.add_argument("--worst-from", type=Path, default=None,
                        help="metrics.json of an `autocolor eval` of the test split")
    parser.add_argument("--worst", type=int, default=3, help="worst photos to add")
    parser.add_argument("--out", type=Path, default=Path("docs/images/before-after.jpg"))
    args = parser.parse_args()

    licenses = (args.samples / "LICENSES.md").read_text(encoding="utf-8")
    wanted = re.findall(r"`([0-9a-f]{64})`", licenses)
    by_sha = {record.sha256: record for record in read_manifest(args.data)}
    colorizer = Colorizer.from_pretrained(args.model)
    rows = [row_for(colorizer, args.data / by_sha[sha].file, "demo") for sha in wanted]
    if args.worst_from:
        images = json.loads(args.worst_from.read_text())["images"]
        images.sort(key=lambda row: row["ours"]["psnr"] - row["gray"]["psnr"])
        for rank, row in enumerate(images[:args.worst], start=1):
            rows.append(row_for(colorizer, args.data / row["file"], f"worst #{rank}"))
    save_rows(rows, args.out)
    print(args.out)


if __name__ == "__main__":
    main()
