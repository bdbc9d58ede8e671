"""Provenance: the XMP packet, written into every output format and read back with the standard
library (``xmp_of``, tests/conftest.py), with EXIF and ICC kept beside it."""

from __future__ import annotations

import functools
import hashlib
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from autocolor import __version__
from autocolor.image_output import image_bytes, save_image
from autocolor.images import LoadedImage, load_image
from autocolor.provenance import DIGITAL_SOURCE_TYPE, Provenance, file_sha256

SHA = "ab" * 32
IPTC_TYPE = ("http://cv.iptc.org/newscodes/digitalsourcetype/"
             "compositeWithTrainedAlgorithmicMedia")
MAKE = 0x010F


def _expected(name: str = "default", sha: str = SHA) -> dict[str, str]:
    return {
        "Iptc4xmpExt:DigitalSourceType": IPTC_TYPE,
        "xmp:CreatorTool": f"autocolor {__version__}",
        "Iptc4xmpExt:AISystemUsed": name,
        "Iptc4xmpExt:AISystemVersionUsed": f"sha256:{sha}",
    }


def test_packet_says_a_trained_model_made_it(xmp_of) -> None:
    packet = Provenance("default", SHA).xmp()
    assert packet.startswith(b"<?xpacket begin=") and packet.endswith(b'<?xpacket end="w"?>')
    assert DIGITAL_SOURCE_TYPE == IPTC_TYPE
    # A PNG holding only the packet is the smallest file xmp_of reads.
    data = image_bytes(np.zeros((2, 3, 3), np.uint8),
                       LoadedImage(lightness=np.zeros((2, 3), np.float32)), "png", packet)
    assert xmp_of(data) == _expected()


def test_packet_escapes_names() -> None:
    import xml.etree.ElementTree as ET

    name = 'my "best" <model> & co\'s\tnew\nline.safetensors'
    packet = Provenance(name, SHA).xmp()
    root = ET.fromstring(packet)  # still well-formed XML
    description = next(root.iter("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}Description"))
    assert description.get("{http://iptc.org/std/Iptc4xmpExt/2008-02-29/}AISystemUsed") == name


def test_provenance_checks_the_digest_and_hashes_files(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="64 lowercase hex"):
        Provenance("x", "not-a-digest")
    weights = tmp_path / "m.onnx"
    weights.write_bytes(b"weights" * 1000)
    mark = Provenance.for_weights(weights)
    assert mark.model_name == "m.onnx"
    assert mark.model_sha256 == hashlib.sha256(weights.read_bytes()).hexdigest()
    weights.write_bytes(b"other weights")  # a changed file is hashed again
    assert file_sha256(weights) == hashlib.sha256(b"other weights").hexdigest()


def test_digests_are_kept_on_disk_between_processes(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from autocolor import provenance

    cache = tmp_path / "cache"
    monkeypatch.setenv("AUTOCOLOR_HASH_CACHE", str(cache))
    weights = tmp_path / "m.onnx"
    weights.write_bytes(b"weights" * 1000)
    truth = hashlib.sha256(weights.read_bytes()).hexdigest()
    provenance._sha256_cached.cache_clear()
    assert file_sha256(weights) == truth
    [entry] = cache.iterdir()  # one entry, written whole (no temporary file left)
    assert entry.read_text().strip() == truth
    # A new process (the memory cache empty) takes the digest from disk without reading the
    # file: a planted digest proves it.
    planted = "ab" * 32
    entry.write_text(planted + "\n")
    provenance._sha256_cached.cache_clear()
    assert file_sha256(weights) == planted
    # A rewritten file (another size and time) is a new key: hashed again.
    weights.write_bytes(b"other weights")
    assert file_sha256(weights) == hashlib.sha256(b"other weights").hexdigest()
    assert len(list(cache.iterdir())) == 2
    # A damaged entry is not trusted.
    for item in cache.iterdir():
        item.write_text("not a digest")
    provenance._sha256_cached.cache_clear()
    assert file_sha256(weights) == hashlib.sha256(b"other weights").hexdigest()
    # AUTOCOLOR_HASH_CACHE=0: nothing is written.
    monkeypatch.setenv("AUTOCOLOR_HASH_CACHE", "0")
    other = tmp_path / "n.onnx"
    other.write_bytes(b"more")
    provenance._sha256_cached.cache_clear()
    assert file_sha256(other) == hashlib.sha256(b"more").hexdigest()
    assert len(list(cache.iterdir())) == 2
    provenance._sha256_cached.cache_clear()


def test_tags_for_containers_without_xmp() -> None:
    tags = Provenance("default", SHA).tags()
    assert tags["digital_source_type"] == IPTC_TYPE
    assert tags["ai_system_version_used"] == f"sha256:{SHA}"
    assert "trained model" in tags["comment"] and SHA in tags["comment"]
    assert all(isinstance(v, str) and "\n" not in v for v in tags.values())


# -- every output format ------------------------------------------------------------------------


def _exif_bytes() -> bytes:
    exif = Image.Exif()
    exif[MAKE] = "TestCam"
    return exif.tobytes()


@functools.cache
def _srgb_icc() -> bytes:
    """Made once: the profile's header holds its creation time, to the second."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _loaded(height: int = 12, width: int = 20, bit_depth: int = 8,
            alpha: bool = False) -> LoadedImage:
    alpha_plane = None
    if alpha:
        alpha_plane = np.full((height, width), 40000 if bit_depth == 16 else 100,
                              np.uint16 if bit_depth == 16 else np.uint8)
    return LoadedImage(lightness=np.full((height, width), 50.0, np.float32), alpha=alpha_plane,
                       bit_depth=bit_depth, exif=_exif_bytes(), icc_profile=_srgb_icc())


def _rgb(smooth_rgb, bit_depth: int = 8) -> np.ndarray:
    rgb = smooth_rgb(3, 12, 20)
    return rgb.astype(np.uint16) * 257 if bit_depth == 16 else rgb


@pytest.mark.parametrize("fmt,bit_depth,alpha", [
    ("png", 8, False), ("png", 8, True), ("png", 16, False), ("png", 16, True),
    ("jpeg", 8, False), ("webp", 8, False), ("webp", 8, True), ("tiff", 8, False),
    ("tiff", 8, True),
])
def test_every_format_carries_the_packet_and_keeps_exif_and_icc(
        smooth_rgb, xmp_of, fmt: str, bit_depth: int, alpha: bool) -> None:
    loaded = _loaded(bit_depth=bit_depth, alpha=alpha)
    rgb = _rgb(smooth_rgb, bit_depth)
    packet = Provenance("default", SHA).xmp()
    data = image_bytes(rgb, loaded, fmt, packet)
    assert xmp_of(data) == _expected()
    plain = image_bytes(rgb, loaded, fmt)
    assert xmp_of(plain) is None  # no packet unless asked for
    with Image.open(io.BytesIO(data)) as written, Image.open(io.BytesIO(plain)) as without:
        assert written.format == {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP",
                                  "tiff": "TIFF"}[fmt]
        assert written.size == (20, 12)
        assert written.getexif()[MAKE] == "TestCam"
        assert written.info.get("icc_profile") == _srgb_icc()
        assert written.info.get("xmp") == packet  # Pillow finds it where xmp_of did
        # The packet changes no pixel.
        assert np.array_equal(np.asarray(written), np.asarray(without))
    if bit_depth == 16:
        assert data[24] == 16  # IHDR bit depth: still a 16-bit PNG


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".webp", ".tif"])
def test_save_image_writes_the_packet(tmp_path: Path, smooth_rgb, xmp_of, suffix: str) -> None:
    loaded = _loaded()
    path = save_image(_rgb(smooth_rgb), tmp_path / f"o{suffix}", loaded,
                      xmp=Provenance("default", SHA).xmp())
    assert xmp_of(path.read_bytes()) == _expected()
    reread = load_image(path)  # the output is still a photo autocolor reads
    assert reread.size == (20, 12)


def test_formats_that_cannot_hold_the_photo_are_refused(smooth_rgb) -> None:
    with pytest.raises(ValueError, match="16-bit"):
        image_bytes(_rgb(smooth_rgb, 16), _loaded(bit_depth=16), "webp")
    with pytest.raises(ValueError, match="transparent"):
        image_bytes(_rgb(smooth_rgb), _loaded(alpha=True), "jpeg")
    with pytest.raises(ValueError, match="unknown output format"):
        image_bytes(_rgb(smooth_rgb), _loaded(), "gif")


def test_colorizer_provenance_names_the_file_that_runs(tiny_weights: Path, xmp_of,
                                                       tmp_path: Path) -> None:
    from autocolor.infer.colorizer import Colorizer

    colorizer = Colorizer.from_pretrained(tiny_weights, backend="torch")
    mark = colorizer.provenance
    assert mark is not None and mark.model_name == tiny_weights.name
    assert mark.model_sha256 == hashlib.sha256(tiny_weights.read_bytes()).hexdigest()
    source = tmp_path / "gray.png"
    Image.fromarray(np.tile(np.arange(0, 256, 8, dtype=np.uint8), (16, 1))).save(source)
    marked = colorizer.colorize_file(source, tmp_path / "a.png")
    assert xmp_of(marked.read_bytes()) == _expected(tiny_weights.name, mark.model_sha256)
    unmarked = colorizer.colorize_file(source, tmp_path / "b.png", provenance=False)
    assert xmp_of(unmarked.read_bytes()) is None


# -- restoration: the steps that ran, as an xmpMM:History ------------------------------------------


def test_history_lists_the_events_in_order(xmp_of, xmp_history_of) -> None:
    events = [("filtered", "restore grain: <denoised> & more"), ("edited", "restore dust")]
    packet = Provenance("default", SHA).xmp(events)
    data = image_bytes(np.zeros((2, 3, 3), np.uint8),
                       LoadedImage(lightness=np.zeros((2, 3), np.float32)), "png", packet)
    assert xmp_history_of(data) == [
        {"stEvt:action": "filtered", "stEvt:parameters": "restore grain: <denoised> & more",
         "stEvt:softwareAgent": f"autocolor {__version__}"},
        {"stEvt:action": "edited", "stEvt:parameters": "restore dust",
         "stEvt:softwareAgent": f"autocolor {__version__}"}]
    fields = xmp_of(data)
    assert {key: fields[key] for key in _expected()} == _expected()  # the mark is all there
    assert packet == Provenance("default", SHA).xmp(events)  # no date: the same bytes
    with pytest.raises(ValueError, match="stEvt:action"):
        Provenance("default", SHA).xmp([("restored", "x")])


def test_a_plain_packet_has_no_history(xmp_history_of) -> None:
    packet = Provenance("default", SHA).xmp()
    assert b"History" not in packet and b"xmpMM" not in packet and b"stEvt" not in packet
    data = image_bytes(np.zeros((2, 3, 3), np.uint8),
                       LoadedImage(lightness=np.zeros((2, 3), np.float32)), "png", packet)
    assert xmp_history_of(data) == []


def test_a_restored_photo_says_which_steps_ran(tiny_weights: Path, xmp_of, xmp_history_of,
                                               tmp_path: Path) -> None:
    from autocolor.infer.colorizer import Colorizer
    from autocolor.restore.config import EVENTS

    colorizer = Colorizer.from_pretrained(tiny_weights, backend="torch")
    source = tmp_path / "gray.png"
    rng = np.random.default_rng(0)
    gray = np.clip(128 + rng.normal(0, 12, (40, 48)), 0, 255).astype(np.uint8)  # grainy
    Image.fromarray(gray).save(source)
    restored = colorizer.colorize_file(source, tmp_path / "r.png", restore="grain,fading")
    history = xmp_history_of(restored.read_bytes())
    assert [event["stEvt:parameters"] for event in history] == \
        [EVENTS["grain"][1], EVENTS["fading"][1]]
    assert [event["stEvt:action"] for event in history] == ["filtered", "filtered"]
    assert xmp_of(restored.read_bytes())["Iptc4xmpExt:DigitalSourceType"] == IPTC_TYPE
    plain = colorizer.colorize_file(source, tmp_path / "p.png")
    assert xmp_history_of(plain.read_bytes()) == []
    assert b"restore" not in plain.read_bytes()
    assert colorizer.xmp(restored=()) == colorizer.xmp()
    assert colorizer.xmp(provenance=False, restored=("grain",)) is None
