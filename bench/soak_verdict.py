"""How a soak run is judged (bench/soak.py): its minutes and the verdict, every request counted.

The rules are tested on their own (tests/unit/test_soak_rules.py); the run that feeds them is
bench/soak.py's.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any

#: The request journal's size (the server's default): it fills, then holds its memory steady.
JOURNAL_SIZE = 10_000


@dataclass
class Window:
    """One minute of the run."""

    minute: int
    requests: int = 0
    errors: int = 0
    latencies_ms: list[float] = field(default_factory=list, repr=False)
    rss_mib: float = 0.0
    #: CPU seconds the server used in the minute; the machine's 1-minute load average at its end.
    server_cpu_s: float = 0.0
    load1: float = 0.0
    #: How late the generator sent its most delayed request (a starved generator, not the server).
    max_send_lag_ms: float = 0.0
    #: The generator's own longest stall: how late a 10 ms ticker on its event loop woke, and its
    #: longest garbage collection. Latency measured while the generator stalls is partly the generator's.
    gen_stall_ms: float = 0.0
    gen_gc_ms: float = 0.0
    #: How late an idle witness process (a 10 ms sleep loop, nothing else) woke at worst: the machine's
    #: own pauses, which neither the server nor the generator can help.
    witness_stall_ms: float = 0.0

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latencies_ms)

        def pct(p: float) -> float:
            return round(lat[min(len(lat) - 1, int(p * len(lat)))], 2) if lat else 0.0

        return {
            "minute": self.minute,
            "requests": self.requests,
            "errors": self.errors,
            "p50_ms": pct(0.50),
            "p95_ms": pct(0.95),
            "p99_ms": pct(0.99),
            "max_ms": round(lat[-1], 2) if lat else 0.0,
            "rss_mib": round(self.rss_mib, 1),
            "server_cpu_s": round(self.server_cpu_s, 1),
            "load1": round(self.load1, 1),
            "max_send_lag_ms": round(self.max_send_lag_ms, 1),
            "gen_stall_ms": round(self.gen_stall_ms, 1),
            "gen_gc_ms": round(self.gen_gc_ms, 1),
            "witness_stall_ms": round(self.witness_stall_ms, 1),
        }


def warmup_minutes(rate: float) -> int:
    """Two minutes, or until the journal is full plus one."""
    return max(2, math.ceil(JOURNAL_SIZE / rate / 60) + 1)


def verdict(windows: list[Window], rate: float) -> dict[str, Any]:
    rows = [w.summary() for w in windows if w.requests]
    p99s = [r["p99_ms"] for r in rows]
    median_p99 = statistics.median(p99s)
    warm_up = warmup_minutes(rate)
    warm = [r["rss_mib"] for r in rows[warm_up - 1 :]] or [rows[-1]["rss_mib"]]
    growth = warm[-1] - warm[0]
    slope = statistics.linear_regression(range(len(warm)), warm).slope if len(warm) > 1 else 0.0
    allowed = max(16.0, 0.10 * warm[0])
    name = f"memory flat after the {warm_up}-minute warm-up (grew {growth:.1f} MiB, allowed {allowed:.1f})"
    judged = len(rows) >= warm_up + 2
    if not judged:
        name = f"memory flat: not judged, the run is shorter than the {warm_up}-minute warm-up + 2"
    checks = {
        "no errors": sum(r["errors"] for r in rows) == 0,
        "p99 stable (every minute within 3x the median minute, every request counted)": max(p99s)
        <= 3 * median_p99,
        name: judged and growth <= allowed,
    }
    return {
        "median_p99_ms": round(median_p99, 2),
        "max_p99_ms": max(p99s),
        "warmup_minutes": warm_up,
        "rss_growth_mib": round(growth, 1),
        "rss_slope_mib_per_minute": round(slope, 2),
        "checks": checks,
    }
