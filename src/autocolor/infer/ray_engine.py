"""``autocolor colorize --engine ray``: the same jobs as the local engine, as a Ray Data pipeline.

Four stages stream photos through the cluster; Ray Data's backpressure bounds what is in flight
(never the number of photos):

1. read the bytes (tasks; plain paths, ``file://``, ``s3://``, ``gs://`` through
   :mod:`autocolor.infer.storage`);
2. decode and build the model input (the same tasks, fused by Ray Data):
   :func:`~autocolor.images.load_image`, :meth:`Colorizer.plan` (which builds the network's
   input, :attr:`PhotoPlan.render_input`);
3. the network, in a pool of actors holding one model session each (ONNX Runtime on the CPU):
   :meth:`Colorizer.predict` on batches of ``--batch-size``;
4. join, encode and write (tasks): :meth:`Colorizer.finish_plan`,
   :func:`~autocolor.infer.storage.write_result`.

Every step is a method the local engine calls too; only the transport differs. A photo that
fails becomes a row with its error line, which later stages pass on to the driver. Rows are Arrow
tables: tensors as float32 bytes with their shapes, the per-photo plan (full-resolution
lightness and metadata) pickled, so that the network actor passes it on without touching it
(an 8-bit gray photo pickles as its codes, one byte a pixel: ``LoadedImage.__getstate__``).
With ``--restore-mask`` and ``--confidence-map`` the write tasks also write the maps, into
folders every node can reach. Starting or joining Ray and sizing the actor pool:
:mod:`autocolor.infer.ray_cluster`.
"""

from __future__ import annotations

import logging
import os
import pickle
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from autocolor.batch import Refused
from autocolor.images import ImageError, load_image
from autocolor.infer.colorizer import Colorizer, PhotoPlan, marked_xmp
from autocolor.infer.ray_cluster import (
    actor_threads,
    cluster_resources,
    network_pool,
    start_ray,
    starved,
)
from autocolor.infer.storage import Location, Uri, location, read_bytes, write_result

if TYPE_CHECKING:
    import pyarrow as pa

# Photos per decode and per write task call. Small: a batch holds full-resolution photos, and a
# task's output block holds them all (12 MP: about 50 MB each as float32 lightness).
TASK_BATCH = 2
# Input rows per block of the job list (strings only; a decode task takes one block at a time).
JOBS_PER_BLOCK = 16
# Memory a network actor reserves (bytes): its model session and the activations of a batch.
# Besides being true, it makes the actors' resources differ from the tasks', which keeps Ray Data
# from fusing the decode tasks into the actors (it fuses a task stage into the actor stage that
# follows when their remote arguments are equal: ray-project/ray#54433).
NETWORK_ACTOR_MEMORY = 1 << 30
# Per-photo timings each stage records (seconds), for the summary of `bench_scale.py`.
TIMINGS = ("read_s", "decode_s", "input_s", "network_s", "join_s", "write_s")


@dataclass(frozen=True)
class RaySettings:
    """What every stage needs to know, shipped once per task or actor."""

    model: str  # installed weights name or a path every node can read
    backend: str  # auto | torch | onnx, as --backend
    device: str  # cpu | cuda: where the network actors run
    render_size: int  # resolved on the driver from the model's metadata
    metadata: dict[str, Any]  # the model's, for the stages that do not load it
    max_pixels: int
    batch_size: int  # photos per network call
    saturation: float = 1.0
    hints: Any = None  # HintSet, coordinates as stored in the files
    reference: np.ndarray | None = None  # (h, w, 3) uint8, reduced once on the driver
    actor_cpus: float = 1.0  # CPUs a network actor reserves
    # ONNX Runtime threads of a network actor; None: round(actor_cpus), unless the driver
    # decides otherwise (actor_threads())
    actor_threads: int | None = None
    xmp: bytes | None = None  # the provenance mark of every output (None: --no-provenance)
    credentials: Any = None  # ContentCredentials that sign every output (--c2pa-*), or None
    upsampling: str = "guided"  # as --upsampling
    restore: Any = None  # as Colorizer.plan's restore: None (never), "auto" or the steps
    output: str = ""  # the output folder or file as given, absolute (where maps are named from)
    restore_mask: str | None = None  # --restore-mask DIR, absolute: every node writes there
    confidence_map: str | None = None  # --confidence-map DIR, likewise
    provenance: Any = None  # the Provenance of xmp, to add a restored photo's history


def gpus_per_actor(device: str, num_gpus: float | None) -> float:
    """``--num-gpus``, by default one GPU per network actor with ``--device cuda``."""
    if num_gpus is not None:
        return max(0.0, num_gpus)
    return 1.0 if device == "cuda" else 0.0


def settings_for(args, hints, reference, restore: Any = None) -> RaySettings:
    """The stages' settings from the command's arguments. The model is opened here once, on
    the CPU, for its metadata (the render size): a bad ``--model`` fails before any work."""
    # A name resolves on each node (its own installation); a path must be one they all read.
    model = os.path.abspath(args.model) if os.path.isfile(args.model) else str(args.model)
    # With --device cuda the actors take the torch backend for "auto"; read that file's metadata.
    backend = args.backend if args.device == "cpu" or args.backend != "auto" else "torch"
    probe = Colorizer.from_pretrained(model, backend=backend, device="cpu",
                                      render_size=args.render_size, max_pixels=args.max_pixels)
    from autocolor.batch import output_marks

    xmp, credentials = output_marks(args, probe)  # of the file the actors run
    confidence_map = getattr(args, "confidence_map", None)
    if confidence_map is not None and not probe.has_confidence:
        raise Refused(f"--confidence-map: the model {args.model} has no confidence output "
                      "(a regression head, or an ONNX file exported before it)")
    restore_mask = getattr(args, "restore_mask", None)
    output = args.output
    return RaySettings(model=model, backend=args.backend, device=args.device,
                       render_size=probe.render_size, metadata=probe.metadata,
                       max_pixels=args.max_pixels, batch_size=max(1, args.batch_size),
                       saturation=args.saturation, hints=hints, reference=reference,
                       actor_cpus=args.actor_cpus,
                       actor_threads=getattr(args, "actor_threads", None), xmp=xmp,
                       credentials=credentials,
                       upsampling=args.upsampling, restore=restore,
                       provenance=probe.provenance if xmp is not None else None,
                       output=str(output) if isinstance(output, Uri) else os.path.abspath(output),
                       restore_mask=_absolute_folder(restore_mask),
                       confidence_map=_absolute_folder(confidence_map))


def _absolute_folder(folder: str | os.PathLike | None) -> str | None:
    return None if folder is None else os.path.abspath(folder)


class _NoNetwork:
    """The backend of the stages that plan and join but never run the network."""

    name = "none"
    device = "cpu"
    has_confidence = False

    def __init__(self, metadata: dict[str, Any]) -> None:
        self.metadata = metadata

    def predict(self, l_norm: np.ndarray) -> np.ndarray:  # pragma: no cover - a bug if called
        raise RuntimeError("this stage does not run the network")

    def predict_confidence(self, l_norm: np.ndarray
                           ) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - a bug
        raise RuntimeError("this stage does not run the network")


def _policy(settings: RaySettings) -> Colorizer:
    """A colorizer without a network: plan, model inputs and the join, as the local engine's."""
    return Colorizer(_NoNetwork(settings.metadata), settings.render_size,
                     batch_size=settings.batch_size, max_pixels=settings.max_pixels,
                     upsampling=settings.upsampling)


def _one_core() -> None:
    """A task reserves one CPU: its strips of pixels run on one thread (Ray runs the others)."""
    os.environ["AUTOCOLOR_THREADS"] = "1"


def _failure(source: str, error: Exception) -> str:
    from autocolor.batch import error_line

    return error_line(source, error)


# -- the stages -----------------------------------------------------------------------------

def decode_stage(table: pa.Table, settings: RaySettings) -> pa.Table:
    """Stages 1 and 2. Rows (index, source as the user named it, path, target; absolute)
    -> (index, source, target as fitted, error, the model input and the plan, timings)."""
    import pyarrow as pa

    _one_core()
    colorizer = _policy(settings)
    out: dict[str, list] = {name: [] for name in (
        "index", "source", "target", "error", "render_h", "render_w", "model_input", "plan",
        "read_s", "decode_s", "input_s", "decode_pid")}
    for index, source, path, target in zip(
            *(table[name].to_pylist() for name in ("index", "source", "path", "target")),
            strict=True):
        values: dict[str, Any] = {"index": index, "source": source, "target": target,
                                  "error": None, "render_h": 0, "render_w": 0,
                                  "model_input": None, "plan": None, "read_s": None,
                                  "decode_s": None, "input_s": None, "decode_pid": os.getpid()}
        try:
            started = time.perf_counter()
            data = read_bytes(location(path), name=source)
            read = time.perf_counter()
            loaded = load_image(data, settings.max_pixels, name=source)
            decoded = time.perf_counter()
            where = location(target)
            # The plan names the output from the file system's own path (fit_target: .jpg ->
            # .png for photos JPEG cannot hold); a URI keeps its scheme around it.
            plan = colorizer.plan(loaded, where.path if isinstance(where, Uri) else where,
                                  hints=settings.hints, hints_as_stored=True,
                                  reference=settings.reference, saturation=settings.saturation,
                                  name=source, restore=settings.restore)
            assert plan.target is not None  # planned with a target
            # Of the plan's lightness: restored when asked (before its levels stretch, which
            # the output keeps: PhotoPlan.guide_input).
            l_norm = plan.render_input  # (1,h,w)
            values.update(
                target=str(where.with_path(plan.target) if isinstance(where, Uri)
                           else plan.target),
                render_h=l_norm.shape[1], render_w=l_norm.shape[2],
                model_input=np.ascontiguousarray(l_norm, np.float32).tobytes(),
                plan=pickle.dumps(plan, protocol=pickle.HIGHEST_PROTOCOL),
                read_s=read - started, decode_s=decoded - read,
                input_s=time.perf_counter() - decoded)
        except (ImageError, OSError, ValueError) as error:
            values["error"] = _failure(source, error)
        for name, value in values.items():
            out[name].append(value)
    return pa.table({
        "index": pa.array(out["index"], pa.int64()),
        "source": pa.array(out["source"], pa.string()),
        "target": pa.array(out["target"], pa.string()),
        "error": pa.array(out["error"], pa.string()),
        "render_h": pa.array(out["render_h"], pa.int32()),
        "render_w": pa.array(out["render_w"], pa.int32()),
        "model_input": pa.array(out["model_input"], pa.large_binary()),
        "plan": pa.array(out["plan"], pa.large_binary()),
        "read_s": pa.array(out["read_s"], pa.float64()),
        "decode_s": pa.array(out["decode_s"], pa.float64()),
        "input_s": pa.array(out["input_s"], pa.float64()),
        "decode_pid": pa.array(out["decode_pid"], pa.int64()),
    })


class NetworkActor:
    """Stage 3: one model session per actor (ONNX Runtime on the CPU by default); reads only
    the small columns and passes the plans on untouched."""

    def __init__(self, settings: RaySettings) -> None:
        # ONNX Runtime and the join's strips use as many threads as the actor reserved CPUs.
        threads = settings.actor_threads or round(settings.actor_cpus)
        os.environ["AUTOCOLOR_THREADS"] = str(max(1, threads))
        self.settings = settings
        self.colorizer = Colorizer.from_pretrained(
            settings.model, backend=settings.backend, device=settings.device,
            render_size=settings.render_size, batch_size=settings.batch_size,
            max_pixels=settings.max_pixels)

    def __call__(self, table: pa.Table) -> pa.Table:
        import pyarrow as pa

        errors = table["error"].to_pylist()
        ok = [row for row, error in enumerate(errors) if error is None]
        heights, widths = table["render_h"].to_pylist(), table["render_w"].to_pylist()
        blobs = table["model_input"]
        inputs = [np.frombuffer(blobs[row].as_buffer(), np.float32).reshape(
            1, heights[row], widths[row]) for row in ok]
        ab_norm: list[bytes | None] = [None] * len(errors)
        sure: list[bytes | None] = [None] * len(errors)  # calibrated 8-bit maps, render size
        seconds: list[float | None] = [None] * len(errors)
        started = time.perf_counter()
        confident = self.settings.confidence_map is not None
        try:
            predicted = self.colorizer.predict(inputs, confidence=confident) if inputs else []
        except (OSError, ValueError) as error:  # the whole batch fails, as in the local engine
            sources = table["source"].to_pylist()
            for row in ok:
                errors[row] = _failure(sources[row], error)
            predicted = []
        share = (time.perf_counter() - started) / max(1, len(ok))
        for row, result in zip(ok, predicted, strict=False):
            ab, confidence = result if confident else (result, None)
            ab_norm[row] = np.ascontiguousarray(ab, np.float32).tobytes()
            if confidence is not None:
                sure[row] = self.colorizer.confidence_map(confidence, None).tobytes()
            seconds[row] = share
        table = table.drop_columns(["model_input"])
        table = table.set_column(table.schema.get_field_index("error"), "error",
                                 pa.array(errors, pa.string()))
        return (table.append_column("ab_norm", pa.array(ab_norm, pa.large_binary()))
                .append_column("confidence", pa.array(sure, pa.large_binary()))
                .append_column("network_s", pa.array(seconds, pa.float64()))
                .append_column("network_pid", pa.array([os.getpid()] * len(errors), pa.int64())))


def write_stage(table: pa.Table, settings: RaySettings) -> pa.Table:
    """Stage 4: join at full resolution, encode and write. -> the small rows the driver reads."""
    import pyarrow as pa

    _one_core()
    colorizer = _policy(settings)
    rows = table.to_pylist()
    written: list[str | None] = []
    restored: list[str | None] = []  # the restoration steps that ran, comma-separated
    errors: list[str | None] = []
    join_s: list[float | None] = []
    write_s: list[float | None] = []
    for row in rows:
        written.append(None)
        restored.append(None)
        errors.append(row["error"])
        join_s.append(None)
        write_s.append(None)
        if row["error"] is not None:
            continue
        try:
            started = time.perf_counter()
            plan = pickle.loads(row["plan"])
            ab_norm = np.frombuffer(row["ab_norm"], np.float32).reshape(
                2, row["render_h"], row["render_w"])
            rgb = colorizer.finish_plan(plan, ab_norm, for_file=True)
            joined = time.perf_counter()
            steps = plan.restored_steps
            xmp = settings.xmp
            if steps and settings.provenance is not None:
                xmp = marked_xmp(settings.provenance, steps)
            sign = None
            if settings.credentials is not None:  # the input is the manifest's ingredient
                source = location(row["source"])
                sign = settings.credentials.for_photo(read_bytes(source), source.name, steps)
            target = location(row["target"])
            written[-1] = str(write_result(rgb, target, plan.loaded, xmp, sign))
            write_maps(plan, row, target, settings, colorizer)
            restored[-1] = ",".join(steps)
            join_s[-1], write_s[-1] = joined - started, time.perf_counter() - joined
        except (ImageError, OSError, ValueError) as error:
            errors[-1] = _failure(row["source"], error)
    keep = ["index", "source", "read_s", "decode_s", "input_s", "network_s", "decode_pid",
            "network_pid"]
    return (table.select(keep)
            .append_column("written", pa.array(written, pa.string()))
            .append_column("restored", pa.array(restored, pa.string()))
            .append_column("error", pa.array(errors, pa.string()))
            .append_column("join_s", pa.array(join_s, pa.float64()))
            .append_column("write_s", pa.array(write_s, pa.float64()))
            .append_column("write_pid", pa.array([os.getpid()] * len(rows), pa.int64())))


def write_maps(plan: PhotoPlan, row: dict[str, Any], target: Location, settings: RaySettings,
               colorizer: Colorizer) -> None:
    """--restore-mask and --confidence-map beside the written output, named as the local
    engine names them (:func:`autocolor.batch.map_path`)."""
    from autocolor.batch import map_path, save_gray

    output = location(settings.output)
    if settings.restore_mask is not None and plan.restored is not None:
        save_gray(plan.restored.mask, map_path(target, output, Path(settings.restore_mask)))
    if settings.confidence_map is not None and row["confidence"] is not None:
        codes = np.frombuffer(row["confidence"], np.uint8).reshape(row["render_h"],
                                                                   row["render_w"])
        save_gray(colorizer.confidence_map(codes, plan.loaded.size),
                  map_path(target, output, Path(settings.confidence_map)))


# -- the driver -----------------------------------------------------------------------------


def build_dataset(jobs: list[tuple[int, str, str, str]], settings: RaySettings,
                  concurrency: int | tuple[int, int], num_gpus: float):
    """The pipeline over ``jobs`` (index, source as named, absolute path or URI, target),
    lazily; iterate it to run it."""
    import ray

    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # the command shows one bar, as the local engine does
    context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    # ... and without a warning that they are off.
    logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)
    items = [{"index": index, "source": source, "path": path, "target": target}
             for index, source, path, target in jobs]
    dataset = ray.data.from_items(items, override_num_blocks=max(1, -(-len(items) // JOBS_PER_BLOCK)))
    pool = (ray.data.ActorPoolStrategy(min_size=concurrency[0], max_size=concurrency[1])
            if isinstance(concurrency, tuple) else ray.data.ActorPoolStrategy(size=concurrency))
    # The settings reach the stages through fn_kwargs, which map_batches' annotation of ``fn``
    # (a one-argument callable) does not model: hence the two ignores.
    return (dataset
            .map_batches(decode_stage,  # type: ignore[arg-type]
                         batch_size=TASK_BATCH, batch_format="pyarrow",
                         fn_kwargs={"settings": settings}, num_cpus=1,
                         udf_modifying_row_count=False)
            .map_batches(NetworkActor, batch_size=max(1, settings.batch_size),
                         batch_format="pyarrow", compute=pool,
                         fn_constructor_kwargs={"settings": settings},
                         num_cpus=settings.actor_cpus, num_gpus=num_gpus or None,
                         memory=NETWORK_ACTOR_MEMORY, udf_modifying_row_count=False)
            .map_batches(write_stage,  # type: ignore[arg-type]
                         batch_size=TASK_BATCH, batch_format="pyarrow",
                         fn_kwargs={"settings": settings}, num_cpus=1,
                         udf_modifying_row_count=False))


def run_pipeline(jobs: list[tuple[int, str, str, str]], settings: RaySettings,
                 concurrency: int | tuple[int, int], num_gpus: float) -> Iterator[dict[str, Any]]:
    """Run the pipeline on the Ray runtime of this process; yields one result row per job as
    it finishes: index, source, written (or None), error (the error line, or None), the stage
    timings and the process ids of the stages."""
    dataset = build_dataset(jobs, settings, concurrency, num_gpus)
    for batch in dataset.iter_batches(batch_size=None, batch_format="pyarrow"):
        yield from batch.to_pylist()


def colorize_jobs(jobs: list[tuple[int, str, str, str]], settings: RaySettings, *,
                  concurrency: int | None, num_gpus: float, address: str | None,
                  on_result: Callable[[dict[str, Any]], None]) -> None:
    """Start or join Ray, size the actor pool, run the pipeline; ``on_result`` per photo."""
    started_here = start_ray(address)
    try:
        resources = cluster_resources()
        if resources.get("GPU", 0) and not num_gpus:
            print(f"note: the cluster has {resources['GPU']:g} GPU(s); --device cuda runs the "
                  "network on them", file=sys.stderr)
        pool = network_pool(concurrency, num_gpus)
        message = starved(pool, settings.actor_cpus, resources.get("CPU", 0))
        if settings.actor_threads is None:
            settings = replace(settings, actor_threads=actor_threads(
                pool, settings.actor_cpus, resources.get("CPU", 1), started_here and not address))
        if message:  # the pipeline would wait forever for a CPU to decode on
            if started_here and not address:  # a local runtime does not grow
                raise Refused(message)
            print(f"warning: {message} (unless the cluster grows)", file=sys.stderr)
        for row in run_pipeline(jobs, settings, pool, num_gpus):
            on_result(row)
    finally:
        if started_here:
            import ray

            ray.shutdown()
