"""Tenants reset independently, also when tests run in parallel (pytest-xdist) on one server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from conftest import start_server
from openroster.client import WpsClient
from openroster.testing import ControlClient
from openroster.testing.plugin import OpenrosterServer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]

#: Run once on each of two xdist workers (``--dist each``), against one shared server: both
#: tenants hold data at the same time, then each resets while the other's data must stay.
PARALLEL_TEST = """
import os
import time
from pathlib import Path

SYNC = Path(os.environ["OPENROSTER_SYNC_DIR"])
ME = os.environ["PYTEST_XDIST_WORKER"]
OTHER = {"gw0": "gw1", "gw1": "gw0"}[ME]


def wait_for(name):
    deadline = time.monotonic() + 120
    while not (SYNC / name).exists():
        assert time.monotonic() < deadline, f"{ME} waited for {name} in vain"
        time.sleep(0.05)


def test_two_workers_two_tenants(openroster_tenant, wps_client, openroster_journal):
    for i in range(5):
        wps_client.create_user(user_name=f"{ME}-{i}", dept_ids=["1"], employee_id=f"{ME}-{i}")
    (SYNC / f"{ME}-tenant-{openroster_tenant.id}").touch()
    (SYNC / f"{ME}-created").touch()
    wait_for(f"{OTHER}-created")
    if ME == "gw0":
        openroster_tenant.reset()
        assert list(wps_client.iter_users()) == []
        (SYNC / "gw0-reset").touch()
        wait_for("gw1-checked")
    else:
        wait_for("gw0-reset")
        assert sorted(u.user_name for u in wps_client.iter_users()) == [f"gw1-{i}" for i in range(5)]
        (SYNC / "gw1-checked").touch()
        openroster_tenant.reset()
        assert list(wps_client.iter_users()) == []
    assert openroster_journal.count(path="/v7/users/create") == 5
"""


def _readme_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Use it in your tests") :]
    found = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert found, "README.md: the 'Use it in your tests' section has no python example"
    return found.group(1)


def test_parallel_workers_on_one_server_reset_their_tenants_independently(tmp_path: Path) -> None:
    """pytest -n 2 with the plugin against one server; the README's example test runs there too."""
    proc = start_server(tmp_path / "data", admin_token="shared-admin-token")
    try:
        project = tmp_path / "project"
        project.mkdir()
        (project / "test_parallel.py").write_text(PARALLEL_TEST)
        (project / "test_openroster_example.py").write_text(_readme_example())
        sync = tmp_path / "sync"
        sync.mkdir()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                # Only the plugins the run is about: xdist and openroster's. Each of the three pytest
                # processes would otherwise load every plugin installed here (schemathesis,
                # hypothesis, anyio), about 2 s of CPU each, which a user's project need not have.
                "-p",
                "xdist.plugin",
                "-p",
                "openroster.testing.plugin",
                "-n",
                "2",
                "--dist",
                "each",
                "-p",
                "no:cacheprovider",
                "-q",
                "--openroster-url",
                proc.base_url,
                "--openroster-admin-token",
                "shared-admin-token",
            ],
            cwd=project,
            env={**os.environ, "OPENROSTER_SYNC_DIR": str(sync), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
        assert "8 passed" in result.stdout, result.stdout[-2000:]
        tenants = sorted(p.name for p in sync.iterdir() if "-tenant-" in p.name)
        assert [t.split("-tenant-")[0] for t in tenants] == ["gw0", "gw1"]
        assert len({t.split("-tenant-")[1] for t in tenants}) == 2
        with ControlClient(proc.base_url, "shared-admin-token") as control:
            assert control.tenants() == []  # every fixture tenant was deleted afterwards
    finally:
        proc.stop()


def test_two_tenants_reset_independently_under_concurrent_load(openroster_server: OpenrosterServer) -> None:
    """Two threads, two tenants: each writes and resets in lockstep; neither ever sees the other."""
    control = openroster_server.control
    clients: dict[str, WpsClient] = {}
    for name in ("par-a", "par-b"):
        created = control.create_tenant(name, apps=[{"signing": "none", "scopes": ["kso.contact.readwrite"]}])
        cred = created["apps"][0]
        clients[name] = WpsClient(
            openroster_server.base_url,
            client_id=cred["client_id"],
            client_secret=cred["client_secret"],
            signing=None,
        )
    barrier = threading.Barrier(2, timeout=120)
    errors: list[BaseException] = []

    def names(client: WpsClient) -> list[str]:
        return sorted(u.user_name for u in client.iter_users())

    def run(me: str, resets_first: bool) -> None:
        client = clients[me]
        try:
            for r in range(4):
                made = [f"{me}-{r}-{i}" for i in range(3)]
                for n in made:
                    client.create_user(user_name=n, dept_ids=["1"])
                barrier.wait()
                if resets_first:
                    control.reset_tenant(me)
                barrier.wait()
                assert names(client) == ([] if resets_first else made), f"{me} round {r}"
                barrier.wait()
                if not resets_first:
                    control.reset_tenant(me)
                barrier.wait()
                assert names(client) == [], f"{me} round {r}"
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()

    threads = [
        threading.Thread(target=run, args=("par-a", True)),
        threading.Thread(target=run, args=("par-b", False)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    for c in clients.values():
        c.close()
    for name in clients:
        control.delete_tenant(name)
    _raise_first(errors)


def _raise_first(errors: list[BaseException]) -> None:
    """The error that broke the lockstep (the other thread then only sees a broken barrier)."""
    real = [e for e in errors if not isinstance(e, threading.BrokenBarrierError)]
    if real or errors:
        raise (real or errors)[0]
