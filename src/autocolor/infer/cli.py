"""``autocolor colorize INPUT... -o OUTDIR``: files, folders (recursive) or globs.

Outputs keep the inputs' relative layout, are written through a temporary name and a rename,
are skipped when they exist (so a killed batch resumes) unless --overwrite, and never replace an
input. A bad input costs one line on stderr; the batch goes on; the exit status is 1 if any
input failed.
"""

from __future__ import annotations

import argparse
import glob
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from autocolor.images import DEFAULT_MAX_PIXELS, INPUT_SUFFIXES, ImageError, output_suffix


@dataclass(frozen=True)
class Job:
    source: Path
    target: Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="photos, folders or globs")
    parser.add_argument("-o", "--output", required=True, type=Path, help="output folder")
    parser.add_argument("--model", default="default", help="installed weights name or a path")
    parser.add_argument("--render-size", type=int, default=None,
                        help="long side the network sees (default: the model's)")
    parser.add_argument("--backend", choices=("auto", "torch", "onnx"), default="auto")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--saturation", type=float, default=1.0, help="chroma scale, 1 = as predicted")
    parser.add_argument("--hints", type=Path, help="JSON hint points (coordinates as stored)")
    parser.add_argument("--reference", type=Path, help="a colour photo of a similar scene")
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    parser.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS,
                        help=f"refuse larger inputs (default {DEFAULT_MAX_PIXELS:,})")


def _expand(inputs: list[str]) -> tuple[list[tuple[Path, Path]], list[str]]:
    """-> [(file, root its relative output path is taken from)], [inputs that matched nothing]."""
    found: list[tuple[Path, Path]] = []
    missing: list[str] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*")
                           if p.is_file() and p.suffix.lower() in INPUT_SUFFIXES
                           and not p.name.startswith("."))
            found += [(p, path) for p in files]
        elif path.is_file():
            found.append((path, path.parent))
        else:
            matches = sorted(Path(m) for m in glob.glob(item, recursive=True) if Path(m).is_file())
            if matches:
                found += [(m, m.parent) for m in matches]
            else:
                missing.append(item)
    return found, missing


def plan_jobs(inputs: list[str], output: Path) -> tuple[list[Job], list[str]]:
    """Map inputs to outputs; -> (jobs, error lines). Two inputs that would share an output name
    (a.png and a.tif) keep their extension in the name instead."""
    found, missing = _expand(inputs)
    errors = [f"{item}: no such file, folder or matching glob" for item in missing]
    seen: set[Path] = set()
    unique = []
    for source, root in found:
        resolved = source.resolve()
        if resolved not in seen:
            seen.add(resolved)
            unique.append((source, root))
    targets: dict[Path, list[Path]] = {}
    for source, root in unique:
        relative = source.relative_to(root)
        target = output / relative.parent / (relative.stem + output_suffix(source))
        targets.setdefault(target, []).append(source)
    jobs: list[Job] = []
    input_paths = {source.resolve() for source, _ in unique}
    for target, sources in targets.items():
        for source in sources:
            final = target
            if len(sources) > 1:
                final = target.with_name(f"{source.stem}{source.suffix.lower()}{target.suffix}")
            if final.resolve() in input_paths:
                errors.append(f"{source}: output {final} would overwrite an input; choose another -o")
                continue
            jobs.append(Job(source, final))
    jobs.sort(key=lambda job: str(job.source))
    return jobs, errors


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from autocolor.images import load_image, save_image

    jobs, errors = plan_jobs(args.inputs, args.output)
    for line in errors:
        print(f"error: {line}", file=sys.stderr)
    pending = [job for job in jobs if args.overwrite or not job.target.exists()]
    skipped = len(jobs) - len(pending)
    if skipped:
        print(f"skipping {skipped} existing output(s); --overwrite to redo them", file=sys.stderr)

    hints = None
    if args.hints is not None:
        from autocolor.hints import HintError, HintSet

        try:
            hints = HintSet.from_json(args.hints)
        except (HintError, OSError) as error:
            print(f"error: {args.hints}: {error}", file=sys.stderr)
            return 1
    reference = None
    if args.reference is not None:
        try:
            from PIL import Image

            with Image.open(args.reference) as image:
                reference = image.convert("RGB")
        except OSError as error:
            print(f"error: {args.reference}: cannot read the reference photo ({error})",
                  file=sys.stderr)
            return 1

    if not pending:
        return 1 if errors else 0
    from autocolor.infer.colorizer import Colorizer

    colorizer = Colorizer.from_pretrained(args.model, backend=args.backend, device=args.device,
                                          render_size=args.render_size, batch_size=args.batch_size)
    failures = len(errors)
    written: list[Path] = []
    progress = tqdm(total=len(pending), unit="photo", disable=len(pending) < 2, file=sys.stderr)

    def load(job: Job):
        try:
            return load_image(job.source, max_pixels=args.max_pixels)
        except ImageError as error:
            return error

    # Decoding the next photos overlaps with colouring the current ones (Pillow releases the GIL).
    with ThreadPoolExecutor(max_workers=2) as pool:
        for job, loaded in zip(pending, pool.map(load, pending), strict=True):
            try:
                if isinstance(loaded, ImageError):
                    raise loaded
                steering = {"saturation": args.saturation}
                if hints is not None:
                    steering["hints"] = hints.to_oriented(loaded.orientation, loaded.stored_size)
                    steering["hints"].validate(loaded.size)
                if reference is not None:
                    steering["reference"] = reference
                rgb = colorizer.colorize_loaded(loaded, **steering)
                written.append(save_image(rgb, job.target, loaded))
            except ImageError as error:
                failures += 1
                progress.write(f"error: {error}", file=sys.stderr)
            except (OSError, ValueError) as error:
                failures += 1
                reason = str(error).splitlines()[0] if str(error) else type(error).__name__
                progress.write(f"error: {job.source}: {reason}", file=sys.stderr)
            progress.update(1)
    progress.close()
    for path in written:
        print(path)
    if failures:
        print(f"{failures} input(s) failed, {len(written)} written", file=sys.stderr)
    return 1 if failures else 0


def main() -> int:  # pragma: no cover - convenience for `python -m`
    from autocolor.cli import main as cli_main

    return cli_main(["colorize", *sys.argv[1:]])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

