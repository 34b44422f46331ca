"""Grouping one transaction's change records into events, for every channel's renderer.

A platform event carries one type (a WPS topic and operation, a DingTalk ``EventType``) and may
list several entities; one record may raise several events (a DingTalk dismissal that also
renames: ``user_modify_org`` and ``user_leave_org``). :func:`batches` groups the records of each
transaction (one ``seq``) by the events they raise, in the order each group first appears,
lists an entity once per group, and splits a group into events of at most ``limit`` entities.
Records of different transactions never share an event, so events stay in commit order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby

from openroster.model.changes import StoredChange

#: Entities per event at most (WPS batches users and departments; openroster caps at 100).
BATCH_LIMIT = 100

#: What a renderer groups by: the event's topic (or ``EventType``) and a second part of its choosing.
Key = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Batch:
    """The records of one event: its ``key`` (what the renderer grouped by), the transaction's
    ``seq`` and commit time, and the changes, one per entity."""

    key: Key
    seq: int
    committed_at: int
    changes: tuple[StoredChange, ...]

    @property
    def topic(self) -> str:
        return self.key[0]

    def entity_keys(self, prefix: str) -> tuple[str, ...]:
        """The batch's entities as the outbox orders them: ``<prefix>:<entity id>``."""
        return tuple(f"{prefix}:{c.record.entity_id}" for c in self.changes)


def batches(
    changes: Sequence[StoredChange],
    keys: Callable[[StoredChange], Iterable[Key]],
    topics: Sequence[str] = (),
    limit: int = BATCH_LIMIT,
) -> list[Batch]:
    """The events ``changes`` raise, in commit order: ``keys`` names each event a record raises
    (none: no event), and only the ``topics`` asked for are kept (all when empty)."""
    out: list[Batch] = []
    for seq, same_tx in groupby(changes, key=lambda c: c.seq):
        groups: dict[Key, dict[str, StoredChange]] = {}
        for change in same_tx:
            for k in keys(change):
                if not topics or k[0] in topics:
                    groups.setdefault(k, {}).setdefault(change.record.entity_id, change)
        for k, by_entity in groups.items():
            items = list(by_entity.values())
            for start in range(0, len(items), limit):
                chunk = tuple(items[start : start + limit])
                out.append(Batch(k, seq, chunk[0].committed_at, chunk))
    return out
