"""scripts/old_print_table.py: the README's clean-and-old-prints table from eval reports, and
scripts/old_print_figure.py's rows, on tiny photos with stand-in colorizers."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import old_print_table
import pytest
from PIL import Image

from autocolor.evaluate import evaluate_folder
from autocolor.evaluate.reference import GrayColorizer


class Tint(GrayColorizer):
    def colorize_lightness(self, lightness: np.ndarray) -> np.ndarray:
        return np.stack([0.3 * (lightness - 50), np.full_like(lightness, 10)], -1)


def _report(folder: Path, out: Path, preset: str) -> None:
    result = evaluate_folder(Tint(), folder, progress=False, degraded=preset)
    out.mkdir()
    (out / "metrics.json").write_text(json.dumps(result))


def test_table_has_a_clean_row_and_one_per_preset(tmp_path: Path, smooth_rgb,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for index in range(3):
        Image.fromarray(smooth_rgb(index, 40, 56)).save(photos / f"p{index}.png")
    _report(photos, tmp_path / "a", "eval")
    _report(photos, tmp_path / "b", "eval-alt")
    monkeypatch.setattr(sys, "argv", ["old_print_table.py", f"split={tmp_path / 'a'}",
                                      f"split={tmp_path / 'b'}"])
    assert old_print_table.main() == 0
    table = capsys.readouterr().out.split("People photos apart")[0]
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == 4  # header, clean, eval, eval-alt
    assert rows[1].startswith("| split (3) | clean |")
    assert "`eval`" in rows[2] and "`eval-alt`" in rows[3]
    expected = json.loads((tmp_path / "a" / "metrics.json").read_text())["summary"]
    assert f"{expected['delta']['psnr']:+.2f} dB" in rows[1]
    assert f"{expected['degraded']['ab_shift']:.1f} |" in rows[2]


def test_figure_row_cells_and_label(tmp_path: Path, smooth_rgb) -> None:
    import old_print_figure

    path = tmp_path / "p.png"
    Image.fromarray(smooth_rgb(1, 60, 80)).save(path)
    cells = old_print_figure.row_for([("now", Tint())], path, "p.png", "eval", 0)
    assert len(cells) == 3  # the old print, one model, the original
    assert all(cell.height == old_print_figure.CELL_HEIGHT for cell in cells)
    assert cells[0].getpixel((40, 100)) != cells[2].getpixel((40, 100))  # the copy is damaged
