"""The evaluation report folder: ``report.md``, ``metrics.json``, grid thumbnails and a-b histograms.

Layout of ``OUT/``::

    report.md           summary (ours vs gray vs original), per-photo rows, every grid inline
    metrics.json        the same numbers for machines (non-finite values written as null)
    ab_histogram.png    2D log-density of a-b over all photos: originals | ours
    grids/NNNN_*.jpg    one thumbnail strip per photo: gray | ours | original

:class:`ReportWriter` takes the photos one at a time (thumbnails are written and histograms
accumulated as they come, so memory stays bounded), then :meth:`ReportWriter.finish` writes the
rest. The pictures are drawn by :mod:`autocolor.evaluate.figures`.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from autocolor.atomic import atomic_write
from autocolor.data.cache import MIN_AB_SPREAD
from autocolor.evaluate.figures import AbHistogram, make_grid, render_ab_histograms

HISTOGRAM_FILE = "ab_histogram.png"
METRICS_FILE = "metrics.json"
REPORT_FILE = "report.md"
GRIDS_DIR = "grids"

# (key, label, which way is better, format) in report order.
SUMMARY_ROWS: tuple[tuple[str, str, str, str], ...] = (
    ("psnr", "PSNR (dB, RGB)", "higher", "{:.2f}"),
    ("ssim", "SSIM (RGB)", "higher", "{:.4f}"),
    ("ciede2000", "CIEDE2000, mean", "lower", "{:.2f}"),
    ("ab_auc", "ab AuC (%, t = 0..150)", "higher", "{:.2f}"),
    ("colorfulness", "Colourfulness (Hasler-Suesstrunk)", "nearer the original", "{:.2f}"),
)
_PERCENT = {"ab_auc"}



def _number(value: float | None, fmt: str, *, percent: bool = False, signed: bool = False) -> str:
    if value is None:
        return "n/a"
    if not math.isfinite(value):
        return "inf" if value > 0 else ("-inf" if value < 0 else "nan")
    value = value * 100.0 if percent else value
    text = fmt.format(value)
    return f"+{text}" if signed and value > 0 else text


def json_safe(value: Any) -> Any:
    """Replace non-finite floats (PSNR of identical images is inf) by None, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, np.generic):
        return json_safe(value.item())
    return value


# ---------------------------------------------------------------------------------------------
# a-b histograms


def _safe_stem(name: str, length: int = 60) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).with_suffix("").as_posix())
    return stem.strip("._")[:length] or "photo"


# ---------------------------------------------------------------------------------------------
# markdown


def format_summary(result: dict[str, Any]) -> str:
    """The summary tables (markdown) of an evaluation result from ``evaluate_folder``."""
    summary = result["summary"]
    ours, gray = summary["ours"], summary["gray"]
    original_cf = summary["original"]["colorfulness"]
    lines = [
        "| metric | better | ours | gray baseline | ours - gray |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for key, label, better, fmt in SUMMARY_ROWS:
        percent = key in _PERCENT
        delta = summary["delta"].get(key)
        lines.append(
            f"| {label} | {better} | {_number(ours.get(key), fmt, percent=percent)} | "
            f"{_number(gray.get(key), fmt, percent=percent)} | "
            f"{_number(delta, fmt, percent=percent, signed=True)} |"
        )
    ratio = summary["colorfulness_ratio"]
    lines += [
        "",
        "| colourfulness | mean CF | ratio to original | minus original |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, value in (("ours", ours["colorfulness"]), ("gray baseline", gray["colorfulness"])):
        key = "ours" if name == "ours" else "gray"
        difference = None if value is None or original_cf is None else value - original_cf
        lines.append(
            f"| {name} | {_number(value, '{:.2f}')} | {_number(ratio.get(key), '{:.3f}')} | "
            f"{_number(difference, '{:.2f}', signed=True)} |"
        )
    lines.append(f"| original | {_number(original_cf, '{:.2f}')} | 1.000 | 0.00 |")
    lines += ["", *format_blotches(summary)]
    if summary.get("degraded"):
        lines += ["", *format_degraded(summary)]
    if summary.get("by_subject"):
        lines += ["", *format_subjects(summary["by_subject"])]
    return "\n".join(lines)


def format_degraded(summary: dict[str, Any]) -> list[str]:
    """Clean beside old-print inputs, the colour alone (the original's L with each one's ab)."""
    old = summary["degraded"]
    lines = ["Old-print copies (`--degraded`), scored on the colour alone: the original's L with "
             "the ab predicted from the damaged input.", "",
             "| input | PSNR - gray | CIEDE2000 - gray | ab AuC - gray | colourfulness ratio | "
             "photos > 3 dB below gray |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, part in (("clean", summary), ("old print", old)):
        delta, ratio = part["delta"], part["colorfulness_ratio"]["ours"]
        lines.append(f"| {name} | {_number(delta.get('psnr'), '{:.2f}', signed=True)} | "
                     f"{_number(delta.get('ciede2000'), '{:.2f}', signed=True)} | "
                     f"{_number(delta.get('ab_auc'), '{:.3f}', signed=True)} | "
                     f"{_number(ratio, '{:.2f}')} | {part['blotches']['below_gray']} |")
    lines += ["", f"The damage moves the predicted ab by **{_number(old['ab_shift'], '{:.2f}')}** "
              "units per pixel on average, against the same photo given clean."]
    return lines


def format_blotches(summary: dict[str, Any]) -> list[str]:
    """Photos where colour does harm, and the worst ones."""
    info = summary.get("blotches")
    if not info or not info["photos"]:
        return []
    worst = ", ".join(f"`{item['file']}` {item['psnr_minus_gray']:+.2f} dB"
                      for item in info["worst"])
    return [f"Photos more than {info['threshold_db']:g} dB PSNR below gray: "
            f"**{info['below_gray']} of {info['photos']}**. Worst: {worst}."]


def format_subjects(by_subject: dict[str, Any]) -> list[str]:
    """One row per subject: count and ours - gray."""
    lines = ["| subject | photos | PSNR - gray | CIEDE2000 - gray | ab AuC - gray | CF ratio "
             "| below gray by 3 dB |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for subject, part in by_subject.items():
        delta = part["delta"]
        lines.append(
            f"| {subject} | {part['blotches']['photos']} | "
            f"{_number(delta.get('psnr'), '{:.2f}', signed=True)} | "
            f"{_number(delta.get('ciede2000'), '{:.2f}', signed=True)} | "
            f"{_number(delta.get('ab_auc'), '{:.2f}', percent=True, signed=True)} | "
            f"{_number(part['colorfulness_ratio'].get('ours'), '{:.2f}')} | "
            f"{part['blotches']['below_gray']} |")
    return lines


def _scoring_note(settings: dict[str, Any], count: int) -> str:
    bound = settings.get("score_max_side")
    if not bound:
        return "All metrics are computed at each photo's full size."
    downscaled = settings.get("downscaled_for_scoring", 0)
    return (
        f"**Downscaled for scoring:** {downscaled} of {count} photos had a long side above "
        f"{bound} px; they were colourised at full size, then the original, ours and the gray "
        f"baseline were downscaled alike (Lanczos) to a long side of {bound} px before scoring, "
        f"for speed. The others are scored at full size."
    )


def format_report(result: dict[str, Any]) -> str:
    """The whole ``report.md`` text."""
    settings = result.get("settings", {})
    images = result.get("images", [])
    skipped = result.get("skipped", [])
    lines = ["# Colourisation evaluation", ""]
    for key, label in (
        ("model", "model"),
        ("data", "data"),
        ("split", "split"),
        ("backend", "backend"),
        ("device", "device"),
        ("render_size", "render size"),
        ("limit", "limit"),
    ):
        if settings.get(key) is not None:
            lines.append(f"- {label}: `{settings[key]}`")
    lines.append(
        f"- photos scored: {len(images)}"
        + (f" ({len(skipped)} unreadable, skipped)" if skipped else "")
    )
    near_gray = result.get("near_gray_originals", [])
    if near_gray:
        lines.append(
            f"- note: {len(near_gray)} original(s) are nearly gray already (a-b spread below "
            f"{MIN_AB_SPREAD:g}), so the gray baseline is close to perfect on them: "
            + ", ".join(f"`{name}`" for name in near_gray[:10])
            + (" ..." if len(near_gray) > 10 else "")
        )
    timing = result.get("timing", {})
    if timing.get("seconds_total") is not None and images:
        lines.append(
            f"- time: {timing['seconds_total']:.1f} s in all, "
            f"{timing.get('seconds_colorize', 0.0) / len(images):.3f} s per photo colourising"
        )
    lines += [
        "",
        "Every photo is turned into gray (its own Lab L with a = b = 0), colourised through the "
        "full inference path, and scored against the original. The gray baseline is that gray "
        "image itself scored the same way. Definitions: `docs/evaluation.md`.",
        "",
        _scoring_note(settings, len(images)),
        "",
        f"## Summary (mean over {len(images)} photos)",
        "",
        format_summary(result),
        "",
        "## a-b distribution",
        "",
        "Log density of the a-b values of all pixels (each photo weighted equally), originals "
        "left, ours right, on one shared scale; each bin is drawn in its own colour. A narrower "
        "cloud on the right means desaturated predictions. Brightness is logarithmic: the densest "
        "bin of both panels is full colour, bins 10^4 times sparser fade into the background.",
        "",
        f"![a-b histograms]({HISTOGRAM_FILE})",
        "",
        "## Per photo",
        "",
        "| # | photo | size | PSNR ours / gray | SSIM ours / gray | CIEDE2000 ours / gray "
        "| AuC % ours / gray | CF ours / original |",
        "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for number, row in enumerate(images, start=1):
        ours, gray = row["ours"], row["gray"]
        size = f"{row['width']}x{row['height']}"
        if (row.get("scored_width"), row.get("scored_height")) != (row["width"], row["height"]):
            size += f" (scored {row['scored_width']}x{row['scored_height']})"
        name = row["file"].replace("|", "\\|")
        photo = f"[{name}]({row['grid']})" if row.get("grid") else name
        lines.append(
            f"| {number} | {photo} | {size} | "
            f"{_number(ours['psnr'], '{:.2f}')} / {_number(gray['psnr'], '{:.2f}')} | "
            f"{_number(ours['ssim'], '{:.4f}')} / {_number(gray['ssim'], '{:.4f}')} | "
            f"{_number(ours['ciede2000'], '{:.2f}')} / {_number(gray['ciede2000'], '{:.2f}')} | "
            f"{_number(ours['ab_auc'], '{:.2f}', percent=True)} / "
            f"{_number(gray['ab_auc'], '{:.2f}', percent=True)} | "
            f"{_number(ours['colorfulness'], '{:.1f}')} / "
            f"{_number(row['original_colorfulness'], '{:.1f}')} |"
        )
    if skipped:
        lines += ["", "## Skipped", ""]
        lines += [f"- `{item['file']}`: {item['error']}" for item in skipped]
    lines += ["", "## Grids: gray | ours | original", ""]
    for number, row in enumerate(images, start=1):
        if row.get("grid"):
            lines += [f"### {number}. {row['file']}", "", f"![{row['file']}]({row['grid']})", ""]
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------------------------------------
# the writer


class ReportWriter:
    """Writes a report folder incrementally: :meth:`add_image` per photo, then :meth:`finish`."""

    def __init__(self, report_dir: str | os.PathLike, thumb_height: int = 256) -> None:
        self.report_dir = Path(report_dir)
        self.thumb_height = int(thumb_height)
        (self.report_dir / GRIDS_DIR).mkdir(parents=True, exist_ok=True)
        self.hist_original = AbHistogram()
        self.hist_ours = AbHistogram()
        self.count = 0

    def add_image(
        self,
        name: str,
        original_rgb: np.ndarray,
        gray_rgb: np.ndarray,
        ours_rgb: np.ndarray,
        original_lab: np.ndarray,
        ours_lab: np.ndarray,
    ) -> str:
        """Save the photo's grid and add its a-b values; returns the grid's relative path."""
        self.count += 1
        relative = f"{GRIDS_DIR}/{self.count:04d}_{_safe_stem(name)}.jpg"
        grid = make_grid(gray_rgb, ours_rgb, original_rgb, height=self.thumb_height)
        grid.save(self.report_dir / relative, quality=90)
        self.hist_original.add(original_lab)
        self.hist_ours.add(ours_lab)
        return relative

    def finish(self, result: dict[str, Any]) -> Path:
        """Write the histogram image, ``metrics.json`` and ``report.md``; returns report.md."""
        self.report_dir.mkdir(parents=True, exist_ok=True)
        histogram = render_ab_histograms(
            [("originals", self.hist_original), ("ours", self.hist_ours)]
        )
        histogram.save(self.report_dir / HISTOGRAM_FILE)
        with atomic_write(self.report_dir / METRICS_FILE, "w", encoding="utf-8") as handle:
            json.dump(json_safe(result), handle, indent=2, allow_nan=False)
            handle.write("\n")
        target = self.report_dir / REPORT_FILE
        with atomic_write(target, "w", encoding="utf-8") as handle:
            handle.write(format_report(result))
        return target
