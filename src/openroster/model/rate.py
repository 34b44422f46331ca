"""A call rate: how many calls a caller may make to one endpoint per period (``core/runtime/throttle.py``).

A rate is kept as a token bucket: it holds up to ``calls`` tokens and refills at
``calls / per_seconds`` tokens per second; a call takes one. The bucket's arithmetic is here, once,
for the limiter in memory and the one in the store alike.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Rounding slack: a bucket refilled to 0.9999999999 tokens holds one.
_EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class Rate:
    """``calls`` per ``per_seconds``; bursts of up to ``calls`` are allowed."""

    calls: int
    per_seconds: float = 1.0

    def __post_init__(self) -> None:
        if self.calls < 1 or self.per_seconds <= 0:
            raise ValueError("a rate needs at least one call per a positive period")

    def __str__(self) -> str:
        if self.per_seconds == 1.0:
            return f"{self.calls} calls per second"
        return f"{self.calls} calls per {self.per_seconds:g} seconds"

    def refilled(self, tokens: float, *, since: float, now: float) -> float:
        """What a bucket that held ``tokens`` at ``since`` holds at ``now`` (a clock moved backwards
        refills nothing)."""
        return min(float(self.calls), tokens + max(0.0, now - since) * self.calls / self.per_seconds)

    def wait(self, tokens: float) -> float:
        """0.0 when a bucket holding ``tokens`` has one to give, else the seconds until it has."""
        if tokens >= 1.0 - _EPSILON:
            return 0.0
        return (1.0 - tokens) * self.per_seconds / self.calls
