"""Restoring an old print's lightness before it is coloured (``autocolor colorize --restore``).

``restore_lightness(L, steps="auto")`` runs the classical steps of :data:`STEPS` on the
full-resolution L* plane (float32 (H, W) in [0, 100]): the halftone screen notched out of the
spectrum, grain smoothed, dust and scratches inpainted, faded levels stretched. With ``"auto"``
each step runs only where its damage is measured (:mod:`autocolor.restore.detect`). Needs OpenCV
(``pip install 'autocolor[restore]'``); nothing here is imported by colouring without
``--restore``.
"""

from autocolor.restore.config import DEFAULT_CONFIG, STEPS, RestoreConfig
from autocolor.restore.detect import damaged, detect
from autocolor.restore.pipeline import AUTO, Restored, parse_steps, restore_lightness

__all__ = ["AUTO", "DEFAULT_CONFIG", "STEPS", "RestoreConfig", "Restored", "damaged", "detect",
           "parse_steps", "restore_lightness"]
