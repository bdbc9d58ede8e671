"""How much ``--restore`` recovers of an old print's lightness, and what it costs a clean photo.

The corpus's photos of the chosen splits (``manifest.tsv``; ``--splits val`` to choose settings
on, ``test,test-oos`` to report once) are degraded
into old prints with :mod:`autocolor.degrade` (presets ``eval`` and ``eval-alt``, seed 1000 +
the photo's row), read back as the command line reads a file (``images.lightness_from_pil``),
and restored with :func:`autocolor.restore.restore_lightness`: each step alone, and ``auto``.
The truth is the clean photo's L* (``autocolor.evaluate.metrics.rgb_to_lab_u8``). Printed as
Markdown:

1. per preset and variant: L* PSNR (peak 100) and SSIM (skimage, data range 100) of the degraded
   input and of the restored lightness against the clean L*, their difference, the photos on
   which ``auto`` ran each step; for the variants that inpaint, the precision and recall of the
   dust-and-scratch mask (as found, and as inpainted: grown by ``mask_grow``) against the
   degradation's own ``damage`` mask, pooled over the photos;
2. on the clean photos: ``auto`` against the input (L* PSNR; a photo left as it was counts as
   identical, shown as 100 dB in the mean), how many photos it changed, and with which steps.

Usage: ``python scripts/restore_measure.py [--corpus data/corpus] [--splits val] [--limit N]``.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image
from skimage.metrics import structural_similarity

from autocolor.degrade import PRESETS, degrade
from autocolor.evaluate.metrics import rgb_to_lab_u8
from autocolor.images import lightness_from_pil, load_rgb
from autocolor.restore import DEFAULT_CONFIG, STEPS, RestoreConfig, restore_lightness
from autocolor.restore.damage import find_damage
from autocolor.restore.grain import noise_sigma
from autocolor.restore.halftone import find_screen, remove_halftone

DEGRADED = ("eval", "eval-alt")
VARIANTS = (*STEPS, "auto")
SEED = 1000
# The value an identical photo's PSNR is counted as in a mean (PSNR is infinite there).
IDENTICAL_DB = 100.0


def psnr(truth: np.ndarray, candidate: np.ndarray) -> float:
    error = float(np.mean((truth.astype(np.float64) - candidate) ** 2))
    return IDENTICAL_DB if error == 0 else min(IDENTICAL_DB, 10 * math.log10(100.0 ** 2 / error))


def ssim(truth: np.ndarray, candidate: np.ndarray) -> float:
    return float(structural_similarity(truth, candidate, data_range=100.0))


def split_photos(corpus: Path, splits: tuple[str, ...], limit: int | None) -> list[Path]:
    with open(corpus / "manifest.tsv", newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle, delimiter="\t") if row["split"] in splits]
    return [corpus / row["file"] for row in rows[:limit]]


def found_mask(lightness: np.ndarray, steps: tuple[str, ...]) -> np.ndarray:
    """The dust-and-scratch mask as found (before growing) on the input as the pipeline sees it
    (after the halftone notch when the screen is removed)."""
    if "halftone" in steps:
        lightness = remove_halftone(lightness, find_screen(lightness))
    damage = find_damage(lightness, noise_sigma(lightness))
    return damage.mask(lightness.shape, "dust" in steps, "scratches" in steps)


class Pooled:
    """Pixel counts of a mask against the truth, summed over photos."""

    def __init__(self) -> None:
        self.hit = self.flagged = self.true = 0

    def add(self, mask: np.ndarray, truth: np.ndarray) -> None:
        self.hit += int((mask & truth).sum())
        self.flagged += int(mask.sum())
        self.true += int(truth.sum())

    def text(self) -> str:
        precision = self.hit / self.flagged if self.flagged else float("nan")
        recall = self.hit / self.true if self.true else float("nan")
        return f"{precision:.2f} / {recall:.2f}"


def measure(paths: list[Path], config: RestoreConfig = DEFAULT_CONFIG,
            variants: tuple[str, ...] = VARIANTS) -> tuple[str, dict]:
    rows: list[str] = []
    summary: dict = {}
    header = ("| preset | variant | photos run | L* PSNR in | L* PSNR out | gain dB (min, max) "
              "| SSIM in | SSIM out | mask P / R found | mask P / R inpainted |")
    rows += [header, "|" + "---|" * (header.count("|") - 1)]
    clean_psnr: list[float] = []
    clean_ran: Counter[str] = Counter()
    clean_changed = 0
    clean_l = []
    for path in paths:
        rgb = load_rgb(path)
        clean_l.append((rgb, rgb_to_lab_u8(rgb)[..., 0]))
    seconds: list[float] = []
    for preset in DEGRADED:
        inputs = []
        for index, (rgb, truth) in enumerate(clean_l):
            degraded = degrade(rgb, seed=SEED + index, config=PRESETS[preset])
            lightness = lightness_from_pil(Image.fromarray(degraded.rgb)).lightness
            inputs.append((truth, lightness, degraded.damage))
        psnr_in = [psnr(t, x) for t, x, _ in inputs]
        ssim_in = [ssim(t, x) for t, x, _ in inputs]
        for variant in variants:
            steps = "auto" if variant == "auto" else [variant]
            out_psnr, out_ssim, ran = [], [], Counter()
            found, inpainted = Pooled(), Pooled()
            for truth, lightness, damage in inputs:
                started = time.perf_counter()
                restored = restore_lightness(lightness, steps, config)
                if variant == "auto":
                    seconds.append(time.perf_counter() - started)
                ran.update(restored.ran)
                out_psnr.append(psnr(truth, restored.lightness))
                out_ssim.append(ssim(truth, restored.lightness))
                fills = {"dust", "scratches"} & set(restored.ran)
                if fills:
                    found.add(found_mask(lightness, tuple(restored.ran)), damage)
                    inpainted.add(restored.mask, damage)
            gain = np.array(out_psnr) - np.array(psnr_in)
            run = ", ".join(f"{step} {ran[step]}" for step in STEPS if ran[step]) or "-"
            masks = (found.text(), inpainted.text()) if found.flagged or found.true else ("-", "-")
            rows.append(f"| {preset} | {variant} | {run} | {np.mean(psnr_in):.2f} | "
                        f"{np.mean(out_psnr):.2f} | {gain.mean():+.2f} ({gain.min():+.2f}, "
                        f"{gain.max():+.2f}) | {np.mean(ssim_in):.3f} | {np.mean(out_ssim):.3f} | "
                        f"{masks[0]} | {masks[1]} |")
            summary[(preset, variant)] = gain.mean()
            print(rows[-1], file=sys.stderr, flush=True)
    for _, truth in clean_l:
        restored = restore_lightness(truth, "auto", config)
        clean_ran.update(restored.ran)
        clean_changed += bool(restored.ran)
        clean_psnr.append(psnr(truth, restored.lightness))
    run = ", ".join(f"{step} {clean_ran[step]}" for step in STEPS if clean_ran[step]) or "-"
    rows += ["", "| clean photos | changed by auto | steps run | L* PSNR mean | L* PSNR worst |",
             "|---|---|---|---|---|",
             f"| {len(clean_psnr)} | {clean_changed} | {run} | {np.mean(clean_psnr):.1f} | "
             f"{np.min(clean_psnr):.1f} |",
             "", f"auto on the degraded copies: {np.median(seconds) * 1000:.0f} ms median, "
             f"{np.max(seconds) * 1000:.0f} ms at most per photo "
             f"({np.median([t.size for t, _ in clean_l]) / 1e6:.2f} MP median)"]
    summary["clean"] = (np.mean(clean_psnr), np.min(clean_psnr))
    return "\n".join(rows), summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path("data/corpus"))
    parser.add_argument("--splits", default="val",
                        help="comma-separated splits (default val: settings are chosen there)")
    parser.add_argument("--limit", type=int, default=None, help="the first N photos only")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a RestoreConfig field to change (repeatable), for screening")
    parser.add_argument("--variants", help="comma-separated: steps and/or auto (default all)")
    args = parser.parse_args(argv)
    splits = tuple(name.strip() for name in args.splits.split(",") if name.strip())
    paths = split_photos(args.corpus, splits, args.limit)
    if not paths:
        print(f"error: no photos of {args.splits} in {args.corpus}/manifest.tsv", file=sys.stderr)
        return 1
    settings = {}
    for item in args.set:
        key, _, value = item.partition("=")
        settings[key] = float(value)
    config = replace(DEFAULT_CONFIG, **settings)
    variants = tuple(args.variants.split(",")) if args.variants else VARIANTS
    table, _ = measure(paths, config, variants)
    print(f"{len(paths)} photos of {args.corpus} ({', '.join(splits)}), degraded with "
          f"seeds {SEED}..{SEED + len(paths) - 1}\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
