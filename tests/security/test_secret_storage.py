"""Secrets at rest: a copy of the database alone reveals no usable secret or token.

Every signing scheme but "none" needs the app secret itself (KSO-1, WPS-4 and
WPS-4-GM sign with HMAC keyed by it), so the server must be able to recover it:
secrets are sealed with AES-256-GCM under the master key, which lives outside
the database (``master.key`` or ``OPENROSTER_MASTER_KEY``), bound to their app
(the client id is the associated data). WPS tokens are not stored at all
(self-contained, MAC'd with a key derived from the master key); DingTalk tokens
are stored as an HMAC (for lookup) and sealed. These tests take the database as
a thief would (the SQLite files; every row of every PostgreSQL table) and
search it; then they try the sealed secrets under another key and under
another app's identity.

Why PostgreSQL too (``both_stores``, CONTRIBUTING.md): the thief's copy of a PostgreSQL store is
every row of every table, read over its own connection, not a file.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import orjson
import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import select

from openroster.config import Settings
from openroster.core.runtime.secrets import MasterKey
from openroster.server.app import open_directory
from openroster.store import schema
from openroster.testing.control import ControlClient
from reliability.servers import ADMIN_TOKEN, WorldServer, backend_params, world_server
from security.world import WPS_APPS, secret_of

pytestmark = [pytest.mark.slow, pytest.mark.both_stores]


@pytest.fixture(scope="module", params=backend_params())
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorldServer]:
    with world_server(request, tmp_path_factory, str(request.param)) as w:
        yield w


def _database_bytes(world: WorldServer) -> bytes:
    """Everything a copy of the database holds: the SQLite files, or every row of every table."""
    if world.database_url.startswith("sqlite"):
        return b"".join(
            p.read_bytes() for p in sorted(world.data_dir.iterdir()) if p.name.startswith("openroster.db")
        )
    d = open_directory(Settings(data_dir=world.data_dir, database_url=world.database_url))
    try:
        with d.store.read() as tx:
            return b"".join(
                repr(tuple(row)).encode()
                for t in schema.metadata.sorted_tables
                for row in tx.conn.execute(select(t))
            )
    finally:
        d.store.dispose()


def _every_secret(world: WorldServer) -> dict[str, str]:
    apps = [c.app(k) for c in (world.acme, world.globex) for k in (*WPS_APPS, "ding")]
    return {cid: secret_of(cid) for cid in apps}


@pytest.mark.e2e
def test_a_copy_of_the_database_reveals_no_secret_token_or_key(world: WorldServer) -> None:
    wps, ding = world.wps_token, world.dingtalk_token
    with httpx.Client(
        base_url=world.base_url, timeout=30
    ) as http:  # use both, so all a call writes is written
        auth = {"Authorization": f"Bearer {wps}"}
        http.post("/v7/users/batch_read", json={"user_ids": ["shared-1"], "status": ["active"]}, headers=auth)
        http.post("/topapi/v2/user/get", params={"access_token": ding}, json={"userid": "shared-1"})
    data = _database_bytes(world)
    assert len(data) > 10_000
    key = MasterKey.load(world.data_dir / "master.key").export()
    needles = {
        **_every_secret(world),
        "WPS token": wps,
        "DingTalk token": ding,
        "master key": key,
        "admin token": ADMIN_TOKEN,
    }
    found = [name for name, value in needles.items() if value.encode() in data]
    assert not found, f"in the database: {found}"
    # The secret is not there in another spelling either (base64, hex, UTF-16).
    secret = secret_of(world.acme.app("kso")).encode()
    for spelling in (base64.b64encode(secret), secret.hex().encode(), secret.decode().encode("utf-16-le")):
        assert spelling not in data


@pytest.mark.e2e
def test_sealed_secrets_open_only_under_the_master_key_and_for_their_own_app(world: WorldServer) -> None:
    d = open_directory(Settings(data_dir=world.data_dir, database_url=world.database_url))
    try:
        with d.store.read() as tx:
            sealed = dict(tx.conn.execute(select(schema.apps.c.client_id, schema.apps.c.secret_sealed)).all())
            tokens = tx.conn.execute(
                select(schema.dingtalk_tokens.c.client_id, schema.dingtalk_tokens.c.token_sealed)
            ).all()
    finally:
        d.store.dispose()
    kso, gm = world.acme.app("kso"), world.globex.app("gm")
    assert d.unseal(sealed[kso], kso) == secret_of(kso)  # the server's own key opens it
    thief = MasterKey.generate()
    with pytest.raises(InvalidTag):
        thief.unseal(sealed[kso], context=f"app-secret:{kso}")
    with pytest.raises(InvalidTag):  # moving one app's sealed secret to another app's row opens nothing
        d.unseal(sealed[gm], kso)
    tampered = bytearray(sealed[kso])
    tampered[-1] ^= 1
    with pytest.raises(InvalidTag):
        d.unseal(bytes(tampered), kso)
    assert tokens and all(len(t) > 16 for _c, t in tokens)


@pytest.mark.e2e
@pytest.mark.parametrize("world", ["sqlite"], indirect=True)
def test_snapshots_the_journal_and_the_log_hold_no_secret_unless_asked(world: WorldServer) -> None:
    log_start = world.log.stat().st_size
    with (
        httpx.Client(base_url=world.base_url, timeout=30) as http,
        ControlClient(world.base_url, ADMIN_TOKEN) as control,
    ):
        control.clear_journal()
        kso = world.acme.app("kso")
        token = http.post(
            "/oauth2/token",
            data={"grant_type": "client_credentials", "client_id": kso, "client_secret": secret_of(kso)},
        ).json()["access_token"]
        ding = http.get(
            "/gettoken",
            params={"appkey": world.acme.app("ding"), "appsecret": secret_of(world.acme.app("ding"))},
        ).json()["access_token"]
        http.post(
            "/v7/users/batch_read",
            json={"user_ids": ["x"], "status": ["active"]},
            headers={"Authorization": f"Bearer {token}"},
        )
        http.post("/topapi/v2/user/get", params={"access_token": ding}, json={"userid": "x"})
        secrets = [*_every_secret(world).values(), token, ding]
        plain = control.export_snapshot()
        journal = orjson.dumps(control.journal())
        assert len(control.journal()) >= 4
        with_secrets = control.export_snapshot(secrets=True)
    log = world.log_text(log_start)
    for where, text in (("snapshot", plain), ("journal", journal), ("server log", log.encode())):
        leaked = [s[:12] for s in secrets if s.encode() in text]
        assert not leaked, f"secrets in the {where}: {leaked}"
    # Asked for explicitly (admin only), a snapshot carries the secrets, so that it can restore the apps.
    assert secret_of(kso).encode() in with_secrets
