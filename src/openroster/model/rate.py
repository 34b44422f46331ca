"""A call rate: how many calls a caller may make to one endpoint per period (``core/runtime/throttle.py``)."""

from __future__ import annotations

from dataclasses import dataclass


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
