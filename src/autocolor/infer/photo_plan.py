"""What :meth:`Colorizer.plan <autocolor.infer.colorizer.Colorizer.plan>` decides for one photo,
and the helpers it uses: :class:`PhotoPlan`, :func:`reference_rgb`, :func:`restore_photo` and
:func:`marked_xmp` (the provenance with the restoration's history)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from autocolor.images import DEFAULT_MAX_PIXELS, LoadedImage, load_rgb, shrink_rgb, srgb_from_pil

if TYPE_CHECKING:
    from autocolor.hints import HintSet
    from autocolor.provenance import Provenance
    from autocolor.restore import Restored


@dataclass(frozen=True, eq=False)
class PhotoPlan:
    """One photo and what to do with it, checked by :meth:`Colorizer.plan`."""

    loaded: LoadedImage  # with the restored lightness when the photo was restored
    target: Path | None = None  # where the result goes, fitted to what the photo needs
    saturation: float = 1.0  # chroma scale, 1 = as predicted
    hints: HintSet | None = None  # upright coordinates, checked against the photo
    reference: np.ndarray | None = None  # (h, w, 3) uint8 sRGB, reduced (reference_rgb)
    restored: Restored | None = None  # what restoring did (None: not asked)
    # (1, h, w) float32 L_norm at the render shape (Colorizer.render_input), of the lightness
    # above: the network's input and the upsampling's guide; of a restored photo, the network's
    # input is of its lightness before the levels stretch (Restored.for_colour).
    render_input: np.ndarray = field(kw_only=True, repr=False)
    # The upsampling's guide when it is not render_input: the output's lightness at the render
    # shape (a restored photo whose levels were stretched). None: render_input.
    guide_input: np.ndarray | None = field(default=None, kw_only=True, repr=False)

    @property
    def restored_steps(self) -> tuple[str, ...]:
        """The restoration steps that ran on this photo, in order (none: not restored)."""
        return tuple(self.restored.ran) if self.restored is not None else ()

    @property
    def steering(self) -> dict[str, Any]:
        """The keyword arguments of :meth:`Colorizer.finish`."""
        return {"saturation": self.saturation, "hints": self.hints, "reference": self.reference}


def reference_rgb(reference: Any, max_pixels: int = DEFAULT_MAX_PIXELS,
                  max_side: int | None = None, name: str | None = None) -> np.ndarray:
    """A reference photo as used: (h, w, 3) uint8 sRGB, long side at most ``max_side`` (default
    :data:`autocolor.hints.reference.REFERENCE_MAX_SIDE`, the size the transfer matches at).

    ``reference`` is a path or the file's bytes (read with :func:`autocolor.images.load_rgb`,
    under its limits), a Pillow image, or an (h, w, 3) uint8 array; an array that is small
    enough already comes back as it is, so a reference prepared once costs nothing per photo.
    ``name`` names it in errors (default: the path).
    """
    if max_side is None:
        from autocolor.hints.reference import REFERENCE_MAX_SIDE

        max_side = REFERENCE_MAX_SIDE
    if isinstance(reference, (str, os.PathLike, bytes)):
        return load_rgb(reference, max_pixels, name=name, max_side=max_side)
    if isinstance(reference, Image.Image):
        return np.asarray(shrink_rgb(srgb_from_pil(reference), max_side), dtype=np.uint8)
    rgb = np.asarray(reference)
    if rgb.ndim != 3 or rgb.shape[-1] != 3 or rgb.dtype != np.uint8 or 0 in rgb.shape:
        raise ValueError(f"a reference array must be (h, w, 3) uint8, got {rgb.shape} {rgb.dtype}")
    if max(rgb.shape[:2]) <= max_side:
        return rgb
    return np.asarray(shrink_rgb(Image.fromarray(rgb, "RGB"), max_side), dtype=np.uint8)


def marked_xmp(mark: Provenance, restored: Sequence[str] = ()) -> bytes:
    """``mark``'s XMP packet, with the restoration steps that ran (``restored``) as its
    ``xmpMM:History`` (:data:`autocolor.restore.config.EVENTS`); none: no history."""
    if not restored:
        return mark.xmp()
    from autocolor.restore.config import EVENTS

    return mark.xmp([EVENTS[step] for step in restored])


def restore_photo(loaded: LoadedImage, steps: Any = True) -> tuple[LoadedImage, Restored]:
    """An old print's photo -> (the same photo with its lightness restored, what was done:
    :class:`autocolor.restore.Restored`). ``steps``: True or ``"auto"`` (the steps whose damage
    is measured), or the steps to run (names, or one comma-separated string). A photo on which
    no step ran comes back as it was.

    Raises:
        ValueError: an unknown step.
        ModuleNotFoundError: without OpenCV (``pip install 'autocolor[restore]'``).
    """
    from autocolor.restore import AUTO, restore_lightness

    restored = restore_lightness(loaded.lightness, AUTO if steps is True else steps)
    if not restored.ran:
        return loaded, restored
    return replace(loaded, lightness=restored.lightness), restored
