"""The one median timer of the benchmark scripts."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_seconds(function: Callable[[], object], runs: int, warmup: int = 2,
                   synchronize: Callable[[], object] | None = None) -> float:
    """Median wall seconds of ``function()`` over ``runs`` calls after ``warmup`` uncounted
    ones; ``synchronize`` (a GPU's) is called before the clock starts and before it stops."""
    for _ in range(warmup):
        function()
    times = []
    for _ in range(runs):
        if synchronize is not None:
            synchronize()
        start = time.perf_counter()
        function()
        if synchronize is not None:
            synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
