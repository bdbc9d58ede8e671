"""Runs of several seeds joined into one model (train/ensemble.py)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch

from autocolor.models import create_model
from autocolor.train import loop
from autocolor.train.config import TrainConfig
from autocolor.train.ensemble import join_members, member_config
from autocolor.weights import load_model, read_metadata


def _pair(members: int = 1) -> tuple[torch.nn.Module, torch.nn.Module]:
    """Two lite0-unets with one encoder and decoders of different seeds."""
    torch.manual_seed(0)
    first = create_model("lite0-unet", members=members, temperature=0.3).eval()
    torch.manual_seed(1)
    second = create_model("lite0-unet", members=members, temperature=0.3).eval()
    second.encoder.load_state_dict(first.encoder.state_dict())
    return first, second


def test_the_joined_model_averages_its_runs() -> None:
    """The members' annealed means and refinements are averaged, so two runs of one member
    each give the mean of their outputs."""
    first, second = _pair()
    joined = join_members([first, second])
    assert len(joined.members) == 2 and joined.model_kwargs["members"] == 2
    l_norm = torch.rand(1, 1, 64, 96) * 2 - 1
    with torch.no_grad():
        expected = 0.5 * (first(l_norm) + second(l_norm))
        assert torch.allclose(joined(l_norm), expected, atol=1e-5)
        assert not torch.allclose(first(l_norm), second(l_norm), atol=1e-3)


def test_members_keep_their_order_and_count() -> None:
    first, second = _pair(members=2)
    joined = join_members([first, second])
    assert len(joined.members) == 4
    state = joined.state_dict()
    for index, source in enumerate([*first.members, *second.members]):
        for key, value in source.state_dict().items():
            assert torch.equal(state[f"decoders.{index}.{key}"], value)


def test_runs_with_different_encoders_or_one_run_are_refused() -> None:
    first, second = _pair()
    with torch.no_grad():
        next(second.encoder.parameters()).add_(0.1)
    with pytest.raises(ValueError, match="differ outside their decoders"):
        join_members([first, second])
    with pytest.raises(ValueError, match="at least two"):
        join_members([first])


def test_a_recipe_with_seeds_trains_each_then_chooses_the_joined_models_decoding(
        cache: Path, tmp_path: Path) -> None:
    config = TrainConfig(data=str(cache), out=str(tmp_path), model="lite0-unet",
                         model_kwargs={"head": "bins", "members": 1}, pretrained=True,
                         freeze_encoder_epochs=99, crop_size=64, samples_per_epoch=8,
                         batch_size=4, epochs=1, workers=0, render_size=64, device="cpu",
                         grid_count=2, temperatures=(0.5, 0.3), gates=(None,), seeds=(0, 1))
    assert member_config(config, 1).out == str(tmp_path / "seed-1")
    weights = loop.train(config)
    for seed in (0, 1):
        assert (tmp_path / f"seed-{seed}" / "checkpoint.pt").is_file()
        assert not (tmp_path / f"seed-{seed}" / "decoding.csv").exists()
    with open(tmp_path / "decoding.csv", newline="") as handle:
        assert len(list(csv.DictReader(handle))) == 2  # the joined model's, once
    metadata = read_metadata(weights)
    assert metadata["model_kwargs"]["members"] == 2
    assert len(metadata["joined_runs"]) == 2
    model, _ = load_model(weights)
    assert len(model.members) == 2
    # Run again: every seed resumes from its finished checkpoint, nothing retrains.
    before = (tmp_path / "seed-0" / "checkpoint.pt").stat().st_mtime_ns
    loop.train(config)
    assert (tmp_path / "seed-0" / "checkpoint.pt").stat().st_mtime_ns == before


def test_a_seed_on_the_command_line_trains_that_seed_alone() -> None:
    import argparse

    from autocolor.train import cli

    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    assert cli.config_from_args(parser.parse_args(["--data", "c", "--recipe", "default"])
                                ).seeds == (0, 1)
    one = cli.config_from_args(parser.parse_args(["--data", "c", "--recipe", "default",
                                                  "--seed", "1"]))
    assert one.seeds == () and one.seed == 1
