"""Grouping one transaction's change records into events, for every channel's renderer.

A platform event carries one type (a WPS topic and operation, a DingTalk ``EventType``) and may
list several entities. :func:`batches` groups the records of each transaction (one ``seq``) by
the event they raise, in the order each group first appears, lists an entity once per group,
and splits a group into events of at most ``limit`` entities. Records of different transactions
never share an event, so events stay in commit order.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Generic, TypeVar

from openroster.model.changes import StoredChange

#: Entities per event at most (WPS batches users and departments; openroster caps at 100).
BATCH_LIMIT = 100

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class Batch(Generic[K]):
    """The records of one event: its ``key`` (what the renderer grouped by), the transaction's
    ``seq`` and commit time, and the changes, one per entity."""

    key: K
    seq: int
    committed_at: int
    changes: tuple[StoredChange, ...]


def batches(
    changes: Sequence[StoredChange], key: Callable[[StoredChange], K | None], limit: int = BATCH_LIMIT
) -> list[Batch[K]]:
    """The events ``changes`` raise, in commit order; records whose ``key`` is ``None`` raise none."""
    out: list[Batch[K]] = []
    for seq, same_tx in groupby(changes, key=lambda c: c.seq):
        groups: dict[K, dict[str, StoredChange]] = {}
        for change in same_tx:
            k = key(change)
            if k is not None:
                groups.setdefault(k, {}).setdefault(change.record.entity_id, change)
        for k, by_entity in groups.items():
            items = list(by_entity.values())
            for start in range(0, len(items), limit):
                chunk = tuple(items[start : start + limit])
                out.append(Batch(k, seq, chunk[0].committed_at, chunk))
    return out
