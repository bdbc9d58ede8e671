"""The default-corpus builder end to end on a tiny stand-in source list."""

from __future__ import annotations

import hashlib
import io
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from autocolor.data import cache, corpus
from autocolor.data.fetch import FetchError
from autocolor.data.sources import DEFAULT_PHOTOS, Source, read_sources
from autocolor.data.split import stratified_splits

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"


def _photo_bytes(width: int, height: int, seed: int, fmt: str = "JPEG") -> bytes:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    rgb = np.stack([128 + 90 * np.sin(x / 17 + seed), 128 + 90 * np.cos(y / 13), 100 + x / 4], -1)
    rgb[: height // 2, : width // 4] = (250, 20, 20)  # a red top-left corner, to see rotations
    rgb += rng.normal(0, 4, rgb.shape)
    buffer = io.BytesIO()
    Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).save(buffer, fmt)
    return buffer.getvalue()


def _stamp_bytes(seed: int) -> bytes:
    rgb = np.asarray(Image.open(io.BytesIO(_photo_bytes(120, 90, seed))))
    alpha = np.zeros(rgb.shape[:2], np.uint8)
    alpha[10:80, 10:110] = 255
    buffer = io.BytesIO()
    Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(buffer, "PNG")
    return buffer.getvalue()


class FakeFetcher:
    """Serves bytes by member name, like Fetcher.fetch (verifies nothing: tested elsewhere)."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files

    def fetch(self, source: Source) -> bytes:
        if source.member not in self.files:
            raise FetchError(f"{source.name}: not in the package")
        return self.files[source.member]


def _sources(count: int) -> tuple[list[Source], dict[str, bytes]]:
    files, photos = {}, []
    for index in range(count):
        member = f"usr/share/p/photo{index}.jpg"
        files[member] = _photo_bytes(800, 600, index)
        subject = ("people", "animal", "building", "landscape")[index % 4]
        photos.append(Source("deb", "p", "1", member, hashlib.sha256(files[member]).hexdigest(),
                             "GPL-2+", rotation=90 if index == 0 else 0, subject=subject))
    return photos, files


def test_build_end_to_end(tmp_path: Path) -> None:
    photos, files = _sources(24)
    stamps = []
    for index in range(3):
        member = f"usr/share/tuxpaint/stamps/s{index}.png"
        files[member] = _stamp_bytes(50 + index)
        stamps.append(Source("deb", "tuxpaint-stamps-default", "1", member,
                             hashlib.sha256(files[member]).hexdigest(), "GPL-2"))
    staging = tmp_path / "cache"
    staging.mkdir()
    result = corpus.build(photos, stamps, FakeFetcher(files), staging, composites=True)
    assert result.problems == []
    cache.write_manifest(staging, result.records)
    records = cache.read_manifest(staging)
    real = [r for r in records if r.subject != "composite"]
    assert len(real) == len(photos)
    assert {r.split for r in real} == {"train", "val", "test"}
    assert all(r.split == stratified_splits(photos)[r.sha256] for r in real)
    assert all(min(r.width, r.height) == corpus.PHOTO_SHORT_SIDE for r in real)
    composites = [r for r in records if r.subject == "composite"]
    assert len(composites) == 3 and all(r.split == "train" for r in composites)
    train_names = {r.source for r in real if r.split == "train"}
    assert all(r.source.split(" on ")[1] in train_names for r in composites), \
        "composites take training backgrounds only"
    rotated = next(r for r in real if r.source.endswith("photo0.jpg"))
    assert (rotated.width, rotated.height) == (512, 683), "rotation 90 turns landscape upright"
    pixels = np.asarray(Image.open(staging / rotated.file).convert("RGB")).astype(int)
    assert pixels[5, -5, 0] > 200 and pixels[5, -5, 1] < 80, "clockwise: the red corner goes right"
    for record in records:
        assert (staging / record.file).is_file()


def test_a_missing_source_is_reported_not_fatal(tmp_path: Path) -> None:
    photos, files = _sources(10)
    del files[photos[3].member]
    result = corpus.build(photos, [], FakeFetcher(files), tmp_path, composites=False)
    assert len(result.records) == 9
    assert len(result.problems) == 1 and "photo3.jpg" in result.problems[0]


def test_replace_folder_never_deletes_a_non_cache(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "precious.txt").write_text("keep", encoding="utf-8")
    staging = tmp_path / "staging"
    staging.mkdir()
    with pytest.raises(FileExistsError):
        corpus.replace_folder(staging, out)
    assert (out / "precious.txt").is_file()


def test_samples_are_grayscale_test_photos(tmp_path: Path) -> None:
    photos, files = _sources(40)
    splits = stratified_splits(photos)
    chosen = corpus.write_samples(photos, splits, FakeFetcher(files), tmp_path)
    assert chosen and all(splits[p.sha256] == "test" for p in chosen)
    for photo in chosen:
        with Image.open(tmp_path / corpus.sample_name(photo)) as image:
            assert image.mode == "L"
    assert all(p.sha256 in (tmp_path / "LICENSES.md").read_text() for p in chosen)


def test_module_imports_without_torch() -> None:
    code = "import sys, autocolor.data.corpus; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


@pytest.mark.skipif(not (SAMPLES / "LICENSES.md").is_file(), reason="no samples yet")
def test_committed_samples_are_test_split_photos() -> None:
    photos = read_sources(REPO / DEFAULT_PHOTOS)
    splits = stratified_splits(photos)
    text = (SAMPLES / "LICENSES.md").read_text(encoding="utf-8")
    files = sorted(p.name for p in SAMPLES.glob("*.jpg"))
    assert 3 <= len(files) <= 4
    for name in files:
        row = next(line for line in text.splitlines() if line.startswith(f"| {name} |"))
        sha = re.search(r"`([0-9a-f]{64})`", row).group(1)
        assert splits.get(sha) == "test", f"{name} is not a test-split photo"
        with Image.open(SAMPLES / name) as image:
            assert image.mode == "L" and max(image.size) <= corpus.SAMPLE_LONG_SIDE
