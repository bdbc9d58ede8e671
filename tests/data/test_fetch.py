"""Fetchers per storage kind, each verifying the bytes against the list's sha256."""

from __future__ import annotations

import hashlib
import importlib.metadata
import subprocess
from pathlib import Path

import pytest

from autocolor.data import fetch
from autocolor.data.fetch import Fetcher, FetchError, parse_rcc_member, read_rcc_blob
from autocolor.data.sources import Source


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _rcc(path: Path, blobs: list[bytes]) -> list[int]:
    """A stand-in for a Qt resource file: a header, then length-prefixed blobs; -> offsets."""
    data, offsets = bytearray(b"qres\x00\x00\x00\x03" + b"\x00" * 12), []
    for blob in blobs:
        data += len(blob).to_bytes(4, "big")
        offsets.append(len(data))
        data += blob
    path.write_bytes(bytes(data))
    return offsets


def test_rcc_blobs_are_read_by_offset(tmp_path: Path) -> None:
    blobs = [b"RIFF....WEBPfirst", b"RIFF....WEBPsecond-longer"]
    offsets = _rcc(tmp_path / "a.rcc", blobs)
    assert [read_rcc_blob(tmp_path / "a.rcc", o) for o in offsets] == blobs
    assert parse_rcc_member("usr/x/a.rcc#123:/path/in.webp") == ("usr/x/a.rcc", 123)
    with pytest.raises(FetchError):
        parse_rcc_member("usr/x/a.rcc")
    with pytest.raises(FetchError, match="past the end"):
        read_rcc_blob(tmp_path / "a.rcc", offsets[-1] + 5)


def _tree(tmp_path: Path) -> tuple[Fetcher, dict[str, bytes]]:
    """A Fetcher whose package 'pkg' is already unpacked (no apt-get, no dpkg-deb)."""
    debs = tmp_path / "debs"
    debs.mkdir()
    (debs / "pkg_1.0_all.deb").write_bytes(b"")
    root = debs / "extracted" / "pkg_1.0_all"
    (root / "usr/share/pkg").mkdir(parents=True)
    (root / ".extracted").write_text("pkg_1.0_all.deb\n")
    files = {"usr/share/pkg/a.jpg": b"jpeg bytes"}
    (root / "usr/share/pkg/a.jpg").write_bytes(files["usr/share/pkg/a.jpg"])
    offsets = _rcc(root / "usr/share/pkg/r.rcc", [b"webp one", b"webp two"])
    files[f"usr/share/pkg/r.rcc#{offsets[1]}:/x/two.webp"] = b"webp two"
    return Fetcher(debs, download=False), files


def test_deb_and_rcc_sources_are_fetched_and_verified(tmp_path: Path) -> None:
    fetcher, files = _tree(tmp_path)
    for member, data in files.items():
        storage = "rcc" if "#" in member else "deb"
        assert fetcher.fetch(Source(storage, "pkg", "1.0", member, _sha(data), "GPL")) == data
    member = "usr/share/pkg/a.jpg"
    with pytest.raises(FetchError, match="sha256"):
        fetcher.fetch(Source("deb", "pkg", "1.0", member, "0" * 64, "GPL"))
    with pytest.raises(FetchError, match="not in the package"):
        fetcher.fetch(Source("deb", "pkg", "1.0", "usr/share/pkg/none.jpg", "0" * 64, "GPL"))
    with pytest.raises(FetchError, match="no other_"):
        fetcher.fetch(Source("deb", "other", "1.0", member, "0" * 64, "GPL"))


def test_library_files_come_from_the_installed_distribution() -> None:
    dist = importlib.metadata.distribution("pillow")
    member = next(str(f) for f in dist.files if str(f).endswith("PIL/__init__.py"))
    data = Path(str(dist.locate_file(member))).read_bytes()
    source = Source("library", "pillow", dist.version, member, _sha(data), "MIT-CMU")
    assert Fetcher(Path("unused")).fetch(source) == data
    with pytest.raises(FetchError, match="not installed"):
        Fetcher(Path("unused")).fetch(Source("library", "no-such-dist-x", "1", "a", "0" * 64, ""))


def test_missing_debs_are_downloaded_then_extracted_once(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []

    def fake_run(command: list[str], cwd: Path | None = None, check: bool = False):
        calls.append(command)
        if command[:2] == ["apt-get", "download"]:
            (Path(cwd) / f"{command[2]}_1.0_all.deb").write_bytes(b"deb")
        elif command[0] == "dpkg-deb":
            (Path(command[3]) / "usr/share").mkdir(parents=True)
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(fetch.subprocess, "run", fake_run)
    debs = tmp_path / "debs"
    debs.mkdir()
    (debs / "have_2.0_all.deb").write_bytes(b"deb")  # already there: not downloaded
    fetcher = Fetcher(debs, tmp_path / "x")
    roots = [fetcher.package_root(p) for p in ("have", "missing")]
    assert [c[2] for c in calls if c[0] == "apt-get"] == ["missing"]
    assert roots[0] == tmp_path / "x" / "have_2.0_all"
    calls.clear()
    Fetcher(debs, tmp_path / "x").package_root("have")
    assert calls == [], "a second run reuses the extracted tree"


def test_a_failed_download_names_the_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(command, cwd=None, check=False):
        raise subprocess.CalledProcessError(100, command)

    monkeypatch.setattr(fetch.subprocess, "run", failing)
    with pytest.raises(FetchError, match="gone-pkg: apt-get download failed"):
        Fetcher(tmp_path).package_root("gone-pkg")
