"""``openroster call``: credentials from flags, the environment or a profile; output; exit status."""

from __future__ import annotations

import os
import pty
from pathlib import Path

import orjson
import pytest
import sdk_support
from sdk_support import Sandbox, Tenant, cli, cli_process, wps_env

pytestmark = pytest.mark.e2e
sandbox, org = sdk_support.sandbox, sdk_support.org


def test_wps_call_with_credentials_from_the_environment(
    sandbox: Sandbox, org: Tenant, tmp_path: Path
) -> None:
    env = wps_env(sandbox, org.wps["kso1"])
    done = cli(
        "call",
        "wps",
        "POST",
        "/v7/depts/create",
        "--data",
        '{"name": "研发", "parent_id": "1"}',
        env=env,
        home=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    created = orjson.loads(done.stdout)
    assert created["code"] == 0 and created["data"]["abs_path"] == f"/{org.name}/研发"
    assert "\n" not in done.stdout.strip()  # compact when not on a terminal
    listed = cli(
        "call",
        "wps",
        "GET",
        "/v7/depts/1/children",
        "-q",
        "page_size=5",
        "-q",
        "with_total=true",
        env=env,
        home=tmp_path,
    )
    assert orjson.loads(listed.stdout)["data"]["total"] == 1


def test_platform_error_exits_1_and_prints_the_reply(sandbox: Sandbox, org: Tenant, tmp_path: Path) -> None:
    done = cli("call", "wps", "GET", "/v7/users/nobody", env=wps_env(sandbox, org.wps["wps4"]), home=tmp_path)
    assert done.returncode == 1
    assert orjson.loads(done.stdout)["code"] == 40400002


def test_body_from_a_file_and_stdin_and_flags_over_environment(
    sandbox: Sandbox, org: Tenant, tmp_path: Path
) -> None:
    body = tmp_path / "body.json"
    body.write_text('{"name": "从文件", "parent_id": "1"}', encoding="utf-8")
    wrong = {**wps_env(sandbox, org.wps["kso1"]), "OPENROSTER_WPS_CLIENT_SECRET": "wrong-secret"}
    refused = cli("call", "wps", "POST", "/v7/depts/create", "-d", f"@{body}", env=wrong, home=tmp_path)
    assert refused.returncode == 1 and orjson.loads(refused.stdout)["code"] == 40100009
    creds = org.wps["kso1"]
    with_flag = cli(
        "call",
        "wps",
        "POST",
        "/v7/depts/create",
        "-d",
        f"@{body}",
        "--client-secret",
        creds.secret,
        env=wrong,
        home=tmp_path,
    )
    assert with_flag.returncode == 0 and orjson.loads(with_flag.stdout)["data"]["name"] == "从文件"
    from_stdin = cli(
        "call",
        "wps",
        "POST",
        "/v7/depts/create",
        "-d",
        "@-",
        stdin='{"name": "从输入", "parent_id": "1"}',
        env=wps_env(sandbox, creds),
        home=tmp_path,
    )
    assert orjson.loads(from_stdin.stdout)["data"]["name"] == "从输入"


def test_profile_file_for_both_dialects(sandbox: Sandbox, org: Tenant, tmp_path: Path) -> None:
    wps, dt = org.wps["wps4gm"], org.dingtalk
    assert dt is not None
    profiles = tmp_path / ".config" / "openroster" / "profiles.toml"
    profiles.parent.mkdir(parents=True)
    profiles.write_text(
        "[default]\n"
        f'url = "{sandbox.base_url}"\n'
        f'wps_client_id = "{wps.client_id}"\n'
        f'wps_client_secret = "{wps.secret}"\n'
        'wps_signing = "wps4gm"\n'
        f'dingtalk_appkey = "{dt.client_id}"\n'
        f'dingtalk_appsecret = "{dt.secret}"\n'
        f"dingtalk_agentid = {dt.agentid}\n"
        '\n[other]\nurl = "http://127.0.0.1:9"\n',
        encoding="utf-8",
    )
    assert orjson.loads(cli("call", "wps", "GET", "/v7/depts/root", home=tmp_path).stdout)["code"] == 0
    meta = cli(
        "call",
        "dingtalk",
        "POST",
        "/topapi/smartwork/hrm/roster/meta/get",
        "-d",
        f'{{"agentid": {dt.agentid}}}',
        home=tmp_path,
    )
    assert meta.returncode == 0 and orjson.loads(meta.stdout)["errcode"] == 0
    unknown = cli(
        "call", "dingtalk", "POST", "/topapi/v2/user/get", "-d", '{"userid": "nobody"}', home=tmp_path
    )
    assert unknown.returncode == 1 and orjson.loads(unknown.stdout)["errcode"] == 60121  # not a member
    unreachable = cli(
        "call",
        "wps",
        "GET",
        "/v7/depts/root",
        "--profile",
        "other",
        "--client-id",
        "x",
        "--client-secret",
        "y",
        home=tmp_path,
    )
    assert unreachable.returncode == 3 and "ConnectError" in unreachable.stderr


def test_usage_errors_exit_2(sandbox: Sandbox, org: Tenant, tmp_path: Path) -> None:
    missing = cli(
        "call", "wps", "GET", "/v7/depts/root", env={"OPENROSTER_URL": sandbox.base_url}, home=tmp_path
    )
    assert missing.returncode == 2 and "OPENROSTER_WPS_CLIENT_ID" in missing.stderr
    env = wps_env(sandbox, org.wps["kso1"])
    assert (
        cli("call", "wps", "POST", "/v7/depts/create", "-d", "{not json", env=env, home=tmp_path).returncode
        == 2
    )
    assert cli("call", "slack", "GET", "/", env=env, home=tmp_path).returncode == 2
    no_profile = cli("call", "wps", "GET", "/", "--profile", "nope", env=env, home=tmp_path)
    assert no_profile.returncode == 2 and "profile" in no_profile.stderr


@pytest.mark.slow  # the CLI as its own process
def test_pretty_json_on_a_terminal(sandbox: Sandbox, org: Tenant, tmp_path: Path) -> None:
    leader, follower = pty.openpty()
    proc = cli_process(
        "call",
        "wps",
        "GET",
        "/v7/depts/root",
        env=wps_env(sandbox, org.wps["kso1"]),
        home=tmp_path,
        stdout=follower,
    )
    os.close(follower)
    out = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(leader)
    assert proc.returncode == 0, proc.stderr
    text = out.decode().replace("\r\n", "\n")
    assert text.startswith("{\n  ") and orjson.loads(text)["data"]["id"] == "1"
