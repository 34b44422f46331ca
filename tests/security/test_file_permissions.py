"""Data files are readable by their owner only: the data directory, master.key, the database and its WAL.

SQLite creates ``-wal`` and ``-shm`` on its own, later than the database and
again after every last connection closed (a checkpoint removes them). It gives
them the database file's mode; ``serve`` also runs with umask 077, so nothing it
creates is group- or world-readable whatever umask it was started with. The
tests start the server under umask 000 (the worst a careless service file can
do) with a data directory that does not exist yet (the launcher creates only its parent, for
the log), write, and look at every file.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from conftest import ServerProcess, start_server
from openroster.config import Settings
from openroster.core.tenancy import tenants
from openroster.server.app import open_directory
from security.world import build_world, secret_of

pytestmark = pytest.mark.slow

OWNER_ONLY_DIR = 0o700
OWNER_ONLY_FILE = 0o600


def _modes(data_dir: Path) -> dict[str, int]:
    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in sorted(data_dir.iterdir())}


def _loose(modes: dict[str, int]) -> dict[str, str]:
    """The files group or others may read or write."""
    return {name: oct(m) for name, m in modes.items() if m & 0o077}


def _under_umask_000(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    old = os.umask(0)
    try:
        return fn(*args, **kwargs)
    finally:
        os.umask(old)


@pytest.mark.e2e
def test_serve_creates_every_data_file_owner_only_even_under_umask_000(tmp_path: Path) -> None:
    data = tmp_path / "data"  # does not exist yet: serve creates it
    server: ServerProcess = _under_umask_000(start_server, data)
    try:
        # The first request the server handles creates the WAL files anew (serve's own setup closed them).
        with httpx.Client(base_url=server.base_url, timeout=30) as http:
            assert http.get("/_openroster/health").status_code == 200
        d = open_directory(Settings(data_dir=data))
        try:
            tenants.create(d, tenant_id="perm", name="Perm")
        finally:
            d.store.dispose()
        modes = _modes(data)
        assert {"openroster.db", "master.key"} <= set(modes), modes
        assert stat.S_IMODE(data.stat().st_mode) == OWNER_ONLY_DIR
        assert not _loose(modes), f"readable by others: {_loose(modes)}"
    finally:
        server.stop()


@pytest.mark.e2e
def test_wal_files_sqlite_creates_while_serving_are_owner_only(tmp_path: Path) -> None:
    data = tmp_path / "data"
    d = open_directory(Settings(data_dir=data))
    d.store.migrate()
    build_world(d)
    d.store.dispose()
    for name in ("openroster.db-wal", "openroster.db-shm"):
        assert not (data / name).exists()  # the last connection's checkpoint removed them
    server: ServerProcess = _under_umask_000(start_server, data)
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as http:
            token = http.post(
                "/oauth2/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": "acme-wps",
                    "client_secret": secret_of("acme-wps"),
                },
            ).json()["access_token"]
            reply = http.post(
                "/v7/users/shared-1/update",
                json={"title": "written"},
                headers={"Authorization": f"Bearer {token}"},
            ).json()
            assert reply["code"] == 0, reply
        modes = _modes(data)
        assert {"openroster.db-wal", "openroster.db-shm"} <= set(modes), modes
        assert not _loose(modes), f"readable by others: {_loose(modes)}"
    finally:
        server.stop()


@pytest.mark.e2e
def test_cli_commands_create_the_store_owner_only_even_under_umask_000(tmp_path: Path) -> None:
    data = tmp_path / "cli" / "data"
    args = [
        sys.executable,
        "-m",
        "openroster",
        "tenant",
        "create",
        "perm",
        "--name",
        "Perm",
        "--data-dir",
        str(data),
    ]
    _under_umask_000(subprocess.run, args, check=True, capture_output=True, timeout=120)
    assert stat.S_IMODE(data.stat().st_mode) == OWNER_ONLY_DIR
    modes = _modes(data)
    assert modes["openroster.db"] == OWNER_ONLY_FILE and modes["master.key"] == OWNER_ONLY_FILE, modes
    assert not _loose(modes)
