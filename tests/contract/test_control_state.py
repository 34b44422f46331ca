"""The control plane's shared state in the store, on both backends: a rule's times are spent
exactly once each under concurrency, and the journal refuses calls recorded before it was emptied."""

from __future__ import annotations

import threading

from openroster.core.directory import Directory
from openroster.store.controlplane import decode_headers, encode_headers


def test_a_rules_times_are_spent_exactly_once_each_by_concurrent_processes(
    directory: Directory, other_process: Directory
) -> None:
    with directory.store.write() as tx:
        limited = tx.control.add_fault({"action": "http"}, 10)
        unlimited = tx.control.add_fault({"action": "latency"}, None)
    taken: list[int | None] = []
    lock = threading.Lock()

    def hammer(d: Directory) -> None:
        for _ in range(10):
            with d.store.write() as tx:
                left = tx.control.take_fault(limited, limited=True)
                tx.control.take_fault(unlimited, limited=False)
            with lock:
                taken.append(left)

    threads = [threading.Thread(target=hammer, args=(d,)) for d in (directory, other_process) * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted((x for x in taken if x is not None), reverse=True) == list(range(9, -1, -1))
    assert taken.count(None) == 30
    with directory.store.read() as tx:
        rows = {n: (remaining, hits) for n, _, remaining, hits in tx.control.faults()}
    assert rows == {limited: (0, 10), unlimited: (None, 40)}


def _call(request_id: str) -> dict[str, object]:
    return {
        "at": 1.0,
        "method": "GET",
        "path": "/v7/depts/1",
        "query": b"",
        "headers": encode_headers([(b"host", b"x")]),
        "body": b"",
        "body_size": 0,
        "status": 200,
        "reply_head": b"{}",
        "latency": 0.001,
        "request_id": request_id,
        "fault": None,
    }


def test_the_journal_keeps_its_newest_calls_and_refuses_calls_from_before_it_was_emptied(
    directory: Directory,
) -> None:
    with directory.store.write() as tx:
        generation = tx.control.journal_generation(lock=True)
        for k in range(5):
            assert tx.control.append_journal([_call(f"r{k}")], keep=3, generation=generation) == generation
    with directory.store.read() as tx:
        rows = tx.control.journal_rows(after=None, before=None, limit=10)
        assert [r[11] for r in rows] == ["r4", "r3", "r2"]
        assert tx.control.journal_dropped() == 2
    with directory.store.write() as tx:
        assert tx.control.clear_journal() == 3
    with directory.store.write() as tx:  # a process that has not learned of the emptying yet
        assert tx.control.append_journal([_call("stale")], keep=3, generation=generation) == generation + 1
    with directory.store.read() as tx:
        assert tx.control.journal_count() == 0 and tx.control.journal_dropped() == 0
        newest_id = rows[0][0]
    with directory.store.write() as tx:
        tx.control.append_journal([_call("fresh")], keep=3, generation=generation + 1)
    with directory.store.read() as tx:
        [row] = tx.control.journal_rows(after=None, before=None, limit=10)
    assert row[11] == "fresh" and row[0] > newest_id  # ids are never given twice


def test_calls_forgotten_by_id_leave_the_others_and_their_headers(directory: Directory) -> None:
    """What ``DELETE /_openroster/journal?tenant=...`` does to the table (control/shared_journal.py)."""
    with directory.store.write() as tx:
        generation = tx.control.journal_generation(lock=True)
        tx.control.append_journal([_call(f"r{k}") for k in range(4)], keep=10, generation=generation)
    with directory.store.read() as tx:
        ids = {r[11]: r[0] for r in tx.control.journal_rows(after=None, before=None, limit=10)}
    with directory.store.write() as tx:
        assert tx.control.delete_journal([ids["r1"], ids["r3"]]) == 2
        assert tx.control.delete_journal([ids["r1"]]) == 0
    with directory.store.read() as tx:
        rows = tx.control.journal_rows(after=None, before=None, limit=10)
    assert [r[11] for r in rows] == ["r2", "r0"]
    assert decode_headers(rows[0][5]) == ((b"host", b"x"),)
