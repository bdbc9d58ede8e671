"""The Unsplash downloader (data/unsplash.py, unsplash_tables.py, unsplash_fetch.py) against a
loopback HTTP server started by each test (no internet)."""

from __future__ import annotations

import csv
import hashlib
import http.server
import io
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image

from autocolor.data import unsplash
from autocolor.data.unsplash import download_unsplash
from autocolor.data.unsplash_fetch import (
    NOT_FOUND,
    RateGate,
    RetryPolicy,
    image_request_url,
    parse_retry_after,
)
from autocolor.data.unsplash_tables import MANIFEST_NAME, read_download_manifest, read_photos

SAMPLE = Path(__file__).resolve().parents[3] / "shared" / "unsplash" / "photos.sample.tsv000"
FAST = RetryPolicy(attempts=3, timeout=2.0, backoff_base=0.01, backoff_max=0.02)

# The 31 columns of the real photos.tsv000 (Unsplash Dataset 1.2.x), in order.
COLUMNS = (
    "photo_id photo_url photo_image_url photo_submitted_at photo_featured photo_width "
    "photo_height photo_aspect_ratio photo_description photographer_username "
    "photographer_first_name photographer_last_name exif_camera_make exif_camera_model exif_iso "
    "exif_aperture_value exif_focal_length exif_exposure_time photo_location_name "
    "photo_location_latitude photo_location_longitude photo_location_country "
    "photo_location_city stats_views stats_downloads ai_description ai_primary_landmark_name "
    "ai_primary_landmark_latitude ai_primary_landmark_longitude ai_primary_landmark_confidence "
    "blur_hash"
).split()


def _jpeg(seed: int, size: tuple[int, int] = (48, 32)) -> bytes:
    image = Image.new("RGB", size)
    image.putdata([((x * 5 + seed * 40) % 256, (y * 7) % 256, (seed * 90) % 256)
                   for y in range(size[1]) for x in range(size[0])])
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _table_text(rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, delimiter="\t", lineterminator="\n",
                            restval="")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _write_table(path: Path, base_url: str, names: list[str]) -> Path:
    rows = [{"photo_id": name, "photo_url": f"https://unsplash.com/photos/{name}",
             "photo_image_url": f"{base_url}/{name}", "photographer_username": "someone",
             "ai_description": "a photo"} for name in names]
    path.write_text(_table_text(rows), encoding="utf-8")
    return path


class _Server:
    """Behaviour by path prefix: good, missing (404), gone (410), flaky (503, 503, then OK),
    error500 (always 500), ratelimit (429 Retry-After: 1, then OK), trunc (Content-Length
    larger than the body), cut (consistent Content-Length, half a JPEG), html (200 text/html),
    slow (answers after 1 s)."""

    def __init__(self) -> None:
        self.hits: list[tuple[str, float, str]] = []  # (name, monotonic time, query)
        self.lock = threading.Lock()
        self.delay = 0.0  # seconds every "good" answer waits
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _send(self, code, body=b"", ctype="image/jpeg", headers=(), length=None):
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body) if length is None else length))
                for key, value in headers:
                    self.send_header(key, value)
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                name = parts.path.strip("/")
                with server.lock:
                    server.hits.append((name, time.monotonic(), parts.query))
                    count = sum(1 for hit in server.hits if hit[0] == name)
                kind = name.split("-")[0]
                jpeg = _jpeg(len(name))
                if kind == "good" or (kind == "flaky" and count > 2) or (
                        kind == "ratelimit" and count > 1):
                    time.sleep(server.delay)
                    self._send(200, jpeg)
                elif kind == "missing":
                    self._send(404, b"<html>not here</html>", "text/html")
                elif kind == "gone":
                    self._send(410, b"gone", "text/plain")
                elif kind in ("flaky", "error500"):
                    self._send(503 if kind == "flaky" else 500, b"busy", "text/plain")
                elif kind == "ratelimit":
                    self._send(429, b"slow down", "text/plain", headers=[("Retry-After", "1")])
                elif kind == "trunc":
                    self._send(200, jpeg[: len(jpeg) // 2], length=len(jpeg))
                    self.close_connection = True
                elif kind == "cut":
                    self._send(200, jpeg[: len(jpeg) // 2])
                elif kind == "html":
                    self._send(200, b"<!doctype html><html><body>Hi</body></html>", "text/html")
                elif kind == "slow":
                    time.sleep(1.0)
                    self._send(200, jpeg)
                else:
                    self._send(400, b"?", "text/plain")

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()

    def count(self, name: str) -> int:
        with self.lock:
            return sum(1 for hit in self.hits if hit[0] == name)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(monkeypatch):
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy",
                "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    srv = _Server()
    yield srv
    srv.close()


def _files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


# ---------------------------------------------------------------------------------------------
# The photos table


@pytest.mark.skipif(not SAMPLE.is_file(), reason="no ../shared/unsplash sample")
def test_reads_the_real_sample_layout():
    header = SAMPLE.read_text(encoding="utf-8").splitlines()[0].split("\t")
    assert tuple(header) == tuple(COLUMNS)
    photos = read_photos(SAMPLE)
    assert [p.photo_id for p in photos] == ["sample000001", "sample000002"]
    assert photos[0].image_url == "https://images.unsplash.com/photo-sample000001"
    assert photos[1].page_url == "https://unsplash.com/photos/sample000002"


def test_tsv_quoting_tabs_newlines_utf8_and_empty_cells(tmp_path):
    rows = [
        {"photo_id": "aaa", "photo_image_url": "https://img.example/a",
         "photo_description": 'a "quoted"\tdescription\nover two lines', "ai_description": ""},
        {"photo_id": "bbb", "photo_image_url": "https://img.example/b",
         "photo_description": "Zürich café ☕ 東京", "photographer_first_name": "Zoë"},
        {"photo_id": "ccc", "photo_image_url": "https://img.example/c"},  # all else empty
        {"photo_id": "ddd", "photo_image_url": "file:///etc/passwd"},  # not http(s): skipped
        {"photo_id": "aaa", "photo_image_url": "https://img.example/dup"},  # duplicate id
    ]
    table = tmp_path / "photos.tsv000"
    table.write_text(_table_text(rows), encoding="utf-8")
    assert '"a ""quoted""\tdescription\nover two lines"' in table.read_text(encoding="utf-8")
    warnings: list[str] = []
    photos = read_photos(table, warn=warnings.append)
    assert [(p.photo_id, p.image_url) for p in photos] == [
        ("aaa", "https://img.example/a"), ("bbb", "https://img.example/b"),
        ("ccc", "https://img.example/c")]
    assert photos[1].photographer == "Zoë"
    assert any("photo_image_url" in w for w in warnings)
    assert any("duplicate" in w for w in warnings)
    assert [p.photo_id for p in read_photos(table, limit=2)] == ["aaa", "bbb"]


def test_not_a_photos_table(tmp_path):
    other = tmp_path / "keywords.tsv000"
    other.write_text("photo_id\tkeyword\nx\ty\n", encoding="utf-8")
    with pytest.raises(ValueError, match="missing column"):
        read_photos(other)
    with pytest.raises(ValueError, match="no photos.tsv"):
        read_photos(tmp_path)


def test_folder_of_numbered_tables_and_zip(tmp_path):
    def rows(ids):
        return _table_text([{"photo_id": i, "photo_image_url": f"https://x/{i}"} for i in ids])

    folder = tmp_path / "full"
    folder.mkdir()
    (folder / "photos.tsv001").write_text(rows(["c", "d"]), encoding="utf-8")
    (folder / "photos.tsv000").write_text(rows(["a", "b"]), encoding="utf-8")
    (folder / "keywords.tsv000").write_text("photo_id\tkeyword\na\tcat\n", encoding="utf-8")
    assert [p.photo_id for p in read_photos(folder)] == ["a", "b", "c", "d"]

    archive = tmp_path / "unsplash-research-dataset-lite-latest.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("keywords.tsv000", "photo_id\tkeyword\n")
        zf.writestr("photos.tsv000", rows(["z", "y"]).encode("utf-8"))
    assert [p.photo_id for p in read_photos(archive)] == ["z", "y"]


def test_image_request_url_sets_resize_parameters():
    url = image_request_url("https://images.unsplash.com/photo-1?ixid=abc&w=2000", 512)
    query = parse_qs(urlsplit(url).query)
    assert query == {"ixid": ["abc"], "w": ["512"], "fm": ["jpg"], "q": ["85"]}


def test_backoff_and_retry_after_parsing():
    policy = RetryPolicy(backoff_base=1.0, backoff_max=8.0, jitter=0.5)
    for retry, nominal in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (9, 8.0)]:
        delays = [policy.delay(retry) for _ in range(50)]
        assert all(nominal * 0.5 <= d <= nominal for d in delays)
        assert len(set(delays)) > 1  # jittered
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    assert 25 <= parse_retry_after(date) <= 31


# ---------------------------------------------------------------------------------------------
# Downloading


def test_download_failures_retries_and_resume(server, tmp_path):
    good = ["good-1", "good-2", "good-3", "flaky-1"]
    bad = {"missing-1": NOT_FOUND, "gone-1": "http_4xx", "error500-1": "http_5xx",
           "trunc-1": "truncated", "cut-1": "not_an_image", "html-1": "not_an_image"}
    table = _write_table(tmp_path / "photos.tsv000", server.base_url, good + list(bad))
    out = tmp_path / "unsplash"

    summary = download_unsplash(table, out, width=320, workers=4, policy=FAST, progress=False)

    assert (summary.total, summary.fetched, summary.skipped) == (10, 4, 0)
    assert {pid: r.reason for pid, r in summary.failed.items()} == bad
    # no retry on 404/410/HTML/undecodable; 3 tries on 5xx and truncation; 503, 503, OK
    expected_hits = {"missing-1": 1, "gone-1": 1, "html-1": 1, "cut-1": 1, "error500-1": 3,
                     "trunc-1": 3, "flaky-1": 3, "good-1": 1}
    assert {name: server.count(name) for name in expected_hits} == expected_hits
    assert all(parse_qs(q) == {"w": ["320"], "fm": ["jpg"], "q": ["85"]}
               for _, _, q in server.hits)
    # exactly the photos that arrived, whole; nothing partial
    assert _files(out) == {f"{name}.jpg" for name in good} | {MANIFEST_NAME}
    records = read_download_manifest(out)
    assert set(records) == set(good) | set(bad)
    for name in good:
        data = (out / f"{name}.jpg").read_bytes()
        assert records[name].status == "ok"
        assert records[name].bytes == len(data)
        assert records[name].sha256 == hashlib.sha256(data).hexdigest()
        with Image.open(out / f"{name}.jpg") as image:
            image.load()
    assert records["missing-1"].status == "failed" and records["missing-1"].http_status == 404
    text = summary.format()
    assert "missing-1: not found (HTTP 404)" in text and "failed by reason" in text

    # Second run: nothing that arrived is fetched again; only the failures are retried.
    (out / ".good-9.jpg.123-456.part").write_bytes(b"left by a killed run")
    before = {name: server.count(name) for name in good}
    again = download_unsplash(table, out, width=320, workers=4, policy=FAST, progress=False)
    assert {name: server.count(name) for name in good} == before
    assert (again.fetched, again.skipped) == (0, 4)
    assert set(again.failed) == set(bad)
    assert server.count("missing-1") == 2
    assert _files(out) == {f"{name}.jpg" for name in good} | {MANIFEST_NAME}


def test_resume_without_manifest_and_with_a_torn_manifest(server, tmp_path):
    names = ["good-a", "good-b", "good-c"]
    table = _write_table(tmp_path / "photos.tsv000", server.base_url, names)
    out = tmp_path / "out"
    assert download_unsplash(table, out, workers=2, policy=FAST, progress=False).ok
    assert len(server.hits) == 3

    with open(out / MANIFEST_NAME, "a", encoding="utf-8") as handle:
        handle.write("good-b\thttp://x\tok\t12")  # a row torn by a kill, no newline
    assert read_download_manifest(out)["good-b"].bytes > 12
    assert download_unsplash(table, out, workers=2, policy=FAST, progress=False).skipped == 3

    (out / MANIFEST_NAME).unlink()  # whole files are adopted (decoded, hashed), not refetched
    summary = download_unsplash(table, out, workers=2, policy=FAST, progress=False)
    assert (summary.fetched, summary.skipped, len(server.hits)) == (0, 3, 3)
    assert read_download_manifest(out)["good-c"].status == "ok"

    (out / "good-a.jpg").write_bytes(b"\xff\xd8 damaged")  # a damaged file is fetched again
    summary = download_unsplash(table, out, workers=2, policy=FAST, progress=False)
    assert (summary.fetched, summary.skipped, server.count("good-a")) == (1, 2, 2)


def test_rate_limit_pauses_every_worker(server, tmp_path):
    server.delay = 0.02
    names = ["ratelimit-1"] + [f"good-{i}" for i in range(12)]
    table = _write_table(tmp_path / "photos.tsv000", server.base_url, names)
    summary = download_unsplash(table, tmp_path / "out", workers=4, policy=FAST,
                                progress=False)
    assert summary.ok and summary.fetched == 13 and summary.rate_limit_pauses == 1
    t429 = next(t for name, t, _ in server.hits if name == "ratelimit-1")
    later = [t - t429 for name, t, _ in server.hits if t > t429]
    # Retry-After: 1 holds all four workers: requests already in flight may land just after
    # the 429, then nothing until the gate reopens a second later.
    assert not [dt for dt in later if 0.25 < dt < 0.95], later
    assert sum(dt >= 0.95 for dt in later) >= 8


def test_rate_gate_blocks_all_threads():
    gate = RateGate()
    gate.pause(0.3)
    waited: list[float] = []
    threads = [threading.Thread(target=lambda: waited.append(gate.wait())) for _ in range(3)]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert time.monotonic() - start >= 0.28
    assert len(waited) == 3 and min(waited) >= 0.2
    assert gate.wait() == 0.0


def test_per_request_timeout(server, tmp_path):
    table = _write_table(tmp_path / "photos.tsv000", server.base_url, ["slow-1"])
    policy = RetryPolicy(attempts=2, timeout=0.2, backoff_base=0.01, backoff_max=0.01)
    start = time.monotonic()
    summary = download_unsplash(table, tmp_path / "out", policy=policy, progress=False)
    assert summary.failed["slow-1"].reason == "timeout"
    assert server.count("slow-1") == 2
    assert time.monotonic() - start < 1.5
    assert _files(tmp_path / "out") == {MANIFEST_NAME}


def test_unsafe_photo_id_is_never_a_path(server, tmp_path):
    table = _write_table(tmp_path / "photos.tsv000", server.base_url, ["../evil", "good-1"])
    summary = download_unsplash(table, tmp_path / "out", policy=FAST, progress=False)
    assert summary.failed["../evil"].reason == "bad_row"
    assert [name for name, _, _ in server.hits] == ["good-1"]
    assert not (tmp_path / "evil.jpg").exists()


def test_cli_exit_codes_and_failure_list(server, tmp_path, capsys):
    table = _write_table(tmp_path / "photos.tsv000", server.base_url, ["good-1", "good-2"])
    out = tmp_path / "out"
    assert unsplash.main([str(table), "--out", str(out), "--no-progress"]) == 0
    assert "2/2 photos" in capsys.readouterr().out

    table = _write_table(tmp_path / "photos.tsv000", server.base_url, ["good-1", "missing-7"])
    assert unsplash.main([str(table), "--out", str(out), "--no-progress", "--workers", "2"]) == 1
    err = capsys.readouterr().err
    assert "missing-7: not found (HTTP 404)" in err
    assert server.count("good-1") == 1

    assert unsplash.main([str(tmp_path / "nope.tsv000"), "--out", str(out)]) == 2


def test_modules_import_without_heavy_dependencies():
    code = ("import sys, autocolor.data.unsplash, autocolor.data.prepare; "
            "heavy = [m for m in ('torch', 'numpy', 'PIL', 'tqdm', 'urllib.request') "
            "if m in sys.modules]; assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True)
