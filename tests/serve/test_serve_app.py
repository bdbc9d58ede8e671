"""The HTTP API through FastAPI's TestClient: every route, every error, the same pixels as the
command line, provenance on every answer, and uploads that never touch the disk."""

from __future__ import annotations

import hashlib
import io
import json
import struct
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from autocolor import __version__
from autocolor.cli import main
from autocolor.image_output import OUTPUT_FORMATS
from autocolor.serve import job
from autocolor.serve.config import MAX_RENDER_SIZE


def post(client, image: bytes | None, name: str = "photo.png", reference: bytes | None = None,
         **fields):
    files = {}
    if image is not None:
        files["image"] = (name, image, "application/octet-stream")
    if reference is not None:
        files["reference"] = ("reference.jpg", reference, "image/jpeg")
    return client.post("/v1/colorize", files=files or None,
                       data={key: str(value) for key, value in fields.items()})


def decoded(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image)


def assert_error(response, status: int, *words: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"} and "\n" not in body["error"]
    assert "Traceback" not in body["error"]
    for word in words:
        assert word in body["error"], body["error"]
    return body


# -- routes --------------------------------------------------------------------------------------


def test_health(make_client, tiny_weights: Path) -> None:
    body = make_client(max_queue=3).get("/health").json()
    assert body["status"] == "ok" and body["version"] == __version__
    assert body["model"] == tiny_weights.name
    assert body["model_sha256"] == hashlib.sha256(tiny_weights.read_bytes()).hexdigest()
    assert body["backend"] == "torch" and body["render_size"] == 64
    assert body["queue"] == {"admitted": 0, "max_queue": 3, "completed": 0, "rejected": 0}


def test_docs_and_openapi(make_client) -> None:
    client = make_client()
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    operation = spec["paths"]["/v1/colorize"]["post"]
    schema = operation["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert schema["required"] == ["image"]
    assert set(schema["properties"]) == {"image", "reference", "render_size", "saturation",
                                         "format", "hints", "restore", "confidence"}
    assert {"400", "413", "415", "503"} <= set(operation["responses"])
    assert "image/webp" in operation["responses"]["200"]["content"]
    # One model says what each field takes: the schema and the checks agree.
    properties = schema["properties"]
    assert properties["render_size"]["maximum"] == MAX_RENDER_SIZE
    assert properties["render_size"]["minimum"] == 32
    assert properties["format"]["enum"] == list(OUTPUT_FORMATS)
    assert properties["confidence"]["type"] == "boolean"
    assert properties["image"]["format"] == "binary"
    assert set(properties) - {"image", "reference"} == set(job.Options.model_fields)


def test_options_model_parses_the_form_words() -> None:
    options = job.parse_options({"render_size": " 100 ", "saturation": "", "format": "JPG",
                                 "confidence": "Yes", "restore": "no"})
    assert options == job.Options(render_size=100, format="jpeg", confidence=True)
    assert job.parse_options({}) == job.Options()
    with pytest.raises(job.OptionError, match="^render_size must be 32-2048, got 2049$"):
        job.parse_options({"render_size": "2049"})


def test_unknown_routes_and_methods_are_json(make_client) -> None:
    client = make_client()
    assert_error(client.get("/nowhere"), 404, "Not Found")
    assert_error(client.get("/v1/colorize"), 405)


# -- the same pixels as `autocolor colorize` -----------------------------------------------------


def _oriented_jpeg(make_photo) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: the upright photo is 64 wide, 96 high
    return make_photo(96, 64, "JPEG", seed=2, quality=92, exif=exif.tobytes())


CASES = {
    "jpeg, defaults": ("in.jpg", {}, False),
    "png, every option": ("in.png", {"render_size": 96, "saturation": 1.4,
                                     "hints": {"points": [{"x": 10, "y": 12, "color": "#2060c0",
                                                           "radius": 3}]}}, True),
    "webp": ("in.png", {"format": "webp", "saturation": 0.7}, False),
    "jpeg with hints as stored": ("in.jpg", {"hints": {"points": [
        {"x": 80, "y": 5, "color": [200, 40, 40]}]}}, False),
}


@pytest.mark.parametrize("case", list(CASES))
def test_same_pixels_as_the_command_line(case: str, make_client, make_photo, tmp_path: Path,
                                         tiny_weights: Path, capsys) -> None:
    name, options, with_reference = CASES[case]
    photo = _oriented_jpeg(make_photo) if name.endswith(".jpg") else make_photo(96, 64, seed=3)
    reference = np.zeros((40, 50, 3), np.uint8)
    reference[..., 0], reference[:20, :, 1] = 180, 120
    reference_bytes = _jpeg(reference) if with_reference else None

    source = tmp_path / name
    source.write_bytes(photo)
    args = ["colorize", str(source), "-o", str(tmp_path / "out"), "--model", str(tiny_weights),
            "--backend", "torch"]
    fields = {}
    for key, value in options.items():
        if key == "hints":
            (tmp_path / "hints.json").write_text(json.dumps(value))
            args += ["--hints", str(tmp_path / "hints.json")]
            fields["hints"] = json.dumps(value)
        else:
            args += [f"--{key.replace('_', '-')}", str(value)]
            fields[key] = value
    if reference_bytes is not None:
        (tmp_path / "ref.jpg").write_bytes(reference_bytes)
        args += ["--reference", str(tmp_path / "ref.jpg")]
    assert main(args) == 0, capsys.readouterr().err
    [written] = list((tmp_path / "out").iterdir())

    response = post(make_client(), photo, name, reference_bytes, **fields)
    assert response.status_code == 200, response.text
    expected_type = {".jpg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}
    assert response.headers["content-type"] == expected_type[written.suffix]
    served, cli = decoded(response.content), decoded(written.read_bytes())
    upright = (96, 64, 3) if name.endswith(".jpg") else (64, 96, 3)  # EXIF-rotated JPEG
    assert served.shape == cli.shape == upright  # upright, full size
    assert np.array_equal(served, cli)
    assert response.content == written.read_bytes()  # the same encoder and metadata, too


def _jpeg(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


# -- formats and provenance ----------------------------------------------------------------------


def test_formats(make_client, make_photo) -> None:
    client = make_client()
    response = post(client, make_photo(fmt="JPEG"), "a b!.jpeg")  # JPEG stays JPEG
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["content-disposition"] == 'inline; filename="a_b-color.jpg"'
    response = post(client, make_photo(fmt="BMP"), "scan.bmp")  # anything else becomes PNG
    assert response.headers["content-type"] == "image/png"
    for fmt, media in (("tiff", "image/tiff"), ("jpg", "image/jpeg"), ("WEBP", "image/webp")):
        response = post(client, make_photo(), format=fmt)
        assert response.status_code == 200 and response.headers["content-type"] == media
        assert decoded(response.content).shape == (64, 96, 3)
    deep = (np.asarray(Image.open(io.BytesIO(make_photo()))).astype(np.uint16) * 257)
    response = post(client, _png(Image.fromarray(deep)), format="jpeg")  # JPEG has no 16 bits
    assert response.headers["content-type"] == "image/png" and response.content[24] == 16
    rgba = Image.new("RGBA", (30, 20), (90, 90, 90, 128))
    response = post(client, _png(rgba), format="jpeg")  # nor alpha
    assert response.headers["content-type"] == "image/png"
    assert decoded(response.content)[0, 0, 3] == 128


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp", "tiff"])
def test_answers_carry_provenance(make_client, make_photo, tiny_weights: Path, xmp_of,
                                  fmt: str) -> None:
    response = post(make_client(), make_photo(), format=fmt)
    fields = xmp_of(response.content)
    sha = hashlib.sha256(tiny_weights.read_bytes()).hexdigest()
    assert fields is not None
    assert fields["Iptc4xmpExt:DigitalSourceType"] == (
        "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia")
    assert fields["Iptc4xmpExt:AISystemVersionUsed"] == f"sha256:{sha}"
    assert fields["xmp:CreatorTool"] == f"autocolor {__version__}"
    bare = post(make_client(provenance=False), make_photo(), format=fmt)
    assert xmp_of(bare.content) is None


# -- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize("fields,words", [
    ({"render_size": "big"}, ["render_size", "whole number"]),
    ({"render_size": 8}, ["render_size", "32-2048"]),
    ({"render_size": 100000}, ["render_size"]),
    ({"saturation": "vivid"}, ["saturation", "number"]),
    ({"saturation": -1}, ["saturation", ">= 0"]),
    ({"saturation": "nan"}, ["saturation"]),
    ({"format": "gif"}, ["format", "png, jpeg, webp, tiff"]),
    ({"hints": "{not json"}, ["hints", "not valid JSON"]),
    ({"hints": "hints.json"}, ["hints"]),  # never read as a path on the server
    ({"hints": json.dumps({"points": [{"x": 1, "y": 1}]})}, ["hints", "color"]),
    ({"hints": json.dumps({"points": [{"x": 500, "y": 1, "color": "#fff"}]})}, ["outside"]),
    ({"colour": "red"}, ["unknown form field", "colour"]),
    ({"restore": "fading,sharpen"}, ["restore", "sharpen"]),
    ({"confidence": "maybe"}, ["confidence", "true or false"]),
])
def test_bad_options_are_400(make_client, gray_png, fields, words) -> None:
    client = make_client()
    assert_error(post(client, gray_png, **fields), 400, *words)
    assert client.app.state.worker.admitted == 0


def test_bad_forms_are_400(make_client, gray_png) -> None:
    client = make_client()
    assert_error(post(client, None, saturation=1), 400, "multipart/form-data", "'image'")
    assert_error(post(client, None, reference=gray_png), 400, "no photo")
    assert_error(client.post("/v1/colorize", data={"image": "not a file"},
                             files={"reference": ("r.png", gray_png)}), 400, "must be a file")
    assert_error(client.post("/v1/colorize", files={"image": ("a.png", gray_png),
                                                    "extra": ("b.png", gray_png)}), 400)
    assert_error(client.post("/v1/colorize", files=[("image", ("a.png", gray_png)),
                                                    ("image", ("b.png", gray_png))]), 400)
    assert_error(client.post("/v1/colorize", content=gray_png,
                             headers={"content-type": "image/png"}), 400, "multipart/form-data")
    assert_error(client.post("/v1/colorize", content=b"--x\r\nbroken",
                             headers={"content-type": "multipart/form-data; boundary=x"}), 400)


def _multipart(image: bytes) -> tuple[bytes, str]:
    boundary = "autocolor-test-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; "
            f"filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n").encode() + image + \
        f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def test_too_many_bytes_is_413(make_client, make_photo) -> None:
    client = make_client(max_upload_mb=0.01)  # 10,485 bytes
    noise = np.random.default_rng(1).integers(0, 256, (100, 150), dtype=np.uint8)
    photo = _png(Image.fromarray(noise))
    assert len(photo) > 11_000
    assert_error(post(client, photo), 413, "larger than the limit", "--max-upload-mb")
    body, content_type = _multipart(photo)  # no Content-Length: counted while reading
    response = client.post("/v1/colorize", content=iter([body[:5000], body[5000:]]),
                           headers={"content-type": content_type})
    assert "content-length" not in response.request.headers
    assert_error(response, 413, "larger than the limit")
    assert post(client, make_photo(40, 30)).status_code == 200  # a small one still passes
    assert client.app.state.worker.admitted == 0


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims width x height but holds a few bytes of pixels: only a reader that
    trusts the header before decoding can call it too large rather than truncated."""
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0,
                                                               0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def test_too_many_pixels_is_413_from_the_header(make_client, make_photo, gray_png) -> None:
    client = make_client(max_pixels=1_000_000)
    assert_error(post(client, _png_header_only(30_000, 20_000)), 413, "too many pixels",
                 "--max-pixels")
    assert_error(post(client, _png_header_only(2000, 1000)), 413, "2000x1000")
    # The same broken file under the limit is what it is: a truncated image.
    assert_error(post(client, _png_header_only(200, 100)), 415, "truncated")
    assert_error(post(client, gray_png, reference=_png_header_only(2000, 1000)), 413,
                 "reference")


@pytest.mark.parametrize("data,words", [
    (b"just some text", ["image", "not an image"]),
    (b"", ["image", "empty"]),
])
def test_not_an_image_is_415(make_client, data: bytes, words) -> None:
    assert_error(post(make_client(), data), 415, *words)


def test_truncated_and_bad_references_are_415(make_client, make_photo, gray_png) -> None:
    client = make_client()
    jpeg = make_photo(200, 150, "JPEG")
    assert_error(post(client, jpeg[: len(jpeg) // 2]), 415, "truncated")
    assert_error(post(client, gray_png, reference=b"%PDF-1.4"), 415, "reference")
    assert client.app.state.worker.admitted == 0


def test_full_queue_is_503_with_retry_after(make_client, gray_png) -> None:
    client = make_client(max_queue=2)
    worker = client.app.state.worker
    held = [worker.admit(), worker.admit()]  # two requests in
    response = post(client, gray_png)
    assert_error(response, 503, "busy")
    assert int(response.headers["retry-after"]) >= 1
    assert worker.rejected == 1
    for ticket in held:
        ticket.drop()
    assert post(client, gray_png).status_code == 200


def test_timeout_is_503_and_frees_the_slot_when_the_job_ends(make_client, gray_png,
                                                             monkeypatch) -> None:
    from autocolor.serve import job

    release = threading.Event()
    real = job.colorize

    def slow(*args, **kwargs):
        release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(job, "colorize", slow)
    client = make_client(timeout_s=1.0)
    response = post(client, gray_png)
    assert_error(response, 503, "not coloured within 1 s")
    assert int(response.headers["retry-after"]) >= 1
    worker = client.app.state.worker
    assert worker.admitted == 1  # the job still runs, and still holds its memory
    release.set()
    for _ in range(300):
        if worker.admitted == 0:
            break
        threading.Event().wait(0.05)
    assert worker.admitted == 0


def test_unexpected_errors_are_one_line_500(make_client, gray_png, monkeypatch) -> None:
    from autocolor.serve import job

    def broken(*args, **kwargs):
        raise RuntimeError("boom\n  File 'secret.py', line 1")

    monkeypatch.setattr(job, "colorize", broken)
    client = make_client(raise_server_exceptions=False)
    assert_error(post(client, gray_png), 500, "internal error: boom")
    assert "secret" not in post(client, gray_png).text
    assert client.app.state.worker.admitted == 0


def test_uploads_never_touch_the_disk(make_client, monkeypatch) -> None:
    """A 1.5 MB upload (over Starlette's 1 MB default spool) with every way of making a
    temporary file disabled."""
    import tempfile

    def no_disk(*args, **kwargs):
        raise AssertionError("an upload went to a temporary file")

    noise = np.random.default_rng(0).integers(0, 256, (600, 800, 3), dtype=np.uint8)
    photo = _png(Image.fromarray(noise))
    assert len(photo) > 1_100_000
    for name in ("TemporaryFile", "NamedTemporaryFile", "mkstemp", "mkdtemp"):
        monkeypatch.setattr(tempfile, name, no_disk)
    response = post(make_client(), photo)
    assert response.status_code == 200, response.text
    assert decoded(response.content).shape == (600, 800, 3)


def test_restore_field(make_client, old_print, xmp_history_of, tiny_weights: Path) -> None:
    """restore=auto restores the old print (its XMP lists the steps, as --restore's does); the
    default does not."""
    from autocolor.images import load_image
    from autocolor.restore import restore_lightness
    from autocolor.restore.config import EVENTS

    image, _ = old_print(96, 72)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    client = make_client()
    restored = client.post("/v1/colorize", files={"image": ("p.png", buffer.getvalue())},
                           data={"restore": "auto"})
    assert restored.status_code == 200, restored.text
    steps = restore_lightness(load_image(buffer.getvalue()).lightness).ran
    assert steps, "the print shows its damage"
    history = xmp_history_of(restored.content)
    assert [event["stEvt:parameters"] for event in history] == [EVENTS[s][1] for s in steps]
    plain = client.post("/v1/colorize", files={"image": ("p.png", buffer.getvalue())})
    assert plain.status_code == 200 and xmp_history_of(plain.content) == []
    assert not np.array_equal(load_image(plain.content).lightness,
                              load_image(restored.content).lightness)


def test_confidence_answers_a_zip(make_client, make_photo, serve_colorizer) -> None:
    """confidence=true: a zip of the very result the plain request gets and its map, 8-bit at
    the photo's size, as Colorizer.confidence_map makes it."""
    import zipfile

    from autocolor.images import load_image

    photo = make_photo(96, 64)
    client = make_client()
    plain = client.post("/v1/colorize", files={"image": ("scan 1.png", photo)})
    answer = client.post("/v1/colorize", files={"image": ("scan 1.png", photo)},
                         data={"confidence": "true"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/zip"
    assert 'filename="scan_1-color.zip"' in answer.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
        assert archive.namelist() == ["scan_1-color.png", "scan_1-confidence.png"]
        assert archive.read("scan_1-color.png") == plain.content
        with Image.open(io.BytesIO(archive.read("scan_1-confidence.png"))) as image:
            assert image.mode == "L" and image.size == (96, 64)
            written = np.asarray(image)
    loaded = load_image(photo)
    [(_, sure)] = serve_colorizer.predict([serve_colorizer.render_input(loaded.lightness)],
                                          confidence=True)
    assert np.array_equal(written, serve_colorizer.confidence_map(sure, loaded.size))



@pytest.mark.parametrize("value,expected", [
    ("", None), ("false", None), ("0", None), ("true", "auto"), ("1", "auto"), ("auto", "auto"),
    ("Fading, dust", ("dust", "fading")),
])
def test_the_restore_field_reads_yes_no_and_steps(value: str, expected) -> None:
    from autocolor.serve.job import parse_restore

    assert parse_restore(value) == expected
