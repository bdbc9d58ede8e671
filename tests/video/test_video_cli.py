"""`autocolor video`: files and folders, resumable batches, and one line per bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from autocolor.cli import main
from autocolor.video.cli import plan_jobs

FAST = ["--render-size", "128"]


def _left_behind(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.name.endswith(".part"))


def test_one_input_to_a_file(tmp_path, kit, capsys):
    source = kit.write_clip(tmp_path / "film.mp4", kit.pan_frames(6), audio=True)
    target = tmp_path / "out" / "coloured.mp4"
    assert main(["video", str(source), "-o", str(target), *FAST]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == str(target)
    assert captured.err.strip().splitlines()[-1].startswith("1 written in ")  # the summary
    assert len(kit.read_video(target)["frames"]) == 6
    assert ("audio", "aac") in kit.read_video(target)["streams"]


def test_progress_bar_shows_frames_per_second_and_time_left(tmp_path, kit, capsys):
    source = kit.write_clip(tmp_path / "film.mp4", kit.pan_frames(6))
    assert main(["video", str(source), "-o", str(tmp_path / "o.mp4"), *FAST]) == 0
    err = capsys.readouterr().err
    assert "6/6" in err and "frame/s" in err and "<00:00" in err


def test_several_inputs_to_a_folder_then_skipped_then_overwritten(tmp_path, kit, capsys):
    inputs = tmp_path / "films"
    (inputs / "reel2").mkdir(parents=True)
    kit.write_clip(inputs / "a.mp4", kit.pan_frames(4))
    kit.write_clip(inputs / "reel2" / "b.avi", kit.pan_frames(4, seed=1))
    out = tmp_path / "out"
    assert main(["video", str(inputs), "-o", str(out), *FAST]) == 0
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.mp4"))
    assert written == ["a.mp4", "reel2/b.mp4"]
    stamp = (out / "a.mp4").stat().st_mtime_ns
    capsys.readouterr()
    assert main(["video", str(inputs), "-o", str(out), *FAST]) == 0
    assert "skipping 2 existing output(s)" in capsys.readouterr().err
    assert (out / "a.mp4").stat().st_mtime_ns == stamp
    assert main(["video", str(inputs / "a.mp4"), "-o", str(out / "a.mp4"), "--overwrite",
                 *FAST]) == 0
    assert (out / "a.mp4").stat().st_mtime_ns != stamp


def test_a_folder_gets_mkv_for_streams_mp4_cannot_hold(tmp_path, kit):
    srt = tmp_path / "cues.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:00,100\nHi\n", encoding="utf-8")
    inputs = tmp_path / "films"
    inputs.mkdir()
    kit.write_clip(inputs / "talk.mkv", kit.pan_frames(4), subtitles=srt)
    kit.write_clip(inputs / "plain.mkv", kit.pan_frames(4))
    out = tmp_path / "out"
    assert main(["video", str(inputs), "-o", str(out), *FAST]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["plain.mp4", "talk.mkv"]


def test_the_input_is_never_overwritten(tmp_path, kit, capsys):
    source = kit.write_clip(tmp_path / "film.mp4", kit.pan_frames(3))
    before = source.read_bytes()
    assert main(["video", str(source), "-o", str(source), "--overwrite", *FAST]) == 1
    assert "would overwrite an input" in capsys.readouterr().err
    assert source.read_bytes() == before


def _bad_inputs(tmp_path: Path, kit) -> dict[str, Path]:
    import av
    import numpy as np

    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "notes.mp4").write_text("this is not a video\n")
    audio_only = folder / "song.mp4"
    with av.open(str(audio_only), "w") as out:
        stream = out.add_stream("aac", rate=44100)
        for start in range(0, 44100, 1024):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp",
                                               layout="mono")
            frame.sample_rate, frame.pts = 44100, start
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    corrupt = kit.write_clip(folder / "torn.mkv", kit.pan_frames(24), codec="mjpeg")
    data = bytearray(corrupt.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 3000] = bytes(3000)
    corrupt.write_bytes(bytes(data))
    kit.write_clip(folder / "good.mp4", kit.pan_frames(4))
    return {"not a video": folder / "notes.mp4", "no video stream": audio_only,
            "corrupt": corrupt, "good": folder / "good.mp4"}


def test_each_bad_input_costs_one_line_and_the_batch_goes_on(tmp_path, kit, capsys):
    bad = _bad_inputs(tmp_path, kit)
    out = tmp_path / "out"
    pixels = kit.size[0] * kit.size[1]  # the limit: the other clips' frames pass, this one not
    big = kit.write_clip(tmp_path / "bad" / "huge.mp4",
                         kit.pan_frames(3, size=(kit.size[0] * 2, kit.size[1] * 2)))
    code = main(["video", str(tmp_path / "bad"), "-o", str(out), "--max-pixels", str(pixels),
                 *FAST])
    err = capsys.readouterr().err
    assert code == 1
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 4, err
    by_file = {name: [line for line in lines if str(path) in line]
               for name, path in {**bad, "huge": big}.items()}
    assert not by_file["good"]
    assert "not a video" in by_file["not a video"][0]
    assert "no video stream" in by_file["no video stream"][0]
    assert "at frame" in by_file["corrupt"][0] and "corrupt" in by_file["corrupt"][0]
    assert "too large" in by_file["huge"][0] and "--max-pixels" in by_file["huge"][0]
    assert "4 input(s) failed, 1 written" in err
    assert sorted(p.name for p in out.rglob("*") if p.is_file()) == ["good.mp4"]
    assert not _left_behind(tmp_path)


def test_corrupt_frame_number_is_where_decoding_failed(tmp_path, kit, capsys):
    bad = _bad_inputs(tmp_path, kit)["corrupt"]
    assert main(["video", str(bad), "-o", str(tmp_path / "x.mp4"), *FAST]) == 1
    line = [line for line in capsys.readouterr().err.splitlines() if "error:" in line][0]
    frame = int(line.split("at frame ")[1].split(":")[0])
    assert 3 <= frame <= 21  # the damage is in the middle of 24 frames
    assert not (tmp_path / "x.mp4").exists() and not _left_behind(tmp_path)


def test_missing_inputs_and_bad_output_names(tmp_path, kit, capsys):
    source = kit.write_clip(tmp_path / "film.mp4", kit.pan_frames(2))
    assert main(["video", str(tmp_path / "nope.mp4"), "-o", str(tmp_path / "o.mp4")]) == 1
    assert "no such file" in capsys.readouterr().err
    assert main(["video", str(source), "-o", str(tmp_path / "o.txt")]) == 1
    assert "not a video file name" in capsys.readouterr().err


def test_plan_names_a_file_for_one_input_and_a_folder_for_several(tmp_path, kit):
    a = kit.write_clip(tmp_path / "a.mp4", kit.pan_frames(2))
    b = kit.write_clip(tmp_path / "b.mov", kit.pan_frames(2))
    jobs, errors = plan_jobs([str(a)], tmp_path / "x.mkv")
    assert not errors and jobs[0].target == tmp_path / "x.mkv"
    jobs, errors = plan_jobs([str(a), str(b)], tmp_path / "out")
    assert not errors
    assert [job.target.name for job in jobs] == ["a.mp4", "b.mp4"]


def test_hints_file_with_frames_is_read_and_checked(tmp_path, kit, capsys):
    source = kit.write_clip(tmp_path / "film.mp4", kit.pan_frames(4))
    hints = tmp_path / "hints.json"
    hints.write_text('{"points": [{"x": 10, "y": 10, "color": "#ff0000", "frame": -1}]}')
    assert main(["video", str(source), "-o", str(tmp_path / "o.mp4"), "--hints", str(hints)]) == 1
    assert "frame must be an integer >= 0" in capsys.readouterr().err
    hints.write_text('{"points": [{"x": 500, "y": 10, "color": "#ff0000", "frame": 1}]}')
    assert main(["video", str(source), "-o", str(tmp_path / "o.mp4"), "--hints", str(hints),
                 *FAST]) == 1
    assert "film.mp4" in capsys.readouterr().err
    assert not (tmp_path / "o.mp4").exists()


def test_unknown_encoder_is_one_line(tmp_path, kit, capsys):
    source = kit.write_clip(tmp_path / "film.mp4", kit.pan_frames(2))
    assert main(["video", str(source), "-o", str(tmp_path / "o.mp4"), "--codec", "nonsense",
                 *FAST]) == 1
    assert f"error: {source}: unknown video encoder 'nonsense'" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["film.mp4"]


@pytest.mark.parametrize("option", [["--reference", "missing.jpg"], ["--saturation", "-1"]])
def test_bad_steering_is_refused_before_any_work(tmp_path, kit, capsys, option):
    source = kit.write_clip(tmp_path / "film.mp4", kit.pan_frames(2))
    assert main(["video", str(source), "-o", str(tmp_path / "o.mp4"), *option]) != 0
    assert "error:" in capsys.readouterr().err
    assert not (tmp_path / "o.mp4").exists()


@pytest.mark.parametrize(("flags", "interval"), [([], 3), (["--keyframes", "1"], 1),
                                                 (["--keyframes", "5"], 5), (["--per-frame"], None)])
def test_the_network_runs_every_third_frame_unless_told(flags, interval):
    import argparse

    from autocolor.video.cli import _options, add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    temporal = _options(parser.parse_args(["film.mp4", "-o", "out.mp4", *flags])).temporal
    assert (temporal and temporal.keyframe_interval) == interval


def _old_film(frames: list, seed: int = 0) -> list:
    """Frames as an old print's film: gray, faded, with dust that moves from frame to frame."""
    rng = np.random.default_rng(seed)
    out = []
    for frame in frames:
        gray = frame.mean(axis=2)
        gray = 45 + 0.6 * gray  # blacks lifted, whites dulled
        height, width = gray.shape
        for cy, cx in rng.integers(4, min(height, width) - 4, (15, 2)):
            gray[cy:cy + 2, cx:cx + 2] = 250 if gray[cy, cx] < 128 else 8
        gray[6:height - 6, width // 3] = 245  # a scratch down the whole reel
        out.append(np.repeat(np.clip(gray, 0, 255).astype(np.uint8)[..., None], 3, axis=2))
    return out


def test_restore_a_film(tmp_path, kit, capsys):
    """--restore: the clip's steps decided once and run on every frame, reported per clip and
    in the container's tags; the levels stretched; never done unless asked."""
    source = kit.write_clip(tmp_path / "old.mp4", _old_film(kit.pan_frames(6)), codec="libx264")
    assert main(["video", str(source), "-o", str(tmp_path / "r.mp4"), "--restore", *FAST]) == 0
    err = capsys.readouterr().err
    [line] = [line for line in err.splitlines() if line.startswith("restored old.mp4:")]
    assert "fading 6" in line and "(frames per step, of 6)" in line
    restored = kit.read_video(tmp_path / "r.mp4")
    assert restored["metadata"]["restoration"].startswith("restored before colouring: ")
    assert "fading" in restored["metadata"]["restoration"]
    assert main(["video", str(source), "-o", str(tmp_path / "p.mp4"), *FAST]) == 0
    assert "restored" not in capsys.readouterr().err
    plain = kit.read_video(tmp_path / "p.mp4")
    assert "restoration" not in plain["metadata"]
    spread = [np.percentile(np.asarray(video["frames"]).mean(axis=3), 99) -
              np.percentile(np.asarray(video["frames"]).mean(axis=3), 1)
              for video in (restored, plain)]
    assert spread[0] > spread[1] + 20  # the faded levels stretched


def test_bad_restore_steps_are_one_line(tmp_path, kit, capsys):
    source = kit.write_clip(tmp_path / "film.mp4", kit.pan_frames(2))
    assert main(["video", str(source), "-o", str(tmp_path / "o.mp4"), "--restore-steps",
                 "sharpen"]) == 1
    assert capsys.readouterr().err.strip().endswith("unknown restoration step 'sharpen'; the "
                                                    "steps are halftone, dust, scratches, "
                                                    "grain, fading (or auto)")
    assert not (tmp_path / "o.mp4").exists()
