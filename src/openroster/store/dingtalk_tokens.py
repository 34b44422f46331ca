"""Queries on DingTalk access tokens (sealed; looked up by keyed hash)."""

from __future__ import annotations

from sqlalchemy import Connection, delete, insert, select, update

from openroster.model.entities import IssuedToken
from openroster.store.schema import apps, dingtalk_tokens, tenants
from openroster.store.sql import column_values


def lock_app(conn: Connection, client_id: str) -> None:
    """Serialize token issuing per app until commit (PostgreSQL; SQLite writers are serial)."""
    conn.execute(select(apps.c.client_id).where(apps.c.client_id == client_id).with_for_update())


def latest_for_app(conn: Connection, client_id: str) -> IssuedToken | None:
    c = dingtalk_tokens.c
    row = conn.execute(
        select(c.token_hash, c.client_id, c.tenant_id, c.token_sealed, c.secret_version, c.expires_at)
        .where(c.client_id == client_id)
        .order_by(c.expires_at.desc())
        .limit(1)
    ).first()
    return IssuedToken(*row) if row is not None else None


def insert_token(conn: Connection, row: IssuedToken, *, ctime: int) -> None:
    conn.execute(insert(dingtalk_tokens).values(**column_values(row, without={"corp_id"}), ctime=ctime))


def extend(conn: Connection, token_hash: str, expires_at: int) -> None:
    conn.execute(
        update(dingtalk_tokens)
        .where(dingtalk_tokens.c.token_hash == token_hash)
        .values(expires_at=expires_at)
    )


def prune(conn: Connection, client_id: str, *, expired_before: int) -> None:
    """Forget the app's tokens that expired before ``expired_before``."""
    c = dingtalk_tokens.c
    conn.execute(delete(dingtalk_tokens).where(c.client_id == client_id, c.expires_at < expired_before))


def get(conn: Connection, token_hash: str) -> IssuedToken | None:
    c = dingtalk_tokens.c
    row = conn.execute(
        select(
            c.token_hash,
            c.client_id,
            c.tenant_id,
            c.token_sealed,
            c.secret_version,
            c.expires_at,
            tenants.c.dingtalk_corp_id,
        )
        .join(tenants, tenants.c.id == c.tenant_id)
        .where(c.token_hash == token_hash)
    ).first()
    return IssuedToken(*row) if row is not None else None
