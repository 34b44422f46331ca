"""Apps name their platform (wps or dingtalk)

An app belongs to one platform: only that platform's token endpoint knows it. Apps stored before
get it from what they hold (``Platform.derived``): a WPS scope (``kso.*``) means WPS; else a
DingTalk permission (``qyapi_*``) or an agentid means DingTalk; else WPS.
"""

from __future__ import annotations

import orjson
import sqlalchemy as sa
from alembic import op

from openroster.model.entities import Platform

revision = "0003"
down_revision = "0002"

_apps = sa.table(
    "apps", sa.column("client_id"), sa.column("scopes"), sa.column("agentid"), sa.column("platform")
)


def upgrade() -> None:
    # A NOT NULL column with a default is added in place on both backends (no table rebuild).
    op.add_column(
        "apps", sa.Column("platform", sa.String(length=16), nullable=False, server_default=Platform.WPS.value)
    )
    conn = op.get_bind()
    rows = conn.execute(sa.select(_apps.c.client_id, _apps.c.scopes, _apps.c.agentid)).all()
    dingtalk = [
        cid
        for cid, scopes, agentid in rows
        if Platform.derived(orjson.loads(scopes), agentid) is Platform.DINGTALK
    ]
    if dingtalk:
        conn.execute(
            sa.update(_apps).where(_apps.c.client_id.in_(dingtalk)).values(platform=Platform.DINGTALK.value)
        )


def downgrade() -> None:
    with op.batch_alter_table("apps", schema=None) as batch_op:
        batch_op.drop_column("platform")
