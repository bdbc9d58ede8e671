"""End to end in real headless Chromium: `autocolor app` in a subprocess, driven by Playwright.

Uses Debian's chromium (scripts/ensure_chromium.sh installs it for `make test`); Playwright is
never allowed to download a browser build. Skips only when no chromium binary can be found.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
except ImportError:  # the dev extra has it; without it the fixtures fail with the import error
    PlaywrightTimeout = TimeoutError

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
START_TIMEOUT_S = 60
RESULT_TIMEOUT_MS = 60_000
CLICK_FRACTION = (0.3, 0.4)  # where the hint is placed, as a fraction of the shown photo


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tiny_weights, tmp_path_factory):
    """`autocolor app` on a free port with a 1 MB upload limit; yields its URL."""
    if chromium_path() is None:
        pytest.skip("chromium not found (Debian's chromium package; scripts/ensure_chromium.sh "
                    "installs it); Playwright must not download a browser of its own")
    port = free_port()
    log = tmp_path_factory.mktemp("app") / "server.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("AUTOCOLOR_APP_MAX_PIXELS", None)
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "autocolor.cli", "app", "--port", str(port),
             "--host", "127.0.0.1", "--model", str(tiny_weights), "--max-upload-mb", "1"],
            stdout=output, stderr=subprocess.STDOUT, cwd=log.parent, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"autocolor app exited with {process.returncode}:\n{log.read_text()}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"autocolor app did not answer in {START_TIMEOUT_S} s:\n"
                            f"{log.read_text()}")
            time.sleep(0.3)
        assert f"autocolor app: {url}" in log.read_text()
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        print(f"--- autocolor app log ---\n{log.read_text()}")  # shown when a test failed


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def browser_page(browser, server):
    """A fresh browser session on the app (its own uploads and state)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.goto(server)
    page.get_by_test_id("stFileUploader").first.wait_for(timeout=RESULT_TIMEOUT_MS)
    yield page
    try:  # printed output is shown only for a failed test: what the page said at the end
        print(f"--- page text ---\n{page.inner_text('body', timeout=5000)}")
    finally:
        context.close()


def download(page, label: str, target: Path) -> Image.Image:
    """Click a download button and save what comes. A rerun of the page between drawing the
    button and the click (the click component reports its value again) retires the button's
    deferred file, and that click downloads nothing: click the new button again."""
    for attempt in range(3):
        button = page.get_by_role("button", name=label)
        try:
            with page.expect_download(timeout=RESULT_TIMEOUT_MS // 3) as info:
                button.click()
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
    info.value.save_as(target)
    assert info.value.suggested_filename == label.removeprefix("Download ")
    return Image.open(target)


def test_upload_colour_hint_download_and_errors(browser_page, tmp_path, gray_array):
    page = browser_page
    width, height = 451, 300
    photo = tmp_path / "scan.png"
    Image.fromarray(gray_array(height, width), "L").save(photo)
    broken = tmp_path / "broken.png"
    broken.write_bytes(photo.read_bytes()[:1500])
    too_big = tmp_path / "huge.png"
    too_big.write_bytes(b"\x89PNG" + bytes(1_300_000))  # over the 1 MB limit of the server

    uploader = page.get_by_test_id("stFileUploader").first
    uploader.locator('input[type="file"]').set_input_files(str(photo))
    page.get_by_role("button", name="Download scan-color.png").wait_for(timeout=RESULT_TIMEOUT_MS)

    # The download is a colour PNG at the upload's exact size.
    first = download(page, "Download scan-color.png", tmp_path / "first.png")
    assert first.format == "PNG" and first.size == (width, height)
    first_rgb = np.asarray(first.convert("RGB")).astype(int)
    assert np.abs(first_rgb[..., 0] - first_rgb[..., 2]).mean() > 10  # not gray

    # A click on the black-and-white photo places a hint in the chosen colour (#3a7bd5, blue)
    # and the result follows it; the tiny model alone paints everything orange.
    frame = page.frame_locator('iframe[title*="streamlit_image_coordinates"]').first
    image = frame.locator("img")
    image.wait_for(timeout=RESULT_TIMEOUT_MS)
    hint_caption = page.get_by_text(re.compile(r"^\d+ hint\(s\): "))
    for attempt in range(3):  # a click while the component is still being laid out can be lost
        box = image.bounding_box()
        image.click(position={"x": box["width"] * CLICK_FRACTION[0],
                              "y": box["height"] * CLICK_FRACTION[1]})
        try:
            hint_caption.wait_for(timeout=RESULT_TIMEOUT_MS // 3)
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
    hinted = np.asarray(download(page, "Download scan-color.png", tmp_path / "hinted.png")
                        .convert("RGB")).astype(int)
    row, column = int(height * CLICK_FRACTION[1]), int(width * CLICK_FRACTION[0])
    before, after = first_rgb[row, column], hinted[row, column]
    assert before[0] > before[2], before  # orange
    assert after[2] > after[0], after  # blue where the hint is

    # Bad uploads: a visible one-line error each, and the page goes on working.
    uploader.locator('input[type="file"]').set_input_files(str(broken))
    page.get_by_text("broken.png: corrupt or truncated image").wait_for(timeout=RESULT_TIMEOUT_MS)
    uploader.locator('input[type="file"]').set_input_files(str(too_big))
    page.get_by_text("File must be 1.0MB or smaller").wait_for(timeout=RESULT_TIMEOUT_MS)
    assert "Traceback" not in page.inner_text("body")
    again = download(page, "Download scan-color.png", tmp_path / "again.png")
    assert again.size == (width, height)


def test_colour_upload_is_announced_and_all_zip(browser_page, tmp_path, gray_png, color_jpeg):
    (tmp_path / "scan.png").write_bytes(gray_png)
    (tmp_path / "colour.jpg").write_bytes(color_jpeg)
    uploader = browser_page.get_by_test_id("stFileUploader").first
    uploader.locator('input[type="file"]').set_input_files(
        [str(tmp_path / "scan.png"), str(tmp_path / "colour.jpg")])
    browser_page.get_by_text("taken to gray first").wait_for(timeout=RESULT_TIMEOUT_MS)
    zipped = browser_page.get_by_role("button", name="Download all 2 results (zip)")
    zipped.wait_for(timeout=RESULT_TIMEOUT_MS)
    with browser_page.expect_download(timeout=RESULT_TIMEOUT_MS) as info:
        zipped.click()
    with zipfile.ZipFile(io.BytesIO(Path(info.value.path()).read_bytes())) as archive:
        assert sorted(archive.namelist()) == ["colour-color.png", "scan-color.png"]
        assert Image.open(io.BytesIO(archive.read("colour-color.png"))).size == (180, 120)


def test_video_tab_colours_a_clip_and_downloads_it(browser_page, tmp_path, clip_bytes):
    import av

    page = browser_page
    clip = tmp_path / "reel.mp4"
    clip.write_bytes(clip_bytes(frames=10, width=128, height=80, audio=True))
    notes = tmp_path / "notes.mp4"
    notes.write_text("not a video")

    page.get_by_role("tab", name="Video").click()
    uploader = page.get_by_test_id("stFileUploader").nth(1)
    uploader.locator('input[type="file"]').set_input_files(str(notes))
    page.get_by_role("button", name="Colour the clip").click()
    page.get_by_text(re.compile(r"Cannot colour this clip\. notes\.mp4: not a video")).wait_for(
        timeout=RESULT_TIMEOUT_MS)
    assert "Traceback" not in page.inner_text("body")

    uploader.locator('input[type="file"]').set_input_files(str(clip))
    page.get_by_text("reel.mp4").wait_for(timeout=RESULT_TIMEOUT_MS)
    button = page.get_by_role("button", name="Download reel-color.mp4")
    for attempt in range(3):  # a click during the rerun the upload caused can be lost
        page.get_by_role("button", name="Colour the clip").click()
        try:
            button.wait_for(timeout=RESULT_TIMEOUT_MS // 2)
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
    page.get_by_text("10 frames coloured, 1 shot.").wait_for(timeout=RESULT_TIMEOUT_MS)
    for index in (0, 4, 9):  # frames before and after
        page.get_by_text(f"frame {index}, coloured").wait_for(timeout=RESULT_TIMEOUT_MS)
        page.get_by_text(f"frame {index}, black and white").wait_for(timeout=RESULT_TIMEOUT_MS)
    with page.expect_download(timeout=RESULT_TIMEOUT_MS) as info:
        button.click()
    assert info.value.suggested_filename == "reel-color.mp4"
    target = tmp_path / "reel-color.mp4"
    info.value.save_as(target)
    with av.open(str(target)) as container:
        assert [s.type for s in container.streams] == ["video", "audio"]
        frames = [frame.to_ndarray(format="rgb24").astype(int)
                  for frame in container.decode(video=0)]
    assert len(frames) == 10 and frames[0].shape == (80, 128, 3)
    assert (frames[5][..., 0] - frames[5][..., 2]).mean() > 10  # the tiny model's orange
