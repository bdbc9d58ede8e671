"""One model from several training runs: their decoder members joined over the shared encoder.

A recipe with ``seeds`` (say ``(0, 1)``) trains one run per seed, each in ``OUT/seed-N`` with
its own checkpoint (so each resumes on its own), every one the recipe's design but its seed.
Their encoders are the same frozen ImageNet weights, so the runs differ only in their decoders:
:func:`join_members` puts all the decoders into one model whose encoder runs once (a deep
ensemble at the cost of its decoders). The decoding (render size, temperature) is then chosen
on the validation photos for the joined model, as for a single run (:mod:`.decoding`).

Why: on the out-of-source validation photos two seeds of the default recipe differ by 0.2 dB
on clean photos and 0.4 dB on old prints; joined, they beat their mean on every accuracy
figure, and at a 256 px render the six decoders cost less than three did at 384
(docs/recipes.md, section 0).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, cast

import torch

from autocolor.models import create_model
from autocolor.models.base import ColorizationModel
from autocolor.train import distributed
from autocolor.train.config import TrainConfig
from autocolor.weights import load_model

MEMBER_PREFIX = "decoders."


def member_config(config: TrainConfig, seed: int) -> TrainConfig:
    """The run of one seed: the recipe as it is, in OUT/seed-N, with no decoding of its own
    (the joined model's is chosen once)."""
    out = str(Path(config.out) / f"seed-{seed}")
    return dataclasses.replace(config, seed=seed, seeds=(), out=out, temperatures=(),
                               render_sizes=())


def join_members(models: list[ColorizationModel]) -> ColorizationModel:
    """Models of one design whose only differences are their decoder members -> one model
    holding every member, in order (the first model's encoder).

    Raises:
        ValueError: fewer than two models, a model without members, or weights outside the
            decoders that differ (an encoder trained rather than kept frozen).
    """
    if len(models) < 2:
        raise ValueError(f"joining needs at least two models, got {len(models)}")
    counts = [len(getattr(model, "members", ())) for model in models]
    if 0 in counts:
        raise ValueError("only models with decoder members (lite*-unet) can be joined")
    states = [model.state_dict() for model in models]
    joined: dict[str, torch.Tensor] = {}
    offset = 0
    for state, count in zip(states, counts, strict=True):
        for key, value in state.items():
            if key.startswith(MEMBER_PREFIX):
                index, rest = key[len(MEMBER_PREFIX):].split(".", 1)
                joined[f"{MEMBER_PREFIX}{int(index) + offset}.{rest}"] = value
            elif key not in joined:
                joined[key] = value
            elif not torch.equal(joined[key], value):
                raise ValueError(f"the runs differ outside their decoders ({key}): only runs "
                                 "that kept the encoder frozen can be joined")
        offset += count
    first = models[0]
    model = create_model(first.architecture, pretrained=False,
                         **{**first.model_kwargs, "members": offset})
    model.load_state_dict(joined, strict=True)
    return model.eval()


def train_ensemble(config: TrainConfig, resume: bool = True,
                   stop_after: int | None = None) -> Path:
    """Train (or resume) every seed's run, join them, choose the decoding; returns
    OUT/final.safetensors (on process 0; under torchrun the others return the path too)."""
    from autocolor.train.loop import decode_and_save, pick_device, train

    paths = [train(member_config(config, seed), resume=resume, stop_after=stop_after)
             for seed in config.seeds]
    world = distributed.setup(config.device)
    out = Path(config.out) / "final.safetensors"
    if stop_after is not None and stop_after < config.epochs:
        print(f"stopped after epoch {stop_after}; run again to resume, then join")
        return out
    if not world.is_main:
        return out  # process 0 joins
    models, seconds = [], 0.0
    for path in paths:
        model, metadata = load_model(path)
        models.append(model)
        seconds += float(metadata.get("train_seconds", 0))
    device = pick_device(config.device)
    joined = join_members(models).to(device)
    print(f"joined {len(paths)} runs (seeds {', '.join(map(str, config.seeds))}): "
          f"{len(cast(Any, joined).members)} decoder members over one encoder")
    return decode_and_save(joined, config, device, seconds,
                           {"joined_runs": [str(path) for path in paths]})
