"""autocolor.weights: safetensors round trip, fp16 storage, metadata, resolving, no pickle."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from autocolor import weights
from autocolor.models import create_model
from autocolor.weights import (
    decode_metadata,
    encode_metadata,
    load_model,
    read_metadata,
    resolve_weights,
    save_weights,
)

RECIPE = {"model": "lite0-unet", "crop_size": 64, "crop_scale": [0.15, 1.0], "lr": 0.001,
          "encoder_weights": None, "model_kwargs": {"head": "regression"}}
METADATA = {
    "architecture": "lite0-unet",
    "model_kwargs": {"head": "regression"},
    "render_size": 96,
    "recipe": RECIPE,
    "data_manifest_sha256": "ab" * 32,
    "metrics": {"val_psnr": 23.5},
}


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    model = create_model("lite0-unet", head="regression")
    with torch.no_grad():  # BatchNorm statistics that are not the init values
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.1, 0.1)
                module.running_var.uniform_(0.8, 1.2)
    return model.eval()


@pytest.fixture(scope="module")
def saved(model, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_weights(model, tmp_path_factory.mktemp("w") / "sub" / "model.safetensors", METADATA)


def test_tensors_are_stored_as_float16(saved: Path, model) -> None:
    with safe_open(str(saved), framework="pt") as handle:
        keys = set(handle.keys())
        dtypes = {handle.get_tensor(key).dtype for key in keys}
        tracked = handle.get_tensor("encoder._bn0.num_batches_tracked")
    assert keys == set(model.state_dict())
    assert torch.float32 not in dtypes and torch.float16 in dtypes
    assert tracked.dtype == torch.int64  # integers are not halved


def test_load_reproduces_the_model(saved: Path, model) -> None:
    loaded, metadata = load_model(saved)
    assert not loaded.training
    assert type(loaded) is type(model) and loaded.head_type == "regression"
    original_state = model.state_dict()
    for key, value in loaded.state_dict().items():
        expected = original_state[key]
        if expected.is_floating_point():
            assert value.dtype == torch.float32
            expected = expected.half().float()  # exactly what fp16 storage keeps
        assert torch.equal(value, expected), key
    l_norm = torch.rand(1, 1, 64, 96, generator=torch.Generator().manual_seed(1)) * 2 - 1
    with torch.no_grad():
        reference, output = model(l_norm), loaded(l_norm)
    assert reference.abs().max() > 0.02  # not a trivially constant output
    # fp16 keeps about 3 significant digits per weight; the output moves far less than 1/255.
    torch.testing.assert_close(output, reference, atol=5e-4, rtol=0)
    assert not torch.equal(output, reference)  # it really was stored in half precision


def test_full_precision_is_exact(model, tmp_path: Path) -> None:
    path = save_weights(model, tmp_path / "fp32.safetensors", METADATA, half=False)
    loaded, _ = load_model(path)
    for key, value in loaded.state_dict().items():
        assert torch.equal(value, model.state_dict()[key]), key


def test_metadata_round_trip(saved: Path) -> None:
    metadata = read_metadata(saved)
    assert metadata["architecture"] == "lite0-unet"
    assert metadata["model_kwargs"] == {"head": "regression"}
    assert metadata["render_size"] == 96 and isinstance(metadata["render_size"], int)
    assert metadata["recipe"] == RECIPE
    assert metadata["normalization"] == {"L_SCALE": 50.0, "L_SHIFT": 1.0, "AB_SCALE": 128.0}
    assert metadata["data_manifest_sha256"] == "ab" * 32
    assert metadata["metrics"] == {"val_psnr": 23.5}
    commit = metadata["git_commit"].removesuffix("+dirty")
    assert commit == "unknown" or (len(commit) == 40 and all(c in "0123456789abcdef" for c in commit))
    assert load_model(saved)[1] == metadata


def test_raw_metadata_is_strings_with_json(saved: Path) -> None:
    with safe_open(str(saved), framework="numpy") as handle:
        raw = handle.metadata()
    assert all(isinstance(value, str) for value in raw.values())
    assert json.loads(raw["recipe"]) == RECIPE
    assert raw["render_size"] == "96"


def test_encode_decode_metadata() -> None:
    encoded = encode_metadata(METADATA)
    assert decode_metadata(encoded) == METADATA
    assert decode_metadata(None) == {}


def test_architecture_defaults_to_the_model(model, tmp_path: Path) -> None:
    path = save_weights(model, tmp_path / "m.safetensors", {"render_size": 64})
    assert read_metadata(path)["architecture"] == "lite0-unet"


def test_save_is_atomic(model, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "m.safetensors"
    target.write_bytes(b"previous")

    def failing_save_file(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("safetensors.torch.save_file", failing_save_file)
    with pytest.raises(OSError, match="disk full"):
        save_weights(model, target, METADATA)
    assert target.read_bytes() == b"previous"
    assert sorted(os.listdir(tmp_path)) == ["m.safetensors"]


def test_read_metadata_reads_no_tensors_and_no_torch(saved: Path) -> None:
    code = ("import sys; from autocolor.weights import read_metadata; "
            f"m = read_metadata({str(saved)!r}); "
            "assert m['architecture'] == 'lite0-unet', m; "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_resolve_weights(saved: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_weights(saved) == saved
    assert resolve_weights(str(saved)) == saved
    packaged = tmp_path / "packaged"
    packaged.mkdir()
    (packaged / "mine.safetensors").write_bytes(saved.read_bytes())
    monkeypatch.setattr(weights, "PACKAGE_WEIGHTS_DIR", packaged)
    assert resolve_weights("mine") == packaged / "mine.safetensors"
    assert weights.installed_weights() == ["mine"]
    with pytest.raises(FileNotFoundError, match="'no-such-model'") as error:
        resolve_weights("no-such-model")
    assert "installed: mine" in str(error.value)
    with pytest.raises(FileNotFoundError):
        resolve_weights(tmp_path / "missing.safetensors")
    with pytest.raises(FileNotFoundError, match="installed: none"):
        monkeypatch.setattr(weights, "PACKAGE_WEIGHTS_DIR", tmp_path / "empty")
        resolve_weights("default")


def test_load_requires_architecture(tmp_path: Path) -> None:
    path = tmp_path / "plain.safetensors"
    save_file({"x": torch.zeros(2)}, str(path), metadata={"render_size": "64"})
    with pytest.raises(ValueError, match="architecture"):
        load_model(path)


def test_load_is_strict(model, tmp_path: Path) -> None:
    # Regression-head weights described as a bins model: keys differ, loading must fail.
    path = save_weights(model, tmp_path / "m.safetensors",
                        {**METADATA, "model_kwargs": {"head": "bins"}})
    with pytest.raises(RuntimeError, match="state_dict"):
        load_model(path)


class _Sneaky:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))  # unpickling creates the marker file


def test_load_never_unpickles(tmp_path: Path) -> None:
    marker = tmp_path / "unpickled"
    for name in ("pickle.safetensors", "pickle.pt"):
        path = tmp_path / name
        path.write_bytes(pickle.dumps({"weights": _Sneaky(str(marker))}))
        with pytest.raises(Exception):  # noqa: B017 - safetensors' own error type
            load_model(path)
        with pytest.raises(Exception):  # noqa: B017
            read_metadata(path)
    assert not marker.exists()
    # The payload does work when unpickled, so the check above is meaningful.
    pickle.loads((tmp_path / "pickle.pt").read_bytes())
    assert marker.exists()


def test_git_commit_marks_uncommitted_changes(tmp_path: Path) -> None:
    import subprocess

    from autocolor.weights import git_commit

    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path,
                       check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "a.txt").write_text("one\n")
    git("add", "a.txt")
    git("commit", "-q", "-m", "first")
    clean = git_commit(tmp_path)
    assert len(clean) == 40 and "+" not in clean
    (tmp_path / "untracked.txt").write_text("ignored\n")  # untracked files do not count
    assert git_commit(tmp_path) == clean
    (tmp_path / "a.txt").write_text("two\n")
    assert git_commit(tmp_path) == clean + "+dirty"
    assert git_commit(tmp_path / "missing") == "unknown"
