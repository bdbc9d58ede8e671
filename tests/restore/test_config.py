"""RestoreConfig: every setting checked; the steps, their events and thresholds agree."""

from __future__ import annotations

import pytest

from autocolor.provenance import EVENT_ACTIONS
from autocolor.restore.config import DEFAULT_CONFIG, EVENTS, STEPS, RestoreConfig
from autocolor.restore.detect import threshold


def test_defaults_are_valid_and_every_step_has_an_event_and_a_threshold() -> None:
    assert RestoreConfig() == DEFAULT_CONFIG
    assert set(EVENTS) == set(STEPS) and len(STEPS) == 5
    for step in STEPS:
        action, parameters = EVENTS[step]
        assert action in EVENT_ACTIONS and step in parameters
        assert threshold(step) > 0
    with pytest.raises(ValueError, match="unknown restoration step"):
        threshold("sharpen")


@pytest.mark.parametrize("changes,words", [
    ({"grain_strength": -1.0}, "finite number >= 0"),
    ({"fading_threshold": float("nan")}, "finite number >= 0"),
    ({"low_percentile": 60.0, "high_percentile": 50.0}, "low_percentile"),
    ({"target_black": 90.0, "target_white": 10.0}, "target_black"),
    ({"clahe_weight": 1.5}, "clahe_weight"),
    ({"max_gain": 0.5}, "max_gain"),
    ({"hat_size": 6}, "hat_size"),
    ({"work_side": 10}, "work_side"),
    ({"inpaint_radius": 0}, "inpaint_radius"),
])
def test_bad_settings_are_refused(changes: dict, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        RestoreConfig(**changes)
