"""`autocolor eval-video`: a report with warping error, ratios, accuracy and the cut check."""

from __future__ import annotations

import re

from PIL import Image

from autocolor.cli import main


def test_eval_video_reports_flicker_accuracy_and_cuts(tmp_path, kit):
    photos = tmp_path / "photos"
    photos.mkdir()
    for seed in range(2):
        Image.fromarray(kit.photo(seed)).save(photos / f"p{seed}.png")
    clip = kit.write_clip(tmp_path / "real.mp4", kit.pan_frames(6, seed=2))
    report = tmp_path / "report.md"
    code = main(["eval-video", "--data", str(photos), "--limit", "2", "--size", "160x96",
                 "--frames", "6", "--render-size", "128", "--clip", str(clip),
                 "--real-frames", "5", "--report", str(report)])
    assert code == 0
    text = report.read_text()
    rows = [line for line in text.splitlines() if line.startswith("| ") and "frames)" in line]
    kinds = [row.split("|")[1].strip() for row in rows]
    assert kinds == ["pan", "zoom", "handheld", "fade", "pan", "zoom", "handheld", "fade", "cut",
                     "real"]
    # per-frame colouring is the 1.00x reference of every row; the others are ratios to it
    assert all("(1.00x)" in row.split("|")[4] for row in rows)
    ratios = [float(r) for r in re.findall(r"\((\d+\.\d+)x\)", rows[0])]
    assert len(ratios) == 3 and ratios[1] < 1.0
    # the scene after the cut is coloured afresh, with the filter on every frame and by default
    assert len(re.findall(r"^- cut p0, .+: 0$", text, re.M)) == 2
    assert "## Summary by kind of clip" in text


def test_eval_video_needs_clips(capsys):
    assert main(["eval-video"]) == 2
    assert "no clips" in capsys.readouterr().err
