"""Grouping change records into events, for every channel's renderer.

A platform event carries one type (a WPS topic and operation, a DingTalk ``EventType``) and may
list several entities; one record may raise several events (a DingTalk dismissal that also
renames: ``user_modify_org`` and ``user_leave_org``). :func:`batches` groups the records it is
given (the transactions a pass fans out for one subscription) by the events they raise, in the
order each group first appears, and starts another event of a type once one holds ``limit``
entities. An event lists an entity once, with its first record of one transaction: a change of it
in a later transaction is another event, with its own ``src``. Records of several transactions
share an event where each entity's events stay in commit order: a record joins the open event of
its type only when its entity is in no event opened after it (else it opens one of its own, which
later records of the type join), so an update, a delete and an update of one entity are three
events, in that order. Events of different entities are not ordered among themselves (the outbox
holds up only an entity's later events, and so the events that list it: an event held up holds up
the other entities it lists; so an entity ``held``, one an open delivery lists, is in events of its
own, and a refused event holds up no one but the people it listed). An event's seq and time are
its opening record's, so an entity's never go back.

Several subscriptions often render the same records (the event engine's pass reads each tenant's
records after one cursor once): :class:`Shared` keeps what their renderings have in common, the
batches and a payload's plaintext, so each is made once and only the sealing (a subscription's own
keys, nonce or event id) is done per subscription.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from openroster.model.changes import EntityKind, StoredChange

#: Entities per event at most (WPS batches users and departments; openroster caps at 100).
BATCH_LIMIT = 100

#: What a renderer groups by: the event's topic (or ``EventType``) and a second part of its choosing.
Key = tuple[str, str]

T = TypeVar("T")

#: The prefix of a record's entity key by its kind (any other kind's entity is a user).
_KEY_PREFIX = {EntityKind.DEPARTMENT: "dept", EntityKind.APP_SCOPES: "app"}


def entity_key(change: StoredChange) -> str:
    """The key the outbox orders the events of ``change``'s entity by (``user:u1``, ``dept:7``)."""
    return f"{_KEY_PREFIX.get(change.record.kind, 'user')}:{change.record.entity_id}"


@dataclass(frozen=True, slots=True)
class Batch:
    """The records of one event: its ``key`` (what the renderer grouped by), the ``seq`` and
    commit time of the first transaction it holds a record of (the record that opened it: so an
    entity's events never go back in seq or time, as each later one is opened after its earlier
    one's records), and the changes, one per entity."""

    key: Key
    seq: int
    committed_at: int
    changes: tuple[StoredChange, ...]

    @property
    def topic(self) -> str:
        return self.key[0]

    def entity_keys(self) -> tuple[str, ...]:
        """The batch's entities as the outbox orders them (:func:`entity_key`)."""
        return tuple(entity_key(c) for c in self.changes)


@dataclass(slots=True)
class _Group:
    key: Key
    by_entity: dict[str, StoredChange]
    seq: int
    committed_at: int

    def takes(self, change: StoredChange, later: bool, limit: int) -> bool:
        """Whether ``change`` (a record of a transaction whose entity is in no event of this type
        yet) may join this event: its entity is in no later event (``later``), is not in this one
        (by an earlier transaction's record) and there is room."""
        return not later and change.record.entity_id not in self.by_entity and len(self.by_entity) < limit


def batches(
    changes: Sequence[StoredChange],
    keys: Callable[[StoredChange], Iterable[Key]],
    topics: Sequence[str] = (),
    limit: int = BATCH_LIMIT,
    held: Collection[str] = frozenset(),
) -> list[Batch]:
    """The events ``changes`` (whole transactions, in commit order) raise: ``keys`` names each
    event a record raises (none: no event), and only the ``topics`` asked for are kept (all when
    empty). Each entity's events are in commit order (the module's docstring). An entity whose
    key (:func:`entity_key`) is ``held`` (an open delivery of the subscription lists it: its
    events wait for that one) is in events of its own, so it holds up no other entity."""
    groups: list[_Group] = []
    joining: dict[Key, int] = {}  # the event each type's records join: an index in ``groups``
    last: dict[str, int] = {}  # the last event each entity is in
    listed: set[tuple[Key, str, int]] = set()  # (type, entity, transaction) already in an event
    for change in changes:
        entity = change.record.entity_id
        alone = bool(held) and entity_key(change) in held
        for k in keys(change):
            if topics and k[0] not in topics:
                continue
            if (k, entity, change.seq) in listed:
                continue  # listed once per transaction, with its first record (even if full)
            listed.add((k, entity, change.seq))
            i = joining.get(k)
            if alone or i is None or not groups[i].takes(change, last.get(entity, -1) > i, limit):
                i = len(groups)
                groups.append(_Group(k, {}, change.seq, change.committed_at))
                if not alone:  # an event of its own is joined by none
                    joining[k] = i
            groups[i].by_entity.setdefault(entity, change)
            last[entity] = i
    return [Batch(g.key, g.seq, g.committed_at, tuple(g.by_entity.values())) for g in groups]


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
