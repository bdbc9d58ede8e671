"""``autocolor eval-video``: flicker and accuracy of video colouring, next to per-frame colouring.

    autocolor eval-video --data DIR [--split val] [--limit 4] [--clip VIDEO]... [--real]
                         [--size 640x352] [--frames 24] [--keyframes K] [--report OUT.md]

Each colour photo of DIR (a training cache's ``--split``, or a plain folder) becomes a pan, a
zoom, a hand-held clip and a fade-in (the light comes up on a still picture: change without
motion), consecutive photos a clip with a cut; ``--clip`` adds real colour
videos and ``--real`` the ones listed in data/sources/videos.tsv (fetched from their Debian
packages). Every clip is coloured per frame, with the temporal filter on every frame (k = 1),
and as ``autocolor video`` does by default (the network every k = 3 frames, flow between);
the report gives the warping error, its ratio to per-frame colouring, PSNR and CIEDE2000
(:mod:`autocolor.video.evaluate`), and checks that a scene after a cut is coloured exactly as
if it started the clip.
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import sys
from pathlib import Path

import numpy as np

DEFAULT_VIDEO_SOURCES = Path("data/sources/videos.tsv")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", metavar="DIR", help="training cache or folder of colour photos")
    parser.add_argument("--split", default="val",
                        help="split of a training cache (default val: settings are chosen "
                             "there; test is for the final report only)")
    parser.add_argument("--limit", type=int, default=4, help="photos used (default 4)")
    parser.add_argument("--clip", action="append", default=[], type=Path,
                        help="a real colour video (its first --real-frames frames)")
    parser.add_argument("--real", action="store_true",
                        help="add the clips of data/sources/videos.tsv (apt-get download)")
    parser.add_argument("--real-frames", type=int, default=96)
    parser.add_argument("--debs", type=Path, default=Path("data/debs"),
                        help="where Debian packages are kept (default data/debs)")
    parser.add_argument("--size", default="640x352", help="synthetic clips' WxH (default 640x352)")
    parser.add_argument("--frames", type=int, default=24, help="frames per synthetic clip")
    parser.add_argument("--keyframes", type=int, default=None,
                        help="K of the default row (default: the default, 3)")
    parser.add_argument("--model", default="default")
    parser.add_argument("--render-size", type=int, default=None)
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--report", type=Path, help="write the Markdown report here")


def build_clips(args: argparse.Namespace) -> list:
    from autocolor.video.evaluate import (
        clip_from_file,
        cut_clip,
        fade_clip,
        handheld_clip,
        pan_clip,
        zoom_clip,
    )

    width, height = (int(side) for side in args.size.lower().split("x"))
    size = (width, height)
    clips = []
    if args.data:
        from autocolor.evaluate.photos import list_photos, load_rgb

        photos = [(photo.name, load_rgb(photo.path))
                  for photo in list_photos(args.data, args.split, args.limit)]
        for index, (name, rgb) in enumerate(photos):
            stem = Path(name).stem[:32]
            step = (3.0, 1.0) if index % 2 == 0 else (-2.0, 1.5)
            clips.append(("pan", pan_clip(rgb, size, args.frames, step, f"pan {stem}")))
            clips.append(("zoom", zoom_clip(rgb, size, args.frames, name=f"zoom {stem}")))
            clips.append(("handheld", handheld_clip(rgb, size, args.frames, index,
                                                    f"handheld {stem}")))
            clips.append(("fade", fade_clip(rgb, size, args.frames, name=f"fade {stem}")))
        for (first, a), (_, b) in zip(photos, photos[1:], strict=False):
            clips.append(("cut", cut_clip(a, b, size, args.frames, f"cut {Path(first).stem[:32]}")))
    paths = list(args.clip)
    if args.real:
        paths += fetch_real_clips(args.debs)
    for path in paths:
        clips.append(("real", clip_from_file(path, args.real_frames)))
    return clips


def fetch_real_clips(debs: Path, sources: Path = DEFAULT_VIDEO_SOURCES) -> list[Path]:
    """The listed real clips, fetched (and verified) into ``debs``."""
    from autocolor.data.fetch import Fetcher
    from autocolor.data.sources import read_sources

    fetcher = Fetcher(debs)
    paths = []
    for source in read_sources(sources):
        fetcher.fetch(source)  # verifies the sha256
        paths.append(fetcher.package_root(source.package) / source.member)
    return paths


def run(args: argparse.Namespace) -> int:
    import os

    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("AUTOCOLOR_ORT_SPINNING", "0")  # as `autocolor video`
    from autocolor.infer.colorizer import Colorizer
    from autocolor.video.colorize import VideoOptions
    from autocolor.video.evaluate import (
        colour_clip,
        score_clip,
        truth_warping_error,
        warps,
    )
    from autocolor.video.temporal import TemporalConfig

    clips = build_clips(args)
    if not clips:
        print("error: no clips: give --data, --clip or --real", file=sys.stderr)
        return 2
    colorizer = Colorizer.from_pretrained(args.model, backend=args.backend,
                                          render_size=args.render_size, batch_size=1)
    keyframes = TemporalConfig().keyframe_interval if args.keyframes is None else args.keyframes
    methods = {"per-frame": VideoOptions(temporal=None),
               "every frame k=1": VideoOptions(temporal=TemporalConfig(keyframe_interval=1)),
               f"default k={keyframes}": VideoOptions(
                   temporal=TemporalConfig(keyframe_interval=keyframes))}
    rows = []
    afresh = []
    for kind, clip in clips:
        clip_warps = warps(clip)
        truth = truth_warping_error(clip, clip_warps)
        scores = {}
        for method, options in methods.items():
            outputs, seconds = colour_clip(colorizer, clip, options)
            scores[method] = score_clip(clip, outputs, method, seconds, clip_warps)
            if method != "per-frame" and clip.cuts:
                difference = _afresh_difference(colorizer, clip, options, outputs)
                afresh.append((f"{clip.name}, {method}", difference))
        rows.append((kind, clip, truth, scores))
        base = scores["per-frame"]
        print(f"{clip.name}: " + ", ".join(
            f"{m} {s.warping_error:.3f} ({s.warping_error / base.warping_error:.2f}x) "
            f"{s.psnr:.2f} dB" for m, s in scores.items()), file=sys.stderr, flush=True)
    report = render_report(args, rows, afresh, list(methods), colorizer)
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(report, encoding="utf-8")
        print(args.report)
    else:
        print(report)
    return 0


def _afresh_difference(colorizer, clip, options, outputs) -> int:
    """Largest difference (sRGB codes) between the frames after the first cut and the same
    scene coloured on its own."""
    from autocolor.video.evaluate import Clip, colour_clip

    cut = clip.cuts[0]
    alone = Clip(clip.name, clip.frames[cut:], None)
    alone_out, _ = colour_clip(colorizer, alone, options)
    return int(max(np.abs(a.astype(np.int16) - b).max()
                   for a, b in zip(alone_out, outputs[cut:], strict=True)))


def render_report(args, rows, afresh, methods, colorizer) -> str:
    lines = ["# Video colouring: flicker and accuracy", "",
             f"Made by `{' '.join(['autocolor', 'eval-video', *sys.argv[2:]])}` on "
             f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; model "
             f"{colorizer.metadata.get('architecture', '?')} ({args.model}) at render size {colorizer.render_size}.", "",
             "Warping error: mean |ab_t - warp(ab_t-1)| over pixels that are not occluded (Lab "
             "units; lower is steadier); ratio: to per-frame colouring of the same clip. PSNR "
             "(dB) and CIEDE2000 against the colour truth.", ""]
    header = "| kind | clip | truth | " + " | ".join(
        f"{m} warp (ratio) | {m} PSNR / dE" for m in methods) + " |"
    lines += [header, "|" + " --- |" * (3 + 2 * len(methods))]
    for kind, clip, truth, scores in rows:
        base = scores[methods[0]]
        cells = []
        for method in methods:
            score = scores[method]
            cells.append(f"{score.warping_error:.3f} ({score.warping_error / base.warping_error:.2f}x)")
            cells.append(f"{score.psnr:.2f} / {score.ciede2000:.2f}")
        lines.append(f"| {kind} | {Path(clip.name).name} ({len(clip.frames)} frames) | {truth:.3f} | "
                     + " | ".join(cells) + " |")
    lines += ["", "## Summary by kind of clip", "",
              "| kind | clips | " + " | ".join(
                  f"{m}: median ratio, mean PSNR change" for m in methods[1:]) + " |",
              "|" + " --- |" * (2 + len(methods) - 1)]
    for kind in dict.fromkeys(kind for kind, *_ in rows):
        chosen = [scores for k, _, _, scores in rows if k == kind]
        cells = []
        for method in methods[1:]:
            ratios = [s[method].warping_error / s[methods[0]].warping_error for s in chosen]
            deltas = [s[method].psnr - s[methods[0]].psnr for s in chosen]
            cells.append(f"{statistics.median(ratios):.2f}x, {statistics.mean(deltas):+.2f} dB")
        lines.append(f"| {kind} | {len(chosen)} | " + " | ".join(cells) + " |")
    if afresh:
        lines += ["", "## A new scene is coloured afresh", "",
                  "Largest difference (sRGB codes, 0-255) between the frames after the cut and "
                  "the second scene coloured on its own:", ""]
        lines += [f"- {name}: {difference}" for name, difference in afresh]
    seconds = {m: statistics.median(s[m].seconds_per_frame for *_, s in rows) for m in methods}
    lines += ["", "Median seconds per frame in this run (in memory, no decode or encode; a "
              "shared machine): " + ", ".join(f"{m} {v * 1e3:.0f} ms" for m, v in seconds.items())
              + ".", ""]
    return "\n".join(lines)
