"""When the event engine's next pass may start, under a write load (``events/engine.py``).

A pass has a fixed cost whatever it carries (its read and rendering on the event loop, a writers'
job, a cursor per subscription, the sends and their outcomes) and a pass's changes of one topic go
out as one event carrying several people: the more commits a pass takes, the less the engine costs
a write. An idle engine's pass starts at once (a write's event goes out within milliseconds); after
a pass, the next one waits a gathering window, the commits of which it then takes together:

- at least :data:`GATHER` (the engine's ``gather``), so a steady stream of writes is taken in
  batches rather than one pass a commit;
- and :data:`SHARE` times as long as the last pass took, at most :data:`SHARE_MAX`: under a heavy
  load a pass takes longer (it waits for the writers, the loop is busy), so the engine spends at
  most about ``1 / (1 + SHARE)`` of the time in passes and leaves the rest to the writes, and the
  delay it adds to an event stays bounded (issue 16's latency targets are 50 ms p50 and 250 ms
  p99 at 200 writes a second);
- above :data:`RATE_REF` change records a second (:class:`Rate`, taken over spans of
  :data:`RATE_SPAN`), the share grows with the rate: at twice that rate the window is twice as
  long again. A pass's cost is half fixed, paid once a pass, so the fewer passes a write pays the
  less the engine takes from the writes, and it matters most when the writes are the most; at
  and below the latency targets' rate (200 writes a second) the window is what it was, so is an
  event's wait. Not while the last look left events held up behind an open delivery of their
  entity (or on the caps of attempts under way): those go a pass per outcome, and a longer window
  would let them fall behind the writes for as long as the load lasts (a few people renamed over
  and over, each event waiting for the one before: ``bench_events``' throughput phase).

A round that rendered no records and left due deliveries out on the caps of attempts under way
(``events/claims.py``: a receiver at its room, a subscription with a claim's worth under way) is
a backlog, not a write load: the next one starts as soon as an attempt's end makes room (its
outcome wakes the engine), without a window, so a backlog drains at the receivers' pace. Under a
write load the window holds even while a slow receiver stays at its room: else every commit's and
outcome's wake-up would start a pass of its own.

Under a write load that holds the window at its cap the next pass comes within it, and its job
writes the outcomes waiting before it claims (``events/outcomes.py``): the outcomes of a pass's
attempts wait for it (:func:`linger`) rather than take a transaction of their own each round. An
event held up behind one of them waits no longer for it while commits keep waking passes: the pass
that claims it is the next one either way. When the load stops, or an attempt is still under way
as the next pass's job runs, it waits for the linger (up to :data:`CARRY_MAX`, not 10 ms). The
engine's stop writes what is lingering before it returns (``OutcomeWriter.drain``).

The figures behind the choice are in docs/events.md (five subscriptions against none).
"""

from __future__ import annotations

from dataclasses import dataclass

from openroster.events.outcomes import LINGER

#: Seconds after a pass's end before the next one starts, at the least (under a write load).
GATHER = 0.01
#: The next pass waits this many times as long as the last one took ...
SHARE = 2.0
#: ... but no more than this many seconds on that account.
SHARE_MAX = 0.1
#: Change records a second up to which the share is :data:`SHARE`; above it, it grows with the rate
#: (the latency targets are at 200 writes a second, a record each: their window stays as it was).
RATE_REF = 250.0
#: Seconds at the least over which a :class:`Rate` is taken.
RATE_SPAN = 0.25
#: Under a write load an attempt's outcome waits this many windows (and the outcomes' own linger)
#: for the next pass, whose job carries it (``OutcomeWriter.carry``), before a job of its own ...
CARRY_SHARE = 2.0
#: ... at most this many seconds.
CARRY_MAX = 0.25


@dataclass(slots=True)
class Rate:
    """The change records a second the passes render, over spans of at least :data:`RATE_SPAN`
    seconds (a few passes' worth: one pass of a steady load may find twice its share or none)."""

    #: The last whole span's rate (none before the first).
    per_second: float = 0.0
    _since: float | None = None
    _records: int = 0

    def add(self, records: int, now: float) -> float:
        """A pass that ended at ``now`` (seconds, monotonic) rendered ``records``: the rate."""
        if self._since is None:
            self._since = now
        self._records += records
        if (span := now - self._since) >= RATE_SPAN:
            self.per_second, self._since, self._records = self._records / span, now, 0
        return self.per_second


def window(
    gather: float, last_pass: float, *, capped: bool = False, rate: float = 0.0, held_up: bool = False
) -> float:
    """Seconds from the end of a pass that took ``last_pass`` seconds to the start of the next,
    under a load of ``rate`` change records a second (:class:`Rate`), unless its look left due
    deliveries ``held_up`` (behind an open one of their entity, or on the caps of attempts under
    way); none after a backlog's round (``capped``: it rendered no records and left due
    deliveries out on the caps of attempts under way)."""
    share = SHARE * (1.0 if held_up else max(1.0, rate / RATE_REF))
    return 0.0 if capped else max(gather, min(SHARE_MAX, share * last_pass))


def linger(window: float, *, load: bool) -> float:
    """Seconds an attempt's outcome waits for others to be written with (``OutcomeWriter``): under
    a write ``load`` (the round rendered records, and a pass follows within ``window``) that holds
    the window at its cap (:data:`SHARE_MAX`), long enough for that pass's job to carry it; else
    ``outcomes.LINGER``. Below the cap the outcomes' own job is kept: a pass that carried them
    would take longer, and its window with it, which is an event's wait (the latency targets)."""
    if not load or window < SHARE_MAX:
        return LINGER
    return min(CARRY_MAX, CARRY_SHARE * window + LINGER)
