"""Where a write's event spends its time inside the delivery engine, taken apart by phase.

Every engine keeps a :class:`EngineTimings` (``EventEngine.timings``): per phase, how many times
it ran, the total and the longest, in milliseconds:

- ``woken``: from a local commit's records waking the engine to the start of the pass that
  follows (the pass before still running, the gathering window after it, ``events/pacing.py``, the
  loop held, the claim's limit of attempts under way);
- ``read``: a pass's read, rendering and sealing included (on the event loop); ``read_cpu``: its
  CPU time (the loop thread's);
- ``pass_queued``, ``pass_ran``, ``pass_committed``: its write job (fan-out and claim) waiting in
  the writers' queue, running, and from its end until the event loop has its result (the rest of
  its group, the commit, the hand-over); ``pass_cpu``: the CPU time of its run (the writer
  thread's);
- ``send``: an attempt, from its claim's commit to the receiver's answer (Stream: the ACK);
- ``outcome_queued``, ``outcome_ran``, ``outcome_committed``, ``outcome_cpu``: the job that
  writes attempts' outcomes, the same steps;
- ``outcome_carried``: a pass's job that carried outcomes waiting (written before its claim,
  ``OutcomeWriter.carry``), from taking them until they are back on the loop.

Beside them, ``cpu_ms`` (:func:`cpu_ms`): the CPU time the process has used so far, and its
threads' by kind (the event loop's, the store's writers', the rest), so that a benchmark can
divide what a run cost each by its writes.

With ``OPENROSTER_EVENTS_TIMINGS`` naming a file, the server's engine writes these figures there
as JSON at most once a second while it works (``bench/bench_events.py --timings`` reads them
before and after a phase and prints the difference): a counter for measuring, not a test.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from openroster.store.tx import WriteTx
from openroster.store.writer import THREAD_NAME as WRITER_THREAD

T = TypeVar("T")

#: The environment variable naming the file the server's engine writes its timings to.
ENV_FILE = "OPENROSTER_EVENTS_TIMINGS"
#: The key of :func:`cpu_ms` among the figures written there.
CPU_KEY = "cpu_ms"
#: Seconds between two writes of that file.
DUMP_INTERVAL = 1.0


def _ms(seconds: float) -> float:
    return seconds * 1000.0


def cpu_ms() -> dict[str, float]:
    """CPU time (user and system, ms) this process has used so far: ``process``, and of its
    living threads ``loop`` (the main thread, which runs the server's event loop), ``writers``
    (the store's writer threads) and ``other`` (the rest of ``process``: other threads, ended
    ones included)."""
    out = {"process": _ms(time.process_time()), "loop": 0.0, "writers": 0.0}
    main = threading.main_thread()
    for t in threading.enumerate():
        used = thread_cpu_ms(t)
        if used is None:
            continue
        if t is main:
            out["loop"] += used
        elif t.name.startswith(WRITER_THREAD):
            out["writers"] += used
    out["other"] = out["process"] - out["loop"] - out["writers"]
    return out


def thread_cpu_ms(thread: threading.Thread) -> float | None:
    """CPU time (user and system, ms) the living ``thread`` of this process has used so far;
    ``None`` when it has not started or has ended, or the platform has no clock per thread."""
    clock_of = getattr(time, "pthread_getcpuclockid", None)  # not on every platform
    if thread.ident is None or clock_of is None or not thread.is_alive():
        return None  # (an ended thread's id may be another's by now)
    try:
        return _ms(time.clock_gettime(clock_of(thread.ident)))
    except OSError:  # ended meanwhile
        return None


@dataclass(slots=True)
class Phase:
    """How many times a phase ran, its total and its longest (ms)."""

    count: int = 0
    total_ms: float = 0.0
    max_ms: float = 0.0

    def add(self, seconds: float) -> None:
        ms = _ms(seconds)
        self.count += 1
        self.total_ms += ms
        self.max_ms = max(self.max_ms, ms)


@dataclass(slots=True)
class JobTimes:
    """The three steps of one kind of write job (see module)."""

    queued: Phase = field(default_factory=Phase)
    ran: Phase = field(default_factory=Phase)
    committed: Phase = field(default_factory=Phase)
    #: The CPU time of its run (its writer thread's: ``time.thread_time``).
    cpu: Phase = field(default_factory=Phase)

    def timed(self, job: Callable[[WriteTx], T]) -> tuple[Callable[[WriteTx], T], Callable[[], None]]:
        """``job`` timed from now (its submission), and what to call when its result is back."""
        submitted = time.perf_counter()
        ended: list[float] = []

        def run(tx: WriteTx) -> T:
            start, cpu = time.perf_counter(), time.thread_time()
            self.queued.add(start - submitted)
            try:
                return job(tx)
            finally:
                ended.append(time.perf_counter())
                self.ran.add(ended[-1] - start)
                self.cpu.add(time.thread_time() - cpu)

        def back() -> None:
            if ended:
                self.committed.add(time.perf_counter() - ended[-1])

        return run, back


@dataclass(slots=True)
class EngineTimings:
    """The engine's phases (see module)."""

    woken: Phase = field(default_factory=Phase)
    read: Phase = field(default_factory=Phase)
    read_cpu: Phase = field(default_factory=Phase)
    passes: JobTimes = field(default_factory=JobTimes)
    send: Phase = field(default_factory=Phase)
    outcomes: JobTimes = field(default_factory=JobTimes)
    carried: Phase = field(default_factory=Phase)
    _file: Path | None = None
    _dumped: float = 0.0

    def __post_init__(self) -> None:
        name = os.environ.get(ENV_FILE)
        self._file = Path(name) if name else None

    def figures(self) -> dict[str, Any]:
        """Every phase's ``{count, total_ms, max_ms}``, by name (see module)."""
        out: dict[str, Any] = {k: asdict(getattr(self, k)) for k in ("woken", "read", "read_cpu", "send")}
        out["outcome_carried"] = asdict(self.carried)
        out[CPU_KEY] = cpu_ms()
        for prefix, job in (("pass", self.passes), ("outcome", self.outcomes)):
            out |= {
                f"{prefix}_{step}": asdict(getattr(job, step))
                for step in ("queued", "ran", "committed", "cpu")
            }
        return out

    def dump(self, *, force: bool = False) -> None:
        """Write :meth:`figures` to the ``OPENROSTER_EVENTS_TIMINGS`` file, if one is named, at
        most once a :data:`DUMP_INTERVAL`."""
        now = time.monotonic()
        if self._file is None or (not force and now - self._dumped < DUMP_INTERVAL):
            return
        self._dumped = now
        part = self._file.with_name(self._file.name + ".part")
        part.write_text(json.dumps(self.figures()))
        part.replace(self._file)
