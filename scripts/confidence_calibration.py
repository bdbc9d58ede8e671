"""Is the confidence map right about where the colours are guesses? Pixels marked unsure must
carry larger colour errors.

For each photo of a split (``autocolor.evaluate.photos.list_photos``), the bundled model colours
its gray as ``autocolor colorize`` does, with :meth:`Colorizer.predict` (``confidence=True``); every
``--stride``-th pixel gives (raw confidence, the predicted chroma, |ab error| against the
original). Pooled over the photos, printed as Markdown:

1. the mean ab error per decile of confidence, least sure first, and the same for the baseline
   the issue names, the predicted chroma alone (more chroma, less sure);
2. the ratio of the mean ab error of the least confident third of pixels to that of the most
   confident third, for both (higher is better; 1 means the map knows nothing);
3. the raw confidence's deciles on this split: ``--write-deciles`` stores them in
   ``src/autocolor/infer/confidence_deciles.json``, through which the 8-bit map is drawn
   (:meth:`Colorizer.confidence_map`), so that a map value is the share of validation pixels
   the model was less sure of. Write them from the validation split only.

Usage: ``python scripts/confidence_calibration.py [--data data/corpus] [--split val]
[--degraded eval] [--write-deciles]``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from autocolor.evaluate.metrics import ab_errors, rgb_to_lab_u8
from autocolor.evaluate.photos import list_photos
from autocolor.images import LoadedImage, load_rgb
from autocolor.infer.colorizer import Colorizer
from autocolor.infer.confidence_map import DECILES_PATH

DECILES = 10


def pixels_of(colorizer: Colorizer, rgb: np.ndarray, lightness: np.ndarray,
              stride: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One photo -> (raw confidence, predicted chroma, |ab error|) of every ``stride``-th
    pixel."""
    l_norm = colorizer.render_input(lightness)
    [(ab_norm, sure)] = colorizer.predict([l_norm], confidence=True)
    loaded = LoadedImage(lightness=lightness)
    out = colorizer.finish(loaded, ab_norm, render_input=l_norm)
    truth, made = rgb_to_lab_u8(rgb), rgb_to_lab_u8(out)
    height, width = lightness.shape
    raw = colorizer.confidence_map(sure, (width, height), raw=True)
    pick = (slice(None, None, stride), slice(None, None, stride))
    chroma = np.hypot(made[..., 1], made[..., 2])
    return raw[pick].ravel(), chroma[pick].ravel(), ab_errors(truth, made)[pick].ravel()


def by_decile(score: np.ndarray, error: np.ndarray) -> tuple[list[float], float]:
    """Pixels ranked by ``score`` (high = sure) -> (mean error per decile, least sure first;
    mean error of the least sure third / that of the surest third)."""
    order = np.argsort(score, kind="stable")
    ranked = error[order]
    deciles = [float(part.mean()) for part in np.array_split(ranked, DECILES)]
    thirds = np.array_split(ranked, 3)
    return deciles, float(thirds[0].mean() / max(thirds[2].mean(), 1e-9))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data/corpus"))
    parser.add_argument("--split", default="val")
    parser.add_argument("--model", default="default")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--stride", type=int, default=4, help="every N-th pixel each way")
    parser.add_argument("--degraded", default=None, metavar="PRESET",
                        help="colour old-print copies (autocolor.degrade) instead")
    parser.add_argument("--write-deciles", action="store_true",
                        help=f"store the raw confidence's deciles in {DECILES_PATH.name}")
    args = parser.parse_args(argv)
    colorizer = Colorizer.from_pretrained(args.model)
    confidence, chroma, error = [], [], []
    photos = list_photos(args.data, args.split, args.limit)
    for index, photo in enumerate(photos):
        rgb = load_rgb(photo.path)
        source = rgb
        if args.degraded:
            from autocolor.degrade import PRESETS, degrade

            source = degrade(rgb, seed=1000 + index, config=PRESETS[args.degraded]).rgb
        lightness = rgb_to_lab_u8(source)[..., 0].astype(np.float32)
        parts = pixels_of(colorizer, rgb, lightness, args.stride)
        confidence.append(parts[0])
        chroma.append(parts[1])
        error.append(parts[2])
    confidence_all = np.concatenate(confidence)
    error_all = np.concatenate(error)
    ours, our_ratio = by_decile(confidence_all, error_all)
    baseline, base_ratio = by_decile(-np.concatenate(chroma), error_all)
    edges = np.quantile(confidence_all, np.linspace(0.0, 1.0, DECILES + 1))
    kind = f"old prints ({args.degraded})" if args.degraded else "clean"
    print(f"{len(photos)} photos of {args.data} ({args.split}, {kind}), "
          f"{error_all.size:,} pixels (every {args.stride}th each way)\n")
    print("| decile (least sure first) | " + " | ".join(str(d + 1) for d in range(DECILES))
          + " | least / most sure third |")
    print("|---" * (DECILES + 2) + "|")
    print("| mean ab error, confidence map | " + " | ".join(f"{v:.1f}" for v in ours)
          + f" | **{our_ratio:.2f}x** |")
    print("| mean ab error, chroma alone | " + " | ".join(f"{v:.1f}" for v in baseline)
          + f" | {base_ratio:.2f}x |")
    print("\nraw confidence deciles: " + ", ".join(f"{v:.4f}" for v in edges))
    if args.write_deciles:
        if args.split != "val" or args.degraded:
            print("error: write the deciles from the clean validation split only",
                  file=sys.stderr)
            return 1
        sha = colorizer.backend.metadata.get("source_weights_sha256") or (
            colorizer.provenance.model_sha256 if colorizer.provenance else None)
        DECILES_PATH.write_text(json.dumps({
            "weights_sha256": sha, "split": args.split, "data": str(args.data),
            "model": args.model,
            "photos": len(photos), "stride": args.stride,
            "deciles": [round(float(v), 6) for v in edges]}, indent=1) + "\n")
        print(f"wrote {DECILES_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
