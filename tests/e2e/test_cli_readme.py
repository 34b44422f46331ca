"""README.md says what is true: its quick start, credentials, curl walk-through and Python example."""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Callable
from pathlib import Path

import httpx
import orjson
import pytest
from wps_foundation_support import envelope, raw

from conftest import ServerProcess
from openroster.fixtures import demo

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, re.DOTALL)


def test_quick_start_is_exactly_two_commands() -> None:
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    [block] = re.findall(r"```sh\n(.*?)```", quick, re.DOTALL)
    commands = [line.split("#", 1)[0].strip() for line in block.strip().splitlines()]
    assert commands == ["./scripts/demo", "./scripts/test"]
    root = Path(__file__).resolve().parents[2]
    assert all((root / c).stat().st_mode & 0o111 for c in commands)


def test_credentials_table_matches_the_demo() -> None:
    rows = re.findall(r"^\| `([\w-]+)` \| `([\w-]+)` \| ([^|]+) \|", README, re.MULTILINE)
    table = {cid: (secret, how.strip()) for cid, secret, how in rows}
    names = {"kso1": "KSO-1", "wps4": "WPS-4", "none": "none"}
    for a in demo.DEMO_APPS:
        secret, how = table[a.client_id]
        assert secret == a.secret
        assert how == (f"DingTalk app, agentid `{a.agentid}`" if a.agentid else names[a.signing.value])


def test_walk_through_and_python_example(server_factory: Callable[..., ServerProcess]) -> None:
    server = server_factory("--demo")
    shell = "\n".join(_blocks("sh"))
    form = dict(re.findall(r"-d (\w+)=([\w-]+)", shell.split("TOKEN=", 1)[1].split("\n\n", 1)[0]))
    assert form == {
        "grant_type": "client_credentials",
        "client_id": "demo-wps-nosign",
        "client_secret": "demo-wps-nosign-secret",
    }
    reply = httpx.post(server.base_url + "/oauth2/token", data=form).json()
    assert reply["expires_in"] == 7200 and reply["token_type"] == "bearer"
    headers = {"Authorization": f"Bearer {reply['access_token']}", "Content-Type": "application/json"}

    bodies = re.findall(r"-d '(\{.*?\})'", shell)
    assert len(bodies) == 2
    # the batch_read example: both people, with departments, without field-scoped fields
    ok = envelope(raw(server, "POST", "/v7/users/batch_read", bodies[0].encode(), headers))
    items = ok["data"]["items"]
    assert [u["id"] for u in items] == orjson.loads(bodies[0])["user_ids"]
    assert (items[0]["user_name"], items[0]["title"]) == ("田平凯", "总经理")
    assert items[0]["depts"][0] == {"abs_path": "/示例科技有限公司/研发中心", "id": "2", "name": "研发中心"}
    assert all("email" not in u and "phone" not in u and "gender" not in u for u in items)
    # the error example answers exactly as printed
    error = raw(server, "POST", "/v7/users/batch_read", bodies[1].encode(), headers)
    printed = re.search(r"# (\{\"code\":40000003.*\})", shell)
    assert printed is not None and error.text == printed.group(1)
    # the GET examples
    for target in ('"$B/v7/users?status=active&page_size=3"', "$B/v7/depts/root"):
        assert target in shell
        path = target.strip('"').replace("$B", "")
        assert envelope(raw(server, "GET", path, headers=headers))["code"] == 0

    # the Python example, run as printed against this server
    [code] = [b for b in _blocks("python") if "WpsClient(" in b]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(code.replace("http://127.0.0.1:8000", server.base_url), {})  # noqa: S102
    lines = out.getvalue().splitlines()
    assert [line.split()[0] for line in lines] == ["1256670b14", "2653fe2e85"]
    assert "tianpingkai@demo.openroster.dev" in lines[0] and "/示例科技有限公司/研发中心" in lines[0]
