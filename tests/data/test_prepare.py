"""``autocolor data prepare``: own photo folders -> training cache, incremental."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from autocolor.data import cache, prepare, prepare_state, unsplash_fetch, unsplash_tables
from autocolor.data.prepare import prepare_folders

SIDE = 96  # a small cache size keeps the tests fast


def _colour(width: int = 400, height: int = 300, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    rgb = np.stack([255 * x / width, 255 * y / height,
                    128 + 100 * np.sin((x + y) / 40.0 + seed)], axis=-1)
    rgb += rng.normal(0, 6, rgb.shape)
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))


def _gray_values(width: int = 400, height: int = 300) -> np.ndarray:
    rng = np.random.default_rng(1)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    gray = 30 + 200 * x / width + 15 * np.sin(y / 9.0) + rng.normal(0, 4, x.shape)
    return np.clip(gray, 0, 255)


def _sepia() -> Image.Image:
    gray = _gray_values()[..., None].repeat(3, axis=-1)
    matrix = np.array([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]])
    return Image.fromarray(np.clip(gray @ matrix.T, 0, 255).astype(np.uint8))


def _jpeg_bytes(image: Image.Image, **kwargs) -> bytes:
    import io

    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=92, **kwargs)
    return buffer.getvalue()


def test_chroma_criteria_catch_gray_and_sepia():
    colour = cache.chroma_stats(np.asarray(_colour()))
    gray = cache.chroma_stats(np.asarray(Image.fromarray(_gray_values().astype(np.uint8))
                                         .convert("RGB")))
    sepia = cache.chroma_stats(np.asarray(_sepia()))
    assert cache.low_chroma_reason(colour) == ""
    assert cache.low_chroma_reason(gray) == "gray"
    # Sepia's ab spread is above MIN_AB_SPREAD (chroma grows with lightness), so the spread
    # within a lightness is what catches it.
    assert sepia["ab_spread"] > cache.MIN_AB_SPREAD
    assert sepia["ab_spread_given_l"] < cache.MIN_AB_SPREAD_GIVEN_L
    assert cache.low_chroma_reason(sepia) == "toned"


@pytest.fixture
def photos(tmp_path) -> Path:
    root = tmp_path / "photos"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "other").mkdir()
    (root / ".thumbnails").mkdir()
    _colour(seed=1).save(root / "colour1.jpg", quality=92)
    shutil.copy(root / "colour1.jpg", root / "other" / "copy of colour1.jpg")
    rgba = _colour(300, 400, seed=2).convert("RGBA")
    rgba.putalpha(200)
    rgba.save(root / "sub" / "colour2.png")
    _colour(seed=3).save(root / "sub" / "deeper" / "colour3.webp", quality=90)
    _colour(seed=4).convert("CMYK").save(root / "sub" / "cmyk.jpg", quality=92)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    _colour(400, 200, seed=5).save(root / "rotated.jpg", quality=92, exif=exif.tobytes())
    Image.fromarray(_gray_values().astype(np.uint8)).convert("RGB").save(root / "gray.jpg")
    Image.fromarray((_gray_values() * 256).astype(np.uint16)).save(root / "sub" / "gray16.png")
    _sepia().save(root / "sepia.jpg", quality=92)
    _colour(40, 30).save(root / "tiny.png")
    (root / "broken.jpg").write_bytes(b"this is not a photo")
    whole = _jpeg_bytes(_colour(seed=6))
    (root / "other" / "truncated.jpg").write_bytes(whole[: len(whole) // 2])
    _colour(seed=7).save(root / ".hidden.jpg")
    _colour(seed=8).save(root / ".thumbnails" / "thumb.jpg")
    (root / "notes.txt").write_text("not a photo")
    return root


def test_prepare_builds_the_cache(photos, tmp_path):
    warnings: list[str] = []
    out = tmp_path / "cache"
    summary = prepare_folders([photos], out, short_side=SIDE, workers=1, progress=False,
                              warn=warnings.append)

    assert summary.found == 12
    assert (summary.kept, summary.gray, summary.toned, summary.duplicates, summary.too_small) == (
        5, 2, 1, 1, 1)
    assert sorted(Path(p).name for p, _ in summary.corrupt) == ["broken.jpg", "truncated.jpg"]
    assert len(warnings) == 2
    assert any("broken.jpg" in w for w in warnings) and any("truncated.jpg" in w for w in warnings)
    assert all("\n" not in w for w in warnings)

    records = cache.read_manifest(out)
    assert len(records) == summary.cache_total == 5
    sources = {Path(r.source).name for r in records}
    assert sources == {"colour1.jpg", "colour2.png", "colour3.webp", "cmyk.jpg", "rotated.jpg"}
    for record in records:
        assert record.sha256 == hashlib.sha256(Path(record.source).read_bytes()).hexdigest()
        assert record.split == cache.split_for_hash(record.sha256)
        assert record.ab_spread >= cache.MIN_AB_SPREAD
        with Image.open(out / record.file) as image:
            assert image.format == "JPEG" and image.mode == "RGB"
            assert image.size == (record.width, record.height)
            assert min(image.size) == SIDE
    rotated = next(r for r in records if r.source.endswith("rotated.jpg"))
    assert (rotated.width, rotated.height) == (SIDE, 2 * SIDE)  # EXIF orientation applied
    png = next(r for r in records if r.source.endswith("colour2.png"))
    with Image.open(out / png.file) as image:  # alpha flattened onto white, colours kept
        assert np.asarray(image).mean() > np.asarray(_colour(300, 400, seed=2)).mean()
    cached = {p.name for p in out.iterdir()}
    assert cached == {r.file for r in records} | {cache.CACHE_MANIFEST, prepare_state.STATE_NAME}


def test_rerun_processes_only_new_photos(photos, tmp_path, monkeypatch):
    out = tmp_path / "cache"
    prepare_folders([photos], out, short_side=SIDE, workers=1, progress=False, warn=print)
    stamps = {p.name: p.stat().st_mtime_ns for p in out.glob("*.jpg")}

    decoded: list[str] = []
    real = prepare.process_photo

    def counting(task):
        decoded.append(Path(task.path).name)
        return real(task)

    monkeypatch.setattr(prepare, "process_photo", counting)
    again = prepare_folders([photos], out, short_side=SIDE, workers=1, progress=False,
                            warn=print)
    assert sorted(decoded) == ["broken.jpg", "truncated.jpg"]  # unreadable ones are retried
    assert (again.kept, again.unchanged, again.cache_total) == (0, 10, 5)

    decoded.clear()
    _colour(seed=9).save(photos / "sub" / "new.jpg", quality=92)
    shutil.copy(photos / "gray.jpg", photos / "gray again.jpg")  # known gray bytes: not decoded
    third = prepare_folders([photos], out, short_side=SIDE, workers=1, progress=False,
                            warn=print)
    assert sorted(decoded) == ["broken.jpg", "new.jpg", "truncated.jpg"]
    assert (third.kept, third.gray, third.cache_total) == (1, 1, 6)
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.jpg") if p.name in stamps} == stamps


def test_unsplash_download_folder_with_a_process_pool(tmp_path):
    folder = tmp_path / "unsplash"
    folder.mkdir()
    records = {}
    for i in range(3):
        photo_id = f"photo-{i}"
        _colour(seed=10 + i).save(folder / f"{photo_id}.jpg", quality=85)
        records[photo_id] = unsplash_tables.DownloadRecord(
            photo_id, f"https://images.unsplash.com/{photo_id}?w=512", "ok",
            page_url=f"https://unsplash.com/photos/{photo_id}", file=f"{photo_id}.jpg")
    records["gone"] = unsplash_tables.DownloadRecord("gone", "https://x/gone", "failed",
                                              reason=unsplash_fetch.NOT_FOUND, error="HTTP 404")
    _colour(seed=20).save(folder / "gone.jpg")  # a stray file for a failed entry is skipped
    unsplash_tables.write_download_manifest(folder, records)

    out = tmp_path / "cache"
    summary = prepare_folders([folder], out, short_side=SIDE, workers=2, progress=False)
    assert (summary.kept, summary.failed_downloads, summary.cache_total) == (3, 1, 3)
    rows = cache.read_manifest(out)
    assert {r.source for r in rows} == {f"https://unsplash.com/photos/photo-{i}" for i in range(3)}
    assert {r.license for r in rows} == {unsplash_tables.LICENSE}


def test_cli_fractions_and_exit_codes(tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    for i in range(4):
        _colour(200, 150, seed=30 + i).save(src / f"p{i}.jpg")
    out = tmp_path / "cache"
    assert prepare.main([str(src), "--out", str(out), "--short-side", str(SIDE),
                         "--workers", "1", "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "added 4" in text and "4 photos" in text

    assert prepare.main([str(src), "--out", str(out), "--short-side", str(SIDE), "--workers",
                         "1", "--no-progress", "--val-fraction", "0", "--test-fraction", "0"]) == 0
    assert {r.split for r in cache.read_manifest(out)} == {"train"}

    empty = tmp_path / "empty"
    empty.mkdir()
    assert prepare.main([str(empty), "--out", str(tmp_path / "c2"), "--no-progress"]) == 1
    assert prepare.main([str(tmp_path / "missing"), "--out", str(tmp_path / "c3")]) == 2
    assert prepare.main([str(src), "--out", str(out), "--val-fraction", "0.9"]) == 2


def _swapped_icc() -> bytes:
    """An RGB profile like sRGB with the red and green primaries swapped and not named sRGB
    (as in tests/test_images_rgb.py): converting reddish pixels under it to sRGB gives green."""
    import struct

    from PIL import ImageCms

    data = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    (count,) = struct.unpack(">I", data[128:132])
    tags = {}
    for index in range(count):
        signature, offset, size = struct.unpack(">4sII", data[132 + 12 * index:144 + 12 * index])
        tags[signature] = (index, offset, size)
    (red, red_offset, red_size), (green, green_offset, green_size) = tags[b"rXYZ"], tags[b"gXYZ"]
    struct.pack_into(">4sII", data, 132 + 12 * red, b"rXYZ", green_offset, green_size)
    struct.pack_into(">4sII", data, 132 + 12 * green, b"gXYZ", red_offset, red_size)
    blob = bytes(data).replace(b"sRGB", b"swap")
    return blob.replace("sRGB".encode("utf-16-be"), "swap".encode("utf-16-be"))


def test_icc_profiles_become_srgb_and_deep_gray_is_gray(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    reddish = np.asarray(_colour(seed=40)).astype(np.int32)
    reddish[..., 0] = np.clip(reddish[..., 0] + 90, 0, 255)
    reddish[..., 1] = np.clip(reddish[..., 1] - 90, 0, 255)
    reddish = Image.fromarray(reddish.astype(np.uint8))
    reddish.save(src / "tagged.png", icc_profile=_swapped_icc())
    reddish.save(src / "broken.png", icc_profile=b"not a profile at all")  # taken as sRGB
    Image.fromarray((_gray_values() * 257).astype(np.uint16)).save(src / "deep.png")
    out = tmp_path / "cache"
    summary = prepare_folders([src], out, short_side=SIDE, workers=1, progress=False)
    assert (summary.kept, summary.gray, len(summary.corrupt)) == (2, 1, 0)
    cached = {Path(r.source).name: np.asarray(Image.open(out / r.file)).astype(float)
              for r in cache.read_manifest(out)}
    tagged, untagged = cached["tagged.png"], cached["broken.png"]
    assert untagged[..., 0].mean() > untagged[..., 1].mean() + 60  # red stays red
    assert tagged[..., 1].mean() > tagged[..., 0].mean() + 30  # the profile was applied
