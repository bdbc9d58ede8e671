"""ONNX export and the ONNX Runtime backend: round trip, metadata, agreement with torch, the
torch-free command line, and how ``--backend auto`` chooses."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from autocolor.infer.colorizer import Colorizer

# Torch and ONNX Runtime on the same random L, normalized ab units.
AGREEMENT = 1e-3


def gray_photo(width: int, height: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    values = 128 + 80 * np.sin(x / 6.0 + rng.uniform(0, 6)) * np.cos(y / 9.0)
    return values.astype(np.uint8)


@pytest.fixture(scope="module")
def onnx_file(onnx_pair: Path) -> Path:
    return onnx_pair.with_suffix(".onnx")


@pytest.fixture(scope="module")
def torch_model(onnx_pair: Path):
    from autocolor.weights import load_model

    model, _ = load_model(onnx_pair)
    return model


def test_export_metadata_and_graph(onnx_pair: Path, onnx_file: Path) -> None:
    import onnx

    model = onnx.load(str(onnx_file))
    onnx.checker.check_model(model)
    metadata = {prop.key: prop.value for prop in model.metadata_props}
    assert metadata["architecture"] == "lite0-unet"
    assert metadata["render_size"] == "64"
    assert float(metadata["temperature"]) == 0.5
    assert metadata["source_weights_sha256"] == hashlib.sha256(onnx_pair.read_bytes()).hexdigest()
    assert '"head": "bins"' in metadata["model_kwargs"]
    assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= 17
    # Dynamic batch, height and width on both ends.
    for value, channels in ((model.graph.input[0], 1), (model.graph.output[0], 2)):
        dims = value.type.tensor_type.shape.dim
        assert [d.dim_param for d in dims] == ["batch", "", "height", "width"]
        assert dims[1].dim_value == channels
    # The whole model is inside: the bins head's softmax (at its temperature) and its decode.
    ops = {node.op_type for node in model.graph.node}
    assert {"Softmax", "Conv", "Resize"} <= ops
    assert all(node.domain in ("", "ai.onnx") for node in model.graph.node)


def test_export_leaves_out_the_exporters_unordered_notes(onnx_file: Path) -> None:
    """torch.export notes its graph signature and range constraints in the graph's
    metadata, in an order that changes between processes; the export drops them, so one model
    always gives the same bytes (the bundled file reproduces to its SHA-256)."""
    import onnx

    graph = onnx.load(str(onnx_file)).graph
    assert not [prop.key for prop in graph.metadata_props
                if prop.key.startswith("pkg.torch.export.")]


def test_export_friendly_folds_the_gray_input_exactly(torch_model) -> None:
    """Lite0's three input channels are the same gray normalized alike: the export feeds its stem
    one channel with summed weights, and the output does not change (padding included)."""
    import torch

    from autocolor.infer.export import export_friendly

    friendly = export_friendly(torch_model)
    assert friendly.encoder._conv_stem.weight.shape[1] == 1
    assert torch_model.encoder._conv_stem.weight.shape[1] == 3  # the original is left alone
    l_norm = torch.rand(2, 1, 64, 96, generator=torch.Generator().manual_seed(5)) * 2 - 1
    with torch.inference_mode():
        torch.testing.assert_close(friendly(l_norm), torch_model(l_norm), atol=1e-5, rtol=0)


def test_export_friendly_keeps_three_channels_when_normalized_apart(torch_model) -> None:
    import copy

    import torch

    from autocolor.infer.export import export_friendly

    model = copy.deepcopy(torch_model)
    model.to_encoder_input.mean[0, 0] = 0.4  # channels no longer alike: folding would be wrong
    friendly = export_friendly(model)
    assert friendly.encoder._conv_stem.weight.shape[1] == 3
    l_norm = torch.rand(1, 1, 64, 64, generator=torch.Generator().manual_seed(6)) * 2 - 1
    with torch.inference_mode():
        torch.testing.assert_close(friendly(l_norm), model(l_norm), atol=1e-5, rtol=0)


@pytest.mark.parametrize("shape", [(1, 1, 64, 64), (3, 1, 96, 160), (2, 1, 224, 32)])
def test_onnx_agrees_with_torch_at_dynamic_shapes(onnx_file: Path, torch_model, shape) -> None:
    """Batch, height and width all vary (the 'SAME' paddings of the depthwise convolutions are
    static pads, so odd multiples of 32 must work too)."""
    import torch

    from autocolor.infer.onnx_backend import OnnxBackend

    l_norm = np.random.default_rng(sum(shape)).uniform(-1, 1, shape).astype(np.float32)
    with torch.inference_mode():
        expected = torch_model(torch.from_numpy(l_norm)).numpy()
    got = OnnxBackend(onnx_file).predict(l_norm)
    assert got.shape == (shape[0], 2, *shape[2:]) and got.dtype == np.float32
    assert np.abs(got - expected).max() < AGREEMENT


def test_colorizer_backends_agree(onnx_pair: Path) -> None:
    gray = gray_photo(90, 70)
    torch_colorizer = Colorizer.from_pretrained(onnx_pair, backend="torch")
    l_norm = torch_colorizer.render_input(_lightness(gray))
    by_torch = torch_colorizer.predict([l_norm])[0]
    by_onnx = Colorizer.from_pretrained(onnx_pair, backend="onnx").predict([l_norm])[0]
    assert np.abs(by_torch - by_onnx).max() < AGREEMENT
    # Not trivially equal because both are constant: random weights still vary over the photo.
    assert np.ptp(by_torch) > 1e-3


def _lightness(gray: np.ndarray) -> np.ndarray:
    from autocolor.images import lightness_from_pil

    return lightness_from_pil(Image.fromarray(gray)).lightness


def test_onnx_file_stands_alone(onnx_file: Path, tmp_path: Path) -> None:
    alone = tmp_path / "alone.onnx"  # no safetensors anywhere near it
    shutil.copy2(onnx_file, alone)
    colorizer = Colorizer.from_pretrained(alone)
    assert colorizer.backend.name == "onnx"
    assert colorizer.render_size == 64  # from the ONNX metadata
    assert colorizer.metadata["architecture"] == "lite0-unet"
    out = colorizer.colorize(gray_photo(50, 40))
    assert out.shape == (40, 50, 3) and out.dtype == np.uint8
    assert Colorizer.from_pretrained(alone, render_size=96).render_size == 96
    with pytest.raises(ValueError, match="torch"):
        Colorizer.from_pretrained(alone, backend="torch")


def test_installed_onnx_only(onnx_file: Path, tmp_path: Path, monkeypatch) -> None:
    from autocolor import weights

    monkeypatch.setattr(weights, "PACKAGE_WEIGHTS_DIR", tmp_path)
    shutil.copy2(onnx_file, tmp_path / "default.onnx")
    assert weights.resolve_weights("default") == tmp_path / "default.onnx"
    assert weights.installed_weights() == ["default"]
    assert Colorizer.from_pretrained("default").backend.name == "onnx"


def test_backend_auto_selection(onnx_pair: Path, tiny_weights: Path, tmp_path: Path) -> None:
    assert Colorizer.from_pretrained(onnx_pair).backend.name == "onnx"  # ONNX beside: auto takes it
    assert Colorizer.from_pretrained(onnx_pair, backend="torch").backend.name == "torch"
    assert Colorizer.from_pretrained(tiny_weights).backend.name == "torch"  # none beside
    with pytest.raises(FileNotFoundError, match="export onnx"):
        Colorizer.from_pretrained(tiny_weights, backend="onnx")


def test_metadata_comes_from_the_file_that_runs(onnx_pair: Path, tmp_path: Path) -> None:
    """An ONNX file exported at another render size than its .safetensors runs at its own."""
    import onnx

    weights = tmp_path / "m.safetensors"
    shutil.copy2(onnx_pair, weights)
    graph = onnx.load(str(onnx_pair.with_suffix(".onnx")))
    for prop in graph.metadata_props:
        if prop.key == "render_size":
            prop.value = "96"
    onnx.save(graph, str(weights.with_suffix(".onnx")))
    by_onnx = Colorizer.from_pretrained(weights)  # auto: the ONNX file beside runs
    assert by_onnx.backend.name == "onnx"
    assert by_onnx.render_size == 96 and by_onnx.metadata["render_size"] == 96
    assert "temperature" in by_onnx.metadata  # a key only the export writes
    by_torch = Colorizer.from_pretrained(weights, backend="torch")
    assert by_torch.render_size == 64 and "temperature" not in by_torch.metadata
    assert by_torch.metadata is not by_torch.backend.metadata  # a copy: the caller may edit it
    assert by_onnx.backend.device == by_torch.backend.device == "cpu"


def test_onnx_backend_checks_input(onnx_file: Path) -> None:
    from autocolor.infer.onnx_backend import OnnxBackend

    backend = OnnxBackend(onnx_file)
    assert backend.name == "onnx" and backend.metadata["render_size"] == 64
    with pytest.raises(ValueError, match="multiples of 32"):
        backend.predict(np.zeros((1, 1, 50, 64), np.float32))
    with pytest.raises(ValueError, match=r"\(B,1,H,W\)"):
        backend.predict(np.zeros((1, 2, 64, 64), np.float32))
    # float64 input is converted, not rejected.
    assert backend.predict(np.zeros((1, 1, 32, 32))).dtype == np.float32


def test_sessions_are_cached(onnx_file: Path) -> None:
    from autocolor.infer.onnx_backend import OnnxBackend, session_options

    assert OnnxBackend(onnx_file).session is OnnxBackend(onnx_file).session
    assert OnnxBackend(onnx_file, cache=False).session is not OnnxBackend(onnx_file).session
    options = session_options(2)
    assert options.intra_op_num_threads == 2 and options.inter_op_num_threads == 1


def _imported_modules(stderr: str) -> set[str]:
    """Module names from ``python -X importtime`` output."""
    return {line.rsplit("|", 1)[1].strip() for line in stderr.splitlines()
            if line.startswith("import time:") and "|" in line}


@pytest.mark.parametrize("backend,suffix", [("onnx", ".safetensors"), ("auto", ".safetensors"),
                                            ("auto", ".onnx")])
def test_onnx_cli_never_imports_torch(onnx_pair: Path, tmp_path: Path, backend: str,
                                      suffix: str) -> None:
    Image.fromarray(gray_photo(70, 50)).save(tmp_path / "a.jpg", quality=90)
    Image.fromarray(gray_photo(50, 70, 1)).save(tmp_path / "b.png")
    command = [sys.executable, "-X", "importtime", "-m", "autocolor.cli", "colorize",
               str(tmp_path / "a.jpg"), str(tmp_path / "b.png"), "-o", str(tmp_path / "out"),
               "--model", str(onnx_pair.with_suffix(suffix)), "--backend", backend]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert sorted(Path(p).name for p in result.stdout.split()) == ["a.jpg", "b.png"]
    modules = _imported_modules(result.stderr)
    assert "onnxruntime" in modules  # the check below is meaningful
    torch_modules = sorted(m for m in modules if m == "torch" or m.startswith("torch."))
    assert not torch_modules, torch_modules[:5]


def test_export_cli_errors(tiny_weights: Path, tmp_path: Path, capsys) -> None:
    from autocolor.cli import main

    assert main(["export", "onnx", "--model", str(tiny_weights), "-o", str(tmp_path / "m.onnx"),
                 "--opset", "16"]) == 1
    assert "opset" in capsys.readouterr().err
    assert main(["export", "onnx", "--model", str(tmp_path / "none.safetensors")]) == 1
    assert "none.safetensors" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
    with pytest.raises(SystemExit):
        main(["export", "tflite"])


def test_spinning_threads_can_be_turned_off(monkeypatch):
    """`autocolor video` sets AUTOCOLOR_ORT_SPINNING=0; photos keep ONNX Runtime's default."""
    from autocolor.infer.onnx_backend import session_options

    monkeypatch.delenv("AUTOCOLOR_ORT_SPINNING", raising=False)
    key = "session.intra_op.allow_spinning"
    assert session_options(2).get_session_config_entry(key) == "1"
    monkeypatch.setenv("AUTOCOLOR_ORT_SPINNING", "0")
    assert session_options(2).get_session_config_entry(key) == "0"


@pytest.mark.parametrize("members", [1, 2])
def test_a_gated_model_exports_its_restraint(tmp_path: Path, members: int) -> None:
    """The confidence gate (heads.BinsHead) and the decoder members are part of the exported
    graph: ONNX Runtime gives the gated ensemble's numbers, not the ungated ones."""
    import torch

    from autocolor.infer.export import export_weights
    from autocolor.infer.onnx_backend import OnnxBackend
    from autocolor.models import create_model
    from autocolor.weights import load_model, save_weights

    torch.manual_seed(7)
    kwargs = {"head": "bins", "temperature": 0.5, "gate": [0.0, 0.05], "members": members}
    model = create_model("lite0-unet", **kwargs).eval()
    weights = tmp_path / "gated.safetensors"
    save_weights(model, weights, {"architecture": "lite0-unet", "model_kwargs": kwargs,
                                  "render_size": 64, "recipe": {"name": "gated-test"}})
    export_weights(weights, weights.with_suffix(".onnx"))
    loaded, _ = load_model(weights)
    assert loaded.head.gated
    l_norm = np.random.default_rng(3).uniform(-1, 1, (1, 1, 64, 96)).astype(np.float32)
    with torch.inference_mode():
        gated = loaded(torch.from_numpy(l_norm)).numpy()
        loaded.set_decoding(0.5, None)
        plain = loaded(torch.from_numpy(l_norm)).numpy()
    got = OnnxBackend(weights.with_suffix(".onnx")).predict(l_norm)
    assert np.abs(got - gated).max() < AGREEMENT
    # an untrained model is unsure everywhere: the gate takes most of its chroma away
    assert np.abs(gated).mean() < 0.5 * np.abs(plain).mean()


def test_the_confidence_output(onnx_file: Path, torch_model) -> None:
    """A bins model's ONNX file has the confidence beside ab, equal to torch's; asking for ab
    alone runs the same file."""
    import onnx
    import torch

    from autocolor.infer.onnx_backend import OnnxBackend

    names = [output.name for output in onnx.load(str(onnx_file)).graph.output]
    assert names == ["ab_norm", "confidence"]
    backend = OnnxBackend(onnx_file)
    assert backend.has_confidence
    l_norm = np.random.default_rng(5).uniform(-1, 1, (2, 1, 64, 96)).astype(np.float32)
    ab, confidence = backend.predict_confidence(l_norm)
    with torch.inference_mode():
        expected_ab, expected = torch_model.forward_confidence(torch.from_numpy(l_norm))
    assert confidence.shape == (2, 1, 64, 96)
    assert np.abs(confidence - expected.numpy()).max() < AGREEMENT
    assert np.abs(ab - expected_ab.numpy()).max() < AGREEMENT
    assert np.array_equal(ab, backend.predict(l_norm))



def test_optimized_graphs_are_kept_between_processes(onnx_file: Path, tmp_path: Path,
                                                     monkeypatch) -> None:
    """The first session writes its optimized graph whole (a rename), later ones load it with
    optimization off and compute the same; a damaged file is rebuilt; at most four are kept;
    AUTOCOLOR_ORT_CACHE=0 keeps none."""
    from autocolor.infer import onnx_backend

    monkeypatch.setenv("AUTOCOLOR_ORT_CACHE", str(tmp_path / "ort"))
    l_norm = np.random.default_rng(7).uniform(-1, 1, (1, 1, 64, 96)).astype(np.float32)
    first = onnx_backend.OnnxBackend(onnx_file, cache=False)
    [written] = list((tmp_path / "ort").iterdir())
    assert written.suffix == ".onnx" and not written.name.startswith(".")
    again = onnx_backend.OnnxBackend(onnx_file, cache=False)  # from the optimized graph
    assert np.array_equal(again.predict(l_norm), first.predict(l_norm))
    assert again.predict_confidence(l_norm)[1].shape == (1, 1, 64, 96)
    written.write_bytes(b"not a graph")
    rebuilt = onnx_backend.OnnxBackend(onnx_file, cache=False)
    assert np.array_equal(rebuilt.predict(l_norm), first.predict(l_norm))
    assert written.stat().st_size > 1000
    for index in range(6):
        (tmp_path / "ort" / f"old{index}.onnx").write_bytes(b"x")
    onnx_backend._trim_cache(tmp_path / "ort")
    assert len(list((tmp_path / "ort").glob("*.onnx"))) == 4
    monkeypatch.setenv("AUTOCOLOR_ORT_CACHE", "0")
    assert onnx_backend.optimized_cache_dir() is None
