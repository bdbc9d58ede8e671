"""Old-print degradation: a clean colour photo -> a plausible scan of an old black-and-white
print of it (faded, toned, soft, grainy, halftoned, dusty, scratched, creased, JPEG'd)."""

from autocolor.degrade.config import CLEAN, DEFAULT, EVAL, EVAL_ALT, HEAVY, PRESETS, DegradeConfig
from autocolor.degrade.model import Degraded, degrade

__all__ = ["CLEAN", "DEFAULT", "EVAL", "EVAL_ALT", "HEAVY", "PRESETS", "DegradeConfig", "Degraded",
           "degrade"]
