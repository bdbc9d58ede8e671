"""Which outputs ``autocolor colorize`` writes: inputs (files, folders, globs, URIs) mapped to
output paths that keep the inputs' relative layout, never replace an input, and stay apart when
two inputs share a name."""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path

from autocolor.image_output import OUTPUT_SUFFIXES, output_suffix
from autocolor.infer.storage import Location, Uri, is_photo_name, is_uri


@dataclass(frozen=True)
class Job:
    source: Location  # a Path, or a Uri with --engine ray
    target: Location


def _expand(inputs: list[str]) -> tuple[list[tuple[Location, Location]], list[str]]:
    """-> [(file, root its relative output path is taken from)], [inputs that matched nothing].
    A URI names a file or a folder (no globs)."""
    found: list[tuple[Location, Location]] = []
    missing: list[str] = []
    for item in inputs:
        if is_uri(item):
            from autocolor.infer.storage import list_photos

            uri = Uri.parse(item)
            files = list_photos(uri)
            if files is None:
                missing.append(item)
            else:
                found += [(file, uri.parent if files == [uri] else uri) for file in files]
            continue
        path = Path(item)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and is_photo_name(p.name))
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


def plan_jobs(inputs: list[str], output: Location,
              fmt: str | None = None) -> tuple[list[Job], list[str]]:
    """Map inputs to outputs; -> (jobs, error lines). Two inputs that would share an output name
    (a.png and a.tif) keep their extension in the name instead. ``fmt``: every output in that
    format (a key of :data:`autocolor.image_output.OUTPUT_FORMATS`), else :func:`output_suffix`'s
    rule."""
    found, missing = _expand(inputs)
    errors = [f"{item}: no such file, folder or matching glob" for item in missing]
    seen: set[Location] = set()
    unique = []
    for source, root in found:
        resolved = source.resolve()
        if resolved not in seen:
            seen.add(resolved)
            unique.append((source, root))
    targets: dict[Location, list[Location]] = {}
    for source, root in unique:
        relative = source.relative_to(root)
        suffix = OUTPUT_SUFFIXES[fmt][0] if fmt else output_suffix(source.name)
        target = output / relative.parent / (relative.stem + suffix)
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
