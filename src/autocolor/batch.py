"""What every batch command shares (``autocolor colorize`` on either engine, ``autocolor
video``): which outputs the inputs get (:func:`expand_inputs`, :func:`folder_targets`: the one
naming policy, never an input overwritten), the one line a failed input costs, the refusal of an
option before any work, the marks every output carries, the restoration options and their
summary line, and the small gray maps written beside outputs. Torch-free, and importing nothing
from a command's module, so that the engines and the commands depend on it and not on one
another.
"""

from __future__ import annotations

import argparse
import glob
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autocolor.credentials import content_credentials
from autocolor.errors import first_line
from autocolor.images import ImageError
from autocolor.infer.storage import Location, Uri, is_uri


@dataclass(frozen=True)
class Job:
    """One input and where its output goes."""

    source: Location  # a Path, or a Uri (photos, with --engine ray)
    target: Location
    automatic_suffix: bool = False  # films: the container was chosen here, .mkv may replace it


def local_path(location: Location) -> Path:
    """A job's input or output on the local engine and in films, which take plain paths only
    (URIs go to the Ray engine): the location as the Path it is."""
    if not isinstance(location, Path):
        raise ValueError(f"{location}: URIs are read and written by --engine ray")
    return location


def expand_inputs(inputs: list[str], is_input: Callable[[str], bool], uris: bool = False
                  ) -> tuple[list[tuple[Location, Location]], list[str], bool]:
    """Files, folders (recursive; the files whose name ``is_input``), globs and, with ``uris``,
    URIs (a file or a folder, no globs) -> ([(file, root its relative output path is taken
    from)], [inputs that matched nothing], whether a folder or a glob was given)."""
    found: list[tuple[Location, Location]] = []
    missing: list[str] = []
    several = False
    for item in inputs:
        if uris and is_uri(item):
            from autocolor.infer.storage import list_photos

            uri = Uri.parse(item)
            files = list_photos(uri)
            if files is None:
                missing.append(item)
            else:
                several = several or files != [uri]
                found += [(file, uri.parent if files == [uri] else uri) for file in files]
            continue
        path = Path(item)
        if path.is_dir():
            several = True
            inside = sorted(p for p in path.rglob("*") if p.is_file() and is_input(p.name))
            found += [(p, path) for p in inside]
        elif path.is_file():
            found.append((path, path.parent))
        else:
            matches = sorted(Path(m) for m in glob.glob(item, recursive=True) if Path(m).is_file())
            several = several or bool(matches)
            if matches:
                found += [(m, m.parent) for m in matches]
            else:
                missing.append(item)
    return found, missing, several


def unique_inputs(found: list[tuple[Location, Location]]) -> list[tuple[Location, Location]]:
    """``found`` without the files named twice (by two inputs, or a file and its folder)."""
    seen: set[Location] = set()
    unique = []
    for source, root in found:
        resolved = source.resolve()
        if resolved not in seen:
            seen.add(resolved)
            unique.append((source, root))
    return unique


def folder_targets(unique: list[tuple[Location, Location]], output: Location,
                   suffix_of: Callable[[Location], str]) -> list[tuple[Location, Location]]:
    """The naming policy of a folder of outputs: -> [(source, target)]. Each output keeps its
    input's path relative to the input's root, with the suffix ``suffix_of(source)``; inputs
    that would share an output (a.png and a.tif, a.avi and a.mov) all keep their extension in
    the name instead (a.png.png, a.tif.png), so no name depends on the order of the inputs."""
    targets: dict[Location, list[Location]] = {}
    for source, root in unique:
        relative = source.relative_to(root)  # type: ignore[arg-type]
        target = output / relative.parent / (relative.stem + suffix_of(source))
        targets.setdefault(target, []).append(source)
    pairs = []
    for target, sources in targets.items():
        for source in sources:
            final = target
            if len(sources) > 1:
                final = target.with_name(f"{source.stem}{source.suffix.lower()}{target.suffix}")
            pairs.append((source, final))
    return pairs


class _NoBar:
    """What a progress bar offers, for one item: no bar (and no tqdm import, ~25 ms of a
    one-photo command's start)."""

    def update(self, count: int = 1) -> None:
        pass

    def write(self, line: str, file: Any = None) -> None:
        print(line, file=file if file is not None else sys.stderr)

    def close(self) -> None:
        pass


def progress_bar(total: int, unit: str) -> Any:
    """A tqdm bar on stderr over ``total`` items; for fewer than two, none."""
    if total < 2:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, file=sys.stderr)


def skip_line(skipped: int) -> str | None:
    """The line saying how many finished outputs a resumed batch skips (None: none)."""
    return (f"skipping {skipped} existing output(s); --overwrite to redo them" if skipped
            else None)


def summary_line(written: int, failures: int, seconds: float, unit: str, detail: str = "") -> str:
    """The batch's last line: ``3 written in 1.2 s (2.5 photos/s, engine local)``, failures
    first when there are any."""
    done = f"{written} written" if not failures else f"{failures} input(s) failed, {written} written"
    rate = f"{written / max(seconds, 1e-9):.1f} {unit}/s" + (f", {detail}" if detail else "")
    return f"{done} in {seconds:.1f} s ({rate})"


def overwrite_line(source: Location, target: Location) -> str:
    """The error line of an output that would replace an input."""
    return f"{source}: output {target} would overwrite an input; choose another -o"


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


def map_path(target: Location, output: Location, folder: Path) -> Path:
    """Where --restore-mask and --confidence-map write a photo's map (both engines): its
    output's path under ``output``, placed under ``folder`` (a local folder), as ``.png``; an
    output outside ``output`` by its name."""
    inside, root = (target.path if isinstance(target, Uri) else target,
                    output.path if isinstance(output, Uri) else output)
    try:
        relative = Path(str(inside.relative_to(root)))
    except ValueError:
        relative = Path(inside.name)
    return folder / relative.with_suffix(".png")


def save_gray(image: Any, path: Path) -> Path:
    """Write an (H, W) bool mask (255 where true) or uint8 map as an 8-bit gray PNG,
    atomically (:func:`autocolor.image_output.gray_png`)."""
    from autocolor.atomic import atomic_path
    from autocolor.image_output import gray_png

    data = gray_png(image)
    with atomic_path(path) as temp:
        Path(temp).write_bytes(data)
    return path
