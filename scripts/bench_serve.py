"""Load test of ``autocolor serve`` (issue 14) -> the "HTTP API under load" section of BENCHMARKS.md.

    python scripts/bench_serve.py --output BENCHMARKS.md         # part of `make bench`
    python scripts/bench_serve.py --requests 40 --output /tmp/b.md  # a smoke test

Starts ``autocolor serve`` (the bundled model, its defaults) on 127.0.0.1 and a free port, and
sends it ``--requests`` photos from ``--clients`` concurrent clients (each one request at a
time, keep-alive), loopback only, stopping at ``--max-seconds`` whatever is left. The photos
are of real sizes: the four sample photos (0.4 to 1.7 MP, scans as archives put them online)
and synthetic B/W camera photos of 6 and 12 MP (``bench.photo_like``), in turn.

Checks, and exits 1 when one fails:
- no errors: every answer is 200 with an image of the photo's size;
- flat memory: the server's resident set (``/proc/PID/status``, sampled every 0.2 s) in the
  second half of the run after warm-up grows by less than :data:`FLAT_TOLERANCE_MB` over the
  first half, and stays under the memory bound of its settings.

Writes p50/p99 latency (client side: upload, queue, colouring, download), requests and
megapixels per second after warm-up, and the memory figures, with the command.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from benchmarks_md import replace_section  # scripts/, beside this file
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

HEADING = "## HTTP API under load (issue 14)"
# Growth of the server's RSS from the first to the second half of the measured run that still
# counts as flat: allocator noise and ONNX Runtime's arena settle within this.
FLAT_TOLERANCE_MB = 64
CAMERA_SIZES = ((3000, 2000), (4000, 3000))  # 6 and 12 MP


@dataclass
class Result:
    photo: str
    megapixels: float
    start: float
    seconds: float
    status: int
    ok: bool
    error: str = ""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def photos() -> list[tuple[str, bytes, tuple[int, int]]]:
    """(name, JPEG bytes, (width, height)) of the photo mix, in the order clients take them."""
    from bench import photo_like

    mix = []
    for path in sorted((ROOT / "samples").glob("*.jpg")):
        with Image.open(path) as image:
            mix.append((path.name, path.read_bytes(), image.size))
    for index, (width, height) in enumerate(CAMERA_SIZES):
        buffer = io.BytesIO()
        Image.fromarray(photo_like(width, height, seed=index), "L").save(buffer, "JPEG",
                                                                         quality=92)
        mix.append((f"camera-{width * height / 1e6:.0f}mp.jpg", buffer.getvalue(),
                    (width, height)))
    return mix


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def start_server(args: argparse.Namespace, port: int, log: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "autocolor.cli", "serve", "--host", "127.0.0.1",
               "--port", str(port), "--model", args.model, "--max-queue", str(args.max_queue)]
    with open(log, "wb") as output:
        return subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, cwd=ROOT)


def wait_ready(url: str, process: subprocess.Popen, log: Path, seconds: float = 180) -> dict:
    import httpx2

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited:\n{log.read_text()}")
        try:
            response = httpx2.get(f"{url}/health", timeout=2)
            if response.status_code == 200:
                return response.json()
        except httpx2.TransportError:
            pass
        time.sleep(0.25)
    raise SystemExit(f"the server did not answer /health within {seconds:.0f} s")


def run_load(url: str, mix, requests: int, clients: int, max_seconds: float) -> list[Result]:
    import httpx2

    results: list[Result] = []
    lock = threading.Lock()
    issued = 0
    deadline = time.monotonic() + max_seconds

    def next_index() -> int | None:
        nonlocal issued
        with lock:
            if issued >= requests or time.monotonic() > deadline:
                return None
            issued += 1
            return issued - 1

    def client() -> None:
        with httpx2.Client(timeout=300) as session:
            while (index := next_index()) is not None:
                name, data, size = mix[index % len(mix)]
                start = time.perf_counter()
                ok, status, error = False, 0, ""
                try:
                    response = session.post(f"{url}/v1/colorize",
                                            files={"image": (name, data, "image/jpeg")})
                    status = response.status_code
                    if status == 200:
                        with Image.open(io.BytesIO(response.content)) as answer:
                            ok = answer.size == size
                        error = "" if ok else f"size {answer.size} != {size}"
                    else:
                        error = response.text[:200]
                except Exception as failure:  # noqa: BLE001 - counted as an error
                    error = f"{type(failure).__name__}: {failure}"
                seconds = time.perf_counter() - start
                with lock:
                    results.append(Result(name, size[0] * size[1] / 1e6, start, seconds, status,
                                          ok, error))

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max_seconds + 600)
    return sorted(results, key=lambda r: r.start)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=None, help="BENCHMARKS.md to update")
    parser.add_argument("--requests", type=int, default=360)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=24,
                        help="first requests left out of the figures")
    parser.add_argument("--max-seconds", type=float, default=1200,
                        help="stop sending after this long")
    parser.add_argument("--max-queue", type=int, default=16)
    parser.add_argument("--model", default="default")
    args = parser.parse_args()
    if args.clients > args.max_queue:
        raise SystemExit("--clients must not exceed --max-queue (no 503 is expected here)")

    from autocolor.serve.config import ServeConfig

    mix = photos()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"autocolor-bench-serve-{port}.log"
    load_before = os.getloadavg()
    process = start_server(args, port, log)
    samples: list[tuple[float, float]] = []  # (time, RSS MB)
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            value = rss_mb(process.pid)
            if value is not None:
                samples.append((time.perf_counter(), value))
            stop.wait(0.2)

    try:
        health = wait_ready(url, process, log)
        idle_rss = rss_mb(process.pid) or float("nan")
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        began = time.perf_counter()
        results = run_load(url, mix, args.requests, args.clients, args.max_seconds)
        ended = time.perf_counter()
        stop.set()
        sampler.join(timeout=5)
        import httpx2

        final = httpx2.get(f"{url}/health", timeout=30).json()
        alive = process.poll() is None
    finally:
        stop.set()
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    load_after = os.getloadavg()

    errors = [r for r in results if not r.ok]
    measured = results[args.warmup:]
    if not measured:
        raise SystemExit("no request after warm-up; raise --requests")
    window_start = measured[0].start
    latencies = [r.seconds for r in measured]
    wall = ended - window_start
    rps = len(measured) / wall
    mps = sum(r.megapixels for r in measured) / wall
    after = [mb for t, mb in samples if t >= window_start]
    half = len(after) // 2
    first_half, second_half = max(after[:half] or [float("nan")]), max(after[half:] or [0.0])
    growth = second_half - first_half
    peak = max(mb for _, mb in samples) if samples else float("nan")
    config = ServeConfig(max_queue=args.max_queue)
    model_mb = idle_rss
    largest_mp = max(w * h for _, _, (w, h) in mix) / 1e6
    bound_mb = (config.max_queue * config.max_upload_mb + 40 * config.max_pixels / 2**20
                + model_mb)
    flat = growth < FLAT_TOLERANCE_MB and peak < bound_mb
    by_photo = {}
    for r in measured:
        by_photo.setdefault((r.megapixels, r.photo), []).append(r.seconds)

    command = ("python scripts/bench_serve.py --output BENCHMARKS.md"
               + ("" if args.requests == 360 else f" --requests {args.requests}")
               + ("" if args.clients == 8 else f" --clients {args.clients}")
               + ("" if args.warmup == 24 else f" --warmup {args.warmup}"))
    lines = [
        HEADING, "",
        f"Made by `{command}` (part of `make bench`) on "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: `autocolor serve` with its "
        f"defaults (model `{health['model']}` on {health['backend']}, render size "
        f"{health['render_size']}, --max-queue {args.max_queue}) on 127.0.0.1, and "
        f"{args.clients} concurrent clients, each sending its next photo when the last one came "
        f"back. {platform.processor() or platform.machine()}, {os.cpu_count()} cores; load "
        f"average before {load_before[0]:.1f}, after {load_after[0]:.1f} (the machine is shared: "
        "other jobs slow every figure here).", "",
        f"Photos, in turn: the {len(mix) - len(CAMERA_SIZES)} sample photos (0.4-1.7 MP) and "
        "synthetic B/W camera JPEGs of 6 and 12 MP. Latency is the client's: upload, waiting "
        "behind the other clients' photos (one worker colours them in turn), colouring, "
        f"download. The first {args.warmup} requests are warm-up and left out.", "",
        "| what | figure |", "| --- | --- |",
        f"| requests (after warm-up) | {len(results)} ({len(measured)}) in {ended - began:.0f} s |",
        f"| errors (non-200, wrong size, connection) | **{len(errors)}** |",
        f"| latency p50 / p99 | **{percentile(latencies, 50):.2f} s / "
        f"{percentile(latencies, 99):.2f} s** |",
        f"| throughput | **{rps:.2f} requests/s** ({mps:.1f} MP/s) |",
        f"| server RSS: idle with the model / peak | {idle_rss:.0f} MB / {peak:.0f} MB |",
        f"| server RSS after warm-up: peak of the first half / second half | {first_half:.0f} MB"
        f" / {second_half:.0f} MB ({growth:+.0f} MB: {'flat' if flat else 'NOT flat'}) |",
        f"| memory bound of these settings: max_queue x max_upload + 40 B x max_pixels + "
        f"the model | {config.max_queue} x {config.max_upload_mb:g} MB + "
        f"{40 * config.max_pixels / 2**20:.0f} MB + {model_mb:.0f} MB = {bound_mb:.0f} MB |",
        "", "Median latency per photo (under the same load):", "",
        "| photo | MP | p50 |", "| --- | ---: | ---: |",
    ]
    for (megapixels, name), values in sorted(by_photo.items()):
        lines.append(f"| {name} | {megapixels:.1f} | {statistics.median(values):.2f} s |")
    lines.append("")
    if not alive:
        lines.append("**The server exited during the run.**\n")
    section = "\n".join(lines) + "\n"
    print(section)
    for failure in errors[:5]:
        print(f"error: {failure.photo}: {failure.status} {failure.error}", file=sys.stderr)
    print(f"server log: {log}; queue at the end: {final['queue']}; largest photo "
          f"{largest_mp:.0f} MP", file=sys.stderr)
    if args.output is not None:
        replace_section(args.output, HEADING, section)
    return 0 if (not errors and flat and alive and final["queue"]["admitted"] == 0) else 1


if __name__ == "__main__":
    sys.exit(main())
