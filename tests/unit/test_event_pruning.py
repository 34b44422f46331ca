"""The event engine prunes change records in bounded steps: one writers' job per step, so a minute
of writes to prune never holds the writes queued behind it for long (the store's side of a step is
in ``tests/contract/test_outbox_contract.py``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from openroster.core.directory import Directory
from openroster.core.tenancy import tenants
from openroster.events import engine as engine_module
from openroster.events.engine import EventEngine
from openroster.model.changes import ChangeRecord, EntityKind, Operation
from openroster.store.tx import WriteTx


def test_pruning_goes_in_steps_until_every_prunable_record_is_gone(
    directory: Directory, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenants.create(directory, tenant_id="acme", name="Acme")  # no subscription: every record may go
    with directory.writer() as tx:
        for i in range(5):
            tx.record(ChangeRecord("acme", EntityKind.USER, Operation.CREATE, f"u{i}"))
    monkeypatch.setattr(engine_module, "PRUNE_STEP", 2)
    engine = EventEngine(directory)
    jobs: list[Any] = []
    write = engine.write

    def counted(job: Callable[[WriteTx], Any]) -> Any:
        jobs.append(result := write(job))
        return result

    monkeypatch.setattr(engine, "write", counted)
    assert engine.prune() == (0, 5)
    assert jobs == [(0, 2), 2, 1]  # the first step with the deliveries' prune, then records alone
    with directory.store.read() as tx:
        assert tx.changes.records_after("acme", 0, 10) == []
