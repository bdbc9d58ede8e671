"""The README's restoration figure: what ``--restore`` does to real black-and-white photos and
to old prints, before and after colouring.

Each row: the input as scanned | its lightness after ``--restore`` (auto; labelled with the steps
that ran) | coloured without restoring | coloured after restoring | the original colour photo
(old-print copies only). The first rows are real black-and-white photos given with
``--real`` (files); the others are old-print copies (:mod:`autocolor.degrade`, the ``eval`` and
``eval-alt`` presets, alternating) of the first photos of a split, labelled with the L* PSNR
of the input and of the restored lightness against the clean original.

    python scripts/bw_photos.py   # the real photos, into runs/oldphotos
    python scripts/restore_figure.py --real runs/oldphotos/*.png --split val \\
        --out docs/images/restore.jpg
"""

from __future__ import annotations

import argparse
import zlib
from pathlib import Path

import numpy as np
from PIL import Image
from readme_images import label, save_rows  # scripts/, beside this file

from autocolor.data.cache import read_manifest
from autocolor.degrade import PRESETS, degrade
from autocolor.evaluate.evaluator import lab_to_rgb_u8
from autocolor.evaluate.metrics import rgb_to_lab_u8
from autocolor.images import load_image, load_rgb
from autocolor.infer.colorizer import Colorizer
from autocolor.restore import restore_lightness

CELL_HEIGHT = 200


def l_psnr(truth: np.ndarray, candidate: np.ndarray) -> float:
    error = float(np.mean((truth.astype(np.float64) - candidate) ** 2))
    return 100.0 if error == 0 else 10 * np.log10(100.0 ** 2 / error)


def row_for(colorizer: Colorizer, lightness: np.ndarray, title: str,
            original: np.ndarray | None = None) -> list[Image.Image]:
    """One row of cells for a photo's (H, W) L* as scanned (and its colour original)."""
    truth = rgb_to_lab_u8(original)[..., 0] if original is not None else None
    restored = restore_lightness(lightness)
    steps = ", ".join(restored.ran) or "nothing found: left as it was"
    cells = [label(Image.fromarray(lab_to_rgb_u8(lightness, None)), title)]
    after = f"--restore: {steps}"
    if truth is not None:
        after += f" ({l_psnr(truth, restored.lightness):.1f} dB)"
        cells[0] = label(cells[0], f"{title} ({l_psnr(truth, lightness):.1f} dB L*)")
    cells.append(label(Image.fromarray(lab_to_rgb_u8(restored.lightness, None)), after))
    for name, source, seen in (("coloured as scanned", lightness, None),
                               ("coloured after --restore", restored.lightness,
                                restored.before_levels)):
        # as --restore colours it: the network sees the lightness before the levels stretch
        ab = colorizer.colorize_lightness(source, coloured_from=seen)
        cells.append(label(Image.fromarray(lab_to_rgb_u8(source, ab)), name))
    if original is not None:
        cells.append(label(Image.fromarray(original), "original"))
    width = round(lightness.shape[1] * CELL_HEIGHT / lightness.shape[0])
    return [cell.resize((width, CELL_HEIGHT), Image.Resampling.LANCZOS) for cell in cells]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--real", type=Path, nargs="*", default=[],
                        help="real black-and-white photos (files)")
    parser.add_argument("--data", type=Path, default=Path("data/corpus"))
    parser.add_argument("--split", default="val")
    parser.add_argument("--first", type=int, default=4, help="first photos of the split")
    parser.add_argument("--model", default="default")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("docs/images/restore.jpg"))
    args = parser.parse_args()

    colorizer = Colorizer.from_pretrained(args.model)
    rows = [row_for(colorizer, load_image(path).lightness, f"real B/W: {path.stem}")
            for path in args.real]
    records = sorted((r for r in read_manifest(args.data) if r.split == args.split),
                     key=lambda r: r.file)
    for index, record in enumerate(records[:args.first]):
        preset = ("eval", "eval-alt")[index % 2]
        truth_rgb = load_rgb(args.data / record.file)
        old = degrade(truth_rgb, seed=zlib.crc32(record.file.encode()) ^ args.seed,
                      config=PRESETS[preset]).rgb
        rows.append(row_for(colorizer, rgb_to_lab_u8(old)[..., 0].astype(np.float32),
                            f"old print ({preset})", truth_rgb))
    save_rows(rows, args.out, CELL_HEIGHT)
    print(args.out)


if __name__ == "__main__":
    main()
