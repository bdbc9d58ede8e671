"""Colour science: Lab constants (torch-free), the models' normalization in
:mod:`autocolor.color.normalize` (torch), torch conversions in :mod:`autocolor.color.lab`
(kornia; training), NumPy conversions for inference in :mod:`autocolor.color.lab_numpy`."""

from autocolor.color.constants import AB_SCALE, L_SCALE, L_SHIFT

__all__ = ["AB_SCALE", "L_SCALE", "L_SHIFT"]
