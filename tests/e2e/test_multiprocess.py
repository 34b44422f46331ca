"""Several server processes on one store behave as one server (SQLite file and PostgreSQL).

Tokens issued by one process are accepted by another and by a restarted one;
page tokens work across processes; rate limits are one budget; DingTalk's
``gettoken`` hands out the same token everywhere; ``--workers N`` serves with N
processes; and on SQLite several processes writing one file under load never
answer "database is locked".

Why PostgreSQL too (``both_stores``, CONTRIBUTING.md): what the processes share (tokens, page
tokens, rate-limit budgets) lives in the store, and each process reaches PostgreSQL over connections
of its own, where SQLite shares one file and its locks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import orjson
import pytest
from dingtalk_support import AGENTID, ALL_PERMISSIONS, APPKEY, APPSECRET, ONJOB, wire
from wps_foundation_support import TENANT, build_world, call, envelope, token

from conftest import ServerProcess
from openroster.core.directory import Directory
from openroster.core.runtime.secrets import ENV_MASTER_KEY
from openroster.core.tenancy import apps

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.both_stores]

Factory = Callable[..., ServerProcess]
OPEN = "acme-open"  # an app of build_world without signing (the token is what is tested here)


def _ok(resp: httpx.Response) -> dict[str, object]:
    reply = envelope(resp)
    assert reply["code"] == 0, reply
    data = reply["data"]
    assert isinstance(data, dict)
    return data


def _batch_read(server: ServerProcess, bearer: str, ids: list[str]) -> list[str]:
    data = _ok(
        call(
            server,
            OPEN,
            "POST",
            "/v7/users/batch_read",
            {"user_ids": ids, "status": ["active"]},
            bearer=bearer,
        )
    )
    return [u["id"] for u in data["items"]]  # type: ignore[attr-defined]


def test_a_token_from_one_process_works_in_another_and_after_a_restart(
    directory: Directory, server_factory: Factory
) -> None:
    build_world(directory, bulk=3)
    one, two = server_factory(), server_factory()
    bearer = token(one, OPEN)
    assert _batch_read(two, bearer, ["u1", "u2"]) == ["u1", "u2"]
    one.kill()  # kill -9: nothing of the token lives in the process
    again = server_factory()
    assert _batch_read(again, bearer, ["u2"]) == ["u2"]
    # Revoking it (a new secret) is seen by every process at once.
    apps.rotate_secret(directory, client_id=OPEN, secret="a-new-secret-for-open")
    for server in (two, again):
        resp = call(
            server,
            OPEN,
            "POST",
            "/v7/users/batch_read",
            {"user_ids": ["u1"], "status": ["active"]},
            bearer=bearer,
        )
        assert envelope(resp)["code"] == 40100003  # revoked


def test_processes_with_their_own_data_dirs_share_the_master_key_from_the_environment(
    directory: Directory, server_factory: Factory, database_url: str, tmp_path: Path
) -> None:
    """Machines behind a load balancer: no shared disk, one database, one OPENROSTER_MASTER_KEY."""
    key = (tmp_path / "data" / "master.key").read_text().strip()
    build_world(directory, bulk=3)
    apps.create(
        directory,
        tenant_id=TENANT,
        client_id=APPKEY,
        secret=APPSECRET,
        agentid=AGENTID,
        scopes=ALL_PERMISSIONS,
    )
    env = {ENV_MASTER_KEY: key}
    machines = [
        server_factory("--database-url", database_url, data_dir=tmp_path / f"machine{k}", env=env)
        for k in (1, 2)
    ]
    assert not (tmp_path / "machine1" / "master.key").exists()  # the key came from the environment
    bearer = token(machines[0], OPEN)
    assert _batch_read(machines[1], bearer, ["u1"]) == ["u1"]
    with wire(machines[0].base_url) as a, wire(machines[1].base_url) as b:
        ding = a.gettoken()["access_token"]
        assert b.gettoken()["access_token"] == ding
        assert b.post(ONJOB, {"status_list": "3", "offset": 0, "size": 5}, token=ding)["errcode"] == 0


def test_page_tokens_work_across_processes(directory: Directory, server_factory: Factory) -> None:
    world = build_world(directory, bulk=57)
    servers = [server_factory(), server_factory()]
    bearer = token(servers[0], OPEN)
    seen: list[str] = []
    page_token: str | None = None
    for page in range(100):
        query = "status=active&page_size=10" + (f"&page_token={page_token}" if page_token else "")
        data = _ok(call(servers[page % 2], OPEN, "GET", f"/v7/users?{query}", bearer=bearer))
        seen += [u["id"] for u in data["items"]]  # type: ignore[attr-defined]
        page_token = str(data.get("next_page_token") or "") or None
        if page_token is None:
            break
    assert sorted(seen) == sorted(["u1", "u2", *world.bulk])
    assert len(seen) == len(set(seen))


def test_rate_limits_are_one_budget_for_every_process(directory: Directory, server_factory: Factory) -> None:
    build_world(directory, bulk=0)
    limit = ("--rate-limit", "GET /v7/depts/root=6/60s")
    servers = [server_factory(*limit), server_factory(*limit)]
    bearer = token(servers[0], OPEN)
    statuses = [call(servers[i % 2], OPEN, "GET", "/v7/depts/root", bearer=bearer) for i in range(12)]
    assert [r.status_code for r in statuses] == [200] * 6 + [429] * 6
    refused = envelope(statuses[-1])
    assert str(refused["code"]).startswith("429")
    assert int(statuses[-1].headers["Retry-After"]) >= 1


def _worker_pids(server: ServerProcess) -> list[int]:
    """The server's worker processes (not multiprocessing's resource tracker)."""
    children = Path(f"/proc/{server.proc.pid}/task/{server.proc.pid}/children")
    pids = [int(p) for p in children.read_text().split()] if children.exists() else []
    return [p for p in pids if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes()]


def test_workers_serve_as_one_server(directory: Directory, server_factory: Factory) -> None:
    build_world(directory, bulk=20)
    server = server_factory("--workers", "3")
    assert len(_worker_pids(server)) == 3
    bearer = token(server, OPEN)
    # Each write must be visible to every following read, whichever worker answers it.
    for n in range(8):
        resp = call(
            server,
            OPEN,
            "POST",
            "/v7/users/custom_attrs/batch_update",
            {"users": [{"user_id": "u2", "custom_attrs": [{"attr_id": "desk", "text": f"desk-{n}"}]}]},
            bearer=bearer,
        )
        assert envelope(resp)["code"] == 0, resp.text
        for _ in range(6):
            data = _ok(
                call(
                    server,
                    OPEN,
                    "POST",
                    "/v7/users/custom_attrs/batch_read",
                    {"user_ids": ["u2"]},
                    bearer=bearer,
                )
            )
            attrs = data["users"][0]["custom_attrs"]  # type: ignore[index]
            assert [a["text"] for a in attrs if a["attr_id"] == "desk"] == [f"desk-{n}"]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_sqlite_processes_under_write_load_never_report_a_locked_database(
    directory: Directory, server_factory: Factory, tmp_path: Path
) -> None:
    world = build_world(directory, bulk=80)
    servers = [server_factory("--workers", "2"), server_factory()]
    bearer = token(servers[0], OPEN)
    failures: list[str] = []
    done = [0]
    lock = threading.Lock()

    def writer(k: int) -> None:
        mine = world.bulk[k * 10 : (k + 1) * 10]
        with httpx.Client(timeout=60) as http:
            for n in range(15):
                body = orjson.dumps(
                    {
                        "users": [
                            {"user_id": uid, "custom_attrs": [{"attr_id": "desk", "text": f"{k}-{n}"}]}
                            for uid in mine
                        ]
                    }
                )
                server = servers[(k + n) % 2]
                resp = http.post(
                    server.base_url + "/v7/users/custom_attrs/batch_update",
                    content=body,
                    headers={"Authorization": f"Bearer {bearer}", "Content-Type": "application/json"},
                )
                reads = http.post(
                    server.base_url + "/v7/users/batch_read",
                    content=orjson.dumps({"user_ids": mine, "status": ["active"], "with_dept": True}),
                    headers={"Authorization": f"Bearer {bearer}", "Content-Type": "application/json"},
                )
                with lock:
                    for r in (resp, reads):
                        if r.status_code != 200 or r.json()["code"] != 0:
                            failures.append(r.text[:300])
                    done[0] += 1

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert failures == []
    assert done[0] == 8 * 15
    logs = "".join(p.read_text(errors="replace") for p in tmp_path.glob("server-*.log"))
    assert "database is locked" not in logs
    with directory.reader() as r:
        from openroster.core.custom import attributes

        values = attributes.read_values(r, tenant_id=TENANT, user_ids=world.bulk[:50])
    assert {uid: v[0].value for uid, v in values.items()} == {
        uid: f"{k}-14" for k in range(5) for uid in world.bulk[k * 10 : (k + 1) * 10]
    }
