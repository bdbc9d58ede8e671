"""autocolor.batch: the one naming policy of photos and films, and the shared one-liners."""

from __future__ import annotations

from pathlib import Path

from autocolor.batch import (
    error_line,
    expand_inputs,
    folder_targets,
    skip_line,
    summary_line,
    unique_inputs,
)
from autocolor.images import ImageError
from autocolor.infer.jobs import plan_jobs as plan_photos
from autocolor.video.cli import plan_jobs as plan_films


def _touch(*paths: Path) -> None:
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")


def test_expand_finds_files_folders_and_globs(tmp_path: Path) -> None:
    _touch(tmp_path / "in" / "a.png", tmp_path / "in" / "sub" / "b.jpg", tmp_path / "in" / ".c.png",
           tmp_path / "in" / "notes.txt", tmp_path / "d.png")
    is_png_or_jpg = lambda name: name.endswith((".png", ".jpg")) and not name.startswith(".")  # noqa: E731
    found, missing, several = expand_inputs([str(tmp_path / "in")], is_png_or_jpg)
    assert [p.relative_to(tmp_path / "in").as_posix() for p, _ in found] == ["a.png", "sub/b.jpg"]
    assert several and missing == []
    found, missing, several = expand_inputs([str(tmp_path / "d.png"), "nope.png"], is_png_or_jpg)
    assert found == [(tmp_path / "d.png", tmp_path)] and missing == ["nope.png"] and not several
    found, _, several = expand_inputs([str(tmp_path / "*.png")], is_png_or_jpg)
    assert [p.name for p, _ in found] == ["d.png"] and several
    twice = unique_inputs(found + found)
    assert len(twice) == 1


def test_photos_and_films_share_the_naming_policy(tmp_path: Path) -> None:
    """Two inputs that would share an output keep their extensions, whatever their order, for
    photos and for films alike; the layout below the input folder is kept."""
    _touch(tmp_path / "in" / "a.png", tmp_path / "in" / "a.tif", tmp_path / "in" / "s" / "b.jpg")
    jobs, errors = plan_photos([str(tmp_path / "in")], tmp_path / "out")
    assert not errors
    assert sorted(job.target.relative_to(tmp_path / "out").as_posix() for job in jobs) == \
        ["a.png.png", "a.tif.png", "s/b.jpg"]
    _touch(tmp_path / "films" / "a.avi", tmp_path / "films" / "a.mov", tmp_path / "films" / "c.mkv")
    films, errors = plan_films([str(tmp_path / "films")], tmp_path / "reels")
    assert not errors
    assert sorted(job.target.name for job in films) == ["a.avi.mp4", "a.mov.mp4", "c.mp4"]
    assert all(job.automatic_suffix for job in films)
    pairs = folder_targets([(Path("x/a.avi"), Path("x")), (Path("x/a.mov"), Path("x"))],
                           Path("o"), lambda source: ".mp4")
    reversed_pairs = folder_targets([(Path("x/a.mov"), Path("x")), (Path("x/a.avi"), Path("x"))],
                                    Path("o"), lambda source: ".mp4")
    assert dict(pairs) == dict(reversed_pairs)


def test_no_output_replaces_an_input(tmp_path: Path) -> None:
    _touch(tmp_path / "a.jpg", tmp_path / "v.mp4")
    jobs, errors = plan_photos([str(tmp_path / "a.jpg")], tmp_path)
    assert jobs == [] and errors == [f"{tmp_path / 'a.jpg'}: output {tmp_path / 'a.jpg'} would "
                                     "overwrite an input; choose another -o"]
    jobs, errors = plan_films([str(tmp_path / "v.mp4")], tmp_path / "v.mp4")
    assert jobs == [] and "would overwrite an input" in errors[0]


def test_error_line() -> None:
    assert error_line("a.png", ValueError("bad\nmore")) == "error: a.png: bad"
    assert error_line("a.png", ValueError("")) == "error: a.png: ValueError"
    assert error_line("a.png", ImageError("a.png", "truncated")) == "error: a.png: truncated"


def test_summary_and_skip_lines() -> None:
    assert summary_line(3, 0, 1.5, "photos", "engine local") == \
        "3 written in 1.5 s (2.0 photos/s, engine local)"
    assert summary_line(1, 2, 2.0, "films") == "2 input(s) failed, 1 written in 2.0 s (0.5 films/s)"
    assert skip_line(0) is None
    assert skip_line(4) == "skipping 4 existing output(s); --overwrite to redo them"
