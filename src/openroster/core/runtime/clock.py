"""The one clock every time-dependent rule reads (token expiry, date windows).

Tests and the control plane move it with :meth:`Clock.set_offset`; by default
it is real time. It never leaves ``CLOCK_OFFSET_MAX_SECONDS`` of real time
(100 years either way): a move beyond that, or by a value that is not a finite
number, is refused with :class:`~openroster.model.errors.InvalidValue` and the
clock stays where it was. So every time the directory reads (a token's expiry
is "now + its lifetime") is a sane one.
"""

from __future__ import annotations

import math
import time

from openroster.core.runtime.limits import CLOCK_OFFSET_MAX_SECONDS
from openroster.model.errors import InvalidValue


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

    @staticmethod
    def checked_offset(seconds: float, *, field: str = "offset", sent: object = None) -> float:
        """``seconds`` as an offset from real time, or :class:`InvalidValue` naming ``field``.

        ``sent`` is what the caller sent (default: ``seconds``), quoted as it was in the message.
        """
        shown = seconds if sent is None else sent
        if not math.isfinite(seconds):
            raise InvalidValue(f"{field}: {shown!r} is not a finite number of seconds", field=field)
        if abs(seconds) > CLOCK_OFFSET_MAX_SECONDS:
            raise InvalidValue(
                f"{field}: {shown!r} puts the clock more than 100 years "
                f"({CLOCK_OFFSET_MAX_SECONDS:.0f} s) from real time",
                field=field,
            )
        return float(seconds)

    def set_offset(self, seconds: float, *, field: str = "offset", sent: object = None) -> None:
        self._offset = self.checked_offset(seconds, field=field, sent=sent)

    def advance(self, seconds: float, *, field: str = "advance") -> None:
        self._offset = self.advanced_offset(seconds, field=field)

    def advanced_offset(self, seconds: float, *, field: str = "advance") -> float:
        """The offset :meth:`advance` would set (checked), without moving the clock."""
        try:
            target = self._offset + seconds
        except OverflowError:
            target = math.inf
        return self.checked_offset(target, field=field, sent=seconds)


class FixedClock(Clock):
    """A clock standing at ``at`` (moved only by its offset): writes made as of one fixed moment."""

    __slots__ = ("_at",)

    def __init__(self, at: float) -> None:
        super().__init__()
        self._at = at

    def now(self) -> float:
        return self._at + self._offset


clock = Clock()
