"""The screening comparison of docs/recipes.md as a Markdown table, from scripts/screen.py's
OUT/screen.json: one row per design, its seeds' mean and spread (sample standard deviation;
"-" with one seed), at two decodings:

- ``T=0.6``: temperature 0.6, no confidence gate (the network alone);
- ``rule``: each seed's own pick from the screened grid by train/decoding.py's rule (colourful
  enough, then fewest photos 3 dB below gray, then PSNR), as ``make train-default`` does.

    .venv/bin/python scripts/screen_table.py runs/screen/screen.json
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
from pathlib import Path


def pick(rows: list[dict]) -> dict:
    """train/decoding.py's rule (its ``choose``, at TrainConfig's ``min_colorfulness``) over one
    seed's screened rows."""
    from autocolor.train.config import TrainConfig
    from autocolor.train.decoding import DecodingScore, choose

    scores = [DecodingScore(row["temperature"], row.get("gate") and tuple(row["gate"]),
                            row["delta"]["psnr"], row["delta"]["ciede2000"],
                            row["delta"]["ab_auc"], row["cf_ratio"], row["below_gray_3db"],
                            row["photos"]) for row in rows]
    return rows[scores.index(choose(scores, TrainConfig().min_colorfulness))]


def plain(rows: list[dict]) -> dict:
    return next(r for r in rows if r["temperature"] == 0.6 and not r.get("gate"))


def spread(values: list[float], fmt: str) -> str:
    mean = statistics.fmean(values)
    if len(values) < 2:
        return format(mean, fmt)
    return f"{format(mean, fmt)} ± {format(statistics.stdev(values), fmt.lstrip('+'))}"


def table(results: dict) -> str:
    designs: dict[str, list[dict]] = {}
    for key, entry in results.items():
        designs.setdefault(re.sub(r"-s\d+$", "", key), []).append(entry)
    lines = ["| design | seeds | CPU min / seed | decoding | dPSNR dB | dCIEDE2000 | dAuC | "
             "colourfulness | photos > 3 dB below gray |",
             "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, entries in designs.items():
        cpu = [e["costs"]["cpu_seconds"] / 60 for e in entries if e["costs"].get("cpu_seconds")]
        wall = [e["costs"]["wall_seconds"] / 60 for e in entries]
        cost = (f"{statistics.fmean(cpu):.0f}" if cpu else f"({statistics.fmean(wall):.0f} wall)")
        for label, choose in (("T=0.6", plain), ("rule", pick)):
            rows = [choose(e["rows"]) for e in entries]
            chosen = ""
            if label == "rule":
                chosen = " (" + ", ".join(
                    f"{r['temperature']:g}/" + ("-" if not r.get("gate") else
                                                "{:g}:{:g}".format(*r["gate"])) for r in rows) + ")"
            lines.append(
                f"| {name if label == 'T=0.6' else ''} | {len(entries) if label == 'T=0.6' else ''}"
                f" | {cost if label == 'T=0.6' else ''} | {label}{chosen} "
                f"| {spread([r['delta']['psnr'] for r in rows], '+.2f')} "
                f"| {spread([r['delta']['ciede2000'] for r in rows], '+.2f')} "
                f"| {spread([r['delta']['ab_auc'] for r in rows], '+.4f')} "
                f"| {spread([r['cf_ratio'] for r in rows], '.2f')} "
                f"| {spread([float(r['below_gray_3db']) for r in rows], '.1f')} "
                f"of {rows[0]['photos']} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("screen_json", type=Path, nargs="?", default=Path("runs/screen/screen.json"))
    args = parser.parse_args()
    print(table(json.loads(args.screen_json.read_text())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
