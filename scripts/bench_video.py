"""Speed and memory of ``autocolor video`` -> the "Video" section of BENCHMARKS.md.

    python scripts/bench_video.py --output BENCHMARKS.md          # part of `make bench`
    python scripts/bench_video.py --quick --output /tmp/bench.md  # short clips, a smoke test

Measures, on this machine, with synthetic black-and-white clips (a pan over a photo-like picture
with film grain, H.264, 25 frames/s, with AAC sound):

- each stage of one frame in one process, median over the frames of a clip: decode (PyAV, gray
  plane), lightness, the render-size lightness, the network, the optical flow and trust, the
  blend, upsampling and the join (4:2:0 planes where the frame allows), and the encode;
- the real command in a fresh process, at 640x352 and 1280x720, as it runs by default (the
  network on every 3rd frame) and with ``--keyframes 1`` (the network on every frame):
  steady frames per second = (frames of a long clip - frames of a short clip) / (difference of
  their wall times), which leaves out Python's start, imports and the model's loading;
- peak memory (maximum RSS) of the command on a short and a long 720p clip: frames stream
  through, so the two should be the same;
- the floor (issue 23): a fresh process that only decodes the same clips with PyAV and encodes
  their frames again with libx264 at autocolor's CRF and preset, the sound copied
  (``python scripts/bench_video.py --floor IN OUT``), measured the same way; the default
  command's frames/s over the floor's is the ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import autocolor_command, load_average, machine_line, photo_like, timed_run  # noqa: E402
from benchmarks_md import replace_section  # noqa: E402

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("AUTOCOLOR_ORT_SPINNING", "0")  # as `autocolor video` sets for itself

HEADING = "## Video: `autocolor video`"
TARGETS_FPS = {(640, 352): 15.0, (1280, 720): 6.0}
TARGETS_FPS_ISSUE23 = {(640, 352): 40.0, (1280, 720): 24.0}
RATE = 25


def make_clip(path: Path, width: int, height: int, seconds: float, seed: int = 0) -> Path:
    """A B/W clip panning 2 px a frame over a photo-like picture with fresh grain per frame."""
    import av

    frames = max(1, round(seconds * RATE))
    rng = np.random.default_rng(seed)
    travel = 2 * frames
    big = photo_like(width + min(travel, 4 * width) + 8, height + 8, seed).astype(np.int16)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=RATE)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "20"}
        sound = out.add_stream("aac", rate=44100)
        for index in range(frames):
            x = (2 * index) % (big.shape[1] - width - 4)
            gray = big[4:4 + height, x:x + width] + rng.normal(0, 4, (height, width))
            frame = av.VideoFrame.from_ndarray(np.clip(gray, 0, 255).astype(np.uint8),
                                               format="gray")
            frame.pts = index
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
        samples = int(44100 * frames / RATE)
        for start in range(0, samples - 1024, 1024):
            piece = av.AudioFrame.from_ndarray(
                (0.1 * np.sin(np.arange(start, start + 1024) / 20.0))[None].astype(np.float32),
                format="fltp", layout="mono")
            piece.sample_rate, piece.pts = 44100, start
            out.mux(sound.encode(piece))
        out.mux(sound.encode())
    return path


def stages(clip: Path, frames: int) -> list[tuple[str, float, float]]:
    """(stage, median wall milliseconds, median CPU milliseconds of the process) per frame, in
    this process. CPU time (all threads) is the cost a busy machine cannot hide: on an idle
    2-core machine a stage that keeps both cores busy takes about half of it in wall time."""
    from autocolor.color.lab_numpy import lightness_from_norm
    from autocolor.images import LoadedImage
    from autocolor.infer.colorizer import Colorizer
    from autocolor.video.colorize import FrameColorizer, VideoOptions, frame_lightness
    from autocolor.video.io import VideoSink, VideoSource
    from autocolor.video.temporal import FlowField, TemporalFilter, to_flow_image

    colorizer = Colorizer.from_pretrained("default", batch_size=1)
    timings: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}

    def timed(name, work, *args):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = work(*args)
        timings.setdefault(name, []).append(time.perf_counter() - start)
        cpu.setdefault(name, []).append(time.process_time() - start_cpu)
        return result

    with VideoSource(clip) as video:
        grays = []
        decoded = video.frames()
        for _ in range(frames):
            frame = timed("decode (PyAV, gray plane)", next, decoded, None)
            if frame is None:
                break
            grays.append(frame.gray)
        decoded.close()
        per_frame = FrameColorizer(colorizer, VideoOptions())
        temporal = TemporalFilter()
        previous = None
        with tempfile.TemporaryDirectory() as temp:
            sink = VideoSink(Path(temp) / "out.mp4", video, "mp4")
            for gray in grays:
                lightness = timed("lightness (table)", frame_lightness, gray)
                l_norm = timed("lightness at the render size", per_frame.render_input,
                               lightness)
                small = lightness_from_norm(l_norm)
                ab_norm = timed("network (ONNX Runtime)", per_frame.predict, l_norm)
                image = to_flow_image(small)
                if previous is not None:
                    timed("optical flow + trust (DIS)", FlowField, previous, image,
                                 temporal.dis, temporal.config)
                    step = temporal.begin(small)
                    timed("blend", temporal.blend, step, ab_norm)
                else:
                    temporal.blend(temporal.begin(small), ab_norm)
                previous = image
                # as FrameColorizer runs it: 4:2:0 planes for a yuv420p stream where the frame's
                # half size is larger than the render, else RGB converted by the scaler
                rendered = timed("upsample + join (finish: 4:2:0 planes or RGB)",
                                 colorizer.finish,
                                 LoadedImage(lightness=lightness, gray=gray, gray_of=lightness),
                                 ab_norm, None, None, 1.0, l_norm, sink.pix_fmt)
                timed("frame to the encoder + H.264 encode", sink.write, rendered, None)
            sink.close()
    shape = per_frame.shape
    return [(name.replace("network", f"network at {shape[1]}x{shape[0]}"),
             statistics.median(values) * 1e3, statistics.median(cpu[name]) * 1e3)
            for name, values in timings.items()]


def floor_transcode(source: Path, target: Path) -> None:
    """What any re-encoding of a film costs: decode ``source`` with PyAV and encode its video
    frames again with libx264 (autocolor's CRF and preset, 4:2:0), the other streams copied as
    autocolor copies them; no colouring."""
    import av

    from autocolor.video.io import DEFAULT_CRF, DEFAULT_PRESET

    with av.open(str(source)) as inp, av.open(str(target), "w") as out:
        video = inp.streams.video[0]
        stream = out.add_stream("libx264", rate=video.average_rate or RATE)
        stream.width, stream.height, stream.pix_fmt = video.width, video.height, "yuv420p"
        stream.codec_context.time_base = video.time_base
        stream.time_base = video.time_base
        stream.options = {"crf": str(DEFAULT_CRF), "preset": DEFAULT_PRESET}
        copied = {s.index: out.add_stream_from_template(s) for s in inp.streams
                  if s.type == "audio"}
        for packet in inp.demux(video, *[inp.streams[i] for i in copied]):
            if packet.stream.index in copied:
                if packet.dts is not None:
                    packet.stream = copied[packet.stream.index]
                    out.mux(packet)
                continue
            for frame in packet.decode():
                frame.pict_type = av.video.frame.PictureType.NONE
                out.mux(stream.encode(frame))
        out.mux(stream.encode())


def floor_fps(short: Path, long: Path, frames_short: int, frames_long: int, output: Path
              ) -> float:
    """Steady frames/s of :func:`floor_transcode` in fresh processes, as :func:`command_fps`."""
    base = [sys.executable, str(Path(__file__).resolve()), "--floor"]
    wall_short, _, _ = timed_run([*base, str(short), str(output)])
    wall_long, _, _ = timed_run([*base, str(long), str(output)])
    return (frames_long - frames_short) / max(1e-6, wall_long - wall_short)


def command_fps(short: Path, long: Path, frames_short: int, frames_long: int,
                extra: tuple[str, ...], output: Path,
                env: dict[str, str] | None = None) -> tuple[float, float, float, str]:
    """-> (steady frames/s, wall of the long clip, peak MB of the long clip, command)."""
    base = [*autocolor_command(), "video"]
    saved = {key: os.environ.get(key) for key in env or {}}
    os.environ.update(env or {})
    try:
        wall_short, _, _ = timed_run([*base, str(short), "-o", str(output), "--overwrite", *extra])
        wall_long, _, peak = timed_run([*base, str(long), "-o", str(output), "--overwrite",
                                        *extra])
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    fps = (frames_long - frames_short) / max(1e-6, wall_long - wall_short)
    prefix = " ".join(f"{key}={value}" for key, value in (env or {}).items())
    shown = " ".join(filter(None, [prefix, "autocolor video", long.name, "-o out.mp4 --overwrite",
                                   *extra]))
    return fps, wall_long, peak, shown


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=Path("BENCHMARKS.md"))
    parser.add_argument("--quick", action="store_true", help="short clips (a smoke test)")
    parser.add_argument("--long-seconds", type=float, default=60.0,
                        help="length of the long 720p clip of the memory figure (default 60)")
    parser.add_argument("--floor", nargs=2, type=Path, metavar=("IN", "OUT"),
                        help="only transcode IN to OUT, the floor (see the module docstring)")
    args = parser.parse_args()
    if args.floor:
        floor_transcode(*args.floor)
        return 0
    short_s, long_s = (1.0, 3.0) if args.quick else (2.0, 10.0)
    memory_long_s = 4.0 if args.quick else args.long_seconds
    load_before = load_average()
    rows_speed = []
    rows_stage: dict[tuple[int, int], list[tuple[str, float, float]]] = {}
    floors: dict[tuple[int, int], float] = {}
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        for width, height in TARGETS_FPS:
            name = f"{width}x{height}"
            short = make_clip(folder / f"{name}-{short_s:g}s.mp4", width, height, short_s)
            long = make_clip(folder / f"{name}-{long_s:g}s.mp4", width, height, long_s, seed=1)
            rows_stage[(width, height)] = stages(long, 30 if args.quick else 60)
            floors[(width, height)] = floor_fps(short, long, round(short_s * RATE),
                                                round(long_s * RATE), folder / "floor.mp4")
            print(f"{name} floor: {floors[(width, height)]:.1f} frames/s", file=sys.stderr,
                  flush=True)
            runs = [((), None), (("--keyframes", "1"), None)]  # the default (k = 3), every frame
            if width == 640:  # ONNX Runtime's threads spinning between operators, for comparison
                runs.append(((), {"AUTOCOLOR_ORT_SPINNING": "1"}))
            for extra, env in runs:
                fps, wall, peak, shown = command_fps(
                    short, long, round(short_s * RATE), round(long_s * RATE), extra,
                    folder / "out.mp4", env)
                rows_speed.append((name, shown, fps, wall, peak, extra + tuple(env or ())))
                print(f"{shown}: {fps:.1f} frames/s", file=sys.stderr, flush=True)
        memory = []
        for seconds in (short_s, memory_long_s):
            clip = make_clip(folder / f"memory-{seconds:g}s.mp4", 1280, 720, seconds, seed=2)
            wall, _, peak = timed_run([*autocolor_command(), "video", str(clip), "-o",
                                       str(folder / "out.mp4"), "--overwrite"])
            memory.append((seconds, round(seconds * RATE), wall, peak, clip.name))
            print(f"memory {seconds:g} s: {peak:.0f} MB", file=sys.stderr, flush=True)
    lines = [HEADING, "",
             f"Made by `python scripts/bench_video.py --output BENCHMARKS.md` (part of `make "
             f"bench`) on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. **Machine:** "
             f"{machine_line()}. Load average (1/5/15 min) before: {load_before}; after: "
             f"{load_average()} (figures taken while others ran are slower than this CPU can do).",
             "", "Clips: synthetic black-and-white pans over a photo-like picture with film grain, "
             "H.264, 25 frames/s, AAC sound; the default model (ONNX Runtime) at its render size.",
             "", "### Targets (issue 12)", "",
             "| target | measured | |", "| --- | --- | --- |"]
    for (width, height), target in TARGETS_FPS.items():
        fps = next(r[2] for r in rows_speed if r[0] == f"{width}x{height}" and not r[5])
        every = next(r[2] for r in rows_speed if r[0] == f"{width}x{height}"
                     and r[5] == ("--keyframes", "1"))
        lines.append(f"| {width}x{height} at >= {target:g} frames/s (the default: network every "
                     f"3rd frame) | {fps:.1f} frames/s ({every:.1f} with `--keyframes 1`) | "
                     f"{'**met**' if fps >= target else 'not met'} |")
    (short_m, _, _, peak_short, _), (long_m, _, _, peak_long, _) = memory
    flat = peak_long <= peak_short * 1.1 + 20
    lines += [f"| memory flat: {long_m:g} s of 720p uses no more than {short_m:g} s | "
              f"{peak_long:.0f} MB vs {peak_short:.0f} MB | {'**met**' if flat else 'not met'} |",
              "", "### Against the floor (issue 23)", "",
              "The floor: a fresh process that decodes the same clip with PyAV and encodes its "
              "frames again with libx264 at autocolor's CRF and preset, the sound copied, no "
              "colouring (`python scripts/bench_video.py --floor IN OUT`); steady frames/s as "
              "below.", "",
              "| size | `autocolor video` (default) | floor | autocolor / floor | issue 23's "
              "target | |", "| --- | ---: | ---: | ---: | ---: | --- |"]
    for (width, height), target in TARGETS_FPS_ISSUE23.items():
        fps = next(r[2] for r in rows_speed if r[0] == f"{width}x{height}" and not r[5])
        floor = floors[(width, height)]
        lines.append(f"| {width}x{height} | {fps:.1f} frames/s | {floor:.1f} frames/s | "
                     f"{fps / floor:.2f}x | >= {target:g} frames/s | "
                     f"{'**met**' if fps >= target else 'not met'} |")
    lines += ["", "### The command in a fresh process", "",
              f"Steady frames/s = (frames of the {long_s:g} s clip - frames of the {short_s:g} s "
              "clip) / (difference of the wall times): Python's start, imports and loading the "
              "model are left out. Peak RSS from GNU `time -v`.", "",
              "| size | command | steady frames/s | wall of the long clip | peak RSS |",
              "| --- | --- | --- | --- | --- |"]
    for name, shown, fps, wall, peak, _ in rows_speed:
        lines.append(f"| {name} | `{shown}` | {fps:.1f} | {wall:.1f} s | {peak:.0f} MB |")
    lines += ["", "### Memory over the clip's length (1280x720)", "",
              "| clip | frames | command | wall | peak RSS |", "| --- | --- | --- | --- | --- |"]
    for seconds, frames, wall, peak, name in memory:
        lines.append(f"| {seconds:g} s | {frames} | `autocolor video {name} -o out.mp4 "
                     f"--overwrite` | {wall:.1f} s | {peak:.0f} MB |")
    lines += ["", "### Where the time of a frame goes (one process, one stage at a time)", "",
              "`stages()` in scripts/bench_video.py: median milliseconds per frame, wall time and "
              "the process's CPU time (all threads; what a busy machine cannot hide: on an idle "
              "2-core machine a stage that keeps both cores busy takes about half of it in wall "
              "time). The command overlaps decoding, the middle stages and encoding in three "
              "threads, so its frame time is below the sum.", "",
              "| stage | " + " | ".join(f"{w}x{h} wall / CPU" for w, h in rows_stage) + " |",
              "| --- |" + " --- |" * len(rows_stage)]
    names = [name.split(" at 3")[0] for name, _, _ in next(iter(rows_stage.values()))]
    for index, name in enumerate(names):
        cells = []
        for rows in rows_stage.values():
            label, wall, cpu = rows[index]
            where = f" ({label.split(' at ')[1].split(' ')[0]})" if "network" in label else ""
            cells.append(f"{wall:.1f} / {cpu:.1f} ms{where}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    totals = [(sum(r[1] for r in rows), sum(r[2] for r in rows)) for rows in rows_stage.values()]
    lines.append("| sum (one after another) | " + " | ".join(
        f"{wall:.1f} / {cpu:.1f} ms = {1000 / wall:.1f} frames/s wall, "
        f"{2000 / cpu:.1f} if the CPU time ran on 2 idle cores" for wall, cpu in totals) + " |")
    lines.append("")
    section = "\n".join(lines)
    replace_section(args.output, HEADING, section)
    print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
