"""Screen: distil the bundled model's six decoders into three (issues 20 and 23).

The bundled model joins two runs (seeds 0 and 1) into six decoders over one frozen encoder; the
join bought about 0.3 dB on the out-of-source validation photos and doubled the network's time.
This screen asks how much of the gain three decoders keep when they learn from the six: the
student starts from the first run's three decoders (seed 0, the bundled model's members 0-2) and
trains on the default recipe's crops (half of them old prints), each member's cross-entropy
against ``mix`` x the teacher's mean bin distribution (T = 1, the same damaged input) + (1 -
mix) x the clean crop's soft-encoded ab (Hinton et al. 2015). ``--mix 0`` is the control: the
same extra training on the ground truth alone.

Scored like the training sweep (train/decoding.py): the validation split, clean and as old-print
copies of the ``default`` mix, at the bundled model's render size and temperature.

    python scripts/distill_screen.py --mix 0.7 --epochs 2 --out runs/distill-07
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from dataclasses import asdict
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from autocolor.data.dataset import CropDataset, EpochSampler
from autocolor.models import create_model
from autocolor.models.heads import soft_encode_ab
from autocolor.models.unet import upsample2
from autocolor.train.config import RECIPES, TrainConfig
from autocolor.train.decoding import score_decoding
from autocolor.train.loop import crop_model_io
from autocolor.weights import load_model, save_weights


def student_from(teacher, members: int):
    """A model of the teacher's first ``members`` decoders over its encoder."""
    kwargs = {**teacher.model_kwargs, "members": members}
    student = create_model(teacher.architecture, pretrained=False, **kwargs)
    state = {key: value for key, value in teacher.state_dict().items()
             if not key.startswith("decoders.") or int(key.split(".")[1]) < members}
    student.load_state_dict(state, strict=True)
    return student


def distill_loss(student, teacher, l_norm: torch.Tensor, ab_norm: torch.Tensor, mix: float,
                 refine_weight: float) -> torch.Tensor:
    # The encoder is frozen and the same in both: its features are computed once.
    with torch.no_grad():
        features = student._features(l_norm)  # strides 2-32
    logits, refined = [], []
    for decoder, head in zip(student.members, student.bins_heads(), strict=True):
        member = head.logits(decoder.head_features(features, l_norm))  # (B,Q,h,w)
        logits.append(member)
        coarse = head.decode(member).detach()  # as training does: the refinement's input
        refined.append(decoder.refine(upsample2(coarse), features[0]))
    stride = l_norm.shape[-1] // logits[0].shape[-1]
    target = F.avg_pool2d(ab_norm, stride)  # (B,2,h,w)
    indices, weights = soft_encode_ab(target)
    truth = torch.zeros_like(logits[0]).scatter_add_(1, indices, weights)  # (B,Q,h,w)
    if mix > 0:
        with torch.no_grad():
            taught = sum(torch.softmax(head.logits(decoder.head_features(features, l_norm))
                                       .float(), 1)
                         for decoder, head in zip(teacher.members, teacher.bins_heads(),
                                                  strict=True)) / len(teacher.members)
        truth = mix * taught + (1.0 - mix) * truth
    loss = sum(-(torch.log_softmax(member.float(), 1) * truth).sum(1).mean()
               for member in logits) / len(logits)
    refine_target = F.avg_pool2d(ab_norm, l_norm.shape[-1] // refined[0].shape[-1])
    return loss + refine_weight * sum(F.l1_loss(r.float(), refine_target)
                                      for r in refined) / len(refined)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="data/corpus")
    parser.add_argument("--teacher", default="default")
    parser.add_argument("--members", type=int, default=3)
    parser.add_argument("--mix", type=float, default=0.7)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--score-only", action="store_true",
                        help="score the untrained student (the first run's decoders)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    teacher, metadata = load_model(args.teacher)
    # the student learns on the teacher's own mix of old-print crops (the recipe's may differ)
    preset = metadata.get("recipe", {}).get("degrade_preset", RECIPES["default"]["degrade_preset"])
    config = TrainConfig.from_dict({**RECIPES["default"], "degrade_preset": preset})
    student = student_from(teacher, args.members)
    temperature = float(teacher.head.temperature)
    render_size = int(metadata["render_size"])
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    if not args.score_only:
        dataset = CropDataset(args.data, config.crop_size, config.samples_per_epoch,
                              config.crop_scale, split=config.train_splits, seed=args.seed,
                              degrade_share=config.degrade_share,
                              degrade_preset=config.degrade_preset)
        sampler = EpochSampler(config.samples_per_epoch, 0, 1)
        loader = torch.utils.data.DataLoader(dataset, batch_size=config.batch_size,
                                             sampler=sampler, num_workers=config.workers,
                                             drop_last=True, persistent_workers=True)
        decoders = [p for name, p in student.named_parameters() if name.startswith("decoders.")]
        for name, parameter in student.named_parameters():
            parameter.requires_grad_(name.startswith("decoders."))
        optimizer = torch.optim.Adam(decoders, lr=args.lr)
        steps = args.epochs * len(loader)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
        for epoch in range(args.epochs):
            sampler.epoch = epoch
            student.train()
            student.encoder.eval()  # frozen, BatchNorm at its ImageNet statistics
            total = 0.0
            for crops in tqdm(loader, desc=f"epoch {epoch + 1}/{args.epochs}", leave=False):
                l_norm, ab_norm = crop_model_io(crops)
                loss = distill_loss(student, teacher, l_norm, ab_norm, args.mix,
                                    config.refine_loss_weight)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
                total += loss.item()
            print(f"epoch {epoch + 1}: loss {total / len(loader):.4f} "
                  f"{time.monotonic() - started:.0f}s", flush=True)
        student.eval()
        save_weights(student, args.out / "student.safetensors",
                     {"render_size": render_size, "distilled_from": str(args.teacher),
                      "distill": json.dumps(vars(args), default=str)})
    seconds = time.monotonic() - started
    score = score_decoding(student, args.data, render_size, torch.device("cpu"), temperature,
                           None, config.decode_degraded)
    row = {"members": args.members, "mix": args.mix, "epochs": 0 if args.score_only else
           args.epochs, "lr": args.lr, "train_seconds": round(seconds), **asdict(score)}
    print(f"{args.members} members, mix {args.mix:g}: PSNR {score.psnr_delta:+.2f} CIEDE2000 "
          f"{score.ciede2000_delta:+.2f} AuC {score.ab_auc_delta:+.3f} CF {score.cf_ratio:.2f} "
          f"below gray {score.below_gray}/{score.photos}; old PSNR {score.old_psnr_delta:+.2f} "
          f"CIEDE2000 {score.old_ciede2000_delta:+.2f} CF {score.old_cf_ratio or 0:.2f} "
          f"ab moved {score.old_ab_shift:.1f}", flush=True)
    with open(args.out / "score.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, list(row))
        writer.writeheader()
        writer.writerow(row)


if __name__ == "__main__":
    main()
