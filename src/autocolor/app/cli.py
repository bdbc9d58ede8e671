"""``autocolor app [--port N] [--host H]``: serve the web page with Streamlit, headless.

Streamlit's settings are passed on its command line (:func:`streamlit_options`), so they hold
whatever ``~/.streamlit/config.toml`` or ``./.streamlit/config.toml`` say: no browser is opened,
no usage statistics are sent, uploads are limited in size, errors show no stack trace.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from autocolor.app.logic import APP_MAX_PIXELS, APP_MAX_UPLOAD_MB, ENV_MAX_PIXELS, ENV_MODEL

PAGE = Path(__file__).with_name("page.py")
DEFAULT_PORT = 8501
DEFAULT_HOST = "localhost"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port to serve on (default {DEFAULT_PORT})")
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address to listen on (default {DEFAULT_HOST}; 0.0.0.0 for every "
                             "interface, which lets anyone on the network upload photos)")
    parser.add_argument("--model", default=os.environ.get(ENV_MODEL) or None,
                        help="weights name or .safetensors path offered first and chosen by "
                             f"default (default: ${ENV_MODEL}, else the installed 'default')")
    parser.add_argument("--max-upload-mb", type=int, default=APP_MAX_UPLOAD_MB,
                        help=f"largest upload in MB (default {APP_MAX_UPLOAD_MB})")
    parser.add_argument("--max-pixels", type=int, default=APP_MAX_PIXELS,
                        help=f"refuse photos with more pixels (default {APP_MAX_PIXELS:,})")


def streamlit_options(port: int, host: str, max_upload_mb: int) -> dict[str, object]:
    """Streamlit config options, as ``streamlit run --section.name value`` sets them."""
    return {
        "server.port": port,
        "server.address": host,
        "server.headless": True,  # never open a browser; print the URL
        "server.maxUploadSize": max_upload_mb,  # MB, per file; the uploader says so when over
        "server.fileWatcherType": "none",  # an installed app, not a script being edited
        "server.runOnSave": False,
        "server.enableStaticServing": False,
        "browser.gatherUsageStats": False,  # nothing leaves the machine
        "client.showErrorDetails": "none",  # the page shows one-line errors, never a traceback
        "client.toolbarMode": "minimal",
        "global.developmentMode": False,
        "logger.level": "warning",
    }


def _flag_arguments(options: dict[str, object]) -> list[str]:
    arguments = []
    for name, value in options.items():
        text = str(value).lower() if isinstance(value, bool) else str(value)
        arguments += [f"--{name}", text]
    return arguments


def url(host: str, port: int) -> str:
    shown = "localhost" if host in ("", "0.0.0.0", "::") else host
    if ":" in shown:  # an IPv6 literal
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def run(args: argparse.Namespace) -> int:
    try:
        from streamlit.web import cli as streamlit_cli
    except ImportError:
        print("autocolor app needs Streamlit: pip install 'autocolor[app]'", file=sys.stderr)
        return 1
    if not 0 < args.port < 65536:
        print(f"--port must be 1-65535, got {args.port}", file=sys.stderr)
        return 2
    if args.max_upload_mb < 1 or args.max_pixels < 1:
        print("--max-upload-mb and --max-pixels must be positive", file=sys.stderr)
        return 2
    if args.model:
        from autocolor.weights import resolve_weights

        try:
            model = str(resolve_weights(args.model))
        except FileNotFoundError as error:
            print(f"--model: {error}", file=sys.stderr)
            return 2
        # A name stays a name (the page lists it among the installed ones).
        os.environ[ENV_MODEL] = args.model if not Path(args.model).suffix else model
    os.environ[ENV_MAX_PIXELS] = str(args.max_pixels)

    options = streamlit_options(args.port, args.host, args.max_upload_mb)
    print(f"autocolor app: {url(args.host, args.port)}  (Ctrl+C to stop)", flush=True)
    try:
        streamlit_cli.main(["run", str(PAGE), *_flag_arguments(options)], prog_name="streamlit",
                           standalone_mode=False)
    except SystemExit as stop:  # click or Streamlit may still exit; keep our return code
        return int(stop.code or 0) if isinstance(stop.code, int) else 1
    return 0
