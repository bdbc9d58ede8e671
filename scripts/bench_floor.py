"""``autocolor colorize`` against the floor: a process that only decodes the same photos with
Pillow and encodes them as the colour output would be -> the "Against the floor" section of
BENCHMARKS.md (issue 23's ratios).

Each case runs the two commands in turn, fresh processes, ``--runs`` rounds after one warm-up
of each; the ratio is taken pair by pair (the machine's speed drifts less within a pair) and its
median reported, beside both medians.

    python scripts/bench_floor.py --output BENCHMARKS.md      # part of `make bench`
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import autocolor_command, machine_line, photo_like, timed_run  # noqa: E402
from benchmarks_md import publish  # noqa: E402

HEADING = "## Against the floor: decoding and encoding alone (issue 23)"
# What the floor process runs: decode every input with Pillow, convert to RGB and encode it as
# autocolor would (JPEG q95 for JPEG inputs, PNG level 1 otherwise), to a throwaway buffer.
FLOOR = """
import io, sys
from pathlib import Path
from PIL import Image
for name in sys.argv[1:]:
    for path in (sorted(Path(name).iterdir()) if Path(name).is_dir() else [Path(name)]):
        with Image.open(path) as image:
            rgb = image.convert("RGB")
        out = io.BytesIO()
        if path.suffix.lower() in (".jpg", ".jpeg"):
            rgb.save(out, "JPEG", quality=95)
        else:
            rgb.save(out, "PNG", compress_level=1)
"""
TARGETS = {"12 MP": 3.5, "24 MP": 3.5, "28 photos": 2.0}  # issue 23


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--output", type=Path, default=None, help="BENCHMARKS.md to update")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        Image.fromarray(photo_like(4000, 3000, 1)).save(work / "p12.jpg", quality=92)
        Image.fromarray(photo_like(6000, 4000, 2)).save(work / "p24.jpg", quality=92)
        small = work / "small"
        small.mkdir()
        for index in range(28):
            Image.fromarray(photo_like(512, 384, 10 + index)).save(small / f"p{index:02d}.png")
        cases = {"12 MP": work / "p12.jpg", "24 MP": work / "p24.jpg", "28 photos": small}
        for name, source in cases.items():
            ours = [*autocolor_command(), "colorize", str(source), "-o", str(work / "out"),
                    "--overwrite"]
            floor = [sys.executable, "-c", FLOOR, str(source)]
            timed_run(ours)
            timed_run(floor)
            walls: dict[str, list[float]] = {"ours": [], "floor": []}
            for _ in range(args.runs):
                walls["ours"].append(timed_run(ours)[0])
                walls["floor"].append(timed_run(floor)[0])
            ratio = statistics.median(a / b for a, b in zip(walls["ours"], walls["floor"],
                                                            strict=True))
            rows.append((name, source.name, statistics.median(walls["ours"]),
                         statistics.median(walls["floor"]), ratio))
            print(rows[-1], file=sys.stderr, flush=True)
    lines = [
        HEADING, "",
        f"Made by `python scripts/bench_floor.py --output BENCHMARKS.md`. {machine_line()}", "",
        "`autocolor colorize INPUT -o out --overwrite` (the bundled model, defaults) against a "
        "process that only decodes the same input with Pillow and encodes the RGB result as "
        "autocolor's output would be (JPEG q95, PNG level 1), fresh processes in turn, "
        f"{args.runs} rounds after a warm-up; medians, and the median of the pairwise ratios.",
        "", "| case | input | autocolor | floor | ratio | issue 23's target |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for name, source, ours, floor, ratio in rows:
        lines.append(f"| {name} | `{source}` | {ours:.2f} s | {floor:.2f} s | **{ratio:.1f}x** "
                     f"| <= {TARGETS[name]}x |")
    publish(lines, HEADING, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
