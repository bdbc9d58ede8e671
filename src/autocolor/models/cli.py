"""``autocolor models``: the registered architectures and the installed weights (with the
metadata that says what each is). Reads weights metadata only; builds no model."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--weights", action="store_true", help="installed weights only")


def run(args: argparse.Namespace) -> int:
    from autocolor.weights import PACKAGE_WEIGHTS_DIR, installed_weights, read_metadata

    if not args.weights:
        from autocolor.models import list_models

        print("architectures: " + ", ".join(list_models()))
    print("installed weights:")
    for name in installed_weights():
        path = PACKAGE_WEIGHTS_DIR / f"{name}.safetensors"
        if not path.is_file():  # an ONNX-only install
            print(f"  {name}  (ONNX only)")
            continue
        metadata = read_metadata(path)
        kwargs = metadata.get("model_kwargs", {})
        print(f"  {name}  {metadata.get('architecture', '?')} {kwargs}  render size "
              f"{metadata.get('render_size', '?')}  trained on {metadata.get('trained_on', '?')}")
    return 0
