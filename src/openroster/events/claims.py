"""Which due deliveries a pass of the event engine may claim (``events/engine.py``).

A pass claims at most :data:`CLAIM_BATCH` deliveries, oldest first, of those ``outbox.due_candidates``
finds (order per entity is kept there, in SQL), but leaves the deliveries of a subscription alone
while it has a whole claim's worth of attempts under way, those of a pushed kind (Stream mode) this
process holds no connection for, and any past their receiver's room: at most
``UNDER_WAY_PER_ORIGIN`` attempts under way to one origin (``events/sender.py``), however many
subscriptions share it. A receiver whose room fills leaves the page to the others: the look asks
again without it, at most three times a pass. A look is ``capped`` only when a cap left a due
delivery out (a receiver merely at its room with nothing more due is not a backlog).

The attempts under way are counted on the event loop (``EventEngine._busy``); a pass takes a copy
there (:class:`Room`) for its job, which runs in a writer thread.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from openroster.events.channels import PUSHED
from openroster.events.sender import UNDER_WAY_PER_ORIGIN, Origin, origin_of
from openroster.model.changes import ChannelContext, Delivery
from openroster.store.tx import ReadTx, WriteTx

#: Deliveries claimed and sent at once.
CLAIM_BATCH = 100


@dataclass(frozen=True, slots=True)
class Room:
    """What a pass knows of this process's sending, taken on the loop when it reads: the attempts
    under way per subscription, and the pushed-kind subscriptions without a connection here."""

    busy: Mapping[str, int]
    unconnected: frozenset[str]


@dataclass(frozen=True, slots=True)
class Look:
    """What a look for claimable deliveries found."""

    #: Up to :data:`CLAIM_BATCH` deliveries to claim, oldest first.
    eligible: list[Delivery]
    #: A due event of the pass's subscriptions held up behind an earlier open one of its entity.
    held_up: bool
    #: A due delivery left out because its receiver is at its room, or its subscription has a
    #: claim's worth under way: an attempt's end makes room for it.
    capped: bool


def waiting(contexts: Mapping[str, ChannelContext], room: Room) -> set[str]:
    """The subscriptions whose deliveries wait: of a pushed kind without a connection here, or with
    a whole claim's worth of attempts under way."""
    return {sid for sid in contexts if room.busy.get(sid, 0) >= CLAIM_BATCH or sid in room.unconnected}


def look(
    tx: ReadTx | WriteTx, now: int, wall: int, contexts: Mapping[str, ChannelContext], room: Room
) -> Look:
    """The due deliveries a pass of the subscriptions of ``contexts`` may claim now (module doc)."""
    wait = waiting(contexts, room)
    left_out = False
    origins: dict[str, Origin | None] = {
        sid: None if ctx.subscription.kind in PUSHED else origin_of(ctx.subscription.url)
        for sid, ctx in contexts.items()
    }
    under_way: Counter[Origin] = Counter()
    for sid, busy in room.busy.items():
        if (o := origins.get(sid)) is not None:
            under_way[o] += busy
    full = {o for o in under_way if under_way[o] >= UNDER_WAY_PER_ORIGIN}
    eligible: list[Delivery] = []
    taken: set[int] = set()
    for _ in range(3):
        wait |= {sid for sid, o in origins.items() if o is not None and o in full}
        capped = wait - room.unconnected
        due = tx.outbox.due_candidates(now, wall, CLAIM_BATCH, waiting=wait, capped=capped)
        left_out |= due.capped_due
        filled = False
        for c in due.deliveries:
            if c.subscription_id not in origins or c.id in taken:
                continue  # made or resumed since the pass's read: the next pass has it
            if (o := origins[c.subscription_id]) is not None:
                if o in full:
                    left_out = True
                    continue
                under_way[o] += 1
                if under_way[o] >= UNDER_WAY_PER_ORIGIN:
                    full.add(o)
                    filled = True
            eligible.append(c)
            taken.add(c.id)
            if len(eligible) >= CLAIM_BATCH:
                break
        if not filled or len(eligible) >= CLAIM_BATCH or len(due.deliveries) < CLAIM_BATCH:
            break
    held = due.held_up
    return Look(eligible, held is not None and held.subscription_id in contexts, left_out)
