"""The training loop, top to bottom: setup, data, model, then epochs of train/validate/save.

Resuming: everything needed to continue (model, optimizer, scheduler, epoch, config) is in
``OUT/checkpoint.pt``, written atomically after every epoch and loaded with
``weights_only=True`` (tensors and plain containers only, nothing unpickled beyond that).

Under ``torchrun`` every process runs this loop on its share of the crops; process 0 alone
validates and writes (:mod:`autocolor.train.distributed`). One run at a time holds OUT
(:mod:`autocolor.train.lock`).
"""

from __future__ import annotations

import csv
import math
import os
import random
import time
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from tqdm import tqdm

from autocolor.atomic import atomic_write
from autocolor.color.constants import AB_SCALE
from autocolor.color.lab import model_io_to_rgb, rgb_to_model_io
from autocolor.data.dataset import CropDataset, EpochSampler, ValidationDataset
from autocolor.models import create_model
from autocolor.models.base import ColorizationModel
from autocolor.models.heads import BinsHead, ab_bin_centers, soft_encode_ab
from autocolor.train import distributed
from autocolor.train.config import TrainConfig
from autocolor.train.decoding import tune_decoding
from autocolor.weights import save_weights

CHECKPOINT = "checkpoint.pt"
LOG_FIELDS = ("epoch", "step", "seconds", "lr", "train_loss", "val_psnr", "val_psnr_gray",
              "val_cf", "val_cf_truth", "val_ab_l1")


# -- small pieces the loop uses --------------------------------------------------------------

def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def colorfulness(rgb: torch.Tensor) -> torch.Tensor:
    """Hasler-Suesstrunk colourfulness of (B,3,H,W) RGB in [0,1], on the 0..255 scale -> (B,)."""
    rgb = rgb * 255.0
    rg = (rgb[:, 0] - rgb[:, 1]).abs()
    yb = (0.5 * (rgb[:, 0] + rgb[:, 1]) - rgb[:, 2]).abs()
    std = torch.sqrt(rg.flatten(1).var(1, unbiased=False) + yb.flatten(1).var(1, unbiased=False))
    mean = torch.sqrt(rg.flatten(1).mean(1) ** 2 + yb.flatten(1).mean(1) ** 2)
    return std + 0.3 * mean


def psnr(prediction: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """PSNR in dB of (B,3,H,W) RGB in [0,1], quantized to 8 bits like saved files -> (B,)."""
    prediction = (prediction * 255).round() / 255
    truth = (truth * 255).round() / 255
    mse = ((prediction - truth) ** 2).flatten(1).mean(1).clamp_min(1e-10)
    return -10.0 * torch.log10(mse)


def crop_model_io(crops: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch of crops, (B,3,S,S) uint8 RGB or (B,6,S,S) target and input (old-print copies,
    see data/dataset.py) -> the model's input L_norm (B,1,S,S) and target ab_norm (B,2,S,S)."""
    rgb = crops[:, :3].float() / 255.0
    l_norm, ab_norm = rgb_to_model_io(rgb)
    if crops.shape[1] == 6:  # the input's lightness is the damaged copy's
        l_norm, _ = rgb_to_model_io(crops[:, 3:].float() / 255.0)
    return l_norm, ab_norm


def bin_prior_weights(loader, device: torch.device, rebalance: float, batches: int = 8
                      ) -> torch.Tensor:
    """Zhang et al.'s class rebalancing: w ~ 1 / ((1 - lambda) p_smoothed + lambda / Q),
    normalized so the expected weight under the empirical prior is 1. -> (Q,)."""
    counts = torch.zeros(ab_bin_centers().shape[0], device=device)
    for index, crops in enumerate(loader):
        if index >= batches:
            break
        _, ab = rgb_to_model_io(crops[:, :3].to(device).float() / 255.0)
        indices, weights = soft_encode_ab(ab)
        counts.scatter_add_(0, indices.flatten(), weights.flatten())
    grid = smoothed_bin_prior(counts)
    weights = 1.0 / ((1.0 - rebalance) * grid + rebalance / grid.numel())
    return weights / (weights * grid).sum()


def smoothed_bin_prior(counts: torch.Tensor) -> torch.Tensor:
    """(Q,) counts over the ab bin grid -> (Q,) the prior they give, lightly smoothed over
    neighbouring bins (a [1/4, 1/2, 1/4] kernel along a and along b, zeros beyond the grid)."""
    prior = counts / counts.sum()
    side = int(math.isqrt(prior.numel()))
    kernel = torch.tensor([0.25, 0.5, 0.25], dtype=prior.dtype, device=prior.device)
    grid = prior.view(1, 1, side, side)
    grid = F.conv2d(grid, kernel.view(1, 1, 3, 1), padding=(1, 0))
    return F.conv2d(grid, kernel.view(1, 1, 1, 3), padding=(0, 1)).flatten()


def training_loss(model: torch.nn.Module, config: TrainConfig, l_norm: torch.Tensor,
                  ab_norm: torch.Tensor, class_weights: torch.Tensor | None) -> torch.Tensor:
    if config.loss == "ce":
        logits, refined = cast(Any, model).bins_outputs(l_norm)  # a model, or its DDP wrapper  # (K*B,Q,H/s,W/s), (K*B,2,H/2,W/2)|None
        members = logits.shape[0] // ab_norm.shape[0]  # an ensemble's members, batch-stacked
        if members > 1:  # every member learns the same target
            ab_norm = ab_norm.repeat(members, 1, 1, 1)
        stride = l_norm.shape[-1] // logits.shape[-1]
        target = F.avg_pool2d(ab_norm, stride)  # (B,2,h,w): the target at the logits' stride
        indices, weights = soft_encode_ab(target)  # (B,4,h,w) each
        log_probabilities = torch.log_softmax(logits.float(), dim=1)
        per_pixel = -(log_probabilities.gather(1, indices) * weights).sum(1)  # (B,h,w)
        if class_weights is not None:
            nearest = indices.gather(1, weights.argmax(1, keepdim=True)).squeeze(1)
            per_pixel = per_pixel * class_weights[nearest]
        if refined is None:  # no refinement (head at stride 2, or refine=False)
            return per_pixel.mean()
        # The stride-2 refinement regresses ab; it sees the decoded bins detached, so this term
        # trains only the refinement (and, through the stride-2 skip, the encoder).
        refine_target = F.avg_pool2d(ab_norm, l_norm.shape[-1] // refined.shape[-1])
        refine_loss = F.l1_loss(refined.float(), refine_target)
        return per_pixel.mean() + config.refine_loss_weight * refine_loss
    prediction = model(l_norm).float()  # (B,2,H,W)
    if config.loss == "l1":
        return F.l1_loss(prediction, ab_norm)
    if config.loss == "mse":
        return F.mse_loss(prediction, ab_norm)
    if config.loss == "huber":
        return F.smooth_l1_loss(prediction, ab_norm, beta=0.05)
    raise ValueError(f"unknown loss {config.loss!r}")


def make_optimizer(model: ColorizationModel, config: TrainConfig) -> torch.optim.Optimizer:
    encoder = {id(p) for p in model.encoder_parameters()}
    groups = [
        {"params": [p for p in model.parameters() if id(p) in encoder],
         "lr": config.lr * config.encoder_lr_scale},
        {"params": [p for p in model.parameters() if id(p) not in encoder], "lr": config.lr},
    ]
    if config.optimizer == "adam":
        return torch.optim.Adam(groups, weight_decay=config.weight_decay)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(groups, weight_decay=config.weight_decay)
    raise ValueError(f"unknown optimizer {config.optimizer!r}")


def make_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig, steps: int):
    if config.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=[g["lr"] for g in optimizer.param_groups], total_steps=steps,
            pct_start=0.1)
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    if config.schedule == "constant":
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    raise ValueError(f"unknown schedule {config.schedule!r}")


def set_encoder_trainable(model: ColorizationModel, trainable: bool, freeze_bn: bool) -> None:
    for parameter in model.encoder_parameters():
        parameter.requires_grad_(trainable)
    if freeze_bn or not trainable:
        model.encoder.eval()  # BatchNorm keeps its ImageNet statistics


@torch.no_grad()
def validate(model: torch.nn.Module, dataset: ValidationDataset, device: torch.device,
             grid_count: int) -> tuple[dict[str, float], list[np.ndarray]]:
    """Whole validation photos at the render size -> mean metrics, grid rows (gray|pred|truth)."""
    model.eval()
    sums: dict[str, float] = {}
    rows = []
    for index in range(len(dataset)):
        rgb = dataset[index][None].to(device).float() / 255.0  # (1,3,h,w)
        l_norm, ab_truth = rgb_to_model_io(rgb)
        ab_prediction = model(l_norm).float()
        prediction = model_io_to_rgb(l_norm, ab_prediction)
        gray = model_io_to_rgb(l_norm, torch.zeros_like(ab_truth))
        values = {
            "val_psnr": psnr(prediction, rgb).item(),
            "val_psnr_gray": psnr(gray, rgb).item(),
            "val_cf": colorfulness(prediction).item(),
            "val_cf_truth": colorfulness(rgb).item(),
            "val_ab_l1": (ab_prediction - ab_truth).abs().mean().item() * AB_SCALE,
        }
        for key, value in values.items():
            sums[key] = sums.get(key, 0.0) + value
        if index < grid_count:
            row = torch.cat([gray, prediction, rgb], dim=3)[0]  # (3,h,3w)
            rows.append((row.permute(1, 2, 0).cpu().numpy() * 255).round().astype(np.uint8))
    return {key: value / len(dataset) for key, value in sums.items()}, rows


def save_grid(rows: list[np.ndarray], path: Path, width: int = 960) -> None:
    """Stack gray | prediction | truth rows into one PNG, each row scaled to ``width``."""
    scaled = []
    for row in rows:
        height = round(row.shape[0] * width / row.shape[1])
        scaled.append(np.asarray(Image.fromarray(row).resize((width, height))))
    Image.fromarray(np.concatenate(scaled, axis=0)).save(path)


def atomic_torch_save(state: dict, path: Path) -> None:
    with atomic_write(path) as handle:
        torch.save(state, handle)


def validation_set(data_dir: Path, render_size: int) -> ValidationDataset:
    """The val split; a small own-photo folder may have none, and then a few training photos
    stand in (with a warning: such scores are optimistic) rather than the run failing."""
    try:
        return ValidationDataset(data_dir, render_size)
    except ValueError:
        print(f"warning: {data_dir} has no validation photos (too few photos for the hash split); "
              "validating on training photos, so the scores are optimistic")
        dataset = ValidationDataset(data_dir, render_size, split="train")
        dataset.records = dataset.records[:8]
        return dataset


# -- the loop ------------------------------------------------------------------------------

def train(config: TrainConfig, resume: bool = True, extra_metadata: dict | None = None,
          stop_after: int | None = None) -> Path:
    """Train per ``config``; returns the path of the final weights (OUT/final.safetensors).

    ``stop_after``: end this process after that epoch (the schedule still spans
    ``config.epochs``); a later call resumes from the checkpoint.

    Raises:
        RunFolderInUse: another run holds OUT (nothing was written).
    """
    world = distributed.setup(config.device)  # one process, or this one's place under torchrun
    with distributed.hold_run_folder(config.out, world):
        if config.seeds:  # a run per seed, then one model of their decoders
            from autocolor.train.ensemble import train_ensemble

            return train_ensemble(config, resume, stop_after)
        return _train(config, world, resume, extra_metadata, stop_after)


def _train(config: TrainConfig, world: distributed.World, resume: bool,
           extra_metadata: dict | None, stop_after: int | None) -> Path:
    # Phase 1: setup. Seeds for reproducibility; the resolved config saved beside the weights.
    out = Path(config.out)
    config.world_size = world.size
    if world.is_main:  # process 0 alone writes
        out.mkdir(parents=True, exist_ok=True)
        (out / "grids").mkdir(exist_ok=True)
        config.save(out / "config.json")
    random.seed(config.seed)
    torch.manual_seed(config.seed)
    device = pick_device(config.device)
    use_amp = config.amp and device.type == "cuda"
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True

    # Phase 2: data. Train crops come from worker processes; validation photos are whole.
    data_dir = Path(config.data)
    from autocolor.data.cache import is_cache

    if not is_cache(data_dir):
        raise ValueError(f"{data_dir} is not a training cache (no manifest.tsv); run "
                         f"'autocolor data prepare {data_dir} --out CACHE' first")
    train_set = CropDataset(data_dir, config.crop_size, config.samples_per_epoch,
                            config.crop_scale, split=config.train_splits, seed=config.seed,
                            keep_decoded=config.keep_decoded,
                            degrade_share=config.degrade_share,
                            degrade_preset=config.degrade_preset)
    sampler = EpochSampler(config.samples_per_epoch, world.rank, world.size)  # this one's share
    loader = torch.utils.data.DataLoader(
        train_set, batch_size=config.batch_size, sampler=sampler, num_workers=config.workers,
        drop_last=True, pin_memory=device.type == "cuda",
        persistent_workers=config.workers > 0)  # keeps decoded photos across epochs
    val_set = validation_set(data_dir, config.render_size)
    print(f"{world.describe(config.batch_size)}, {len(loader)} steps per epoch")

    # Phase 3: model, optimizer, schedule; resume from the checkpoint when there is one.
    model = create_model(config.model, pretrained=config.pretrained,
                         encoder_weights=config.encoder_weights, **config.model_kwargs)
    if not isinstance(model, ColorizationModel):  # its encoder, head and bins are used below
        raise TypeError(f"{config.model} is a {type(model).__name__}, not a ColorizationModel")
    model.to(device)
    model = distributed.prepare_model(model, world, device)  # BatchNorm over the global batch
    optimizer = make_optimizer(model, config)
    steps_per_epoch = len(loader)
    scheduler = make_scheduler(optimizer, config, steps_per_epoch * config.epochs)
    start_epoch, step, elapsed = 0, 0, 0.0
    checkpoint_path = out / CHECKPOINT
    if resume and checkpoint_path.is_file():
        state = torch.load(checkpoint_path, map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        # The position comes from the checkpoint, the schedule's length from this config: a run
        # resumed with more epochs would otherwise step past OneCycleLR's old total_steps.
        length = {key: value for key, value in scheduler.state_dict().items()
                  if key in ("total_steps", "_schedule_phases", "T_max")}
        scheduler.load_state_dict({**state["scheduler"], **length})
        start_epoch, step, elapsed = state["epoch"], state["step"], state["seconds"]
        print(f"resumed from {checkpoint_path} at epoch {start_epoch}")
        if state["config"].get("world_size", 1) != world.size:
            print(f"note: the checkpoint was trained by {state['config'].get('world_size', 1)} "
                  f"process(es), this run has {world.size}: the global batch changes")
    class_weights = None
    if config.loss == "ce" and config.rebalance is not None:
        class_weights = bin_prior_weights(loader, device, config.rebalance)
        class_weights = distributed.share(class_weights, world)  # process 0's, on every one

    def loss_of(net: torch.nn.Module, l_norm: torch.Tensor, ab_norm: torch.Tensor) -> torch.Tensor:
        return training_loss(net, config, l_norm, ab_norm, class_weights)

    log_path = out / "log.csv"
    if world.is_main and (not log_path.exists() or start_epoch == 0):
        with open(log_path, "w", newline="") as handle:
            csv.writer(handle).writerow(LOG_FIELDS)

    # Phase 4: epochs. Each: train on crops, validate whole photos, log, grid, checkpoint.
    started = time.monotonic() - elapsed
    for epoch in range(start_epoch, config.epochs):
        sampler.epoch = epoch
        model.train()
        set_encoder_trainable(model, epoch >= config.freeze_encoder_epochs,
                              config.freeze_encoder_bn)
        # A batch's loss; with several processes through DDP, made anew for what trains now.
        compute_loss = distributed.parallel_loss(model, loss_of, world, device)
        total_loss = 0.0
        progress = tqdm(loader, desc=f"epoch {epoch + 1}/{config.epochs}", leave=False,
                        disable=not world.is_main)
        for crops in progress:
            l_norm, ab_norm = crop_model_io(crops.to(device, non_blocking=True))
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                loss = compute_loss(l_norm, ab_norm)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            step += 1
            total_loss += loss.item()
            progress.set_postfix(loss=f"{loss.item():.4f}")
        total_loss = distributed.mean(total_loss, world, device)  # over the processes
        in_step = distributed.check_in_step(model, world)  # raises if the processes differ
        if world.is_main:  # validation, log, grid and checkpoint: process 0 alone
            metrics, rows = validate(model, val_set, device, config.grid_count)
            seconds = time.monotonic() - started
            row = {"epoch": epoch + 1, "step": step, "seconds": round(seconds, 1),
                   "lr": optimizer.param_groups[-1]["lr"],
                   "train_loss": total_loss / max(1, steps_per_epoch), **metrics}
            with open(log_path, "a", newline="") as handle:
                csv.writer(handle).writerow([row[k] if isinstance(row[k], int) else
                                             f"{row[k]:.5g}" for k in LOG_FIELDS])
            save_grid(rows, out / "grids" / f"epoch{epoch + 1:03d}.png")
            print(f"epoch {epoch + 1}: loss {row['train_loss']:.4f}  val PSNR {metrics['val_psnr']:.2f}"
                  f" (gray {metrics['val_psnr_gray']:.2f})  CF {metrics['val_cf']:.1f}"
                  f" (truth {metrics['val_cf_truth']:.1f})  {seconds:.0f}s")
            if in_step:
                print(f"  {in_step}")
            atomic_torch_save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                               "scheduler": scheduler.state_dict(), "epoch": epoch + 1,
                               "step": step, "seconds": seconds, "config": config.to_dict()},
                              checkpoint_path)
        stop = None
        if stop_after is not None and epoch + 1 >= stop_after:
            stop = f"stopping after epoch {epoch + 1} (--stop-after); run again to resume"
        elif config.max_minutes is not None and world.is_main and seconds > config.max_minutes * 60:
            stop = f"stopping after {seconds / 60:.1f} min (max_minutes={config.max_minutes})"
        stop = distributed.broadcast(stop, world)  # process 0 decides; all stop at one epoch
        if stop:
            print(stop)
            break

    # Phase 5: choose the decoding (render size, temperature, confidence gate) on the
    # validation photos through the inference path (bins head), then save the weights.
    if not world.is_main:
        return out / "final.safetensors"  # process 0 writes it
    return decode_and_save(model, config, device, time.monotonic() - started, extra_metadata)


def decode_and_save(model: ColorizationModel, config: TrainConfig, device: torch.device,
                    seconds: float, extra_metadata: dict | None = None) -> Path:
    """Choose the decoding on the validation photos (or set the recipe's one fixed choice),
    then write OUT/final.safetensors with the chosen render size and the run's metadata."""
    out, data_dir = Path(config.out), Path(config.data)
    gates = config.gates or (None,)
    render_sizes = config.render_sizes or (config.render_size,)
    render_size = render_sizes[0]
    if (isinstance(model.head, BinsHead) and len(config.temperatures) == 1 and len(gates) == 1
            and len(render_sizes) == 1):
        # One choice: the recipe fixed it (chosen by an earlier run on held-out photos, which
        # this one may have learned from); nothing to score.
        model.set_decoding(config.temperatures[0], gates[0])
        print(f"decoding fixed by the recipe: render {render_size} T={config.temperatures[0]:g}"
              f" gate={gates[0]}")
    elif isinstance(model.head, BinsHead) and config.temperatures:
        best = tune_decoding(model, data_dir, render_sizes, device, config.temperatures,
                             config.gates, config.min_colorfulness, out, config.decode_degraded,
                             config.min_colorfulness_degraded, config.colorfulness_tie)
        render_size = best.render_size or render_size
    metadata = {
        "architecture": config.model, "model_kwargs": model_kwargs_for_export(model, config),
        "render_size": render_size, "recipe": config.to_dict(),
        "trained_on": describe_device(device), "train_seconds": f"{seconds:.0f}",
        **(extra_metadata or {}),
    }
    from autocolor.data.cache import CACHE_MANIFEST, sha256_file

    metadata.setdefault("data_manifest_sha256", sha256_file(data_dir / CACHE_MANIFEST))
    return save_weights(model, out / "final.safetensors", metadata)


def model_kwargs_for_export(model: ColorizationModel, config: TrainConfig) -> dict:
    kwargs = dict(config.model_kwargs)
    if "members" in kwargs:  # a joined ensemble has more than its recipe's (train/ensemble.py)
        kwargs["members"] = len(cast(Any, model).members)
    if isinstance(model.head, BinsHead):
        kwargs["temperature"] = round(float(model.head.temperature), 4)
        gate = [round(float(v), 4) for v in model.head.gate] if model.head.gated else None
        kwargs["gate"] = gate
    return kwargs


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda: {torch.cuda.get_device_name(device)}"
    return f"cpu: {os.cpu_count()} logical cores, torch {torch.__version__}"
