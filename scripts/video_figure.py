"""The picture in docs/video.md: one piece of a scene in consecutive frames of a pan, as the
truth, per-frame colouring and `autocolor video` by default colour it.

    python scripts/video_figure.py --data data/corpus --output docs/images/video-flicker.jpg

The camera pans over a colour photo of the corpus's test split; the crop follows the content
(the motion is known), so any change along a row is flicker.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

FRAMES = 8
CROP = 96  # frame pixels of the piece shown
STEP = (3, 1)  # the pan, frame pixels per frame


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="data/corpus", help="training cache or photo folder")
    parser.add_argument("--split", default="test")
    parser.add_argument("--photo", type=int, default=2, help="which photo of the split")
    parser.add_argument("--output", type=Path, default=Path("docs/images/video-flicker.jpg"))
    args = parser.parse_args()

    from autocolor.evaluate.photos import list_photos, load_rgb
    from autocolor.infer.colorizer import Colorizer
    from autocolor.video.colorize import VideoOptions
    from autocolor.video.evaluate import colour_clip, pan_clip

    photo = list_photos(args.data, args.split)[args.photo]
    clip = pan_clip(load_rgb(photo.path), (640, 352), FRAMES, (float(STEP[0]), float(STEP[1])))
    colorizer = Colorizer.from_pretrained("default", batch_size=1)
    rows = {"truth": clip.frames,
            "per frame": colour_clip(colorizer, clip, VideoOptions(temporal=None))[0],
            "default": colour_clip(colorizer, clip, VideoOptions())[0]}
    label_width, gap = 150, 4
    sheet = Image.new("RGB", (label_width + FRAMES * (CROP * 2 + gap), len(rows) * (CROP * 2 + gap)),
                      "white")
    draw = ImageDraw.Draw(sheet)
    x0, y0 = 300, 150  # the piece's top-left in frame 0
    for row, (label, frames) in enumerate(rows.items()):
        top = row * (CROP * 2 + gap)
        draw.text((8, top + CROP), label, fill="black")
        for t, frame in enumerate(frames):
            x, y = x0 - STEP[0] * t, y0 - STEP[1] * t  # the same content in frame t
            piece = Image.fromarray(np.ascontiguousarray(frame[y:y + CROP, x:x + CROP]))
            sheet.paste(piece.resize((CROP * 2, CROP * 2), Image.Resampling.NEAREST),
                        (label_width + t * (CROP * 2 + gap), top))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.output, quality=90)
    print(args.output, photo.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
