"""Regenerate docs/app-screenshot.png: `autocolor app` in headless Chromium with a result on it.

    .venv/bin/python scripts/app_screenshot.py [--model default] [--output docs/app-screenshot.png]

The photo is scikit-image's "chelsea" (public domain) taken to gray. Needs Debian's chromium
(scripts/ensure_chromium.sh); Playwright never downloads a browser here.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default", help="weights name or path")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "app-screenshot.png")
    parser.add_argument("--hint", action="append", default=[], metavar="FX,FY",
                        help="also click a hint at this fraction of the photo (e.g. 0.3,0.6)")
    parser.add_argument("--reference", choices=("chelsea", "coffee", "astronaut", "rocket"),
                        help="also upload this scikit-image photo, in colour, as the reference")
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("chromium not found; run scripts/ensure_chromium.sh", file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright
    from skimage import data

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as folder:
        photo = Path(folder) / "chelsea.png"
        Image.fromarray(data.chelsea()).convert("L").save(photo)
        server = subprocess.Popen([sys.executable, "-m", "autocolor.cli", "app", "--port",
                                   str(port), "--host", "127.0.0.1", "--model", args.model],
                                  cwd=folder)
        try:
            for _ in range(200):
                try:
                    urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).close()
                    break
                except OSError:
                    if server.poll() is not None:
                        return 1
                    time.sleep(0.3)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1280, "height": 860})
                page.goto(url)
                page.get_by_test_id("stFileUploader").first.locator('input[type="file"]') \
                    .set_input_files(str(photo))
                page.get_by_role("button", name="Download chelsea-color.png").wait_for(
                    timeout=120_000)
                if args.reference:
                    reference = Path(folder) / f"{args.reference}.jpg"
                    Image.fromarray(getattr(data, args.reference)()).save(reference, quality=92)
                    page.get_by_text("Reference photo (optional)").click()
                    page.get_by_test_id("stFileUploader").nth(1).locator('input[type="file"]') \
                        .set_input_files(str(reference))
                    page.get_by_text(reference.name).wait_for(timeout=60_000)
                    time.sleep(3)  # the recoloured result replaces the first one
                for count, hint in enumerate(args.hint, start=1):
                    fx, fy = (float(v) for v in hint.split(","))
                    image = page.frame_locator('iframe[title*="streamlit_image_coordinates"]') \
                        .first.locator("img")
                    box = image.bounding_box()
                    image.click(position={"x": box["width"] * fx, "y": box["height"] * fy})
                    page.get_by_text(f"{count} hint(s)").wait_for(timeout=120_000)
                time.sleep(1.5)  # let the images finish fading in
                args.output.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.output))
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=20)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
