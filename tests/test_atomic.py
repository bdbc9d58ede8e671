"""The one atomic writer: a hidden temporary file beside the target, then a rename."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from autocolor.atomic import atomic_path, atomic_write


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_atomic_write_creates_folders_and_an_ordinary_file(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "table.tsv"
    with atomic_write(target, "w", encoding="utf-8") as handle:
        handle.write("x\ty\n")
        assert not target.exists()  # nothing visible until the block ends
        (temp,) = os.listdir(target.parent)
        assert temp.startswith(".table.tsv.") and temp.endswith(".part")
    assert target.read_text(encoding="utf-8") == "x\ty\n"
    assert os.listdir(target.parent) == ["table.tsv"]
    assert os.stat(target).st_mode & 0o777 == 0o666 & ~_umask()


def test_a_failure_keeps_the_old_file_and_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "weights.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="boom"), atomic_write(target) as handle:
        handle.write(b"half of the new")
        raise RuntimeError("boom")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["weights.bin"]


def test_atomic_path_for_libraries_that_want_a_name(tmp_path: Path) -> None:
    target = tmp_path / "model.onnx"
    with atomic_path(target, mode=0o640) as temp:
        assert temp.parent == tmp_path and temp != target
        temp.write_bytes(b"graph")
    assert target.read_bytes() == b"graph" and os.stat(target).st_mode & 0o777 == 0o640
    with pytest.raises(KeyboardInterrupt), atomic_path(target) as temp:
        temp.write_bytes(b"interrupted")
        raise KeyboardInterrupt
    assert target.read_bytes() == b"graph" and os.listdir(tmp_path) == ["model.onnx"]


def test_atomic_write_refuses_reading_modes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="mode"), atomic_write(tmp_path / "x", "rb"):
        pass
