"""Score a colorizer on a folder of colour photos, next to the gray baseline.

For every photo: read it as 8-bit sRGB (:func:`autocolor.images.load_rgb`), take its Lab
lightness L, colour L with the colorizer's batched full-resolution path
(``colorize_lightness_batch``), join (L, ab) into 8-bit sRGB with the inference path's own join
(:func:`autocolor.images.lab_to_rgb_array`, as written files are), and score that against the
original; the gray baseline (L with a = b = 0) is scored the same way.

The colorizer is any object with ``colorize_lightness_batch(list of (H, W) float32 L in
[0, 100]) -> list of (H, W, 2) float32 ab`` (or, failing that, ``colorize_lightness``), such as
:class:`autocolor.infer.colorizer.Colorizer`. This module never imports torch.
"""

from __future__ import annotations

import os
import time
import zlib
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from PIL import Image
from tqdm import tqdm

from autocolor.data.cache import MIN_AB_SPREAD, is_cache
from autocolor.evaluate.metrics import METRICS, colorfulness, rgb_to_lab_u8, score_pair
from autocolor.evaluate.photos import DEFAULT_SPLIT, Photo, list_photos, load_rgb
from autocolor.evaluate.report import ReportWriter
from autocolor.images import ImageError, lab_to_rgb_array

DEFAULT_BATCH_SIZE = 8
# A photo coloured more than this many dB (PSNR) below the gray baseline counts as a blotch.
BLOTCH_DB = 3.0


class LightnessColorizer(Protocol):
    """What the evaluation needs of a colorizer: (H, W) L in [0, 100] -> (H, W, 2) ab
    (:meth:`Colorizer.colorize_lightness <autocolor.infer.colorizer.Colorizer.colorize_lightness>`).
    One that also has ``colorize_lightness_batch`` (a list in, a list out) gets whole batches."""

    def colorize_lightness(self, lightness: np.ndarray) -> np.ndarray: ...


def lab_to_rgb_u8(lightness: np.ndarray, ab: np.ndarray | None) -> np.ndarray:
    """Join (H, W) L and (H, W, 2) ab (None: a = b = 0) into (H, W, 3) uint8 sRGB, with the
    inference path's own join (so scores are of what users get)."""
    if ab is None:
        ab = np.zeros((*lightness.shape, 2), dtype=np.float32)
    return lab_to_rgb_array(lightness.astype(np.float32, copy=False), ab, bit_depth=8)


def _colorize(colorizer: Any, lightness: list[np.ndarray],
              coloured_from: list[np.ndarray] | None = None) -> list[np.ndarray]:
    """ab for each lightness; ``coloured_from``: per item, the lightness the network sees when
    it is another (a restored print's before its levels stretch: ``Restored.for_colour``)."""
    batch = getattr(colorizer, "colorize_lightness_batch", None)
    if coloured_from is not None:
        results = [colorizer.colorize_lightness(item) if seen is item
                   else colorizer.colorize_lightness(item, coloured_from=seen)
                   for item, seen in zip(lightness, coloured_from, strict=True)]
    elif batch is not None:
        results = list(batch(lightness))
    else:
        results = [colorizer.colorize_lightness(item) for item in lightness]
    if len(results) != len(lightness):
        raise ValueError(f"colorizer returned {len(results)} results for {len(lightness)} inputs")
    checked = []
    for item, ab in zip(lightness, results, strict=True):
        ab = np.asarray(ab, dtype=np.float32)
        if ab.shape != (*item.shape, 2):
            raise ValueError(f"colorizer returned ab of shape {ab.shape} for L of {item.shape}")
        checked.append(ab)
    return checked


def _downscale(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return np.asarray(Image.fromarray(rgb, "RGB").resize(size, Image.Resampling.LANCZOS))


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def blotches(rows: list[dict[str, Any]], threshold_db: float = BLOTCH_DB,
             worst: int = 5) -> dict[str, Any]:
    """How often colour does harm: photos whose PSNR is more than ``threshold_db`` below the gray
    baseline's, and the ``worst`` photos by PSNR - gray PSNR."""
    deltas = sorted((row["ours"]["psnr"] - row["gray"]["psnr"], row["file"]) for row in rows
                     if np.isfinite(row["ours"]["psnr"]) and np.isfinite(row["gray"]["psnr"]))
    return {"threshold_db": threshold_db, "photos": len(deltas),
            "below_gray": sum(delta < -threshold_db for delta, _ in deltas),
            "worst": [{"file": name, "psnr_minus_gray": delta} for delta, name in deltas[:worst]]}


def summarize(rows: list[dict[str, Any]], by_subject: bool = True) -> dict[str, Any]:
    """Set-level numbers: the mean of each per-photo metric for ours and gray, their
    differences (ours - gray), the originals' mean colourfulness and the ratio of mean
    colourfulness to it; ``blotches`` (photos more than BLOTCH_DB below gray, the worst ones);
    with ``by_subject`` and rows that carry subjects, the same per subject."""
    summary: dict[str, Any] = {}
    for method in ("ours", "gray"):
        summary[method] = {key: _mean([row[method][key] for row in rows]) for key in METRICS}
    summary["delta"] = {
        key: None
        if summary["ours"][key] is None or summary["gray"][key] is None
        else summary["ours"][key] - summary["gray"][key]
        for key in METRICS
    }
    original_cf = _mean([row["original_colorfulness"] for row in rows])
    summary["original"] = {"colorfulness": original_cf}
    summary["blotches"] = blotches(rows)
    summary["colorfulness_ratio"] = {
        method: None
        if not original_cf or summary[method]["colorfulness"] is None
        else summary[method]["colorfulness"] / original_cf
        for method in ("ours", "gray")
    }
    if rows and all("degraded" in row for row in rows):  # evaluated on old-print copies too
        as_rows = [{**row, "ours": row["degraded"]["ours"]} for row in rows]
        for row in as_rows:
            del row["degraded"]
        summary["degraded"] = summarize(as_rows, by_subject=False)
        summary["degraded"]["ab_shift"] = _mean([row["degraded"]["ab_shift"] for row in rows])
    subjects = sorted({row.get("subject") or "" for row in rows} - {""})
    if by_subject and subjects:  # a cache with subjects: each apart (people photos above all)
        summary["by_subject"] = {
            subject: summarize([row for row in rows if row.get("subject") == subject], False)
            for subject in subjects}
    return summary


def degraded_lightness(photo_name: str, rgb: np.ndarray, preset: str, seed: int) -> np.ndarray:
    """The Lab lightness (H, W) float32 in [0, 100] of an old-print copy of ``rgb`` (H, W, 3)
    uint8, made by :func:`autocolor.degrade.degrade` with the named preset and a seed drawn from
    ``seed`` and the photo's name: the same copy every run, a different one for every photo."""
    from autocolor.degrade import PRESETS, degrade

    if preset not in PRESETS:
        raise ValueError(f"unknown degradation preset {preset!r}; available: {', '.join(PRESETS)}")
    copy = degrade(rgb, seed=zlib.crc32(photo_name.encode()) ^ seed, config=PRESETS[preset])
    return np.ascontiguousarray(rgb_to_lab_u8(copy.rgb)[..., 0])


def ab_shift(ab: np.ndarray, reference_ab: np.ndarray) -> float:
    """Mean Euclidean distance in the a-b plane between two (H, W, 2) predictions: how far the
    damage of an old print moves the colours against the same photo given clean."""
    return float(np.sqrt(((ab - reference_ab) ** 2).sum(-1)).mean())


def evaluate_photos(
    colorizer: LightnessColorizer,
    photos: list[Photo],
    report_dir: str | os.PathLike | None = None,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    score_max_side: int | None = None,
    thumb_height: int = 256,
    progress: bool = True,
    settings: dict[str, Any] | None = None,
    degraded: str | None = None,
    degrade_seed: int = 0,
    restore: bool = False,
) -> dict[str, Any]:
    """Score ``photos`` (see :func:`evaluate_folder`, which lists them for you).

    ``restore``: every input's lightness, clean and old-print, goes through
    ``autocolor.restore.restore_lightness(L, "auto")`` before it is coloured, as
    ``autocolor colorize --restore`` does; the scores stay those of the colour: the original's
    L joined with the predicted ab.

    ``degraded``: also colour an old-print copy of each photo (a preset of
    :data:`autocolor.degrade.PRESETS`, seeded by ``degrade_seed`` and the photo's name) and score
    its colour alone: the original's L joined with the ab predicted from the damaged lightness
    (the damaged L cannot match the original, and restoring it is not the colorizer's job).
    Each row then has ``degraded``: ``ours`` (the scores) and ``ab_shift`` (mean |Δab| against
    the clean photo's prediction); the summary has ``degraded`` (the same set-level numbers,
    against the clean gray baseline, and the mean ``ab_shift``)."""
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    if score_max_side is not None and score_max_side < 8:
        raise ValueError("score_max_side must be >= 8 (or None for full size)")
    started = time.perf_counter()
    writer = ReportWriter(report_dir, thumb_height=thumb_height) if report_dir else None
    rows: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    seconds_colorize = 0.0
    downscaled = 0
    bar = tqdm(total=len(photos), unit="photo", desc="eval", disable=not progress)
    try:
        for start in range(0, len(photos), batch_size):
            loaded = []
            for photo in photos[start : start + batch_size]:
                try:
                    rgb = load_rgb(photo.path)
                except (ImageError, OSError, ValueError) as error:
                    reason = (error.reason if isinstance(error, ImageError)
                              else f"{type(error).__name__}: {error}")
                    skipped.append({"file": photo.name, "error": reason})
                    bar.update(1)
                    continue
                # keep only L: the original's Lab is recomputed when scoring, so a batch of
                # large photos holds 7 bytes per pixel here rather than 19
                lightness = np.ascontiguousarray(rgb_to_lab_u8(rgb)[..., 0])
                loaded.append((photo, rgb, lightness))
            if not loaded:
                continue
            inputs = [item[2] for item in loaded]
            if degraded:
                inputs += [degraded_lightness(photo.name, rgb, degraded, degrade_seed)
                           for photo, rgb, _ in loaded]
            seen = None
            if restore:
                from autocolor.restore import restore_lightness

                restored = [restore_lightness(item) for item in inputs]
                inputs = [item.lightness for item in restored]
                seen = [item.for_colour for item in restored]
            tick = time.perf_counter()
            predictions = _colorize(colorizer, inputs, seen)
            seconds_colorize += time.perf_counter() - tick
            damaged = predictions[len(loaded):]
            predictions = predictions[: len(loaded)]
            for index, ((photo, original, lightness), ab) in enumerate(
                    zip(loaded, predictions, strict=True)):
                height, width = lightness.shape
                ours = lab_to_rgb_u8(lightness, ab)
                gray = lab_to_rgb_u8(lightness, None)
                # the colour alone of the old-print copy: the original's L, the damaged one's ab
                old = lab_to_rgb_u8(lightness, damaged[index]) if degraded else None
                if score_max_side is not None and max(height, width) > score_max_side:
                    scale = score_max_side / max(height, width)
                    size = (max(1, round(width * scale)), max(1, round(height * scale)))
                    original, ours, gray = (_downscale(x, size) for x in (original, ours, gray))
                    old = _downscale(old, size) if old is not None else None
                    downscaled += 1
                original_lab = rgb_to_lab_u8(original)
                ours_lab = rgb_to_lab_u8(ours)
                row: dict[str, Any] = {
                    "file": photo.name,
                    "subject": photo.subject,
                    "width": width,
                    "height": height,
                    "scored_width": original.shape[1],
                    "scored_height": original.shape[0],
                    "original_colorfulness": colorfulness(original),
                    "original_ab_spread": float(
                        np.sqrt(original_lab[..., 1].var() + original_lab[..., 2].var())
                    ),
                    "ours": score_pair(
                        original, ours, original_lab=original_lab, predicted_lab=ours_lab
                    ),
                    "gray": score_pair(original, gray, original_lab=original_lab),
                }
                if old is not None:
                    row["degraded"] = {
                        "ours": score_pair(original, old, original_lab=original_lab),
                        "ab_shift": ab_shift(damaged[index], ab),
                    }
                if writer is not None:
                    row["grid"] = writer.add_image(
                        photo.name, original, gray, ours, original_lab, ours_lab
                    )
                rows.append(row)
                bar.update(1)
            del loaded, predictions, damaged
    finally:
        bar.close()
    result: dict[str, Any] = {
        "settings": {
            "render_size": getattr(colorizer, "render_size", None),
            "batch_size": batch_size,
            "score_max_side": score_max_side,
            "downscaled_for_scoring": downscaled,
            "degraded": degraded,
            "degrade_seed": degrade_seed if degraded else None,
            "restore": restore,
            **(settings or {}),
        },
        "summary": summarize(rows),
        "images": rows,
        "skipped": skipped,
        "near_gray_originals": [
            row["file"] for row in rows if row["original_ab_spread"] < MIN_AB_SPREAD
        ],
        "timing": {
            "seconds_total": time.perf_counter() - started,
            "seconds_colorize": seconds_colorize,
        },
    }
    if writer is not None:
        result["report"] = str(writer.finish(result))
    return result


def evaluate_folder(
    colorizer: LightnessColorizer,
    data_dir: str | os.PathLike,
    split: str | None = DEFAULT_SPLIT,
    limit: int | None = None,
    report_dir: str | os.PathLike | None = None,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    score_max_side: int | None = None,
    thumb_height: int = 256,
    progress: bool = True,
    settings: dict[str, Any] | None = None,
    degraded: str | None = None,
    degrade_seed: int = 0,
    restore: bool = False,
) -> dict[str, Any]:
    """Evaluate ``colorizer`` on a training cache's ``split`` (train, val, test or all) or on
    every photo under a plain folder (``split`` ignored), the first ``limit`` by name.

    Returns the result dict (also written to ``report_dir/metrics.json`` when ``report_dir`` is
    given, with ``report.md``, grids and histograms): ``settings``, ``summary`` (``ours``,
    ``gray``: mean of each metric; ``delta``: ours - gray; ``original``: mean colourfulness;
    ``colorfulness_ratio``), ``images`` (per-photo rows), ``skipped``, ``near_gray_originals``,
    ``timing`` and, with a report, ``report`` (the path of report.md).

    ``score_max_side`` (None: full size, the default) downscales photos whose long side is
    larger, after colourisation and for scoring only; the report says so.

    ``degraded``, ``degrade_seed`` and ``restore``: see :func:`evaluate_photos` (old-print
    copies, restored first).
    """
    cache = is_cache(data_dir)
    photos = list_photos(data_dir, split if cache else None, limit, exclude=report_dir)
    info: dict[str, Any] = {
        "data": str(Path(data_dir)),
        "data_kind": "cache" if cache else "folder",
        "split": (split or DEFAULT_SPLIT) if cache else None,
        "limit": limit,
    }
    return evaluate_photos(
        colorizer,
        photos,
        report_dir,
        batch_size=batch_size,
        score_max_side=score_max_side,
        thumb_height=thumb_height,
        progress=progress,
        settings={**info, **(settings or {})},
        degraded=degraded,
        degrade_seed=degrade_seed,
        restore=restore,
    )


__all__ = ["evaluate_folder", "evaluate_photos", "lab_to_rgb_u8", "summarize"]
