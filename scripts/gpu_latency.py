"""Forward latency of trained weights on CUDA (torch): median of repeated runs, batch 1 at
render sizes 256 and 512, and photos/s at batch 32 x 256 px. Prints a Markdown table.

    python scripts/gpu_latency.py runs/recipes/default/final.safetensors
"""

from __future__ import annotations

import sys

import torch
from timing import median_seconds  # scripts/, beside this file

from autocolor.weights import load_model


def model_seconds(model, batch: torch.Tensor, runs: int = 30) -> float:
    with torch.inference_mode():
        return median_seconds(lambda: model(batch), runs, 5, torch.cuda.synchronize)


def main() -> None:
    device = "cuda"
    print(f"device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}\n")
    print("| weights | render | batch | median ms | photos/s |\n| --- | --- | --- | --- | --- |")
    for path in sys.argv[1:]:
        model, metadata = load_model(path, device=device)
        for size, batch_size in ((256, 1), (512, 1), (256, 32)):
            batch = torch.zeros(batch_size, 1, size, size, device=device)
            seconds = model_seconds(model, batch)
            print(f"| {metadata.get('architecture')} ({path.split('/')[-2]}) | {size} | "
                  f"{batch_size} | {seconds * 1000:.2f} | {batch_size / seconds:.0f} |")


if __name__ == "__main__":
    main()
