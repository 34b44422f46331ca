"""The retry schedule: exponential back-off with jitter, and when a delivery is given up.

The n-th failed attempt waits about ``FIRST_RETRY_S * 2**(n-1)`` seconds (±``JITTER``), at most
``MAX_DELAY_S``; an attempt that fails ``GIVE_UP_AFTER_S`` or more after the delivery's first
attempt makes it ``dead``. Times are on the directory's clock, so moving the control plane's
clock makes retries due.
"""

from __future__ import annotations

import random

FIRST_RETRY_S = 10.0
MAX_DELAY_S = 600.0
GIVE_UP_AFTER_S = 24 * 3600.0
#: The spread of a delay around its nominal value (0.2: ±20 %), so retries of many events spread out.
JITTER = 0.2

_RNG = random.Random()


def retry_delay(attempts: int, rng: random.Random | None = None) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt (1 for the first)."""
    nominal: float = min(FIRST_RETRY_S * 2.0 ** max(attempts - 1, 0), MAX_DELAY_S)
    spread = (rng or _RNG).uniform(-JITTER, JITTER)
    return min(nominal * (1 + spread), MAX_DELAY_S)


def gives_up(first_attempt_ms: int, now_ms: int) -> bool:
    """True when a failure at ``now_ms`` ends a delivery first attempted at ``first_attempt_ms``."""
    return now_ms - first_attempt_ms >= GIVE_UP_AFTER_S * 1000
