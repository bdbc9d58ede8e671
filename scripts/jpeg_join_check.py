"""Does the 4:2:0 join keep the colours? The JPEG that ``autocolor colorize`` writes from
half-resolution chroma (:mod:`autocolor.infer.chroma`) against the JPEG of the full-resolution
RGB join, on the validation photos, both decoded and scored against the original colour photo
(issue 23: the pixels within 1 level of today's on average, or the validation scores within
0.05 dB PSNR, 0.05 CIEDE2000 and 0.01 colourfulness).

Each photo goes in as the user's file would: the original turned to 8-bit gray.

    python scripts/jpeg_join_check.py --data data/corpus --split val
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from autocolor.evaluate.metrics import ciede2000_mean, colorfulness, psnr, rgb_to_lab_u8
from autocolor.evaluate.photos import list_photos, load_rgb
from autocolor.image_output import JPEG_QUALITY, YCbCr420, jpeg_from_planes
from autocolor.images import lightness_from_pil
from autocolor.infer.colorizer import Colorizer


def decoded(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data/corpus"))
    parser.add_argument("--split", default="val")
    parser.add_argument("--model", default="default")
    args = parser.parse_args()
    colorizer = Colorizer.from_pretrained(args.model)
    rows = []
    for photo in list_photos(args.data, split=args.split):
        original = load_rgb(photo.path)
        loaded = lightness_from_pil(Image.fromarray(original).convert("L"))
        plan = colorizer.plan(loaded, Path("out.jpg"))
        [ab_norm] = colorizer.predict([plan.render_input])
        rgb = colorizer.finish_plan(plan, ab_norm)
        planes = colorizer.finish_plan(plan, ab_norm, for_file=True)
        if not isinstance(planes, YCbCr420):  # smaller than the render: the same RGB path
            continue
        buffer = io.BytesIO()
        Image.fromarray(rgb).save(buffer, "JPEG", quality=JPEG_QUALITY)
        before = decoded(buffer.getvalue())
        after = decoded(jpeg_from_planes(planes, loaded))
        reference_cf = colorfulness(original)
        reference_lab = rgb_to_lab_u8(original)
        rows.append({
            "levels": float(np.abs(after.astype(np.int32) - before).mean()),
            **{f"{name}_{key}": value for name, image in (("rgb", before), ("420", after))
               for key, value in (("psnr", psnr(original, image)),
                                  ("ciede", ciede2000_mean(reference_lab, rgb_to_lab_u8(image))),
                                  ("cf", colorfulness(image) / max(reference_cf, 1e-6)))},
        })
        print(photo.path.name, {key: round(value, 3) for key, value in rows[-1].items()},
              file=sys.stderr, flush=True)

    def mean(key: str) -> float:
        return statistics.fmean(row[key] for row in rows)

    print(f"{len(rows)} photos of the {args.split} split, as 8-bit gray JPEG-bound inputs")
    print("| | RGB join, Pillow JPEG | 4:2:0 join, planes JPEG | difference |")
    print("| --- | ---: | ---: | ---: |")
    for key, label in (("psnr", "PSNR dB"), ("ciede", "CIEDE2000"), ("cf", "colourfulness")):
        print(f"| {label} | {mean('rgb_' + key):.3f} | {mean('420_' + key):.3f} | "
              f"{mean('420_' + key) - mean('rgb_' + key):+.3f} |")
    print(f"| mean level difference between the two files | | | {mean('levels'):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
