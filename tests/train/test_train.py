"""Training: tiny end-to-end runs on a temporary cache, resuming, heads, recipes and config."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from autocolor.data.cache import (
    CACHE_MANIFEST,
    CacheRecord,
    read_manifest,
    sha256_file,
    write_manifest,
)
from autocolor.train import loop
from autocolor.train.config import RECIPES, TrainConfig, resolve_config
from autocolor.weights import load_model, read_metadata

TINY = dict(crop_size=64, samples_per_epoch=8, batch_size=4, epochs=2, workers=0,
            pretrained=False, render_size=64, device="cpu", grid_count=2)


def read_log(out: Path) -> list[dict[str, str]]:
    with open(out / "log.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return rows


@pytest.fixture(scope="module")
def bins_run(cache: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[TrainConfig, Path]:
    out = tmp_path_factory.mktemp("bins-run")
    config = TrainConfig(data=str(cache), out=str(out), temperatures=(1.0, 0.5),
                         gates=(None, (0.2, 0.5)), **TINY)
    weights = loop.train(config)
    return config, weights


def test_run_writes_log_grids_checkpoint_and_weights(bins_run, cache: Path) -> None:
    config, weights = bins_run
    out = Path(config.out)
    assert weights == out / "final.safetensors" and weights.is_file()
    rows = read_log(out)
    assert [row["epoch"] for row in rows] == ["1", "2"]
    assert [row["step"] for row in rows] == ["2", "4"]  # 8 samples / batch 4 per epoch
    assert list(rows[0]) == list(loop.LOG_FIELDS)
    for row in rows:
        assert np.isfinite(float(row["train_loss"])) and float(row["train_loss"]) > 0
        assert float(row["val_psnr"]) > 5 and float(row["val_cf_truth"]) > 0
    assert sorted(p.name for p in (out / "grids").iterdir()) == ["epoch001.png", "epoch002.png"]
    with Image.open(out / "grids" / "epoch001.png") as grid:
        assert grid.width == 960 and grid.height > 0
    checkpoint = torch.load(out / "checkpoint.pt", map_location="cpu", weights_only=True)
    assert checkpoint["epoch"] == 2 and checkpoint["step"] == 4
    assert set(checkpoint) >= {"model", "optimizer", "scheduler", "config"}
    assert json.loads((out / "config.json").read_text())["crop_size"] == 64
    with open(out / "decoding.csv", newline="") as handle:
        sweep = list(csv.DictReader(handle))
    assert [(float(row["temperature"]), row["gate"]) for row in sweep] == [
        (1.0, ""), (1.0, "(0.2, 0.5)"), (0.5, ""), (0.5, "(0.2, 0.5)")]
    assert [row["chosen"] for row in sweep].count("True") == 1
    assert not list(out.glob("*.tmp"))


def test_final_weights_metadata(bins_run, cache: Path) -> None:
    config, weights = bins_run
    metadata = read_metadata(weights)
    assert metadata["architecture"] == "lite0-unet"
    assert metadata["render_size"] == 64
    assert metadata["model_kwargs"]["head"] == "bins"
    assert metadata["model_kwargs"]["temperature"] in (1.0, 0.5)
    assert metadata["model_kwargs"]["gate"] in (None, [0.2, 0.5])
    assert metadata["data_manifest_sha256"] == sha256_file(cache / CACHE_MANIFEST)
    assert metadata["recipe"] == json.loads(json.dumps(config.to_dict()))
    assert TrainConfig.from_dict(metadata["recipe"]) == config
    assert "git_commit" in metadata and "trained_on" in metadata
    model, _ = load_model(weights)
    assert float(model.head.temperature) == metadata["model_kwargs"]["temperature"]
    assert model.head.gated == (metadata["model_kwargs"]["gate"] is not None)
    with torch.no_grad():
        assert model(torch.zeros(1, 1, 64, 96)).shape == (1, 2, 64, 96)


def test_resume_trains_only_the_missing_epochs(bins_run, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture) -> None:
    config, _ = bins_run
    out = Path(config.out)
    before = read_log(out)
    steps = []
    original_loss = loop.training_loss

    def counting_loss(*args, **kwargs):
        steps.append(1)
        return original_loss(*args, **kwargs)

    monkeypatch.setattr(loop, "training_loss", counting_loss)
    longer = TrainConfig.from_dict({**config.to_dict(), "epochs": 3, "temperatures": ()})
    loop.train(longer)
    assert "resumed from" in capsys.readouterr().out
    assert len(steps) == 2  # one epoch of 8 samples in batches of 4
    rows = read_log(out)
    assert len(rows) == 3
    assert rows[:2] == before
    assert rows[2]["epoch"] == "3" and rows[2]["step"] == "6"
    assert torch.load(out / "checkpoint.pt", weights_only=True)["epoch"] == 3
    assert (out / "grids" / "epoch003.png").is_file()
    assert read_metadata(out / "final.safetensors")["recipe"]["epochs"] == 3


def test_resume_false_starts_over(cache: Path, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    config = TrainConfig(data=str(cache), out=str(tmp_path), **{**TINY, "epochs": 1},
                         model_kwargs={"head": "regression"}, loss="l1", temperatures=())
    loop.train(config)
    assert len(read_log(tmp_path)) == 1
    loop.train(config)  # resumes: nothing left to train
    assert len(read_log(tmp_path)) == 1
    loop.train(config, resume=False)
    rows = read_log(tmp_path)
    assert [row["epoch"] for row in rows] == ["1"]  # rewritten, not appended


@pytest.mark.parametrize("loss", ["l1", "mse", "huber"])
def test_regression_losses(loss: str) -> None:
    torch.manual_seed(0)
    from autocolor.models import create_model

    model = create_model("lite0-unet", head="regression")
    config = TrainConfig(model_kwargs={"head": "regression"}, loss=loss)
    l_norm = torch.rand(2, 1, 64, 64) * 2 - 1
    prediction = model(l_norm).detach()
    assert loop.training_loss(model, config, l_norm, prediction, None).item() == pytest.approx(
        0.0, abs=1e-6)
    value = loop.training_loss(model, config, l_norm, prediction + 0.1, None)
    expected = {"l1": 0.1, "mse": 0.01, "huber": 0.1 - 0.05 / 2}[loss]
    assert value.item() == pytest.approx(expected, rel=1e-3)
    with pytest.raises(ValueError, match="unknown loss"):
        loop.training_loss(model, TrainConfig(loss="kl"), l_norm, prediction, None)


def test_a_two_member_ensemble_trains_and_loads(cache: Path, tmp_path: Path) -> None:
    config = TrainConfig(data=str(cache), out=str(tmp_path), temperatures=(0.5,), gates=(None,),
                         model_kwargs={"head": "bins", "members": 2},
                         **{**TINY, "epochs": 1})
    weights = loop.train(config)
    metadata = read_metadata(weights)
    assert metadata["model_kwargs"]["members"] == 2
    model, _ = load_model(weights)
    assert len(model.decoders) == 2
    first, second = (d.head.conv.weight for d in model.decoders)
    assert not torch.equal(first, second), "members start apart and stay apart"
    with torch.no_grad():
        assert model(torch.zeros(1, 1, 64, 96)).shape == (1, 2, 64, 96)


def test_regression_head_run(cache: Path, tmp_path: Path) -> None:
    config = resolve_config("unet-l1", {**TINY, "data": str(cache), "out": str(tmp_path),
                                        "epochs": 1})
    assert config.model_kwargs == {"head": "regression"} and config.loss == "l1"
    weights = loop.train(config)
    metadata = read_metadata(weights)
    assert metadata["model_kwargs"] == {"head": "regression"}
    assert metadata["recipe"]["loss"] == "l1"
    assert not (tmp_path / "decoding.csv").exists()
    model, _ = load_model(weights)
    assert model.head_type == "regression"


def test_seed_recipe(cache: Path, tmp_path: Path) -> None:
    config = resolve_config("seed", {})
    assert config.model == "seed-vgg19" and config.model_kwargs == {}
    assert (config.optimizer, config.loss, config.crop_size) == ("adam", "mse", 224)
    assert config.schedule == "constant" and config.pretrained is False
    tiny = resolve_config("seed", {**TINY, "data": str(cache), "out": str(tmp_path), "epochs": 1})
    assert tiny.crop_size == 64 and tiny.optimizer == "adam"
    weights = loop.train(tiny)
    metadata = read_metadata(weights)
    assert metadata["architecture"] == "seed-vgg19"
    assert metadata["recipe"]["optimizer"] == "adam" and metadata["recipe"]["loss"] == "mse"
    model, _ = load_model(weights)
    assert type(model).__name__ == "SeedVGG19"


def test_rebalanced_class_weights() -> None:
    crops = [torch.from_numpy(np.random.default_rng(i).integers(0, 256, (2, 3, 32, 32),
                                                                 dtype=np.uint8)) for i in range(3)]
    weights = loop.bin_prior_weights(crops, torch.device("cpu"), rebalance=0.5)
    assert weights.shape == (23 * 23,) and (weights > 0).all()
    # Rare bins weigh more than common ones; lambda = 1 would make every weight equal.
    assert weights.max() > 2 * weights.min()
    flat = loop.bin_prior_weights(crops, torch.device("cpu"), rebalance=1.0)
    torch.testing.assert_close(flat, torch.ones_like(flat), atol=1e-3, rtol=0)


def test_unknown_config_keys_raise() -> None:
    with pytest.raises(ValueError, match="unknown config keys: bogus, nope"):
        TrainConfig.from_dict({"nope": 1, "bogus": 2, "epochs": 3})
    with pytest.raises(ValueError, match="unknown config keys: lerning_rate"):
        resolve_config(None, {"lerning_rate": 0.1})
    with pytest.raises(ValueError, match="unknown recipe 'fast'"):
        resolve_config("fast", {})


def test_resolve_config_overrides() -> None:
    config = resolve_config("unet-mse", {"epochs": 7, "lr": None})
    assert config.epochs == 7 and config.lr == TrainConfig().lr  # None means "not given"
    assert config.loss == "mse"
    assert resolve_config(None, {}) == TrainConfig()
    for name, overrides in RECIPES.items():
        assert set(overrides) <= set(TrainConfig().to_dict()), name


def test_config_round_trip(tmp_path: Path) -> None:
    config = resolve_config("seed", {"epochs": 3})
    config.save(tmp_path / "config.json")
    loaded = TrainConfig.from_dict(json.loads((tmp_path / "config.json").read_text()))
    assert loaded == config
    assert isinstance(loaded.crop_scale, tuple) and isinstance(loaded.temperatures, tuple)


def test_not_a_cache(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a training cache"):
        loop.train(TrainConfig(data=str(tmp_path / "photos"), out=str(tmp_path / "out"), **TINY))


def test_metrics_helpers() -> None:
    gray = torch.full((1, 3, 8, 8), 0.5)
    assert loop.colorfulness(gray).item() == pytest.approx(0.0, abs=1e-4)
    red = torch.zeros(1, 3, 8, 8)
    red[:, 0] = 1.0
    # rg = 255 and yb = 127.5 everywhere: no spread, so 0.3 * the mean's length.
    assert loop.colorfulness(red).item() == pytest.approx(0.3 * np.hypot(255.0, 127.5), rel=1e-4)
    assert loop.psnr(gray, gray).item() == pytest.approx(100.0)  # clamped at mse 1e-10
    assert loop.psnr(gray, gray + 0.1).item() == pytest.approx(20.0, abs=0.2)


def test_cache_without_val_photos_validates_on_train(cache: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """A small own-photo folder can hash all its photos into train: the run still works."""
    only_train = tmp_path / "cache"
    only_train.mkdir()
    records = []
    for record in read_manifest(cache):
        (only_train / record.file).write_bytes((cache / record.file).read_bytes())
        records.append(CacheRecord(file=record.file, split="train", width=record.width,
                                   height=record.height, sha256=record.sha256))
    write_manifest(only_train, records)
    config = TrainConfig(data=str(only_train), out=str(tmp_path / "run"), temperatures=(),
                         **{**TINY, "epochs": 1})
    assert loop.train(config).is_file()
    assert "no validation photos" in capsys.readouterr().out
    assert len(read_log(tmp_path / "run")) == 1


def test_stop_after_ends_early_and_a_second_call_finishes(cache: Path, tmp_path: Path) -> None:
    """``make train-default`` replays a schedule change with --stop-after, then a resume."""
    config = TrainConfig(data=str(cache), out=str(tmp_path), temperatures=(), **{**TINY, "epochs": 3})
    loop.train(config, stop_after=1)
    assert len(read_log(tmp_path)) == 1
    state = torch.load(tmp_path / loop.CHECKPOINT, weights_only=True)
    assert state["epoch"] == 1
    loop.train(config)
    assert [row["epoch"] for row in read_log(tmp_path)] == ["1", "2", "3"]
