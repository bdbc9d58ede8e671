"""Evaluation: metrics (:mod:`.metrics`), the scoring loop (:mod:`.evaluator`), the report
folder (:mod:`.report`), reference colorizers (:mod:`.reference`) and ``autocolor eval``
(:mod:`.cli`). Never imports torch; see docs/evaluation.md."""

from autocolor.evaluate.evaluator import evaluate_folder, evaluate_photos
from autocolor.evaluate.metrics import (
    ab_auc,
    ciede2000_mean,
    colorfulness,
    psnr,
    score_pair,
    ssim,
)
from autocolor.evaluate.reference import GrayColorizer, OracleColorizer

__all__ = [
    "GrayColorizer",
    "OracleColorizer",
    "ab_auc",
    "ciede2000_mean",
    "colorfulness",
    "evaluate_folder",
    "evaluate_photos",
    "psnr",
    "score_pair",
    "ssim",
]
