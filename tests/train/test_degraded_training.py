"""Training on old-print copies: the dataset's degraded inputs, the loop's input/target split,
and the decoding scored on old prints too."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from autocolor.color.lab import rgb_to_model_io
from autocolor.data.dataset import CropDataset
from autocolor.train import loop
from autocolor.train.config import RECIPES, TrainConfig
from autocolor.train.decoding import DecodingScore, choose

TINY = dict(crop_size=64, samples_per_epoch=8, batch_size=4, epochs=1, workers=0,
            pretrained=False, render_size=64, device="cpu", grid_count=2)


def test_share_one_gives_a_damaged_input_beside_the_clean_target(cache: Path) -> None:
    clean_set = CropDataset(cache, 64, 16, seed=3)
    damaged_set = CropDataset(cache, 64, 16, seed=3, degrade_share=1.0)
    for index in range(4):
        clean, pair = clean_set[index], damaged_set[index]
        assert clean.shape == (3, 64, 64) and pair.shape == (6, 64, 64)
        assert torch.equal(pair[:3], clean), "the target is the same clean crop"
        assert not torch.equal(pair[3:], clean), "the input is damaged"
        assert torch.equal(pair, damaged_set[index]), "deterministic per index"


def test_share_picks_about_that_share_of_crops(cache: Path) -> None:
    dataset = CropDataset(cache, 32, 200, seed=0, degrade_share=0.5)
    damaged = sum(not torch.equal(dataset[i][:3], dataset[i][3:]) for i in range(200))
    assert 70 <= damaged <= 130


def test_bad_share_or_preset_is_refused(cache: Path) -> None:
    with pytest.raises(ValueError, match="degrade_share"):
        CropDataset(cache, 64, 8, degrade_share=1.5)
    with pytest.raises(ValueError, match="unknown degradation preset"):
        CropDataset(cache, 64, 8, degrade_share=0.5, degrade_preset="nope")


def test_crop_model_io_takes_lightness_from_the_input_and_ab_from_the_target() -> None:
    generator = torch.Generator().manual_seed(0)
    clean = torch.randint(0, 256, (2, 3, 16, 16), dtype=torch.uint8, generator=generator)
    damaged = torch.randint(0, 256, (2, 3, 16, 16), dtype=torch.uint8, generator=generator)
    l_norm, ab_norm = loop.crop_model_io(torch.cat([clean, damaged], 1))
    expected_l, _ = rgb_to_model_io(damaged.float() / 255)
    _, expected_ab = rgb_to_model_io(clean.float() / 255)
    assert torch.equal(l_norm, expected_l) and torch.equal(ab_norm, expected_ab)
    l_plain, ab_plain = loop.crop_model_io(clean)
    assert torch.equal(ab_plain, expected_ab) and not torch.equal(l_plain, expected_l)


def test_a_run_on_degraded_crops_scores_old_prints_when_choosing(cache: Path,
                                                                  tmp_path: Path) -> None:
    config = TrainConfig(data=str(cache), out=str(tmp_path), temperatures=(0.5, 0.3),
                         gates=(None,), degrade_share=0.5, decode_degraded="eval",
                         **{**TINY, "epochs": 1})
    loop.train(config)
    with open(tmp_path / "decoding.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2 and rows[0]["old_cf_ratio"] not in ("", "None")
    assert np.isfinite(float(rows[0]["old_psnr_delta"]))


def test_the_decoding_sweep_chooses_the_render_size_and_records_it(cache: Path,
                                                                 tmp_path: Path) -> None:
    """render_sizes: every size x temperature is scored; the chosen size is the weights'."""
    from autocolor.weights import read_metadata

    config = TrainConfig(data=str(cache), out=str(tmp_path), temperatures=(0.5, 0.3),
                         gates=(None,), render_sizes=(64, 96), **{**TINY, "epochs": 1})
    weights = loop.train(config)
    with open(tmp_path / "decoding.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted((r["render_size"], r["temperature"]) for r in rows) == [
        ("64", "0.3"), ("64", "0.5"), ("96", "0.3"), ("96", "0.5")]
    [chosen] = [r for r in rows if r["chosen"] == "True"]
    assert read_metadata(weights)["render_size"] == int(chosen["render_size"])
    assert TrainConfig.from_dict(read_metadata(weights)["recipe"]).render_sizes == (64, 96)


def test_learning_from_held_out_splits_with_the_decoding_fixed(cache: Path,
                                                               tmp_path: Path) -> None:
    """train_splits takes crops from several splits; one temperature and one gate are the
    recipe's fixed choice: set, not scored (no decoding.csv), and saved in the weights."""
    from autocolor.weights import read_metadata

    both = CropDataset(cache, 32, 8, split=("train", "val"))
    assert len(both.records) == 6 and len(CropDataset(cache, 32, 8).records) == 4
    with pytest.raises(ValueError, match="no photos in split 'test' or 'nope'"):
        CropDataset(cache, 32, 8, split=("test", "nope"))
    config = TrainConfig(data=str(cache), out=str(tmp_path), temperatures=(0.3,),
                         gates=(None,), train_splits=("train", "val"), **{**TINY, "epochs": 1})
    weights = loop.train(config)
    assert not (tmp_path / "decoding.csv").exists()
    metadata = read_metadata(weights)
    assert metadata["model_kwargs"]["temperature"] == pytest.approx(0.3, abs=1e-3)
    assert metadata["recipe"]["train_splits"] == ["train", "val"]
    assert TrainConfig.from_dict(metadata["recipe"]).train_splits == ("train", "val")


def _score(t: float, cf: float, old_cf: float | None, psnr: float, old_psnr: float,
           below: int = 0) -> DecodingScore:
    return DecodingScore(t, None, psnr, -1.0, 0.01, cf, below, 10, old_psnr, -1.0, old_cf, 3.0)


def test_choose_asks_both_floors_then_the_sum_of_gains() -> None:
    vivid_but_dull_old = _score(0.2, 0.9, 0.5, 2.0, 1.5)
    both = _score(0.3, 0.8, 0.7, 1.8, 1.0)
    both_better_old = _score(0.4, 0.78, 0.66, 1.7, 1.2)
    scores = [vivid_but_dull_old, both, both_better_old]
    assert choose(scores, 0.75, 0.65) is both_better_old  # 2.9 > 2.8 summed
    assert choose(scores, 0.75, 0.0) is vivid_but_dull_old
    assert choose(scores, 0.95, 0.65) is vivid_but_dull_old  # none clears: the most colourful


def test_the_default_recipe_trains_on_old_prints() -> None:
    """default (the shipped model) chooses the decoding on held-out sources it never trains on;
    default-all, screened and not shipped, learns from them too with that choice fixed."""
    shipped = TrainConfig(**{k: v for k, v in RECIPES["default"].items()
                             if k not in ("model_kwargs",)})
    assert 0 < shipped.degrade_share < 1 and shipped.decode_degraded == "default"
    assert shipped.min_colorfulness_degraded > 0.55
    assert shipped.train_splits == ("train",)
    assert len(shipped.temperatures) * len(shipped.render_sizes) > 1  # a choice, not fixed
    everything = TrainConfig(**{k: v for k, v in RECIPES["default-all"].items()
                                if k not in ("model_kwargs",)})
    assert everything.train_splits == ("train", "val", "test-oos")
    assert "test" not in everything.train_splits
    assert everything.temperatures == (0.2,) and everything.gates == (None,)
    assert everything.render_sizes == (384,)  # the size it was screened at, not swept
    assert 384 in shipped.render_sizes and len(shipped.render_sizes) > 1
    decoding = ("train_splits", "temperatures", "gates", "render_sizes", "seeds")
    assert {k: v for k, v in RECIPES["default-all"].items() if k not in decoding} == \
        {k: v for k, v in RECIPES["default"].items() if k not in decoding}


def test_recipe_names_say_what_they_do(capsys) -> None:
    """A bare `autocolor train` runs the recipe called quick (TrainConfig's defaults, a lite0)
    and says so; own-photos is the bundled model's design for a user's cache."""
    import argparse

    from autocolor.train import cli

    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    args = parser.parse_args(["--data", "cache"])
    assert args.recipe == "quick"
    assert cli.config_from_args(args) == TrainConfig(data="cache")
    own = cli.config_from_args(parser.parse_args(["--data", "c", "--recipe", "own-photos"]))
    assert own.model == "lite2-unet" and own.train_splits == ("train",)
    assert own.degrade_share == RECIPES["default"]["degrade_share"]
