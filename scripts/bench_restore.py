"""What ``--restore`` and ``--confidence-map`` cost a 12 MP photo -> the "Restoration and the
confidence map" section of BENCHMARKS.md.

A 12 MP old print (a synthetic photo at 4000x3000, aged by :mod:`autocolor.degrade`'s ``eval``
preset, saved as a B/W JPEG q90) goes through ``autocolor colorize`` in a fresh process: plain,
``--restore``, and ``--confidence-map``; the three run in turn, repeated, so that the ratios to
the plain run pair runs made under the same load. Wall time and peak memory (GNU time).

    python scripts/bench_restore.py --output BENCHMARKS.md     # part of `make bench`
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import autocolor_command, machine_line, photo_like, timed_run  # noqa: E402
from benchmarks_md import publish  # noqa: E402

from autocolor.degrade import PRESETS, degrade  # noqa: E402

HEADING = "## Restoration and the confidence map (issue 21)"
TARGETS = {"restore_s": 3.0, "restore_gb": 1.5, "confidence_ratio": 1.10}


def old_print(path: Path, width: int = 4000, height: int = 3000) -> Path:
    gray = photo_like(width, height, 3)
    rgb = np.repeat(gray[..., None], 3, axis=2) if gray.ndim == 2 else gray
    aged = degrade(rgb, seed=21, config=PRESETS["eval"]).rgb
    Image.fromarray(aged).convert("L").save(path, quality=90)
    return path


def map_stages(runs: int = 7) -> dict[str, float]:
    """The confidence map's own work at 12 MP, in this process (median ms): the resize of an
    8-bit render-size map to 4000x3000, its PNG (``gray_png``), and Pillow's PNG of the same
    map at the project's level, for comparison."""
    import io
    import time

    from autocolor.image_output import PNG_COMPRESS_LEVEL, gray_png
    from autocolor.infer.colorizer import Colorizer

    colorizer = Colorizer.from_pretrained("default")
    lightness = photo_like(4000, 3000, 3).astype(np.float32) / np.float32(2.55)
    [(_, sure)] = colorizer.predict([colorizer.render_input(lightness)], confidence=True)

    def pillow_png(image: np.ndarray) -> bytes:
        buffer = io.BytesIO()
        Image.fromarray(image, "L").save(buffer, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
        return buffer.getvalue()

    def median_ms(work) -> float:
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            work()
            times.append(time.perf_counter() - started)
        return statistics.median(times) * 1e3

    full = colorizer.confidence_map(sure, (4000, 3000))
    return {"resize": median_ms(lambda: colorizer.confidence_map(sure, (4000, 3000))),
            "png": median_ms(lambda: gray_png(full)),
            "png_mb": len(gray_png(full)) / 1e6,
            "pillow": median_ms(lambda: pillow_png(full)),
            "pillow_mb": len(pillow_png(full)) / 1e6}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--output", type=Path, default=None, help="BENCHMARKS.md to update")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        photo = old_print(work / "old-12mp.jpg")
        base = [*autocolor_command(), "colorize", str(photo), "-o", str(work / "out"),
                "--overwrite"]
        cases = {"plain": [], "--restore": ["--restore"],
                 "--confidence-map": ["--confidence-map", str(work / "maps")]}
        walls: dict[str, list[float]] = {name: [] for name in cases}
        peaks: dict[str, float] = dict.fromkeys(cases, 0.0)
        timed_run(base)  # warm-up: the disk cache, the ONNX session's first build
        for _ in range(args.runs):
            for name, extra in cases.items():
                wall, _, peak = timed_run([*base, *extra])
                walls[name].append(wall)
                peaks[name] = max(peaks[name], peak)
    stages = map_stages()
    median = {name: statistics.median(values) for name, values in walls.items()}
    ratio = {name: statistics.median(a / b for a, b in zip(walls[name], walls["plain"],
                                                             strict=True))
             for name in cases}
    met = lambda ok: "**met**" if ok else "**not met**"  # noqa: E731
    lines = [
        HEADING, "",
        f"Made by `python scripts/bench_restore.py --output BENCHMARKS.md`. {machine_line()}",
        "",
        f"A 12 MP old print (4000x3000 B/W JPEG, the `eval` preset of `autocolor.degrade`: "
        f"faded, grainy, dusty, scratched), `autocolor colorize` in a fresh process, the three "
        f"cases in turn, {args.runs} rounds; median wall time, the ratio to the plain run "
        "pair by pair (median), and the highest peak RSS.", "",
        "| case | command | wall (median) | / plain | peak RSS |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for name, extra in cases.items():
        shown = " ".join(["autocolor colorize old-12mp.jpg -o out --overwrite",
                          *(e if not e.startswith("/") else "maps" for e in extra)])
        lines.append(f"| {name} | `{shown}` | {median[name]:.2f} s | {ratio[name]:.2f}x | "
                     f"{peaks[name]:.0f} MB |")
    lines += [
        "", "| target | measured | |", "| --- | --- | --- |",
        f"| `--restore` on a 12 MP photo, whole process <= {TARGETS['restore_s']:.0f} s | "
        f"{median['--restore']:.2f} s | {met(median['--restore'] <= TARGETS['restore_s'])} |",
        f"| `--restore` peak memory <= {TARGETS['restore_gb']} GB | "
        f"{peaks['--restore']:.0f} MB | "
        f"{met(peaks['--restore'] <= TARGETS['restore_gb'] * 1024)} |",
        f"| `--confidence-map` adds at most 10 % | {ratio['--confidence-map']:.2f}x | "
        f"{met(ratio['--confidence-map'] <= TARGETS['confidence_ratio'])} |",
    ]
    lines += [
        "", "The map's own work at 12 MP (`map_stages()` in the script, in one process, median "
        "of 7; it runs on a thread of its own beside the join and the encode):", "",
        "| step | median | file |", "| --- | ---: | ---: |",
        f"| calibrate and resize to 4000x3000 (`Colorizer.confidence_map`) | "
        f"{stages['resize']:.0f} ms | |",
        f"| PNG (`image_output.gray_png`: Up filter, zlib run-length) | {stages['png']:.0f} ms | "
        f"{stages['png_mb']:.2f} MB |",
        f"| for comparison: Pillow's PNG at the project's level | {stages['pillow']:.0f} ms | "
        f"{stages['pillow_mb']:.2f} MB |",
    ]
    publish(lines, HEADING, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
