"""Network latency on a GPU: torch CUDA (fp32, and fp16 autocast with channels-last), and ONNX
Runtime's CUDA provider when onnxruntime-gpu is installed. Random-init weights (speed does not
depend on their values); the same render shapes as scripts/bench.py. Prints a Markdown table.

    python scripts/gpu_bench.py                    # from a checkout: PYTHONPATH=src if not installed
    python scripts/gpu_bench.py --runs 50 --models lite0-unet

Needs torch with CUDA, numpy, safetensors; onnx + onnxscript + onnxruntime-gpu for the ORT rows.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import types
from pathlib import Path

from timing import median_seconds  # scripts/, beside this file

ROOT = Path(__file__).resolve().parents[1]
if (ROOT / "src" / "autocolor").is_dir() and str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

PHOTO_ASPECT = (3, 4)  # height, width of the photo whose render shapes are timed
SIZE_MULTIPLE = 32


def _import_models():
    """autocolor.models; if kornia is missing (it is used for colour conversion in training, not
    by the networks), a placeholder lets the models import."""
    try:
        import kornia  # noqa: F401
    except ImportError:
        color = types.ModuleType("kornia.color")

        def missing(*args, **kwargs):
            raise RuntimeError("kornia is not installed")

        color.lab_to_rgb = color.rgb_to_lab = missing
        sys.modules["kornia"] = types.ModuleType("kornia")
        sys.modules["kornia.color"] = color
        sys.modules["kornia"].color = color
    from autocolor.models import create_model

    return create_model


def render_shape(render_size: int) -> tuple[int, int]:
    height, width = PHOTO_ASPECT
    scale = render_size / max(height, width)
    return tuple(max(SIZE_MULTIPLE, round(side * scale / SIZE_MULTIPLE) * SIZE_MULTIPLE)
                 for side in (height, width))


def median_ms(function, synchronize, runs: int, warmup: int = 5) -> float:
    return 1000 * median_seconds(function, runs, warmup, synchronize)


def torch_rows(create_model, name: str, sizes, batches, runs: int) -> list[tuple]:
    import torch

    rows = []
    model = create_model(name, pretrained=False).eval().cuda()
    half = create_model(name, pretrained=False).eval().cuda().to(memory_format=torch.channels_last)
    for label, net, autocast in (("torch CUDA fp32", model, False),
                                 ("torch CUDA fp16 autocast, channels-last", half, True)):
        for size in sizes:
            for batch in batches:
                x = torch.rand(batch, 1, *render_shape(size), device="cuda") * 2 - 1
                if autocast:
                    x = x.to(memory_format=torch.channels_last)

                def run(net=net, x=x, autocast=autocast):
                    with torch.inference_mode(), torch.autocast("cuda", torch.float16,
                                                                enabled=autocast):
                        net(x)

                ms = median_ms(run, torch.cuda.synchronize, runs)
                rows.append((name, label, size, batch, ms))
                print(f"  {name} {label} {size} B={batch}: {ms:.2f} ms", file=sys.stderr)
    return rows


def ort_rows(create_model, name: str, sizes, batches, runs: int, workdir: Path) -> list[tuple]:
    import numpy as np
    import onnxruntime as ort

    from autocolor.infer.export import export_model

    path = export_model(create_model(name, pretrained=False).eval(), workdir / f"{name}.onnx",
                        {"architecture": name})
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(path), options, providers=[
        ("CUDAExecutionProvider", {"cudnn_conv_algo_search": "EXHAUSTIVE"}), "CPUExecutionProvider"])
    rows = []
    for size in sizes:
        for batch in batches:
            x = np.random.default_rng(size).uniform(-1, 1, (batch, 1, *render_shape(size)))
            feed = {session.get_inputs()[0].name: x.astype(np.float32)}
            # Host-to-device copies included, as an application would see them.
            ms = median_ms(lambda feed=feed: session.run(None, feed), lambda: None, runs)
            rows.append((name, "ONNX Runtime CUDA (incl. host copies)", size, batch, ms))
            print(f"  {name} ORT CUDA {size} B={batch}: {ms:.2f} ms", file=sys.stderr)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["lite0-unet", "seed-vgg19"])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--sizes", nargs="+", type=int, default=[256, 512])
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 8, 32])
    args = parser.parse_args()

    import torch

    if not torch.cuda.is_available():
        print("no CUDA device visible to torch", file=sys.stderr)
        return 1
    torch.backends.cudnn.benchmark = True
    create_model = _import_models()
    rows: list[tuple] = []
    for name in args.models:
        rows += torch_rows(create_model, name, args.sizes, args.batches, args.runs)
    ort_note = ""
    try:
        import onnxruntime as ort

        if "CUDAExecutionProvider" in ort.get_available_providers():
            with tempfile.TemporaryDirectory() as folder:
                for name in args.models:
                    rows += ort_rows(create_model, name, args.sizes, args.batches, args.runs,
                                     Path(folder))
        else:
            ort_note = (f"ONNX Runtime {ort.__version__} here has no CUDAExecutionProvider "
                        f"(providers: {', '.join(ort.get_available_providers())}); install "
                        "onnxruntime-gpu for those rows.")
    except ImportError:
        ort_note = "onnxruntime is not installed: no ONNX Runtime rows."

    print(f"GPU: {torch.cuda.get_device_name(0)}; torch {torch.__version__}, CUDA "
          f"{torch.version.cuda}. Render shapes of a 4:3 photo (256: "
          f"{'x'.join(map(str, render_shape(256)[::-1]))}, 512: "
          f"{'x'.join(map(str, render_shape(512)[::-1]))}); median of {args.runs} runs after 5 "
          "warm-ups, random-init weights, `python scripts/gpu_bench.py`.\n")
    print("| model | runtime | render | batch | ms per call | photos/s |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, label, size, batch, ms in rows:
        print(f"| {name} | {label} | {size} | {batch} | {ms:.2f} | {1000 * batch / ms:.0f} |")
    if ort_note:
        print(f"\n{ort_note}")
    ratios = []
    for size in args.sizes:
        for label in sorted({row[1] for row in rows}):
            cell = {row[0]: row[4] for row in rows
                    if row[1] == label and row[2] == size and row[3] == 1}
            if "lite0-unet" in cell and "seed-vgg19" in cell:
                ratios.append(f"{label} {size}: {cell['seed-vgg19'] / cell['lite0-unet']:.1f}x")
    if ratios:
        print("\nseed-vgg19 / lite0-unet latency at batch 1: " + "; ".join(ratios))
    return 0


if __name__ == "__main__":
    sys.exit(main())
