"""The outbox's writes on SQLite that take many rows, each one statement whatever it carries.

``store/outbox.py`` runs these where PostgreSQL runs ``store/outbox_pg.py``'s. SQLite runs in
process, so a statement costs no round trip, but each is still prepared, stepped and counted by the
writers' thread, and a pass of the event engine paid one per subscription's cursor. Each takes its
rows as one JSON array (``json_each``, one parameter), so its text is the same whatever the number
of rows and SQLite's limit on parameters (999 in its older builds) never applies. SQLite (3.35 and
later) has ``UPDATE ... FROM`` and ``RETURNING`` but no data-modifying CTEs, so a step that writes
another table is a statement of its own:

- :func:`store_cursors`: every subscription's cursor moved by one compare-and-set (SQLite's one
  writer serialises the fan-outs: no lock order to keep);
- :func:`record_outcomes`: the outcomes, returning what they wrote, then the keys of the
  deliveries they ended (only of those whose lease ``owner`` still held), when they ended one;
- :func:`insert_open`: the fan-out's (and a replay's) deliveries, then their entity keys (SQLAlchemy's
  ``INSERT ... RETURNING`` of many rows wrote a statement per call with a parameter per value, and
  the keys went one ``executemany`` step a row);
- :func:`claim`: the leases of a pass's claim (a statement built per call, with a parameter per
  id, cost the writers' thread more to compile and bind than SQLite took to run it).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Connection, text

from openroster.model.changes import OPEN_STATUSES, SubscriptionStatus
from openroster.store.schema import deliveries

if TYPE_CHECKING:
    from openroster.store.outbox import Outcome

_CURSORS = text(
    f"""
UPDATE subscriptions SET cursor_seq = json_extract(c.value, '$[1]')
FROM json_each(:cursors) AS c
WHERE subscriptions.id = json_extract(c.value, '$[0]')
    AND subscriptions.cursor_seq = json_extract(c.value, '$[2]')
    AND subscriptions.status = '{SubscriptionStatus.ACTIVE.value}'
RETURNING subscriptions.id
"""
)


def store_cursors(conn: Connection, cursors: Sequence[tuple[str, int, int]]) -> set[str]:
    """Move each ``(subscription id, seq, expect)``'s cursor to ``seq``, only while the
    subscription is active and its cursor is still ``expect`` (the fan-out's compare-and-set), in
    one statement. Returns the ids of those that moved."""
    if not cursors:
        return set()
    return {str(i) for i in conn.execute(_CURSORS, {"cursors": orjson.dumps(cursors).decode()}).scalars()}


_RECORD = text(
    """
UPDATE deliveries SET status = json_extract(o.value, '$[1]'),
    attempts = json_extract(o.value, '$[2]'), next_attempt_at = json_extract(o.value, '$[3]'),
    first_attempt_at = json_extract(o.value, '$[4]'), last_status = json_extract(o.value, '$[5]'),
    last_error = json_extract(o.value, '$[6]'), delivered_at = json_extract(o.value, '$[7]'),
    lease_owner = NULL, lease_until = NULL
FROM json_each(:outcomes) AS o
WHERE deliveries.id = json_extract(o.value, '$[0]') AND deliveries.lease_owner = :owner
RETURNING deliveries.id, deliveries.status
"""
)

_FORGET = text("DELETE FROM delivery_keys WHERE delivery_id IN (SELECT value FROM json_each(:ended))")

_OPEN = {s.value for s in OPEN_STATUSES}


def record_outcomes(conn: Connection, owner: str, outcomes: Sequence[Outcome]) -> int:
    """``outbox.record_outcomes`` in one statement, and one more for the entity keys of the
    deliveries it ended, if it ended one. ``outcomes`` has one outcome per delivery (SQLite's
    ``UPDATE ... FROM`` takes any one of several rows matching). Returns how many it wrote."""
    rows = [o.row() for o in outcomes]
    written = conn.execute(_RECORD, {"outcomes": orjson.dumps(rows).decode(), "owner": owner}).all()
    ended = [int(r[0]) for r in written if r[1] not in _OPEN]
    if ended:
        conn.execute(_FORGET, {"ended": orjson.dumps(ended).decode()})
    return len(written)


#: The columns :func:`insert_open` writes, the body last (all but the id).
_OTHERS = tuple(c.name for c in deliveries.c if c.name not in ("id", "body"))
# Each row a JSON array of its values, the body last, as its text (JSON has no bytes), stored as the
# bytes of that text: a BLOB.
_INSERT_OPEN = text(
    f"""
INSERT INTO deliveries ({", ".join(_OTHERS)}, body)
SELECT {", ".join(f"json_extract(e.value, '$[{n}]')" for n in range(len(_OTHERS)))},
    CAST(json_extract(e.value, '$[{len(_OTHERS)}]') AS BLOB)
FROM json_each(:rows) AS e ORDER BY e.key
RETURNING id
"""
)
_INSERT_KEYS = text(
    """
INSERT INTO delivery_keys (subscription_id, entity_key, delivery_id)
SELECT json_extract(k.value, '$[0]'), json_extract(k.value, '$[1]'), json_extract(k.value, '$[2]')
FROM json_each(:keys) AS k
"""
)


#: How JSON writes a NUL character (``json_extract`` ends the text it returns there), and that
#: escape where it is one: not the text ``\u0000`` (JSON's ``\\u0000``, after an even number of
#: backslashes).
_JSON_NUL = "\\u0000"
_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def has_nul(json_text: str) -> bool:
    """Whether ``json_text`` (JSON as orjson writes it) holds a NUL character in a string."""
    return _JSON_NUL in json_text and _NUL_ESCAPE.search(json_text) is not None


def insert_open(conn: Connection, rows: Sequence[tuple[Mapping[str, Any], Sequence[str]]]) -> bool:
    """``outbox``'s insert of open deliveries (each row with its entity keys), in the given order,
    and of their keys: two statements of one text each, whatever the number of rows. False, having
    inserted nothing, when a value is not text SQLite can carry in JSON: a body not UTF-8, or a NUL
    in any text (``json_extract`` cuts a body, event id, topic or entity key at it): the caller
    inserts those its own way. The rows take increasing ids in their order (the ``SELECT``'s order,
    one row inserted after another), so the sorted ids are theirs in order."""
    try:
        values = [[*(r[c] for c in _OTHERS), bytes(r["body"]).decode()] for r, _ in rows]
    except UnicodeDecodeError:
        return False
    rows_json = orjson.dumps(values).decode()
    # Each key with its row's place, checked before anything is inserted; the place becomes the id.
    placed = [
        (r["subscription_id"], key, n)
        for n, (r, entity_keys) in enumerate(rows)
        for key in dict.fromkeys(entity_keys)
    ]
    if has_nul(rows_json) or has_nul(orjson.dumps(placed).decode()):
        return False
    ids = sorted(int(i) for i in conn.execute(_INSERT_OPEN, {"rows": rows_json}).scalars())
    if placed:
        keys = [(sub_id, key, ids[n]) for sub_id, key, n in placed]
        conn.execute(_INSERT_KEYS, {"keys": orjson.dumps(keys).decode()})
    return True


_CLAIM = text(
    """
UPDATE deliveries SET lease_owner = :owner, lease_until = :until
WHERE id IN (SELECT value FROM json_each(:ids))
    AND status IN (SELECT value FROM json_each(:open))
    AND (lease_until IS NULL OR lease_until < :wall)
    AND (:now IS NULL OR next_attempt_at <= :now)
RETURNING id
"""
)
_OPEN_JSON = orjson.dumps(sorted(_OPEN)).decode()


def claim(
    conn: Connection, ids: Collection[int], owner: str, *, wall_ms: int, lease_ms: int, now_ms: int | None
) -> list[int]:
    """``outbox.claim`` in one statement of the same text whatever the number of ``ids``."""
    params = {
        "ids": orjson.dumps(list(ids)).decode(),
        "open": _OPEN_JSON,
        "owner": owner,
        "until": wall_ms + lease_ms,
        "wall": wall_ms,
        "now": now_ms,
    }
    return sorted(int(i) for i in conn.execute(_CLAIM, params).scalars())
