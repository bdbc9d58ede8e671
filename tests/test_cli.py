"""The top-level command: every advertised subcommand exists and answers --help."""

from __future__ import annotations

import importlib

import pytest

from autocolor.cli import COMMANDS, main


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_module_has_the_interface(name: str) -> None:
    module = importlib.import_module(COMMANDS[name][0])
    assert callable(module.add_arguments) and callable(module.run)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_answers_help(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([name, "--help"])
    assert exit_info.value.code == 0
    assert f"autocolor {name}" in capsys.readouterr().out


def test_models_lists_architectures_and_the_bundled_default(capsys) -> None:
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "lite0-unet" in out and "seed-vgg19" in out
    assert "default" in out.split("installed weights:")[1]


def test_unknown_command_is_refused() -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["paint"])
    assert exit_info.value.code == 2
