"""Decoding screens of a joined bins model, with no retraining, scored on the validation split
(never test), clean and as old-print copies, by the training sweep's scoring
(train/decoding.py). Every (join, alpha, temperature):

- **join**: how the decoder members combine: ``ab``, the mean of their annealed means (the
  bundled model's), or ``logits``, the annealed mean of their mean logits (one softmax;
  :class:`autocolor.models.heads.BinsHead`'s ``join``), or ``mixture``, the annealed mean of
  their mean distribution (where they disagree it keeps a mode instead of fading to gray).
- **alpha**: post-hoc logit adjustment toward rare (colourful) bins. Zhang et al. (2016)
  rebalance the loss by the inverse of the smoothed ab prior; Menon et al. (2021, "Long-tail
  learning via logit adjustment") do the same after training by subtracting alpha * log(prior)
  from the logits. The prior is the train split's photos', mixed with a uniform one as Zhang et
  al. do (``--mix`` 0.5), so a bin never seen gets a bounded boost; it is folded into each
  head's bias, so the network is unchanged. 0: none.

    python scripts/decoding_screen.py --joins ab,logits --temperatures 0.2 --out runs/join.csv
    python scripts/decoding_screen.py --joins ab,mixture --temperatures 0.2,0.35,0.5 --out runs/mixture.csv
    python scripts/decoding_screen.py --alphas 0.15,0.3,0.5 --out runs/prior.csv
    python scripts/decoding_screen.py --joins ab,logits --speed --out runs/join-speed.csv

``--speed`` scores nothing: it exports the model once per join to ONNX (in a temporary folder)
and times the network, the joins interleaved in rounds, at the renders of a 4:3 photo.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import torch

from autocolor.train.decoding import score_decoding
from autocolor.weights import load_model

PRIOR_SHORT_SIDE = 128  # the train photos' ab histogram is taken at this size: colour is smooth


def train_bin_prior(data_dir: str | Path, mix: float = 0.5, split: str = "train") -> torch.Tensor:
    """The ab bin prior of a cache's ``split`` photos -> (Q,) probabilities, mixed with a
    uniform distribution: (1 - mix) p + mix / Q (Zhang et al.'s lambda), so every bin keeps a
    share and log(prior) is bounded. Each photo is reduced to a short side of
    :data:`PRIOR_SHORT_SIDE` and counts alike (soft-encoded, lightly smoothed over neighbouring
    bins); deterministic for a cache."""
    import numpy as np
    from PIL import Image

    from autocolor.color.lab import rgb_to_model_io
    from autocolor.data.cache import resize_short_side
    from autocolor.evaluate.photos import list_photos
    from autocolor.models.heads import ab_bin_centers, soft_encode_ab
    from autocolor.train.loop import smoothed_bin_prior

    if not 0.0 < mix <= 1.0:
        raise ValueError(f"mix must be in (0, 1], got {mix}")
    photos = list_photos(data_dir, split=split)
    if not photos:
        raise ValueError(f"{data_dir}: no photos in the {split} split")
    counts = torch.zeros(ab_bin_centers().shape[0], dtype=torch.float64)
    for photo in photos:
        with Image.open(photo.path) as image:
            small = resize_short_side(image.convert("RGB"), PRIOR_SHORT_SIDE)
        rgb = torch.from_numpy(np.asarray(small, dtype=np.float32) / 255.0).permute(2, 0, 1)
        _, ab = rgb_to_model_io(rgb[None])
        indices, weights = soft_encode_ab(ab)
        photo_counts = torch.zeros_like(counts).scatter_add_(
            0, indices.flatten(), weights.flatten().double())
        counts += photo_counts / photo_counts.sum()  # every photo counts alike
    grid = smoothed_bin_prior(counts)
    prior = (1.0 - mix) * grid / grid.sum() + mix / grid.numel()
    return prior.float()


def network_speed(model, joins: list[str], rounds: int = 15) -> list[dict]:
    """Median ONNX Runtime latency of ``model`` exported once per join, interleaved in rounds
    (the first two dropped), at renders of 224x160, 256x192 and 512x384."""
    import numpy as np

    from autocolor.infer.export import export_model, verify_export
    from autocolor.infer.onnx_backend import OnnxBackend

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        backends = {}
        for join in joins:
            for head in model.bins_heads():
                head.join = join
            path = export_model(model, Path(folder) / f"{join}.onnx", {})
            print(f"join {join}: exported, max difference to torch "
                  f"{verify_export(model, path, 224):.2g}", flush=True)
            backends[join] = OnnxBackend(path, "cpu", cache=False)
        rng = np.random.default_rng(0)
        for height, width in ((160, 224), (192, 256), (384, 512)):
            l_norm = rng.uniform(-1, 1, size=(1, 1, height, width)).astype(np.float32)
            times: dict[str, list[float]] = {join: [] for join in joins}
            for _ in range(rounds):
                for join, backend in backends.items():
                    start = time.perf_counter()
                    backend.predict(l_norm)
                    times[join].append(time.perf_counter() - start)
            base = statistics.median(times[joins[0]][2:])
            for join in joins:
                median = statistics.median(times[join][2:])
                rows.append({"join": join, "render": f"{width}x{height}",
                             "ms": round(1000 * median, 1), "ratio": round(median / base, 3)})
                print(f"join {join} {width}x{height}: {1000 * median:.1f} ms "
                      f"({median / base:.2f}x {joins[0]})", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--data", default="data/corpus")
    parser.add_argument("--render-size", type=int, default=None, help="default: the model's")
    parser.add_argument("--joins", default="ab")
    parser.add_argument("--alphas", default="0")
    parser.add_argument("--temperatures", default="0.2")
    parser.add_argument("--mix", type=float, default=0.5, help="uniform share of the prior")
    parser.add_argument("--degraded", default="default",
                        help="autocolor.degrade preset of the old-print copies ('' for none)")
    parser.add_argument("--speed", action="store_true", help="time the joins' networks")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    model, metadata = load_model(args.model)
    if args.speed:
        write_rows(args.out, network_speed(model, args.joins.split(",")))
        return
    render_size = args.render_size or int(metadata.get("render_size", 224))
    alphas = [float(a) for a in args.alphas.split(",")]
    log_prior = train_bin_prior(args.data, mix=args.mix).log() if any(alphas) else None
    biases = [head.conv.bias.detach().clone() for head in model.bins_heads()]
    rows = []
    for join in args.joins.split(","):
        for alpha in alphas:
            with torch.no_grad():
                for head, bias in zip(model.bins_heads(), biases, strict=True):
                    head.join = join
                    head.conv.bias.copy_(bias if log_prior is None else bias - alpha * log_prior)
            for temperature in (float(t) for t in args.temperatures.split(",")):
                score = score_decoding(model, args.data, render_size, torch.device("cpu"),
                                       temperature, None, args.degraded or None)
                rows.append({"join": join, "alpha": alpha, "mix": args.mix, **asdict(score)})
                print(f"join {join} alpha {alpha:g} T={temperature:g}: PSNR "
                      f"{score.psnr_delta:+.2f} CIEDE2000 {score.ciede2000_delta:+.2f} AuC "
                      f"{score.ab_auc_delta:+.3f} CF {score.cf_ratio:.2f} below gray "
                      f"{score.below_gray}/{score.photos}; old PSNR {score.old_psnr_delta:+.2f} "
                      f"CIEDE2000 {score.old_ciede2000_delta:+.2f} CF "
                      f"{score.old_cf_ratio or 0:.2f} ab moved {score.old_ab_shift:.1f}",
                      flush=True)
    write_rows(args.out, rows)


def write_rows(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()
