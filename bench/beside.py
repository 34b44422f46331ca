"""Reads beside writes inside one process: where a read waits (docs/write-path.md, "Reads beside
writes").

The HTTP step of ``bench/bench_writes.py`` gives a read's p99 beside a paced batch_update load; this
one sends the same two loads straight to the ASGI app (``bench/inprocess.py``'s driver, no
sockets), both paced on one schedule each, and times every callback the event loop runs:

- the reads' latency from the instant each was due to its reply (p50, p99, max), alone and
  beside the writes;
- the loop's *slices*: each callback's wall time, and its CPU time on the loop's thread. A slice
  whose wall time is far above its CPU time waited (for the interpreter lock, held by the writer
  thread, or in a system call); one whose CPU time is long ran Python on the loop while every
  read due meanwhile waited. The longest slices are listed by what ran in them (the task's
  coroutine, or the callback);
- the CPU time of every thread of the process per write (the writes' own cost, steadier than the
  wall time on a busy machine);
- the store calls the loop's thread makes (:class:`StoreCalls`): the cache's polls and the read
  transactions it opens (a miss, the event engine's pass), how many, their wall and CPU time.

    .venv/bin/python -m bench.beside --data-dir /tmp/copy-of-suite-sqlite-10000 [--write-rate 60]
        [--read-rate 200] [--seconds 10]

The data directory is written to: use a copy.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

from bench.harness import Request
from bench.inprocess import Driver, app_on, signed_context
from bench.scenarios import SCENARIOS
from openroster.config import Settings
from openroster.store import Change, ReadTx, Store

#: A slice at least this long (ms of wall time) is counted apart and named.
LONG_MS = 2.0


class SliceClock:
    """Times every callback the event loop runs (``asyncio.Handle._run`` wrapped while on)."""

    def __init__(self) -> None:
        self.walls: list[float] = []
        self.cpus: list[float] = []
        self.long: Counter[str] = Counter()
        self.long_wall: Counter[str] = Counter()
        #: The loop's CPU time (ms) by the name of the task stepped (``read``, ``write``, ...).
        self.by_task: Counter[str] = Counter()
        self._queued0 = self.queued = self._cpu0 = self.cpu = 0.0
        self._switches0 = self.switches = 0
        self._original: Callable[[asyncio.Handle], None] | None = None

    def start(self) -> None:
        self._queued0 = _run_queue_wait()
        self._switches0 = _switches()
        self._cpu0 = time.thread_time()
        original = asyncio.Handle._run
        self._original = original
        walls, cpus, long, long_wall, by_task = self.walls, self.cpus, self.long, self.long_wall, self.by_task
        perf, thread_time = time.perf_counter, time.thread_time

        def timed(handle: asyncio.Handle) -> None:
            resumed = _where(handle)
            t0, c0 = perf(), thread_time()
            original(handle)
            wall, cpu = (perf() - t0) * 1e3, (thread_time() - c0) * 1e3
            walls.append(wall)
            cpus.append(cpu)
            by_task[_task_name(handle)] += cpu
            if wall >= LONG_MS:
                name = _what_ran(handle, resumed)
                long[name] += 1
                long_wall[name] += wall

        asyncio.Handle._run = timed  # type: ignore[method-assign]

    def stop(self) -> None:
        self.queued = _run_queue_wait() - self._queued0
        self.switches = _switches() - self._switches0
        self.cpu = time.thread_time() - self._cpu0
        if self._original is not None:
            asyncio.Handle._run = self._original  # type: ignore[method-assign]
            self._original = None

    def report(self, seconds: float, calls: int) -> str:
        if not self.walls:
            return "no slices"
        walls = sorted(self.walls)
        over = [w for w in walls if w >= LONG_MS]
        waited = sum(w - c for w, c in zip(self.walls, self.cpus, strict=True) if w >= LONG_MS)
        off_cpu = sum(self.walls) - sum(self.cpus)
        lines = [
            f"slices: {len(walls)}, p50 {_pct(walls, 50):.3f} ms, p99 {_pct(walls, 99):.2f} ms,"
            f" max {walls[-1]:.1f} ms; the loop busy {sum(walls) / seconds / 10:.0f} % of the time;"
            f" {len(over)} slices ≥ {LONG_MS} ms ({sum(over):.0f} ms in all, {waited:.0f} ms of it"
            " not on the loop's CPU)",
            f"off the CPU inside slices {off_cpu:.0f} ms; the loop's thread runnable but waiting for a"
            f" core {self.queued:.0f} ms in the whole window (schedstat): at least"
            f" {max(0.0, off_cpu - self.queued):.0f} ms waiting for the interpreter lock or a system call",
            f"the loop's thread: {self.cpu * 1e3 / calls:.2f} ms of CPU and"
            f" {self.switches / calls:.1f} voluntary context switches a call ({self.switches} in all)",
        ]
        for name, n in self.long.most_common(12):
            lines.append(f"  {n:5d} × {self.long_wall[name] / n:6.2f} ms  {name}")
        return "\n".join(lines)


class StoreCalls:
    """Times the store calls made on the loop's thread (``Store.latest_seq``, the cache's poll;
    ``Store.changes_after``, its read of the change log when the counter moved; ``Store.read``, a
    read transaction), by wrapping them on the store while on."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.polls: list[tuple[float, float]] = []
        self.logs: list[tuple[float, float]] = []
        self.reads: list[tuple[float, float]] = []

    def start(self) -> None:
        loop_thread = threading.get_ident()
        store, poll, log, read = self.store, self.store.latest_seq, self.store.changes_after, self.store.read
        polls, logs, reads = self.polls, self.logs, self.reads

        def timed_poll() -> int:
            if threading.get_ident() != loop_thread:
                return poll()
            t0, c0 = time.perf_counter(), time.thread_time()
            try:
                return poll()
            finally:
                polls.append(((time.perf_counter() - t0) * 1e3, (time.thread_time() - c0) * 1e3))

        def timed_log(seq: int, limit: int) -> list[Change]:
            if threading.get_ident() != loop_thread:
                return log(seq, limit)
            t0, c0 = time.perf_counter(), time.thread_time()
            try:
                return log(seq, limit)
            finally:
                logs.append(((time.perf_counter() - t0) * 1e3, (time.thread_time() - c0) * 1e3))

        @contextlib.contextmanager
        def timed_read(**options: Any) -> Iterator[ReadTx]:
            if threading.get_ident() != loop_thread:
                with read(**options) as tx:
                    yield tx
                return
            t0, c0 = time.perf_counter(), time.thread_time()
            try:
                with read(**options) as tx:
                    yield tx
            finally:
                reads.append(((time.perf_counter() - t0) * 1e3, (time.thread_time() - c0) * 1e3))

        store.latest_seq = timed_poll  # type: ignore[method-assign]
        store.changes_after = timed_log  # type: ignore[method-assign]
        store.read = timed_read  # type: ignore[method-assign]

    def stop(self) -> None:
        del self.store.latest_seq
        del self.store.changes_after
        del self.store.read

    def report(self) -> str:
        return "\n".join(
            _timed(label, calls)
            for label, calls in (
                ("the cache's polls", self.polls),
                ("its reads of the change log", self.logs),
                ("read transactions", self.reads),
            )
        )


def _timed(label: str, calls: list[tuple[float, float]]) -> str:
    if not calls:
        return f"{label} on the loop: none"
    walls, cpus = sorted(w for w, _ in calls), sorted(c for _, c in calls)
    return (
        f"{label} on the loop: {len(calls)}, wall p50 {_pct(walls, 50):.2f} ms, p99 {_pct(walls, 99):.2f} ms,"
        f" {sum(walls):.0f} ms in all; CPU p50 {_pct(cpus, 50):.3f} ms, {sum(cpus):.0f} ms in all"
    )


def _switches() -> int:
    """The voluntary context switches of this thread so far (a wait for a lock or a system call)."""
    try:
        with open(f"/proc/self/task/{threading.get_native_id()}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("voluntary_ctxt_switches"))
    except OSError:
        return 0


def _run_queue_wait() -> float:
    """The time (ms) this thread has spent runnable but waiting for a core (Linux schedstat)."""
    try:
        with open(f"/proc/self/task/{threading.get_native_id()}/schedstat") as f:
            return int(f.read().split()[1]) / 1e6
    except OSError:
        return 0.0


def _task_name(handle: asyncio.Handle) -> str:
    owner = getattr(getattr(handle, "_callback", None), "__self__", None)
    return owner.get_name() if isinstance(owner, asyncio.Task) else "callbacks"


def _where(handle: asyncio.Handle) -> str | None:
    """Where the task a callback steps is suspended: its innermost awaited coroutine's function
    and line (None: not a task's step)."""
    owner = getattr(getattr(handle, "_callback", None), "__self__", None)
    if not isinstance(owner, asyncio.Task):
        return None
    coro: Any = owner.get_coro()
    while getattr(coro, "cr_await", None) is not None and hasattr(coro.cr_await, "cr_frame"):
        coro = coro.cr_await
    frame = getattr(coro, "cr_frame", None)
    if frame is None:
        return f"{owner.get_name()}: done"
    return f"{owner.get_name()}: {frame.f_code.co_qualname}:{frame.f_lineno}"


def _what_ran(handle: asyncio.Handle, resumed: str | None) -> str:
    """The task's step from where it resumed to where it suspended, or the callback's name."""
    if resumed is not None:
        return f"{resumed} -> {(_where(handle) or '').partition(': ')[2]}"
    callback = getattr(handle, "_callback", None)
    return getattr(callback, "__qualname__", repr(callback))


def _pct(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, int(len(values) * p / 100))]


async def _paced(
    rate: float,
    seconds: float,
    call: Callable[[int], Coroutine[Any, Any, Any]],
    latencies: list[float],
    name: str,
) -> int:
    """Start ``call(i)`` at ``rate`` a second for ``seconds`` (on schedule whatever the replies);
    each one's time from the instant it was due to its end goes to ``latencies``. Returns the
    calls started."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    tasks: list[asyncio.Task[None]] = []

    async def one(i: int, due: float) -> None:
        await call(i)
        latencies.append((time.perf_counter() - due) * 1e3)

    i = 0
    while (due := start + i / rate) < start + seconds:
        await asyncio.sleep(max(0.0, due - loop.time()))
        tasks.append(asyncio.create_task(one(i, time.perf_counter() - (loop.time() - due)), name=name))
        i += 1
    await asyncio.gather(*tasks)
    return i


def _summary(label: str, latencies: list[float], asked: int, seconds: float) -> str:
    ls = sorted(latencies)
    return (
        f"{label}: {len(ls)} of {asked} ({len(ls) / seconds:.0f}/s), p50 {statistics.median(ls):.2f} ms,"
        f" p99 {_pct(ls, 99):.2f} ms, max {ls[-1]:.1f} ms"
    )


async def _run(args: argparse.Namespace) -> None:
    given = {} if args.switch_interval is None else {"switch_interval_ms": args.switch_interval}
    settings = Settings(data_dir=Path(args.data_dir), database_url=args.database_url, **given)
    app = app_on(settings)
    async with app.router.lifespan_context(app):
        drv = Driver(app)
        ctx = await signed_context(drv, app.state.directory)
        reads = SCENARIOS["wps.batch_read"].make(ctx)
        writes = SCENARIOS["wps.attrs_update"].make(ctx)

        async def read(i: int) -> None:
            await _checked(drv, reads[i % len(reads)])

        async def write(i: int) -> None:
            await _checked(drv, writes[i % len(writes)])

        for i in range(100):  # warm the cache and the code paths
            await read(i)
            if i % 5 == 0:
                await write(i)
        clock, calls = SliceClock(), StoreCalls(app.state.directory.store)
        idle: list[float] = []
        clock.start()
        calls.start()
        asked = await _paced(args.read_rate, args.seconds, read, idle, "read")
        calls.stop()
        clock.stop()
        sys.stdout.write(_summary("batch_read alone", idle, asked, args.seconds) + "\n")
        sys.stdout.write(f"the loop's CPU a read {clock.by_task['read'] / max(1, len(idle)):.2f} ms\n")
        sys.stdout.write(clock.report(args.seconds, len(idle)) + "\n")
        sys.stdout.write(calls.report() + "\n")
        beside: list[float] = []
        written: list[float] = []
        clock, calls = SliceClock(), StoreCalls(app.state.directory.store)
        clock.start()
        calls.start()
        cpu0 = time.process_time()
        asked, wasked = await asyncio.gather(
            _paced(args.read_rate, args.seconds, read, beside, "read"),
            _paced(args.write_rate, args.seconds, write, written, "write"),
        )
        cpu = time.process_time() - cpu0
        calls.stop()
        clock.stop()
        sys.stdout.write(_summary("batch_read beside", beside, asked, args.seconds) + "\n")
        sys.stdout.write(
            f"the loop's CPU a read {clock.by_task['read'] / max(1, len(beside)):.2f} ms,"
            f" a write's on the loop {clock.by_task['write'] / max(1, len(written)):.2f} ms; the rest"
            f" {sum(v for k, v in clock.by_task.items() if k not in ('read', 'write')):.0f} ms in all\n"
        )
        sys.stdout.write(_summary("batch_update", written, wasked, args.seconds) + "\n")
        sys.stdout.write(clock.report(args.seconds, len(beside) + len(written)) + "\n")
        sys.stdout.write(calls.report() + "\n")
        sys.stdout.write(
            f"CPU of the process {cpu:.2f} s in {args.seconds:.0f} s"
            f" ({cpu * 1e3 / (len(written) + len(beside)):.2f} ms a call, reads and writes)\n"
        )


async def _checked(drv: Driver, req: Request) -> None:
    status, reply = await drv.call(req)
    if status != 200 or not reply.startswith(b'{"code":0'):
        raise SystemExit(f"the call failed: {status} {reply[:300]!r}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--database-url")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--read-rate", type=float, default=200.0, help="batch_read calls a second")
    ap.add_argument("--write-rate", type=float, default=60.0, help="batch_update calls a second")
    ap.add_argument(
        "--switch-interval",
        type=float,
        help="the server's switch interval, ms (serve --switch-interval; Python's own: 5)",
    )
    args = ap.parse_args()
    asyncio.run(_run(args))


if __name__ == "__main__":
    main()
