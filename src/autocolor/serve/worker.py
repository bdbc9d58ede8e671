"""One worker thread that colours every request in turn, behind a bounded admission count.

Why one thread: the colouring itself already uses every core (ONNX Runtime's intra-op threads,
the strip-parallel join), so a second worker would not be faster, and each one would hold a
photo's working set (~40 bytes a pixel) at the same time. Requests are admitted before their
upload is read, up to ``max_queue`` at once; the rest are refused at once with 503 and a
Retry-After estimated from recent colouring times, which bounds memory by
``max_queue x max upload`` plus one photo's working set and the model.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


class QueueFull(Exception):
    """No admission left; ``retry_after_s`` is when to try again."""

    def __init__(self, retry_after_s: int) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(f"the server is busy; retry after {retry_after_s} s")


class Ticket:
    """One admitted request. Its slot is freed when every holder has let go: the request
    handler (once its answer is sent or it gave up) and, if it reached the worker, the job
    (once it finished, even after the handler timed out: the memory is in use until then)."""

    def __init__(self, release: Callable[[], None]) -> None:
        self._release = release
        self._holders = 1  # the handler
        self._lock = threading.Lock()

    def hold(self) -> None:
        with self._lock:
            if self._holders <= 0:
                raise RuntimeError("ticket already released")
            self._holders += 1

    def drop(self) -> None:
        with self._lock:
            self._holders -= 1
            last = self._holders == 0
        if last:
            self._release()


class Worker:
    """Admission count plus a single-thread executor.

    Args:
        max_queue: requests admitted at once (uploading, waiting or being coloured).
    """

    def __init__(self, max_queue: int) -> None:
        if max_queue < 1:
            raise ValueError(f"max_queue must be >= 1, got {max_queue}")
        self.max_queue = max_queue
        self._admitted = 0
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="autocolor-serve")
        self._seconds: deque[float] = deque(maxlen=32)  # recent job durations
        self.completed = 0
        self.rejected = 0

    @property
    def admitted(self) -> int:
        return self._admitted

    def job_seconds(self) -> float:
        """Median of the recent job durations (1 s before the first)."""
        if not self._seconds:
            return 1.0
        ordered = sorted(self._seconds)
        return ordered[len(ordered) // 2]

    def retry_after(self) -> int:
        """Whole seconds until the admitted work is likely done (at least 1)."""
        return max(1, math.ceil(self._admitted * self.job_seconds()))

    def admit(self) -> Ticket:
        """A ticket for one request, or :class:`QueueFull` when ``max_queue`` are in."""
        with self._lock:
            if self._admitted >= self.max_queue:
                self.rejected += 1
                raise QueueFull(self.retry_after())
            self._admitted += 1
        return Ticket(self._release)

    def _release(self) -> None:
        with self._lock:
            self._admitted -= 1

    def _timed(self, function: Callable[[], T]) -> T:
        start = time.perf_counter()
        try:
            return function()
        finally:
            self._seconds.append(time.perf_counter() - start)
            self.completed += 1

    async def run(self, ticket: Ticket, function: Callable[[], T], timeout_s: float) -> T:
        """Run ``function`` on the worker thread, after the jobs before it; -> its result.

        Raises:
            TimeoutError: not finished within ``timeout_s`` (a job still waiting is dropped; one
                already running finishes and keeps its slot until then).
        """
        ticket.hold()
        future: Future[T] = self._executor.submit(self._timed, function)
        future.add_done_callback(lambda _: ticket.drop())
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), timeout_s)
        except (TimeoutError, asyncio.CancelledError):
            future.cancel()  # a waiting job never runs; its done callback frees the slot
            raise

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
