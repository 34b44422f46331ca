"""Grouping one transaction's change records into events, for every channel's renderer.

A platform event carries one type (a WPS topic and operation, a DingTalk ``EventType``) and may
list several entities; one record may raise several events (a DingTalk dismissal that also
renames: ``user_modify_org`` and ``user_leave_org``). :func:`batches` groups the records of each
transaction (one ``seq``) by the events they raise, in the order each group first appears,
lists an entity once per group, and splits a group into events of at most ``limit`` entities.
Records of different transactions never share an event, so events stay in commit order.

Several subscriptions often render the same records (the event engine's pass reads each tenant's
records after one cursor once): :class:`Shared` keeps what their renderings have in common, the
batches and a payload's plaintext, so each is made once and only the sealing (a subscription's own
keys, nonce or event id) is done per subscription.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any, TypeVar, cast

from openroster.model.changes import StoredChange

#: Entities per event at most (WPS batches users and departments; openroster caps at 100).
BATCH_LIMIT = 100

#: What a renderer groups by: the event's topic (or ``EventType``) and a second part of its choosing.
Key = tuple[str, str]

T = TypeVar("T")


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


class Shared:
    """What the renderings of one list of change records share (one per list and pass): each
    channel keeps there, under a key naming everything its part depends on besides the records
    (its kind, the subscription's app, topics, payload style, the tenant's platform id), the part
    of its events that is the same for every subscription with that key. A subscription's own
    part (its keys, the event's nonce or id, the sealing) is never kept."""

    __slots__ = ("_made",)

    def __init__(self) -> None:
        self._made: dict[Hashable, Any] = {}

    def get(self, key: Hashable, make: Callable[[], T]) -> T:
        """What ``make`` returns for ``key``, made on the first call only."""
        if key in self._made:
            return cast(T, self._made[key])
        made = self._made[key] = make()
        return made


def shared(memo: Shared | None, key: Hashable, make: Callable[[], T]) -> T:
    """``make()``, kept in ``memo`` under ``key`` when there is one (a renderer called alone has none)."""
    return make() if memo is None else memo.get(key, make)
