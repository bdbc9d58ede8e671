"""Training under torchrun (DDP, gloo on the CPU) and the run-folder lock.

The 2-process runs start torchrun with MASTER_ADDR 127.0.0.1 and gloo on the loopback interface.
torch's rendezvous store listens on every interface whatever MASTER_ADDR says (pytorch#173909),
so where ``unshare`` can make one, the run gets a network namespace of its own whose only
interface is loopback: nothing it opens is reachable from elsewhere.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from PIL import Image

from autocolor.data.dataset import EpochSampler
from autocolor.train import distributed, loop
from autocolor.train.config import TrainConfig
from autocolor.train.lock import RunFolderInUse, hold_run_folder

TORCHRUN = Path(sys.executable).with_name("torchrun")
PER_PROCESS_BATCH = 2
# One step per epoch: the checkpoint after epoch 1 holds the state after exactly one step.
TINY = dict(crop_size=64, samples_per_epoch=2 * PER_PROCESS_BATCH, epochs=2, workers=0,
            pretrained=False, render_size=64, device="cpu", grid_count=2, seed=0,
            freeze_encoder_epochs=0)  # the encoder learns in the compared step too
ARGS = ["--crop-size", "64", "--samples-per-epoch", str(2 * PER_PROCESS_BATCH), "--epochs", "2",
        "--workers", "0", "--no-pretrained", "--render-size", "64", "--device", "cpu",
        "--seed", "0", "--freeze-encoder-epochs", "0", "--batch-size", str(PER_PROCESS_BATCH)]


def _has_private_network() -> bool:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    probe = subprocess.run(["unshare", "--map-root-user", "--net", "sh", "-c",
                            "ip link set lo up"], capture_output=True, check=False)
    return probe.returncode == 0


def torchrun(nproc: int, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """``torchrun --nproc-per-node N -m autocolor train ARGS`` on 127.0.0.1."""
    command = [str(TORCHRUN), "--nproc-per-node", str(nproc), "--nnodes", "1",
               "--master-addr", "127.0.0.1", "--master-port", "29517", "-m", "autocolor",
               "train", *args]
    if _has_private_network():
        command = ["unshare", "--map-root-user", "--net", "sh", "-c",
                   'ip link set lo up && exec "$@"', "torchrun", *command]
    env = {**os.environ, "GLOO_SOCKET_IFNAME": "lo", "OMP_NUM_THREADS": "1"}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=240, check=False)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory, smooth_rgb, cache_maker) -> Path:
    """The training tests' six photos, all PNG."""
    return cache_maker(tmp_path_factory.mktemp("cache"), smooth_rgb, jpegs=False)


@pytest.fixture(scope="module")
def two_processes(cache: Path, tmp_path_factory: pytest.TempPathFactory):
    """2 processes x batch 2, stopped after one step; -> (run folder, the run's output)."""
    out = tmp_path_factory.mktemp("ddp") / "run"
    result = torchrun(2, ["--data", str(cache), "--out", str(out), *ARGS, "--stop-after", "1"],
                      cwd=out.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    return out, result


@pytest.fixture(scope="module")
def one_process(cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1 process x batch 4, stopped after one step."""
    out = tmp_path_factory.mktemp("single") / "run"
    config = TrainConfig(data=str(cache), out=str(out), batch_size=2 * PER_PROCESS_BATCH, **TINY)
    loop.train(config, stop_after=1)
    return out


def _state(out: Path) -> dict:
    return torch.load(out / "checkpoint.pt", map_location="cpu", weights_only=True)


def test_one_step_of_two_processes_is_one_step_of_one_with_twice_the_batch(
        two_processes, one_process: Path) -> None:
    """The same crops, the same averaged gradient, the same update, up to float32 rounding.

    Tolerance, from where the two runs round differently: DDP sums two half-batch gradients
    (each a sum over 2 crops) and halves them, the single process sums 4 crops in one backward;
    BatchNorm statistics come from two all-reduced halves instead of one pass. Each reorders
    float32 sums (relative error about 1e-7 per addition, over thousands of terms): gradients
    agree to a few 1e-6 of each tensor's largest element (3e-6 measured). 1e-3 leaves room and
    still fails for any real difference: a wrong shard, per-process BatchNorm statistics or a
    gradient summed instead of averaged change them by 1e-1 to 1e0 of their scale.
    Parameters: AdamW's first update is lr * g / (|g| + eps), about lr * sign(g), so an element
    moves the same in both runs wherever its gradient is clear of that tolerance (to 1e-6;
    6e-8 measured); where |g| is within it the sign, and so the update, may flip: up to 2 lr.
    """
    out, result = two_processes
    two, one = _state(out), _state(one_process)
    assert two["step"] == one["step"] == 1
    beta1 = 0.9  # AdamW's default: after one step exp_avg = (1 - beta1) * gradient
    groups = one["optimizer"]["param_groups"]
    names = _optimizer_order(TrainConfig(**TINY))
    assert len(names) == sum(len(group["params"]) for group in groups) > 100
    worst_gradient = worst_parameter = 0.0
    for group in groups:
        for index in group["params"]:
            name = names[index]
            gradient_one = one["optimizer"]["state"][index]["exp_avg"] / (1 - beta1)
            gradient_two = two["optimizer"]["state"][index]["exp_avg"] / (1 - beta1)
            scale = gradient_one.abs().max().item()
            noise = 1e-3 * scale  # the tolerance, see the docstring
            difference = (gradient_two - gradient_one).abs().max().item()
            assert difference <= noise, name
            worst_gradient = max(worst_gradient, difference / scale if scale else 0.0)
            moved = (two["model"][name] - one["model"][name]).abs()
            clear = gradient_one.abs() > noise
            moved_clear = float(moved[clear].max()) if clear.any() else 0.0
            assert moved_clear <= 1e-6, name
            assert moved.max().item() <= 2 * group["max_lr"] + 1e-6, name  # any step's lr <= max
            worst_parameter = max(worst_parameter, moved_clear)
    print(f"largest differences: gradient {worst_gradient:.1e} of its tensor's largest, "
          f"parameter {worst_parameter:.1e} where the gradient is clear of the noise")
    for name, value in one["model"].items():  # BatchNorm statistics: of the global batch in both
        if name.endswith(("running_mean", "running_var")):
            assert torch.allclose(value, two["model"][name], rtol=1e-4, atol=1e-6), name
    assert "2 processes hold identical weights" in result.stdout


def _optimizer_order(config: TrainConfig) -> list[str]:
    """Parameter names in the order the optimizer's state numbers them."""
    from autocolor.models import create_model

    model = create_model(config.model, pretrained=False, **config.model_kwargs)
    names = {id(parameter): name for name, parameter in model.named_parameters()}
    return [names[id(parameter)] for group in loop.make_optimizer(model, config).param_groups
            for parameter in group["params"]]


def test_the_run_logs_the_global_batch_and_records_the_world(two_processes) -> None:
    out, result = two_processes
    assert "batch 2 per process x 2 processes = global batch 4 (gloo)" in result.stdout
    assert json.loads((out / "config.json").read_text())["world_size"] == 2
    assert (out / "log.csv").read_text().count("\n") == 2  # header and epoch 1, written once


def test_resumed_under_torchrun_it_finishes_with_weights_colorize_uses(
        two_processes, cache: Path, tmp_path: Path, smooth_rgb) -> None:
    out, _ = two_processes
    result = torchrun(2, ["--data", str(cache), "--out", str(out), *ARGS], cwd=out.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"resumed from {out / 'checkpoint.pt'} at epoch 1" in result.stdout
    assert [line.split(",")[:2] for line in (out / "log.csv").read_text().splitlines()[1:]] == [
        ["1", "1"], ["2", "2"]]
    assert sorted(p.name for p in (out / "grids").iterdir()) == ["epoch001.png", "epoch002.png"]
    assert _state(out)["epoch"] == 2
    weights = out / "final.safetensors"
    assert result.stdout.strip().splitlines()[-1] == str(weights)
    Image.fromarray(smooth_rgb(9, 40, 56)).convert("L").save(tmp_path / "gray.png")
    from autocolor.cli import main

    status = main(["colorize", str(tmp_path / "gray.png"), "-o", str(tmp_path / "out"),
                   "--model", str(weights)])
    assert status == 0
    with Image.open(tmp_path / "out" / "gray.png") as coloured:
        assert coloured.size == (56, 40) and coloured.mode == "RGB"


def test_ranks_that_differ_are_named() -> None:
    assert distributed.agreement(["ab" * 32] * 3).startswith("3 processes hold identical")
    with pytest.raises(RuntimeError, match=r"processes \[2\] hold other weights"):
        distributed.agreement(["a", "a", "b"])


def test_each_step_of_n_processes_is_one_batch_of_one_process() -> None:
    single = list(EpochSampler(12))
    for world in (2, 3, 4):
        shards = [EpochSampler(12, rank, world) for rank in range(world)]
        assert len({len(shard) for shard in shards}) == 1
        batch = 2
        steps = [list(shard)[i:i + batch] for shard in shards
                 for i in range(0, len(shard) - batch + 1, batch)]
        per_step = len(steps) // world
        for step in range(per_step):
            together = sorted(sum((steps[rank * per_step + step] for rank in range(world)), []))
            assert together == single[step * batch * world:(step + 1) * batch * world]
    sampler = EpochSampler(10, 1, 3)
    sampler.epoch = 2
    assert list(sampler) == [21, 24, 27]  # 3 each; index 29 is left out, as a last partial batch
    with pytest.raises(ValueError):
        EpochSampler(8, 2, 2)


# -- the run folder lock ----------------------------------------------------------------------

HOLDER = textwrap.dedent("""
    import sys, time
    from autocolor.train.lock import hold_run_folder
    with hold_run_folder(sys.argv[1]):
        print("holding", flush=True)
        time.sleep(120)
""")


def _holder(folder: Path) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder)],
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "holding"
    return process


def test_a_second_run_on_a_folder_in_use_stops_at_once(cache: Path, tmp_path: Path,
                                                       capsys) -> None:
    from autocolor.cli import main

    out = tmp_path / "run"
    holder = _holder(out)
    try:
        status = main(["train", "--data", str(cache), "--out", str(out), *ARGS])
        err = capsys.readouterr().err
        assert status == 1
        lines = [line for line in err.splitlines() if line.startswith("error:")]
        assert len(lines) == 1 and f"pid {holder.pid} " in lines[0], err
        assert "in use by another training run" in lines[0]
        assert sorted(p.name for p in out.iterdir()) == ["run.lock"]  # wrote nothing else
        with pytest.raises(RunFolderInUse, match=f"pid {holder.pid} "):
            loop.train(TrainConfig(data=str(cache), out=str(out), batch_size=2, **TINY))
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # The kernel let go of the lock with the process: a killed run never blocks the next.
    with hold_run_folder(out) as lock:
        assert f"pid {os.getpid()} " in lock.read_text()
        with hold_run_folder(out):  # the same process may take it again (cli, then loop)
            pass


def test_python_dash_m_autocolor() -> None:
    result = subprocess.run([sys.executable, "-m", "autocolor", "--version"], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0 and result.stdout.startswith("autocolor ")
