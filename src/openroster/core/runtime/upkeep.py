"""Background upkeep of the store each server process runs: pruning the change log.

The change log (``store/changes.py``) is how every process learns what another one wrote. Each
process prunes it to the newest ``keep`` entries (``serve --change-retention``) in small steps,
one short write transaction each, so no writer waits long for the pruner. In a server the steps
run as jobs on the store's writers (``store/writer.py``), never on the event loop: a step there
waited for the write lock (SQLite) or the change counter (PostgreSQL) with the loop blocked. A
process whose cache fell behind what was pruned starts its cache over (``DirectoryCache.refresh``)
instead of replaying. Several processes on one store may prune at once: each step deletes what is
beyond the bound then, and a second one finds nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine

from openroster.store import Store
from openroster.store.writer import GroupWriter

log = logging.getLogger("openroster")

#: Seconds between two pruning passes.
PRUNE_EVERY = 2.0
#: Entries deleted per transaction, at most (more only when one transaction logged more: it goes whole).
PRUNE_STEP = 1000


def prune_change_log(store: Store, keep: int, *, step: int = PRUNE_STEP) -> int:
    """One step: delete at most ``step`` of the entries beyond the newest ``keep``; how many went."""
    with store.write() as tx:
        return tx.changes.prune_log(keep, step)


class BackgroundTask:
    """A coroutine function run as a task of the running loop from :meth:`start` to :meth:`stop`."""

    def __init__(self, name: str, run: Callable[[], Coroutine[None, None, None]]) -> None:
        self.name = name
        self._run = run
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class ChangeLogPruner:
    """Prunes the change log in the background of the running event loop, from :meth:`start` to
    :meth:`stop`."""

    def __init__(self, writes: GroupWriter, keep: int, *, every: float = PRUNE_EVERY) -> None:
        self.writes = writes
        self.keep = keep
        self.every = every
        self._task = BackgroundTask("openroster-prune", self._run)
        self.start, self.stop = self._task.start, self._task.stop

    async def prune(self) -> int:
        """Steps until nothing is beyond the bound, yielding the loop between two; how many went."""
        gone = 0
        while True:
            n: int = await self.writes.run(lambda tx: tx.changes.prune_log(self.keep, PRUNE_STEP))
            gone += n
            # Not ``n < PRUNE_STEP``: a step that ends at a transaction's first entry deletes fewer
            # with more beyond the bound.
            if n == 0:
                return gone
            await asyncio.sleep(0)

    async def _run(self) -> None:
        while True:
            try:
                await self.prune()
            except Exception:
                log.exception("pruning the change log failed; trying again")
            await asyncio.sleep(self.every)
