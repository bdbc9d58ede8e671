"""The default-corpus builder: filters, licences, composites without split leakage, outputs."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from autocolor.data import cache, corpus
from autocolor.data.cache import split_for_hash

REPO = Path(__file__).resolve().parents[2]
SHARED_LIST = REPO.parent / "shared" / "corpus" / "wallpaper-photos.tsv"
COMMITTED_MANIFEST = REPO / "data" / "corpus_manifest.tsv"
SAMPLES = REPO / "samples"


def _photo(width: int = 240, height: int = 160, seed: int = 0) -> Image.Image:
    """Colourful, textured and noisy, like a photograph."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    rgb = np.stack([128 + 90 * np.sin(x / 17 + seed), 128 + 90 * np.cos(y / 13), 100 + x / 4], -1)
    rgb += rng.normal(0, 8, rgb.shape)
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))


def _gradient(width: int = 240, height: int = 160) -> Image.Image:
    """Smooth two-colour gradient, like rendered wallpaper artwork."""
    t = np.linspace(0, 1, width, dtype=np.float32)[None, :, None].repeat(height, 0)
    rgb = (1 - t) * np.array([40, 60, 200]) + t * np.array([60, 120, 230])
    return Image.fromarray(rgb.astype(np.uint8))


def _save(image: Image.Image, file: Path, **kwargs) -> Path:
    file.parent.mkdir(parents=True, exist_ok=True)
    image.save(file, **kwargs)
    return file


def _camera_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[271] = "TestCam"  # Make
    return exif


def _cutout(rgb: Image.Image) -> Image.Image:
    """An elliptical alpha cutout of an RGB image."""
    w, h = rgb.size
    y, x = np.mgrid[0:h, 0:w]
    alpha = (((x - w / 2) / (w / 2)) ** 2 + ((y - h / 2) / (h / 2)) ** 2 <= 1.0) * 255
    return Image.fromarray(np.dstack([np.asarray(rgb), alpha.astype(np.uint8)]), "RGBA")


# --------------------------------------------------------------------------- licences


DEP5 = """Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: demo

Files: *
Copyright: 2014 Someone <a@b.c>
License: GPL-2+

Files: nature/Aqua.jpg
       nature/Garden.jpg
Copyright: 2008, Charles Barbin <barbinch@free.fr>´
License: GPL-2+
Comment: see AUTHORS

Files: desktop/Ubuntu-Mate-*-no-logo.png
Copyright: 2014 Goce Mitevski
License: CC-BY-SA-4.0

License: GPL-2+
 This package is free software.
"""


def test_dep5_matches_installed_paths_and_last_stanza_wins() -> None:
    stanzas = corpus.parse_dep5(DEP5)
    assert len(stanzas) == 3
    aqua = corpus.dep5_license("usr/share/backgrounds/mate/nature/Aqua.jpg", stanzas)
    assert aqua == "GPL-2+ (© 2008, Charles Barbin)"
    warm = corpus.dep5_license("usr/share/backgrounds/mate/desktop/Ubuntu-Mate-Warm-no-logo.png", stanzas)
    assert warm.startswith("CC-BY-SA-4.0")
    other = corpus.dep5_license("usr/share/backgrounds/mate/abstract/Flow.png", stanzas)
    assert other == "GPL-2+ (© 2014 Someone)"


def test_package_license_reads_copyright_and_plasma_metadata(tmp_path: Path) -> None:
    _save(Image.new("RGB", (4, 4)), tmp_path / "usr/share/wallpapers/Kite/contents/images/a.jpg")
    (tmp_path / "usr/share/wallpapers/Kite/metadata.json").write_text(
        '{"KPlugin": {"Authors": [{"Name": "Risto"}], "License": "LGPLv3"}}', encoding="utf-8")
    doc = tmp_path / "usr/share/doc/pkg/copyright"
    doc.parent.mkdir(parents=True)
    doc.write_text("\n" + DEP5, encoding="utf-8")  # plasma's file starts with a blank line
    text = corpus.package_license(tmp_path, "pkg", "usr/share/wallpapers/Kite/contents/images/a.jpg")
    assert text == "GPL-2+ (© 2014 Someone); metadata.json: LGPLv3, Risto"


# --------------------------------------------------------------------------- wallpaper filter


def test_variant_groups_join_sizes_and_light_dark_only() -> None:
    plasma = "plasma-workspace-wallpapers"
    keys = {corpus.variant_group(plasma, f"usr/share/wallpapers/Kay/contents/{p}")
            for p in ("images/5120x2880.png", "images_dark/1080x1920.png", "screenshot.png")}
    assert len(keys) == 1
    mate = "mate-backgrounds"
    assert corpus.variant_group(mate, "a/Elephants_3840x2160.jpg") == corpus.variant_group(mate, "a/Elephants.jpg")
    gnome = "gnome-backgrounds"
    assert corpus.variant_group(gnome, "g/adwaita-l.webp") == corpus.variant_group(gnome, "g/adwaita-d.webp")
    assert corpus.variant_group(mate, "a/Dune.jpg") != corpus.variant_group(mate, "a/Storm.jpg")


def test_auto_filter_rules(tmp_path: Path) -> None:
    photo = _save(_photo(), tmp_path / "photo.jpg", quality=95)
    assert corpus.auto_verdict(corpus.measure(photo)) == ""

    gray = _save(_photo().convert("L").convert("RGB"), tmp_path / "gray.jpg", quality=95)
    assert corpus.auto_verdict(corpus.measure(gray)).startswith("near-gray")

    flat = _save(_gradient(), tmp_path / "gradient.jpg", quality=95)
    m = corpus.measure(flat)
    assert m.flat_fraction > corpus.MAX_FLAT_FRACTION
    assert corpus.auto_verdict(m).startswith("flat/gradient artwork")

    overlay = _photo().convert("RGBA")
    overlay.putalpha(Image.linear_gradient("L").resize(overlay.size))
    assert corpus.auto_verdict(corpus.measure(_save(overlay, tmp_path / "o.png"))).startswith("transparent")

    render = _save(_photo(), tmp_path / "render.png")
    assert corpus.auto_verdict(corpus.measure(render)).startswith("lossless")
    camera = _save(_photo(), tmp_path / "camera.png", exif=_camera_exif())
    assert corpus.auto_verdict(corpus.measure(camera)) == ""


# --------------------------------------------------------------------------- stamps


def test_stamp_criterion_keeps_photographic_cutouts_only() -> None:
    photographic = _cutout(_photo(200, 160, seed=3))
    assert corpus.stamp_verdict(corpus.measure_stamp(photographic)) == ""

    clip_art = Image.new("RGB", (200, 160), (230, 40, 40))
    clip_art.paste((30, 30, 200), (40, 40, 160, 120))
    assert corpus.stamp_verdict(corpus.measure_stamp(_cutout(clip_art))).startswith("clip-art")

    tiny = _cutout(_photo(60, 60))
    assert corpus.stamp_verdict(corpus.measure_stamp(tiny)).startswith("small")

    gray = _cutout(_photo(200, 160).convert("L").convert("RGB"))
    assert corpus.stamp_verdict(corpus.measure_stamp(gray)).startswith("near-gray")


def _candidate(sha: str, name: str = "x") -> corpus.Candidate:
    return corpus.Candidate("src", name, Path(name), sha, "lic", status="kept")


def _sha_in(split: str, seed: int) -> str:
    """A hex digest whose split_for_hash is ``split``."""
    lead = {"test": 0x10000000, "val": 0x30000000, "train": 0xA0000000}[split] + seed
    return f"{lead:08x}" + f"{seed:056x}"


def test_real_photo_splits_are_balanced_and_order_free() -> None:
    shas = [f"{i * 7919:064x}" for i in range(27)]
    splits = corpus.real_photo_splits(shas)
    assert splits == corpus.real_photo_splits(reversed(shas))
    counts = {name: list(splits.values()).count(name) for name in ("train", "val", "test")}
    assert counts == {"train": 16, "val": 6, "test": 5}


def test_backgrounds_come_from_the_stamps_own_split() -> None:
    photos = [_candidate(_sha_in(split, i), f"{split}{i}") for split in ("train", "val") for i in range(3)]
    rng = np.random.default_rng(0)
    for k in range(200):
        stamp_sha = f"{rng.integers(2**32):08x}" + "0" * 56
        background = corpus.pick_background(stamp_sha, photos, corpus.stamp_rng(stamp_sha))
        if split_for_hash(stamp_sha) == "test":
            assert background is None, "there is no test photo, so there must be no composite"
        else:
            assert background is not None
            assert split_for_hash(background.sha256) == split_for_hash(stamp_sha), k


def test_compose_is_seeded_and_pastes_the_stamp() -> None:
    stamp = _cutout(_photo(150, 120, seed=5))
    background = _photo(700, 500, seed=6)
    first = corpus.compose(stamp, background, corpus.stamp_rng("ab" * 32))
    second = corpus.compose(stamp, background, corpus.stamp_rng("ab" * 32))
    other = corpus.compose(stamp, background, corpus.stamp_rng("cd" * 32))
    assert first.size == corpus.COMPOSITE_SIZE
    assert np.array_equal(np.asarray(first), np.asarray(second))
    assert not np.array_equal(np.asarray(first), np.asarray(other))
    plain = corpus.random_crop(background, corpus.COMPOSITE_SIZE, corpus.stamp_rng("ab" * 32))
    changed = np.any(np.asarray(first) != np.asarray(plain), axis=-1).mean()
    assert changed > 0.02, "the stamp must cover part of the crop"


# --------------------------------------------------------------------------- end to end


def _fake_packages(root: Path) -> tuple[dict[str, Path], list[Path]]:
    """Minimal installed trees: photos, artwork, variants, stamps and copyright files."""
    roots = {p: root / p for p in corpus.PACKAGES}
    for package, tree in roots.items():
        doc = tree / "usr/share/doc" / package / "copyright"
        doc.parent.mkdir(parents=True)
        doc.write_text("Format: x\n\nFiles: *\nCopyright: 2020 Tester\nLicense: GPL-2+\n", encoding="utf-8")
    mate = roots["mate-backgrounds"] / "usr/share/backgrounds/mate"
    photos = [_save(_photo(640, 480, seed=s), mate / f"nature/P{s}.jpg", quality=90) for s in range(6)]
    _save(_photo(640, 480, seed=0).resize((320, 240)), mate / "nature/P0_320x240.jpg", quality=90)
    _save(_gradient(640, 480), mate / "abstract/Gradient.jpg", quality=90)
    stamps = roots[corpus.STAMP_PACKAGE] / corpus.STAMP_ROOT
    for s in range(8):
        _save(_cutout(_photo(160, 120, seed=10 + s)), stamps / f"animals/s{s}.png")
    flat = Image.new("RGB", (160, 120), (200, 30, 30))
    _save(_cutout(flat), stamps / "cartoon/flat.png")
    return roots, photos


def test_build_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    roots, photos = _fake_packages(tmp_path / "pkgs")
    reference = {cache.sha256_file(p): f"mate-backgrounds:{p.name}" for p in photos}
    monkeypatch.setattr(corpus, "WALLPAPER_PHOTOS", reference)
    monkeypatch.setattr(corpus, "library_candidates", lambda: ([], []))
    staging = tmp_path / "cache"
    staging.mkdir()
    result = corpus.build(roots, staging)
    cache.write_manifest(staging, result.records)

    by_path = {c.path.split("/")[-1]: c for c in result.candidates}
    assert by_path["Gradient.jpg"].status == "dropped"
    assert by_path["Gradient.jpg"].auto.startswith("flat")
    assert by_path["P0_320x240.jpg"].reason == f"variant of {by_path['P0.jpg'].path}"
    assert by_path["flat.png"].status == "dropped"
    records = cache.read_manifest(staging)
    photo_records = [r for r in records if r.file.startswith("wp-")]
    assert len(photo_records) == len(photos)
    assert all(min(r.width, r.height) == 480 for r in photo_records)  # never upscaled
    composites = [r for r in records if r.file.startswith("comp-")]
    assert composites, "seeds were chosen so that some stamps share a split with a photo"
    photo_split = {f"mate-backgrounds:{c.path}": corpus.split_of(c.sha256, result.splits)
                   for c in result.candidates}
    for record in composites:
        assert (record.width, record.height) == corpus.COMPOSITE_SIZE
        assert record.split == split_for_hash(record.sha256)
        background = record.source.split(" on ")[1]
        assert photo_split[background] == record.split, "a background leaked across splits"
    for record in records:
        assert (staging / record.file).is_file()
    assert result.warnings == []


def test_replace_folder_never_deletes_a_non_cache(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "precious.txt").write_text("keep", encoding="utf-8")
    staging = tmp_path / "staging"
    staging.mkdir()
    with pytest.raises(FileExistsError):
        corpus.replace_folder(staging, out)
    assert (out / "precious.txt").is_file()


def test_module_imports_without_torch() -> None:
    code = "import sys, autocolor.data.corpus; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# --------------------------------------------------------------------------- committed outputs


@pytest.mark.skipif(not SHARED_LIST.is_file(), reason="../shared is not on user machines")
def test_embedded_reference_list_matches_shared() -> None:
    with open(SHARED_LIST, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert {r["sha256"] for r in rows} == set(corpus.WALLPAPER_PHOTOS)


def _committed_rows() -> list[dict[str, str]]:
    with open(COMMITTED_MANIFEST, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


@pytest.mark.skipif(not COMMITTED_MANIFEST.is_file(), reason="no committed manifest yet")
def test_committed_manifest_is_consistent() -> None:
    rows = _committed_rows()
    assert tuple(rows[0]) == corpus.MANIFEST_FIELDS
    assert all(r["status"] in ("kept", "dropped") and r["reason"] and r["license"] for r in rows)
    real = corpus.real_photo_splits(r["sha256"] for r in rows if r["status"] == "kept"
                                    and r["source"] != corpus.STAMP_PACKAGE)
    assert all(r["split"] == corpus.split_of(r["sha256"], real) for r in rows)
    assert sorted(real.values()).count("val") >= 5 and sorted(real.values()).count("test") >= 5
    wallpapers = [r for r in rows if r["source"] in corpus.WALLPAPER_PACKAGES]
    assert set(corpus.WALLPAPER_PHOTOS) <= {r["sha256"] for r in wallpapers}
    assert all(r["sha256"] in corpus.WALLPAPER_PHOTOS for r in wallpapers if r["status"] == "kept")
    kept_photos = {f"{r['source']}:{r['path']}": r["split"] for r in rows
                   if r["status"] == "kept" and r["source"] != corpus.STAMP_PACKAGE}
    stamps = [r for r in rows if r["source"] == corpus.STAMP_PACKAGE and r["status"] == "kept"]
    assert stamps
    for stamp in stamps:
        background = stamp["reason"].removeprefix("composited onto ")
        assert kept_photos[background] == stamp["split"], f"{stamp['path']} leaks {background}"


@pytest.mark.skipif(not (SAMPLES / "LICENSES.md").is_file(), reason="no samples yet")
def test_samples_are_grayscale_test_split_photos() -> None:
    text = (SAMPLES / "LICENSES.md").read_text(encoding="utf-8")
    files = sorted(p.name for p in SAMPLES.glob("*.jpg"))
    test_photos = {r["sha256"] for r in _committed_rows()
                   if r["split"] == "test" and r["status"] == "kept"}
    assert 3 <= len(files) <= 4
    for name in files:
        row = next(line for line in text.splitlines() if line.startswith(f"| {name} |"))
        sha = re.search(r"`([0-9a-f]{64})`", row).group(1)
        assert sha in test_photos, f"{name} is not a test-split photo of the committed manifest"
        with Image.open(SAMPLES / name) as image:
            assert image.mode == "L" and max(image.size) <= corpus.SAMPLE_LONG_SIDE


def test_missing_debs_are_downloaded_then_extracted_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []

    def fake_run(command: list[str], cwd: Path | None = None, check: bool = False):
        calls.append(command)
        if command[:2] == ["apt-get", "download"]:
            (Path(cwd) / f"{command[2]}_1.0_all.deb").write_bytes(b"deb")
        elif command[0] == "dpkg-deb":
            (Path(command[3]) / "usr/share").mkdir(parents=True)
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(corpus.subprocess, "run", fake_run)
    debs = tmp_path / "debs"
    debs.mkdir()
    (debs / "gnome-backgrounds_43.1-1_all.deb").write_bytes(b"deb")  # already there: not fetched
    roots = corpus.package_roots(debs, tmp_path / "x")
    downloads = [c[2] for c in calls if c[0] == "apt-get"]
    assert downloads == [p for p in corpus.PACKAGES if p != "gnome-backgrounds"]
    assert roots["gnome-backgrounds"] == tmp_path / "x" / "gnome-backgrounds_43.1-1_all"
    assert all((root / "usr/share").is_dir() for root in roots.values())
    calls.clear()
    corpus.package_roots(debs, tmp_path / "x")
    assert calls == [], "a second run reuses the extracted trees"


def test_a_photo_shipped_twice_is_kept_once() -> None:
    a, b = _candidate("ab" * 32, "one.jpg"), _candidate("ab" * 32, "two.jpg")
    c = _candidate("cd" * 32, "three.jpg")
    result = corpus.drop_duplicates([a, b, c])
    assert [r.status for r in result] == ["kept", "dropped", "kept"]
    assert result[1].reason == "duplicate of src:one.jpg"
