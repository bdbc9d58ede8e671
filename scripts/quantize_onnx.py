r"""Issue 23's network lever, screened: ONNX Runtime's static INT8 quantisation of the bundled
model, calibrated on training photos (half of them as old prints, since those are inputs too).

    python scripts/quantize_onnx.py --out runs/int8/conv-int8.onnx               # every Conv
    python scripts/quantize_onnx.py --out runs/int8/enc-int8.onnx --only 'model\.encoder\.'
    python scripts/quantize_onnx.py --out runs/int8/pw-int8.onnx --method percentile \
        --photos 24 --only 'model\.encoder\._blocks\..*(_expand|_project)_conv'
    python scripts/quantize_onnx.py --latency runs/int8/conv-int8.onnx runs/int8/pw-int8.onnx
    autocolor eval --model runs/int8/conv-int8.onnx --data data/corpus --split val \
        --degraded default --report runs/int8/val-conv

Conv nodes are quantised (``--ops``), per output channel, in the QDQ format; the bins head's
softmax and the annealed mean stay float. The model's metadata (render size, recipe) is copied
onto the quantised file. Issue 23 keeps it only if faster on these cores and the validation
scores hold within 0.05 dB PSNR and 0.05 CIEDE2000: none of the three did (README, "Speed").
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from pathlib import Path

import numpy as np

from autocolor.data.cache import read_manifest
from autocolor.degrade import PRESETS, degrade
from autocolor.images import load_rgb
from autocolor.infer.pipeline import model_input, render_shape
from autocolor.weights import PACKAGE_WEIGHTS_DIR


def calibration_inputs(data: Path, photos: int, render_size: int) -> list[np.ndarray]:
    """(1, 1, h, w) network inputs of ``photos`` train-split photos at one render shape, every
    other one as an old print of the training mix (``default`` preset), evenly spaced through
    the manifest."""
    from autocolor.color.lab_numpy import rgb_to_lab

    records = [r for r in read_manifest(data) if r.split == "train"]
    step = max(1, len(records) // photos)
    # one shape for all (the percentile calibrator stacks the activations): the render shape
    # of a 4:3 landscape photo
    shape = render_shape(3, 4, render_size)
    inputs = []
    for index, record in enumerate(records[::step][:photos]):
        rgb = load_rgb(data / record.file)
        if index % 2:
            rgb = degrade(rgb, seed=index, config=PRESETS["default"]).rgb
        lightness = rgb_to_lab(rgb.astype(np.float32) / np.float32(255.0))[..., 0]
        inputs.append(model_input(lightness, shape)[None])
    return inputs


def quantize(model: Path, out: Path, inputs: list[np.ndarray], method: str,
             op_types: list[str], only: str | None = None) -> None:
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quant_pre_process,
        quantize_static,
    )

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.items = iter(inputs)

        def get_next(self) -> dict[str, np.ndarray] | None:
            item = next(self.items, None)
            return None if item is None else {"l_norm": item}

    nodes = None
    if only:  # the nodes whose weights' names match (e.g. model\.encoder\.)
        nodes = [node.name for node in onnx.load(str(model)).graph.node
                 if node.op_type in op_types and len(node.input) > 1
                 and re.match(only, node.input[1])]
    out.parent.mkdir(parents=True, exist_ok=True)
    prepared = out.with_suffix(".pre.onnx")
    quant_pre_process(str(model), str(prepared), skip_symbolic_shape=True)
    quantize_static(str(prepared), str(out), Reader(), quant_format=QuantFormat.QDQ,
                    op_types_to_quantize=op_types, per_channel=True, nodes_to_quantize=nodes,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    calibrate_method={"minmax": CalibrationMethod.MinMax,
                                      "percentile": CalibrationMethod.Percentile}[method],
                    extra_options={"ActivationSymmetric": False, "WeightSymmetric": True})
    prepared.unlink()
    source, quantized = onnx.load(str(model)), onnx.load(str(out))
    del quantized.metadata_props[:]
    for prop in source.metadata_props:
        quantized.metadata_props.add(key=prop.key, value=prop.value)
    onnx.save(quantized, str(out))


def latency(paths: list[Path], shape: tuple[int, int], rounds: int) -> dict[Path, float]:
    """Median ms of one (1, 1, h, w) input per model, the models interleaved in rounds."""
    import onnxruntime as ort

    from autocolor.color.lab_numpy import cpu_threads
    from autocolor.infer.onnx_backend import session_options

    sessions = {p: ort.InferenceSession(str(p), session_options(cpu_threads()),
                                        providers=["CPUExecutionProvider"]) for p in paths}
    x = np.random.default_rng(0).uniform(-1, 1, (1, 1, *shape)).astype(np.float32)
    times: dict[Path, list[float]] = {p: [] for p in paths}
    for _ in range(2):
        for session in sessions.values():
            session.run(None, {"l_norm": x})
    for _ in range(rounds):
        for path, session in sessions.items():
            start = time.perf_counter()
            session.run(None, {"l_norm": x})
            times[path].append(1000 * (time.perf_counter() - start))
    return {p: statistics.median(t) for p, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=None, help="default: the bundled ONNX file")
    parser.add_argument("--data", type=Path, default=Path("data/corpus"))
    parser.add_argument("--photos", type=int, default=48)
    parser.add_argument("--render-size", type=int, default=224)
    parser.add_argument("--method", choices=("minmax", "percentile"), default="minmax")
    parser.add_argument("--out", type=Path, default=Path("runs/int8/default-int8.onnx"))
    parser.add_argument("--ops", default="Conv", help="node types to quantise, comma-separated")
    parser.add_argument("--only", default=None,
                        help="quantise only the nodes whose weights' names match this regex")
    parser.add_argument("--latency", type=Path, nargs="*", default=None,
                        help="only time these files against --model")
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    model = args.model or PACKAGE_WEIGHTS_DIR / "default.onnx"
    if args.latency is not None:
        for shape in ((160, 224), (384, 512)):
            medians = latency([model, *args.latency], shape, args.rounds)
            base = medians[model]
            for path, ms in medians.items():
                print(f"{shape[1]}x{shape[0]} {path}: {ms:.1f} ms ({ms / base:.2f}x)")
        return
    inputs = calibration_inputs(args.data, args.photos, args.render_size)
    quantize(model, args.out, inputs, args.method, args.ops.split(","), args.only)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
