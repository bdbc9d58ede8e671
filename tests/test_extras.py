"""A lean install: the core dependencies colour photos; a command missing an extra says which
one to install, in one line (simulated here by making imports of the module fail)."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from autocolor.extras import COMMAND_EXTRAS, EXTRAS, extra_for, missing_message

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
# Distribution names whose import name is not the distribution name with '_' for '-'.
IMPORT_NAMES = {"scikit-image": "skimage", "scikit-learn": "sklearn", "c2pa-python": "c2pa",
                "opencv-python-headless": "cv2"}


def _modules(requirements: list[str]) -> set[str]:
    names = {re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower()
             for requirement in requirements}
    return {IMPORT_NAMES.get(name, name.replace("-", "_")) for name in names}


def test_core_dependencies_are_what_inference_needs() -> None:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    assert _modules(project["dependencies"]) == {"numpy", "pillow", "scipy", "safetensors",
                                                 "tqdm", "onnxruntime", "simplejpeg"}
    extras = project["optional-dependencies"]
    for extra, modules in EXTRAS.items():  # extras.py and pyproject.toml say the same
        assert _modules(extras[extra]) == set(modules), extra
    assert {"torch", "kornia", "skimage"} <= _modules(extras["train"])
    for extras_of_command in COMMAND_EXTRAS.values():
        assert all(extra in EXTRAS for extra in extras_of_command.split(","))


def test_extra_for_a_missing_module() -> None:
    assert extra_for("torch") == "torch"
    assert extra_for("torch.nn.functional", "colorize") == "torch"
    assert extra_for("torch", "train") == "train"  # training needs more than torch
    assert extra_for("kornia.color") == "train"
    assert extra_for("onnxscript", "export") == "torch,onnx"
    assert extra_for("skimage", "eval") == "eval"
    assert extra_for("torch", "eval") == "torch"  # eval --backend torch
    assert extra_for("autocolor.nonexistent") is None and extra_for("yaml") is None
    assert extra_for("cv2", "colorize") == "restore"  # --restore; `autocolor video` needs more
    assert extra_for("cv2", "video") == "video"
    error = ModuleNotFoundError("No module named 'torch'", name="torch")
    assert missing_message(error, "models") == (
        "autocolor models needs torch, which is not installed: pip install 'autocolor[torch]'")
    assert missing_message(ModuleNotFoundError("x", name="foo"), "colorize") is None


BLOCKER = """
import sys
from importlib.abc import MetaPathFinder

class Missing(MetaPathFinder):  # as if the package were not installed
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, Missing())
from autocolor.cli import main
sys.exit(main({argv!r}))
"""


def _run_without(blocked: set[str], argv: list[str],
                 cwd: Path | None = None) -> subprocess.CompletedProcess:
    code = textwrap.dedent(BLOCKER.format(blocked=blocked, argv=[str(a) for a in argv]))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=False, cwd=cwd)


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("photo") / "gray.png"
    Image.fromarray(np.tile(np.arange(0, 256, 4, dtype=np.uint8), (40, 1))).save(path)
    return path


@pytest.mark.parametrize("blocked,argv,extra", [
    ({"torch"}, ["colorize", "{photo}", "-o", "{out}", "--backend", "torch"], "torch"),
    ({"torch"}, ["models"], "torch"),
    ({"torch", "kornia"}, ["train", "--data", "{out}", "--out", "{out}/run"], "train"),
    ({"torch"}, ["export", "onnx", "-o", "{out}/m.onnx"], "torch,onnx"),
    ({"skimage"}, ["eval", "--data", "{out}"], "eval"),
    ({"ray", "pyarrow"}, ["colorize", "{photo}", "-o", "{out}", "--engine", "ray"], "ray"),
    ({"fastapi"}, ["serve", "--port", "1"], "serve"),
    ({"cv2"}, ["colorize", "{photo}", "-o", "{out}/o", "--restore"], "restore"),
    ({"cv2"}, ["colorize", "{photo}", "-o", "{out}/o", "--restore-steps", "dust"], "restore"),
    ({"c2pa"}, ["colorize", "{photo}", "-o", "{out}/o", "--c2pa-cert", "{out}/c.pem",
                "--c2pa-key", "{out}/k.pem"], "c2pa"),
])
def test_a_missing_extra_is_one_line(photo: Path, tmp_path: Path, blocked, argv, extra) -> None:
    argv = [a.format(photo=photo, out=tmp_path) for a in argv]
    result = _run_without(blocked, argv, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # failed before doing any work
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: autocolor {argv[0]} needs ")
    assert lines[0].endswith(f"pip install 'autocolor[{extra}]'")


def test_colouring_needs_no_extra(photo: Path, tmp_path: Path) -> None:
    """The bundled model on ONNX Runtime, with torch, kornia and scikit-image unimportable."""
    result = _run_without({"torch", "kornia", "skimage"},
                          ["colorize", photo, "-o", tmp_path / "out"])
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "gray.png").is_file()


def test_models_lists_installed_weights_without_torch() -> None:
    result = _run_without({"torch"}, ["models", "--weights"])
    assert result.returncode == 0, result.stderr
    assert "installed weights:" in result.stdout and "default" in result.stdout
