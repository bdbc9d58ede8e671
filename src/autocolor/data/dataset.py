"""Torch datasets over a training cache (see :mod:`autocolor.data.cache`).

Training samples are random resized crops with horizontal flips, as uint8 RGB; the Lab
conversion happens batched on the training device (cheaper there than per sample in workers).
No colour augmentation: jittering hue or saturation would teach the model wrong colours.

With ``degrade_share`` > 0, a crop is two images stacked on the channel axis, (6, S, S): the
clean crop (whose ab is the target) and the input, which for that share of the crops is an
old-print copy (:func:`autocolor.degrade.degrade`: faded, toned, soft, grainy, JPEG'd, dusty,
scratched), so the model learns to see through damage to the colours of the clean photo.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from autocolor.data.cache import CacheRecord, read_manifest
from autocolor.infer.pipeline import render_shape


def records_for(cache_dir: str | Path, split: str | tuple[str, ...]) -> list[CacheRecord]:
    """The cache's photos of ``split`` (or of any of several splits)."""
    splits = (split,) if isinstance(split, str) else tuple(split)
    records = [r for r in read_manifest(cache_dir) if r.split in splits]
    if not records:
        raise ValueError(f"{cache_dir}: no photos in split {' or '.join(map(repr, splits))}")
    return records


def random_resized_crop(image: Image.Image, size: int, rng: random.Random,
                        scale: tuple[float, float], ratio: tuple[float, float] = (3 / 4, 4 / 3),
                        ) -> Image.Image:
    """Crop a random area fraction in ``scale`` with aspect in ``ratio``, resize to size x size."""
    width, height = image.size
    area = width * height
    for _ in range(10):
        target = area * rng.uniform(*scale)
        aspect = math.exp(rng.uniform(math.log(ratio[0]), math.log(ratio[1])))
        crop_w = int(round(math.sqrt(target * aspect)))
        crop_h = int(round(math.sqrt(target / aspect)))
        if 0 < crop_w <= width and 0 < crop_h <= height:
            left = rng.randint(0, width - crop_w)
            top = rng.randint(0, height - crop_h)
            box = (left, top, left + crop_w, top + crop_h)
            return image.resize((size, size), Image.Resampling.BILINEAR, box=box, reducing_gap=3.0)
    side = min(width, height)  # fallback: centre square
    box = ((width - side) // 2, (height - side) // 2, (width + side) // 2, (height + side) // 2)
    return image.resize((size, size), Image.Resampling.BILINEAR, box=box)


class CropDataset(torch.utils.data.Dataset):
    """Random crops of the training split; ``samples_per_epoch`` decouples epoch length from the
    number of photos (a 40-photo corpus still gives a meaningful epoch of many crops)."""

    def __init__(self, cache_dir: str | Path, size: int, samples_per_epoch: int,
                 scale: tuple[float, float] = (0.15, 1.0),
                 split: str | tuple[str, ...] = "train",
                 seed: int = 0, keep_decoded: bool = False, degrade_share: float = 0.0,
                 degrade_preset: str = "default") -> None:
        if not 0.0 <= degrade_share <= 1.0:
            raise ValueError(f"degrade_share must be in [0, 1], got {degrade_share}")
        self.degrade_share = degrade_share
        self.degrade_config = None
        if degrade_share > 0:
            from autocolor.degrade import PRESETS

            if degrade_preset not in PRESETS:
                raise ValueError(f"unknown degradation preset {degrade_preset!r}; available: "
                                 f"{', '.join(PRESETS)}")
            self.degrade_config = PRESETS[degrade_preset]
        self.cache_dir = Path(cache_dir)
        self.records = records_for(cache_dir, split)
        self.size = size
        self.samples_per_epoch = samples_per_epoch
        self.scale = scale
        self.seed = seed
        # Decoding dominates the cost of a crop; small corpora can keep decoded photos in each
        # worker (memory: photos x pixels x 3 bytes per worker).
        self.keep_decoded = keep_decoded
        self._decoded: dict[str, Image.Image] = {}

    def _open(self, record: CacheRecord) -> Image.Image:
        image = self._decoded.get(record.file)
        if image is None:
            with Image.open(self.cache_dir / record.file) as opened:
                image = opened.convert("RGB")
            if self.keep_decoded:
                self._decoded[record.file] = image
        return image

    def __len__(self) -> int:
        return self.samples_per_epoch

    def __getitem__(self, index: int) -> torch.Tensor:
        # ``index`` is global over epochs (see EpochSampler): reproducible, new every epoch, and
        # correct with persistent workers, whose copies of the dataset never see an epoch counter.
        rng = random.Random(hash((self.seed, index)))
        record = self.records[rng.randrange(len(self.records))]
        crop = random_resized_crop(self._open(record), self.size, rng, self.scale)
        if rng.random() < 0.5:
            crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        clean = np.asarray(crop)
        if self.degrade_config is None:
            return torch.from_numpy(clean.copy()).permute(2, 0, 1)  # (3,S,S) uint8
        model_input = clean
        if rng.random() < self.degrade_share:  # the same draw, whatever the share, per index
            from autocolor.degrade import degrade

            model_input = degrade(clean, seed=rng.getrandbits(63),
                                  config=self.degrade_config).rgb
        pair = np.concatenate([clean, model_input], axis=2)  # (S,S,6): target, input
        return torch.from_numpy(pair).permute(2, 0, 1)  # (6,S,S) uint8


class EpochSampler(torch.utils.data.Sampler[int]):
    """Yields sample indices epoch * n ... (epoch + 1) * n - 1, so each epoch draws new crops.

    With several training processes (torchrun), process ``rank`` of ``world_size`` takes every
    ``world_size``-th index from ``rank`` on, n // world_size of them (all take as many, or
    they would fall out of step): step s of the N processes together draws the indices of step
    s of one process with an N times larger batch.
    """

    def __init__(self, samples_per_epoch: int, rank: int = 0, world_size: int = 1) -> None:
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not in 0..{world_size - 1}")
        self.samples_per_epoch = samples_per_epoch
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0

    def __len__(self) -> int:
        return self.samples_per_epoch // self.world_size

    def __iter__(self):
        start = self.epoch * self.samples_per_epoch
        stop = start + len(self) * self.world_size
        return iter(range(start + self.rank, stop, self.world_size))


class ValidationDataset(torch.utils.data.Dataset):
    """Whole validation photos resized so the long side is ``render_size`` (sides multiple of 32),
    as inference sees them. Batch size 1 (shapes differ)."""

    def __init__(self, cache_dir: str | Path, render_size: int, split: str = "val") -> None:
        self.cache_dir = Path(cache_dir)
        self.records = records_for(cache_dir, split)
        self.render_size = render_size

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> torch.Tensor:
        with Image.open(self.cache_dir / self.records[index].file) as opened:
            rgb = opened.convert("RGB")
        height, width = render_shape(rgb.height, rgb.width, self.render_size)
        rgb = rgb.resize((width, height), Image.Resampling.BILINEAR, reducing_gap=3.0)
        return torch.from_numpy(np.asarray(rgb).copy()).permute(2, 0, 1)  # (3,h,w) uint8
