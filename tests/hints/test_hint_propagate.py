"""Levin-style hint propagation."""

from __future__ import annotations

import time

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from autocolor.hints import HintError, HintPoint, HintSet, propagate_hints
from autocolor.hints.propagate import affinity_matrix, nested_dissection_order, solve_delta

RED = (200, 40, 40)
BLUE = (40, 70, 200)


def _regions(height: int, width: int, edges: list[int], levels: list[float]) -> np.ndarray:
    """Vertical bands: columns [edges[i-1], edges[i]) get levels[i]; plus mild noise."""
    lightness = np.empty((height, width), dtype=np.float32)
    bounds = [0, *edges, width]
    for level, x0, x1 in zip(levels, bounds[:-1], bounds[1:], strict=True):
        lightness[:, x0:x1] = level
    rng = np.random.default_rng(0)
    lightness += rng.normal(0.0, 0.7, lightness.shape).astype(np.float32)
    return np.clip(lightness, 0.0, 100.0)


def _ab(rgb: tuple[int, int, int]) -> np.ndarray:
    return np.asarray(HintPoint(0, 0, rgb).ab, dtype=np.float32)


def test_each_region_takes_its_hint_and_the_edge_stays_sharp() -> None:
    # 1200 px wide so the solve runs on a 512-wide grid and the guided upsampling is exercised;
    # the edge at x=601 is not on a working-pixel boundary (601 * 512 / 1200 = 256.4).
    height, width, edge = 500, 1200, 601
    lightness = _regions(height, width, [edge], [30.0, 70.0])
    prior = np.zeros((height, width, 2), dtype=np.float32)
    hints = HintSet([HintPoint(150, 250, RED, radius=6), HintPoint(1000, 100, BLUE, radius=6)])
    # A long reach, so that filling whole regions is what is tested (the default is local).
    ab = propagate_hints(lightness, prior, hints, reach=2.0)
    assert ab.shape == (height, width, 2) and ab.dtype == np.float32

    red, blue = _ab(RED), _ab(BLUE)
    left, right = ab[:, : edge - 3], ab[:, edge + 3 :]
    # Whole regions, far corners included, get (almost) the hint colour.
    assert np.abs(left - red).max(axis=-1).mean() < 0.15 * np.linalg.norm(red)
    assert np.abs(right - blue).max(axis=-1).mean() < 0.15 * np.linalg.norm(blue)
    assert np.linalg.norm(ab[-1, 0] - red) < 0.25 * np.linalg.norm(red)
    # Sharp edge: along every row, the a* step between the plateaus 10 px either side of the
    # edge goes from 10% to 90% within 2 pixels, at the edge's own position.
    a = ab[..., 0]
    plateau_left, plateau_right = a[:, edge - 10 : edge - 9], a[:, edge + 10 : edge + 11]
    frac = (a[:, edge - 10 : edge + 11] - plateau_left) / (plateau_right - plateau_left)
    assert np.all(plateau_left - plateau_right > 0.8 * (red[0] - blue[0]))
    assert np.all(((frac > 0.1) & (frac < 0.9)).sum(axis=1) <= 2)
    crossing = np.argmax(frac > 0.5, axis=1) + edge - 10  # first column past half the step
    assert np.all(np.abs(crossing - edge) <= 1)


def test_unhinted_region_beyond_an_edge_keeps_the_prior() -> None:
    height, width = 240, 480
    lightness = _regions(height, width, [160, 320], [25.0, 75.0, 50.0])
    prior = np.empty((height, width, 2), dtype=np.float32)
    prior[...] = (12.0, -20.0)  # the "model" says blue-ish everywhere
    prior[:, :, 0] += np.linspace(0, 6, width, dtype=np.float32)  # and not flat
    hints = HintSet([HintPoint(80, 120, RED, radius=3), HintPoint(240, 120, BLUE, radius=3)])
    ab = propagate_hints(lightness, prior, hints, reach=2.0)  # even a long reach stops at edges
    far = np.abs(ab[:, 330:] - prior[:, 330:])
    assert far.max() < 1.5  # the third band has no hint: its colour is the prior's
    assert np.abs(ab[:, 10:150] - _ab(RED)).max(axis=-1).mean() < 5.0


def test_default_reach_keeps_one_hint_local() -> None:
    """One click changes its neighbourhood, not the whole photo (the default reach)."""
    lightness = _regions(256, 1024, [], [50.0])
    prior = np.zeros((256, 1024, 2), dtype=np.float32)
    ab = propagate_hints(lightness, prior, HintSet([HintPoint(40, 128, RED, radius=4)]))
    change = np.linalg.norm(ab, axis=-1).mean(axis=0)  # (W,) by distance from the hint
    assert change[40] > 0.7 * np.linalg.norm(_ab(RED))
    assert change[1000] < 0.35 * change[40]
    assert change[1000] < change[500] < change[100]


def test_correction_fades_with_distance_in_a_flat_image() -> None:
    lightness = _regions(64, 512, [], [50.0])
    prior = np.zeros((64, 512, 2), dtype=np.float32)
    hints = HintSet([HintPoint(5, 32, RED, radius=2)])
    near = propagate_hints(lightness, prior, hints, reach=0.1)
    magnitude = np.linalg.norm(near, axis=-1).mean(axis=0)
    assert magnitude[10] > 2 * magnitude[200] > 0
    # Larger reach: the same hint carries further.
    far = np.linalg.norm(propagate_hints(lightness, prior, hints, reach=2.0), axis=-1).mean(axis=0)
    assert far[400] > 2 * magnitude[400]


def test_hinted_spot_gets_the_hint_colour_on_a_textured_photo() -> None:
    rng = np.random.default_rng(1)
    lightness = np.clip(rng.normal(50, 15, (300, 700)), 0, 100).astype(np.float32)
    # A model's prior is smooth (bilinear from the render size), not per-pixel noise.
    prior = np.kron(rng.normal(0, 10, (3, 7, 2)), np.ones((100, 100, 1))).astype(np.float32)
    hints = HintSet([HintPoint(350, 150, RED, radius=20), HintPoint(10, 290, BLUE)])
    ab = propagate_hints(lightness, prior, hints)
    assert np.linalg.norm(ab[150, 350] - _ab(RED)) < 3.0
    assert np.linalg.norm(ab[290, 10] - _ab(BLUE)) < 12.0  # a single pixel in noise: near


def test_no_hints_returns_a_copy_of_the_prior() -> None:
    lightness = np.full((8, 9), 50.0, dtype=np.float32)
    prior = np.ones((8, 9, 2), dtype=np.float32)
    out = propagate_hints(lightness, prior, HintSet())
    assert out is not prior
    np.testing.assert_array_equal(out, prior)


def test_bad_inputs_raise() -> None:
    lightness = np.full((8, 9), 50.0, dtype=np.float32)
    prior = np.zeros((8, 9, 2), dtype=np.float32)
    with pytest.raises(HintError, match="hint point 0"):
        propagate_hints(lightness, prior, HintSet([HintPoint(9, 0, RED)]))
    with pytest.raises(ValueError, match="ab_prior"):
        propagate_hints(lightness, prior[:, :5], HintSet([HintPoint(1, 1, RED)]))
    with pytest.raises(ValueError, match="lightness"):
        propagate_hints(lightness[..., None], prior, HintSet([HintPoint(1, 1, RED)]))


def test_nested_dissection_order_is_a_permutation() -> None:
    for h, w in [(1, 1), (3, 50), (37, 29), (64, 64)]:
        order = nested_dissection_order(h, w)
        np.testing.assert_array_equal(np.sort(order), np.arange(h * w))


def test_solver_matches_a_direct_solve_of_the_same_system() -> None:
    rng = np.random.default_rng(2)
    h, w = 23, 31
    lightness = rng.uniform(0, 100, (h, w)).astype(np.float32)
    owner = np.full((h, w), -1, dtype=np.int32)
    owner[3, 4] = 0
    owner[15:18, 20:22] = 1
    fixed = rng.normal(0, 20, (h, w, 2)).astype(np.float32)
    reach = 0.5
    got = solve_delta(lightness, owner, fixed, reach=reach)

    # Reference: the same energy, assembled independently with constraints as identity rows.
    affinity = affinity_matrix(lightness).toarray()
    lam = 3.0 / (8.0 * (reach * max(h, w)) ** 2)
    system = np.diag(affinity.sum(axis=1) * (1 + lam) + 1e-9) - affinity
    rhs = np.zeros((h * w, 2))
    pinned = np.flatnonzero(owner.ravel() >= 0)
    system[pinned] = 0.0
    system[pinned, pinned] = 1.0
    rhs[pinned] = fixed.reshape(-1, 2)[pinned]
    want = spla.spsolve(sp.csc_matrix(system), rhs).reshape(h, w, 2)
    np.testing.assert_allclose(got, want, atol=1e-3)


def test_affinity_cuts_clean_edges_but_not_texture() -> None:
    step = _regions(20, 20, [10], [30.0, 70.0])
    a = affinity_matrix(step).tocsr()
    idx = lambda y, x: y * 20 + x  # noqa: E731
    assert a[idx(5, 9), idx(5, 10)] < 1e-3  # across the edge
    assert a[idx(5, 3), idx(5, 4)] > 0.3  # inside a region
    texture = np.random.default_rng(3).uniform(30, 70, (20, 20)).astype(np.float32)
    weights = affinity_matrix(texture).data
    assert np.median(weights) > 0.1  # a textured area stays connected (Levin's local sigma)


def test_twelve_megapixels_in_bounded_time() -> None:
    # A 4000x3000 photo: the solve is at 512x384, the rest is a few vectorised passes. Measured
    # ~1.3 s on one core (docs/hints.md); the bound only catches an accidental full-res solve.
    rng = np.random.default_rng(4)
    small = rng.uniform(20, 80, (30, 40)).astype(np.float32)
    lightness = np.kron(small, np.ones((100, 100), dtype=np.float32))
    prior = np.zeros((*lightness.shape, 2), dtype=np.float32)
    hints = HintSet([HintPoint(100 * i + 50, 75 * i + 20, RED, radius=30) for i in range(20)])
    start = time.perf_counter()
    ab = propagate_hints(lightness, prior, hints)
    elapsed = time.perf_counter() - start
    assert ab.shape == (3000, 4000, 2)
    assert np.isfinite(ab).all()
    assert elapsed < 20.0
