"""Which outputs ``autocolor colorize`` writes: inputs (files, folders, globs, URIs) mapped to
output paths that keep the inputs' relative layout, never replace an input, and stay apart when
two inputs share a name (:mod:`autocolor.batch`'s policy, with the photos' suffix rule)."""

from __future__ import annotations

from autocolor.batch import (
    Job,
    expand_inputs,
    folder_targets,
    overwrite_line,
    unique_inputs,
)
from autocolor.image_output import OUTPUT_SUFFIXES, output_suffix
from autocolor.infer.storage import Location, is_photo_name

__all__ = ["Job", "plan_jobs"]


def plan_jobs(inputs: list[str], output: Location,
              fmt: str | None = None) -> tuple[list[Job], list[str]]:
    """Map inputs to outputs; -> (jobs, error lines). Two inputs that would share an output name
    (a.png and a.tif) keep their extension in the name instead. ``fmt``: every output in that
    format (a key of :data:`autocolor.image_output.OUTPUT_FORMATS`), else :func:`output_suffix`'s
    rule."""
    found, missing, _ = expand_inputs(inputs, is_photo_name, uris=True)
    errors = [f"{item}: no such file, folder or matching glob" for item in missing]
    unique = unique_inputs(found)
    input_paths = {source.resolve() for source, _ in unique}
    jobs: list[Job] = []
    suffix_of = (lambda source: OUTPUT_SUFFIXES[fmt][0]) if fmt else \
        (lambda source: output_suffix(source.name))
    for source, target in folder_targets(unique, output, suffix_of):
        if target.resolve() in input_paths:
            errors.append(overwrite_line(source, target))
            continue
        jobs.append(Job(source, target))
    jobs.sort(key=lambda job: str(job.source))
    return jobs, errors
