"""For the SDK and CLI end-to-end tests: the worker's shared server, one fresh tenant per test.

The server is ``openroster serve`` in its own process (SQLite in a temporary
directory; conftest's ``live_sqlite``); tenants and apps are created through the
core services on the same store while the server runs, as an administrator's tools
do. Each test gets its own tenant, so tests never see each other's people.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from conftest import ALL_WPS_SCOPES, LiveServer, ServerProcess, start_server
from openroster.cli.main import app
from openroster.config import Settings
from openroster.core.directory import Directory
from openroster.core.tenancy import apps, tenants
from openroster.server.app import open_directory

WPS_SCOPES = (*ALL_WPS_SCOPES, "kso.user_custom_attr.read")
DINGTALK_PERMISSIONS = (
    "qyapi_hrm_read_user",
    "qyapi_hrm_manager",
    "qyapi_get_member",
    "qyapi_get_department_list",
)
SIGNINGS: tuple[str | None, ...] = ("kso1", "wps4", "wps4gm", None)


@dataclass(frozen=True)
class Credentials:
    client_id: str
    secret: str
    signing: str | None = None
    agentid: int | None = None


@dataclass
class Tenant:
    """A tenant with one WPS app per signing scheme, a read-only WPS app and a DingTalk app."""

    id: str
    name: str
    wps: dict[str | None, Credentials] = field(default_factory=dict)
    wps_read_only: Credentials | None = None
    dingtalk: Credentials | None = None


@dataclass
class Sandbox:
    server: ServerProcess
    directory: Directory
    data_dir: Path

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def tenant(self, name: str = "示例公司") -> Tenant:
        tid = "t" + uuid.uuid4().hex[:10]
        tenants.create(self.directory, tenant_id=tid, name=name)
        t = Tenant(tid, name)
        for signing in SIGNINGS:
            cid = f"{tid}-{signing or 'nosign'}"
            apps.create(
                self.directory,
                tenant_id=tid,
                client_id=cid,
                secret=f"{cid}-secret",
                signing=signing or "none",
                scopes=WPS_SCOPES,
            )
            t.wps[signing] = Credentials(cid, f"{cid}-secret", signing)
        ro = f"{tid}-ro"
        apps.create(
            self.directory, tenant_id=tid, client_id=ro, secret=f"{ro}-secret", scopes=("kso.contact.read",)
        )
        t.wps_read_only = Credentials(ro, f"{ro}-secret", None)
        dt = f"ding{tid}"
        agentid = 1000000 + int(uuid.uuid4().int % 900000)
        apps.create(
            self.directory,
            tenant_id=tid,
            client_id=dt,
            secret=f"{dt}-secret",
            scopes=DINGTALK_PERMISSIONS,
            agentid=agentid,
        )
        t.dingtalk = Credentials(dt, f"{dt}-secret", agentid=agentid)
        return t


def open_sandbox(base: Path, *extra: str) -> Iterator[Sandbox]:
    data_dir = base / "data"
    data_dir.mkdir(parents=True)
    server = start_server(data_dir, *extra)
    d = open_directory(Settings(data_dir=data_dir))
    try:
        yield Sandbox(server, d, data_dir)
    finally:
        d.store.dispose()
        server.stop()


@pytest.fixture
def sandbox(live_sqlite: LiveServer) -> Iterator[Sandbox]:
    """The worker's shared SQLite server; emptied after the test."""
    yield Sandbox(live_sqlite.server, live_sqlite.directory, live_sqlite.server.data_dir)
    live_sqlite.empty()


@pytest.fixture
def org(sandbox: Sandbox) -> Tenant:
    """A fresh tenant in the module's server."""
    return sandbox.tenant()


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str


def _environment(env: dict[str, str] | None, home: Path | None) -> dict[str, str | None]:
    """None of the caller's OPENROSTER_* settings; HOME (for the default profile file) when given."""
    out: dict[str, str | None] = {k: None for k in os.environ if k.startswith("OPENROSTER_")}
    if home is not None:
        out |= {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
    return out | dict(env or {})


def cli(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None, home: Path | None = None
) -> Ran:
    """Run ``openroster ARGS`` in this process (the command's own code, its own HTTP calls and store)."""
    result = CliRunner().invoke(
        app, list(args), input=stdin, env=_environment(env, home), catch_exceptions=False
    )
    return Ran(result.exit_code, result.stdout, result.stderr)


def cli_process(
    *args: str, env: dict[str, str] | None = None, home: Path | None = None, **kw: Any
) -> subprocess.CompletedProcess[str]:
    """Run ``openroster ARGS`` as its own process (for what only a real process shows)."""
    pipes: dict[str, Any] = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    return subprocess.run(
        [sys.executable, "-m", "openroster", *args],
        text=True,
        env=_process_environment(env, home),
        timeout=300,
        check=False,
        **(pipes | kw),
    )


def start_cli(
    *args: str, env: dict[str, str] | None = None, home: Path | None = None
) -> subprocess.Popen[str]:
    """Start ``openroster ARGS`` as its own process and return at once, its output piped (for a
    command that runs until stopped, read line by line)."""
    return subprocess.Popen(
        [sys.executable, "-m", "openroster", *args],
        text=True,
        env=_process_environment(env, home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _process_environment(env: dict[str, str] | None, home: Path | None) -> dict[str, str]:
    return {k: v for k, v in {**os.environ, **_environment(env, home)}.items() if v is not None}


def wps_env(sandbox: Sandbox, creds: Credentials) -> dict[str, str]:
    """The environment that points the API commands at the sandbox with these WPS credentials."""
    return {
        "OPENROSTER_URL": sandbox.base_url,
        "OPENROSTER_WPS_CLIENT_ID": creds.client_id,
        "OPENROSTER_WPS_CLIENT_SECRET": creds.secret,
        "OPENROSTER_WPS_SIGNING": creds.signing or "none",
    }
