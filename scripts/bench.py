"""CPU benchmarks of the inference path -> BENCHMARKS.md (``make bench``).

    python scripts/bench.py --output BENCHMARKS.md          # the full run (a few minutes)
    python scripts/bench.py --quick --output /tmp/bench.md  # fewer repeats, for a smoke test

Measures, on this machine:
- the network alone: per-image latency (median of several runs) at render sizes 256 and 512
  for the default model (its architecture as the weights' metadata names it) and ``seed-vgg19``
  on ONNX Runtime and torch, batch throughput at 256 px,
  each model's GFLOPs (torch.utils.flop_counter) and the GFLOP/s achieved against a large fp32
  matrix product measured in the same run, and the speed ratio of the two models;
- the real command, ``autocolor colorize``, in a fresh process each time: wall time and peak
  memory (maximum RSS from GNU time, or getrusage) for a 12-megapixel and a 24-megapixel
  synthetic B/W photo, and 28 photos of 512 px in one call;
- where the time of a 12 MP photo goes, stage by stage, in one process (ab upsampled with the
  guided filter, as ``autocolor colorize`` does by default, and bilinear for comparison).

Weights: the bundled ``src/autocolor/weights/default.safetensors`` when it exists (with its ONNX
export beside it, made here in a temporary folder if missing); otherwise a random-init model of
the ``default`` training recipe's architecture saved to a temporary folder (speed does not
depend on the weights' values). seed-vgg19 is always random-init.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from timing import median_seconds  # scripts/, beside this file

# As `autocolor colorize` does for its torch backend (autocolor.infer.cli): OpenMP threads that
# sleep instead of spinning. On a shared machine spinning made the torch backend several times
# slower.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

ROOT = Path(__file__).resolve().parents[1]
PACKAGED_DEFAULT = ROOT / "src" / "autocolor" / "weights" / "default.safetensors"
PHOTO_ASPECT = (3, 4)  # height, width of the photos whose render shapes are timed
TARGETS = {"12mp_seconds": 1.0, "12mp_peak_gb": 1.5, "28_photos_seconds": 4.0}  # issue 11


# -- machine ------------------------------------------------------------------------------------

def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def memory_gb() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return int(line.split()[1]) / 1024**2
    except OSError:
        pass
    return float("nan")


def load_average() -> str:
    try:
        return " / ".join(f"{value:.1f}" for value in os.getloadavg())
    except OSError:
        return "n/a"


def machine_line() -> str:
    import onnxruntime
    import torch

    return (f"{cpu_model()}, {cores()} cores available to the process, {memory_gb():.0f} GB RAM; "
            f"Python {platform.python_version()}, torch {torch.__version__}, onnxruntime "
            f"{onnxruntime.__version__}, numpy {np.__version__}, Pillow {Image.__version__}")


# -- inputs -------------------------------------------------------------------------------------

def photo_like(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A synthetic B/W photo: smooth shapes, mid-scale texture, a gradient and film grain, so
    that it compresses like a real photo (about 2.5 bits per pixel at JPEG quality 92)."""
    rng = np.random.default_rng(seed)
    shapes = Image.fromarray((rng.random((height // 64 + 2, width // 64 + 2)) * 255).astype(np.uint8))
    shapes = np.asarray(shapes.resize((width, height), Image.Resampling.BICUBIC), np.float32)
    texture = Image.fromarray((rng.random((height // 8 + 1, width // 8 + 1)) * 255).astype(np.uint8))
    texture = np.asarray(texture.resize((width, height), Image.Resampling.BILINEAR), np.float32)
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    x = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    gray = 0.6 * shapes + 0.25 * texture + 40 * np.sin(9 * x + 5 * y)
    gray += rng.normal(0, 6, (height, width)).astype(np.float32)
    return np.clip(gray, 0, 255).astype(np.uint8)


def write_photo(path: Path, width: int, height: int, seed: int = 0, rgb: bool = False) -> Path:
    image = Image.fromarray(photo_like(width, height, seed), "L")
    (image.convert("RGB") if rgb else image).save(path, quality=92)
    return path


# -- weights ------------------------------------------------------------------------------------

@dataclass
class Weights:
    architecture: str
    model_kwargs: dict[str, Any]  # as the metadata records them (they shape the model)
    safetensors: Path
    onnx: Path
    source: str  # how they were obtained, for the report

    @property
    def label(self) -> str:
        """The architecture, with its decoder members when there are several:
        'lite2-unet, 3 members'."""
        members = int(self.model_kwargs.get("members", 1))
        return f"{self.architecture}, {members} members" if members > 1 else self.architecture


def default_architecture() -> tuple[str, dict[str, Any]]:
    """(architecture, model kwargs) of the default: the bundled weights' metadata, else the
    ``default`` training recipe's (what ``make train-default`` would bundle)."""
    from autocolor.train.config import resolve_config
    from autocolor.weights import read_metadata

    if PACKAGED_DEFAULT.is_file():
        metadata = read_metadata(PACKAGED_DEFAULT)
        if "architecture" in metadata:
            return metadata["architecture"], dict(metadata.get("model_kwargs") or {})
    recipe = resolve_config("default", {})
    return recipe.model, dict(recipe.model_kwargs)


def prepare_weights(workdir: Path) -> dict[str, Weights]:
    """{"default": bundled or random, "seed-vgg19": random}, each with an ONNX file beside."""
    import torch

    from autocolor.infer.export import export_weights
    from autocolor.infer.pipeline import DEFAULT_RENDER_SIZE
    from autocolor.models import create_model
    from autocolor.weights import read_metadata, save_weights

    architecture, kwargs = default_architecture()
    prepared: dict[str, Weights] = {}
    if PACKAGED_DEFAULT.is_file() and "architecture" in read_metadata(PACKAGED_DEFAULT):
        bundled_onnx = PACKAGED_DEFAULT.with_suffix(".onnx")
        if bundled_onnx.is_file():
            prepared["default"] = Weights(architecture, kwargs, PACKAGED_DEFAULT, bundled_onnx,
                                          "bundled default.safetensors + default.onnx")
        else:
            copy = workdir / "default.safetensors"
            shutil.copy2(PACKAGED_DEFAULT, copy)
            export_weights(copy, copy.with_suffix(".onnx"), verify=False)
            prepared["default"] = Weights(architecture, kwargs, copy, copy.with_suffix(".onnx"),
                                          "bundled default.safetensors (exported here)")
    for role, (name, model_kwargs) in (("default", (architecture, kwargs)),
                                       ("seed-vgg19", ("seed-vgg19", {}))):
        if role in prepared:
            continue
        torch.manual_seed(0)
        path = workdir / f"{role}.safetensors"
        save_weights(create_model(name, pretrained=False, **model_kwargs), path,
                     {"architecture": name, "model_kwargs": model_kwargs,
                      "render_size": DEFAULT_RENDER_SIZE})
        export_weights(path, path.with_suffix(".onnx"), verify=False)
        prepared[role] = Weights(name, model_kwargs, path, path.with_suffix(".onnx"),
                                 f"random-init, render size {DEFAULT_RENDER_SIZE}")
    return prepared


# -- timing helpers -----------------------------------------------------------------------------

def interleaved_latency(runners_by_model: dict[str, dict[str, object]], runs: int
                        ) -> dict[tuple[str, str, int], float]:
    """Median seconds per (model, backend, render size): 2 warm-ups each, then ``runs`` rounds
    in which every case runs once. Rounds interleave the models so that a change in the shared
    machine's load hits both sides of a speed ratio alike."""
    inputs = {size: render_input(size) for size in (256, 512)}
    cases = [(name, backend, size) for name, by_backend in runners_by_model.items()
             for backend in by_backend for size in inputs]
    samples: dict[tuple[str, str, int], list[float]] = {case: [] for case in cases}
    for name, backend, size in cases:
        for _ in range(2):
            runners_by_model[name][backend].predict(inputs[size])
    for _ in range(runs):
        for case in cases:
            name, backend, size = case
            # ONNX Runtime's threads spin for a while after a run: let the previous case's pool
            # fall asleep, or it competes for the 2 cores with the case being timed.
            time.sleep(0.05)
            start = time.perf_counter()
            runners_by_model[name][backend].predict(inputs[size])
            samples[case].append(time.perf_counter() - start)
    return {case: statistics.median(times) for case, times in samples.items()}


def render_input(render_size: int, batch: int = 1) -> np.ndarray:
    from autocolor.infer.pipeline import render_shape

    h, w = render_shape(*PHOTO_ASPECT, render_size)
    rng = np.random.default_rng(render_size)
    return rng.uniform(-1, 1, (batch, 1, h, w)).astype(np.float32)


class TorchRunner:
    def __init__(self, weights: Path) -> None:
        import torch

        from autocolor.weights import load_model

        torch.set_num_threads(cores())
        self.torch = torch
        self.model, _ = load_model(weights)

    def predict(self, l_norm: np.ndarray) -> np.ndarray:
        with self.torch.inference_mode():
            return self.model(self.torch.from_numpy(l_norm)).numpy()


def runners(weights: Weights) -> dict[str, object]:
    from autocolor.infer.onnx_backend import OnnxBackend

    return {"onnx": OnnxBackend(weights.onnx), "torch": TorchRunner(weights.safetensors)}


def onnx_kept_bins(weights: Weights) -> list[int] | None:
    """The ab bins the ONNX file's heads hold (``bins_kept``, autocolor.infer.bin_usage), or
    None when it holds the whole grid."""
    import json

    from autocolor.infer.onnx_backend import OnnxBackend

    kept = OnnxBackend(weights.onnx, cache=False).metadata.get("bins_kept")
    return json.loads(kept) if kept else None


def model_gflops(weights: Weights, render_size: int, kept_bins: list[int] | None = None
                 ) -> float:
    """GFLOPs of one image at ``render_size``; ``kept_bins``: count the heads with only those
    ab bins, as the ONNX file runs them (:func:`onnx_kept_bins`)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from autocolor.infer.bin_usage import keep_bins
    from autocolor.models import create_model

    # A random-init twin: FLOPs depend on the shape (architecture and kwargs), not the values.
    model = create_model(weights.architecture, pretrained=False, **weights.model_kwargs).eval()
    if kept_bins:
        keep_bins(model, kept_bins)
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        model(torch.from_numpy(render_input(render_size)))
    return counter.get_total_flops() / 1e9


def matmul_rooflines(size: int = 2048, runs: int = 5) -> dict[str, float]:
    """GFLOP/s of a size^3 fp32 matrix product on all cores, through torch (MKL here) and through
    ONNX Runtime (MLAS, what the ONNX path's convolutions use)."""
    import onnxruntime as ort
    import torch
    from onnx import TensorProto, helper

    from autocolor.infer.onnx_backend import session_options

    torch.set_num_threads(cores())
    a = torch.randn(size, size)
    b = torch.randn(size, size)
    rates = {"torch.mm": 2 * size**3 / median_seconds(lambda: torch.mm(a, b), runs) / 1e9}
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["a", "b"], ["c"])], "matmul",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [size, size]) for n in "ab"],
        [helper.make_tensor_value_info("c", TensorProto.FLOAT, [size, size])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    session = ort.InferenceSession(model.SerializeToString(), session_options(cores()),
                                   providers=["CPUExecutionProvider"])
    feed = {"a": a.numpy(), "b": b.numpy()}
    rates["ONNX Runtime MatMul"] = 2 * size**3 / median_seconds(
        lambda: session.run(None, feed), runs) / 1e9
    return rates


# -- the real command ---------------------------------------------------------------------------

def autocolor_command() -> list[str]:
    script = Path(sys.executable).with_name("autocolor")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "autocolor.cli"]


def timed_run(command: list[str]) -> tuple[float, float, float]:
    """Run a command in a fresh process -> (wall seconds, CPU seconds (user + system), peak RSS
    in MB)."""
    gnu_time = "/usr/bin/time" if Path("/usr/bin/time").exists() else shutil.which("time")
    if gnu_time:
        start = time.perf_counter()
        result = subprocess.run([gnu_time, "-v", *command], capture_output=True, text=True)
        wall = time.perf_counter() - start
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
        rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr)
        user = re.search(r"User time \(seconds\): ([\d.]+)", result.stderr)
        system = re.search(r"System time \(seconds\): ([\d.]+)", result.stderr)
        if rss and user and system:
            return wall, float(user.group(1)) + float(system.group(1)), int(rss.group(1)) / 1024
    # Without GNU time: getrusage of the one child this wrapper waits for.
    wrapper = ("import resource, subprocess, sys, time; s = time.perf_counter(); "
               "r = subprocess.run(sys.argv[1:]).returncode; w = time.perf_counter() - s; "
               "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
               "print(w, u.ru_utime + u.ru_stime, u.ru_maxrss); sys.exit(r)")
    result = subprocess.run([sys.executable, "-c", wrapper, *command], capture_output=True,
                            text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
    wall, cpu, kilobytes = result.stdout.split()[-3:]
    return float(wall), float(cpu), int(kilobytes) / 1024


@dataclass
class EndToEnd:
    label: str
    command: str
    wall: float  # median seconds
    walls: list[float]
    cpu: float  # median CPU seconds (user + system)
    peak_mb: float  # highest over the runs


def end_to_end(label: str, inputs: list[str], output: Path, weights: Path, runs: int,
               extra: tuple[str, ...] = ()) -> EndToEnd:
    command = [*autocolor_command(), "colorize", *inputs, "-o", str(output), "--model",
               str(weights), "--overwrite", *extra]
    walls, cpus, peaks = [], [], []
    for _ in range(runs):
        wall, cpu, peak = timed_run(command)
        walls.append(wall)
        cpus.append(cpu)
        peaks.append(peak)
    shown = " ".join(["autocolor colorize", *(Path(i).name for i in inputs), "-o", "out",
                      "--model", weights.name, "--overwrite", *extra])
    return EndToEnd(label, shown, statistics.median(walls), walls, statistics.median(cpus),
                    max(peaks))


def stage_breakdown(photo: Path, weights: Weights, runs: int
                    ) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    """Median seconds per stage of one 12 MP photo through the ONNX path, in this process, as
    `autocolor colorize` runs it to a JPEG (guided upsampling, its default, and the 4:2:0 join)
    -> (stages, for comparison: the RGB join and its encode, which a PNG target runs, and the
    4:2:0 join with bilinear upsampling, which ``--upsampling bilinear`` runs)."""
    from autocolor.image_output import jpeg_from_planes, save_image
    from autocolor.images import load_image
    from autocolor.infer.onnx_backend import OnnxBackend
    from autocolor.infer.pipeline import (
        guide_of,
        model_input,
        render_rgb,
        render_shape,
        render_ycbcr,
    )

    backend = OnnxBackend(weights.onnx, cache=False)
    render_size = int(backend.metadata.get("render_size", 384))
    loaded = load_image(photo)
    shape = render_shape(*loaded.lightness.shape, render_size)
    l_norm = model_input(loaded.lightness, shape)
    ab_norm = backend.predict(l_norm[None])[0]
    guide = guide_of(l_norm)

    # As Colorizer.finish without hints or a reference photo (saturation 1, the CLI's default).
    def planes(guided: bool):
        return lambda: render_ycbcr(loaded.lightness, ab_norm, 1.0, guided, guide,
                                    loaded.gray_codes())

    rendered = planes(True)()
    rgb = render_rgb(loaded.lightness, ab_norm, loaded.bit_depth, 1.0, True, guide)
    target = photo.with_name("stage-out.jpg")
    stages = [
        ("ONNX Runtime session (created once per process)",
         lambda: OnnxBackend(weights.onnx, cache=False)),
        ("decode JPEG + full-res L (load_image)", lambda: load_image(photo)),
        (f"L to the render shape {shape[1]}x{shape[0]} (model_input)",
         lambda: model_input(loaded.lightness, shape)),
        ("network (ONNX Runtime)", lambda: backend.predict(l_norm[None])),
        ("ab upsampling, guided filter (the default), joined as 4:2:0 Y'CbCr: half-size chroma, "
         "full-size luma (render_ycbcr(guided=True))", planes(True)),
        ("encode JPEG q95 from the planes + write (save_image)",
         lambda: save_image(rendered, target, loaded)),
    ]
    compared = [
        ("the RGB join at full size (render_rgb(guided=True)), what a PNG target runs",
         lambda: render_rgb(loaded.lightness, ab_norm, loaded.bit_depth, 1.0, True, guide)),
        ("encode JPEG q95 from RGB (Pillow)", lambda: save_image(rgb, target, loaded)),
        ("the 4:2:0 join with bilinear upsampling (`--upsampling bilinear`)", planes(False)),
    ]
    assert len(jpeg_from_planes(rendered, loaded)) > 0
    return ([(name, median_seconds(function, runs, warmup=1)) for name, function in stages],
            [(name, median_seconds(function, runs, warmup=1)) for name, function in compared])


# -- report -------------------------------------------------------------------------------------

def fmt_ms(seconds: float) -> str:
    if seconds < 0.01:  # a tenth of a millisecond matters to the speed ratio below 10 ms
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


def yes(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a smoke test)")
    parser.add_argument("--runs", type=int, default=None, help="repeats per latency figure")
    args = parser.parse_args()
    runs = args.runs or (3 if args.quick else 15)
    e2e_runs = 1 if args.quick else 3

    started = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    load_before = load_average()
    machine = machine_line()
    print(f"machine: {machine}\nload average before: {load_before}", file=sys.stderr)
    workdir = Path(tempfile.mkdtemp(prefix="autocolor-bench-"))
    try:
        lines = run_benchmarks(workdir, runs, e2e_runs, args.quick)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    header = [
        "# Benchmarks",
        "",
        f"Made by `make bench` (`python scripts/bench.py --output BENCHMARKS.md`"
        f"{', --quick' if args.quick else ''}) on {started}.",
        "",
        f"**Machine:** {machine}. Load average (1/5/15 min) before the run: {load_before}; "
        f"after: {load_average()} (the machine is shared: figures taken while others ran are "
        "slower than this CPU can do).",
        "",
    ]
    kept = ""
    if args.output.is_file():  # a GPU section pasted from scripts/gpu_bench.py stays
        previous = args.output.read_text()
        if "\n## GPU" in previous:
            kept = previous[previous.index("\n## GPU"):]
    args.output.write_text("\n".join(header + lines) + "\n" + kept)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


def run_benchmarks(workdir: Path, runs: int, e2e_runs: int, quick: bool) -> list[str]:
    log = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    log("preparing weights and ONNX exports ...")
    weights = prepare_weights(workdir)
    default = weights["default"]
    seed = weights["seed-vgg19"]
    log(f"default: {default.label} ({default.source})")

    # -- end to end, first (nothing else of this script is holding CPU or memory then)
    photos = workdir / "photos"
    photos.mkdir()
    log("writing synthetic photos ...")
    photo12 = write_photo(photos / "photo-12mp.jpg", 4000, 3000, 1)
    photo12rgb = write_photo(photos / "photo-12mp-rgb.jpg", 4000, 3000, 1, rgb=True)
    photo24 = write_photo(photos / "photo-24mp.jpg", 6000, 4000, 2)
    small = photos / "small"
    small.mkdir()
    for index in range(28):
        write_photo(small / f"photo-{index:02d}.jpg", 512, 384, 10 + index)
    out = workdir / "out"
    log("end to end ...")
    e2e = [
        end_to_end("12 MP B/W JPEG (4000x3000), ONNX Runtime (auto)", [str(photo12)], out,
                   default.safetensors, e2e_runs),
        end_to_end("12 MP B/W photo stored as RGB JPEG", [str(photo12rgb)], out,
                   default.safetensors, e2e_runs),
        end_to_end("24 MP B/W JPEG (6000x4000)", [str(photo24)], out, default.safetensors,
                   e2e_runs),
        end_to_end("12 MP B/W JPEG, torch backend", [str(photo12)], out, default.safetensors,
                   1, ("--backend", "torch")),
        end_to_end("28 photos of 512x384 px in one call (--batch-size 4, the default)",
                   [str(small)], out, default.safetensors, e2e_runs),
        end_to_end("28 photos of 512x384 px, --batch-size 1", [str(small)], out,
                   default.safetensors, 1, ("--batch-size", "1")),
        end_to_end("28 photos of 512x384 px, --batch-size 8", [str(small)], out,
                   default.safetensors, 1, ("--batch-size", "8")),
    ]
    log("stage breakdown ...")
    stages, compared = stage_breakdown(photo12, default, 5)

    # -- the network
    log("latency ...")
    latency = interleaved_latency({"default": runners(default), "seed-vgg19": runners(seed)},
                                  runs)
    for (name, backend_name, size), seconds in latency.items():
        log(f"  {name} {backend_name} {size}: {seconds:.3f} s")
    log("batch throughput ...")
    throughput: dict[tuple[str, str, int], float] = {}
    for name, model_weights in (("default", default), ("seed-vgg19", seed)):
        for backend_name, runner in runners(model_weights).items():
            for batch in (1, 4, 8):
                l_norm = render_input(256, batch)
                seconds = median_seconds(lambda r=runner, x=l_norm: r.predict(x),
                                         3 if quick or name == "seed-vgg19" else 5, warmup=1)
                throughput[(name, backend_name, batch)] = batch / seconds
    log("FLOPs and the matrix-product roofline ...")
    kept = {name: onnx_kept_bins(w) for name, w in (("default", default), ("seed-vgg19", seed))}
    gflops = {(name, size, backend): model_gflops(w, size, kept[name] if backend == "onnx"
                                                  else None)
              for name, w in (("default", default), ("seed-vgg19", seed)) for size in (256, 512)
              for backend in ("onnx", "torch")}
    rooflines = matmul_rooflines()

    return report(weights, e2e, stages, compared, latency, throughput, gflops, rooflines, runs)


def report(weights, e2e, stages, compared, latency, throughput, gflops, rooflines, runs
           ) -> list[str]:
    from autocolor.infer.colorizer import MAX_BATCH_RENDER_PIXELS
    from autocolor.infer.pipeline import render_shape

    default, seed = weights["default"], weights["seed-vgg19"]
    # Table rows name the models; the default by the architecture its metadata records.
    names = {"default": f"default ({default.label})", "seed-vgg19": "seed-vgg19"}
    peak = max(rooflines.values())
    twelve = e2e[0]
    batch28 = e2e[4]
    ratio = {(backend, size): latency[("seed-vgg19", backend, size)]
             / latency[("default", backend, size)]
             for backend in ("onnx", "torch") for size in (256, 512)}
    flops_ratio = {(backend, size): gflops[("seed-vgg19", size, backend)]
                   / gflops[("default", size, backend)]
                   for backend in ("onnx", "torch") for size in (256, 512)}
    default_render = int(_render_size(default))
    stage_sum = sum(seconds for _, seconds in stages)
    # The join as the CLI runs it (guided) and, last in compared, with bilinear upsampling.
    guided_join = next(seconds for name, seconds in stages if "guided filter" in name)
    lines = [
        f"**Weights:** {names['default']}: {default.source}; seed-vgg19: {seed.source}. "
        f"End-to-end runs use the default at its render size ({default_render}) through "
        "`--backend auto`, which takes the ONNX file beside the weights, and `--upsampling "
        "guided` (the default).",
        "",
        "## Targets (issue 11)",
        "",
        "| target | measured | |",
        "| --- | --- | --- |",
        f"| 12 MP B/W photo, whole process (`autocolor colorize`, fresh process) "
        f"<= {TARGETS['12mp_seconds']:.1f} s on 2 cores | {twelve.wall:.2f} s | "
        f"{yes(twelve.wall <= TARGETS['12mp_seconds'])} |",
        f"| 12 MP peak memory <= {TARGETS['12mp_peak_gb']} GB | {twelve.peak_mb:.0f} MB | "
        f"{yes(twelve.peak_mb <= TARGETS['12mp_peak_gb'] * 1024)} |",
        f"| 28 photos of 512 px in one call <= {TARGETS['28_photos_seconds']:.0f} s | "
        f"{batch28.wall:.2f} s | {yes(batch28.wall <= TARGETS['28_photos_seconds'])} |",
        "",
        "Issue 11 retired issue 6's target of a default 10x faster than seed-vgg19; the ratio is "
        "still reported below, as information.",
        "",
        "## End to end: `autocolor colorize` in a fresh process",
        "",
        "Wall time from process start to exit (Python start, imports, ONNX Runtime session, "
        "decode, network, guided upsampling and join, encode, write), median of the runs; peak "
        "memory is the maximum resident set size (GNU `time -v`), the highest of the runs. "
        "Outputs are JPEG q95. CPU time is summed over all threads: on an otherwise idle 2-core "
        "machine the wall time cannot be much below half of it, and a wall time far above it "
        "means the process was waiting for the CPU (other jobs).",
        "",
        "| case | command | wall (median) | runs | CPU time (user + sys) | peak RSS |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for item in e2e:
        lines.append(f"| {item.label} | `{item.command}` | {item.wall:.2f} s | "
                     f"{', '.join(f'{w:.2f}' for w in item.walls)} | {item.cpu:.2f} s | "
                     f"{item.peak_mb:.0f} MB |")
    lines += [
        "",
        f"## Where the time of a 12 MP photo goes ({names['default']}, ONNX Runtime, one process)",
        "",
        "`stage_breakdown()` in scripts/bench.py: each stage alone, median of 5 after a warm-up, "
        "as `autocolor colorize` runs it (ab upsampled by the guided filter, its default). The "
        "rest of the wall time above is the Python start and imports. A JPEG keeps its colour "
        "at half resolution (4:2:0), so for a JPEG target the join computes only that: the "
        "chroma of each 2x2 block and the full-size luma (docs/ARCHITECTURE.md). The rows "
        "below the sum compare: the full-size RGB join and its encode (a PNG target's path), "
        "and the 4:2:0 join with bilinear upsampling (`--upsampling bilinear`): the "
        f"difference, {fmt_ms(guided_join - compared[-1][1])}, is what the guided filter costs.",
        "",
        "| stage | median |",
        "| --- | --- |",
        *[f"| {name} | {fmt_ms(seconds)} |" for name, seconds in stages],
        f"| sum | {fmt_ms(stage_sum)} |",
        *[f"| for comparison: {name} | {fmt_ms(seconds)} |" for name, seconds in compared],
        "",
        "## The network alone: latency per image",
        "",
        f"`backend.predict` on one (1, 1, h, w) input at the render shape of a 4:3 photo "
        f"(256: {'x'.join(map(str, render_shape(*PHOTO_ASPECT, 256)[::-1]))}, 512: "
        f"{'x'.join(map(str, render_shape(*PHOTO_ASPECT, 512)[::-1]))} pixels), median of "
        f"{runs} runs after 2 warm-ups, the runs of all models and backends interleaved in "
        "rounds (so that the machine's load changes hit both sides of a ratio alike). ONNX "
        "Runtime: the exported file, all graph optimizations, one intra-op thread per core, "
        "threads spinning between operators (the settings `autocolor colorize` uses); "
        "torch: eager, `torch.set_num_threads(cores)`, inference mode.",
        "",
        "| model | backend | 256 | 512 |",
        "| --- | --- | --- | --- |",
    ]
    for name in ("default", "seed-vgg19"):
        for backend in ("onnx", "torch"):
            lines.append(f"| {names[name]} | {backend} | "
                         f"{fmt_ms(latency[(name, backend, 256)])} | "
                         f"{fmt_ms(latency[(name, backend, 512)])} |")
    lines += [
        "",
        "## Batch throughput at 256 px",
        "",
        "Photos per second through `backend.predict` with B renders of 192x256 in one call "
        "(median of 5 runs, 3 for seed-vgg19).",
        "",
        "| model | backend | B = 1 | B = 4 | B = 8 |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name in ("default", "seed-vgg19"):
        for backend in ("onnx", "torch"):
            lines.append(f"| {names[name]} | {backend} | " + " | ".join(
                f"{throughput[(name, backend, b)]:.1f}/s" for b in (1, 4, 8)) + " |")
    lines += [
        "",
        "## FLOPs and the matrix-product roofline",
        "",
        "GFLOPs per image counted with `torch.utils.flop_counter.FlopCounterMode` (a multiply-add "
        "is 2 FLOPs; convolutions and matrix products only), of the model as each backend runs "
        "it (ONNX file / torch: the ONNX file's bins heads may hold only the ab bins the model "
        "uses, `autocolor export onnx --bins-from`). Achieved = GFLOPs / median latency "
        "above. Roofline: the faster of two 2048x2048x2048 fp32 matrix products measured in the "
        f"same run on {cores()} cores: "
        + ", ".join(f"{name} {rate:.0f} GFLOP/s" for name, rate in rooflines.items())
        + f", so **{peak:.0f} GFLOP/s**.",
        "",
        "| model | render | GFLOPs | ONNX Runtime GFLOP/s (% of matmul) | torch GFLOP/s (% of matmul) |",
        "| --- | --- | --- | --- | --- |",
    ]
    achieved: dict[tuple[str, str, int], float] = {}  # % of the matmul rate
    for name in ("default", "seed-vgg19"):
        for size in (256, 512):
            work = {backend: gflops[(name, size, backend)] for backend in ("onnx", "torch")}
            cells = []
            for backend in ("onnx", "torch"):
                rate = work[backend] / latency[(name, backend, size)]
                achieved[(name, backend, size)] = 100 * rate / peak
                cells.append(f"{rate:.0f} ({100 * rate / peak:.0f}%)")
            counted = (f"{work['onnx']:.2f}" if abs(work["onnx"] - work["torch"]) < 5e-3
                       else f"{work['onnx']:.2f} / {work['torch']:.2f}")
            lines.append(f"| {names[name]} | {size} | {counted} | {cells[0]} | {cells[1]} |")
    lines += [
        "",
        f"## The {names['default']} against seed-vgg19 at equal render size",
        "",
        "Information only: since issue 11 the speed ratio is no longer a target.",
        "",
        "| backend | render | seed-vgg19 / default latency | FLOPs ratio |",
        "| --- | --- | --- | --- |",
        *[f"| {backend} | {size} | {ratio[(backend, size)]:.1f}x | "
          f"{flops_ratio[(backend, size)]:.1f}x |"
          for backend in ("onnx", "torch") for size in (256, 512)],
        "",
        "## Notes",
        "",
        "- Percentages of the matrix product above 100% mean the product was measured at a busier "
        "moment of the shared machine, or that ONNX Runtime's convolution kernels beat one plain "
        "2048-cube product; what the column shows is the gap between the two models.",
        "- Depthwise convolutions (EfficientNet-Lite's) and a bins head's softmax over the ab bins "
        "are bound by memory rather than arithmetic, where VGG's dense 3x3 convolutions are bound "
        "by arithmetic; so FLOPs alone do not predict the latency ratio. In this run, at 512 on "
        f"ONNX Runtime, {names['default']} reached {achieved[('default', 'onnx', 512)]:.0f}% of "
        f"the matrix-product rate and seed-vgg19 {achieved[('seed-vgg19', 'onnx', 512)]:.0f}%; "
        f"the latency ratio was {ratio[('onnx', 512)]:.1f}x for a FLOPs ratio of "
        f"{flops_ratio[('onnx', 512)]:.1f}x.",
        *_members_note(default),
        "- Quality is not measured here: docs/recipes.md compares the default with the seed "
        "design trained on the same data (random init: ImageNet VGG19 weights cannot be fetched "
        "here) and with the gray baseline, on validation.",
        "- The export writes a bins head channels-last: ONNX Runtime's Softmax over the channel "
        "axis of an NCHW tensor is slow (before that export, it was most of the first default's "
        "network time).",
        f"- Batching costs memory, and whether it raises throughput on this CPU is the batch "
        f"table above; the colorizer caps a batch at "
        f"{MAX_BATCH_RENDER_PIXELS:,} render pixels ("
        + ", ".join(f"{MAX_BATCH_RENDER_PIXELS // (h * w)} of {w}x{h}" for h, w in
                    (render_shape(*PHOTO_ASPECT, size) for size in (384, 512)))
        + ").",
        "- The torch backend runs eager PyTorch (batch norms not folded); on a CPU use the ONNX "
        "file. `autocolor colorize` sets `OMP_WAIT_POLICY=PASSIVE` (unless set): spinning OpenMP "
        "threads made the torch backend several times slower on this shared machine.",
        "- GPU figures: `python scripts/gpu_bench.py` prints a Markdown table; paste it under a "
        "`## GPU` heading at the end of this file and `make bench` keeps it.",
    ]
    return lines


def _members_note(weights: Weights) -> list[str]:
    """A note on decoder members, for a default that has several."""
    members = int(weights.model_kwargs.get("members", 1))
    if members < 2:
        return []
    return [f"- {weights.architecture} with {members} members: the encoder runs once per image, "
            f"each of the {members} decoders (with its head) once, and their outputs are "
            "averaged; the network figures above include all of them."]


def _render_size(weights: Weights) -> int:
    from autocolor.weights import read_metadata

    return int(read_metadata(weights.safetensors).get("render_size", 384))


if __name__ == "__main__":
    sys.exit(main())
