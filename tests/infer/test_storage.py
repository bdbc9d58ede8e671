"""URIs on pyarrow file systems: parsing, listing, skipping, reading and writing, on file:// and
on an in-memory stand-in for an object store (what s3:// and gs:// take)."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from urllib.parse import quote

import numpy as np
import pytest
from PIL import Image

from autocolor.images import ImageError, load_image
from autocolor.infer import storage
from autocolor.infer.storage import Uri, is_uri, location


def file_uri(path: Path) -> str:
    return "file://" + quote(str(path))


def test_parse_and_print_round_trip() -> None:
    uri = Uri.parse("file:///tmp/old%20photos/a.jpg")
    assert uri == Uri("file", PurePosixPath("/tmp/old photos/a.jpg"))
    assert str(uri) == "file:///tmp/old%20photos/a.jpg"
    s3 = Uri.parse("s3://archive/scans/1920/p1.tif?region=eu-west-1")
    assert (s3.scheme, s3.path, s3.query) == ("s3", PurePosixPath("archive/scans/1920/p1.tif"),
                                             "?region=eu-west-1")
    assert str(s3) == "s3://archive/scans/1920/p1.tif?region=eu-west-1"
    assert Uri.parse("gs://bucket/folder/").path == PurePosixPath("bucket/folder")
    assert Uri.parse("file://localhost/srv/x.png").path == PurePosixPath("/srv/x.png")
    assert is_uri("s3://b/k") and is_uri("file:///x") and not is_uri("photos/a.jpg")
    assert not is_uri(Path("a")) and isinstance(location("a/b.png"), Path)


def test_the_path_pieces_that_name_outputs() -> None:
    root = Uri.parse("s3://bucket/in")
    photo = Uri.parse("s3://bucket/in/sub/a.tif")
    relative = photo.relative_to(root)
    assert relative == PurePosixPath("sub/a.tif")
    out = Uri.parse("s3://bucket/out?region=x") / relative.parent / "a.png"
    assert str(out) == "s3://bucket/out/sub/a.png?region=x"
    assert (photo.name, photo.stem, photo.suffix) == ("a.tif", "a", ".tif")
    assert photo.parent == Uri.parse("s3://bucket/in/sub")
    assert photo.with_name("b.png") == Uri.parse("s3://bucket/in/sub/b.png")
    assert photo.resolve() == photo
    assert Uri.parse("file:///tmp/../tmp/x.png").resolve() == Path("/tmp/x.png").resolve()


def test_listing_a_file_uri_folder(tmp_path: Path) -> None:
    (tmp_path / "in" / "sub").mkdir(parents=True)
    for name in ("b.png", "a.JPG", "sub/c.tif", ".hidden.png", "notes.txt"):
        (tmp_path / "in" / name).write_bytes(b"x")
    found = storage.list_photos(Uri.parse(file_uri(tmp_path / "in")))
    assert [str(uri.path.relative_to(tmp_path / "in")) for uri in found] == [
        "a.JPG", "b.png", "sub/c.tif"]
    single = Uri.parse(file_uri(tmp_path / "in" / "b.png"))
    assert storage.list_photos(single) == [single]
    assert storage.list_photos(Uri.parse(file_uri(tmp_path / "nothing"))) is None


def test_existing_lists_the_output_once(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "out" / "sub").mkdir(parents=True)
    (tmp_path / "out" / "sub" / "a.png").write_bytes(b"x")
    output = Uri.parse(file_uri(tmp_path / "out"))
    targets = [output / "sub" / "a.png", output / "b.png"]
    calls = []
    real = Uri.filesystem

    def counting(self):
        calls.append(self)
        return real(self)

    monkeypatch.setattr(Uri, "filesystem", counting)
    assert storage.existing(targets, output) == {targets[0]}
    assert len(calls) == 1
    missing = Uri.parse(file_uri(tmp_path / "not-yet"))
    assert storage.existing([missing / "a.png"], missing) == set()
    assert storage.existing([tmp_path / "out" / "sub" / "a.png", tmp_path / "c.png"],
                            tmp_path / "out") == {tmp_path / "out" / "sub" / "a.png"}


def test_read_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(ImageError) as caught:
        storage.read_bytes(Uri.parse(file_uri(tmp_path / "gone.jpg")), name="in/gone.jpg")
    assert str(caught.value).startswith("in/gone.jpg: cannot read")
    assert "\n" not in str(caught.value)
    with pytest.raises(ImageError, match="cannot read"):
        storage.read_bytes(tmp_path / "gone.jpg")


@pytest.fixture
def memory_store(monkeypatch) -> object:
    """s3:// URIs served by an in-memory pyarrow file system (fsspec's), for this test only;
    paths without a leading slash, as pyarrow's S3 file system has them (bucket/key)."""
    import fsspec
    from pyarrow.fs import FSSpecHandler, PyFileSystem, SubTreeFileSystem

    memory = fsspec.filesystem("memory")
    memory.store.clear()
    memory.pseudo_dirs.clear()
    memory.pseudo_dirs.append("")
    filesystem = SubTreeFileSystem("/", PyFileSystem(FSSpecHandler(memory)))
    real = Uri.filesystem
    monkeypatch.setattr(Uri, "filesystem",
                        lambda self: filesystem if self.scheme == "s3" else real(self))
    yield filesystem
    memory.store.clear()


def test_object_store_round_trip(memory_store, smooth_rgb) -> None:
    """Upload, list, skip and read back through the code s3:// takes (never the local rename)."""
    gray = Image.fromarray(smooth_rgb(3, 40, 56)).convert("L")
    import io

    buffer = io.BytesIO()
    gray.save(buffer, "PNG")
    storage.upload(buffer.getvalue(), Uri.parse("s3://archive/in/p.png"))
    source = Uri.parse("s3://archive/in/p.png")
    assert storage.list_photos(Uri.parse("s3://archive/in")) == [source]
    loaded = load_image(storage.read_bytes(source), name=str(source))
    rgb = np.repeat(np.asarray(gray)[..., None], 3, axis=-1)
    target = Uri.parse("s3://archive/out/p.png")
    assert storage.existing([target], Uri.parse("s3://archive/out")) == set()
    assert storage.write_result(rgb, target, loaded) == target
    assert storage.existing([target], Uri.parse("s3://archive/out")) == {target}
    with Image.open(io.BytesIO(storage.read_bytes(target))) as written:
        assert written.size == (56, 40) and np.array_equal(np.asarray(written), rgb)


def test_file_uri_writes_through_the_atomic_rename(tmp_path: Path, smooth_rgb) -> None:
    loaded = load_image(_png(tmp_path / "p.png", smooth_rgb))
    rgb = np.zeros((*loaded.lightness.shape, 3), np.uint8)
    target = Uri.parse(file_uri(tmp_path / "out dir" / "p.png"))
    assert storage.write_result(rgb, target, loaded) == target
    assert sorted(p.name for p in (tmp_path / "out dir").iterdir()) == ["p.png"]


def _png(path: Path, smooth_rgb) -> Path:
    Image.fromarray(smooth_rgb(1, 30, 40)).convert("L").save(path)
    return path
