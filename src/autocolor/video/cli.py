"""``autocolor video INPUT... -o OUTPUT``: colour black-and-white films.

OUTPUT is a file for one input and a folder for several (or for a folder of inputs). Outputs
are H.264 in MP4 unless OUTPUT names another container (.mkv, .mov, .webm, .avi); in a folder,
an input whose sound or subtitles MP4 cannot hold without re-encoding (PCM sound, SRT
subtitles) gets .mkv. The promises of ``autocolor colorize`` hold: inputs are never
overwritten, outputs appear only when complete, finished outputs are skipped unless
--overwrite, one line per bad input, the batch goes on, exit status 1 if anything failed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from functools import partial
from pathlib import Path

from autocolor.batch import (
    Job,
    Refused,
    add_restore_arguments,
    expand_inputs,
    folder_targets,
    local_path,
    overwrite_line,
    restore_option,
    skip_line,
    summary_line,
    unique_inputs,
)
from autocolor.errors import first_line
from autocolor.images import FRAME_MAX_PIXELS
from autocolor.video.io import CONTAINER_FORMATS, DEFAULT_CRF, DEFAULT_PRESET, INPUT_SUFFIXES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="videos, folders or globs")
    parser.add_argument("-o", "--output", required=True, type=Path,
                        help="output file (one input) or folder (several)")
    parser.add_argument("--model", default="default", help="installed weights name or a path")
    parser.add_argument("--render-size", type=int, default=None,
                        help="long side the network sees (default: the model's)")
    parser.add_argument("--backend", choices=("auto", "torch", "onnx"), default="auto")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--saturation", type=float, default=1.0, help="chroma scale, 1 = as predicted")
    parser.add_argument("--hints", type=Path,
                        help='JSON hint points; a point may say on which frame: "frame": N')
    parser.add_argument("--reference", type=Path, help="a colour photo the whole clip follows")
    parser.add_argument("--keyframes", type=int, default=None, metavar="K",
                        help="run the network every K frames, flow fills between (default 3; "
                             "1: every frame, slower)")
    parser.add_argument("--per-frame", action="store_true",
                        help="colour each frame alone (no temporal consistency; flickers)")
    parser.add_argument("--history", type=float, default=None,
                        help="weight of the past where motion is followed, 0..1 (default 0.85)")
    parser.add_argument("--codec", default=None,
                        help="video encoder (default libx264; mpeg4 in .avi, libvpx-vp9 in .webm)")
    parser.add_argument("--crf", type=int, default=DEFAULT_CRF,
                        help=f"constant quality, lower is better (default {DEFAULT_CRF})")
    parser.add_argument("--preset", default=DEFAULT_PRESET,
                        help=f"x264 speed preset (default {DEFAULT_PRESET})")
    parser.add_argument("--no-provenance", action="store_true",
                        help="leave out the tags saying a trained model coloured the film")
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    parser.add_argument("--max-pixels", type=int, default=FRAME_MAX_PIXELS,
                        help=f"refuse larger frames (default {FRAME_MAX_PIXELS:,}: 8K UHD)")
    add_restore_arguments(parser, "film")


def is_film_name(name: str) -> bool:
    """What a folder contributes as input: a known video suffix, not a hidden file."""
    return Path(name).suffix.lower() in INPUT_SUFFIXES and not name.startswith(".")


def plan_jobs(inputs: list[str], output: Path) -> tuple[list[Job], list[str]]:
    """Map inputs to outputs; -> (jobs, error lines). One input and a video file name: that
    file; otherwise a folder, named as ``autocolor colorize`` names photos
    (:func:`autocolor.batch.folder_targets`), as MP4 (or MKV when a stream needs it)."""
    found, missing, several = expand_inputs(inputs, is_film_name)
    errors = [f"{item}: no such file, folder or matching glob" for item in missing]
    unique = unique_inputs(found)
    as_folder = several or len(unique) > 1 or output.is_dir() or str(output).endswith(os.sep)
    if not as_folder and output.suffix.lower() not in CONTAINER_FORMATS:
        errors.append(f"{output}: not a video file name; use one of "
                      + ", ".join(sorted(CONTAINER_FORMATS)) + " (or a folder for several inputs)")
        return [], errors
    pairs = folder_targets(unique, output, lambda source: ".mp4") if as_folder else \
        [(source, output) for source, _ in unique]
    input_paths = {source.resolve() for source, _ in unique}
    jobs: list[Job] = []
    for source, target in pairs:
        if target.resolve() in input_paths or local_path(target).with_suffix(".mkv").resolve() in \
                input_paths:
            errors.append(overwrite_line(source, target))
            continue
        jobs.append(Job(source, target, as_folder))
    jobs.sort(key=lambda job: str(job.source))
    return jobs, errors


def _existing(job: Job) -> Path | None:
    planned = local_path(job.target)
    for target in ([planned, planned.with_suffix(".mkv")] if job.automatic_suffix
                   else [planned]):
        if target.exists():
            return target
    return None


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from autocolor.video.io import VideoError

    jobs, errors = plan_jobs(args.inputs, args.output)
    for line in errors:
        print(f"error: {line}", file=sys.stderr)
    pending = [job for job in jobs if args.overwrite or _existing(job) is None]
    skipped = skip_line(len(jobs) - len(pending))
    if skipped:
        print(skipped, file=sys.stderr)

    frame_hints = None
    if args.hints is not None:
        from autocolor.hints import HintError
        from autocolor.video.hints import read_video_hints

        try:
            frame_hints = read_video_hints(args.hints)
        except HintError as error:
            print(f"error: {args.hints}: {error}", file=sys.stderr)
            return 1
    reference = None
    if args.reference is not None:
        from autocolor.images import ImageError
        from autocolor.infer.colorizer import reference_rgb

        try:  # read once, reduced to what the transfer uses, for every frame of every clip
            reference = reference_rgb(args.reference)
        except (ImageError, ValueError) as error:
            print(f"error: reference photo: {error}", file=sys.stderr)
            return 1
    try:
        options = _options(args)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        restore = restore_option(args)
    except Refused as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if restore is not None:
        options = replace(options, restore=restore)
    if not pending:
        return 1 if errors else 0

    # Threads that sleep when idle: OpenMP's for torch (as `autocolor colorize` sets), and ONNX
    # Runtime's, whose spinning between operators stole the cores from flow, joining, decoding
    # and encoding (under load: 61 against 108 ms for network + flow + join of a 720p frame;
    # docs/video.md). An explicit setting wins.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("AUTOCOLOR_ORT_SPINNING", "0")
    from autocolor.infer.colorizer import Colorizer
    from autocolor.video.colorize import colorize_video

    colorizer = Colorizer.from_pretrained(args.model, backend=args.backend, device=args.device,
                                          render_size=args.render_size, batch_size=1,
                                          max_pixels=args.max_pixels)
    failures = len(errors)
    written: list[Path] = []
    frames = 0
    started = time.monotonic()
    for job in pending:
        source, target = local_path(job.source), local_path(job.target)
        bar = tqdm(unit="frame", desc=job.source.name, file=sys.stderr, dynamic_ncols=True,
                   leave=True)
        try:
            hints = None
            if frame_hints is not None:
                hints = _video_hints(frame_hints, source, args.max_pixels)
            if job.automatic_suffix:
                target = _automatic_target(job, args.max_pixels)
            result = colorize_video(colorizer, source, target, options, reference, hints,
                                    on_frame=partial(_advance, bar))
            written.append(result.path)
            frames += result.frames
            if restore is not None:
                counts = ", ".join(f"{step} {count}" for step, count in result.restored.items())
                bar.write(f"restored {job.source.name}: {counts or 'no damage found'} "
                          f"(frames per step, of {result.frames})", file=sys.stderr)
        except VideoError as error:
            failures += 1
            bar.write(f"error: {error}", file=sys.stderr)
        except (ValueError, OSError) as error:
            failures += 1
            reason = first_line(error)
            bar.write(f"error: {job.source}: {reason}", file=sys.stderr)
        finally:
            bar.close()
    for path in written:
        print(path)
    if written or failures:
        print(summary_line(len(written), failures, time.monotonic() - started, "films",
                           f"{frames} frames, {frames / max(time.monotonic() - started, 1e-9):.1f}"
                           " frames/s"), file=sys.stderr)
    return 1 if failures else 0


def _advance(bar, done: int, total: int | None) -> None:
    if bar.total is None and total is not None:
        bar.total = total
    if bar.total is not None and done > bar.total:
        bar.total = done
    bar.update(done - bar.n)


def _options(args: argparse.Namespace):
    from autocolor.video.colorize import VideoOptions
    from autocolor.video.temporal import TemporalConfig

    if args.saturation < 0:
        raise ValueError(f"--saturation must be >= 0, got {args.saturation}")
    temporal = None
    if not args.per_frame:
        settings = {}
        if args.keyframes is not None:
            settings["keyframe_interval"] = args.keyframes
        if args.history is not None:
            settings["history"] = args.history
        temporal = TemporalConfig(**settings)
    return VideoOptions(temporal=temporal, saturation=args.saturation, codec=args.codec,
                        crf=args.crf, preset=args.preset, max_pixels=args.max_pixels,
                        provenance=not args.no_provenance)


def _video_hints(frame_hints, source: Path, max_pixels: int):
    from autocolor.video.hints import VideoHints
    from autocolor.video.io import VideoSource

    with VideoSource(source, max_pixels) as video:
        size = (video.width, video.height)
    try:
        return VideoHints(frame_hints, size)
    except ValueError as error:
        raise ValueError(f"hints: {error}") from error


def _automatic_target(job: Job, max_pixels: int) -> Path:
    """MP4, or MKV when a stream MP4 cannot hold as it is must be copied."""
    from autocolor.video.io import VideoSource, uncopyable_streams

    with VideoSource(local_path(job.source), max_pixels) as video:
        if uncopyable_streams(video, "mp4"):
            return local_path(job.target).with_suffix(".mkv")
    return local_path(job.target)


def main() -> int:  # pragma: no cover - convenience for `python -m`
    from autocolor.cli import main as cli_main

    return cli_main(["video", *sys.argv[1:]])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
