"""scripts/benchmarks_md.py, restore_measure.py and confidence_calibration.py on tiny data."""

from __future__ import annotations

from pathlib import Path

import confidence_calibration
import numpy as np
import pytest
import restore_measure
from benchmarks_md import replace_section
from PIL import Image


def test_replace_section(tmp_path: Path) -> None:
    path = tmp_path / "B.md"
    replace_section(path, "## B", "## B\n\nfirst\n")
    assert path.read_text() == "\n\n## B\n\nfirst\n"
    path.write_text("# Benchmarks\n\n## A\n\na\n\n## B\n\nold\n\n## C\n\nc\n")
    replace_section(path, "## B", "## B\n\nnew\n")
    assert path.read_text() == "# Benchmarks\n\n## A\n\na\n\n## B\n\nnew\n\n## C\n\nc\n"
    replace_section(path, "## D", "## D\n\nd")
    assert path.read_text().endswith("## C\n\nc\n\n## D\n\nd\n")


def test_by_decile_ranks_the_errors() -> None:
    """A score that orders the errors perfectly: deciles rise from sure to unsure, and the
    thirds' ratio is that of their means; a score that knows nothing gives about 1x."""
    error = np.arange(1000, dtype=np.float64)
    deciles, ratio = confidence_calibration.by_decile(-error, error)  # sure = small error
    assert deciles == sorted(deciles, reverse=True)
    assert ratio == pytest.approx(error[666:].mean() / error[:333].mean())  # 334, 333, 333
    rng = np.random.default_rng(0)
    _, blind = confidence_calibration.by_decile(rng.random(1000), rng.random(1000) + 1)
    assert blind == pytest.approx(1.0, abs=0.1)


def test_restore_measure_on_a_tiny_corpus(tmp_path: Path, smooth_rgb, capsys) -> None:
    """The table's rows: each step alone and auto, for both presets, and the clean photos; a
    clean photo that auto leaves alone counts as identical."""
    (tmp_path / "photos").mkdir()
    rows = ["file\tsplit"]
    for index in range(2):
        name = f"photos/p{index}.png"
        Image.fromarray(smooth_rgb(index, 96, 128)).save(tmp_path / name)
        rows.append(f"{name}\tval")
    (tmp_path / "manifest.tsv").write_text("\n".join(rows) + "\n")
    assert restore_measure.main(["--corpus", str(tmp_path), "--splits", "val"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("2 photos of")
    for preset in ("eval", "eval-alt"):
        for variant in (*restore_measure.STEPS, "auto"):
            assert f"| {preset} | {variant} |" in out
    clean_row = out.split("| clean photos |")[1].splitlines()[2]
    assert clean_row.startswith("| 2 |")
    assert restore_measure.psnr(np.zeros((2, 2)), np.zeros((2, 2))) == 100.0
    assert restore_measure.main(["--corpus", str(tmp_path), "--splits", "test"]) == 1
