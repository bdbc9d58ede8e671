"""Get the bytes of a :class:`~autocolor.data.sources.Source`, one small fetcher per storage kind,
and verify them against the row's sha256.

- ``deb``: ``apt-get download PACKAGE`` into a folder of .deb files (once), ``dpkg-deb -x`` into
  an extraction folder (once; a marker file makes reruns instant), then read the member.
- ``rcc``: the same package tree, then the blob at ``#OFFSET`` of the Qt resource file; the 4 bytes
  before OFFSET are its big-endian length (Qt's rcc format stores uncompressed blobs so).
- ``library``: the file inside an installed Python distribution, found with importlib.metadata
  (never imported, never downloaded).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import shutil
import subprocess
from pathlib import Path

from autocolor.data.sources import Source


class FetchError(Exception):
    """A source could not be fetched or its bytes do not match; the message names the source."""


class Fetcher:
    """Fetches sources' bytes; Debian packages are downloaded and unpacked at most once."""

    def __init__(self, debs: Path, extract_root: Path | None = None,
                 download: bool = True) -> None:
        self.debs = Path(debs)
        self.extract_root = Path(extract_root) if extract_root else self.debs / "extracted"
        self.download = download
        self._roots: dict[str, Path] = {}

    def fetch(self, source: Source) -> bytes:
        """The verified bytes of ``source``; raises FetchError."""
        if source.storage == "library":
            data = read_library_file(source.package, source.member)
        elif source.storage == "rcc":
            file, offset = parse_rcc_member(source.member)
            data = read_rcc_blob(self.package_root(source.package) / file, offset)
        else:
            path = self.package_root(source.package) / source.member
            if not path.is_file():
                raise FetchError(f"{source.name}: not in the package")
            data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if digest != source.sha256:
            raise FetchError(f"{source.name}: sha256 {digest[:12]}... differs from the list's "
                             f"{source.sha256[:12]}... (another package version?)")
        return data

    def package_root(self, package: str) -> Path:
        """The unpacked tree of ``package``, downloading and unpacking it when needed."""
        if package not in self._roots:
            deb = find_deb(package, self.debs)
            if deb is None:
                if not self.download:
                    raise FetchError(f"{package}: no {package}_*.deb in {self.debs}")
                deb = download_deb(package, self.debs)
            self._roots[package] = extract_deb(deb, self.extract_root)
        return self._roots[package]


def find_deb(package: str, debs: Path) -> Path | None:
    """The newest-named ``PACKAGE_*.deb`` in ``debs`` (apt-get download's naming)."""
    found = sorted(Path(debs).glob(f"{package}_*.deb"))
    return found[-1] if found else None


def download_deb(package: str, debs: Path) -> Path:
    """``apt-get download PACKAGE`` into ``debs``; the archive's own keys verify it."""
    debs.mkdir(parents=True, exist_ok=True)
    print(f"apt-get download {package} -> {debs}", flush=True)
    try:
        subprocess.run(["apt-get", "download", package], cwd=debs, check=True)
    except (OSError, subprocess.CalledProcessError) as error:
        raise FetchError(f"{package}: apt-get download failed ({error}); run 'apt-get update' "
                         f"or put {package}_*.deb into {debs}") from error
    deb = find_deb(package, debs)
    if deb is None:
        raise FetchError(f"{package}: apt-get download left no .deb in {debs}")
    return deb


def extract_deb(deb: Path, root: Path) -> Path:
    """``dpkg-deb -x`` into ``root/<deb name>`` once; a marker file makes reruns instant."""
    target = root / deb.stem
    marker = target / ".extracted"
    if marker.is_file():
        return target
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    try:
        subprocess.run(["dpkg-deb", "-x", str(deb), str(target)], check=True)
    except (OSError, subprocess.CalledProcessError) as error:
        raise FetchError(f"{deb.name}: dpkg-deb -x failed ({error})") from error
    marker.write_text(deb.name + "\n", encoding="utf-8")
    return target


def parse_rcc_member(member: str) -> tuple[str, int]:
    """``FILE.rcc#OFFSET:PATH`` -> (FILE.rcc, OFFSET)."""
    file, _, rest = member.partition("#")
    offset = rest.split(":", 1)[0]
    if not file or not offset.isdigit():
        raise FetchError(f"{member}: expected FILE.rcc#OFFSET:PATH")
    return file, int(offset)


def read_rcc_blob(rcc: Path, offset: int) -> bytes:
    """The blob at ``offset`` of a Qt resource file (length: 4 bytes big-endian before it)."""
    if not rcc.is_file():
        raise FetchError(f"{rcc}: no such resource file")
    with open(rcc, "rb") as handle:
        if offset < 4:
            raise FetchError(f"{rcc}#{offset}: offset before the first blob")
        handle.seek(offset - 4)
        length = int.from_bytes(handle.read(4), "big")
        data = handle.read(length)
    if len(data) != length:
        raise FetchError(f"{rcc}#{offset}: blob runs past the end of the file")
    return data


def read_library_file(distribution: str, member: str) -> bytes:
    """A file shipped by an installed Python distribution (relative to its site-packages)."""
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError as error:
        raise FetchError(f"{distribution}:{member}: {distribution} is not installed "
                         "(pip install 'autocolor[corpus]')") from error
    path = Path(str(dist.locate_file(member)))
    if not path.is_file():
        raise FetchError(f"{distribution}:{member}: not in {distribution} {dist.version}")
    return path.read_bytes()
