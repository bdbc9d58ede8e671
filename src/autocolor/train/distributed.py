"""Training on several processes with ``torchrun`` (DistributedDataParallel): the process group,
who writes, and what keeps N processes equal to one.

``torchrun --nproc-per-node N -m autocolor train ARGS`` starts N copies of ``autocolor train``;
torchrun's environment (``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``,
``MASTER_PORT``) says which one each is. Without it, :func:`setup` returns a world of one and
everything here does nothing, so the training loop reads the same either way.

What makes N processes x batch B train like one process x batch N*B:

- each process takes every N-th crop index of the epoch (``EpochSampler(rank, world_size)``), so
  a step's N batches are together the single process's batch of N*B;
- DDP averages the gradients (the loss of each process is a mean over its B crops);
- BatchNorm layers that learn (the decoder's) normalise with the statistics of the whole global
  batch: :class:`torch.nn.SyncBatchNorm` on GPUs, :class:`GlobalBatchNorm2d` on CPUs (gloo),
  where torch's does not run. Per-process statistics would make the step depend on N.

Process 0 alone writes (checkpoints, logs, grids, weights); the others' standard output goes to
/dev/null, so the loop's ``print`` calls need no guard.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class World:
    """This process's place among the training processes."""

    rank: int = 0  # 0 .. size - 1 over all nodes
    local_rank: int = 0  # on this node: the GPU it uses
    size: int = 1  # processes in all (torchrun's WORLD_SIZE)
    backend: str | None = None  # nccl | gloo | None (one process)

    @property
    def is_main(self) -> bool:
        """Process 0: the one that writes."""
        return self.rank == 0

    def describe(self, batch_size: int) -> str:
        """The log line on the batch: per process and global."""
        if self.size == 1:
            return f"batch {batch_size} (1 process)"
        return (f"batch {batch_size} per process x {self.size} processes = global batch "
                f"{batch_size * self.size} ({self.backend})")


def setup(device: str = "auto") -> World:
    """Join torchrun's process group (NCCL on CUDA, gloo on CPUs) -> this process's
    :class:`World`. Idempotent; a world of one without torchrun."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return World()
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
        if cuda:
            torch.cuda.set_device(local_rank)  # torch.device("cuda") is now this process's GPU
        dist.init_process_group("nccl" if cuda else "gloo")
        if rank != 0:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - for the life of the process
    return World(rank, local_rank, dist.get_world_size(), dist.get_backend())


def cleanup() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def barrier(world: World) -> None:
    """Wait for every process (e.g. while process 0 writes)."""
    if world.size > 1:
        dist.barrier()


def broadcast(value, world: World):
    """Process 0's ``value`` (any picklable object), on every process."""
    if world.size == 1:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def share(tensor: torch.Tensor, world: World) -> torch.Tensor:
    """Process 0's ``tensor`` on every process (in place)."""
    if world.size > 1:
        dist.broadcast(tensor, src=0)
    return tensor


@contextmanager
def hold_run_folder(folder: str | os.PathLike, world: World) -> Iterator[None]:
    """Process 0 holds the run folder (:func:`autocolor.train.lock.hold_run_folder`) for the
    block; every process learns whether it could, and all raise ``RunFolderInUse`` if not."""
    from autocolor.train.lock import RunFolderInUse
    from autocolor.train.lock import hold_run_folder as hold

    with ExitStack() as stack:
        refused = None
        if world.is_main:
            try:
                stack.enter_context(hold(folder))
            except RunFolderInUse as error:
                refused = str(error)
        refused = broadcast(refused, world)
        if refused:
            raise RunFolderInUse(refused)
        yield


def mean(value: float, world: World, device: torch.device) -> float:
    """The mean of a number over the processes (the epoch's training loss)."""
    if world.size == 1:
        return value
    total = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(total)
    return float(total.item()) / world.size


def digest(model: nn.Module) -> str:
    """sha256 of a model's parameters and buffers, bit for bit."""
    hasher = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        hasher.update(name.encode())
        hasher.update(tensor.detach().cpu().reshape(-1).view(torch.uint8).numpy().tobytes())
    return hasher.hexdigest()


def check_in_step(model: nn.Module, world: World) -> str | None:
    """Raise if the processes' models differ (they must agree bit for bit: every process
    applies the same averaged gradients); -> a line saying they agree, or None alone."""
    if world.size == 1:
        return None
    digests: list[str | None] = [None] * world.size
    dist.all_gather_object(digests, digest(model))
    return agreement(digests)


def agreement(digests: list[str | None]) -> str:
    """-> the line for digests that all agree; raise RuntimeError naming those that do not."""
    if len(set(digests)) != 1:
        differ = [rank for rank, value in enumerate(digests) if value != digests[0]]
        raise RuntimeError(f"processes {differ} hold other weights than process 0: the "
                           "distributed training went out of step")
    return f"{len(digests)} processes hold identical weights (sha256 {str(digests[0])[:12]})"


# -- the model ----------------------------------------------------------------------------------

class _SumOverProcesses(torch.autograd.Function):
    """All-reduce (sum) that gradients flow through: the gradient of a sum over processes is
    the sum of the processes' gradients."""

    @staticmethod
    def forward(ctx, tensor: torch.Tensor) -> torch.Tensor:
        total = tensor.clone()
        dist.all_reduce(total)
        return total

    @staticmethod
    def backward(ctx, *grads: torch.Tensor) -> torch.Tensor:
        total = grads[0].clone()
        dist.all_reduce(total)
        return total


class GlobalBatchNorm2d(nn.BatchNorm2d):
    """:class:`~torch.nn.BatchNorm2d` that, in training, normalises with the statistics of the
    global batch (every process's), as :class:`torch.nn.SyncBatchNorm` does on GPUs; for gloo
    on CPUs, where that one raises. Two all-reduces per call (sums, then centred sums of
    squares, which do not cancel), differentiable, so each process's backward carries the
    other processes' share through the statistics."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        count = torch.tensor([x.numel() // x.shape[1]], dtype=torch.float64, device=x.device)
        dist.all_reduce(count)
        n = float(count.item())
        mean = _SumOverProcesses.apply(x.sum((0, 2, 3))) / n  # (C,)
        centred = x - mean[None, :, None, None]
        var = _SumOverProcesses.apply((centred * centred).sum((0, 2, 3))) / n  # (C,) biased
        if (self.track_running_stats and self.running_mean is not None
                and self.running_var is not None and self.num_batches_tracked is not None):
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                factor = (1.0 / float(self.num_batches_tracked) if self.momentum is None
                          else self.momentum)
                self.running_mean.mul_(1 - factor).add_(mean.detach(), alpha=factor)
                self.running_var.mul_(1 - factor).add_(var.detach() * (n / max(n - 1, 1)),
                                                       alpha=factor)
        out = centred * torch.rsqrt(var + self.eps)[None, :, None, None]
        if self.affine:
            out = out * self.weight[None, :, None, None] + self.bias[None, :, None, None]
        return out


def _to_global_batchnorm(module: nn.Module) -> nn.Module:
    """Every plain BatchNorm2d in ``module`` as a GlobalBatchNorm2d sharing its parameters and
    buffers (an optimizer made before keeps working)."""
    if type(module) is nn.BatchNorm2d:
        converted = GlobalBatchNorm2d(module.num_features, module.eps, module.momentum,
                                      module.affine, module.track_running_stats)
        converted.weight, converted.bias = module.weight, module.bias
        converted.running_mean, converted.running_var = module.running_mean, module.running_var
        converted.num_batches_tracked = module.num_batches_tracked
        converted.train(module.training)
        return converted
    for name, child in module.named_children():
        module.add_module(name, _to_global_batchnorm(child))
    return module


def prepare_model(model: nn.Module, world: World, device: torch.device) -> nn.Module:
    """BatchNorm over the global batch when there are several processes (see the module's
    docstring); the same model otherwise. Same parameters and state dict keys."""
    if world.size == 1:
        return model
    if device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(model)
    return _to_global_batchnorm(model)


class _Step(nn.Module):
    """A model and its loss as one module: DDP synchronises the gradients of what its wrapped
    module's forward computes, and the loss calls ``model.bins_outputs``, not ``forward``."""

    def __init__(self, model: nn.Module, loss: Callable[..., torch.Tensor]) -> None:
        super().__init__()
        self.model = model
        self.loss = loss

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.loss(self.model, *inputs)


def parallel_loss(model: nn.Module, loss: Callable[..., torch.Tensor], world: World,
                  device: torch.device) -> Callable[..., torch.Tensor]:
    """``loss(model, *inputs)`` as a function of the inputs; with several processes through
    DistributedDataParallel, whose backward averages the gradients over them.

    DDP synchronises the parameters that require a gradient when it is made: make it again when
    that changes (the encoder thaws after ``freeze_encoder_epochs``).
    """
    if world.size == 1:
        return lambda *inputs: loss(model, *inputs)
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(
        _Step(model, loss), device_ids=[world.local_rank] if device.type == "cuda" else None)
