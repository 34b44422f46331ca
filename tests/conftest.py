"""Shared fixtures: a store on a real SQLite file, and a real server process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from openroster.config import Settings
from openroster.core import apps, tenants
from openroster.core.directory import Directory
from openroster.server.app import open_directory

ALL_WPS_SCOPES = (
    "kso.contact.read",
    "kso.contact.readwrite",
    "kso.user_email.read",
    "kso.user_phone.read",
    "kso.user_gender.read",
    "kso.user_custom_attr.readwrite",
)


@pytest.fixture
def directory(tmp_path: Path) -> Iterator[Directory]:
    """A migrated store in a fresh SQLite file, with its own master key."""
    d = open_directory(Settings(data_dir=tmp_path / "data"))
    d.store.migrate()
    yield d
    d.store.dispose()


@pytest.fixture
def tenant(directory: Directory) -> str:
    tenants.create(directory, tenant_id="acme", name="Acme")
    return "acme"


@pytest.fixture
def wps_app(directory: Directory, tenant: str) -> apps.App:
    return apps.create(
        directory,
        tenant_id=tenant,
        client_id="acme-kso",
        secret="acme-kso-secret",
        signing="kso1",
        scopes=ALL_WPS_SCOPES,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServerProcess:
    base_url: str
    data_dir: Path
    proc: subprocess.Popen[bytes]
    args: list[str]

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def start_server(
    data_dir: Path, *extra: str, port: int | None = None, env: dict[str, str] | None = None
) -> ServerProcess:
    """Run ``openroster serve`` as a real process and wait until it answers."""
    port = port or free_port()
    args = [sys.executable, "-m", "openroster", "serve", "--data-dir", str(data_dir), "--port", str(port)]
    args += extra
    log = open(data_dir.parent / f"server-{port}.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}; see {log.name}")
        try:
            if httpx.get(base + "/_openroster/health", timeout=1).status_code == 200:
                return ServerProcess(base, data_dir, proc, args)
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start within 60 s")


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    started: list[ServerProcess] = []

    def make(*extra: str, data_dir: Path | None = None, port: int | None = None) -> ServerProcess:
        dd = data_dir or tmp_path / "data"
        dd.mkdir(parents=True, exist_ok=True)
        s = start_server(dd, *extra, port=port)
        started.append(s)
        return s

    yield make
    for s in started:
        s.stop()
