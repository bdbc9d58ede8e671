"""scripts/hint_measure.py, the hints/reference measurement, and the torch-free import rule."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import hint_measure as measure
import numpy as np
import pytest
from PIL import Image


def _photo() -> np.ndarray:
    return measure.load_photo("skimage:chelsea", max_side=128)


def test_load_photo_shrinks_and_reads_files(tmp_path: Path) -> None:
    photo = _photo()
    assert photo.dtype == np.uint8 and max(photo.shape[:2]) == 128 and photo.shape[2] == 3
    Image.fromarray(photo).save(tmp_path / "cat.png")
    np.testing.assert_array_equal(measure.load_photo(tmp_path / "cat.png"), photo)
    assert measure.load_photo("skimage:motorcycle_left", max_side=64).shape[2] == 3
    with pytest.raises(ValueError, match="no scikit-image sample"):
        measure.load_photo("skimage:no_such_photo")


def test_random_hints_carry_the_true_colour() -> None:
    photo = _photo()
    hints = measure.random_hints(photo, 7, np.random.default_rng(0))
    assert len(hints) == 7
    for point in hints:
        assert point.rgb == tuple(int(v) for v in photo[int(point.y), int(point.x)])
    hints.validate((photo.shape[1], photo.shape[0]))


def test_hints_improve_on_the_gray_prior() -> None:
    rows = measure.measure_hints("chelsea", _photo(), (20,), trials=1)
    (row,) = rows
    assert row.psnr_hinted > row.psnr_prior + 1.0
    assert row.de_hinted < row.de_prior - 2.0
    assert row.spot_de_hinted < 0.5 * row.spot_de_prior


def test_reference_row_and_tables() -> None:
    photo = _photo()
    ref = measure.measure_reference("chelsea", photo, "own original", photo)
    assert ref.de_transfer < ref.de_prior
    hint_rows = measure.measure_hints("chelsea", photo, (5,), trials=1)
    table = measure.format_hint_table(hint_rows)
    assert table.count("\n") == 3 and "| chelsea | 5 |" in table and "**mean**" in table
    assert "own original" in measure.format_reference_table([ref])


def test_pluggable_prior() -> None:
    assert measure.load_prior(None) is measure.gray_prior
    assert measure.load_prior("hint_measure:gray_prior") is measure.gray_prior
    with pytest.raises(ValueError, match="package.module:callable"):
        measure.load_prior("hint_measure")
    # A prior that already knows the right colour leaves nothing for hints to fix.
    photo = _photo()
    from autocolor.color.lab_numpy import rgb_to_lab

    true_ab = rgb_to_lab(photo.astype(np.float32) / 255.0)[..., 1:]
    (row,) = measure.measure_hints("chelsea", photo, (5,), prior=lambda _: true_ab, trials=1)
    assert row.de_prior < 0.5 and abs(row.de_hinted - row.de_prior) < 0.5


def test_command_line_prints_tables(capsys: pytest.CaptureFixture[str]) -> None:
    code = measure.main(
        [
            "--skimage",
            "chelsea",
            "--counts",
            "5",
            "--trials",
            "1",
            "--max-side",
            "96",
            "--reference",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "| chelsea | 5 |" in out and "own original" in out


def test_hints_package_does_not_import_torch() -> None:
    code = (
        f"import sys; sys.path.insert(0, {str(Path(measure.__file__).parent)!r}); "
        "import autocolor.hints, hint_measure; "
        "sys.exit(1 if 'torch' in sys.modules else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_scores_are_the_evaluation_metrics() -> None:
    """One definition per metric: the script scores what ``autocolor eval`` would report."""
    from autocolor.evaluate.metrics import score_pair
    from autocolor.images import lab_to_rgb_array

    photo = _photo()
    lightness = measure.lightness_of(photo)
    ab = np.full((*lightness.shape, 2), 6.0, np.float32)
    result = measure.score(photo, lightness, ab)
    expected = score_pair(photo, lab_to_rgb_array(lightness, ab))
    assert result.psnr == expected["psnr"]
    assert abs(result.ciede2000 - expected["ciede2000"]) < 1e-4
    assert result.per_pixel_de.shape == lightness.shape
