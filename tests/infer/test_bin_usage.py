"""Dropping the ab bins a model never uses (autocolor.infer.bin_usage, BinsHead.keep_bins and
``autocolor export onnx --bins-from``): which bins are kept, and that the colours and the
confidence stay those of the whole grid."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from autocolor.infer.bin_usage import GRID, bins_to_keep, keep_bins
from autocolor.models import create_model
from autocolor.models.heads import BinsHead

# Bins a in [-70, -30], b in [30, 70] (a 5 x 5 block of greens) are the only ones the models
# below can give weight to: every other bin's bias is this low.
SILENT_BIAS = -60.0
BLOCK = [a * GRID + b for a in range(4, 9) for b in range(14, 19)]


def _silence_outside_block(model) -> None:
    with torch.no_grad():
        for head in model.bins_heads():
            outside = torch.ones(GRID * GRID, dtype=torch.bool)
            outside[BLOCK] = False
            head.conv.bias[outside] = SILENT_BIAS


def test_bins_to_keep_takes_the_used_bins_and_their_neighbours() -> None:
    usage = torch.zeros(GRID * GRID)
    usage[12 * GRID + 12] = 0.5  # the centre of the grid
    assert bins_to_keep(usage, 1e-4, dilation=0) == [12 * GRID + 12]
    assert bins_to_keep(usage, 1e-4) == [a * GRID + b for a in (11, 12, 13) for b in (11, 12, 13)]
    usage[0] = 1e-3  # a corner: its neighbours inside the grid only
    kept = bins_to_keep(usage, 1e-4)
    assert {0, 1, GRID, GRID + 1} <= set(kept) and len(kept) == 9 + 4
    assert bins_to_keep(usage, 2e-3, dilation=0) == [12 * GRID + 12]  # the threshold is strict


def test_bins_to_keep_refuses_what_it_cannot_use() -> None:
    with pytest.raises(ValueError, match="no bin"):
        bins_to_keep(torch.full((GRID * GRID,), 1e-6), 1e-4)
    with pytest.raises(ValueError, match="values"):
        bins_to_keep(torch.ones(10))
    with pytest.raises(ValueError, match="dilation"):
        bins_to_keep(torch.ones(GRID * GRID), dilation=-1)


@pytest.mark.parametrize("members", [1, 3])
def test_kept_bins_give_the_same_colour_and_confidence(members: int) -> None:
    torch.manual_seed(3)
    model = create_model("lite0-unet", head="bins", temperature=0.5, members=members).eval()
    _silence_outside_block(model)
    l_norm = torch.rand(2, 1, 64, 96) * 2 - 1
    with torch.inference_mode():
        ab, sure = model.forward_confidence(l_norm)
        keep_bins(model, BLOCK)
        assert all(head.conv.out_channels == len(BLOCK) for head in model.bins_heads())
        kept_ab, kept_sure = model.forward_confidence(l_norm)
        model.prepare_for_export()  # the channels-last form the ONNX file runs
        last_ab, last_sure = model.forward_confidence(l_norm)
    assert float(ab.abs().max()) > 0.01  # the block's colours, not gray
    for got_ab, got_sure in ((kept_ab, kept_sure), (last_ab, last_sure)):
        assert torch.allclose(got_ab, ab, atol=1e-5)
        assert torch.allclose(got_sure, sure, atol=1e-5)  # the whole grid's unit


def test_keeping_too_few_bins_changes_the_colour() -> None:
    """The check above can fail: dropping bins the model uses moves its colours."""
    torch.manual_seed(3)
    model = create_model("lite0-unet", head="bins", temperature=0.5).eval()
    _silence_outside_block(model)
    l_norm = torch.rand(1, 1, 64, 96) * 2 - 1
    with torch.inference_mode():
        ab = model(l_norm)
        keep_bins(model, BLOCK[:5])  # one row of the block
        assert float((model(l_norm) - ab).abs().max()) > 0.01


def test_a_gated_head_keeps_every_bin() -> None:
    head = BinsHead(8, 0.5, gate=(0.1, 0.4))
    with pytest.raises(ValueError, match="gated"):
        head.keep_bins(BLOCK)
    with pytest.raises(ValueError, match="indices"):
        BinsHead(8).keep_bins([GRID * GRID])


def test_export_with_bins_from_a_cache(tmp_path: Path, smooth_rgb) -> None:
    """``export_weights(bins_from=CACHE)``: the file's heads hold the bins used on the cache's
    train photos (the block, and its neighbours), says so, and colours as the whole model."""
    from autocolor.data.cache import CacheRecord, sha256_file, write_manifest
    from autocolor.infer.export import export_weights
    from autocolor.infer.onnx_backend import OnnxBackend
    from autocolor.weights import load_model, save_weights

    cache = tmp_path / "cache"
    cache.mkdir()
    records = []
    for index in range(3):
        name = f"photo{index}.png"
        Image.fromarray(smooth_rgb(index, 72, 96)).save(cache / name)
        records.append(CacheRecord(file=name, split="train" if index < 2 else "val",
                                   width=96, height=72, sha256=sha256_file(cache / name)))
    write_manifest(cache, records)
    torch.manual_seed(5)
    kwargs = {"head": "bins", "temperature": 0.5, "members": 2}
    model = create_model("lite0-unet", **kwargs).eval()
    _silence_outside_block(model)
    weights = tmp_path / "block.safetensors"
    save_weights(model, weights, {"architecture": "lite0-unet", "model_kwargs": kwargs,
                                  "render_size": 64, "recipe": {"name": "block-test"}})

    result = export_weights(weights, tmp_path / "block.onnx", bins_from=cache)

    import json

    import onnx

    kept = json.loads(result.metadata["bins_kept"])
    block_and_neighbours = {a * GRID + b for a in range(3, 10) for b in range(13, 20)}
    assert set(kept) <= block_and_neighbours and len(kept) >= 9
    assert result.metadata["bins_rule"].startswith(f"{len(kept)} of {GRID * GRID} ab bins")
    assert "2 train photos of cache" in result.metadata["bins_rule"]
    graph = onnx.load(str(result.path)).graph
    sizes = {tuple(init.dims) for init in graph.initializer}
    assert not any(GRID * GRID in dims for dims in sizes)  # no head holds the whole grid
    assert any(len(kept) in dims for dims in sizes)
    loaded, _ = load_model(weights)
    l_norm = np.random.default_rng(2).uniform(-1, 1, (1, 1, 64, 96)).astype(np.float32)
    with torch.inference_mode():
        expected = loaded(torch.from_numpy(l_norm)).numpy()
    got = OnnxBackend(result.path, cache=False).predict(l_norm)
    assert np.abs(got - expected).max() < 1e-4
