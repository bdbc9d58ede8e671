"""One real ``autocolor serve`` (uvicorn) on 127.0.0.1 and a free port: concurrent requests, then
a burst larger than the queue, which must be answered 503 with Retry-After, not crash it.
Bounded: a few dozen requests, every wait has a timeout, the server is always stopped."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

httpx = pytest.importorskip("httpx2")

MAX_QUEUE = 3
HINTS = '{"points": [{"x": 100, "y": 80, "color": "#3070d0", "radius": 6}]}'


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tiny_weights: Path, tmp_path_factory: pytest.TempPathFactory):
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "server.log"
    command = [sys.executable, "-m", "autocolor.cli", "serve", "--host", "127.0.0.1",
               "--port", str(port), "--model", str(tiny_weights), "--backend", "torch",
               "--max-queue", str(MAX_QUEUE), "--timeout", "60"]
    with open(log, "wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT,
                                   env={**os.environ, "OMP_NUM_THREADS": "1"})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not start in 120 s"
            time.sleep(0.25)
        yield url, process, log
    finally:
        process.send_signal(signal.SIGINT)  # uvicorn's graceful stop
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def photo() -> bytes:
    import io

    y, x = np.mgrid[0:600, 0:800]
    gray = (128 + 90 * np.sin(x / 23.0) * np.cos(y / 17.0)).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(gray).save(buffer, "PNG")
    return buffer.getvalue()


def _post(url: str, photo: bytes, **fields) -> httpx.Response:
    return httpx.post(f"{url}/v1/colorize", files={"image": ("p.png", photo, "image/png")},
                      data=fields, timeout=60)


def _in_threads(count: int, work) -> list:
    results: list = [None] * count
    start = threading.Barrier(count)

    def run(index: int) -> None:
        start.wait(timeout=30)
        try:
            results[index] = work(index)
        except Exception as error:  # noqa: BLE001 - recorded and asserted on below
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return results


def test_concurrent_requests_all_succeed(server, photo: bytes) -> None:
    url, process, _ = server

    def client(index: int) -> list[int]:  # as many clients as the queue holds, 3 requests each
        statuses = []
        for _ in range(3):
            response = _post(url, photo, saturation=str(1 + index / 10))
            assert response.headers["content-type"] == "image/png"
            assert Image.open(__import__("io").BytesIO(response.content)).size == (800, 600)
            statuses.append(response.status_code)
        return statuses

    results = _in_threads(MAX_QUEUE, client)
    assert results == [[200] * 3] * MAX_QUEUE, results
    assert process.poll() is None


def test_a_burst_over_the_queue_gets_503_not_a_crash(server, photo: bytes) -> None:
    url, process, log = server
    burst = 4 * MAX_QUEUE
    results = _in_threads(burst, lambda index: _post(url, photo, hints=HINTS))
    errors = [r for r in results if isinstance(r, Exception)]
    assert errors == [], errors  # every client got an answer
    statuses = sorted(r.status_code for r in results)
    assert set(statuses) <= {200, 503}, statuses
    assert statuses.count(200) >= MAX_QUEUE, statuses
    assert statuses.count(503) >= 1, statuses
    for response in results:
        if response.status_code == 503:
            assert int(response.headers["retry-after"]) >= 1
            assert "busy" in response.json()["error"]
    # Still up, and the queue empties.
    assert process.poll() is None
    deadline = time.monotonic() + 60
    while (health := httpx.get(f"{url}/health", timeout=10).json())["queue"]["admitted"]:
        assert time.monotonic() < deadline, health
        time.sleep(0.1)
    assert health["queue"]["rejected"] == statuses.count(503)
    assert _post(url, photo).status_code == 200
    assert "Traceback" not in log.read_text()
