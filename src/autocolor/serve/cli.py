"""``autocolor serve``: the HTTP API on uvicorn (``/docs`` has the OpenAPI page).

The model loads before the server listens, so a bad ``--model`` is one line and exit status 1,
not a server that fails every request.
"""

from __future__ import annotations

import argparse
import os
import sys

from autocolor.credentials import add_c2pa_arguments, content_credentials
from autocolor.errors import first_line
from autocolor.serve.config import ServeConfig

DEFAULTS = ServeConfig()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=DEFAULTS.host,
                        help=f"address to listen on (default {DEFAULTS.host}; 0.0.0.0 serves "
                             "every interface, which lets anyone who reaches it upload photos)")
    parser.add_argument("--port", type=int, default=DEFAULTS.port,
                        help=f"default {DEFAULTS.port}")
    parser.add_argument("--model", default=DEFAULTS.model,
                        help="installed weights name or a .safetensors/.onnx path")
    parser.add_argument("--backend", choices=("auto", "torch", "onnx"), default=DEFAULTS.backend)
    parser.add_argument("--max-upload-mb", type=float, default=DEFAULTS.max_upload_mb,
                        help=f"largest request body (default {DEFAULTS.max_upload_mb:g}); "
                             "larger ones get 413")
    parser.add_argument("--max-pixels", type=int, default=DEFAULTS.max_pixels,
                        help=f"refuse larger photos from their header, 413 (default "
                             f"{DEFAULTS.max_pixels:,})")
    parser.add_argument("--max-queue", type=int, default=DEFAULTS.max_queue,
                        help="requests admitted at once, the one being coloured included; more "
                             f"get 503 with Retry-After (default {DEFAULTS.max_queue})")
    parser.add_argument("--timeout", type=float, default=DEFAULTS.timeout_s,
                        help="seconds from admission to the answer (default "
                             f"{DEFAULTS.timeout_s:g})")
    parser.add_argument("--no-provenance", action="store_true",
                        help="leave out the XMP mark that says a trained model coloured the "
                             "photo (see the README before using it)")
    add_c2pa_arguments(parser)


def config_from(args: argparse.Namespace) -> ServeConfig:
    return ServeConfig(host=args.host, port=args.port, model=args.model, backend=args.backend,
                       max_upload_mb=args.max_upload_mb, max_pixels=args.max_pixels,
                       max_queue=args.max_queue, timeout_s=args.timeout,
                       provenance=not args.no_provenance)


def load_colorizer(config: ServeConfig):
    """The one model the server holds, warmed up (the first run of a network pays one-off
    set-up; pay it before the first request)."""
    import numpy as np

    from autocolor.infer.colorizer import Colorizer

    colorizer = Colorizer.from_pretrained(config.model, backend=config.backend, device="cpu",
                                          max_pixels=config.max_pixels, batch_size=1)
    colorizer.backend.predict(np.zeros((1, 1, 64, 64), np.float32))
    return colorizer


def run(args: argparse.Namespace) -> int:
    import uvicorn  # the serve extra; autocolor.cli names it when missing

    from autocolor.serve.app import create_app

    config = config_from(args)
    try:
        config.check()
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    # As `autocolor colorize`: OpenMP threads that sleep when idle (the torch backend).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        colorizer = load_colorizer(config)
    except (FileNotFoundError, ValueError, RuntimeError) as error:
        print(f"error: --model {config.model}: {first_line(error)}", file=sys.stderr)
        return 1
    try:
        credentials = content_credentials(args, colorizer.provenance)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    app = create_app(config, colorizer, credentials)
    print(f"autocolor serve: http://{config.host}:{config.port}  (API docs: /docs; Ctrl+C to "
          "stop)", file=sys.stderr, flush=True)
    uvicorn.run(app, host=config.host, port=config.port, log_level="info",
                timeout_graceful_shutdown=10)
    return 0
