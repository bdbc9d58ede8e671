"""``autocolor eval`` end to end with a stand-in colorizer, and the no-torch rule."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from autocolor import cli
from autocolor.evaluate import cli as eval_cli
from autocolor.evaluate.reference import GrayColorizer


def test_eval_command_writes_report(
    photo_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    seen = {}

    def fake_load(args):
        seen.update(model=args.model, render_size=args.render_size, backend=args.backend)
        return GrayColorizer()

    monkeypatch.setattr(eval_cli, "_load_colorizer", fake_load)
    out = tmp_path / "out"
    code = cli.main(
        [
            "eval",
            "--model",
            "tiny",
            "--data",
            str(photo_folder),
            "--report",
            str(out),
            "--render-size",
            "96",
            "--limit",
            "2",
            "--no-progress",
        ]
    )
    assert code == 0
    assert seen == {"model": "tiny", "render_size": 96, "backend": "auto"}
    printed = capsys.readouterr().out
    assert "2 photos" in printed and "| PSNR (dB, RGB) |" in printed and str(out) in printed
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["settings"]["model"] == "tiny" and saved["settings"]["render_size"] == 96
    assert len(saved["images"]) == 2


def test_eval_command_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(eval_cli, "_load_colorizer", lambda args: GrayColorizer())
    assert cli.main(["eval", "--data", str(tmp_path / "missing"), "--no-progress"]) == 2
    (tmp_path / "empty").mkdir()
    assert cli.main(["eval", "--data", str(tmp_path / "empty"), "--no-progress"]) == 1
    with pytest.raises(SystemExit):
        cli.main(["eval", "--data", str(tmp_path), "--split", "bogus"])


def test_evaluate_package_does_not_import_torch() -> None:
    code = (
        "import sys\n"
        "import autocolor.evaluate, autocolor.evaluate.cli, autocolor.evaluate.report\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
