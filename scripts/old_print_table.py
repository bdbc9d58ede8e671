"""The README's clean-and-old-prints table from ``autocolor eval --degraded`` report folders:
each split's clean photos and their old-print copies (colour alone), against the gray baseline,
every photo and then the people photos apart.

    autocolor eval --model default --data data/corpus --split val --degraded eval \\
        --report runs/eval-val-eval
    python scripts/old_print_table.py "out-of-source val=runs/eval-val-eval" ...

Several reports of one split with different presets give one clean row and one row per preset.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from autocolor.evaluate.evaluator import summarize

HEADER = ["| photos | input | PSNR vs gray | CIEDE2000 vs gray | ab AuC vs gray | "
          "colourfulness / originals' | photos > 3 dB below gray | ab moved by the damage |",
          "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]


def row(label: str, name: str, summary: dict[str, Any], shift: float | None) -> str:
    delta = summary["delta"]
    moved = "" if shift is None else f"{shift:.1f}"
    return (f"| {label} | {name} | {delta['psnr']:+.2f} dB | {delta['ciede2000']:+.2f} | "
            f"{delta['ab_auc']:+.3f} | {summary['colorfulness_ratio']['ours']:.2f} | "
            f"{summary['blotches']['below_gray']} of {summary['blotches']['photos']} | {moved} |")


def rows_for(label: str, reports: list[dict[str, Any]], images_of) -> list[str]:
    """A clean row, then one old-print row per report (preset)."""
    first = images_of(reports[0])
    if not first:
        return []
    lines = [row(f"{label} ({len(first)})", "clean", summarize(first, by_subject=False), None)]
    for report in reports:
        images = images_of(report)
        if images and "degraded" in images[0]:
            summary = summarize(images, by_subject=False)["degraded"]
            preset = report["settings"].get("degraded")
            lines.append(row("", f"old prints (`{preset}`)", summary, summary["ab_shift"]))
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("reports", nargs="+", metavar="LABEL=DIR")
    args = parser.parse_args()
    by_label: dict[str, list[dict[str, Any]]] = {}
    for item in args.reports:
        label, _, folder = item.partition("=")
        by_label.setdefault(label, []).append(
            json.loads((Path(folder) / "metrics.json").read_text()))
    lines = list(HEADER)
    for label, reports in by_label.items():
        lines += rows_for(label, reports, lambda report: report["images"])
    people = list(HEADER)
    for label, reports in by_label.items():
        people += rows_for(label, reports, lambda report: [
            image for image in report["images"] if image.get("subject") == "people"])
    print("\n".join(lines))
    print("\nPeople photos apart:\n")
    print("\n".join(people))
    worst = sorted((image["degraded"]["ours"]["psnr"] - image["gray"]["psnr"], label,
                    report["settings"].get("degraded"), image["file"])
                   for label, reports in by_label.items() for report in reports
                   for image in report["images"] if "degraded" in image)
    print("\nworst old prints (colour alone, PSNR - gray):")
    for delta, label, preset, name in worst[:6]:
        print(f"  {label} ({preset}): {name} {delta:+.2f} dB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
