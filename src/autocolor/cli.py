"""The ``autocolor`` command.

Each subcommand lives in its own module exposing ``add_arguments(parser)`` and
``run(args) -> int``; only the chosen one is imported, so ``autocolor colorize --backend onnx``
never imports torch and ``autocolor --help`` answers instantly. A command that needs an extra
that is not installed (torch, for ``autocolor train``) says which, in one line
(:mod:`autocolor.extras`).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from autocolor.extras import missing_message

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "colorize": ("autocolor.infer.cli", "colour black-and-white photos at full resolution"),
    "video": ("autocolor.video.cli", "colour black-and-white films, steady from frame to frame"),
    "eval-video": ("autocolor.video.eval_cli", "flicker and accuracy of video colouring"),
    "train": ("autocolor.train.cli", "train a model on a folder of colour photos or a cache"),
    "eval": ("autocolor.evaluate.cli", "score a model against the gray baseline, with a report"),
    "data": ("autocolor.data.cli", "build the default corpus, prepare photos, fetch Unsplash Lite"),
    "export": ("autocolor.infer.export", "export a model to ONNX"),
    "app": ("autocolor.app.cli", "start the web app"),
    "serve": ("autocolor.serve.cli", "serve the HTTP API (POST /v1/colorize)"),
    "models": ("autocolor.models.cli", "list registered architectures and installed weights"),
}


def _top_level_parser() -> argparse.ArgumentParser:
    from autocolor import __version__

    parser = argparse.ArgumentParser(
        prog="autocolor",
        description="Automatic colorization of black-and-white photographs.",
        epilog="Run 'autocolor COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"autocolor {__version__}")
    parser.add_argument("command", choices=sorted(COMMANDS), metavar="COMMAND",
                        help="; ".join(f"{name}: {text}" for name, (_, text) in COMMANDS.items()))
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0].startswith("-") or argv[0] not in COMMANDS:
        _top_level_parser().parse_args(argv or ["--help"])
        return 2
    name, rest = argv[0], argv[1:]
    module_name, help_text = COMMANDS[name]
    try:
        module = importlib.import_module(module_name)
        parser = argparse.ArgumentParser(prog=f"autocolor {name}", description=help_text)
        module.add_arguments(parser)
        args = parser.parse_args(rest)
        return int(module.run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except ModuleNotFoundError as error:  # an optional extra that is not installed
        message = missing_message(error, name)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
