"""ONNX Runtime latency of lite0-unet designs against seed-vgg19 on this CPU: random-init weights
exported like the bundled model, timed by scripts/bench.py's interleaved_latency (the same
rounds, pauses and render shapes as `make bench`).

    python scripts/design_speed.py --variant 'default={}' \
        --variant 'default-s2={"head_stride": 2, "decoder_channels": [160, 96, 64, 32, 16]}'

Each variant is NAME=JSON, lite0-unet kwargs laid over the default's. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "src"))

from bench import interleaved_latency  # noqa: E402
from design_study import parse_variant  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", type=parse_variant, action="append", required=True)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()

    from autocolor.infer.export import export_model
    from autocolor.infer.onnx_backend import OnnxBackend
    from autocolor.models import create_model

    models = {"seed-vgg19": lambda: create_model("seed-vgg19")}
    for name, kwargs in args.variant:
        models[name] = lambda kwargs=kwargs: create_model("lite0-unet", **kwargs)
    runners = {}
    with tempfile.TemporaryDirectory() as folder:
        for name, make in models.items():
            path = Path(folder) / f"{name}.onnx"
            export_model(make().eval(), path, {})
            runners[name] = {"onnx": OnnxBackend(path)}  # the session holds the model in memory
    median = interleaved_latency(runners, args.rounds)
    print("| model | 256: ms | 512: ms | seed-vgg19 / model at 256 | at 512 |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name in runners:
        ratio = [median[("seed-vgg19", "onnx", s)] / median[(name, "onnx", s)] for s in (256, 512)]
        print(f"| {name} | {1000 * median[(name, 'onnx', 256)]:.1f} | "
              f"{1000 * median[(name, 'onnx', 512)]:.1f} | {ratio[0]:.1f}x | {ratio[1]:.1f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
