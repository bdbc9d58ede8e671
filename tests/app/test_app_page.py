"""The Streamlit page under streamlit.testing's AppTest: widgets, caching, messages.

AppTest runs page.py in this process, so logic.COUNTERS shows how often the model was loaded
and run. Clicks on the image component and downloads need a browser: test_app_browser.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from autocolor.app import logic

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

PAGE = Path(logic.__file__).with_name("page.py")
TIMEOUT = 60


@pytest.fixture
def app(tiny_weights, monkeypatch) -> AppTest:
    monkeypatch.setenv(logic.ENV_MODEL, str(tiny_weights))
    monkeypatch.delenv(logic.ENV_MAX_PIXELS, raising=False)
    at = AppTest.from_file(str(PAGE), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception
    return at


def upload(at: AppTest, *files: tuple[str, bytes, str]) -> AppTest:
    at.file_uploader(key="uploads").set_value(list(files)).run()
    assert not at.exception, at.exception
    return at


def texts(elements) -> str:
    return "\n".join(str(element.value) for element in elements)


def test_empty_page_offers_the_controls(app):
    assert app.title[0].value == "autocolor"
    assert app.selectbox(key="model").value == "tiny.safetensors"
    assert app.slider(key="saturation").value == 1.0
    assert app.file_uploader(key="uploads").accept_multiple_files
    assert set(logic.UPLOAD_TYPES) <= {t.lstrip(".") for t in app.file_uploader[0].allowed_type}
    assert not app.error


def test_upload_colours_and_controls_reuse_the_prediction(app, gray_png):
    loads, predictions = logic.COUNTERS["model_loads"], logic.COUNTERS["predictions"]
    upload(app, ("scan.png", gray_png, "image/png"))
    assert not app.error
    assert [b.label for b in app.get("download_button")] == ["Download scan-color.png"]
    assert "180 x 120 pixels" in texts(app.caption)
    assert len(app.get("image")) >= 1  # the coloured result (the B/W one is a component)
    assert logic.COUNTERS["predictions"] == predictions + 1
    renders = logic.COUNTERS["renders"]

    app.slider(key="saturation").set_value(1.5).run()
    assert not app.exception
    assert logic.COUNTERS["predictions"] == predictions + 1  # instant: no network run
    assert logic.COUNTERS["renders"] == renders + 1

    app.run()  # an unrelated rerun recolours nothing
    assert logic.COUNTERS["renders"] == renders + 1

    app.select_slider(key="render_size::tiny.safetensors").set_value(320).run()
    assert logic.COUNTERS["predictions"] == predictions + 2
    assert logic.COUNTERS["model_loads"] <= loads + 1  # once per process, not per upload


def test_colour_photo_is_said_to_be_taken_to_gray(app, color_jpeg):
    upload(app, ("colour.jpg", color_jpeg, "image/jpeg"))
    assert "taken to gray" in texts(app.info)
    assert not app.error


def test_bad_uploads_show_errors_and_good_ones_still_work(app, gray_png):
    upload(app, ("junk.png", b"not an image", "image/png"),
           ("half.png", gray_png[: len(gray_png) // 2], "image/png"),
           ("scan.png", gray_png, "image/png"))
    errors = texts(app.error)
    assert "junk.png: not an image" in errors
    assert "half.png: corrupt or truncated" in errors
    assert "Traceback" not in errors
    assert not app.exception
    assert [b.label for b in app.get("download_button")] == ["Download scan-color.png"]


def test_pixel_limit_is_enforced(tiny_weights, monkeypatch, gray_png):
    monkeypatch.setenv(logic.ENV_MODEL, str(tiny_weights))
    monkeypatch.setenv(logic.ENV_MAX_PIXELS, "10000")
    at = AppTest.from_file(str(PAGE), default_timeout=TIMEOUT)
    at.run()
    upload(at, ("scan.png", gray_png, "image/png"))
    assert "too many pixels" in texts(at.error)
    assert not at.get("download_button")


def test_several_photos_get_a_zip(app, gray_png, color_jpeg):
    upload(app, ("a.png", gray_png, "image/png"), ("b.jpg", color_jpeg, "image/jpeg"))
    labels = [b.label for b in app.get("download_button")]
    assert labels[0] == "Download all 2 results (zip)"
    assert sorted(labels[1:]) == ["Download a-color.png", "Download b-color.png"]


def test_removing_an_upload_forgets_it(app, gray_png):
    upload(app, ("a.png", gray_png, "image/png"))
    assert len(app.session_state["autocolor_photos"]) == 1
    app.file_uploader(key="uploads").clear().run()
    assert len(app.session_state["autocolor_photos"]) == 0
    assert not app.get("download_button")


def test_no_model_says_how_to_get_one(monkeypatch):
    monkeypatch.delenv(logic.ENV_MODEL, raising=False)
    monkeypatch.setattr("autocolor.weights.installed_weights", lambda: [])
    at = AppTest.from_file(str(PAGE), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception
    assert "No model is installed" in texts(at.error)


def test_broken_weights_file_is_an_error_not_a_crash(tmp_path, monkeypatch):
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"\x00" * 64)
    monkeypatch.setenv(logic.ENV_MODEL, str(broken))
    at = AppTest.from_file(str(PAGE), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception
    assert "Cannot load the model" in texts(at.sidebar.error)


def test_reference_photo_recolours_and_a_bad_one_is_an_error(app, gray_png, color_jpeg):
    upload(app, ("scan.png", gray_png, "image/png"))
    photo = next(iter(app.session_state["autocolor_photos"].values()))
    plain = photo.rgb.copy()
    predictions = logic.COUNTERS["predictions"]
    reference = next(u for u in app.file_uploader if u.key.startswith("reference::"))
    reference.set_value(("ref.jpg", color_jpeg, "image/jpeg")).run()
    assert not app.exception and not app.error
    photo = next(iter(app.session_state["autocolor_photos"].values()))
    assert not np.array_equal(plain, photo.rgb)
    assert logic.COUNTERS["predictions"] == predictions  # the prediction is reused
    reference = next(u for u in app.file_uploader if u.key.startswith("reference::"))
    reference.set_value(("ref.jpg", b"garbage", "image/jpeg")).run()
    assert "Reference photo ignored. ref.jpg: not an image" in texts(app.error)
    assert [b.label for b in app.get("download_button")] == ["Download scan-color.png"]
