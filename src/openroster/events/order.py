"""Order per entity: a delivery waits while an earlier open delivery of its subscription shares an
entity key with it (``user:<id>``, ``dept:<id>``, ``app:<id>``); other entities' events go on."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from openroster.model.changes import Delivery


@dataclass(frozen=True, slots=True)
class Holdups:
    """The oldest open delivery of each subscription and entity key: a candidate is held up when
    one of its keys has an older one (one lookup per key, however many are open)."""

    oldest: dict[tuple[str, str], int]

    def held(self, candidate: Delivery) -> bool:
        sub = candidate.subscription_id
        return any(self.oldest.get((sub, k), candidate.id) < candidate.id for k in candidate.entity_keys)


def holdups(open_keys: Iterable[tuple[int, str, tuple[str, ...]]]) -> Holdups:
    """:class:`Holdups` of ``(id, subscription_id, entity_keys)`` rows (``outbox.open_keys_before``)."""
    oldest: dict[tuple[str, str], int] = {}
    for i, sub, keys in open_keys:
        for k in keys:
            if oldest.setdefault((sub, k), i) > i:
                oldest[(sub, k)] = i
    return Holdups(oldest)
