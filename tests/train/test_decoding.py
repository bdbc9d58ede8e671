"""The rule that picks how a trained model decodes (train/decoding.py)."""

from __future__ import annotations

from autocolor.train.decoding import DecodingScore, choose


def _score(t: float, gate, psnr: float, cf: float, below: int) -> DecodingScore:
    return DecodingScore(t, gate, psnr, -1.0, 0.01, cf, below, 48)


def test_fewest_blotches_first_then_psnr_among_colourful_enough() -> None:
    scores = [_score(1.0, None, 2.0, 0.70, 5), _score(0.5, None, 2.1, 0.75, 5),
              _score(1.0, (0.2, 0.5), 1.9, 0.62, 3), _score(0.5, (0.2, 0.5), 1.95, 0.61, 3),
              _score(1.0, (0.3, 0.6), 2.5, 0.50, 0)]  # too gray to count
    best = choose(scores, min_colorfulness=0.6)
    assert (best.temperature, best.gate) == (0.5, (0.2, 0.5))


def test_the_most_colourful_when_none_is_colourful_enough() -> None:
    scores = [_score(1.0, None, 2.0, 0.40, 5), _score(0.5, None, 1.0, 0.45, 9)]
    assert choose(scores, min_colorfulness=0.6).temperature == 0.5


def test_choices_near_the_most_colourful_tie_on_colour_when_none_reaches_the_floor() -> None:
    vivid = DecodingScore(0.2, None, 0.6, -1.1, 0.01, 0.61, 11, 71, render_size=512)
    near = DecodingScore(0.2, None, 0.8, -1.1, 0.01, 0.56, 8, 71, render_size=256)
    dull = DecodingScore(0.2, None, 0.9, -1.1, 0.01, 0.49, 7, 71, render_size=192)
    scores = [vivid, near, dull]
    assert choose(scores, 0.75) is vivid  # no tie band: the most colourful, as before
    assert choose(scores, 0.75, colorfulness_tie=0.063) is near  # fewer blotches within 0.063
    assert choose(scores, 0.75, colorfulness_tie=0.2) is dull
    assert choose(scores, 0.45, colorfulness_tie=0.063) is dull  # all reach the floor
