"""The soak's judging rules (bench/soak.py): what is set aside, and what fails a run."""

from __future__ import annotations

from bench.soak_verdict import Window, set_aside, verdict


def _window(minute: int, spans: list[tuple[float, float]]) -> Window:
    w = Window(minute, requests=len(spans))
    w.spans = spans
    w.latencies_ms = [(b - a) * 1000 for a, b in spans]
    return w


def _steady(minute: int, *, slow: float = 0.005) -> Window:
    """100 requests of 5 ms, one a second, the last ``slow`` s long."""
    base = minute * 60.0
    spans = [(base + i, base + i + 0.005) for i in range(99)] + [(base + 99, base + 99 + slow)]
    return _window(minute, spans)


def test_only_requests_in_flight_during_a_generator_stall_are_set_aside() -> None:
    w = _window(0, [(0.0, 0.01), (1.0, 1.2), (2.0, 2.01), (3.0, 3.3)])
    set_aside([w], [(1.1, 1.15), (2.5, 2.6)])
    assert w.tainted == [False, True, False, False]
    row = w.summary()
    assert row["set_aside"] == 1
    assert row["p99_ms"] == 300.0  # every request still counts in the figures shown
    assert row["p99_kept_ms"] == 300.0  # the slow one the generator watched throughout is kept


def test_a_slow_minute_without_a_generator_stall_fails_the_check() -> None:
    windows = [_steady(m) for m in range(6)]
    windows[3] = _window(3, [(180.0 + i, 180.0 + i + 0.2) for i in range(100)])  # the server slowed
    set_aside(windows, [])
    v = verdict(windows, rate=100 / 60)
    stable = next(ok for name, ok in v["checks"].items() if name.startswith("p99 stable"))
    assert not stable
    assert v["max_p99_ms"] == 200.0


def test_a_slow_minute_explained_by_a_generator_stall_passes_the_check() -> None:
    windows = [_steady(m) for m in range(6)]
    windows[3] = _steady(3, slow=0.3)
    windows[3].spans[-2:] = [(3 * 60 + 98, 3 * 60 + 98.3), (3 * 60 + 99, 3 * 60 + 99.3)]
    windows[3].latencies_ms[-2:] = [300.0, 300.0]
    set_aside(windows, [(3 * 60 + 98.1, 3 * 60 + 99.2)])
    v = verdict(windows, rate=100 / 60)
    stable = next(ok for name, ok in v["checks"].items() if name.startswith("p99 stable"))
    assert stable
    assert windows[3].summary()["p99_ms"] == 300.0  # shown, though not judged
