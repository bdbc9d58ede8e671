"""Fixtures shared by the whole test suite.

- ``smooth_rgb(seed, height, width)``: a colourful, smooth (H, W, 3) uint8 photo stand-in.
- ``tiny_weights``: a random-init ``lite0-unet`` (bins head) weights file with a render size of 64,
  written once per session. It colours nothing sensibly, but it exercises the whole inference
  path (safetensors, metadata, model, pipeline) quickly and without any download.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

# ONNX Runtime's optimized graphs are kept in ~/.cache between processes (infer/onnx_backend.py);
# tests make many throwaway models, so they keep none (tests/infer/test_onnx.py checks the cache).
os.environ["AUTOCOLOR_ORT_CACHE"] = "0"
# Likewise the weights files' digests (provenance.file_sha256; tests/test_provenance.py checks it).
os.environ["AUTOCOLOR_HASH_CACHE"] = "0"

TINY_RENDER_SIZE = 64

# One intra-op thread for torch (and OpenMP) in tests: the models here are tiny, and on a shared
# 2-core machine two spinning OpenMP threads per process made the suite about 4x slower whenever
# anything else was running. Set before torch is imported; an explicit setting wins.
os.environ.setdefault("OMP_NUM_THREADS", "1")
if "torch" in sys.modules:  # pragma: no cover - only when a plugin imported torch first
    sys.modules["torch"].set_num_threads(int(os.environ["OMP_NUM_THREADS"]))


def smooth_rgb_image(seed: int, height: int = 48, width: int = 64) -> np.ndarray:
    """(H, W, 3) uint8 of low-frequency sinusoids, different per seed, mid-range values."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    channels = []
    for _ in range(3):
        fx, fy, phase = rng.uniform(0.5, 2.5), rng.uniform(0.5, 2.5), rng.uniform(0, 2 * np.pi)
        channels.append(0.5 + 0.4 * np.sin(2 * np.pi * (fx * x + fy * y) + phase))
    return np.round(np.stack(channels, axis=-1) * 255).astype(np.uint8)


@pytest.fixture(scope="session")
def smooth_rgb() -> Callable[..., np.ndarray]:
    """``smooth_rgb(seed, height=48, width=64) -> (H, W, 3) uint8``."""
    return smooth_rgb_image


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random-init lite0-unet (bins head, T = 0.5) saved with render_size 64."""
    import torch

    from autocolor.models import create_model
    from autocolor.weights import save_weights

    torch.manual_seed(1234)
    model = create_model("lite0-unet", pretrained=False, head="bins", temperature=0.5).eval()
    path = tmp_path_factory.mktemp("weights") / "tiny.safetensors"
    save_weights(model, path, {
        "architecture": "lite0-unet",
        "model_kwargs": {"head": "bins", "temperature": 0.5},
        "render_size": TINY_RENDER_SIZE,
        "recipe": {"name": "tiny-test"},
    })
    return path


# -- XMP, read back with the standard library only -------------------------------------------------

# Prefixes the provenance tests use, written out here rather than taken from autocolor, so that a
# wrong namespace in the package fails the tests.
XMP_PREFIXES = {
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#": "rdf",
    "http://ns.adobe.com/xap/1.0/": "xmp",
    "http://iptc.org/std/Iptc4xmpExt/2008-02-29/": "Iptc4xmpExt",
    "http://ns.adobe.com/xap/1.0/mm/": "xmpMM",
    "http://ns.adobe.com/xap/1.0/sType/ResourceEvent#": "stEvt",
}


def xmp_packet(data: bytes) -> bytes | None:
    """The XMP packet stored in a JPEG (APP1), PNG (iTXt), WebP (XMP chunk) or TIFF (tag 700)
    file, found by walking the container with ``struct``; None when there is none."""
    import struct
    import zlib

    if data[:2] == b"\xff\xd8":  # JPEG: segments until the scan
        offset = 2
        while offset + 4 <= len(data) and data[offset] == 0xFF:
            marker = data[offset + 1]
            if marker == 0xDA:
                break
            (length,) = struct.unpack(">H", data[offset + 2:offset + 4])
            segment = data[offset + 4:offset + 2 + length]
            key = b"http://ns.adobe.com/xap/1.0/\x00"
            if marker == 0xE1 and segment.startswith(key):
                return segment[len(key):]
            offset += 2 + length
        return None
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        offset = 8
        while offset + 8 <= len(data):
            length, kind = struct.unpack(">I4s", data[offset:offset + 8])
            body = data[offset + 8:offset + 8 + length]
            if kind == b"iTXt":
                keyword, rest = body.split(b"\x00", 1)
                compressed, _method = rest[0], rest[1]
                _language, _translated, text = rest[2:].split(b"\x00", 2)
                if keyword == b"XML:com.adobe.xmp":
                    return zlib.decompress(text) if compressed else text
            offset += 12 + length
        return None
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        offset = 12
        while offset + 8 <= len(data):
            kind, length = struct.unpack("<4sI", data[offset:offset + 8])
            if kind == b"XMP ":
                return data[offset + 8:offset + 8 + length]
            offset += 8 + length + (length & 1)
        return None
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        order = "<" if data[:2] == b"II" else ">"
        (ifd,) = struct.unpack(order + "I", data[4:8])
        (count,) = struct.unpack(order + "H", data[ifd:ifd + 2])
        for index in range(count):
            entry = data[ifd + 2 + 12 * index:ifd + 14 + 12 * index]
            tag, _type, length = struct.unpack(order + "HHI", entry[:8])
            if tag == 700:
                if length <= 4:
                    return entry[8:8 + length]
                (where,) = struct.unpack(order + "I", entry[8:12])
                return data[where:where + length]
        return None
    raise ValueError(f"not a JPEG, PNG, WebP or TIFF file: {data[:12]!r}")


def read_xmp(data: bytes) -> dict[str, str] | None:
    """The properties of a file's XMP packet, ``{"prefix:Name": value}``, parsed with
    ``xml.etree.ElementTree`` (attributes and simple elements of every ``rdf:Description``);
    None when the file has no packet."""
    import xml.etree.ElementTree as ET

    packet = xmp_packet(data)
    if packet is None:
        return None
    root = ET.fromstring(packet.decode("utf-8"))

    def name(qualified: str) -> str:
        namespace, _, local = qualified[1:].partition("}")
        return f"{XMP_PREFIXES.get(namespace, namespace)}:{local}"

    properties: dict[str, str] = {}
    for description in root.iter("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}Description"):
        for key, value in description.attrib.items():
            if not key.startswith("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"):
                properties[name(key)] = value
        for child in description:
            properties[name(child.tag)] = (child.text or "").strip()
    return properties


def read_xmp_history(data: bytes) -> list[dict[str, str]] | None:
    """The events of a file's ``xmpMM:History`` (``[{"stEvt:action": ..., ...}]``, in order),
    [] for a packet without one, None for a file without a packet."""
    import xml.etree.ElementTree as ET

    packet = xmp_packet(data)
    if packet is None:
        return None
    root = ET.fromstring(packet.decode("utf-8"))
    rdf = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
    events = []
    for history in root.iter("{http://ns.adobe.com/xap/1.0/mm/}History"):
        for item in history.iter(f"{rdf}li"):
            event = {}
            for child in item:
                namespace, _, local = child.tag[1:].partition("}")
                event[f"{XMP_PREFIXES.get(namespace, namespace)}:{local}"] = child.text or ""
            events.append(event)
    return events


@pytest.fixture(scope="session")
def xmp_history_of() -> Callable[[bytes], list[dict[str, str]] | None]:
    """``xmp_history_of(file_bytes) -> [{"stEvt:action": ..., "stEvt:parameters": ...}]``: the
    events of the file's ``xmpMM:History`` ([] without one; None without a packet)."""
    return read_xmp_history


@pytest.fixture(scope="session")
def xmp_of() -> Callable[[bytes], dict[str, str] | None]:
    """``xmp_of(file_bytes) -> {"prefix:Name": value}`` or None (standard library only)."""
    return read_xmp


def make_old_print(width: int, height: int, seed: int = 0) -> tuple[Image.Image, np.ndarray]:
    """A faded gray print with white and black specks and a scratch -> (the image, its damaged
    pixels)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    values = 128 + 100 * np.sin(x / 11.0) * np.cos(y / 17.0)
    values = 40 + 0.7 * values  # blacks lifted, whites dulled
    damage = np.zeros((height, width), bool)
    for cy, cx in rng.integers(6, min(width, height) - 6, (12, 2)):
        values[cy:cy + 2, cx:cx + 2] = 250 if values[cy, cx] < 128 else 5
        damage[cy:cy + 2, cx:cx + 2] = True
    values[8:height - 8, width // 2] = 250
    damage[8:height - 8, width // 2] = True
    return Image.fromarray(np.clip(values, 0, 255).astype(np.uint8)), damage

@pytest.fixture(scope="session")
def old_print() -> Callable[..., tuple[Image.Image, np.ndarray]]:
    """``old_print(width, height, seed=0) -> (image, damage)``: a faded gray print (8-bit L)
    with white and black specks and a scratch, and its damaged pixels ((H, W) bool)."""
    return make_old_print
