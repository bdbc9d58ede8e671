"""``autocolor data build-corpus``: the reproducible default training corpus, built offline.

Sources (see docs/corpus.md): the photographs among the images of four Debian wallpaper packages,
the colour photos shipped inside scikit-image, scikit-learn and matplotlib, and the photographic
stamps of ``tuxpaint-stamps-default`` (alpha cutouts) composited onto crops of those photos.

The output is a training cache (``data/cache.py`` layout) plus a committed source manifest that
lists every candidate file with its licence, hash and why it was kept or dropped. Everything is
deterministic: the selection is by content hash, the split is ``split_for_hash`` and every random
choice of a composite is seeded by the stamp's hash.
"""

from __future__ import annotations

import argparse
import csv
import fnmatch
import importlib.util
import io
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from autocolor.data.cache import (
    CACHE_MANIFEST,
    MIN_AB_SPREAD,
    SPLITS,
    CacheRecord,
    chroma_stats,
    is_cache,
    resize_short_side,
    sha256_bytes,
    split_for_hash,
    write_manifest,
)

WALLPAPER_PACKAGES = (
    "gnome-backgrounds",
    "mate-backgrounds",
    "plasma-workspace-wallpapers",
    "ukui-wallpapers",
)
STAMP_PACKAGE = "tuxpaint-stamps-default"
PACKAGES = (*WALLPAPER_PACKAGES, STAMP_PACKAGE)

PHOTO_SHORT_SIDE = 512
COMPOSITE_SIZE = (512, 384)  # width, height: short side 384
JPEG_QUALITY = 95
MAX_CACHE_BYTES = 40_000_000  # the cache travels to a GPU box
COMPOSITE_SEED = 20240601
SAMPLE_LONG_SIDE = 1600

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".tif", ".tiff")
VECTOR_SUFFIXES = (".svg", ".svgz")

# The photographs among the wallpaper images, picked by eye (../shared/corpus/wallpaper-photos.tsv,
# embedded because the project must build without shared/): sha256 -> package:path.
WALLPAPER_PHOTOS: dict[str, str] = {
    "f7aac0dcc2e06d0491643e84df3da1d9db7c4610f58806a880d56e074799f600": "mate-backgrounds:nature/Blinds.jpg",
    "8a67c2cb0be8c46b70c237311a4fa4d2b4ac7d39568135384787801fa5cc9a91": "mate-backgrounds:nature/Dune.jpg",
    "972b0a0c4e5e3fa93f4f244fc84bc64b121a5eac3aaa5856f1308c1f38a02f8e": "mate-backgrounds:nature/FreshFlower.jpg",
    "d3095ee09d425ef23d27155412136cf14fc3c9af76ca58b452f55e23da324e78": "mate-backgrounds:nature/Garden.jpg",
    "8fa0de0aa4089f7319c9fb7a6d006d4cab6023e8c8853731557cff53567b4832": "mate-backgrounds:nature/GreenMeadow.jpg",
    "e35a9a4126ef969c90b29c038058c5a575a20eadd84106a37bf1fa9931e7b61d": "mate-backgrounds:nature/LadyBird.jpg",
    "3e4ea9671c28c90a86cf67b3db9daf18c4741587c596333a7529ca589aaa0c16": "mate-backgrounds:nature/RainDrops.jpg",
    "665e5abf8a5399070a91a9a8e455fe071e5b61697ff78fdeda4e9843ef545aeb": "mate-backgrounds:nature/TwoWings.jpg",
    "254da96256acb7add685679775a04d1e4a5bc8cd13e5a5a3d61351ce198a5306": "mate-backgrounds:nature/YellowFlower.jpg",
    "5c30118205982da441bf7e6a1ada636a8a0be879408140b3148280c665ed6bce": "mate-backgrounds:nature/Aqua.jpg",
    "77ca53077831d3237f73393a91fc879158abc046d852941c26e90de336356957": "mate-backgrounds:nature/Storm.jpg",
    "19c78500ac00a622e19907ab9cc7d06d46fe08c4a6142759a84195696150ec07": "mate-backgrounds:nature/Wood.jpg",
    "c272434ef39f2abf1ed48a15a8910088020f3165329a5092f3940ec9464bc05f": "plasma-workspace-wallpapers:BytheWater",
    "8e3703fae3a3c217b1fc2b399b706cd3720584268d071ba153e4809daa55f1ce": "plasma-workspace-wallpapers:DarkestHour",
    "586682dcb362b9f620068f10138f87d0d3649939aef238adc5807cb951976a7a": "plasma-workspace-wallpapers:EveningGlow",
    "95603a6560c7e8d50e0e03b3f4adbe39c5258c72528e74e4ecaea1daf4e499de": "plasma-workspace-wallpapers:FallenLeaf",
    "bdca288ce296a981e80659c021cf707caddc702c0c8d4247e60bd618476d47f8": "plasma-workspace-wallpapers:Kite",
    "cb507baf1dafdcae362264f3aba9483ed4be5f6c9fdd770f0ec0920c6d9e80fd": "plasma-workspace-wallpapers:OneStandsOut",
    "7477457d7f17b736259f1b021864778ad4ba802cf3214e6728181ff29126bba8": "plasma-workspace-wallpapers:Path",
    "abc30b4fc6f6a83b6156e6b59ac283c067de40af820aafac8ac7c4fd83a9607c": "plasma-workspace-wallpapers:Volna",
    "c868b50789591dd42910153c768053f1ba0a98cb36bbfc2b7a96a1045d0477f8": "plasma-workspace-wallpapers:summer_1am",
    "05bef6722fc0ed81292cceb3ed026c38d17e510f3c84be7d68610c2b1a723c3f": "plasma-workspace-wallpapers:ColdRipple",
}


@dataclass(frozen=True)
class LibraryPhoto:
    """A colour photograph shipped inside a Python library, with its licence from the library's docs."""

    library: str  # distribution name, as in the manifest
    path: str  # relative to the library's import directory
    license: str
    author: str


# Real colour photographs only; the licences are those the libraries' docstrings and READMEs state.
LIBRARY_PHOTOS: tuple[LibraryPhoto, ...] = (
    LibraryPhoto("scikit-image", "skimage/data/astronaut.png", "public domain", "NASA (Eileen Collins)"),
    LibraryPhoto("scikit-image", "skimage/data/chelsea.png", "CC0", "Stefan van der Walt"),
    LibraryPhoto("scikit-image", "skimage/data/coffee.png", "CC0", "Rachel Michetti"),
    LibraryPhoto("scikit-image", "skimage/data/rocket.jpg", "public domain", "SpaceX"),
    LibraryPhoto("scikit-learn", "sklearn/datasets/images/china.jpg", "CC-BY-2.0", "danielbuechele (Flickr)"),
    LibraryPhoto("scikit-learn", "sklearn/datasets/images/flower.jpg", "CC-BY-2.0", "vultilion (Flickr)"),
    LibraryPhoto(
        "matplotlib", "matplotlib/mpl-data/sample_data/grace_hopper.jpg", "public domain",
        "U.S. Navy (official photograph of Grace Hopper)",
    ),
)
LIBRARY_DIRS: dict[str, tuple[str, ...]] = {
    "scikit-image": ("skimage/data",),
    "scikit-learn": ("sklearn/datasets/images",),
    "matplotlib": ("matplotlib/mpl-data/sample_data",),
}
LIBRARY_LICENSES = {"scikit-image": "BSD-3-Clause (library)", "scikit-learn": "BSD-3-Clause (library)",
                    "matplotlib": "PSF-based matplotlib licence (library)"}
# Colour images in those folders that are not natural colour photographs (or lack a licence).
LIBRARY_NOT_PHOTOS: dict[str, str] = {
    "skimage/data/hubble_deep_field.jpg": "astronomical false-colour composite, mostly black sky",
    "skimage/data/retina.jpg": "medical fundus image on a black frame",
    "skimage/data/ihc.png": "microscopy stain",
    "skimage/data/color.png": "synthetic colour wheel",
    "skimage/data/phantom.png": "synthetic phantom",
    "skimage/data/chessboard_RGB.png": "synthetic pattern",
    "skimage/data/motorcycle_left.png": "Middlebury stereo data, licence not stated",
    "skimage/data/motorcycle_right.png": "Middlebury stereo data, licence not stated",
    "skimage/data/logo.png": "logo",
    "matplotlib/mpl-data/sample_data/logo2.png": "logo",
    "matplotlib/mpl-data/sample_data/Minduka_Present_Blue_Pack.png": "icon",
}

# Automatic wallpaper filter (docs/corpus.md has how it agrees with WALLPAPER_PHOTOS).
MAX_ALPHA_FRACTION = 0.01  # more translucent pixels than this: an overlay meant for compositing
MAX_FLAT_FRACTION = 0.30  # photos have noise/texture; flat or gradient artwork has constant areas
FLAT_SHORT_SIDE = 1024
CHROMA_SHORT_SIDE = 384

# Photographic-stamp criterion, measured on the opaque interior of the cutout.
STAMP_MIN_PIXELS = 6_000  # about 80x80: smaller cutouts would be upscaled into blur
STAMP_MIN_COLOURS = 1_000  # distinct 6-bit colours: clip-art and 256-colour palettes fall below
STAMP_MAX_FLAT = 0.15  # share of 3x3 neighbourhoods with a range <= 2 grey levels
# Found by viewing the stamps the measured criterion keeps: crayon drawings on textured paper.
STAMP_EXCLUDE: dict[str, str] = {
    "clothes/button.png": "crayon drawing (spot-check)",
    "seasonal/easter/bunny.png": "crayon drawing (spot-check)",
}
STAMP_ROOT = "usr/share/tuxpaint/stamps"

MANIFEST_FIELDS = ("source", "path", "license", "sha256", "status", "reason", "split", "ab_spread", "auto")


@dataclass(frozen=True)
class Candidate:
    """One source file: where it is, its hash and licence, and (once judged) its verdict."""

    source: str  # Debian package or Python library
    path: str  # inside the package (or relative to the library's site-packages folder)
    file: Path
    sha256: str
    license: str
    status: str = ""  # kept / dropped
    reason: str = ""
    ab_spread: float = float("nan")
    auto: str = ""  # the automatic filter's verdict, for the record


@dataclass(frozen=True)
class Measures:
    """What the automatic wallpaper filter looks at."""

    alpha_fraction: float
    ab_spread: float
    flat_fraction: float
    lossless: bool
    camera: bool


# --------------------------------------------------------------------------- Debian packages


def find_deb(package: str, debs: Path) -> Path | None:
    """The newest-named ``PACKAGE_*.deb`` in ``debs`` (apt-get download's naming)."""
    found = sorted(debs.glob(f"{package}_*.deb"))
    return found[-1] if found else None


def download_deb(package: str, debs: Path) -> Path:
    """``apt-get download PACKAGE`` into ``debs``; the archive's own keys verify it."""
    debs.mkdir(parents=True, exist_ok=True)
    print(f"apt-get download {package} -> {debs}", flush=True)
    subprocess.run(["apt-get", "download", package], cwd=debs, check=True)
    deb = find_deb(package, debs)
    if deb is None:
        raise FileNotFoundError(f"apt-get download {package} left no .deb in {debs}")
    return deb


def extract_deb(deb: Path, root: Path) -> Path:
    """``dpkg-deb -x`` into ``root/<deb name>`` once; a marker file makes reruns instant."""
    target = root / deb.stem
    marker = target / ".extracted"
    if marker.is_file():
        return target
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    subprocess.run(["dpkg-deb", "-x", str(deb), str(target)], check=True)
    marker.write_text(deb.name + "\n", encoding="utf-8")
    return target


def package_roots(debs: Path, extract_root: Path) -> dict[str, Path]:
    """Installed-tree root of every source package, downloading what ``debs`` lacks."""
    roots = {}
    for package in PACKAGES:
        deb = find_deb(package, debs) or download_deb(package, debs)
        roots[package] = extract_deb(deb, extract_root)
    return roots


def parse_dep5(text: str) -> list[tuple[tuple[str, ...], str, str]]:
    """Files stanzas of a machine-readable debian/copyright: (patterns, copyright, licence)."""
    stanzas = []
    for block in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        key = ""
        for line in block.splitlines():
            match = re.match(r"([A-Za-z-]+):\s*(.*)", line)
            if match and not line[:1].isspace():
                key = match.group(1).lower()
                fields[key] = match.group(2).strip()
            elif key and line.strip():
                fields[key] += "\n" + line.strip()
        if "files" in fields and "license" in fields:
            # drop e-mail addresses and quotes: the manifest is plain TSV
            holders = re.sub(r"\s*<[^>]*>|[\"´]", "", fields.get("copyright", "")).replace("\n", "; ")
            stanzas.append((tuple(fields["files"].split()), holders.strip(), fields["license"].split("\n")[0]))
    return stanzas


def dep5_license(path: str, stanzas: list[tuple[tuple[str, ...], str, str]]) -> str:
    """Licence of an installed file: the last stanza whose pattern matches the path's tail wins."""
    best = ""
    for patterns, holders, license_name in stanzas:
        if any(fnmatch.fnmatch(path, p) or fnmatch.fnmatch(path, "*/" + p) for p in patterns):
            best = f"{license_name} (© {holders})" if holders else license_name
    return best


def package_license(root: Path, package: str, path: str) -> str:
    """Licence from /usr/share/doc/PACKAGE/copyright (plus plasma's per-wallpaper metadata)."""
    copyright_file = root / "usr/share/doc" / package / "copyright"
    text = copyright_file.read_text(encoding="utf-8", errors="replace") if copyright_file.is_file() else ""
    license_text = dep5_license(path, parse_dep5(text)) if text.lstrip().startswith("Format:") else ""
    if not license_text:
        # gnome-backgrounds' copyright is free-form: GPL-2+ and per-image CC licences
        license_text = f"GPL-2+ / CC-BY-SA-3.0 / CC-BY-2.0 per image, see /usr/share/doc/{package}/copyright"
    extra = plasma_metadata(root, path)
    return f"{license_text}; {extra}" if extra else license_text


def plasma_metadata(root: Path, path: str) -> str:
    """Author and licence from a KDE wallpaper's metadata.json, which names the photographer."""
    match = re.match(r"(usr/share/wallpapers/[^/]+)/contents/", path)
    meta = root / match.group(1) / "metadata.json" if match else None
    if meta is None or not meta.is_file():
        return ""
    plugin = json.loads(meta.read_text(encoding="utf-8")).get("KPlugin", {})
    authors = ", ".join(a.get("Name", "") for a in plugin.get("Authors", []))
    return f"metadata.json: {plugin.get('License', '?')}, {authors}"


# --------------------------------------------------------------------------- measurements


def open_reduced(file: Path, min_short_side: int) -> Image.Image:
    """Open for measuring: JPEGs decode at a reduced DCT scale that keeps ``min_short_side``.

    Orientation is left alone: none of the measurements depends on it.
    """
    image = Image.open(file)
    scale = min(image.size) // min_short_side
    if image.format == "JPEG" and scale >= 2:
        image.draft(image.mode, (image.size[0] // scale, image.size[1] // scale))
    return image


def alpha_fraction(image: Image.Image) -> float:
    """Share of pixels that are not (nearly) opaque."""
    if image.mode not in ("RGBA", "LA", "PA") and "transparency" not in image.info:
        return 0.0
    alpha = np.asarray(image.convert("RGBA"))[..., 3]
    return float((alpha < 250).mean())


def rgb_short_side(image: Image.Image, short_side: int) -> Image.Image:
    """RGB copy with the short side reduced to ``short_side`` by area averaging (never upscaled)."""
    rgb = image.convert("RGB")
    scale = short_side / min(rgb.size)
    if scale >= 1.0:
        return rgb
    size = (max(1, round(rgb.size[0] * scale)), max(1, round(rgb.size[1] * scale)))
    return rgb.resize(size, Image.Resampling.BOX)


def windows3(values: np.ndarray) -> np.ndarray:
    """All 3x3 neighbourhoods of a 2-D array, shape (H-2, W-2, 3, 3), as a view."""
    return np.lib.stride_tricks.sliding_window_view(values, (3, 3))


def local_range(gray: np.ndarray) -> np.ndarray:
    """Max minus min over each 3x3 neighbourhood (valid part only)."""
    windows = windows3(gray)
    return windows.max(axis=(2, 3)).astype(np.int16) - windows.min(axis=(2, 3)).astype(np.int16)


def flat_fraction(gray: np.ndarray) -> float:
    """Share of 3x3 neighbourhoods with exactly one grey level: zero-noise, rendered areas."""
    return float((local_range(gray) == 0).mean())


def has_camera_exif(image: Image.Image) -> bool:
    """EXIF Make or Model: the file went through a camera (or says so)."""
    exif = image.getexif()
    return bool(exif.get(271) or exif.get(272))


def measure(file: Path) -> Measures:
    """The automatic filter's measurements of one image file."""
    image = open_reduced(file, FLAT_SHORT_SIDE)
    large = rgb_short_side(image, FLAT_SHORT_SIDE)
    small = rgb_short_side(large, CHROMA_SHORT_SIDE)
    return Measures(
        alpha_fraction=alpha_fraction(image),
        ab_spread=chroma_stats(np.asarray(small))["ab_spread"],
        flat_fraction=flat_fraction(np.asarray(large.convert("L"))),
        lossless=image.format in ("PNG", "WEBP", "GIF", "TIFF"),
        camera=has_camera_exif(image),
    )


def auto_verdict(m: Measures) -> str:
    """Empty for "looks like a photograph", else the first rule that rejects the image."""
    if m.alpha_fraction > MAX_ALPHA_FRACTION:
        return f"transparent overlay ({m.alpha_fraction:.0%} translucent)"
    if m.ab_spread < MIN_AB_SPREAD:
        return f"near-gray (ab_spread {m.ab_spread:.1f} < {MIN_AB_SPREAD})"
    if m.flat_fraction > MAX_FLAT_FRACTION:
        return f"flat/gradient artwork ({m.flat_fraction:.0%} flat 3x3)"
    if m.lossless and not m.camera:
        # every photo in these packages is a JPEG; the PNG/WebP files are renders
        return "lossless PNG/WebP without camera EXIF"
    return ""


# --------------------------------------------------------------------------- wallpapers


def package_files(root: Path, suffixes: Iterable[str], under: str = "usr/share") -> list[tuple[str, Path]]:
    """(path inside the package, file) of regular files; symlinks are aliases and skipped."""
    suffixes = tuple(suffixes)
    found = []
    for file in sorted((root / under).rglob("*")):
        if file.is_file() and not file.is_symlink() and file.suffix.lower() in suffixes:
            found.append((file.relative_to(root).as_posix(), file))
    return found


def variant_group(package: str, path: str) -> str:
    """Key shared by the sizes, crops and light/dark variants of one wallpaper."""
    match = re.match(r"usr/share/wallpapers/([^/]+)/", path)
    if match:
        return f"{package}:{match.group(1)}"
    stem = re.sub(r"([_-]\d+x\d+|-[ld])$", "", Path(path).stem)
    return f"{package}:{Path(path).parent.as_posix()}/{stem}"


def variant_rank(candidate: Candidate) -> tuple[int, int, str]:
    """Sort key of a group's representative: a reference photo, not a preview, not dark, most pixels."""
    with Image.open(candidate.file) as image:
        pixels = image.size[0] * image.size[1]
    penalty = (candidate.sha256 not in WALLPAPER_PHOTOS) * 4 + ("screenshot" in candidate.path) * 2
    return (penalty + ("images_dark" in candidate.path), -pixels, candidate.path)


def wallpaper_candidates(package: str, root: Path) -> list[Candidate]:
    """Every distinct image file of a wallpaper package (first path wins for identical bytes)."""
    seen: set[str] = set()
    found = []
    for path, file in package_files(root, IMAGE_SUFFIXES + VECTOR_SUFFIXES):
        sha = sha256_bytes(file.read_bytes())
        if sha not in seen:
            seen.add(sha)
            found.append(Candidate(package, path, file, sha, package_license(root, package, path)))
    return found


def judge_wallpapers(candidates: list[Candidate]) -> list[Candidate]:
    """Keep the ground-truth photographs that pass the chroma floor; record the auto verdict."""
    groups: dict[str, list[Candidate]] = {}
    for c in candidates:
        groups.setdefault(variant_group(c.source, c.path), []).append(c)
    judged = []
    for members in groups.values():
        raster = sorted((c for c in members if c.file.suffix.lower() in IMAGE_SUFFIXES), key=variant_rank)
        for c in members:
            if c.file.suffix.lower() in VECTOR_SUFFIXES:
                judged.append(replace(c, status="dropped", reason="vector artwork (SVG)"))
            elif c is not raster[0]:
                judged.append(replace(c, status="dropped", reason=f"variant of {raster[0].path}"))
            else:
                judged.append(judge_wallpaper(c))
    return judged


def judge_wallpaper(c: Candidate) -> Candidate:
    """Verdict for a group's representative image."""
    m = measure(c.file)
    auto = auto_verdict(m) or "photo"
    if c.sha256 not in WALLPAPER_PHOTOS:
        return replace(c, status="dropped", reason="not a photograph (reference list)",
                       ab_spread=m.ab_spread, auto=auto)
    if m.ab_spread < MIN_AB_SPREAD:
        return replace(c, status="dropped", reason=f"near-gray photo (ab_spread {m.ab_spread:.1f})",
                       ab_spread=m.ab_spread, auto=auto)
    return replace(c, status="kept", reason="photograph (reference list)", ab_spread=m.ab_spread, auto=auto)


# --------------------------------------------------------------------------- library photos


def module_dir(import_name: str) -> Path | None:
    """Folder of an installed top-level package, found without importing it (matplotlib is slow)."""
    spec = importlib.util.find_spec(import_name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def library_candidates() -> tuple[list[Candidate], list[str]]:
    """Every image file in the libraries' sample-data folders, and the libraries that are missing."""
    found, missing = [], []
    for library, folders in LIBRARY_DIRS.items():
        base = module_dir(folders[0].split("/")[0])
        if base is None:
            missing.append(library)
            continue
        for folder in folders:
            for file in sorted((base.parent / folder).rglob("*")):
                if file.is_file() and file.suffix.lower() in IMAGE_SUFFIXES:
                    path = file.relative_to(base.parent).as_posix()
                    sha = sha256_bytes(file.read_bytes())
                    found.append(Candidate(library, path, file, sha, library_license(library, path)))
    return found, missing


def library_license(library: str, path: str) -> str:
    """The photo's own licence where the library states one, else the library's."""
    for photo in LIBRARY_PHOTOS:
        if photo.path == path:
            return f"{photo.license} ({photo.author})"
    return LIBRARY_LICENSES[library]


def judge_library(c: Candidate) -> Candidate:
    """Keep the listed colour photographs; say why every other sample file is left out."""
    try:
        with Image.open(c.file) as image:
            gray_or_stack = image.mode in ("1", "L", "LA", "I", "I;16", "F") or getattr(image, "n_frames", 1) > 1
    except OSError:  # e.g. a TIFF flavour Pillow cannot read
        return replace(c, status="dropped", reason="unreadable by Pillow", auto="not measured")
    if gray_or_stack:
        return replace(c, status="dropped", reason="grayscale or multi-page image", auto="not measured")
    m = measure(c.file)
    auto = auto_verdict(m) or "photo"
    listed = any(p.path == c.path for p in LIBRARY_PHOTOS)
    if listed and m.ab_spread >= MIN_AB_SPREAD:
        return replace(c, status="kept", reason="colour photograph (library docs)", ab_spread=m.ab_spread, auto=auto)
    reason = LIBRARY_NOT_PHOTOS.get(c.path) or (auto if auto != "photo" else "not a listed photograph")
    return replace(c, status="dropped", reason=reason, ab_spread=m.ab_spread, auto=auto)


# --------------------------------------------------------------------------- stamps


@dataclass(frozen=True)
class StampMeasures:
    pixels: int  # opaque interior pixels
    colours: int  # distinct 6-bit colours over the interior
    flat_fraction: float
    ab_spread: float


def erode(mask: np.ndarray, iterations: int) -> np.ndarray:
    """Binary erosion with a 3x3 square (edges count as outside)."""
    for _ in range(iterations):
        padded = np.pad(mask, 1, constant_values=False)
        mask = windows3(padded).all(axis=(2, 3))
    return mask


def measure_stamp(image: Image.Image) -> StampMeasures:
    """Colour count, flatness and chroma of a cutout's opaque interior (edges are anti-aliased)."""
    rgba = np.asarray(image.convert("RGBA"))
    interior = erode(rgba[..., 3] >= 250, 2)
    pixels = int(interior.sum())
    if pixels < 16:
        return StampMeasures(pixels, 0, 1.0, 0.0)
    rgb = rgba[..., :3]
    q = (rgb[interior] >> 2).astype(np.int32)
    colours = len(np.unique((q[:, 0] << 12) | (q[:, 1] << 6) | q[:, 2]))
    gray = np.asarray(Image.fromarray(rgb).convert("L"))
    flat = float((local_range(gray)[interior[1:-1, 1:-1]] <= 2).mean()) if min(gray.shape) > 2 else 1.0
    spread = chroma_stats(rgb[interior][None, :, :])["ab_spread"]
    return StampMeasures(pixels, colours, flat, spread)


def stamp_verdict(m: StampMeasures) -> str:
    """Empty for a photographic stamp, else the first rule that rejects it."""
    if m.pixels < STAMP_MIN_PIXELS:
        return f"small ({m.pixels} opaque px < {STAMP_MIN_PIXELS})"
    if m.ab_spread < MIN_AB_SPREAD:  # before the colour count, which a gray cutout also fails
        return f"near-gray (ab_spread {m.ab_spread:.1f})"
    if m.colours < STAMP_MIN_COLOURS:
        return f"clip-art or palette ({m.colours} colours < {STAMP_MIN_COLOURS})"
    if m.flat_fraction > STAMP_MAX_FLAT:
        return f"clip-art ({m.flat_fraction:.0%} flat > {STAMP_MAX_FLAT:.0%})"
    return ""


def stamp_metadata_flag(file: Path) -> str:
    """Tux Paint's own hints that a stamp is drawn: a cartoon folder, or recolourable in the app."""
    if "cartoon" in file.parts:
        return "cartoon folder"
    dat = file.with_suffix(".dat")
    words = dat.read_text(encoding="utf-8", errors="replace").split() if dat.is_file() else []
    return next((w for w in words if w in ("colorable", "tintable")), "")


def stamp_candidates(root: Path) -> list[Candidate]:
    """Every PNG and SVG stamp; a byte-identical copy is dropped in favour of the first path."""
    license_text = package_license(root, STAMP_PACKAGE, STAMP_ROOT + "/x.png")
    found, first_path = [], {}
    for path, file in package_files(root, (".png", *VECTOR_SUFFIXES), STAMP_ROOT):
        sha = sha256_bytes(file.read_bytes())
        c = Candidate(STAMP_PACKAGE, path, file, sha, license_text)
        if sha in first_path:
            c = replace(c, status="dropped", reason=f"duplicate of {first_path[sha]}")
        first_path.setdefault(sha, path)
        found.append(c)
    return found


def judge_stamp(c: Candidate) -> Candidate:
    """Measured criterion first, then the spot-check exclusions, mirrors and metadata flags."""
    if c.status:
        return c
    if c.file.suffix.lower() in VECTOR_SUFFIXES:
        return replace(c, status="dropped", reason="vector clip-art (SVG)")
    with Image.open(c.file) as image:
        m = measure_stamp(image)
    verdict = stamp_verdict(m)
    auto = verdict or "photo"
    inner = c.path.removeprefix(STAMP_ROOT + "/")
    if not verdict and inner in STAMP_EXCLUDE:
        verdict = STAMP_EXCLUDE[inner]
    if not verdict and Path(c.path).stem.endswith("_mirror"):
        verdict = "mirrored copy (training flips anyway)"
    flag = stamp_metadata_flag(c.file)
    if not verdict and flag:
        verdict = f"drawn per Tux Paint metadata ({flag})"
    auto = f"{auto}; metadata: {flag}" if flag else auto
    status = "dropped" if verdict else "kept"
    return replace(c, status=status, reason=verdict or "photographic stamp", ab_spread=m.ab_spread, auto=auto)


# --------------------------------------------------------------------------- composites


def stamp_rng(sha: str) -> np.random.Generator:
    """Random stream of one composite: the fixed seed plus the stamp's hash."""
    return np.random.default_rng([COMPOSITE_SEED, int(sha[:16], 16)])


def random_crop(image: Image.Image, size: tuple[int, int], rng: np.random.Generator) -> Image.Image:
    """A random crop with the target's aspect ratio, 50-100 % of the largest one, resized."""
    width, height = image.size
    aspect = size[0] / size[1]
    crop_w = min(width, height * aspect) * rng.uniform(0.5, 1.0)
    crop_h = crop_w / aspect
    x0, y0 = rng.uniform(0, width - crop_w), rng.uniform(0, height - crop_h)
    box = (x0, y0, x0 + crop_w, y0 + crop_h)
    return image.convert("RGB").resize(size, Image.Resampling.LANCZOS, box=box)


def compose(stamp: Image.Image, background: Image.Image, rng: np.random.Generator,
            size: tuple[int, int] = COMPOSITE_SIZE) -> Image.Image:
    """Paste a cutout at a random scale (at most 1.5x native) and position onto a random crop."""
    stamp = stamp.convert("RGBA")
    stamp = stamp.crop(stamp.getchannel("A").getbbox() or (0, 0, *stamp.size))
    canvas = random_crop(background, size, rng).convert("RGBA")
    target = rng.uniform(0.45, 0.9) * size[1]  # long side of the stamp
    scale = min(target / max(stamp.size), 1.5, size[0] / stamp.size[0], size[1] / stamp.size[1])
    scaled = (max(1, round(stamp.size[0] * scale)), max(1, round(stamp.size[1] * scale)))
    stamp = stamp.resize(scaled, Image.Resampling.LANCZOS)  # Pillow premultiplies alpha here
    if rng.random() < 0.5:
        stamp = ImageOps.mirror(stamp)
    x = int(rng.integers(0, size[0] - scaled[0] + 1))
    y = int(rng.integers(0, size[1] - scaled[1] + 1))
    canvas.alpha_composite(stamp, (x, y))
    return canvas.convert("RGB")


# The real photos are few (27): a plain hash split put one photo each in val and test, too few to
# tune or report on. They are split by the rank of their hash instead: from the sorted hashes,
# every 5th starting at the 2nd goes to val and every 5th starting at the 4th to test (about 20%
# each). Still deterministic and independent of file order; composites keep the hash split.
REAL_PHOTO_VAL_RANKS = (1,)
REAL_PHOTO_TEST_RANKS = (3,)


def real_photo_splits(shas: Iterable[str]) -> dict[str, str]:
    """sha256 -> split for the real photos, balanced by rank (see above)."""
    splits = {}
    for rank, sha in enumerate(sorted(set(shas))):
        position = rank % 5
        splits[sha] = ("val" if position in REAL_PHOTO_VAL_RANKS else
                       "test" if position in REAL_PHOTO_TEST_RANKS else "train")
    return splits


def split_of(sha: str, splits: dict[str, str]) -> str:
    """A real photo's ranked split, otherwise (stamps) the hash split."""
    return splits.get(sha) or split_for_hash(sha)


def pick_background(sha: str, photos: list[Candidate], rng: np.random.Generator,
                    splits: dict[str, str] | None = None) -> Candidate | None:
    """A kept photo of the stamp's own split, so no val/test photo ever appears in train."""
    splits = splits or {}
    split = split_for_hash(sha)
    pool = sorted((p for p in photos if split_of(p.sha256, splits) == split), key=lambda p: p.sha256)
    return pool[int(rng.integers(len(pool)))] if pool else None


# --------------------------------------------------------------------------- cache output


CACHE_NAME_SKIP = frozenset(("usr", "share", "contents", "images", "backgrounds", "wallpapers", "tuxpaint", "stamps"))


def cache_name(c: Candidate, prefix: str) -> str:
    """Flat, unique, readable file name in the cache."""
    parts = [p for p in Path(c.path).with_suffix("").parts if p not in CACHE_NAME_SKIP]
    stem = re.sub(r"[^A-Za-z0-9]+", "-", "-".join(parts[-3:])).strip("-")
    return f"{prefix}-{stem}-{c.sha256[:8]}.jpg"


def save_jpeg(image: Image.Image, file: Path) -> CacheRecord:
    """JPEG q95, 4:4:4 (chroma is what the model learns), and its cache record."""
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=JPEG_QUALITY, subsampling=0, optimize=True)
    file.write_bytes(buffer.getvalue())
    saved = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
    return CacheRecord(file=file.name, split="", width=saved.shape[1], height=saved.shape[0], sha256="",
                       ab_spread=chroma_stats(saved)["ab_spread"])


def cache_photo(c: Candidate, folder: Path, prefix: str,
                splits: dict[str, str] | None = None) -> tuple[CacheRecord, Image.Image]:
    """A kept photo at short side 512, its record and the resized image (reused as background)."""
    image = resize_short_side(ImageOps.exif_transpose(Image.open(c.file)).convert("RGB"), PHOTO_SHORT_SIDE)
    record = save_jpeg(image, folder / cache_name(c, prefix))
    record = replace(record, split=split_of(c.sha256, splits or {}), sha256=c.sha256,
                     source=f"{c.source}:{c.path}", license=c.license)
    return record, image


def cache_composite(stamp: Candidate, photos: dict[str, tuple[Candidate, Image.Image]],
                    folder: Path, splits: dict[str, str] | None = None,
                    ) -> tuple[Candidate, CacheRecord | None]:
    """One composite per kept stamp; the record's hash (and so its split) is the stamp's."""
    rng = stamp_rng(stamp.sha256)
    background = pick_background(stamp.sha256, [c for c, _ in photos.values()], rng, splits)
    if background is None:
        return replace(stamp, status="dropped", reason=f"no {split_for_hash(stamp.sha256)} photo for a background"), None
    image = compose(Image.open(stamp.file), photos[background.sha256][1], rng)
    record = save_jpeg(image, folder / cache_name(stamp, "comp"))
    record = replace(record, split=split_for_hash(stamp.sha256), sha256=stamp.sha256,
                     source=f"{stamp.source}:{stamp.path} on {background.source}:{background.path}",
                     license=f"{stamp.license} + background {background.license}")
    return replace(stamp, reason=f"composited onto {background.source}:{background.path}"), record


def folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.iterdir() if f.is_file())


def replace_folder(staging: Path, out: Path) -> None:
    """Swap the finished cache in; only an earlier cache (or an empty folder) is ever removed."""
    if out.exists():
        if not (is_cache(out) or not any(out.iterdir())):
            raise FileExistsError(f"{out} exists and is not a training cache; not overwriting it")
        shutil.rmtree(out)
    staging.chmod(0o755)  # mkdtemp made it private
    staging.rename(out)


def write_source_manifest(path: Path, candidates: list[Candidate],
                          splits: dict[str, str] | None = None) -> None:
    """The committed record of every candidate file, sorted, with paths inside the package."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(MANIFEST_FIELDS)
        for c in sorted(candidates, key=lambda c: (c.source, c.path)):
            spread = "" if np.isnan(c.ab_spread) else f"{c.ab_spread:.2f}"
            writer.writerow([c.source, c.path, c.license, c.sha256, c.status, c.reason,
                             split_of(c.sha256, splits or {}), spread, c.auto])


# --------------------------------------------------------------------------- samples


MAX_SAMPLES = 4  # enough to show the range of scenes; `make demo` stays quick


def write_samples(photos: list[Candidate], folder: Path,
                  splits: dict[str, str] | None = None) -> list[Candidate]:
    """Grayscale JPEGs (long side <= 1600) of the real photos whose hash puts them in test.

    Near-gray test photos count too: they are in no split of the cache, so no model saw them.
    """
    chosen = sorted((c for c in photos if c.status == "kept"
                     and split_of(c.sha256, splits or {}) == "test"), key=lambda c: c.path)
    chosen = chosen[:MAX_SAMPLES]
    folder.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Demo photos", "",
        "Grayscale versions of the real photographs whose content hash puts them in the **test** split "
        "of the default corpus, so no model trained on it has seen them. Written by "
        "`autocolor data build-corpus --samples samples` (8-bit grayscale, long side at most "
        f"{SAMPLE_LONG_SIDE} px, JPEG). See docs/corpus.md.", "",
        "| file | source (Debian package: path) | author | license | sha256 of the original |",
        "| --- | --- | --- | --- | --- |",
    ]
    for c in chosen:
        name = sample_name(c)
        image = ImageOps.exif_transpose(Image.open(c.file)).convert("L")
        image.thumbnail((SAMPLE_LONG_SIDE, SAMPLE_LONG_SIDE), Image.Resampling.LANCZOS)
        image.save(folder / name, "JPEG", quality=92, optimize=True)
        lines.append(f"| {name} | {c.source}: `{c.path}` | {sample_author(c.license)} | "
                     f"{sample_license(c.license)} | `{c.sha256}` |")
    lines += ["", "GPL-2+: https://www.gnu.org/licenses/old-licenses/gpl-2.0.html "
              "(/usr/share/common-licenses/GPL-2 on Debian). LGPL-3.0: https://www.gnu.org/licenses/lgpl-3.0.html.",
              ""]
    (folder / "LICENSES.md").write_text("\n".join(lines), encoding="utf-8")
    return chosen


def sample_name(c: Candidate) -> str:
    """``yellowflower.jpg``: the wallpaper's name (plasma keeps it in the folder name)."""
    label = WALLPAPER_PHOTOS.get(c.sha256, c.path).split(":")[-1]
    return re.sub(r"[^a-z0-9]+", "-", Path(label).stem.lower()).strip("-") + ".jpg"


def sample_author(license_text: str) -> str:
    """The photographer, from the metadata.json note or the copyright holders."""
    match = re.search(r"metadata\.json: [^,]+, (.+)$", license_text) or re.search(r"\(© ([^)]*)\)", license_text)
    return match.group(1) if match else "see license"


def sample_license(license_text: str) -> str:
    """Debian's licence, plus the one in plasma's metadata.json where that differs."""
    debian = license_text.split(" ")[0]
    match = re.search(r"metadata\.json: ([^,]+),", license_text)
    return f"{debian} (debian/copyright); {match.group(1)} (metadata.json)" if match else debian


# --------------------------------------------------------------------------- build


@dataclass
class BuildResult:
    candidates: list[Candidate]
    records: list[CacheRecord]
    warnings: list[str]
    splits: dict[str, str] = field(default_factory=dict)  # real photos' ranked splits


def build(roots: dict[str, Path], staging: Path) -> BuildResult:
    """Judge every source file, write kept photos and composites into ``staging``."""
    warnings: list[str] = []
    judged: list[Candidate] = []
    for package in WALLPAPER_PACKAGES:
        judged += judge_wallpapers(wallpaper_candidates(package, roots[package]))
    found = {c.sha256 for c in judged}
    warnings += [f"reference photo {name} ({sha[:12]}) not found: package version differs?"
                 for sha, name in WALLPAPER_PHOTOS.items() if sha not in found]
    library, missing = library_candidates()
    warnings += [f"{name} is not installed: pip install 'autocolor[corpus]'" for name in missing]
    judged = drop_duplicates(judged + [judge_library(c) for c in library])
    kept = [c for c in judged if c.status == "kept"]
    splits = real_photo_splits(c.sha256 for c in kept)
    records, photos = cache_photos(kept, staging, splits)
    stamps = [judge_stamp(c) for c in stamp_candidates(roots[STAMP_PACKAGE])]
    for i, stamp in enumerate(stamps):
        if stamp.status == "kept":
            stamps[i], record = cache_composite(stamp, photos, staging, splits)
            records += [record] if record else []
    return BuildResult(judged + stamps, records, warnings, splits)


def drop_duplicates(candidates: list[Candidate]) -> list[Candidate]:
    """A photo shipped by two sources is kept once (the first), so it cannot sit in two records."""
    first: dict[str, str] = {}
    result = []
    for c in candidates:
        if c.status == "kept" and c.sha256 in first:
            c = replace(c, status="dropped", reason=f"duplicate of {first[c.sha256]}")
        elif c.status == "kept":
            first[c.sha256] = f"{c.source}:{c.path}"
        result.append(c)
    return result


def cache_photos(kept: list[Candidate], folder: Path,
                 splits: dict[str, str] | None = None) -> tuple[list[CacheRecord], dict]:
    """Write the kept photos; return their records and sha -> (candidate, resized image)."""
    records, photos = [], {}
    for c in kept:
        prefix = "lib" if c.source in LIBRARY_DIRS else "wp"
        record, image = cache_photo(c, folder, prefix, splits)
        records.append(record)
        photos[c.sha256] = (c, image)
    return records, photos


def confusion(candidates: list[Candidate]) -> dict[str, int]:
    """Automatic wallpaper filter against the reference list, over one image per wallpaper."""
    judged = [c for c in candidates if c.source in WALLPAPER_PACKAGES and c.auto]
    counts: Counter[str] = Counter()
    for c in judged:
        truth = "photo" if c.sha256 in WALLPAPER_PHOTOS else "other"
        counts[f"{truth}->{'photo' if c.auto == 'photo' else 'other'}"] += 1
    return dict(sorted(counts.items()))


def summary(result: BuildResult, out: Path, seconds: float) -> str:
    """Counts per source and split, drops, filter agreement, size and time."""
    table: dict[str, Counter[str]] = {}
    for r in result.records:
        source = r.source.split(":")[0] + (" (composites)" if " on " in r.source else "")
        table.setdefault(source, Counter())[r.split] += 1
    lines = [f"{'source':38} " + " ".join(f"{s:>6}" for s in (*SPLITS, "total"))]
    for source, counts in sorted(table.items()):
        lines.append(f"{source:38} " + " ".join(f"{counts[s]:>6}" for s in SPLITS) + f" {sum(counts.values()):>6}")
    totals = Counter(r.split for r in result.records)
    lines.append(f"{'all':38} " + " ".join(f"{totals[s]:>6}" for s in SPLITS) + f" {len(result.records):>6}")
    dropped = Counter(c.source for c in result.candidates if c.status == "dropped")
    lines.append("dropped: " + ", ".join(f"{k} {v}" for k, v in sorted(dropped.items())))
    lines.append(f"auto filter vs reference (truth->auto): {confusion(result.candidates)}")
    lines.append(f"cache {out}: {folder_bytes(out) / 1e6:.1f} MB, {seconds:.0f} s")
    return "\n".join(lines + [f"warning: {w}" for w in result.warnings])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("data/corpus"), help="cache folder (replaced)")
    parser.add_argument("--debs", type=Path, default=Path("data/debs"),
                        help="folder of the .deb files; missing ones are fetched with apt-get download")
    parser.add_argument("--extract-dir", type=Path, default=Path("data/debs/extracted"),
                        help="where the packages are unpacked (kept between runs)")
    parser.add_argument("--manifest", type=Path, default=Path("data/corpus_manifest.tsv"),
                        help="source manifest to write (committed)")
    parser.add_argument("--samples", type=Path, default=None,
                        help="also write the grayscale demo photos and LICENSES.md here")


def missing_libraries() -> list[str]:
    """Libraries of the ``corpus`` extra that are not installed."""
    return [name for name, folders in LIBRARY_DIRS.items() if module_dir(folders[0].split("/")[0]) is None]


def run(args: argparse.Namespace) -> int:
    start = time.monotonic()
    if missing := missing_libraries():
        # the corpus would silently differ from the committed manifest without them
        print(f"error: {', '.join(missing)} missing: pip install 'autocolor[corpus]'", file=sys.stderr)
        return 2
    try:
        roots = package_roots(args.debs, args.extract_dir)
    except (OSError, subprocess.CalledProcessError) as error:
        print(f"error: {error}\nhint: sudo apt-get update, or pass --debs DIR holding "
              f"{', '.join(p + '_*.deb' for p in PACKAGES)}", file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{args.out.name}-", dir=args.out.parent))
    try:
        result = build(roots, staging)
        write_manifest(staging, result.records)
        size = folder_bytes(staging)
        if size >= MAX_CACHE_BYTES:
            print(f"error: cache is {size / 1e6:.1f} MB, over {MAX_CACHE_BYTES / 1e6:.0f} MB", file=sys.stderr)
            return 1
        replace_folder(staging, args.out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    write_source_manifest(args.manifest, result.candidates, result.splits)
    if args.samples:
        photos = [c for c in result.candidates if c.sha256 in WALLPAPER_PHOTOS
                  or any(p.path == c.path for p in LIBRARY_PHOTOS)]
        write_samples(photos, args.samples, result.splits)
    print(summary(result, args.out, time.monotonic() - start))
    print(f"wrote {args.out / CACHE_MANIFEST} and {args.manifest}")
    return 0
