"""The speed work on the inference pipeline changes no result: each optimized piece against a
plain reference (scikit-image for colour, Pillow for resizing), strips and threads against one
piece, and the command line's batching. Speed itself is measured by ``make bench``, not here."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage.color import lab2rgb, rgb2lab

from autocolor import images
from autocolor.color import lab_numpy
from autocolor.color.lab_numpy import lab_to_srgb_into, map_strips
from autocolor.images import lab_to_rgb_array, lightness_from_pil
from autocolor.infer import pipeline
from autocolor.infer.pipeline import box_reduce, model_input, render_rgb, resize_plane, upsample_ab


def random_lab(seed: int, height: int, width: int, ab_range: float = 100.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.uniform(0, 100, (height, width, 1)),
                           rng.uniform(-ab_range, ab_range, (height, width, 2))], -1
                          ).astype(np.float32)


def skimage_rgb(lab: np.ndarray, scale: float) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # out-of-gamut warnings
        return np.floor(lab2rgb(lab.astype(np.float64)) * scale + 0.5)


@pytest.fixture
def one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOCOLOR_THREADS", "1")


# -- colour conversion --------------------------------------------------------------------------

def test_lab_to_srgb_8_bit_against_skimage() -> None:
    """The 8-bit table path rounds like exact float64 conversion, within one level, and on
    almost every pixel exactly."""
    lab = random_lab(0, 64, 80)
    out = np.empty((64, 80, 3), np.uint8)
    lab_to_srgb_into(lab[..., 0], lab[..., 1], lab[..., 2], out)
    difference = np.abs(out.astype(int) - skimage_rgb(lab, 255.0))
    assert difference.max() <= 1
    assert (difference > 0).mean() < 0.01


def test_lab_to_srgb_16_bit_against_skimage() -> None:
    lab = random_lab(1, 40, 50)
    out = np.empty((40, 50, 3), np.uint16)
    lab_to_srgb_into(lab[..., 0], lab[..., 1], lab[..., 2], out)
    assert np.abs(out.astype(int) - skimage_rgb(lab, 65535.0)).max() <= 2  # float32 vs float64


def test_lab_to_srgb_edges() -> None:
    """Black, white, the knees of both curves and far out of gamut (f_z < 0)."""
    lab = np.array([[[0, 0, 0], [100, 0, 0], [8.0, 0, 0], [0.5, 0, 0], [1.0, 3.0, -4.0],
                     [5, -128, 127], [100, 128, -128], [50, 0, 127], [2, 20, 120]]], np.float32)
    out = np.empty((*lab.shape[:2], 3), np.uint8)
    lab_to_srgb_into(lab[..., 0], lab[..., 1], lab[..., 2], out)
    assert np.abs(out.astype(int) - skimage_rgb(lab, 255.0)).max() <= 1
    assert out[0, 0].tolist() == [0, 0, 0] and out[0, 1].tolist() == [255, 255, 255]
    with pytest.raises(TypeError, match="uint8 or uint16"):
        lab_to_srgb_into(lab[..., 0], lab[..., 1], lab[..., 2], out.astype(np.float32))


def test_lab_to_rgb_array_strips_and_threads_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    lab = random_lab(2, 101, 37, 60)
    monkeypatch.setenv("AUTOCOLOR_THREADS", "1")
    reference = lab_to_rgb_array(lab[..., 0], lab[..., 1:])
    monkeypatch.setenv("AUTOCOLOR_THREADS", "2")
    for strip in (None, 1, 7, 1000):
        monkeypatch.setattr(images, "STRIP_ROWS", strip)
        np.testing.assert_array_equal(lab_to_rgb_array(lab[..., 0], lab[..., 1:]), reference)
    assert np.abs(reference.astype(int) - skimage_rgb(lab, 255.0)).max() <= 1


def test_map_strips_covers_every_row_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOCOLOR_THREADS", "2")
    monkeypatch.setattr(lab_numpy, "STRIP_PIXELS", 50)
    seen = np.zeros(103, int)

    def work(top: int, bottom: int) -> None:
        seen[top:bottom] += 1

    map_strips(103, 10, work)
    assert (seen == 1).all()


def test_rgb_lightness_against_skimage() -> None:
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (61, 47, 3), dtype=np.uint8)
    rgb[0, :8] = [[0, 0, 0], [255, 255, 255], [1, 1, 1], [10, 10, 10], [255, 0, 0], [0, 255, 0],
                  [0, 0, 255], [3, 0, 1]]
    loaded = lightness_from_pil(Image.fromarray(rgb))
    expected = rgb2lab(rgb / 255.0)[..., 0]
    assert loaded.lightness.dtype == np.float32
    np.testing.assert_allclose(loaded.lightness, expected, atol=2e-3)


@pytest.mark.parametrize("mode", ["L", "I;16"])
def test_gray_lightness_against_skimage(mode: str) -> None:
    top = 255 if mode == "L" else 65535
    gray = np.linspace(0, top, 40 * 30).reshape(30, 40).round()
    image = Image.fromarray(gray.astype(np.uint8 if mode == "L" else np.uint16))
    lightness = lightness_from_pil(image).lightness
    expected = rgb2lab(np.repeat(gray[..., None] / top, 3, axis=-1))[..., 0]
    np.testing.assert_allclose(lightness, expected, atol=2e-3)


# -- resizing -----------------------------------------------------------------------------------

@pytest.mark.parametrize("small,full", [((6, 8), (45, 61)), ((32, 64), (480, 1000)),
                                        ((64, 32), (64, 32)), ((1, 1), (5, 3)),
                                        ((2, 9), (2, 90))])
def test_upsample_ab_is_pillow_bilinear(small, full) -> None:
    ab_norm = np.random.default_rng(4).uniform(-1, 1, (2, *small)).astype(np.float32)
    expected = np.stack([resize_plane(ab_norm[c] * 128.0, *full) for c in range(2)], axis=-1)
    got = upsample_ab(ab_norm, *full)
    assert got.shape == (*full, 2) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, atol=1e-3)


def test_upsample_ab_when_the_photo_is_smaller_than_the_render() -> None:
    ab_norm = np.random.default_rng(5).uniform(-1, 1, (2, 64, 96)).astype(np.float32)
    got = upsample_ab(ab_norm, 30, 50)
    expected = np.stack([resize_plane(ab_norm[c] * 128.0, 30, 50) for c in range(2)], axis=-1)
    np.testing.assert_allclose(got, expected, atol=1e-4)


@pytest.mark.parametrize("full,bit_depth", [((300, 451), 8), ((97, 64), 16), ((40, 50), 8)])
def test_render_rgb_is_upsample_then_join(full, bit_depth: int) -> None:
    """The fused strip path equals the two-step path it replaces (within one output level)."""
    rng = np.random.default_rng(6)
    ab_norm = rng.uniform(-0.6, 0.6, (2, 64, 96)).astype(np.float32)
    lightness = rng.uniform(0, 100, full).astype(np.float32)
    fused = render_rgb(lightness, ab_norm, bit_depth, saturation=0.8)
    two_step = lab_to_rgb_array(lightness, upsample_ab(ab_norm, *full) * np.float32(0.8),
                                bit_depth)
    assert fused.shape == (*full, 3) and fused.dtype == two_step.dtype
    assert np.abs(fused.astype(int) - two_step).max() <= 1


def test_render_rgb_threads_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(7)
    ab_norm = rng.uniform(-0.6, 0.6, (2, 32, 64)).astype(np.float32)
    lightness = rng.uniform(0, 100, (213, 390)).astype(np.float32)
    monkeypatch.setenv("AUTOCOLOR_THREADS", "1")
    single = render_rgb(lightness, ab_norm)
    monkeypatch.setenv("AUTOCOLOR_THREADS", "2")
    monkeypatch.setattr(lab_numpy, "STRIP_PIXELS", 3000)
    np.testing.assert_array_equal(render_rgb(lightness, ab_norm), single)


def test_box_reduce() -> None:
    plane = np.random.default_rng(10).random((7, 11)).astype(np.float32)
    reduced = box_reduce(plane, 3)
    assert reduced.shape == (3, 4)
    for row in range(3):
        for column in range(4):
            block = plane[3 * row:3 * row + 3, 3 * column:3 * column + 3]  # partial at the edges
            np.testing.assert_allclose(reduced[row, column], block.mean(), rtol=1e-5)


def test_model_input_close_to_a_plain_resize() -> None:
    rng = np.random.default_rng(8)
    coarse = rng.uniform(0, 100, (30, 40)).astype(np.float32)
    lightness = resize_plane(coarse, 1200, 1600)  # smooth, like a photo at this scale
    got = model_input(lightness, (96, 128))
    plain = resize_plane(lightness, 96, 128) / 50.0 - 1.0
    assert got.shape == (1, 96, 128) and got.dtype == np.float32
    assert np.abs(got[0] - plain).max() < 0.02  # 1 L unit


# -- the colorizer and the command line ---------------------------------------------------------

class RecordingBackend:
    name = "recording"
    device = "cpu"
    metadata: dict = {}

    def __init__(self) -> None:
        self.batches: list[int] = []

    def predict(self, l_norm: np.ndarray) -> np.ndarray:
        self.batches.append(l_norm.shape[0])
        ab = np.empty((l_norm.shape[0], 2, *l_norm.shape[2:]), np.float32)
        ab[:, 0] = 0.2 * l_norm[:, 0]
        ab[:, 1] = -0.1
        return ab


def test_fast_and_steered_paths_agree() -> None:
    """A plan without steering (fused) equals the full-resolution ab path."""
    from autocolor.infer.colorizer import Colorizer

    colorizer = Colorizer(RecordingBackend(), render_size=64)
    gray = (np.random.default_rng(9).random((83, 120)) * 255).astype(np.uint8)
    loaded = lightness_from_pil(Image.fromarray(gray))
    fast = colorizer.colorize_plans([colorizer.plan(loaded, saturation=0.7)])[0]
    ab = colorizer.colorize_lightness(loaded.lightness, saturation=0.7)
    assert np.abs(fast.astype(int) - lab_to_rgb_array(loaded.lightness, ab)).max() <= 1


def test_cpu_batches_are_capped_in_render_pixels() -> None:
    """The bins head's memory grows with the batch: on the CPU, at most 2^19 render pixels."""
    from autocolor.infer.colorizer import Colorizer

    lightness = [np.full((384, 512), 50.0, np.float32)] * 5  # renders of 384x512 at 512
    backend = RecordingBackend()
    colorizer = Colorizer(backend, render_size=512, batch_size=8)
    colorizer.predict([colorizer.render_input(item) for item in lightness])
    assert backend.batches == [2, 2, 1]
    backend = RecordingBackend()
    backend.device = "cuda"
    colorizer = Colorizer(backend, render_size=512, batch_size=8)
    colorizer.predict([colorizer.render_input(item) for item in lightness])
    assert backend.batches == [5]


def _photo(path: Path, size: tuple[int, int], seed: int) -> None:
    rng = np.random.default_rng(seed)
    Image.fromarray((rng.random(size[::-1]) * 255).astype(np.uint8)).save(path)


def test_cli_batches_same_shaped_photos(tmp_path: Path, monkeypatch, capsys) -> None:
    from autocolor.cli import main
    from autocolor.infer import colorizer as colorizer_module

    backend = RecordingBackend()
    monkeypatch.setattr(colorizer_module, "create_backend", lambda *args, **kwargs: backend)
    monkeypatch.setattr(colorizer_module, "resolve_weights", lambda name: Path("x.onnx"))
    (tmp_path / "in").mkdir()
    for index in range(5):
        _photo(tmp_path / "in" / f"p{index}.png", (64, 48), index)
    (tmp_path / "in" / "broken.png").write_bytes(b"not a png")
    status = main(["colorize", str(tmp_path / "in"), "-o", str(tmp_path / "out"),
                   "--batch-size", "3", "--render-size", "64"])
    captured = capsys.readouterr()
    assert status == 1 and "broken.png" in captured.err
    assert backend.batches == [3, 2]
    assert [Path(line).name for line in captured.out.split()] == [f"p{i}.png" for i in range(5)]
    for index in range(5):
        with Image.open(tmp_path / "out" / f"p{index}.png") as written:
            assert written.size == (64, 48) and written.mode == "RGB"


def test_cli_prefetch_budget_keeps_big_photos_apart(tmp_path: Path, monkeypatch, capsys) -> None:
    from autocolor.cli import main
    from autocolor.infer import cli
    from autocolor.infer import colorizer as colorizer_module

    backend = RecordingBackend()
    monkeypatch.setattr(colorizer_module, "create_backend", lambda *args, **kwargs: backend)
    monkeypatch.setattr(colorizer_module, "resolve_weights", lambda name: Path("x.onnx"))
    monkeypatch.setattr(cli, "PREFETCH_PIXELS", 64 * 48 * 2 - 1)  # fewer than two photos
    for index in range(3):
        _photo(tmp_path / f"p{index}.png", (64, 48), index)
    status = main(["colorize", *(str(tmp_path / f"p{i}.png") for i in range(3)),
                   "-o", str(tmp_path / "out"), "--batch-size", "4", "--render-size", "64"])
    assert status == 0, capsys.readouterr().err
    assert backend.batches == [1, 1, 1]


def test_pipeline_module_stays_torch_free() -> None:
    source = Path(pipeline.__file__).read_text() + Path(lab_numpy.__file__).read_text()
    assert "import torch" not in source
