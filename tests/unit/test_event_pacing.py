"""The event engine's gathering window after a pass (events/pacing.py)."""

from __future__ import annotations

import pytest

from openroster.events import pacing


@pytest.mark.parametrize(
    ("last_pass", "window"),
    [
        pytest.param(0.001, 0.01, id="a short pass: the floor"),
        pytest.param(0.02, 0.04, id="a longer pass: twice as long as it took"),
        pytest.param(0.5, 0.1, id="a very long pass: at most a tenth of a second"),
    ],
)
def test_the_next_pass_waits_twice_the_last_one_between_the_floor_and_the_cap(
    last_pass: float, window: float
) -> None:
    assert pacing.window(0.01, last_pass) == pytest.approx(window)


def test_an_engines_own_floor_wins_over_the_cap() -> None:
    # A test engine asks for a 1 s window (tests/unit/test_event_flush.py): it gets it.
    assert pacing.window(1.0, 0.001) == 1.0
    assert pacing.window(0.0, 0.0) == 0.0
