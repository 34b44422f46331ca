"""The ``openroster`` command: tenant and app creation next to a running server, seeds, the demo banner.

Why PostgreSQL too (``both_stores``, CONTRIBUTING.md), for one test: the command reaches a
PostgreSQL store by ``--database-url`` alone, and a seed it refuses must leave nothing in it
(``test_serve_refuses_a_bad_seed``); the other commands' store queries are the contract suite's.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sdk_support import cli as cli_here
from wps_foundation_support import assert_error, envelope, raw

from conftest import ServerProcess
from openroster.client import WpsClient
from openroster.client.retry import RetryPolicy
from openroster.core.runtime.secrets import MasterKey

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NO_RETRY = RetryPolicy(max_retries=0)


def cli(*args: str, data_dir: Path, database_url: str) -> subprocess.CompletedProcess[str]:
    """Run ``openroster ARGS --data-dir ... --database-url ...`` as a user would."""
    cmd = [
        sys.executable,
        "-m",
        "openroster",
        *args,
        "--data-dir",
        str(data_dir),
        "--database-url",
        database_url,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


def _json(done: subprocess.CompletedProcess[str]) -> Any:
    assert done.returncode == 0, done.stderr
    return orjson.loads(done.stdout)


def _server_log(server: ServerProcess) -> str:
    port = server.base_url.rsplit(":", 1)[1]
    return (server.data_dir.parent / f"server-{port}.log").read_text(encoding="utf-8")


def test_tenant_and_app_create_while_the_server_runs(
    server_factory: Callable[..., ServerProcess], database_url: str
) -> None:
    server = server_factory()
    dd = server.data_dir

    made = _json(
        cli("tenant", "create", "initech", "--name", "Initech 科技", data_dir=dd, database_url=database_url)
    )
    assert made == {
        "id": "initech",
        "name": "Initech 科技",
        "wps_company_id": "initech",
        "dingtalk_corp_id": "dinginitech",
    }

    scopes = "kso.contact.readwrite,kso.user_email.read kso.user_custom_attr.readwrite"
    apps = {}
    for signing in ("kso1", "wps4", "wps4gm", "none"):
        out = _json(
            cli(
                "app",
                "create",
                "--tenant",
                "initech",
                "--scopes",
                scopes,
                "--signing",
                signing,
                data_dir=dd,
                database_url=database_url,
            )
        )
        assert out["tenant"] == "initech" and out["signing"] == signing
        assert out["scopes"] == [
            "kso.contact.readwrite",
            "kso.user_custom_attr.readwrite",
            "kso.user_email.read",
        ]
        assert re.fullmatch(r"AK[0-9a-f]{16}", out["client_id"]), out
        assert len(out["client_secret"]) >= 24
        apps[signing] = out
    args = [
        "--client-id",
        "initech-sync",
        "--client-secret",
        "initech-sync-secret",
        "--scopes",
        "kso.contact.read",
    ]
    chosen = _json(
        cli(
            "app",
            "create",
            "--tenant",
            "initech",
            *args,
            "--signing",
            "none",
            data_dir=dd,
            database_url=database_url,
        )
    )
    assert (chosen["client_id"], chosen["client_secret"]) == ("initech-sync", "initech-sync-secret")

    # the running server accepts the new apps at once: tokens, signatures, scopes
    for signing, out in apps.items():
        with WpsClient(
            server.base_url,
            client_id=out["client_id"],
            client_secret=out["client_secret"],
            signing=None if signing == "none" else signing,
            retry=NO_RETRY,
        ) as c:
            user = c.request(
                "POST", "/v7/users/create", json={"user_name": f"用户{signing}", "dept_ids": ["1"]}
            )
            found = c.request(
                "POST",
                "/v7/users/batch_read",
                json={"user_ids": [user["id"]], "status": ["active"], "with_dept": True},
            )
            assert [(u["id"], u["depts"][0]["abs_path"]) for u in found["items"]] == [
                (user["id"], "/Initech 科技")
            ]
    form = {
        "grant_type": "client_credentials",
        "client_id": "initech-sync",
        "client_secret": "initech-sync-secret",
    }
    reply = httpx.post(server.base_url + "/oauth2/token", data=form).json()
    assert set(reply) == {"access_token", "expires_in", "token_type"}
    bearer = {"Authorization": f"Bearer {reply['access_token']}", "Content-Type": "application/json"}
    denied = raw(server, "POST", "/v7/users/create", b'{"user_name":"x","dept_ids":["1"]}', bearer)
    assert_error(denied, 40300001, "kso.contact.readwrite")

    # refusals: exit status 2, a message naming the problem, nothing printed on stdout. The first
    # runs as a process of its own (its exit status is the process's); the others run the same
    # command in this process, which spares a process start each.
    for n, (args, words) in enumerate(
        (
            (("tenant", "create", "initech", "--name", "Again"), ("initech", "already exists")),
            (("tenant", "create", "bad id", "--name", "X"), ("bad id",)),
            (
                ("app", "create", "--tenant", "nobody", "--scopes", "kso.contact.read"),
                ("nobody", "does not exist"),
            ),
            (("app", "create", "--tenant", "initech", "--signing", "rsa"), ("signing", "rsa")),
            (
                ("app", "create", "--tenant", "initech", "--client-id", "initech-sync"),
                ("initech-sync", "already exists"),
            ),
        )
    ):
        store = ("--data-dir", str(dd), "--database-url", database_url)
        done = cli(*args, data_dir=dd, database_url=database_url) if n == 0 else cli_here(*args, *store)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert done.stdout == ""
        for w in words:
            assert w in done.stderr, (args, done.stderr)
    assert "initech-sync-secret" not in _server_log(server)


def test_serve_with_a_json_seed(server_factory: Callable[..., ServerProcess]) -> None:
    server = server_factory("--seed", str(EXAMPLES / "seed.json"))
    assert "seeded tenants: globex" in _server_log(server)
    with WpsClient(
        server.base_url,
        client_id="globex-wps4gm",
        client_secret="globex-wps4gm-secret",
        signing="wps4gm",
        retry=NO_RETRY,
    ) as c:
        items = c.request(
            "POST",
            "/v7/users/batch_read",
            json={"user_ids": ["homer", "hank"], "status": ["active"], "with_dept": True},
        )["items"]
        assert [(u["id"], u["email"]) for u in items] == [
            ("homer", "homer@globex.example"),
            ("hank", "hank@globex.example"),
        ]
        assert items[0]["leader_id"] == "hank"
        assert "phone" not in items[0]  # the app has no phone scope
        assert items[0]["depts"][0]["abs_path"] == "/Globex Corporation/Engineering/Tools"
        values = c.request("POST", "/v7/users/custom_attrs/batch_read", json={"user_ids": ["hank", "homer"]})[
            "users"
        ]
        assert [(u["user_id"], [a["option"] for a in u["custom_attrs"]]) for u in values] == [
            ("hank", ["l"]),
            ("homer", ["m"]),
        ]
    # loading the same seed again on a restart is harmless
    again = server_factory("--seed", str(EXAMPLES / "seed.json"), data_dir=server.data_dir)
    assert "seeded tenants" not in _server_log(again)


@pytest.mark.both_stores
def test_serve_refuses_a_bad_seed(tmp_path: Path, database_url: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "tenants:\n  - id: oops\n    name: Oops\n    users:\n"
        "      - {id: a, user_name: A, email: a@oops.example}\n"
        "      - {id: b, user_name: B, email: not-an-email}\n",
        encoding="utf-8",
    )
    data_dir = tmp_path / "data"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "openroster",
            "serve",
            "--seed",
            str(bad),
            "--port",
            "9",
            "--data-dir",
            str(data_dir),
            "--database-url",
            database_url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "tenants[0].users[1].email" in done.stderr
    listed = cli("tenant", "list", data_dir=data_dir, database_url=database_url)
    assert _json(listed) == []  # nothing of the bad seed was kept


def test_demo_banner_and_credentials(server_factory: Callable[..., ServerProcess]) -> None:
    server = server_factory("--demo")
    log = _server_log(server)
    assert f"listening on {server.base_url}" in log
    for cid in ("demo-wps", "demo-wps4", "demo-wps-nosign"):
        assert re.search(rf"^\s+{cid}\s+{cid}-secret\s", log, re.MULTILINE), log
    # the banner's own example request works as printed
    [example] = re.findall(r"-d '(\{.*\})'$", log, re.MULTILINE)
    body = orjson.loads(example)
    assert len(body["user_ids"]) == 3
    form = {
        "grant_type": "client_credentials",
        "client_id": "demo-wps-nosign",
        "client_secret": "demo-wps-nosign-secret",
    }
    t = httpx.post(server.base_url + "/oauth2/token", data=form).json()["access_token"]
    resp = raw(
        server,
        "POST",
        "/v7/users/batch_read",
        example.encode(),
        {"Content-Type": "application/json", "Authorization": f"Bearer {t}"},
    )
    items = envelope(resp)["data"]["items"]
    assert [u["id"] for u in items] == body["user_ids"]
    assert all(u["depts"] and "email" not in u for u in items)  # no field scopes for the unsigned app
    # the signing demo apps work with the SDK
    for cid, signing in (("demo-wps", "kso1"), ("demo-wps4", "wps4")):
        with WpsClient(
            server.base_url, client_id=cid, client_secret=f"{cid}-secret", signing=signing, retry=NO_RETRY
        ) as c:
            [first] = c.request(
                "POST", "/v7/users/batch_read", json={"user_ids": body["user_ids"][:1], "status": ["active"]}
            )["items"]
            assert (
                first["email"].endswith("@demo.openroster.dev")
                and first["phone"]
                and first["gender"] in ("male", "female")
            )
            assert len(c.request("GET", "/v7/companies/user_custom_attrs/batch_read")["items"]) == 5


def test_demo_command_is_idempotent(tmp_path: Path, database_url: str) -> None:
    dd = tmp_path / "data"
    assert _json(cli("demo", "--users", "30", data_dir=dd, database_url=database_url)) == {
        "tenant": "demo",
        "created": True,
    }
    assert _json(cli("demo", "--users", "30", data_dir=dd, database_url=database_url)) == {
        "tenant": "demo",
        "created": False,
    }
    assert _json(cli("tenant", "list", data_dir=dd, database_url=database_url)) == [
        {"id": "demo", "name": "示例科技有限公司"}
    ]


def test_bad_store_options_end_with_a_message(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    for args, words in (
        (("serve", "--sqlite-synchronous", "sometimes"), ("synchronous", "NORMAL", "FULL", "'sometimes'")),
        (("serve", "--database-url", "mysql://db/x"), ("mysql://db/x", "sqlite:///", "postgresql://")),
        (("tenant", "list", "--database-url", "mysql://db/x"), ("mysql://db/x",)),
    ):
        cmd = [sys.executable, "-m", "openroster", *args, "--data-dir", str(data_dir)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 2, (args, done.stderr)
        assert "Traceback" not in done.stderr
        for w in words:
            assert w in done.stderr, (args, done.stderr)


def test_a_foreign_master_key_is_refused(tmp_path: Path, database_url: str) -> None:
    """A server whose master key cannot unseal the stored app secrets refuses to start, saying why."""
    dd = tmp_path / "data"
    _json(cli("tenant", "create", "acme", "--name", "Acme", data_dir=dd, database_url=database_url))
    _json(
        cli("app", "create", "--tenant", "acme", "--signing", "none", data_dir=dd, database_url=database_url)
    )
    key = dd / "master.key"
    original = key.read_text()
    key.write_text(MasterKey.generate().export() + "\n")
    for args in (("tenant", "list"), ("serve", "--port", "9")):
        done = cli(*args, data_dir=dd, database_url=database_url)
        assert done.returncode == 2, (args, done.stderr)
        assert "master key" in done.stderr and "OPENROSTER_MASTER_KEY" in done.stderr
        assert "Traceback" not in done.stderr
    key.write_text(original)
    assert [t["id"] for t in _json(cli("tenant", "list", data_dir=dd, database_url=database_url))] == ["acme"]
