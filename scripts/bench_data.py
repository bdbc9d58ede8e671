"""Data-pipeline benchmarks (issue 3): `autocolor data prepare` throughput, the training loader's
throughput at 256 px with augmentation, and the model's training step, so that one can see whether
data loading or compute bounds training on this machine. Writes (or replaces) the
"## Data pipeline" section of BENCHMARKS.md.

    python scripts/bench_data.py --output BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from benchmarks_md import replace_section  # scripts/, beside this file
from PIL import Image

HEADING = "## Data pipeline (issue 3)"


def synthetic_photos(folder: Path, count: int) -> None:
    """Photo-sized JPEGs (2000x1500) with smooth colour fields plus noise, like camera photos."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:1500, 0:2000].astype(np.float32)
    for index in range(count):
        phase = rng.uniform(0, 6.28, 3)
        rgb = np.stack([127 + 100 * np.sin(x / (300 + 40 * c) + y / 500 + phase[c]) for c in range(3)], -1)
        rgb += rng.normal(0, 12, rgb.shape)
        Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).save(folder / f"p{index:03d}.jpg", quality=90)


def time_prepare(folder: Path, out: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "autocolor.cli", "data", "prepare", str(folder), "--out",
                    str(out), "--no-progress"], check=True, capture_output=True)
    return time.perf_counter() - start


def loader_rate(cache: Path, workers: int, batches: int, batch_size: int = 32) -> float:
    import torch

    from autocolor.data.dataset import CropDataset, EpochSampler

    dataset = CropDataset(cache, 256, batches * batch_size * 2, keep_decoded=True)
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, num_workers=workers,
                                         sampler=EpochSampler(batches * batch_size * 2))
    iterator = iter(loader)
    for _ in range(batches // 2):  # warm-up: workers start and decode the photos once
        next(iterator)
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return batches * batch_size / (time.perf_counter() - start)


def train_step_rate(frozen: bool, batch_size: int = 16, size: int = 256) -> float:
    import torch

    from autocolor.models import create_model
    from autocolor.train.config import TrainConfig
    from autocolor.train.loop import set_encoder_trainable, training_loss

    model = create_model("lite0-unet", pretrained=True, head="bins")
    model.train()
    set_encoder_trainable(model, not frozen, True)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    l_norm = torch.rand(batch_size, 1, size, size) * 2 - 1
    ab_norm = torch.rand(batch_size, 2, size, size) * 0.4 - 0.2
    times = []
    for _ in range(5):
        start = time.perf_counter()
        loss = training_loss(model, TrainConfig(), l_norm, ab_norm, None)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
    return batch_size / statistics.median(times[1:])


def encoder_forward_rate(batch_size: int = 16, size: int = 256) -> float:
    """The frozen encoder's forward alone: what caching its features would save per crop."""
    import torch

    from autocolor.models import create_model

    model = create_model("lite0-unet", pretrained=True, head="bins").eval()
    l_norm = torch.rand(batch_size, 1, size, size) * 2 - 1
    times = []
    with torch.no_grad():
        for _ in range(5):
            start = time.perf_counter()
            model.encoder.features(model.to_encoder_input(l_norm))
            times.append(time.perf_counter() - start)
    return batch_size / statistics.median(times[1:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=Path("BENCHMARKS.md"))
    parser.add_argument("--photos", type=int, default=40)
    parser.add_argument("--cache", type=Path, default=Path("data/corpus"),
                        help="a training cache for the loader (default: the corpus if built)")
    args = parser.parse_args()
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp) / "photos"
        folder.mkdir()
        synthetic_photos(folder, args.photos)
        prepare_runs = [time_prepare(folder, Path(temp) / f"cache{i}") for i in range(3)]
        prepare_rate = args.photos / statistics.median(prepare_runs)
        cache = args.cache if (args.cache / "manifest.tsv").is_file() else Path(temp) / "cache0"
        loader = {workers: loader_rate(cache, workers, 12) for workers in (0, 1, 2)}
    step = {frozen: train_step_rate(frozen) for frozen in (True, False)}
    encoder = encoder_forward_rate()
    cached = 1.0 / max(1e-9, 1.0 / step[True] - 1.0 / encoder)  # frozen step minus the encoder
    best_loader = max(loader.values())
    lines = [
        HEADING, "",
        f"Made by `python scripts/bench_data.py --output BENCHMARKS.md` (part of `make bench`) on "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, load average before {load[0]:.1f}.", "",
        "| what | figure |", "| --- | --- |",
        f"| `autocolor data prepare` on {args.photos} photo-sized JPEGs (2000x1500), 2 worker processes, "
        f"median of 3 fresh runs | **{prepare_rate:.1f} photos/s** "
        f"({', '.join(f'{t:.1f}' for t in prepare_runs)} s) |",
    ]
    for workers, rate in loader.items():
        lines.append(f"| training loader: 256 px random resized crops + flips, batch 32, "
                     f"{workers} worker process(es), cache `{cache.name}` | {rate:.0f} crops/s |")
    lines += [
        f"| training step, lite0-unet (bins), batch 16 at 256 px, encoder frozen | {step[True]:.1f} crops/s |",
        f"| training step, same, encoder unfrozen | {step[False]:.1f} crops/s |",
        f"| frozen encoder's forward pass alone, batch 16 at 256 px | {encoder:.1f} crops/s |",
        f"| frozen step if the encoder's features were cached (estimate: step minus encoder) | "
        f"{cached:.1f} crops/s |",
        "",
        f"**Freezing and caching:** freezing the encoder makes a step {step[True] / step[False]:.2f}x "
        f"as fast; caching its features would make a frozen step about {cached / step[True]:.1f}x "
        "as fast again, but only for fixed crops (random crops differ every epoch, and the features of "
        "one 256 px crop take about 1 MB in float16), and a frozen encoder trains worse (the issue's "
        "earlier experiment; our default unfreezes after the first epoch). Not implemented.",
        "",
        f"**Which bounds training here:** the loader delivers {best_loader:.0f} crops/s, the model consumes "
        f"{step[False]:.1f} (unfrozen) to {step[True]:.1f} (frozen): compute bounds training on this CPU by "
        f"a factor of {best_loader / step[False]:.0f}, so one loader worker is enough and the other core "
        "is better left to the model. On a GPU the step is hundreds of times faster and the loader "
        "(one process per core) becomes the limit; the decoded-photo memo (`keep_decoded`) is what "
        "keeps it ahead there for small corpora.", "",
    ]
    section = "\n".join(lines)
    replace_section(args.output, HEADING, section)
    print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
