"""The journal every process on a store shares (control/shared_journal.py): a call recorded in
one process before another empties the journal never shows up after."""

from __future__ import annotations

import asyncio

from openroster.control.calls import RawCall
from openroster.control.journal import Journal
from openroster.control.shared_journal import SharedJournal
from openroster.core.directory import Directory


def _nobody(_call: RawCall) -> str | None:
    return None


def _journal(d: Directory) -> SharedJournal:
    return SharedJournal(Journal(10), lambda: d.store, _nobody, lambda: d.writes)


def _record(journal: SharedJournal, path: str) -> None:
    scope = {"method": "GET", "path": path, "query_string": b"", "headers": []}
    journal.local.record(scope, 1_700_000_000.0, 1.0, [], 0, 200, b'{"code":0}', "rid", None, 1.002)


def test_a_call_recorded_before_another_process_empties_the_journal_never_shows_up(
    directory: Directory, other_process: Directory
) -> None:
    """A process that has moved nothing yet and seen no emptying (its generation not yet learned)
    records a call; another process empties the journal; the first then moves its calls: the call
    made before the emptying is not in the journal, one made after is."""
    ours, theirs = _journal(directory), _journal(other_process)

    async def run() -> None:
        ours.start()
        try:
            _record(ours, "/v7/users/before")
            assert theirs.clear() == 0
            ours.flush()
            assert [e.path for e in theirs.entries()] == []
            # The emptying learned through the change log: calls made after it are kept.
            with directory.store.read() as tx:
                ours.learn(tx, None)
            _record(ours, "/v7/users/after")
            ours.flush()
            assert [e.path for e in theirs.entries()] == ["/v7/users/after"]
        finally:
            await ours.stop()

    asyncio.run(run())
