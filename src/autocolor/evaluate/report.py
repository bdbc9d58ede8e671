"""The evaluation report folder: ``report.md``, ``metrics.json``, grid thumbnails and a-b histograms.

Layout of ``OUT/``::

    report.md           summary (ours vs gray vs original), per-photo rows, every grid inline
    metrics.json        the same numbers for machines (non-finite values written as null)
    ab_histogram.png    2D log-density of a-b over all photos: originals | ours
    grids/NNNN_*.jpg    one thumbnail strip per photo: gray | ours | original

:class:`ReportWriter` takes the photos one at a time (thumbnails are written and histograms
accumulated as they come, so memory stays bounded), then :meth:`ReportWriter.finish` writes the
rest. Drawing uses NumPy and Pillow only.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from autocolor.atomic import atomic_write
from autocolor.color.lab_numpy import lab_to_rgb
from autocolor.data.cache import MIN_AB_SPREAD

GRID_LABELS: tuple[str, str, str] = ("gray", "ours", "original")
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

_BACKGROUND = np.array([20.0, 20.0, 20.0])
_AXIS = (90, 90, 90)
_TEXT = (235, 235, 235)


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


class AbHistogram:
    """2D histogram of a (columns) and b (rows) with 1-unit bins over [-limit, limit).

    Each image contributes its pixel shares (counts / pixels), so every photo weighs the same
    whatever its size. Values outside the range land in the edge bins.
    """

    def __init__(self, limit: int = 128) -> None:
        self.limit = int(limit)
        self.density = np.zeros((2 * self.limit, 2 * self.limit), dtype=np.float64)
        self.images = 0

    def add(self, lab_or_ab: np.ndarray) -> None:
        values = np.asarray(lab_or_ab)
        if values.shape[-1] not in (2, 3):
            raise ValueError(f"expected (..., 3) Lab or (..., 2) ab, got {values.shape}")
        a = values[..., -2].ravel()
        b = values[..., -1].ravel()
        if a.size == 0:
            return
        size = 2 * self.limit
        column = np.clip(np.floor(a).astype(np.int64) + self.limit, 0, size - 1)
        row = np.clip(np.floor(b).astype(np.int64) + self.limit, 0, size - 1)
        counts = np.bincount(row * size + column, minlength=size * size)
        self.density += counts.reshape(size, size) / a.size
        self.images += 1

    def normalized(self) -> np.ndarray:
        """Mean pixel share per bin over the images added (sums to 1 when any were added)."""
        return self.density / max(self.images, 1)


def _bin_colours(limit: int, lightness: float = 65.0) -> np.ndarray:
    """sRGB colour (float, 0..255) of every (b row, a column) bin centre, for drawing."""
    centres = np.arange(-limit, limit, dtype=np.float32) + 0.5
    a, b = np.meshgrid(centres, centres)
    lab = np.stack([np.full_like(a, lightness), a, b], axis=-1)
    return lab_to_rgb(lab).astype(np.float64) * 255.0


def _font() -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=14)
    except TypeError:  # Pillow < 10.1 has no size argument
        return ImageFont.load_default()


def render_ab_histograms(
    panels: list[tuple[str, AbHistogram]], scale: int = 2, decades: float = 4.0
) -> Image.Image:
    """Side-by-side log-density images of a-b histograms sharing one colour scale.

    Each bin is drawn in its own hue (Lab colour at L = 65) over a dark background, with an
    intensity of ``1 + log10(density / max_density) / decades`` clipped to [0, 1]: the densest
    bin of all panels is full colour, densities ``decades`` orders of magnitude lower fade out.
    +a points right, +b points up; axes cross at a = b = 0, ticks every 50 units.
    """
    if not panels:
        raise ValueError("no histograms to draw")
    limit = panels[0][1].limit
    if any(hist.limit != limit for _, hist in panels):
        raise ValueError("histograms must share one range")
    densities = [hist.normalized() for _, hist in panels]
    peak = max(float(d.max()) for d in densities)
    colours = _bin_colours(limit)
    size = 2 * limit * scale
    header, margin = 24, 8
    font = _font()
    canvas = Image.new(
        "RGB", (len(panels) * (size + margin) + margin, size + header + margin), (0, 0, 0)
    )
    draw = ImageDraw.Draw(canvas)
    for index, ((title, _), density) in enumerate(zip(panels, densities, strict=True)):
        with np.errstate(divide="ignore"):
            level = 1.0 + np.log10(density / peak) / decades if peak > 0 else density * 0.0
        level = np.where(density > 0, np.clip(level, 0.0, 1.0), 0.0)[..., None]
        pixels = _BACKGROUND + level * (colours - _BACKGROUND)
        pixels = np.flipud(pixels)  # row 0 at the top is the largest b
        panel = Image.fromarray(np.clip(pixels + 0.5, 0, 255).astype(np.uint8), "RGB")
        panel = panel.resize((size, size), Image.Resampling.NEAREST)
        left = margin + index * (size + margin)
        canvas.paste(panel, (left, header))
        centre_x, centre_y = left + size // 2, header + size // 2
        draw.line([(left, centre_y), (left + size - 1, centre_y)], fill=_AXIS)
        draw.line([(centre_x, header), (centre_x, header + size - 1)], fill=_AXIS)
        for tick in range(-limit + limit % 50, limit, 50):
            if tick == 0:
                continue
            offset = tick * scale
            draw.line(
                [(centre_x + offset, centre_y - 3), (centre_x + offset, centre_y + 3)], fill=_AXIS
            )
            draw.line(
                [(centre_x - 3, centre_y - offset), (centre_x + 3, centre_y - offset)], fill=_AXIS
            )
        draw.text((left + size - 22, centre_y + 4), "+a", fill=_TEXT, font=font)
        draw.text((centre_x + 5, header + 2), "+b", fill=_TEXT, font=font)
        draw.text((left + 2, 4), title, fill=_TEXT, font=font)
    return canvas


# ---------------------------------------------------------------------------------------------
# grid thumbnails


def _thumbnail(rgb: np.ndarray, height: int) -> Image.Image:
    image = Image.fromarray(rgb, "RGB")
    if image.height > height:
        width = max(1, round(image.width * height / image.height))
        image = image.resize((width, height), Image.Resampling.LANCZOS)
    return image


def make_grid(
    gray_rgb: np.ndarray,
    ours_rgb: np.ndarray,
    original_rgb: np.ndarray,
    height: int = 256,
    labels: tuple[str, str, str] = GRID_LABELS,
) -> Image.Image:
    """One strip gray | ours | original, each downscaled to ``height`` (never upscaled)."""
    tiles = [_thumbnail(image, height) for image in (gray_rgb, ours_rgb, original_rgb)]
    gap, header = 4, 20
    width = sum(tile.width for tile in tiles) + gap * (len(tiles) - 1)
    canvas = Image.new("RGB", (width, tiles[0].height + header), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    font = _font()
    left = 0
    for tile, label in zip(tiles, labels, strict=True):
        canvas.paste(tile, (left, header))
        draw.text((left + 3, 2), label, fill=(0, 0, 0), font=font)
        left += tile.width + gap
    return canvas


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
    if summary.get("by_subject"):
        lines += ["", *format_subjects(summary["by_subject"])]
    return "\n".join(lines)


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
