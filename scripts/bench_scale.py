"""Scale-out benchmark (issue 13): the Ray engine against the local engine on the same 1,000
small photos, and what each stage of the Ray pipeline costs per photo, small and camera-sized.
Writes (or replaces) the "## Scale-out: the Ray engine" section of BENCHMARKS.md; docs/scale.md
reasons from these figures.

    python scripts/bench_scale.py --output BENCHMARKS.md

The engines run in fresh processes, alternately (local, ray, local, ray, ...), so that a change in
the machine's load hits both sides of the ratio alike; the figures are medians. The stage costs
come from the timings every Ray stage records per photo (one CPU thread per task, as Ray
schedules them), in a second, in-process run.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import autocolor_command, load_average, write_photo  # noqa: E402
from benchmarks_md import replace_section  # noqa: E402

HEADING = "## Scale-out: the Ray engine (issue 13)"
STAGES = {  # row column -> what it is
    "read_s": "1. read the bytes",
    "decode_s": "2. decode (load_image)",
    "input_s": "2. plan + model input (render size)",
    "network_s": "3. network (actor, ONNX Runtime, 1 thread; batch share)",
    "join_s": "4. join (finish_plan: upsample ab + Lab to sRGB)",
    "write_s": "4. encode + write (save_image)",
}


def make_photos(folder: Path, count: int, width: int, height: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [write_photo(folder / f"p{index:04d}.jpg", width, height, seed=index)
            for index in range(count)]


def cli_wall(inputs: Path, output: Path, engine: str,
             extra: tuple[str, ...] = ()) -> tuple[float, str]:
    """One fresh `autocolor colorize` -> (wall seconds, its summary line)."""
    command = [*autocolor_command(), "colorize", str(inputs), "-o", str(output), "--engine",
               engine, *extra]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    summary = [line for line in result.stderr.replace("\r", "\n").splitlines()
               if " written in " in line]
    return wall, summary[-1] if summary else ""


def stage_run(photos: list[Path], output: Path) -> dict:
    """The pipeline in this process, on a fresh local runtime: Ray's start-up, a one-photo job
    (the fixed cost of a job: worker processes, the actor, the model), then the whole set (the
    task workers warm by then), and each stage's per-photo medians over the set."""
    import argparse as _argparse

    from autocolor.infer import cli as infer_cli
    from autocolor.infer import ray_cluster, ray_engine

    parser = _argparse.ArgumentParser()
    infer_cli.add_arguments(parser)
    args = parser.parse_args([str(photos[0]), "-o", str(output), "--engine", "ray"])
    started = time.perf_counter()
    ray_cluster.start_ray()
    ray_up = time.perf_counter() - started
    try:
        settings = ray_engine.settings_for(args, None, None)
        pool = ray_cluster.network_pool(None, 0.0)
        seconds, rows = [], []
        for name, batch in (("one", photos[:1]), ("all", photos)):
            jobs = [(index, str(photo), str(photo), str(output / name / photo.name))
                    for index, photo in enumerate(batch)]
            began = time.perf_counter()
            rows = list(ray_engine.run_pipeline(jobs, settings, pool, 0.0))
            seconds.append(time.perf_counter() - began)
    finally:
        import ray

        ray.shutdown()
    failed = [row["error"] for row in rows if row["error"]]
    if failed:
        raise RuntimeError(f"{len(failed)} photos failed, e.g. {failed[0]}")
    return {
        "ray_up": ray_up, "one": seconds[0], "all": seconds[1], "count": len(photos),
        "stages": {name: statistics.median(row[name] for row in rows) for name in STAGES},
        "processes": {
            "decode": len({row["decode_pid"] for row in rows}),
            "network": len({row["network_pid"] for row in rows}),
            "write": len({row["write_pid"] for row in rows})},
    }


POOLS_HEADING = "## Ray's network pool on one machine (issue 22)"
# --pools: the pools a 2-core local runtime can hold (name -> `autocolor colorize` options).
POOLS = {
    "1 actor, 1 thread (before)": ("--actor-threads", "1"),
    "1 actor, every core (default)": (),
    "2 actors of 0.5 CPU, 1 thread each": ("--concurrency", "2", "--actor-cpus", "0.5"),
}


def pool_sweep(count: int, size: tuple[int, int], repeats: int, output: Path) -> int:
    """The Ray engine's pools against the local engine, on ``count`` small photos, in fresh
    processes, alternately; writes the section :data:`POOLS_HEADING`."""
    load_before = load_average()
    walls: dict[str, list[float]] = {name: [] for name in ("local", *POOLS)}
    with tempfile.TemporaryDirectory(prefix="bench-pools-") as temp:
        root = Path(temp)
        make_photos(root / "small", count, *size)
        for repeat in range(repeats):
            for index, name in enumerate(walls):
                engine, extra = ("local", ()) if name == "local" else ("ray", POOLS[name])
                wall, summary = cli_wall(root / "small", root / f"out-{index}-{repeat}", engine,
                                         extra)
                walls[name].append(wall)
                print(f"{name} run {repeat + 1}: {wall:.1f} s  {summary}", flush=True)
    local = statistics.median(walls["local"])
    command = (f"python scripts/bench_scale.py --pools --photos {count} --size "
               f"{size[0]}x{size[1]} --repeats {repeats} --output BENCHMARKS.md")
    lines = [
        POOLS_HEADING, "",
        f"Made by `{command}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"{platform.machine()}, {os.cpu_count()} cores; load average before {load_before}, "
        f"after {load_average()}. {count} synthetic B/W JPEGs of {size[0]}x{size[1]}, "
        "`autocolor colorize` in fresh processes, alternately; wall times from process start "
        "(Ray's start-up included).", "",
        "| engine and pool | options | wall (median) | runs | / local |",
        "| --- | --- | ---: | --- | ---: |",
    ]
    for name, values in walls.items():
        options = "--engine local" if name == "local" else " ".join(
            ("--engine ray", *POOLS[name]))
        median = statistics.median(values)
        lines.append(f"| {name} | `{options}` | {median:.1f} s | "
                     f"{', '.join(f'{w:.1f}' for w in values)} | {median / local:.2f}x |")
    section = "\n".join([*lines, ""])
    replace_section(output, POOLS_HEADING, section)
    print(section)
    return 0


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=Path("BENCHMARKS.md"))
    parser.add_argument("--photos", type=int, default=1000, help="small photos (default 1000)")
    parser.add_argument("--size", default="480x360", help="their size (default 480x360)")
    parser.add_argument("--big", type=int, default=8, help="12 MP photos for the stage costs")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each engine")
    parser.add_argument("--pools", action="store_true",
                        help="instead: the Ray engine's network pools against the local engine")
    args = parser.parse_args()
    width, height = (int(side) for side in args.size.split("x"))
    if args.pools:
        return pool_sweep(args.photos, (width, height), args.repeats, args.output)
    load_before = load_average()
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as temp:
        root = Path(temp)
        small = make_photos(root / "small", args.photos, width, height)
        big = make_photos(root / "big", args.big, 4000, 3000)
        walls: dict[str, list[float]] = {"local": [], "ray": []}
        summaries: dict[str, str] = {}
        for repeat in range(args.repeats):
            for engine in ("local", "ray"):
                wall, summary = cli_wall(root / "small", root / f"out-{engine}-{repeat}", engine)
                walls[engine].append(wall)
                summaries[engine] = summary
                print(f"{engine} run {repeat + 1}: {wall:.1f} s  {summary}", flush=True)
        stages_small = stage_run(small, root / "stages-small")
        stages_big = stage_run(big, root / "stages-big")
    load_after = load_average()

    local, ray = statistics.median(walls["local"]), statistics.median(walls["ray"])
    command = "python scripts/bench_scale.py --output BENCHMARKS.md"
    lines = [
        HEADING, "",
        f"Made by `{command}` (part of `make bench`) on "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {platform.machine()}, "
        f"{os.cpu_count()} cores; load average before {load_before}, after {load_after} (the "
        "machine is shared: other jobs slow every figure; the ratios suffer least). Model: the "
        "bundled default on ONNX Runtime, render size 384. Ray's local runtime: 127.0.0.1, all "
        "cores, one network actor (the default pool on 2 CPUs).", "",
        f"**Overhead against the local engine**, {args.photos} synthetic B/W JPEGs of "
        f"{width}x{height}, `autocolor colorize small -o out --engine local|ray` in fresh "
        f"processes, alternately, {args.repeats} runs each:", "",
        "| engine | wall (median) | runs | photos/s |",
        "| --- | --- | --- | --- |",
        f"| local | {local:.1f} s | {', '.join(f'{w:.1f}' for w in walls['local'])} | "
        f"{args.photos / local:.1f} |",
        f"| ray | {ray:.1f} s | {', '.join(f'{w:.1f}' for w in walls['ray'])} | "
        f"{args.photos / ray:.1f} |",
        "", f"Ray / local: **{ray / local:.2f}x** the wall time ({ray - local:+.1f} s). Ray's "
        "fixed costs (starting the runtime, the workers, the actor) are in the second table "
        "below; the rest depends on how each engine shares the cores (docs/scale.md).", "",
        "**Per stage**, per photo (medians over the photos; each task on one CPU thread), from "
        "`ray_engine.run_pipeline` in one process (`stage_run()` in the script):", "",
        f"| stage | {width}x{height} ({args.photos} photos) | 4000x3000 ({args.big} photos) |",
        "| --- | ---: | ---: |",
    ]
    for name, label in STAGES.items():
        lines.append(f"| {label} | {ms(stages_small['stages'][name])} | "
                     f"{ms(stages_big['stages'][name])} |")
    task = {key: sum(value["stages"][n] for n in STAGES if n != "network_s")
            for key, value in (("small", stages_small), ("big", stages_big))}
    lines += [
        f"| CPU-task work (all but the network) | {ms(task['small'])} | {ms(task['big'])} |",
        "",
        "| run | small | 12 MP |", "| --- | ---: | ---: |",
        f"| starting Ray (local runtime) | {ms(stages_small['ray_up'])} | "
        f"{ms(stages_big['ray_up'])} |",
        "| a job of one photo on it (worker processes, the actor, the model: fixed per job) | "
        f"{ms(stages_small['one'])} | {ms(stages_big['one'])} |",
        "| then the whole set (task workers warm; a new actor) | "
        + " | ".join(f"{ms(value['all'])} for {value['count']}, "
                     f"{value['count'] / value['all']:.1f} photos/s"
                     for value in (stages_small, stages_big)) + " |",
        "| processes: decode tasks / network actors / write tasks | "
        + " | ".join("{decode} / {network} / {write}".format(**value["processes"])
                     for value in (stages_small, stages_big)) + " |",
        "",
        "docs/scale.md turns these into how throughput grows with nodes and GPUs.", "",
    ]
    section = "\n".join(lines)
    replace_section(args.output, HEADING, section)
    print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
