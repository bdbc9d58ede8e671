"""The README's before/after figure: for each demo photo (samples/, the corpus's test split),
gray | bundled default model | original, from the colour originals in the corpus cache.

    python scripts/readme_images.py --data data/corpus --out docs/images/before-after.jpg
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np
from PIL import Image

from autocolor.data.cache import read_manifest
from autocolor.evaluate.evaluator import lab_to_rgb_u8
from autocolor.images import lightness_from_pil, load_rgb
from autocolor.infer.colorizer import Colorizer

CELL_HEIGHT = 260


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("data/corpus"))
    parser.add_argument("--samples", type=Path, default=Path("samples"))
    parser.add_argument("--model", default="default")
    parser.add_argument("--out", type=Path, default=Path("docs/images/before-after.jpg"))
    args = parser.parse_args()

    licenses = (args.samples / "LICENSES.md").read_text(encoding="utf-8")
    wanted = re.findall(r"`([0-9a-f]{64})`", licenses)
    by_sha = {record.sha256: record for record in read_manifest(args.data)
              if not record.file.startswith("comp-")}
    colorizer = Colorizer.from_pretrained(args.model)
    rows = []
    for sha in wanted:
        original = Image.fromarray(load_rgb(args.data / by_sha[sha].file))
        lightness = lightness_from_pil(original).lightness
        ours = lab_to_rgb_u8(lightness, colorizer.colorize_lightness(lightness))
        gray = lab_to_rgb_u8(lightness, None)
        cells = [Image.fromarray(a) for a in (gray, ours, np.asarray(original))]
        width = round(original.width * CELL_HEIGHT / original.height)
        rows.append([cell.resize((width, CELL_HEIGHT), Image.Resampling.LANCZOS) for cell in cells])
    canvas_width = max(sum(cell.width for cell in row) + 8 for row in rows)
    canvas = Image.new("RGB", (canvas_width, len(rows) * (CELL_HEIGHT + 4) - 4), "white")
    for index, row in enumerate(rows):
        x = 0
        for cell in row:
            canvas.paste(cell, (x, index * (CELL_HEIGHT + 4)))
            x += cell.width + 4
    args.out.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(args.out, quality=88)
    print(args.out)


if __name__ == "__main__":
    main()
