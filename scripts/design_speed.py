"""ONNX Runtime latency of lite0-unet designs against seed-vgg19 on this CPU: random-init weights
exported like the bundled model, medians of interleaved rounds (a pause before each call, so that
the previous session's spinning threads are asleep), at the render shapes of scripts/bench.py.

    python scripts/design_speed.py --variant 'default={}' \
        --variant 'default-s2={"head_stride": 2, "decoder_channels": [160, 96, 64, 32, 16]}'

Each variant is NAME=JSON, lite0-unet kwargs laid over the default's. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "src"))

from bench import render_input  # noqa: E402
from design_study import parse_variant  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", type=parse_variant, action="append", required=True)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()

    import onnxruntime as ort

    from autocolor.color.lab_numpy import cpu_threads
    from autocolor.infer.export import export_model
    from autocolor.infer.onnx_backend import session_options
    from autocolor.models import create_model

    models = {"seed-vgg19": lambda: create_model("seed-vgg19")}
    for name, kwargs in args.variant:
        models[name] = lambda kwargs=kwargs: create_model("lite0-unet", **kwargs)
    sessions = {}
    with tempfile.TemporaryDirectory() as folder:
        for name, make in models.items():
            path = Path(folder) / f"{name}.onnx"
            export_model(make().eval(), path, {})
            sessions[name] = ort.InferenceSession(str(path), sess_options=session_options(
                cpu_threads()), providers=["CPUExecutionProvider"])
    inputs = {size: render_input(size) for size in (256, 512)}
    times: dict[tuple[str, int], list[float]] = {(n, s): [] for n in sessions for s in inputs}
    for session in sessions.values():
        for x in inputs.values():
            session.run(None, {"l_norm": x})
    for _ in range(args.rounds):
        for name, session in sessions.items():
            for size, x in inputs.items():
                time.sleep(0.05)
                start = time.perf_counter()
                session.run(None, {"l_norm": x})
                times[(name, size)].append(time.perf_counter() - start)
    median = {key: statistics.median(values) for key, values in times.items()}
    print("| model | 256: ms | 512: ms | seed-vgg19 / model at 256 | at 512 |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name in sessions:
        ratio = [median[("seed-vgg19", s)] / median[(name, s)] for s in inputs]
        print(f"| {name} | {1000 * median[(name, 256)]:.1f} | {1000 * median[(name, 512)]:.1f} "
              f"| {ratio[0]:.1f}x | {ratio[1]:.1f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
