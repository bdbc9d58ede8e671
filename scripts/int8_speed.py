"""Is ONNX Runtime's static INT8 quantisation faster on these cores? (issue 23's lever.)

Quantises the bundled ONNX model (QDQ, weights per channel, calibrated on a few render-size
inputs: enough to time it, not to judge its colours) and times both on one 384x288 input,
median of 7 after a warm-up, in one process.

    python scripts/int8_speed.py          # needs the `onnx` extra
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

from autocolor.weights import resolve_weights

SHAPE = (1, 1, 288, 384)  # the render shape of a 4:3 photo at render size 384


class Inputs(CalibrationDataReader):
    def __init__(self, count: int = 4) -> None:
        rng = np.random.default_rng(0)
        self.items = iter([{"l_norm": rng.uniform(-1, 1, SHAPE).astype(np.float32)}
                           for _ in range(count)])

    def get_next(self):
        return next(self.items, None)


def median_ms(path: Path, x: np.ndarray, runs: int = 7) -> float:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    session.run(None, {"l_norm": x})
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, {"l_norm": x})
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main() -> int:
    source = resolve_weights("default").with_suffix(".onnx")
    with tempfile.TemporaryDirectory() as folder:
        prepared, int8 = Path(folder) / "pre.onnx", Path(folder) / "int8.onnx"
        quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
        quantize_static(str(prepared), str(int8), Inputs(), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8)
        x = np.random.default_rng(1).uniform(-1, 1, SHAPE).astype(np.float32)
        fp32, quantised = median_ms(source, x), median_ms(int8, x)
    print(f"float32 {fp32:.1f} ms, INT8 {quantised:.1f} ms: {quantised / fp32:.2f}x the time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
