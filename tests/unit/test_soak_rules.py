"""The soak's judging rules (bench/soak.py): every request counts, and what fails a run."""

from __future__ import annotations

from bench.soak_verdict import Window, verdict


def _window(minute: int, latencies_ms: list[float]) -> Window:
    w = Window(minute, requests=len(latencies_ms))
    w.latencies_ms = latencies_ms
    return w


def _steady(minute: int, *, slow_ms: float = 5.0) -> Window:
    """100 requests of 5 ms, the last ``slow_ms`` long."""
    return _window(minute, [5.0] * 99 + [slow_ms])


def _stable(v: dict[str, object]) -> bool:
    checks = v["checks"]
    assert isinstance(checks, dict)
    return bool(next(ok for name, ok in checks.items() if name.startswith("p99 stable")))


def test_every_request_counts_in_a_minutes_figures() -> None:
    row = _window(0, [10.0, 200.0, 10.0, 300.0]).summary()
    assert row["p99_ms"] == 300.0
    assert row["max_ms"] == 300.0
    assert row["p50_ms"] == 200.0
    assert "set_aside" not in row


def test_a_slow_minute_fails_the_check() -> None:
    windows = [_steady(m) for m in range(6)]
    windows[3] = _window(3, [200.0] * 100)  # the server slowed
    v = verdict(windows, rate=100 / 60)
    assert not _stable(v)
    assert v["max_p99_ms"] == 200.0
    assert v["median_p99_ms"] == 5.0


def test_a_slow_minute_fails_even_when_the_generator_stalled_in_it() -> None:
    windows = [_steady(m) for m in range(6)]
    windows[3] = _steady(3, slow_ms=300.0)
    windows[3].latencies_ms[-2] = 300.0
    windows[3].gen_stall_ms = 1100.0  # shown beside the figures, never an excuse
    v = verdict(windows, rate=100 / 60)
    assert not _stable(v)
    assert windows[3].summary()["gen_stall_ms"] == 1100.0


def test_steady_minutes_pass_the_check() -> None:
    windows = [_steady(m, slow_ms=12.0) for m in range(6)]
    v = verdict(windows, rate=100 / 60)
    assert _stable(v)
    assert v["checks"]["no errors"]
