"""What ``autocolor data prepare`` remembers between runs: ``DIR/prepare-state.tsv``, one row per
source file already looked at (path, size, mtime, hash, outcome), so a re-run hashes and decodes
only new or changed files.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

STATE_NAME = "prepare-state.tsv"

# Outcomes recorded per source file in the state.
KEPT, GRAY, TONED, DUPLICATE, TOO_SMALL = "kept", "gray", "toned", "duplicate", "too_small"


@dataclass
class SourceState:
    source: str  # absolute path of the source file
    size: int
    mtime_ns: int
    sha256: str
    outcome: str  # KEPT, GRAY, TONED, DUPLICATE or TOO_SMALL
    ab_spread: float = 0.0
    file: str = ""  # cache file when KEPT


STATE_FIELDS = tuple(f.name for f in fields(SourceState))


def read_state(folder: str | os.PathLike) -> dict[str, SourceState]:
    path = Path(folder) / STATE_NAME
    states: dict[str, SourceState] = {}
    if not path.is_file():
        return states
    with open(path, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            try:
                state = SourceState(row["source"], int(row["size"]), int(row["mtime_ns"]),
                                    row["sha256"], row["outcome"], float(row["ab_spread"] or 0),
                                    row["file"] or "")
            except (KeyError, TypeError, ValueError):
                continue
            states[state.source] = state
    return states


def write_state(folder: str | os.PathLike, states: Iterable[SourceState]) -> Path:
    from autocolor.data.cache import write_tsv_atomic  # lazy: keeps this module light to import

    rows = []
    for state in sorted(states, key=lambda s: s.source):
        row = asdict(state)
        row["ab_spread"] = f"{state.ab_spread:.3f}"
        rows.append(row)
    return write_tsv_atomic(Path(folder) / STATE_NAME, STATE_FIELDS, rows)
