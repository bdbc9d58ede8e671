"""``autocolor colorize``: file handling, layout, resuming, collisions and every bad input."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from autocolor.cli import main

BAD_INPUTS = {  # file name -> words the error line must contain besides the name
    "empty.png": "empty",
    "truncated.jpg": "truncated",
    "truncated.png": "truncated",
    "text.jpg": "not an image",
    "big.png": "too many pixels",
    "float.tif": "unsupported",
}
MAX_PIXELS = 2000  # the good test photos are smaller; big.png is not


def gray_photo(width: int, height: int, seed: int = 0) -> Image.Image:
    y, x = np.mgrid[0:height, 0:width]
    phase = np.random.default_rng(seed).uniform(0, 6)
    values = 128 + 90 * np.sin(x / 9.0 + phase) * np.cos(y / 13.0)
    return Image.fromarray(values.astype(np.uint8))


def colorize(capsys: pytest.CaptureFixture, *args: str | Path) -> tuple[int, str, str]:
    """Run the CLI; -> (exit status, stdout, stderr)."""
    status = main(["colorize", *map(str, args)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def files_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


@pytest.fixture
def cli_args(tiny_weights: Path) -> list[str]:
    return ["--model", str(tiny_weights), "--backend", "torch"]


def test_odd_sizes_and_formats(tmp_path: Path, cli_args, capsys) -> None:
    source = tmp_path / "in"
    source.mkdir()
    gray_photo(333, 517).save(source / "tall.jpg", quality=90)
    gray_photo(517, 333, 1).save(source / "wide.png")
    gray_photo(31, 17, 2).save(source / "tiny.tif")
    gray_photo(40, 30, 3).save(source / "upper.JPEG")
    status, out, err = colorize(capsys, source, "-o", tmp_path / "out", *cli_args)
    assert status == 0, err
    assert error_lines(err) == []
    expected = {"tall.jpg": ((333, 517), "JPEG"), "wide.png": ((517, 333), "PNG"),
                "tiny.png": ((31, 17), "PNG"), "upper.jpg": ((40, 30), "JPEG")}
    assert files_under(tmp_path / "out") == set(expected)
    for name, (size, image_format) in expected.items():
        with Image.open(tmp_path / "out" / name) as written:
            assert written.size == size and written.format == image_format, name
            assert written.mode == "RGB"
    assert sorted(Path(line).name for line in out.splitlines()) == sorted(expected)


def test_folder_recursion_keeps_the_layout(tmp_path: Path, cli_args, capsys) -> None:
    source = tmp_path / "in"
    (source / "sub" / "deeper").mkdir(parents=True)
    (source / ".hidden").mkdir()
    gray_photo(40, 32).save(source / "a.png")
    gray_photo(40, 32).save(source / "sub" / "b.jpg")
    gray_photo(40, 32).save(source / "sub" / "deeper" / "c.png")
    gray_photo(40, 32).save(source / ".dot.png")
    (source / "notes.txt").write_text("not a photo")
    status, _, err = colorize(capsys, source, "-o", tmp_path / "out", *cli_args)
    assert status == 0, err
    assert files_under(tmp_path / "out") == {"a.png", "sub/b.jpg", "sub/deeper/c.png"}


def test_globs(tmp_path: Path, cli_args, capsys) -> None:
    source = tmp_path / "in"
    (source / "sub").mkdir(parents=True)
    for name in ("a.png", "b.png", "c.jpg", "sub/d.png"):
        gray_photo(32, 32).save(source / name)
    status, _, err = colorize(capsys, str(source / "*.png"), "-o", tmp_path / "out", *cli_args)
    assert status == 0, err
    assert files_under(tmp_path / "out") == {"a.png", "b.png"}
    status, _, err = colorize(capsys, str(source / "**" / "d.png"), "-o", tmp_path / "out2",
                              *cli_args)
    assert status == 0, err
    assert files_under(tmp_path / "out2") == {"d.png"}


def test_existing_outputs_are_skipped_unless_overwrite(tmp_path: Path, cli_args, capsys) -> None:
    gray_photo(48, 40).save(tmp_path / "a.png")
    gray_photo(48, 40, 1).save(tmp_path / "b.png")
    out = tmp_path / "out"
    out.mkdir()
    marker = Image.new("RGB", (5, 5), (255, 0, 0))
    marker.save(out / "a.png")
    before = (out / "a.png").read_bytes()
    os.utime(out / "a.png", (1_000_000, 1_000_000))
    status, stdout, err = colorize(capsys, tmp_path / "a.png", tmp_path / "b.png", "-o", out,
                                   *cli_args)
    assert status == 0, err
    assert "skipping 1 existing output" in err
    assert (out / "a.png").read_bytes() == before
    assert os.stat(out / "a.png").st_mtime == 1_000_000
    assert Image.open(out / "b.png").size == (48, 40)
    assert [Path(line).name for line in stdout.splitlines()] == ["b.png"]

    status, _, err = colorize(capsys, tmp_path / "a.png", "-o", out, *cli_args)
    assert status == 0 and (out / "a.png").read_bytes() == before  # nothing to do is a success

    status, _, err = colorize(capsys, tmp_path / "a.png", "-o", out, "--overwrite", *cli_args)
    assert status == 0, err
    assert (out / "a.png").read_bytes() != before
    assert Image.open(out / "a.png").size == (48, 40)


def test_never_writes_over_an_input(tmp_path: Path, cli_args, capsys) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    gray_photo(40, 32).save(folder / "a.png")
    gray_photo(40, 32, 1).save(folder / "b.jpg")
    gray_photo(40, 32, 2).save(folder / "c.tif")
    originals = {name: (folder / name).read_bytes() for name in ("a.png", "b.jpg", "c.tif")}
    status, _, err = colorize(capsys, folder, "-o", folder, *cli_args)
    assert status == 1
    lines = error_lines(err)
    assert len(lines) == 2
    assert any("a.png" in line and "overwrite an input" in line for line in lines)
    assert any("b.jpg" in line and "overwrite an input" in line for line in lines)
    for name, data in originals.items():
        assert (folder / name).read_bytes() == data, name
    assert files_under(folder) == {"a.png", "b.jpg", "c.tif", "c.png"}  # c.tif -> c.png is safe
    status, _, err = colorize(capsys, folder, "-o", folder, "--overwrite", *cli_args)
    assert status == 1
    for name, data in originals.items():
        assert (folder / name).read_bytes() == data, name


def test_name_collision(tmp_path: Path, cli_args, capsys) -> None:
    source = tmp_path / "in"
    source.mkdir()
    gray_photo(40, 32).save(source / "a.png")
    gray_photo(36, 30, 1).save(source / "a.tif")
    gray_photo(40, 32, 2).save(source / "b.png")
    status, _, err = colorize(capsys, source, "-o", tmp_path / "out", *cli_args)
    assert status == 0, err
    out = tmp_path / "out"
    assert files_under(out) == {"a.png.png", "a.tif.png", "b.png"}
    assert Image.open(out / "a.png.png").size == (40, 32)
    assert Image.open(out / "a.tif.png").size == (36, 30)


def write_bad_inputs(folder: Path) -> None:
    import io

    folder.mkdir(parents=True, exist_ok=True)
    noisy = np.random.default_rng(0).integers(0, 256, (40, 40), dtype=np.uint8)
    (folder / "empty.png").write_bytes(b"")
    buffer = io.BytesIO()
    Image.fromarray(noisy).save(buffer, "JPEG", quality=90)
    (folder / "truncated.jpg").write_bytes(buffer.getvalue()[:700])
    buffer = io.BytesIO()
    Image.fromarray(noisy).save(buffer, "PNG")
    (folder / "truncated.png").write_bytes(buffer.getvalue()[:800])
    (folder / "text.jpg").write_text("hello\n" * 50)
    gray_photo(60, 50).save(folder / "big.png")  # 3000 pixels > MAX_PIXELS
    Image.fromarray(np.full((8, 8), 7.0, np.float32)).save(folder / "float.tif")


def test_bad_inputs_fail_alone(tmp_path: Path, cli_args, capsys) -> None:
    source = tmp_path / "in"
    write_bad_inputs(source)
    gray_photo(40, 30).save(source / "good1.png")
    gray_photo(30, 40, 1).save(source / "good2.jpg")
    out = tmp_path / "out"
    status, stdout, err = colorize(capsys, source, "-o", out, "--max-pixels", MAX_PIXELS,
                                   *cli_args)
    assert status == 1
    lines = error_lines(err)
    assert len(lines) == len(BAD_INPUTS), err
    for name, words in BAD_INPUTS.items():
        matching = [line for line in lines if str(source / name) in line]
        assert len(matching) == 1, (name, lines)
        assert words in matching[0], matching[0]
    assert "6 input(s) failed, 2 written" in err
    assert files_under(out) == {"good1.png", "good2.jpg"}
    assert sorted(Path(line).name for line in stdout.splitlines()) == ["good1.png", "good2.jpg"]
    assert not [p for p in out.rglob("*") if p.name.startswith(".")]  # no temporary files


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_each_bad_input_alone(tmp_path: Path, cli_args, capsys, name: str) -> None:
    source = tmp_path / "in"
    write_bad_inputs(source)
    out = tmp_path / "out"
    status, stdout, err = colorize(capsys, source / name, "-o", out, "--max-pixels", MAX_PIXELS,
                                   *cli_args)
    assert status == 1
    lines = error_lines(err)
    assert len(lines) == 1 and str(source / name) in lines[0] and BAD_INPUTS[name] in lines[0]
    assert stdout == ""
    assert not out.exists() or files_under(out) == set()


def test_missing_input_path(tmp_path: Path, cli_args, capsys) -> None:
    gray_photo(40, 30).save(tmp_path / "good.png")
    missing = tmp_path / "nope.png"
    status, _, err = colorize(capsys, missing, tmp_path / "good.png", str(tmp_path / "*.gif"),
                              "-o", tmp_path / "out", *cli_args)
    assert status == 1
    lines = error_lines(err)
    assert len(lines) == 2
    assert str(missing) in lines[0] and "no such file" in lines[0]
    assert "*.gif" in lines[1]
    assert files_under(tmp_path / "out") == {"good.png"}
    status, _, err = colorize(capsys, missing, "-o", tmp_path / "out2", *cli_args)
    assert status == 1 and "nope.png" in err
    assert not (tmp_path / "out2").exists()


def test_sixteen_bit_and_orientation_through_the_cli(tmp_path: Path, cli_args, capsys) -> None:
    deep = np.linspace(0, 65535, 30 * 20).reshape(20, 30).astype(np.uint16)
    Image.fromarray(deep).save(tmp_path / "deep.png")
    exif = Image.Exif()
    exif[0x0112] = 8
    gray_photo(50, 20).save(tmp_path / "turned.jpg", exif=exif.tobytes())
    status, _, err = colorize(capsys, tmp_path / "deep.png", tmp_path / "turned.jpg", "-o",
                              tmp_path / "out", *cli_args)
    assert status == 0, err
    data = (tmp_path / "out" / "deep.png").read_bytes()
    width, height, depth = struct.unpack(">IIB", data[16:25])
    assert (width, height, depth) == (30, 20, 16)
    with Image.open(tmp_path / "out" / "turned.jpg") as written:
        assert written.size == (20, 50)  # upright
        assert written.getexif().get(0x0112, 1) == 1


def test_saturation_zero_gives_gray(tmp_path: Path, cli_args, capsys) -> None:
    gray_photo(64, 48).save(tmp_path / "a.png")
    status, _, err = colorize(capsys, tmp_path / "a.png", "-o", tmp_path / "out",
                              "--saturation", "0", *cli_args)
    assert status == 0, err
    rgb = np.asarray(Image.open(tmp_path / "out" / "a.png")).astype(int)
    assert np.ptp(rgb, axis=-1).max() <= 1


def test_no_inputs_found_is_an_error(tmp_path: Path, cli_args, capsys) -> None:
    (tmp_path / "empty").mkdir()
    status, _, _ = colorize(capsys, tmp_path / "empty", "-o", tmp_path / "out", *cli_args)
    assert status == 0  # an empty folder is not an error: nothing to do
    status, _, err = colorize(capsys, tmp_path / "nothing-*.png", "-o", tmp_path / "out",
                              *cli_args)
    assert status == 1 and "no such file" in err


def test_bad_reference_photo(tmp_path: Path, cli_args, capsys) -> None:
    gray_photo(40, 30).save(tmp_path / "a.png")
    (tmp_path / "ref.jpg").write_text("not a photo")
    status, _, err = colorize(capsys, tmp_path / "a.png", "-o", tmp_path / "out",
                              "--reference", tmp_path / "ref.jpg", *cli_args)
    assert status == 1
    lines = error_lines(err)
    assert len(lines) == 1 and str(tmp_path / "ref.jpg") in lines[0]
    assert not (tmp_path / "out").exists()


def test_reference_bomb_is_one_line(tmp_path: Path, cli_args, capsys) -> None:
    """A decompression bomb as --reference is refused before decoding, in one line."""
    import zlib

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    (tmp_path / "bomb.png").write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 40000, 40000, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1024)) + chunk(b"IEND", b""))
    gray_photo(40, 30).save(tmp_path / "a.png")
    status, _, err = colorize(capsys, tmp_path / "a.png", "-o", tmp_path / "out",
                              "--reference", tmp_path / "bomb.png", *cli_args)
    assert status == 1 and "Traceback" not in err
    lines = error_lines(err)
    assert len(lines) == 1 and "bomb.png" in lines[0] and "too many pixels" in lines[0]


def test_reference_is_read_once_at_the_size_it_is_used(tmp_path: Path, cli_args, capsys,
                                                       monkeypatch, smooth_rgb) -> None:
    import autocolor.hints
    from autocolor import images
    from autocolor.hints.reference import REFERENCE_MAX_SIDE

    reads, used = [], []
    real_load_rgb, real_transfer = images.load_rgb, autocolor.hints.transfer_reference

    def counting_load_rgb(*args, **kwargs):
        reads.append(args[0])
        return real_load_rgb(*args, **kwargs)

    def recording_transfer(lightness, ab, reference, **kwargs):
        used.append(reference.shape)
        return real_transfer(lightness, ab, reference, **kwargs)

    monkeypatch.setattr("autocolor.infer.photo_plan.load_rgb", counting_load_rgb)
    monkeypatch.setattr(autocolor.hints, "transfer_reference", recording_transfer)
    Image.fromarray(smooth_rgb(2, 500, 700)).save(tmp_path / "ref.jpg", quality=90)
    for index in range(3):
        gray_photo(40, 30, index).save(tmp_path / f"p{index}.png")
    status, _, err = colorize(capsys, *(tmp_path / f"p{i}.png" for i in range(3)), "-o",
                              tmp_path / "out", "--reference", tmp_path / "ref.jpg", *cli_args)
    assert status == 0, err
    assert reads == [tmp_path / "ref.jpg"]
    assert used == [(183, REFERENCE_MAX_SIDE, 3)] * 3


def test_bad_hints_file(tmp_path: Path, cli_args, capsys) -> None:
    gray_photo(40, 30).save(tmp_path / "a.png")
    for name, content in (("missing.json", None), ("broken.json", "{not json"),
                          ("wrong.json", '{"points": [{"x": 1}]}')):
        if content is not None:
            (tmp_path / name).write_text(content)
        status, _, err = colorize(capsys, tmp_path / "a.png", "-o", tmp_path / "out",
                                  "--hints", tmp_path / name, *cli_args)
        assert status == 1, name
        lines = error_lines(err)
        assert len(lines) == 1 and name in lines[0], (name, err)
        assert not (tmp_path / "out").exists()


def test_hint_outside_one_photo_fails_only_that_photo(tmp_path: Path, cli_args, capsys) -> None:
    gray_photo(64, 48).save(tmp_path / "big.png")
    gray_photo(40, 30).save(tmp_path / "small.png")
    (tmp_path / "hints.json").write_text('{"points": [{"x": 50, "y": 10, "color": "#c02020"}]}')
    status, stdout, err = colorize(capsys, tmp_path / "big.png", tmp_path / "small.png", "-o",
                                   tmp_path / "out", "--hints", tmp_path / "hints.json", *cli_args)
    assert status == 1
    lines = error_lines(err)
    assert len(lines) == 1 and "small.png" in lines[0]
    assert files_under(tmp_path / "out") == {"big.png"}
    # The hint colours its neighbourhood: red there, whatever the random model predicted.
    red, green, blue = np.asarray(Image.open(tmp_path / "out" / "big.png"))[10, 50].astype(int)
    assert red > green + 20 and red > blue + 20


def test_png_named_jpg_with_alpha_is_written_as_png(tmp_path, tiny_weights):
    """A transparent PNG misnamed .jpg cannot become a JPEG; it is written as PNG, alpha kept."""
    from PIL import Image

    from autocolor.cli import main

    source = tmp_path / "in" / "cutout.jpg"
    source.parent.mkdir()
    rgba = Image.new("RGBA", (64, 48), (90, 90, 90, 255))
    rgba.putpixel((3, 3), (90, 90, 90, 0))
    rgba.save(source, format="PNG")
    assert main(["colorize", str(source), "-o", str(tmp_path / "out"), "--model",
                 str(tiny_weights)]) == 0
    written = tmp_path / "out" / "cutout.png"
    assert not (tmp_path / "out" / "cutout.jpg").exists()
    with Image.open(written) as image:
        assert image.mode == "RGBA" and image.size == (64, 48)
        assert image.getpixel((3, 3))[3] == 0


def test_outputs_carry_provenance_unless_asked_not_to(tmp_path: Path, cli_args, capsys,
                                                      tiny_weights: Path, xmp_of) -> None:
    import hashlib

    gray_photo(40, 32).save(tmp_path / "a.jpg", quality=90)
    gray_photo(40, 32, 1).save(tmp_path / "b.png")
    status, _, err = colorize(capsys, tmp_path / "a.jpg", tmp_path / "b.png",
                              "-o", tmp_path / "out", *cli_args)
    assert status == 0, err
    sha = hashlib.sha256(tiny_weights.read_bytes()).hexdigest()
    for name in ("a.jpg", "b.png"):
        fields = xmp_of((tmp_path / "out" / name).read_bytes())
        assert fields is not None, name
        assert fields["Iptc4xmpExt:DigitalSourceType"].endswith(
            "/compositeWithTrainedAlgorithmicMedia")
        assert fields["Iptc4xmpExt:AISystemUsed"] == tiny_weights.name
        assert fields["Iptc4xmpExt:AISystemVersionUsed"] == f"sha256:{sha}"
        assert fields["xmp:CreatorTool"].startswith("autocolor ")
    status, _, err = colorize(capsys, tmp_path / "a.jpg", "-o", tmp_path / "bare",
                              "--no-provenance", *cli_args)
    assert status == 0, err
    assert xmp_of((tmp_path / "bare" / "a.jpg").read_bytes()) is None
    # Apart from the packet, the same pixels.
    with Image.open(tmp_path / "out" / "a.jpg") as marked, \
            Image.open(tmp_path / "bare" / "a.jpg") as bare:
        assert np.array_equal(np.asarray(marked), np.asarray(bare))


@pytest.mark.parametrize("fmt,name,pillow_format", [
    ("webp", "a.webp", "WEBP"), ("tiff", "a.tif", "TIFF"), ("png", "a.png", "PNG"),
    ("jpeg", "a.jpg", "JPEG"),
])
def test_format_option(tmp_path: Path, cli_args, capsys, xmp_of, fmt: str, name: str,
                       pillow_format: str) -> None:
    gray_photo(40, 32).save(tmp_path / "a.png")
    status, out, err = colorize(capsys, tmp_path / "a.png", "-o", tmp_path / "out",
                                "--format", fmt, *cli_args)
    assert status == 0, err
    assert files_under(tmp_path / "out") == {name}
    data = (tmp_path / "out" / name).read_bytes()
    assert xmp_of(data) is not None
    with Image.open(tmp_path / "out" / name) as written:
        assert written.format == pillow_format and written.size == (40, 32)


def test_format_a_photo_cannot_take_becomes_png(tmp_path: Path, cli_args, capsys) -> None:
    deep = (np.asarray(gray_photo(40, 32)).astype(np.uint16) * 257)
    Image.fromarray(deep).save(tmp_path / "deep.png")
    status, out, err = colorize(capsys, tmp_path / "deep.png", "-o", tmp_path / "out",
                                "--format", "webp", *cli_args)
    assert status == 0, err
    assert files_under(tmp_path / "out") == {"deep.png"}
    assert (tmp_path / "out" / "deep.png").read_bytes()[24] == 16  # still 16 bits


# -- --restore: an old print's lightness restored before it is coloured -----------------------


def test_restore_end_to_end(tmp_path: Path, cli_args, capsys, xmp_history_of,
                            old_print) -> None:
    from autocolor.images import load_image
    from autocolor.restore import restore_lightness
    from autocolor.restore.config import EVENTS

    photo, damage = old_print(96, 72)
    (tmp_path / "in" / "sub").mkdir(parents=True)
    photo.save(tmp_path / "in" / "sub" / "print.png")
    gray_photo(64, 48).save(tmp_path / "in" / "clean.png")  # smooth, full range: left alone
    status, out, err = colorize(capsys, tmp_path / "in", "-o", tmp_path / "out", "--restore",
                                "--restore-mask", tmp_path / "masks", *cli_args)
    assert status == 0, err
    assert error_lines(err) == []
    assert files_under(tmp_path / "out") == {"sub/print.png", "clean.png"}
    assert files_under(tmp_path / "masks") == {"sub/print.png", "clean.png"}
    steps = restore_lightness(load_image(tmp_path / "in" / "sub" / "print.png").lightness).ran
    assert {"dust", "scratches", "fading"} <= set(steps)
    assert err.strip().splitlines()[-1] == \
        "restored 1 photo: " + ", ".join(f"{step} 1" for step in steps)
    # The output's XMP lists the steps that ran; the clean photo's says nothing of restoring.
    history = xmp_history_of((tmp_path / "out" / "sub" / "print.png").read_bytes())
    assert [event["stEvt:parameters"] for event in history] == [EVENTS[s][1] for s in steps]
    assert all(event["stEvt:softwareAgent"].startswith("autocolor ") for event in history)
    assert xmp_history_of((tmp_path / "out" / "clean.png").read_bytes()) == []
    # The mask: 8-bit, the photo's size, white on the specks and the scratch.
    with Image.open(tmp_path / "masks" / "sub" / "print.png") as mask_image:
        assert mask_image.mode == "L" and mask_image.size == photo.size
        mask = np.asarray(mask_image) == 255
    assert set(np.unique(np.asarray(mask_image))) <= {0, 255}
    assert (mask & damage).sum() >= 0.7 * damage.sum() and mask.mean() < 0.1
    with Image.open(tmp_path / "masks" / "clean.png") as mask_image:
        assert not np.asarray(mask_image).any()
    # The output keeps the restored lightness (the colour joins it; gamut clipping aside).
    restored = restore_lightness(load_image(tmp_path / "in" / "sub" / "print.png").lightness)
    written = load_image(tmp_path / "out" / "sub" / "print.png").lightness
    plain_l = load_image(tmp_path / "in" / "sub" / "print.png").lightness
    assert np.abs(written - restored.lightness).mean() < 1.5
    assert np.abs(written - plain_l).mean() > 3.0


def test_restore_steps_and_plain_runs(tmp_path: Path, cli_args, capsys, xmp_history_of,
                                      old_print) -> None:
    photo, _ = old_print(64, 48, 1)
    photo.save(tmp_path / "print.png")
    status, _, err = colorize(capsys, tmp_path / "print.png", "-o", tmp_path / "graded",
                              "--restore-steps", "fading", *cli_args)
    assert status == 0, err
    assert err.strip().splitlines()[-1] == "restored 1 photo: fading 1"
    history = xmp_history_of((tmp_path / "graded" / "print.png").read_bytes())
    assert [event["stEvt:action"] for event in history] == ["filtered"]
    status, _, err = colorize(capsys, tmp_path / "print.png", "-o", tmp_path / "plain",
                              *cli_args)
    assert status == 0, err
    assert "restored" not in err  # never the default
    assert xmp_history_of((tmp_path / "plain" / "print.png").read_bytes()) == []


@pytest.mark.parametrize("extra,words", [
    (["--restore-steps", "fading,sharpen"], "--restore-steps: unknown restoration step 'sharpen'"),
    (["--restore-steps", ","], "--restore-steps: name at least one"),
])
def test_bad_restore_options_stop_before_any_work(tmp_path: Path, cli_args, capsys, extra,
                                                 words: str) -> None:
    gray_photo(40, 32).save(tmp_path / "a.png")
    status, out, err = colorize(capsys, tmp_path / "a.png", "-o", tmp_path / "out", *extra,
                                *cli_args)
    assert status == 1 and out == ""
    assert error_lines(err) == [f"error: {words}" + err.split(words, 1)[1].splitlines()[0]]
    assert not (tmp_path / "out").exists()


# -- --confidence-map: where the colours are guesses ---------------------------------------------


def test_confidence_maps_beside_the_outputs(tmp_path: Path, cli_args, capsys,
                                           tiny_weights: Path) -> None:
    """One 8-bit map per photo at its size, named as its output, equal to the API's map; the
    coloured output is the same as without the option."""
    from autocolor.images import load_image
    from autocolor.infer.colorizer import Colorizer

    (tmp_path / "in" / "sub").mkdir(parents=True)
    gray_photo(97, 61).save(tmp_path / "in" / "sub" / "a.jpg", quality=90)
    gray_photo(40, 70, 1).save(tmp_path / "in" / "b.png")
    status, _, err = colorize(capsys, tmp_path / "in", "-o", tmp_path / "out",
                              "--confidence-map", tmp_path / "maps", *cli_args)
    assert status == 0, err
    assert files_under(tmp_path / "maps") == {"sub/a.png", "b.png"}
    with Image.open(tmp_path / "maps" / "sub" / "a.png") as image:
        assert image.mode == "L" and image.size == (97, 61)
        written = np.asarray(image)
    colorizer = Colorizer.from_pretrained(tiny_weights, backend="torch")
    loaded = load_image(tmp_path / "in" / "sub" / "a.jpg")
    [(_, sure)] = colorizer.predict([colorizer.render_input(loaded.lightness)], confidence=True)
    assert np.array_equal(written, colorizer.confidence_map(sure, loaded.size))
    status, _, err = colorize(capsys, tmp_path / "in", "-o", tmp_path / "plain", *cli_args)
    assert status == 0, err
    for name in ("sub/a.jpg", "b.png"):
        assert (tmp_path / "plain" / name).read_bytes() == (tmp_path / "out" / name).read_bytes()


def test_a_photo_whose_join_fails_leaves_no_map(tmp_path: Path, cli_args, capsys,
                                               monkeypatch) -> None:
    """The map is made beside the join; a photo that fails there leaves neither output nor map,
    and the batch goes on."""
    from autocolor.infer.colorizer import Colorizer

    real_finish = Colorizer.finish_plan

    def failing(self, plan, ab_norm, for_file=False):
        if plan.target.name.startswith("bad"):
            raise ValueError("the join failed")
        return real_finish(self, plan, ab_norm, for_file)

    monkeypatch.setattr(Colorizer, "finish_plan", failing)
    (tmp_path / "in").mkdir()
    gray_photo(50, 40).save(tmp_path / "in" / "bad.png")
    gray_photo(40, 50, 1).save(tmp_path / "in" / "good.png")
    status, _, err = colorize(capsys, tmp_path / "in", "-o", tmp_path / "out",
                              "--confidence-map", tmp_path / "maps", *cli_args)
    assert status == 1 and "bad.png: the join failed" in err, err
    assert files_under(tmp_path / "out") == files_under(tmp_path / "maps") == {"good.png"}


def test_confidence_map_needs_a_bins_model(tmp_path: Path, capsys) -> None:
    import torch

    from autocolor.models import create_model
    from autocolor.weights import save_weights

    torch.manual_seed(0)
    weights = tmp_path / "regression.safetensors"
    save_weights(create_model("lite0-unet", pretrained=False, head="regression").eval(), weights,
                 {"architecture": "lite0-unet", "model_kwargs": {"head": "regression"},
                  "render_size": 64})
    gray_photo(40, 40).save(tmp_path / "a.png")
    status, _, err = colorize(capsys, tmp_path / "a.png", "-o", tmp_path / "out",
                              "--confidence-map", tmp_path / "maps", "--model", weights,
                              "--backend", "torch")
    assert status == 1
    assert error_lines(err) == [f"error: --confidence-map: the model {weights} has no "
                                "confidence output (a regression head, or an ONNX file exported "
                                "before it)"]
    assert not (tmp_path / "out").exists() and not (tmp_path / "maps").exists()
