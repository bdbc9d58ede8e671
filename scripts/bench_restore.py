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
    publish(lines, HEADING, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
