"""``autocolor export onnx --model M -o model.onnx``: the whole model as one ONNX file.

The graph takes ``l_norm`` (batch, 1, height, width) and returns ``ab_norm`` (batch, 2, height,
width); batch, height and width are dynamic (height and width multiples of 32). Everything the
network does is inside it, including the bins head's softmax at its temperature and the
annealed-mean decode, so ONNX Runtime needs nothing from torch.

The file carries its own metadata (ONNX ``metadata_props``, the same keys as the safetensors
metadata plus ``temperature``, ``source_weights_sha256`` and the exporter versions), so an
``.onnx`` file works on its own: ``Colorizer.from_pretrained("model.onnx")``.

Exporter: torch.export + onnxscript (``dynamo=True``, the default since torch 2.9). It gives a
clean graph: batch norms folded into convolutions, the static 'SAME' paddings (``F.pad``)
folded into the convolutions' ``pads`` (no Pad node is left), about 140 nodes for lite0-unet
against 546 from the legacy TorchScript exporter (which spells every ``F.pad`` as a
ConstantOfShape/Slice/Transpose chain, and needs the shape checks traced as constants).

The model rewrites itself for export (``ColorizationModel.prepare_for_export``, same math, on a
copy: :func:`export_friendly`): the bins head runs channels-last, since ONNX Runtime's Softmax
over the channel axis of NCHW took 80% of lite0-unet's CPU time and the (pixels, 529) form makes
the whole network about 6x faster there. The temperature is applied to the head's weights
(``logits / T = x (W / T)^T + b / T``), so the exporter folds it into them; the value is kept
in the metadata.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autocolor.provenance import file_sha256

# ONNX opset of the export: 18 is what torch's exporter translates to natively; 17 is the floor.
DEFAULT_OPSET = 18
# Torch vs ONNX Runtime agreement checked after every export, in normalized ab units.
VERIFY_TOLERANCE = 1e-3
INPUT_NAME = "l_norm"
OUTPUT_NAME = "ab_norm"
# Bins models also export where they are sure of the colour (Colorizer's confidence map).
CONFIDENCE_NAME = "confidence"
AXIS_NAMES = ("batch", "height", "width")


@dataclass
class ExportResult:
    path: Path
    metadata: dict[str, str]
    max_abs_diff: float | None  # torch vs ONNX Runtime, normalized ab; None when not verified
    seconds: float


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    onnx = actions.add_parser(
        "onnx", help="export to ONNX (dynamic batch, height, width; opset >= 17)",
        description="Export a model to ONNX for torch-free inference with ONNX Runtime.",
    )
    onnx.add_argument("--model", default="default",
                      help="installed weights name or a .safetensors path (default: default)")
    onnx.add_argument("-o", "--output", type=Path, default=None,
                      help="the .onnx file (default: beside the weights, same stem)")
    onnx.add_argument("--render-size", type=int, default=None,
                      help="render size recorded in the metadata (default: the weights')")
    onnx.add_argument("--opset", type=int, default=DEFAULT_OPSET,
                      help=f"ONNX opset, at least 17 (default {DEFAULT_OPSET})")
    onnx.add_argument("--no-verify", action="store_true",
                      help="skip the torch vs ONNX Runtime comparison after exporting")
    onnx.add_argument("--bins-from", type=Path, default=None, metavar="CACHE",
                      help="drop the ab bins the model never uses on this training cache's "
                           "train photos (a faster head, the same colours: "
                           "autocolor.infer.bin_usage); bins models only")


def model_temperature(model) -> float | None:
    """The bins head's annealed-mean temperature, or None for a regression head."""
    from autocolor.models.heads import BinsHead

    return float(model.head.temperature) if isinstance(model.head, BinsHead) else None


def onnx_metadata(model, weights_metadata: dict[str, Any], render_size: int,
                  weights_path: Path | None, opset: int) -> dict[str, str]:
    """String metadata for ``metadata_props``: the weights' keys plus what the export adds."""
    import torch

    from autocolor import __version__
    from autocolor.infer.pipeline import SIZE_MULTIPLE
    from autocolor.weights import encode_metadata, normalization_metadata

    metadata: dict[str, Any] = {"normalization": normalization_metadata(), **weights_metadata}
    metadata["architecture"] = weights_metadata.get(
        "architecture", getattr(model, "architecture", type(model).__name__))
    metadata["render_size"] = int(render_size)
    temperature = model_temperature(model)
    metadata["temperature"] = "none" if temperature is None else repr(temperature)
    if weights_path is not None:
        metadata["source_weights"] = weights_path.name
        metadata["source_weights_sha256"] = file_sha256(weights_path)
    metadata["size_multiple"] = SIZE_MULTIPLE
    outputs = f"{OUTPUT_NAME} (batch,2,height,width) float32"
    if has_confidence(model):
        outputs += f", {CONFIDENCE_NAME} (batch,1,height,width) float32 in [0,1]"
    metadata["io"] = (f"{INPUT_NAME} (batch,1,height,width) float32 in [-1,1] -> {outputs}; "
                      f"height, width multiples of {SIZE_MULTIPLE}")
    metadata["exported_with"] = (f"autocolor {__version__}, torch {torch.__version__}, "
                                 f"opset {opset}")
    return encode_metadata(metadata)


def has_confidence(model) -> bool:
    """Whether ``model`` has a bins head, and so a confidence output."""
    return getattr(model, "head_type", None) == "bins"


def export_friendly(model):
    """A copy of ``model`` for export, same math: :meth:`ColorizationModel.prepare_for_export`
    (bins heads channels-last; Lite's gray input folded into a one-channel stem). Outputs are
    equal to float rounding, which :func:`verify_export` checks against the original."""
    import copy

    from autocolor.models.base import ColorizationModel

    if not isinstance(model, ColorizationModel):
        raise TypeError(f"export needs a ColorizationModel, got {type(model).__name__}")
    return copy.deepcopy(model).eval().prepare_for_export()


def _quiet_exporter() -> None:
    # The exporter logs one warning per missing torchvision op and prints progress lines.
    logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)


def export_model(model, output: str | os.PathLike, metadata: dict[str, str],
                 opset: int = DEFAULT_OPSET) -> Path:
    """Export an eval-mode model to ``output`` (atomically) with ``metadata`` in metadata_props."""
    import torch

    from autocolor.atomic import atomic_path

    if opset < 17:
        raise ValueError(f"opset must be at least 17, got {opset}")
    _quiet_exporter()
    model = export_friendly(model)
    names = [OUTPUT_NAME]
    if has_confidence(model):
        from autocolor.models.base import WithConfidence

        model, names = WithConfidence(model), [OUTPUT_NAME, CONFIDENCE_NAME]
    output = Path(output)
    # Batch 2 and unequal sides, so that no dimension is specialized to a constant (torch.export
    # fixes dimensions whose example value is 0 or 1, or that equal one another).
    example = torch.zeros(2, 1, 64, 96)
    batch = torch.export.Dim("batch", min=1)
    height = torch.export.Dim("height_32", min=1)
    width = torch.export.Dim("width_32", min=1)
    dynamic_shapes = {INPUT_NAME: {0: batch, 2: 32 * height, 3: 32 * width}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        program = torch.onnx.export(
            model, (example,), None, input_names=[INPUT_NAME], output_names=names,
            opset_version=opset, dynamo=True, dynamic_shapes=dynamic_shapes, optimize=True,
            verbose=False, external_data=False,
        )
    if program is None:  # dynamo=True always returns the program
        raise RuntimeError("torch.onnx.export returned no ONNX program")
    program.rename_axes({"32*height_32": "height", "32*width_32": "width"})
    # torch.export's own notes on the graph (its signature, its range constraints) list
    # symbols in an order that changes from process to process: left out, the same model gives
    # the same bytes (a committed file reproduces to its SHA-256).
    graph_notes = program.model.graph.metadata_props
    for key in [key for key in graph_notes if key.startswith("pkg.torch.export.")]:
        del graph_notes[key]
    for key, value in metadata.items():
        program.model.metadata_props[key] = value
    program.model.producer_name = "autocolor"
    with atomic_path(output) as temp:
        program.save(str(temp), external_data=False)
    return output


def verify_export(model, onnx_path: Path, render_size: int, seed: int = 0) -> float:
    """Max |ab_norm| difference between torch and ONNX Runtime on random L at two shapes
    (batch 1 at the render size, batch 2 at another shape, to exercise the dynamic axes)."""
    import numpy as np
    import torch

    from autocolor.infer.onnx_backend import OnnxBackend
    from autocolor.infer.pipeline import render_shape

    backend = OnnxBackend(onnx_path, "cpu", cache=False)
    rng = np.random.default_rng(seed)
    h, w = render_shape(3, 4, render_size)
    worst = 0.0
    for shape in ((1, 1, h, w), (2, 1, 96, 160)):
        l_norm = rng.uniform(-1.0, 1.0, size=shape).astype(np.float32)
        with torch.inference_mode():
            expected = model(torch.from_numpy(l_norm)).float().numpy()
        got = backend.predict(l_norm)
        if got.shape != expected.shape:
            raise RuntimeError(f"ONNX output shape {got.shape} != torch {expected.shape}")
        worst = max(worst, float(np.abs(got - expected).max()))
        if has_confidence(model):
            with torch.inference_mode():
                _, sure = model.forward_confidence(torch.from_numpy(l_norm))
            _, got_sure = backend.predict_confidence(l_norm)
            worst = max(worst, float(np.abs(got_sure - sure.float().numpy()).max()))
    return worst


def export_weights(weights: str | os.PathLike, output: str | os.PathLike | None = None,
                   render_size: int | None = None, opset: int = DEFAULT_OPSET,
                   verify: bool = True, bins_from: str | os.PathLike | None = None
                   ) -> ExportResult:
    """Export a weights file (installed name or .safetensors path) to ONNX.

    ``bins_from``: a training cache; the bins the model never uses on its train photos are
    left out of the exported heads (:mod:`autocolor.infer.bin_usage`), the kept ones listed in
    the metadata (``bins_kept``), and the verification compares with the whole model.

    Raises:
        RuntimeError: when ``verify`` and torch and ONNX Runtime disagree by more than
            :data:`VERIFY_TOLERANCE` (the file is removed).
    """
    from autocolor.infer.pipeline import DEFAULT_RENDER_SIZE
    from autocolor.weights import load_model, resolve_weights

    start = time.perf_counter()
    path = resolve_weights(weights)
    if path.suffix != ".safetensors":
        raise ValueError(f"{path}: export needs a .safetensors weights file")
    model, weights_metadata = load_model(path, device="cpu")
    size = int(render_size or weights_metadata.get("render_size", DEFAULT_RENDER_SIZE))
    output = Path(output) if output is not None else path.with_suffix(".onnx")
    metadata = onnx_metadata(model, weights_metadata, size, path, opset)
    exported = model
    if bins_from is not None:
        exported, metadata = _without_unused_bins(model, metadata, Path(bins_from), size)
    export_model(exported, output, metadata, opset)
    difference = None
    if verify:
        difference = verify_export(model, output, size)
        if not difference <= VERIFY_TOLERANCE:
            output.unlink(missing_ok=True)
            raise RuntimeError(f"ONNX Runtime and torch disagree by {difference:.3g} "
                               f"(> {VERIFY_TOLERANCE}); no file written")
    return ExportResult(output, metadata, difference, time.perf_counter() - start)


def _without_unused_bins(model, metadata: dict[str, str], cache: Path, render_size: int
                         ) -> tuple[Any, dict[str, str]]:
    """A copy of ``model`` whose heads keep the bins used on ``cache``'s train photos, and the
    metadata that says so."""
    import copy
    import json

    from autocolor.infer.bin_usage import (
        DEFAULT_DILATION,
        DEFAULT_THRESHOLD,
        bin_usage,
        bins_to_keep,
        keep_bins,
    )

    usage, photos = bin_usage(model, cache, render_size)
    kept = bins_to_keep(usage)
    pruned = keep_bins(copy.deepcopy(model), kept)
    metadata = {**metadata, "bins_kept": json.dumps(kept), "bins_rule": (
        f"{len(kept)} of {usage.numel()} ab bins: those whose annealed probability exceeds "
        f"{DEFAULT_THRESHOLD:g} on some pixel of the {photos} train photos of {cache.name} at "
        f"render {render_size}, and their neighbours within {DEFAULT_DILATION} on the grid")}
    return pruned, metadata


def run(args: argparse.Namespace) -> int:
    if args.action != "onnx":  # pragma: no cover - argparse restricts the choices
        return 2
    try:
        result = export_weights(args.model, args.output, args.render_size, args.opset,
                                verify=not args.no_verify, bins_from=args.bins_from)
    except (FileNotFoundError, ValueError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    meta = result.metadata
    check = ("" if result.max_abs_diff is None
             else f", max |ab_norm| difference vs torch {result.max_abs_diff:.2e}")
    bins = f", {meta['bins_rule'].split(':')[0]}" if "bins_rule" in meta else ""
    print(f"{result.path}: {meta['architecture']}, render size {meta['render_size']}, "
          f"temperature {meta['temperature']}{bins}{check} ({result.seconds:.1f} s)",
          file=sys.stderr)
    print(result.path)
    return 0
