"""``autocolor colorize INPUT... -o OUTDIR``: files, folders (recursive) or globs.

Outputs keep the inputs' relative layout, are written through a temporary name and a rename,
are skipped when they exist (so a killed batch resumes) unless --overwrite, and never replace an
input. A bad input costs one line on stderr; the batch goes on; the exit status is 1 if any
input failed.

Two engines run the same jobs: ``local`` (this process: threads decode, the network runs,
a thread encodes) and ``ray`` (a Ray Data pipeline on a local runtime or a cluster,
:mod:`autocolor.infer.ray_engine`), which also takes ``file://``, ``s3://`` and ``gs://`` URIs.
Everything else (skipping, error lines, the summary, the exit status) is this module's, for
both; which output each input gets is :mod:`autocolor.infer.jobs`'.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter, deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

from autocolor.batch import (
    Refused,
    add_restore_arguments,
    error_line,
    local_path,
    map_path,
    output_marks,
    progress_bar,
    restore_option,
    restore_summary,
    save_gray,
    skip_line,
    summary_line,
)
from autocolor.credentials import add_c2pa_arguments
from autocolor.image_output import OUTPUT_FORMATS
from autocolor.images import DEFAULT_MAX_PIXELS, ImageError, LoadedImage
from autocolor.infer.jobs import Job, plan_jobs
from autocolor.infer.storage import Location, Uri, is_uri, location, read_bytes

# Decoded photos waiting for the network, in pixels (12 MP: about 50 MB each as float32 L).
PREFETCH_PIXELS = 30_000_000
# Colour results waiting for the encoder (12 MP: 36 MB each).
SAVES_IN_FLIGHT = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="photos, folders or globs (with --engine ray also file://, s3://, "
                             "gs:// URIs of files or folders)")
    parser.add_argument("-o", "--output", required=True, type=location,
                        help="output folder (with --engine ray also a URI)")
    parser.add_argument("--model", default="default", help="installed weights name or a path")
    parser.add_argument("--render-size", type=int, default=None,
                        help="long side the network sees (default: the model's)")
    parser.add_argument("--backend", choices=("auto", "torch", "onnx"), default="auto")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--batch-size", type=int, default=4,
                        help="photos whose renders have the same shape share a network run")
    parser.add_argument("--saturation", type=float, default=1.0, help="chroma scale, 1 = as predicted")
    parser.add_argument("--upsampling", choices=("guided", "bilinear"), default="guided",
                        help="colour to full size: guided (edge-aware, default) or bilinear")
    parser.add_argument("--hints", type=Path, help="JSON hint points (coordinates as stored)")
    parser.add_argument("--reference", type=Path, help="a colour photo of a similar scene")
    parser.add_argument("--format", choices=sorted(OUTPUT_FORMATS), default=None,
                        help="output format (default: JPEG stays JPEG, everything else becomes "
                             "PNG; a photo the format cannot hold, 16 bits or alpha in JPEG, "
                             "becomes PNG)")
    parser.add_argument("--no-provenance", action="store_true",
                        help="leave out the XMP mark that says a trained model coloured the "
                             "photo (IPTC digital source type; see the README before using it)")
    add_c2pa_arguments(parser)
    add_restore_arguments(parser)
    parser.add_argument("--confidence-map", type=Path, metavar="DIR",
                        help="also write DIR/<name>.png per photo: 8-bit gray at the photo's "
                             "size, 255 where the model is sure of the colour, 0 where it "
                             "guessed (docs/confidence.md)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    parser.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS,
                        help=f"refuse larger inputs (default {DEFAULT_MAX_PIXELS:,})")
    parser.add_argument("--engine", choices=("local", "ray"), default="local",
                        help="local: this process; ray: a Ray Data pipeline (a cluster, or a "
                             "local runtime), docs/scale.md")
    ray = parser.add_argument_group("Ray engine (--engine ray)")
    ray.add_argument("--ray-address", metavar="HOST:PORT",
                     help="join this Ray cluster (default: start a local runtime on 127.0.0.1)")
    ray.add_argument("--concurrency", type=int, default=None,
                     help="network actors, one model session each (default: one per GPU with "
                          "--device cuda; else 1, growing to one per 4 CPUs of the cluster)")
    ray.add_argument("--actor-cpus", type=float, default=1.0,
                     help="CPUs each network actor reserves (default 1)")
    ray.add_argument("--actor-threads", type=int, default=None,
                     help="ONNX Runtime threads of each network actor (default: every core for "
                          "the one actor of a local runtime, else --actor-cpus)")
    ray.add_argument("--num-gpus", type=float, default=None,
                     help="GPUs each network actor reserves (default: 1 with --device cuda)")


def _loaded_batches(pending: list[Job], loaders: ThreadPoolExecutor, args: argparse.Namespace,
                    batch_size: int, fail) -> Iterator[list[tuple[Job, LoadedImage]]]:
    """Decode ahead on ``loaders`` -> an iterator of batches of up to ``batch_size`` loaded
    photos, in order; photos that fail to load go to ``fail`` and are left out. The first
    decode starts at once (it overlaps with loading the model).

    Decoding runs ahead by up to two batches but by no more than :data:`PREFETCH_PIXELS`
    (sizes estimated from the photos decoded so far; one photo at a time until the first is
    known), which bounds memory on big photos. A batch holds at most that many pixels too:
    batching pays for small photos only, the network's share of the work being small on big
    ones.
    """
    from autocolor.images import load_image

    def load(job: Job):
        try:
            return load_image(local_path(job.source), max_pixels=args.max_pixels)
        except ImageError as error:
            return error

    def pixels(future: Future, guess: int) -> int:
        if future.done() and isinstance(future.result(), LoadedImage):
            return future.result().lightness.size
        return guess

    queue: deque[tuple[Job, Future]] = deque()
    upcoming = iter(pending)
    last_pixels: int | None = None  # pixels of the last photo decoded

    def fill() -> None:
        while len(queue) < 2 * batch_size + 1:
            if queue and (last_pixels is None or last_pixels + sum(
                    pixels(future, last_pixels) for _, future in queue) > PREFETCH_PIXELS):
                return
            job = next(upcoming, None)
            if job is None:
                return
            queue.append((job, loaders.submit(load, job)))

    def batches() -> Iterator[list[tuple[Job, LoadedImage]]]:
        nonlocal last_pixels
        while queue:
            batch: list[tuple[Job, LoadedImage]] = []
            in_batch = 0
            while queue and len(batch) < batch_size:
                job, future = queue.popleft()
                loaded = future.result()
                if isinstance(loaded, ImageError):
                    fail(job, loaded)
                    fill()
                    continue
                size = loaded.lightness.size
                if batch and in_batch + size > PREFETCH_PIXELS:
                    queue.appendleft((job, future))
                    break
                last_pixels = size
                batch.append((job, loaded))
                in_batch += size
                fill()
            if batch:
                yield batch

    fill()  # decoding starts now, before the caller loads the model
    return batches()


def run(args: argparse.Namespace) -> int:
    try:
        restore = restore_option(args)
    except Refused as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    uris = [item for item in args.inputs if is_uri(item)]
    if isinstance(args.output, Uri):
        uris.append(str(args.output))
    if uris and args.engine != "ray":
        print(f"error: {uris[0]}: URIs are read and written by --engine ray", file=sys.stderr)
        return 1
    jobs, errors = plan_jobs(args.inputs, args.output, args.format)
    for line in errors:
        print(f"error: {line}", file=sys.stderr)
    if args.overwrite:
        pending = jobs
    else:
        from autocolor.infer.storage import existing

        done = existing([job.target for job in jobs], args.output)
        pending = [job for job in jobs if job.target not in done]
    skipped = skip_line(len(jobs) - len(pending))
    if skipped:
        print(skipped, file=sys.stderr)

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
        from autocolor.infer.colorizer import reference_rgb

        try:  # once, at the size it is used at, under the same limits as every input
            reference = reference_rgb(args.reference, args.max_pixels)
        except ImageError as error:
            print(f"error: {error.path}: cannot read the reference photo ({error.reason})",
                  file=sys.stderr)
            return 1

    if not pending:
        return 1 if errors else 0
    started = time.monotonic()
    tally: Counter[str] = Counter()  # restored photos ("") and the steps that ran on them
    try:
        if args.engine == "ray":
            written, failures = _colorize_with_ray(args, pending, hints, reference, restore,
                                                   tally)
        else:
            written, failures = _colorize_locally(args, pending, hints, reference, restore,
                                                  tally)
    except Refused as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    failures += len(errors)
    for path in written:
        print(path)
    seconds = time.monotonic() - started
    print(summary_line(len(written), failures, seconds, "photos", f"engine {args.engine}"),
          file=sys.stderr)
    if restore is not None:
        print(restore_summary(tally), file=sys.stderr)
    return 1 if failures else 0


def _colorize_locally(args: argparse.Namespace, pending: list[Job], hints, reference,
                      restore: str | tuple[str, ...] | None = None,
                      tally: Counter[str] | None = None) -> tuple[list[Location], int]:
    """The local engine: -> (paths written, in job order; photos that failed). ``restore``: as
    :func:`restore_option`; the restored photos written and their steps are counted into
    ``tally``."""
    from autocolor.image_output import save_image
    from autocolor.infer.colorizer import Colorizer

    # For the torch backend (imported later, if at all): OpenMP threads that sleep when idle.
    # Spinning ones fight this command's own decoding and encoding threads and anything else
    # running; on a busy 2-core machine the torch path ran 1.5x (end to end) to 8x (network)
    # slower with them. An explicit setting wins.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

    failures = 0
    written: list[Location] = []
    progress = progress_bar(len(pending), "photo")

    def fail(job: Job, error: Exception) -> None:
        nonlocal failures
        failures += 1
        progress.write(error_line(job.source, error), file=sys.stderr)
        progress.update(1)

    saving: deque[tuple[Job, Future, tuple[str, ...]]] = deque()
    tally = Counter() if tally is None else tally

    def collect_saves(keep: int) -> None:
        while len(saving) > keep:
            job, future, steps = saving.popleft()
            try:
                written.append(future.result())
                progress.update(1)
            except (ImageError, OSError, ValueError) as error:
                fail(job, error)
                continue
            if steps:
                tally.update(("", *steps))

    def write_map(made: Any, path: Path) -> Path:
        return save_gray(made() if callable(made) else made, path)

    def save(rgb, plan, xmp, job, credentials, beside):
        sign = None
        if credentials is not None:  # the input is the manifest's ingredient
            sign = credentials.for_photo(read_bytes(job.source), job.source.name,
                                         plan.restored_steps)
        written = save_image(rgb, plan.target, plan.loaded, xmp, sign)
        for future in beside:
            future.result()
        return written

    # Three stages overlap: threads decode the next photos, the main thread runs the network
    # and the join (itself on all cores), a thread encodes and writes (Pillow releases the GIL).
    # The first photo decodes while the model loads.
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="autocolor-load") as loaders, \
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="autocolor-save") as savers, \
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="autocolor-maps") as mappers:
        batches = _loaded_batches(pending, loaders, args, max(1, args.batch_size), fail)
        colorizer = Colorizer.from_pretrained(args.model, backend=args.backend,
                                              device=args.device, render_size=args.render_size,
                                              batch_size=args.batch_size,
                                              max_pixels=args.max_pixels,
                                              upsampling=args.upsampling)
        xmp, credentials = output_marks(args, colorizer)
        if args.confidence_map is not None and not colorizer.has_confidence:
            raise Refused(f"--confidence-map: the model {args.model} has no confidence output "
                          "(a regression head, or an ONNX file exported before it)")
        for batch in batches:
            plans = []  # the per-photo policy: limits, hints on the photo, the output's name
            for job, loaded in batch:
                try:
                    plans.append((job, colorizer.plan(
                        loaded, local_path(job.target), hints=hints, hints_as_stored=True,
                        reference=reference, saturation=args.saturation, name=str(job.source),
                        restore=restore)))
                except (ImageError, OSError, ValueError) as error:
                    fail(job, error)
            # Each plan holds its network input, which also guides the upsampling.
            try:
                inputs = [plan.render_input for _, plan in plans]
                if args.confidence_map is not None:
                    pairs = colorizer.predict(inputs, confidence=True)
                    predicted, sure = [ab for ab, _ in pairs], [map_ for _, map_ in pairs]
                else:
                    predicted, sure = colorizer.predict(inputs), [None] * len(plans)
            except (OSError, ValueError) as error:
                for job, _ in plans:
                    fail(job, error)
                continue
            for (job, plan), ab_norm, confidence in zip(plans, predicted, sure, strict=True):
                # The restore mask and the confidence map (made at full size and encoded) on
                # their own thread, from now on: beside the join and the output's encode.
                extras: list[tuple[Any, Path]] = []  # (the map, or what makes it; its path)
                if args.restore_mask is not None:
                    assert plan.restored is not None
                    extras.append((plan.restored.mask,
                                   map_path(job.target, args.output, args.restore_mask)))
                if confidence is not None:
                    extras.append((partial(colorizer.confidence_map, confidence,
                                           plan.loaded.size),
                                   map_path(job.target, args.output, args.confidence_map)))
                beside = [mappers.submit(write_map, made, path) for made, path in extras]
                try:
                    rgb = colorizer.finish_plan(plan, ab_norm, for_file=True)
                except (ImageError, OSError, ValueError) as error:
                    fail(job, error)
                    for future in beside:  # no map of a photo that has no output
                        if future.exception() is None:
                            future.result().unlink(missing_ok=True)
                    continue
                steps = plan.restored_steps
                marked = colorizer.xmp(True, steps) if steps and xmp is not None else xmp
                saving.append((job, savers.submit(save, rgb, plan, marked, job, credentials,
                                                  beside), steps))
                del rgb
                collect_saves(keep=SAVES_IN_FLIGHT)
        collect_saves(keep=0)
    progress.close()
    return written, failures


def _colorize_with_ray(args: argparse.Namespace, pending: list[Job], hints, reference,
                       restore: str | tuple[str, ...] | None = None,
                       tally: Counter[str] | None = None) -> tuple[list[Location], int]:
    """The Ray engine (:mod:`autocolor.infer.ray_engine`): -> (paths written, in job order,
    named as the local engine names them; photos that failed). ``restore`` and ``tally`` as
    for the local engine."""
    from autocolor.infer import ray_cluster, ray_engine

    if not args.ray_address or ray_cluster.on_loopback(args.ray_address):
        ray_cluster.loopback_environment()  # before Ray is imported
    import ray  # noqa: F401  (without the `ray` extra, fail here, in one line: autocolor.cli)

    settings = ray_engine.settings_for(args, hints, reference, restore)
    tally = Counter() if tally is None else tally
    failures = 0
    finished: dict[int, Location] = {}
    progress = progress_bar(len(pending), "photo")

    def on_result(row: dict[str, Any]) -> None:
        nonlocal failures
        if row["error"] is not None:
            failures += 1
            progress.write(row["error"], file=sys.stderr)
        else:  # the job's own spelling of the path; the name may have become .png
            target = pending[row["index"]].target
            finished[row["index"]] = target.with_name(location(row["written"]).name)
            if row.get("restored"):
                tally.update(("", *row["restored"].split(",")))
        progress.update(1)

    # Workers get absolute paths (their working folder is not this one); error lines name the
    # inputs as given.
    rows = [(index, str(job.source), _absolute(job.source), _absolute(job.target))
            for index, job in enumerate(pending)]
    try:
        ray_engine.colorize_jobs(rows, settings, concurrency=args.concurrency,
                                 num_gpus=ray_engine.gpus_per_actor(args.device, args.num_gpus),
                                 address=args.ray_address, on_result=on_result)
    finally:
        progress.close()
    return [finished[index] for index in sorted(finished)], failures


def _absolute(where: Location) -> str:
    return str(where) if isinstance(where, Uri) else os.path.abspath(where)


def main() -> int:  # pragma: no cover - convenience for `python -m`
    from autocolor.cli import main as cli_main

    return cli_main(["colorize", *sys.argv[1:]])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

