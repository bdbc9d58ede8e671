"""``autocolor data {build-corpus,prepare,unsplash}``: each action is a module with
``add_arguments(parser)`` and ``run(args) -> int``."""

from __future__ import annotations

import argparse
import importlib

ACTIONS: dict[str, tuple[str, str]] = {
    "build-corpus": ("autocolor.data.corpus", "build the default training corpus (offline sources)"),
    "prepare": ("autocolor.data.prepare", "turn folders of own photos into a training cache"),
    "unsplash": ("autocolor.data.unsplash", "download Unsplash Lite photos from photos.tsv000"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, (module_name, help_text) in ACTIONS.items():
        action_parser = sub.add_parser(name, help=help_text, description=help_text)
        action_parser.set_defaults(_module=module_name)
        importlib.import_module(module_name).add_arguments(action_parser)


def run(args: argparse.Namespace) -> int:
    return int(importlib.import_module(args._module).run(args) or 0)
