"""What every batch command shares (``autocolor colorize`` on either engine, ``autocolor
video``): the one line a failed input costs, the refusal of an option before any work, the marks
every output carries, the restoration options and their summary line, and the small gray maps
written beside outputs. Torch-free, and importing nothing from a command's module, so that the
engines and the commands depend on it and not on one another.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import Any

from autocolor.credentials import content_credentials
from autocolor.errors import first_line
from autocolor.images import ImageError


def error_line(source: Any, error: Exception) -> str:
    """The one line a photo that failed costs on stderr, from either engine."""
    if isinstance(error, ImageError):
        return f"error: {error}"
    reason = first_line(error)
    return f"error: {source}: {reason}"


class Refused(Exception):
    """An option that stops the command before any photo is coloured (one line)."""


def output_marks(args: argparse.Namespace, colorizer) -> tuple[bytes | None, Any]:
    """What every output carries: the XMP mark (None with --no-provenance) and the C2PA
    :class:`~autocolor.credentials.ContentCredentials` that sign it (None without --c2pa-*).

    Raises:
        Refused: the --c2pa-* options cannot be used (one line).
    """
    xmp = colorizer.xmp(provenance=not args.no_provenance)
    try:
        return xmp, content_credentials(args, colorizer.provenance)
    except ValueError as error:
        raise Refused(str(error)) from None


def add_restore_arguments(parser: argparse.ArgumentParser, what: str = "photo") -> None:
    """``--restore`` and ``--restore-steps`` (``autocolor colorize`` and ``video``), and, for
    photos, ``--restore-mask``."""
    restore = parser.add_argument_group(
        "restoring old prints (pip install 'autocolor[restore]'; never done unless asked)")
    restore.add_argument("--restore", action="store_true",
                         help=f"restore each {what}'s lightness before colouring it, with the "
                              "steps whose damage is found in it (halftone, dust, scratches, "
                              "grain, fading); the output keeps the restored lightness and its "
                              "metadata lists the steps")
    restore.add_argument("--restore-steps", metavar="STEPS",
                         help=f"run these steps on every {what}, comma-separated, e.g. "
                              "fading,grain,dust,scratches,halftone (implies --restore)")
    if what == "photo":
        restore.add_argument("--restore-mask", type=Path, metavar="DIR",
                             help="write DIR/<name>.png per photo, white where dust and "
                                  "scratches were inpainted (implies --restore)")


def restore_option(args: argparse.Namespace) -> str | tuple[str, ...] | None:
    """What ``--restore``, ``--restore-steps`` and ``--restore-mask`` ask for: None (no
    restoring), ``"auto"``, or the steps to run.

    Raises:
        Refused: an unknown step, or OpenCV missing (a ``ModuleNotFoundError`` naming cv2,
            which the command turns into the line naming the ``restore`` extra).
    """
    mask = getattr(args, "restore_mask", None)
    if not (args.restore or args.restore_steps is not None or mask is not None):
        return None
    from autocolor.restore import AUTO, parse_steps

    try:
        steps = parse_steps(args.restore_steps) if args.restore_steps is not None else None
    except ValueError as error:
        raise Refused(f"--restore-steps: {error}") from None
    import cv2  # noqa: F401  (without the extra, stop here, before any work: one line)

    return AUTO if steps is None else steps


def restore_summary(tally: Counter[str]) -> str:
    """The summary line of a run with --restore: ``restored 3 photos: fading 2, grain 3,
    dust 1`` (steps in the order they run), from the photos written (``tally[""]``) and each
    step's count."""
    from autocolor.restore import STEPS

    photos = tally[""]
    if not photos:
        return "restored 0 photos: no damage found"
    counts = ", ".join(f"{step} {tally[step]}" for step in STEPS if tally[step])
    return f"restored {photos} photo{'s' if photos != 1 else ''}: {counts}"


def save_gray(image: Any, path: Path) -> Path:
    """Write an (H, W) bool mask (255 where true) or uint8 map as an 8-bit gray PNG,
    atomically (:func:`autocolor.image_output.gray_png`)."""
    from autocolor.atomic import atomic_path
    from autocolor.image_output import gray_png

    data = gray_png(image)
    with atomic_path(path) as temp:
        Path(temp).write_bytes(data)
    return path
