"""Which ab bins a bins model actually uses, so that its export can drop the rest.

The bins head scores Q = 529 bins (a 23 x 23 grid over a, b in [-110, 110]) on every pixel at
the head's stride, and the annealed mean at T = 0.2 raises each probability to the power 1/T
before it normalises: a bin the model gives 1 % at T = 1 next to one it gives 50 % weighs
(0.02)^5 = 3e-9 of it. Most of the grid lies outside the colours of photos (or of sRGB) and is
never used; in the bundled model, 96 bins exceed an annealed probability of 1e-4 on some pixel of
the training photos. The head's matrix product and its softmax grow with Q, so dropping the
unused bins makes the network faster with the same output (:meth:`BinsHead.keep_bins
<autocolor.models.heads.BinsHead.keep_bins>`; ``autocolor export onnx --bins-from CACHE``).

What is kept, for a margin on photos unlike the training ones: every bin whose annealed
probability exceeds ``threshold`` on some pixel of the cache's ``train`` photos (rendered as
inference renders them), and the bins next to those on the grid (``dilation``). The
validation photos are not used, so that they can check the result (docs/recipes.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import torch
import torch.nn.functional as F

from autocolor.models.base import ColorizationModel
from autocolor.models.heads import AB_BIN_SIDE, BinsHead

# Annealed probability above which a bin counts as used (the error of dropping a bin is at
# most its probability times its distance from the mean, <= 2 x 110 ab units).
DEFAULT_THRESHOLD = 1e-4
# Grid neighbours of a used bin that are kept too.
DEFAULT_DILATION = 1
GRID = AB_BIN_SIDE  # 23 bins along a and along b


def bin_usage(model: ColorizationModel, data_dir: str | Path, render_size: int,
              split: str = "train") -> tuple[torch.Tensor, int]:
    """-> ((Q,) the highest annealed probability each bin reaches on any pixel of any photo of
    the cache's ``split``, over every decoder member, at the head's temperature; the number of
    photos). Photos go in as ``autocolor colorize`` renders them (:func:`model_input` of
    their lightness at ``render_size``).

    Raises:
        ValueError: a model without a bins head, or no photo in the split.
    """
    from autocolor.evaluate.photos import list_photos
    from autocolor.images import load_image
    from autocolor.infer.pipeline import model_input, render_shape

    if not isinstance(model.head, BinsHead) or not hasattr(model, "logits"):
        raise ValueError("only a bins model has bins to count")
    photos = list_photos(data_dir, split=split)
    if not photos:
        raise ValueError(f"{data_dir}: no photos in the {split} split")
    temperature = float(model.head.temperature)
    highest = torch.zeros(model.head.centers.shape[0])
    model.eval()
    with torch.inference_mode():
        for photo in photos:
            lightness = load_image(photo.path).lightness
            height, width = lightness.shape
            l_norm = model_input(lightness, render_shape(height, width, render_size))
            logits = cast(Any, model).logits(torch.from_numpy(l_norm)[None])  # (K, Q, h, w)
            annealed = torch.softmax(logits.float() / temperature, dim=1)
            highest = torch.maximum(highest, annealed.amax(dim=(0, 2, 3)))
    return highest, len(photos)


def bins_to_keep(usage: torch.Tensor, threshold: float = DEFAULT_THRESHOLD,
                 dilation: int = DEFAULT_DILATION) -> list[int]:
    """(Q,) highest annealed probabilities (:func:`bin_usage`) -> the sorted indices of the bins
    above ``threshold`` and of their neighbours within ``dilation`` steps on the 23 x 23 grid
    (a square neighbourhood; a-major order, as :func:`ab_bin_centers`).

    Raises:
        ValueError: ``usage`` is not the grid's Q values, or no bin reaches the threshold.
    """
    if usage.shape != (GRID * GRID,):
        raise ValueError(f"usage must have {GRID * GRID} values, got {tuple(usage.shape)}")
    if dilation < 0:
        raise ValueError(f"dilation must be >= 0, got {dilation}")
    used = (usage > threshold).float().reshape(1, 1, GRID, GRID)
    if not used.any():
        raise ValueError(f"no bin reaches an annealed probability of {threshold:g}")
    if dilation:
        used = F.max_pool2d(used, 2 * dilation + 1, stride=1, padding=dilation)
    return used.flatten().nonzero().flatten().tolist()


def keep_bins(model: ColorizationModel, indices: list[int]) -> ColorizationModel:
    """Every bins head of ``model`` (each decoder member's) keeps only ``indices``, in place;
    returns ``model``."""
    heads = cast(Any, model).bins_heads() if hasattr(model, "bins_heads") else [model.head]
    for head in heads:
        if not isinstance(head, BinsHead):
            raise ValueError("only a bins model has bins to drop")
        head.keep_bins(indices)
    return model
