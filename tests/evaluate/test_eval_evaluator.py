"""The scoring loop on tiny photos with stand-in colorizers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from autocolor.data.cache import CacheRecord, write_manifest
from autocolor.evaluate import evaluate_folder
from autocolor.evaluate.metrics import METRICS, rgb_to_lab_u8
from autocolor.evaluate.photos import list_photos
from autocolor.evaluate.reference import GrayColorizer, OracleColorizer


def _make_cache(root: Path, make_photo) -> Path:
    root.mkdir()
    records = []
    for index, split in enumerate(["train", "val", "val", "test", "val"]):
        name = f"p{index}.png"
        Image.fromarray(make_photo(10 + index, 32, 40)).save(root / name)
        records.append(CacheRecord(name, split, 40, 32, f"{index:064x}"))
    write_manifest(root, records)
    return root


def test_list_plain_folder_recursive(photo_folder: Path) -> None:
    names = [photo.name for photo in list_photos(photo_folder, split="test")]
    assert names == ["a.png", "c.PNG", "sub/b.png"]  # split ignored, hidden and .txt skipped
    assert [p.name for p in list_photos(photo_folder, limit=2)] == ["a.png", "c.PNG"]
    assert [p.name for p in list_photos(photo_folder, exclude=photo_folder / "sub")] == [
        "a.png",
        "c.PNG",
    ]
    with pytest.raises(FileNotFoundError):
        list_photos(photo_folder / "missing")


def test_list_cache_split(tmp_path: Path, make_photo) -> None:
    cache = _make_cache(tmp_path / "cache", make_photo)
    assert [p.name for p in list_photos(cache)] == ["p1.png", "p2.png", "p4.png"]
    assert [p.name for p in list_photos(cache, split="test")] == ["p3.png"]
    assert len(list_photos(cache, split="all")) == 5
    assert [p.name for p in list_photos(cache, split="val", limit=1)] == ["p1.png"]
    with pytest.raises(ValueError):
        list_photos(cache, split="nope")


def test_oracle_beats_gray_with_full_report(photo_folder: Path, tmp_path: Path) -> None:
    paths = [photo_folder / "a.png", photo_folder / "sub" / "b.png", photo_folder / "c.PNG"]
    oracle = OracleColorizer(paths, render_size=64)
    out = tmp_path / "report"
    result = evaluate_folder(oracle, photo_folder, report_dir=out, batch_size=2, progress=False)
    assert oracle.batches == [2, 1]  # batched, model called per batch not per photo
    assert len(result["images"]) == 3 and not result["skipped"]
    ours, gray = result["summary"]["ours"], result["summary"]["gray"]
    assert ours["psnr"] > gray["psnr"] + 5
    assert ours["ssim"] > gray["ssim"]
    assert ours["ciede2000"] < 1.0 < gray["ciede2000"]
    assert ours["ab_auc"] > 0.99 > gray["ab_auc"]
    assert result["summary"]["colorfulness_ratio"]["ours"] == pytest.approx(1.0, abs=0.02)
    assert result["summary"]["colorfulness_ratio"]["gray"] < 0.02
    assert result["summary"]["delta"]["psnr"] == pytest.approx(ours["psnr"] - gray["psnr"])
    assert result["settings"]["split"] is None and result["settings"]["render_size"] == 64
    # full size, every row scored at its own size
    assert all(row["scored_width"] == row["width"] for row in result["images"])
    sizes = {row["file"]: (row["width"], row["height"]) for row in result["images"]}
    assert sizes == {"a.png": (56, 40), "c.PNG": (32, 32), "sub/b.png": (36, 48)}

    saved = json.loads((out / "metrics.json").read_text())
    assert saved["summary"]["ours"]["ab_auc"] == pytest.approx(ours["ab_auc"])
    grids = sorted((out / "grids").iterdir())
    assert len(grids) == 3
    with Image.open(grids[0]) as grid:
        assert grid.size == (3 * 56 + 8, 40 + 20)
    assert (out / "ab_histogram.png").is_file()
    report = (out / "report.md").read_text()
    assert "gray baseline" in report and "full size" in report
    for row in result["images"]:
        assert f"]({row['grid']})" in report
    # the report folder inside the data folder is not evaluated on a second run
    again = evaluate_folder(oracle, photo_folder, report_dir=photo_folder / "out", progress=False)
    assert len(again["images"]) == 3
    again = evaluate_folder(oracle, photo_folder, report_dir=photo_folder / "out", progress=False)
    assert len(again["images"]) == 3


def test_gray_colorizer_equals_gray_baseline(tmp_path: Path, make_photo) -> None:
    cache = _make_cache(tmp_path / "cache", make_photo)
    zero = GrayColorizer()
    result = evaluate_folder(zero, cache, split="val", limit=2, progress=False)
    assert [row["file"] for row in result["images"]] == ["p1.png", "p2.png"]
    assert result["settings"]["split"] == "val"
    for row in result["images"]:
        assert row["ours"] == row["gray"]
        assert set(row["ours"]) == set(METRICS)
    assert all(value == 0.0 for value in result["summary"]["delta"].values())


def test_score_max_side_downscales_and_says_so(photo_folder: Path, tmp_path: Path) -> None:
    oracle = OracleColorizer([photo_folder / "a.png"])
    out = tmp_path / "small"
    result = evaluate_folder(
        oracle, photo_folder, limit=1, report_dir=out, score_max_side=28, progress=False
    )
    row = result["images"][0]
    assert (row["width"], row["height"], row["scored_width"], row["scored_height"]) == (
        56,
        40,
        28,
        20,
    )
    assert result["settings"]["downscaled_for_scoring"] == 1
    assert "Downscaled for scoring" in (out / "report.md").read_text()


def test_unreadable_photo_is_skipped(photo_folder: Path) -> None:
    (photo_folder / "broken.jpg").write_bytes(b"not a jpeg")
    result = evaluate_folder(GrayColorizer(), photo_folder, progress=False)
    assert [item["file"] for item in result["skipped"]] == ["broken.jpg"]
    assert len(result["images"]) == 3


def test_wrong_ab_shape_is_an_error(photo_folder: Path) -> None:
    class Bad(GrayColorizer):
        def colorize_lightness(self, lightness: np.ndarray) -> np.ndarray:
            return np.zeros((4, 4, 2), dtype=np.float32)

    with pytest.raises(ValueError, match="shape"):
        evaluate_folder(Bad(), photo_folder, progress=False)


def test_old_reports_are_not_photos(photo_folder: Path) -> None:
    evaluate_folder(GrayColorizer(), photo_folder, report_dir=photo_folder / "r1", progress=False)
    assert len(list(photo_folder.glob("r1/grids/*.jpg"))) == 3
    result = evaluate_folder(GrayColorizer(), photo_folder, progress=False)
    assert len(result["images"]) == 3


def test_with_the_real_colorizer_pipeline(photo_folder: Path) -> None:
    from autocolor.infer.colorizer import Colorizer  # the package's own: a failure, not a skip

    class TintBackend:  # NumPy stand-in for the network: a constant ab_norm
        name, device, metadata = "tint", "cpu", {}

        def __init__(self) -> None:
            self.shapes: list[tuple[int, ...]] = []

        def predict(self, l_norm: np.ndarray) -> np.ndarray:
            self.shapes.append(l_norm.shape)
            ab = np.zeros((l_norm.shape[0], 2, *l_norm.shape[2:]), dtype=np.float32)
            ab[:, 0], ab[:, 1] = 0.15, 0.25
            return ab

    backend = TintBackend()
    colorizer = Colorizer(backend, render_size=64)
    result = evaluate_folder(colorizer, photo_folder, progress=False)
    assert len(result["images"]) == 3 and result["settings"]["render_size"] == 64
    assert sum(shape[0] for shape in backend.shapes) == 3
    assert all(shape[2] % 32 == 0 and shape[3] % 32 == 0 for shape in backend.shapes)
    summary = result["summary"]
    assert summary["ours"]["colorfulness"] > summary["gray"]["colorfulness"] + 10
    assert summary["ours"]["ciede2000"] != summary["gray"]["ciede2000"]


def test_oracle_rejects_unknown_photos(make_photo) -> None:
    oracle = OracleColorizer([make_photo(1)])
    lab = rgb_to_lab_u8(make_photo(2))
    with pytest.raises(KeyError):
        oracle.colorize_lightness(lab[..., 0])
    assert oracle.colorize_lightness(rgb_to_lab_u8(make_photo(1))[..., 0]).shape == (40, 56, 2)


def _row(name: str, ours_psnr: float, gray_psnr: float, subject: str = "") -> dict:
    metrics = {"ssim": 0.9, "ciede2000": 10.0, "ab_auc": 0.9, "colorfulness": 20.0}
    return {"file": name, "subject": subject, "original_colorfulness": 30.0,
            "ours": {**metrics, "psnr": ours_psnr}, "gray": {**metrics, "psnr": gray_psnr}}


def test_summary_counts_blotches_and_names_the_worst_photos() -> None:
    from autocolor.evaluate.evaluator import summarize

    rows = [_row("a", 20.0, 21.0), _row("b", 15.0, 19.5), _row("c", 25.0, 22.0),
            _row("d", 10.0, 14.0)]
    info = summarize(rows)["blotches"]
    assert info["photos"] == 4 and info["below_gray"] == 2  # b (-4.5) and d (-4.0)
    assert [item["file"] for item in info["worst"][:3]] == ["b", "d", "a"]
    assert info["worst"][0]["psnr_minus_gray"] == pytest.approx(-4.5)


def test_summary_reports_each_subject_apart() -> None:
    from autocolor.evaluate.evaluator import summarize
    from autocolor.evaluate.report import format_summary

    rows = [_row("p1", 20.0, 22.0, "people"), _row("p2", 21.0, 22.0, "people"),
            _row("x", 30.0, 20.0, "animal")]
    summary = summarize(rows)
    people = summary["by_subject"]["people"]
    assert people["blotches"]["photos"] == 2
    assert people["delta"]["psnr"] == pytest.approx(-1.5)
    assert summary["by_subject"]["animal"]["delta"]["psnr"] == pytest.approx(10.0)
    assert summary["delta"]["psnr"] == pytest.approx((-2 - 1 + 10) / 3)
    text = format_summary({"summary": summary})
    assert "| people | 2 | -1.50 |" in text and "below gray: **0 of 3**" in text
    assert "by_subject" not in summarize([_row("f", 20.0, 21.0)])  # a plain folder: no subjects
