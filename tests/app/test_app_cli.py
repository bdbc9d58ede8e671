"""`autocolor app`: arguments, Streamlit options, and what it hands to Streamlit."""

from __future__ import annotations

import argparse
import os

import pytest

from autocolor.app import cli, logic


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_defaults(monkeypatch):
    monkeypatch.delenv(logic.ENV_MODEL, raising=False)
    args = parse()
    assert (args.port, args.host, args.model) == (8501, "localhost", None)
    assert args.max_upload_mb == logic.APP_MAX_UPLOAD_MB
    assert args.max_pixels == logic.APP_MAX_PIXELS


def test_options_are_explicit():
    options = cli.streamlit_options(8600, "0.0.0.0", 20)
    assert options["server.port"] == 8600 and options["server.address"] == "0.0.0.0"
    assert options["server.headless"] is True
    assert options["server.maxUploadSize"] == 20
    assert options["browser.gatherUsageStats"] is False
    assert options["client.showErrorDetails"] == "none"


def test_url():
    assert cli.url("localhost", 8501) == "http://localhost:8501"
    assert cli.url("0.0.0.0", 80) == "http://localhost:80"
    assert cli.url("::1", 9000) == "http://[::1]:9000"


def test_run_hands_the_options_to_streamlit(monkeypatch, capsys, tiny_weights):
    seen = {}

    def fake_main(argv, **kwargs):
        seen["argv"] = argv

    monkeypatch.setattr("streamlit.web.cli.main", fake_main)
    # run() sets both for the page; setting them here first makes monkeypatch restore them.
    monkeypatch.setenv(logic.ENV_MODEL, "")
    monkeypatch.setenv(logic.ENV_MAX_PIXELS, "")
    args = parse("--port", "8765", "--host", "127.0.0.1", "--model", str(tiny_weights),
                 "--max-upload-mb", "7", "--max-pixels", "5000")
    assert cli.run(args) == 0
    argv = seen["argv"]
    assert argv[:2] == ["run", str(cli.PAGE)]
    pairs = dict(zip(argv[2::2], argv[3::2], strict=True))
    assert pairs["--server.port"] == "8765"
    assert pairs["--server.address"] == "127.0.0.1"
    assert pairs["--server.headless"] == "true"
    assert pairs["--server.maxUploadSize"] == "7"
    assert pairs["--browser.gatherUsageStats"] == "false"
    assert os.environ[logic.ENV_MODEL] == str(tiny_weights)
    assert os.environ[logic.ENV_MAX_PIXELS] == "5000"
    assert "http://127.0.0.1:8765" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (("--model", "/nowhere/x.safetensors"), "--model"),
    (("--port", "0"), "--port"),
    (("--max-upload-mb", "0"), "positive"),
])
def test_bad_arguments_fail_with_a_message(monkeypatch, capsys, argv, message):
    monkeypatch.setattr("streamlit.web.cli.main", lambda *a, **k: pytest.fail("started"))
    monkeypatch.setenv(logic.ENV_MODEL, "")
    monkeypatch.setenv(logic.ENV_MAX_PIXELS, "")
    assert cli.run(parse(*argv)) == 2
    assert message in capsys.readouterr().err


def test_registered_as_a_subcommand(capsys):
    from autocolor.cli import main

    with pytest.raises(SystemExit):
        main(["app", "--help"])
    out = capsys.readouterr().out
    assert "--port" in out and "--host" in out
