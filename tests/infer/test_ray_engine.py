"""``autocolor colorize --engine ray``: what a user sees is what the local engine gives them.

One Ray runtime for the module (loopback, 2 CPUs, no dashboard, no usage statistics), shut down
however the tests end; the command uses the runtime it finds. Inputs are a handful of tiny
photos: every run still costs Ray's worker start-up (seconds), so the runs are few and each
checks much.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest
from PIL import Image

from autocolor.cli import main
from autocolor.infer import ray_cluster, ray_engine

MAX_PIXELS = 2000


@pytest.fixture(scope="module")
def ray_runtime():
    import ray

    assert ray_cluster.start_ray(num_cpus=2), "a Ray runtime was already running"
    try:
        assert [node["NodeManagerAddress"] for node in ray.nodes()] == ["127.0.0.1"]
        assert ray.get_runtime_context().gcs_address.startswith("127.0.0.1:")
        yield ray
    finally:
        ray.shutdown()


def gray_photo(width: int, height: int, seed: int = 0) -> Image.Image:
    y, x = np.mgrid[0:height, 0:width]
    phase = np.random.default_rng(seed).uniform(0, 6)
    return Image.fromarray((128 + 90 * np.sin(x / 9.0 + phase) * np.cos(y / 13.0)).astype(np.uint8))


def make_inputs(folder: Path) -> None:
    """Good photos of every kind the local engine handles specially, bad ones, a collision."""
    (folder / "sub").mkdir(parents=True)
    gray_photo(40, 30).save(folder / "a.jpg", quality=90)
    gray_photo(33, 41, 1).save(folder / "sub" / "b.png")
    Image.fromarray(np.linspace(0, 65535, 30 * 20).reshape(20, 30).astype(np.uint16)).save(
        folder / "deep.png")
    rgba = Image.new("RGBA", (24, 18), (90, 90, 90, 255))
    rgba.putpixel((3, 3), (90, 90, 90, 0))
    rgba.save(folder / "cutout.jpg", format="PNG")  # alpha in a file named .jpg -> .png
    exif = Image.Exif()
    exif[0x0112] = 8
    gray_photo(36, 16, 2).save(folder / "turned.jpg", exif=exif.tobytes())
    gray_photo(20, 20, 3).save(folder / "c.png")
    gray_photo(22, 18, 4).save(folder / "c.tif")  # c.png and c.tif: c.png.png, c.tif.png
    (folder / "empty.png").write_bytes(b"")
    (folder / "text.jpg").write_text("not a photo\n" * 20)
    gray_photo(60, 50).save(folder / "big.png")  # over --max-pixels


def colorize(capsys, *args) -> tuple[int, list[str], list[str]]:
    """-> (status, stdout lines, stderr lines without progress bars)."""
    status = main(["colorize", *map(str, args)])
    captured = capsys.readouterr()
    lines = [line.strip() for line in captured.err.replace("\r", "\n").splitlines()]
    return status, captured.out.splitlines(), [line for line in lines if line and "%|" not in line]


def files_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def pixels(path: Path) -> tuple[str, str, tuple[int, int], bytes, bytes, np.ndarray]:
    """-> format, mode, size, EXIF, XMP (the provenance mark), pixels."""
    with Image.open(path) as image:
        xmp = image.info.get("xmp", image.info.get("XML:com.adobe.xmp", b""))
        return (image.format, image.mode, image.size, image.info.get("exif", b""),
                xmp.encode() if isinstance(xmp, str) else xmp, np.asarray(image))


def test_same_outputs_and_messages_as_the_local_engine(ray_runtime, onnx_pair: Path,
                                                       tmp_path: Path, capsys,
                                                       smooth_rgb) -> None:
    make_inputs(tmp_path / "in")
    Image.fromarray(smooth_rgb(5, 30, 40)).save(tmp_path / "reference.png")
    (tmp_path / "hints.json").write_text('{"points": [{"x": 3, "y": 2, "color": "#c02020"}]}')
    common = ["-o", None, "--model", onnx_pair, "--max-pixels", MAX_PIXELS, "--reference",
              tmp_path / "reference.png", "--saturation", "0.8", "--hints",
              tmp_path / "hints.json"]
    results = {}
    for engine in ("local", "ray"):
        out = tmp_path / f"out-{engine}"
        out.mkdir()
        Image.new("RGB", (4, 4)).save(out / "a.jpg")  # finished before: skipped by both
        args = [tmp_path / "in", *common, "--engine", engine]
        args[2] = out
        results[engine] = colorize(capsys, *args)
    (status, stdout, stderr), (ray_status, ray_stdout, ray_stderr) = results["local"], results["ray"]
    assert status == ray_status == 1
    errors = sorted(line for line in stderr if line.startswith("error:"))
    assert len(errors) == 3 and sorted(line for line in ray_stderr if line.startswith("error:")) == errors
    assert [line for line in ray_stderr if line.startswith("skipping")] == [
        "skipping 1 existing output(s); --overwrite to redo them"]
    assert [line for line in stderr if line.startswith("skipping")] == [
        "skipping 1 existing output(s); --overwrite to redo them"]
    assert ray_stderr[-1].startswith("3 input(s) failed, 6 written in ")
    assert ray_stderr[-1].endswith("engine ray)") and stderr[-1].endswith("engine local)")
    # The same files, named and listed the same way (in the order of the inputs).
    local_out, ray_out = tmp_path / "out-local", tmp_path / "out-ray"
    assert [Path(line).relative_to(ray_out) for line in ray_stdout] == [
        Path(line).relative_to(local_out) for line in stdout]
    assert files_under(ray_out) == files_under(local_out) == {
        "a.jpg", "sub/b.png", "deep.png", "cutout.png", "turned.jpg", "c.png.png", "c.tif.png"}
    for name in files_under(local_out) - {"a.jpg"}:
        local, ray = pixels(local_out / name), pixels(ray_out / name)
        assert local[:5] == ray[:5], name
        assert b"compositeWithTrainedAlgorithmicMedia" in ray[4], name
        assert np.array_equal(local[5], ray[5]), name
    data = (ray_out / "deep.png").read_bytes()
    assert struct.unpack(">IIB", data[16:25]) == (30, 20, 16)


def test_file_uris_and_resuming(ray_runtime, onnx_pair: Path, tmp_path: Path, capsys) -> None:
    source, out = tmp_path / "old photos", tmp_path / "colour"
    (source / "sub").mkdir(parents=True)
    names = ["p0.jpg", "p1.png", "sub/p2.jpg", "sub/p3.png"]
    for index, name in enumerate(names):
        gray_photo(40 + index, 30, index).save(source / name)
    status, stdout, stderr = colorize(capsys, "file://" + quote(str(source)), "-o",
                                      "file://" + quote(str(out)), "--model", onnx_pair,
                                      "--engine", "ray")
    assert status == 0, stderr
    assert files_under(out) == set(names)
    assert stdout == ["file://" + quote(str(out / name)) for name in names]
    # A job killed half-way left some outputs (whole: they are written atomically); running it
    # again does the rest and leaves the finished ones alone.
    for name in names[1::2]:
        (out / name).unlink()
    for name in names[::2]:
        os.utime(out / name, (1_000_000, 1_000_000))
    status, stdout, stderr = colorize(capsys, "file://" + quote(str(source)), "-o",
                                      "file://" + quote(str(out)), "--model", onnx_pair,
                                      "--engine", "ray")
    assert status == 0, stderr
    assert "skipping 2 existing output(s); --overwrite to redo them" in stderr
    assert stdout == ["file://" + quote(str(out / name)) for name in names[1::2]]
    assert files_under(out) == set(names)
    assert all(os.stat(out / name).st_mtime == 1_000_000 for name in names[::2])


def test_stages_run_in_their_own_processes(ray_runtime, onnx_pair: Path, tmp_path: Path) -> None:
    """Decoding and writing are tasks, the network one actor; each photo's stage times are
    recorded (bench_scale.py reports them)."""
    from autocolor.infer.colorizer import Colorizer

    for index in range(5):
        gray_photo(48, 36, index).save(tmp_path / f"p{index}.png")
    probe = Colorizer.from_pretrained(str(onnx_pair))
    settings = ray_engine.RaySettings(model=str(onnx_pair), backend="auto", device="cpu",
                                      render_size=probe.render_size, metadata=probe.metadata,
                                      max_pixels=MAX_PIXELS, batch_size=2)
    jobs = [(index, f"p{index}.png", str(tmp_path / f"p{index}.png"),
             str(tmp_path / "out" / f"p{index}.png")) for index in range(5)]
    jobs.append((5, "missing.png", str(tmp_path / "missing.png"), str(tmp_path / "out" / "m.png")))
    rows = sorted(ray_engine.run_pipeline(jobs, settings, concurrency=1, num_gpus=0),
                  key=lambda row: row["index"])
    assert [row["index"] for row in rows] == list(range(6))
    assert rows[5]["error"].startswith("error: missing.png: cannot read") and not rows[5]["written"]
    good = rows[:5]
    assert [row["written"] for row in good] == [job[3] for job in jobs[:5]]
    assert len({row["network_pid"] for row in good}) == 1  # one actor, one model session
    actor = good[0]["network_pid"]
    assert all(row["decode_pid"] != actor and row["write_pid"] != actor for row in good)
    for row in good:
        assert all(row[name] > 0 for name in ray_engine.TIMINGS), row


def test_the_local_engine_refuses_uris(tmp_path: Path, capsys) -> None:
    status, _, stderr = colorize(capsys, "s3://bucket/photos", "-o", tmp_path / "out")
    assert status == 1
    assert stderr == ["error: s3://bucket/photos: URIs are read and written by --engine ray"]
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_a_killed_job_run_again_does_the_rest(onnx_pair: Path, tmp_path: Path) -> None:
    """SIGKILL the command (and so its local runtime) once some outputs exist; the same command
    again skips those, writes the rest, and leaves no partial file."""
    import re
    import signal
    import subprocess
    import sys
    import time

    source, out = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    for index in range(40):
        gray_photo(320, 240, index).save(source / f"p{index:02d}.jpg")
    command = [sys.executable, "-m", "autocolor", "colorize", str(source), "-o", str(out),
               "--model", str(onnx_pair), "--engine", "ray", "--batch-size", "1"]
    job = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and len(files_under(out) if out.exists() else ()) < 5:
        time.sleep(0.2)
    job.send_signal(signal.SIGKILL)
    job.wait()
    at_kill = len(files_under(out))
    assert 5 <= at_kill < 40, at_kill
    # Ray's workers finish the task in hand before they go with the runtime: let them.
    while True:
        time.sleep(2)
        if len(files_under(out)) == at_kill:
            break
        at_kill = len(files_under(out))
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    skipped = int(re.search(r"skipping (\d+) existing output", result.stderr).group(1))
    assert at_kill <= skipped < 40
    assert len(result.stdout.splitlines()) == 40 - skipped
    assert files_under(out) == {f"p{index:02d}.jpg" for index in range(40)}


def test_a_cluster_that_refuses_the_token_is_one_line(tmp_path: Path, monkeypatch,
                                                      capsys) -> None:
    """The cluster answers with Ray's AuthenticationError: one line naming the address and what
    to set, not a traceback; nothing written."""
    import ray

    from autocolor.batch import Refused

    def refuse(*args, **kwargs):
        raise ray.exceptions.AuthenticationError("InvalidAuthToken")

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", refuse)
    with pytest.raises(Refused, match=r"--ray-address 10\.0\.0\.5:6379: the cluster refused"):
        ray_cluster.start_ray("10.0.0.5:6379")

    def unreachable(*args, **kwargs):
        raise ConnectionError("Could not find any running Ray instance.\nmore")

    monkeypatch.setattr(ray, "init", unreachable)
    gray_photo(20, 20).save(tmp_path / "a.png")
    status = main(["colorize", str(tmp_path / "a.png"), "-o", str(tmp_path / "out"),
                   "--engine", "ray", "--ray-address", "10.0.0.5:6379"])
    assert status == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: --ray-address 10.0.0.5:6379: cannot join the cluster (Could not find "
                   "any running Ray instance.)"]
    assert not (tmp_path / "out").exists()


def test_restore_on_ray_gives_the_local_engines_outputs(ray_runtime, onnx_pair: Path,
                                                        tmp_path: Path, capsys,
                                                        old_print) -> None:
    """--restore on Ray: the same restored pixels, XMP history and summary line as the local
    engine; a clean photo left alone by both; the same restore masks and confidence maps."""
    (tmp_path / "in" / "sub").mkdir(parents=True)
    old_print(96, 72)[0].save(tmp_path / "in" / "sub" / "print.png")
    gray_photo(64, 48).save(tmp_path / "in" / "clean.png")
    results = {}
    for engine in ("local", "ray"):
        results[engine] = colorize(capsys, tmp_path / "in", "-o", tmp_path / engine, "--model",
                                   onnx_pair, "--restore", "--engine", engine, "--restore-mask",
                                   tmp_path / f"masks-{engine}", "--confidence-map",
                                   tmp_path / f"maps-{engine}")
    (status, _, stderr), (ray_status, _, ray_stderr) = results["local"], results["ray"]
    assert status == ray_status == 0
    assert stderr[-1].startswith("restored 1 photo: ") and ray_stderr[-1] == stderr[-1]
    for name in ("sub/print.png", "clean.png"):
        local, ray = pixels(tmp_path / "local" / name), pixels(tmp_path / "ray" / name)
        assert local[4] == ray[4], name  # the XMP, with the restoration's history or none
        assert np.array_equal(local[5], ray[5]), name
    assert b"xmpMM:History" in pixels(tmp_path / "ray" / "sub" / "print.png")[4]
    assert b"xmpMM:History" not in pixels(tmp_path / "ray" / "clean.png")[4]
    # Maps: one per photo (a mask for every restored photo), named and made alike.
    for kind in ("masks", "maps"):
        local_maps, ray_maps = tmp_path / f"{kind}-local", tmp_path / f"{kind}-ray"
        assert files_under(ray_maps) == files_under(local_maps), kind
        assert "sub/print.png" in files_under(ray_maps), kind
        for name in files_under(local_maps):
            assert np.array_equal(pixels(local_maps / name)[5], pixels(ray_maps / name)[5]), name
    assert files_under(tmp_path / "maps-ray") == {"sub/print.png", "clean.png"}


def test_the_command_names_the_address_in_one_line(tmp_path: Path, capsys) -> None:
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    Image.fromarray(np.full((40, 50), 128, np.uint8)).save(tmp_path / "a.png")
    status = main(["colorize", str(tmp_path / "a.png"), "-o", str(tmp_path / "out"),
                   "--engine", "ray", "--ray-address", f"127.0.0.1:{port}"])
    error = capsys.readouterr().err.strip().splitlines()
    assert status != 0 and len(error) == 1 and f"127.0.0.1:{port}" in error[0]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_gpus_per_actor() -> None:
    assert ray_engine.gpus_per_actor("cuda", None) == 1.0
    assert ray_engine.gpus_per_actor("cpu", None) == 0.0
    assert ray_engine.gpus_per_actor("cuda", 0.25) == 0.25
