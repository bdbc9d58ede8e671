"""Report pieces: a-b histograms, grids, markdown and JSON."""

from __future__ import annotations

import math

import numpy as np
import pytest

from autocolor.evaluate.figures import AbHistogram, make_grid, render_ab_histograms
from autocolor.evaluate.report import format_report, format_summary, json_safe


def test_histogram_bins_and_equal_weights() -> None:
    hist = AbHistogram(limit=128)
    lab = np.zeros((2, 3, 3), dtype=np.float32)
    lab[..., 1], lab[..., 2] = 10.3, -20.7
    hist.add(lab)
    big = np.zeros((10, 10, 2), dtype=np.float32)
    big[:5, :, 0] = 500.0  # beyond the range: edge bin a = 127
    hist.add(big)
    density = hist.normalized()
    assert density.shape == (256, 256)
    assert density.sum() == pytest.approx(1.0)
    assert density[-21 + 128, 10 + 128] == pytest.approx(0.5)  # [b row, a column]
    assert density[128, 128] == pytest.approx(0.25)
    assert density[128, 255] == pytest.approx(0.25)


def test_render_histograms_shared_scale() -> None:
    first, second = AbHistogram(limit=64), AbHistogram(limit=64)
    red = np.zeros((4, 4, 2), dtype=np.float32)
    red[..., 0], red[..., 1] = 40.0, 30.0
    first.add(red)
    spread = np.zeros((100, 1, 2), dtype=np.float32)
    spread[:, 0, 0] = np.linspace(-60, 60, 100)
    second.add(spread)
    image = render_ab_histograms([("originals", first), ("ours", second)], scale=2)
    assert image.mode == "RGB"
    assert image.size == (2 * (128 * 2 + 8) + 8, 128 * 2 + 24 + 8)
    pixels = np.asarray(image).astype(int)
    header, left, second_left = 24, 8, 8 + 128 * 2 + 8

    def at(panel_left: int, a: int, b: int) -> np.ndarray:  # +b is up: row 0 is b = 63
        return pixels[header + (127 - (b + 64)) * 2, panel_left + (a + 64) * 2]

    # the peak bin (a = 40, b = 30) of the first panel is drawn in full colour (reddish) ...
    r, g, b = at(left, 40, 30)
    assert r > 150 and r > g and r > b
    # ... an empty bin keeps the dark background
    assert tuple(at(left, -60, 50)) == (20, 20, 20)
    # the second panel's bins are 100x less dense than the peak: dimmer but visible
    dim = at(second_left, -60, 0)
    assert 20 < max(dim) < max(r, g, b)
    assert tuple(at(second_left, -60, 20)) == (20, 20, 20)


def test_make_grid_layout_never_upscales(make_photo) -> None:
    small = make_photo(1, 30, 20)
    grid = make_grid(small, small, small, height=256)
    assert grid.size == (3 * 20 + 2 * 4, 30 + 20)
    large = make_photo(2, 512, 300)
    grid = make_grid(large, large, large, height=128)
    assert grid.size == (3 * 75 + 2 * 4, 128 + 20)


def _result(score_max_side: int | None = None) -> dict:
    scores = {"psnr": 25.0, "ssim": 0.9, "ciede2000": 4.0, "ab_auc": 0.95, "colorfulness": 30.0}
    gray = {"psnr": 22.0, "ssim": 0.85, "ciede2000": 8.0, "ab_auc": 0.9, "colorfulness": 0.0}
    row = {
        "file": "x|y.png",
        "width": 100,
        "height": 50,
        "scored_width": 40,
        "scored_height": 20,
        "original_colorfulness": 40.0,
        "ours": scores,
        "gray": gray,
        "grid": "grids/0001_x_y.jpg",
        "original_ab_spread": 12.0,
    }
    return {
        "settings": {
            "model": "m",
            "score_max_side": score_max_side,
            "downscaled_for_scoring": 1 if score_max_side else 0,
        },
        "summary": {
            "ours": scores,
            "gray": gray,
            "delta": {key: scores[key] - gray[key] for key in scores},
            "original": {"colorfulness": 40.0},
            "colorfulness_ratio": {"ours": 0.75, "gray": 0.0},
        },
        "images": [row],
        "skipped": [],
        "near_gray_originals": [],
        "timing": {"seconds_total": 1.0, "seconds_colorize": 0.5},
    }


def test_summary_table_has_ours_gray_and_deltas() -> None:
    text = format_summary(_result())
    assert "| PSNR (dB, RGB) | higher | 25.00 | 22.00 | +3.00 |" in text
    assert "| CIEDE2000, mean | lower | 4.00 | 8.00 | -4.00 |" in text
    assert "| ab AuC (%, t = 0..150) | higher | 95.00 | 90.00 | +5.00 |" in text
    assert "| ours | 30.00 | 0.750 | -10.00 |" in text
    assert "| original | 40.00 | 1.000 | 0.00 |" in text


def test_report_states_scoring_size() -> None:
    assert "full size" in format_report(_result())
    text = format_report(_result(score_max_side=40))
    assert "Downscaled for scoring" in text and "1 of 1 photos" in text
    assert "100x50 (scored 40x20)" in text
    assert "![x|y.png](grids/0001_x_y.jpg)" in text
    assert "x\\|y.png" in text  # escaped in the table


def test_json_safe_replaces_non_finite() -> None:
    value = {"a": [math.inf, 1.5, np.float32(2.0)], "b": {"c": math.nan}}
    assert json_safe(value) == {"a": [None, 1.5, 2.0], "b": {"c": None}}
