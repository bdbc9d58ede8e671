"""The one place for Lab scaling constants shared by every model, backend and tool.

Importing this module never imports torch, so the torch-free ONNX path can use it.
"""

from __future__ import annotations

# CIE L* spans [0, 100]. Models see L_norm = L / L_SCALE - L_SHIFT in [-1, 1].
L_SCALE: float = 50.0
L_SHIFT: float = 1.0

# a*, b* of sRGB colours lie within about [-86, 98] x [-108, 95]. Models predict ab / AB_SCALE,
# which a tanh output covers. 128 is the seed project's choice ("MSE on ab/128") and leaves
# headroom so saturated colours are not at the flat end of the tanh.
AB_SCALE: float = 128.0

# D65 reference white (2 degree observer), as in scikit-image and kornia.
WHITE_D65: tuple[float, float, float] = (0.95047, 1.0, 1.08883)
