"""HintSet parsing, validation and EXIF orientation mapping."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from autocolor.color.lab_numpy import rgb_to_lab
from autocolor.hints import HintError, HintPoint, HintSet, oriented_size


def test_parses_all_colour_forms_and_radius() -> None:
    hints = HintSet.from_json(
        {
            "points": [
                {"x": 120, "y": 45, "color": "#a0c040"},
                {"x": 1.5, "y": 2, "color": "#F0a", "radius": 7},
                {"x": 0, "y": 0, "color": [10, 20, 30]},
            ]
        }
    )
    assert len(hints) == 3
    assert hints.points[0].rgb == (0xA0, 0xC0, 0x40)
    assert hints.points[1].rgb == (0xFF, 0x00, 0xAA)  # "#rgb" doubles each digit
    assert hints.points[1].radius == 7.0
    assert hints.points[2].rgb == (10, 20, 30)
    assert hints.points[0].radius == 0.0


def test_ab_is_the_chroma_of_the_colour() -> None:
    point = HintPoint(x=0, y=0, rgb=(200, 40, 40))
    lab = rgb_to_lab(np.array([[[200, 40, 40]]], dtype=np.float32) / 255.0)[0, 0]
    assert point.ab == pytest.approx((lab[1], lab[2]), abs=1e-4)
    assert point.ab[0] > 40  # a saturated red has strongly positive a*
    np.testing.assert_allclose(HintSet([point]).ab_array(), [[lab[1], lab[2]]], atol=1e-4)


def test_reads_file_text_and_bytes_and_round_trips(tmp_path: Path) -> None:
    data = {
        "points": [
            {"x": 3, "y": 4, "color": "#102030", "radius": 2.5},
            {"x": 1, "y": 2, "color": "#ffffff"},
        ]
    }
    path = tmp_path / "hints.json"
    path.write_text(json.dumps(data))
    from_path = HintSet.from_json(path)
    assert from_path == HintSet.from_json(str(path))
    assert from_path == HintSet.from_json(json.dumps(data))
    assert from_path == HintSet.from_json(json.dumps(data).encode())
    assert HintSet.from_json(from_path.to_json()) == from_path
    assert from_path.to_dict() == data


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ('{"points": [', "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ("{}", 'missing the "points"'),
        ('{"points": {}}', '"points" must be a list'),
        ('{"points": [], "extra": 1}', "unknown key"),
        ('{"points": [5]}', "hint point 0: must be an object"),
        (
            '{"points": [{"x": 1, "y": 1, "color": "#fff"}, {"x": 1, "color": "#fff"}]}',
            "hint point 1: missing key(s) ['y']",
        ),
        ('{"points": [{"x": 1, "y": 1, "color": "#zzz"}]}', "hint point 0: bad color '#zzz'"),
        ('{"points": [{"x": 1, "y": 1, "color": "a0c040"}]}', "bad color"),
        ('{"points": [{"x": 1, "y": 1, "color": "#a0c04"}]}', "bad color"),
        ('{"points": [{"x": 1, "y": 1, "color": [1, 2]}]}', "exactly 3"),
        ('{"points": [{"x": 1, "y": 1, "color": [1, 2, 256]}]}', "integers 0-255"),
        ('{"points": [{"x": 1, "y": 1, "color": [1, 2, 3.5]}]}', "integers 0-255"),
        ('{"points": [{"x": 1, "y": 1, "color": [true, 2, 3]}]}', "numbers 0-255"),
        ('{"points": [{"x": 1, "y": 1, "color": 5}]}', "bad color"),
        ('{"points": [{"x": "1", "y": 1, "color": "#fff"}]}', "'x' must be a finite number"),
        ('{"points": [{"x": true, "y": 1, "color": "#fff"}]}', "'x' must be a finite number"),
        ('{"points": [{"x": 1, "y": NaN, "color": "#fff"}]}', "'y' must be a finite number"),
        (
            '{"points": [{"x": 1, "y": 1, "color": "#fff", "radius": -2}]}',
            "hint point 0: radius must be >= 0",
        ),
        (
            '{"points": [{"x": 1, "y": 1, "color": "#fff", "raduis": 2}]}',
            "unknown key(s) ['raduis']",
        ),
    ],
)
def test_invalid_hints_raise_hint_error_naming_the_problem(source: str, fragment: str) -> None:
    with pytest.raises(HintError) as info:
        HintSet.from_json(source)
    assert fragment in str(info.value)
    assert isinstance(info.value, ValueError)


def test_missing_file_is_a_hint_error(tmp_path: Path) -> None:
    with pytest.raises(HintError, match="not found"):
        HintSet.from_json(tmp_path / "nope.json")


def test_validate_checks_coordinates_against_the_image() -> None:
    size = (40, 30)  # (width, height)
    inside = HintSet([HintPoint(0, 0, (1, 2, 3)), HintPoint(39, 29, (1, 2, 3))])
    assert inside.validate(size) is inside
    for x, y in [(40, 5), (5, 30), (-1, 5), (5, -0.5)]:
        bad = HintSet([HintPoint(1, 1, (1, 2, 3)), HintPoint(x, y, (1, 2, 3))])
        with pytest.raises(HintError, match=r"hint point 1: .* outside the 40x30 image"):
            bad.validate(size)
    with pytest.raises(HintError, match="radius"):
        HintSet([HintPoint(1, 1, (1, 2, 3), radius=-1)]).validate(size)
    with pytest.raises(HintError, match="bad color"):
        HintSet([HintPoint(1, 1, (1, 2, 300))]).validate(size)


def _marked_positions(image: Image.Image) -> dict[int, tuple[int, int]]:
    """Channel value -> (x, y) of the single pixel marked with it in the red channel."""
    red = np.asarray(image)[..., 0]
    return {
        int(v): (int(xs[0]), int(ys[0])) for v in (100, 200) for ys, xs in [np.nonzero(red == v)]
    }


@pytest.mark.parametrize("orientation", range(1, 9))
def test_to_oriented_matches_exif_transpose(orientation: int, tmp_path: Path) -> None:
    width, height = 7, 5  # not square, so a wrong swap of x and y is caught
    stored = np.zeros((height, width, 3), dtype=np.uint8)
    marks = {100: (2, 1), 200: (6, 4)}  # value -> stored (x, y); two marks catch mirrored maps
    for value, (x, y) in marks.items():
        stored[y, x, 0] = value
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"o{orientation}.png"  # lossless, so the marks survive the round trip
    Image.fromarray(stored).save(path, exif=exif)
    with Image.open(path) as opened:
        assert opened.getexif().get(0x0112) == orientation
        upright = ImageOps.exif_transpose(opened)
    expected = _marked_positions(upright)

    hints = HintSet([HintPoint(x, y, (value, 0, 0)) for value, (x, y) in marks.items()])
    mapped = hints.to_oriented(orientation, (width, height))
    assert oriented_size(orientation, (width, height)) == upright.size
    mapped.validate(upright.size)
    for point in mapped:
        assert (point.x, point.y) == expected[point.rgb[0]]


def test_unknown_orientation_leaves_coordinates_alone() -> None:
    hints = HintSet([HintPoint(2, 1, (1, 2, 3), radius=4)])
    assert hints.to_oriented(0, (7, 5)) == hints
    assert hints.to_oriented(9, (7, 5)) == hints


def test_scaled_keeps_pixel_centres_aligned() -> None:
    point = HintSet([HintPoint(0, 3, (1, 2, 3), radius=4)]).scaled(0.5, 0.5).points[0]
    # Full-res pixel 0 covers [0, 1), its centre 0.5 maps to 0.25, i.e. coordinate -0.25.
    assert point.x == pytest.approx(-0.25)
    assert point.y == pytest.approx(1.25)
    assert point.radius == pytest.approx(2.0)
