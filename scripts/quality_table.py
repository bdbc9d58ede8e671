"""The README's "How good is it" table from ``autocolor eval --report`` folders: per split, the
model and the gray baseline on every photo, then the people photos apart, then the worst photos.

    autocolor eval --model default --data data/corpus --split val --report runs/eval-val
    autocolor eval --model default --data data/corpus --split test --report runs/eval-test
    python scripts/quality_table.py val=runs/eval-val test=runs/eval-test
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from autocolor.evaluate.evaluator import summarize


def rows_for(label: str, images: list[dict]) -> list[str]:
    """Two table rows (ours, gray) over ``images`` (metrics.json's per-photo entries), summarised
    by ``autocolor eval``'s own code."""
    summary = summarize(images, by_subject=False)
    out = []
    for who, name in (("ours", "**autocolor**"), ("gray", "gray baseline")):
        mean = summary[who]
        blotches = str(summary["blotches"]["below_gray"]) if who == "ours" else ""
        out.append(f"| {label if who == 'ours' else ''} | {name} | {mean['psnr']:.2f} | "
                   f"{mean['ssim']:.3f} | {mean['ciede2000']:.2f} | {100 * mean['ab_auc']:.1f} | "
                   f"{summary['colorfulness_ratio'][who]:.2f} | {blotches} |")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("reports", nargs="+", metavar="SPLIT=DIR")
    args = parser.parse_args()
    lines = ["| photos | | PSNR dB | SSIM | CIEDE2000 (lower is better) | ab AuC % | "
             "colourfulness / originals' | photos > 3 dB below gray |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    worst = []
    for item in args.reports:
        split, _, folder = item.partition("=")
        result = json.loads((Path(folder) / "metrics.json").read_text())
        images = result["images"]
        lines += rows_for(f"{split}: all {len(images)}", images)
        people = [image for image in images if image.get("subject") == "people"]
        if people:
            lines += rows_for(f"{split}: the {len(people)} people photos", people)
        for image in images:
            worst.append((image["ours"]["psnr"] - image["gray"]["psnr"], split, image["file"]))
    print("\n".join(lines))
    print("\nworst photos (PSNR - gray):")
    for delta, split, name in sorted(worst)[:6]:
        print(f"  {split}: {name} {delta:+.2f} dB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
