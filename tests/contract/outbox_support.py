"""What the outbox's contract tests share (tenant ``acme``): subscriptions, events, the outbox's rows."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event as sa_event
from sqlalchemy import select

from openroster.core.directory import Directory
from openroster.model.changes import Delivery, RenderedEvent, Subscription
from openroster.store import schema
from openroster.store.outbox import key_context


def unseal(d: Directory) -> object:
    return lambda sealed, context: d.master_key.unseal(sealed, context=context)


def subscribe(d: Directory, sub_id: str = "s1", **kw: object) -> Subscription:
    sub = Subscription(sub_id, "acme", "dingtalk", "app-1", "http://127.0.0.1:9/x", **kw)  # type: ignore[arg-type]
    with d.writer() as tx:
        tx.outbox.insert_subscription(
            sub,
            token_sealed=d.master_key.seal("tok", context=key_context(sub_id, "token")),
            aes_key_sealed=d.master_key.seal("a" * 43, context=key_context(sub_id, "aes_key")),
        )
    return sub


def event(seq: int, *keys: str) -> RenderedEvent:
    return RenderedEvent(seq, f"e{seq}-{'-'.join(keys)}", "kso.user", "update", keys, b'{"x":1}')


def listed(directory: Directory) -> list[Delivery]:
    """The tenant's deliveries, oldest first."""
    with directory.store.read() as tx:
        return tx.outbox.list_deliveries("acme")


def key_rows(directory: Directory) -> list[tuple[str, str, int]]:
    """The rows of ``delivery_keys``: (subscription, entity key, delivery id)."""
    k = schema.delivery_keys.c
    with directory.store.read() as tx:
        rows = tx.conn.execute(select(k.subscription_id, k.entity_key, k.delivery_id)).all()
    return sorted((r[0], r[1], r[2]) for r in rows)


@contextmanager
def statements_run(directory: Directory) -> Iterator[list[str]]:
    """The statements the store runs inside the block, as it runs them."""
    ran: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        ran.append(statement)

    sa_event.listen(directory.store.engine, "before_cursor_execute", count)
    try:
        yield ran
    finally:
        sa_event.remove(directory.store.engine, "before_cursor_execute", count)
