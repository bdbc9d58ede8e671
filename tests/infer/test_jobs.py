"""plan_jobs: inputs -> output paths (layout kept, names kept apart, inputs never replaced)."""

from __future__ import annotations

from autocolor.infer.jobs import plan_jobs


def _touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def test_a_folder_keeps_its_layout_and_jpeg_stays_jpeg(tmp_path):
    _touch(tmp_path / "in" / "a.jpg")
    _touch(tmp_path / "in" / "sub" / "b.tif")
    _touch(tmp_path / "in" / "notes.txt")  # not a photo: not a job
    jobs, errors = plan_jobs([str(tmp_path / "in")], tmp_path / "out")
    assert errors == []
    assert [(str(j.source.relative_to(tmp_path)), str(j.target.relative_to(tmp_path)))
            for j in jobs] == [("in/a.jpg", "out/a.jpg"), ("in/sub/b.tif", "out/sub/b.png")]


def test_two_inputs_with_one_output_name_keep_their_extensions(tmp_path):
    a, b = _touch(tmp_path / "x.png"), _touch(tmp_path / "x.tif")
    jobs, errors = plan_jobs([str(a), str(b)], tmp_path / "out")
    assert errors == []
    assert sorted(j.target.name for j in jobs) == ["x.png.png", "x.tif.png"]


def test_an_output_that_would_replace_an_input_is_an_error_line(tmp_path):
    photo = _touch(tmp_path / "p.jpg")
    jobs, errors = plan_jobs([str(photo)], tmp_path, "jpeg")
    assert jobs == [] and len(errors) == 1
    assert str(photo) in errors[0] and "would overwrite an input" in errors[0]


def test_missing_inputs_are_named(tmp_path):
    jobs, errors = plan_jobs([str(tmp_path / "nope*.jpg")], tmp_path / "out")
    assert jobs == [] and errors == [f"{tmp_path / 'nope*.jpg'}: no such file, folder or "
                                     "matching glob"]
