"""The one clock every time-dependent rule reads (token expiry, date windows).

Tests and the control plane move it with :meth:`Clock.set_offset`; by default
it is real time.
"""

from __future__ import annotations

import time


class Clock:
    __slots__ = ("_offset",)

    def __init__(self) -> None:
        self._offset = 0.0

    def now(self) -> float:
        """Seconds since the epoch, as the directory sees it."""
        return time.time() + self._offset

    def now_int(self) -> int:
        return int(self.now())

    @property
    def offset(self) -> float:
        return self._offset

    def set_offset(self, seconds: float) -> None:
        self._offset = seconds

    def advance(self, seconds: float) -> None:
        self._offset += seconds


class FixedClock(Clock):
    """A clock standing at ``at`` (moved only by its offset): writes made as of one fixed moment."""

    __slots__ = ("_at",)

    def __init__(self, at: float) -> None:
        super().__init__()
        self._at = at

    def now(self) -> float:
        return self._at + self._offset


clock = Clock()
