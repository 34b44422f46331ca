"""The pytest plugin (registered through the ``pytest11`` entry point; docs/emulator.md).

Fixtures:

- ``openroster_server`` (session): a real ``openroster serve`` on a free port with a fresh store,
  or the server named by ``--openroster-url`` / ``--openroster-admin-token``.
- ``openroster_tenant``: a fresh tenant for the test, with a WPS app and a DingTalk app; deleted
  afterwards. Tenants never see each other, so tests can run in parallel (pytest-xdist).
- ``wps_client`` / ``dingtalk_client``: the SDK, bound to the tenant's apps.
- ``openroster_journal``: the platform calls the test's tenant made.
- ``openroster_events``: a receiver of the tenant's change events (WPS and DingTalk), subscribed
  through the control plane; ``wait_for(topic_or_event, operation=None, timeout=5)``.

Marker: ``@pytest.mark.openroster_seed("seed.yaml", tenant=None)`` creates the test's tenant from a
seed file (path relative to the test file; ``tenant`` picks one of the file's tenants, default
the first).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from openroster.dialects.dingtalk.endpoint import PERMISSIONS
from openroster.dialects.dingtalk_v1 import PERMISSIONS as V1_PERMISSIONS
from openroster.fixtures.demo import WPS_ALL_SCOPES
from openroster.testing import dingtalk_v1
from openroster.testing.control import ControlClient, ControlError
from openroster.testing.events import OpenrosterEvents
from openroster.testing.server import ServerProcess, start_server
from openroster.testing.stream import StreamListener

if TYPE_CHECKING:
    from openroster.client import DingTalkClient, WpsClient

#: WPS scopes and DingTalk permissions the fixture tenant's apps hold: everything.
WPS_SCOPES: tuple[str, ...] = WPS_ALL_SCOPES
DINGTALK_PERMISSIONS: tuple[str, ...] = (*PERMISSIONS, *V1_PERMISSIONS)
DINGTALK_AGENTID = 1000001
SEED_MARKER = "openroster_seed"
#: The ini option with more ``openroster serve`` options for the session's server.
SERVE_ARGS_INI = "openroster_serve_args"

C = TypeVar("C")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("openroster", "openroster emulator")
    group.addoption(
        "--openroster-url",
        default=os.environ.get("OPENROSTER_TEST_URL"),
        help="Use this running openroster server instead of starting one (env OPENROSTER_TEST_URL).",
    )
    group.addoption(
        "--openroster-admin-token",
        default=os.environ.get("OPENROSTER_TEST_ADMIN_TOKEN"),
        help="The admin token of --openroster-url (env OPENROSTER_TEST_ADMIN_TOKEN).",
    )
    parser.addini(
        SERVE_ARGS_INI,
        type="args",
        default=[],
        help="More `openroster serve` options for the server openroster_server starts, "
        "e.g. --rate-limit '*=0' --credential-failures-per-address 0",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{SEED_MARKER}(path, tenant=None): create the test's openroster_tenant from a seed file "
        "(YAML or JSON, relative to the test file); tenant picks one of its tenants (default: the first)",
    )


@dataclass
class OpenrosterServer:
    """The server the tests talk to: its URL, its admin token and a control-API client."""

    base_url: str
    admin_token: str
    control: ControlClient
    process: ServerProcess | None = None


@dataclass(frozen=True)
class WpsApp:
    client_id: str
    client_secret: str
    signing: str


@dataclass(frozen=True)
class DingTalkApp:
    appkey: str
    appsecret: str
    agentid: int


class OpenrosterTenant:
    """The test's tenant: its id, its apps, and the control-plane calls that concern it."""

    def __init__(self, server: OpenrosterServer, tenant_id: str, wps: WpsApp, dingtalk: DingTalkApp) -> None:
        self.server = server
        self.id = tenant_id
        self.wps = wps
        self.dingtalk = dingtalk
        self._faults: list[str] = []
        self.clock_moved = False

    @property
    def control(self) -> ControlClient:
        return self.server.control

    def reset(self, *, to: str = "empty") -> None:
        """Back to empty (or ``to="seed"``); the apps stay, other tenants are untouched."""
        self.control.reset_tenant(self.id, to=to)

    def snapshot(self, *, secrets: bool = False) -> bytes:
        return self.control.export_snapshot(self.id, secrets=secrets)

    def restore(self, snapshot: bytes | dict[str, Any]) -> dict[str, Any]:
        return self.control.import_snapshot(snapshot, self.id)

    def add_app(self, **spec: Any) -> dict[str, Any]:
        """Another app of this tenant; the reply has its secret."""
        return self.control.add_app(self.id, **spec)

    def add_fault(self, action: str, *, match: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
        """A fault rule limited to this tenant's calls; removed when the test ends."""
        rule = self.control.add_fault(action, match={**(match or {}), "tenant": self.id}, **fields)
        self._faults.append(rule["id"])
        return rule

    def fault(self, fault_id: str) -> dict[str, Any]:
        return next(f for f in self.control.faults() if f["id"] == fault_id)

    def advance_clock(self, seconds: float) -> None:
        """Move the server's clock (server-wide: set back to real time when the test ends)."""
        self.clock_moved = True
        self.control.advance_clock(seconds)

    def wps_client(self, **kw: Any) -> WpsClient:
        """A new WPS SDK client for this tenant's WPS app (keyword arguments override)."""
        from openroster.client import WpsClient

        args: dict[str, Any] = {
            "client_id": self.wps.client_id,
            "client_secret": self.wps.client_secret,
            "signing": None if self.wps.signing == "none" else self.wps.signing,
        }
        return WpsClient(self.server.base_url, **{**args, **kw})

    def dingtalk_client(self, **kw: Any) -> DingTalkClient:
        """A new DingTalk SDK client for this tenant's DingTalk app (keyword arguments override)."""
        from openroster.client import DingTalkClient

        args: dict[str, Any] = {
            "appkey": self.dingtalk.appkey,
            "appsecret": self.dingtalk.appsecret,
            "agentid": self.dingtalk.agentid,
        }
        return DingTalkClient(self.server.base_url, **{**args, **kw})

    def dingtalk_v1_client(self, client_type: type[C]) -> C:
        """A client of the official ``/v1.0`` SDK (``alibabacloud-dingtalk``: ``hrm_1_0``'s ``Client``,
        ...) pointed at the server; it takes :meth:`dingtalk_v1_token` in its headers."""
        return dingtalk_v1.sdk_client(client_type, self.server.base_url)

    def dingtalk_v1_token(self) -> str:
        """The DingTalk app's access token, asked for through the official SDK."""
        return dingtalk_v1.sdk_token(self.server.base_url, self.dingtalk.appkey, self.dingtalk.appsecret)

    def cleanup(self) -> None:
        for fault_id in self._faults:
            with contextlib.suppress(ControlError):  # the test may have deleted it
                self.control.delete_fault(fault_id)
        if self.clock_moved:
            self.control.real_time()
        self.control.delete_tenant(self.id)


class OpenrosterJournal:
    """The platform calls of the test's tenant, newest last (secrets redacted)."""

    def __init__(self, tenant: OpenrosterTenant) -> None:
        self.tenant = tenant
        self._after = _last_id(tenant.control)

    def entries(self, **filters: Any) -> list[dict[str, Any]]:
        """Filters: app, path (a path or a glob), code, status, dialect, method, since, after."""
        return self.tenant.control.journal(**self._scope(filters))

    def count(self, **filters: Any) -> int:
        return self.tenant.control.journal_count(**self._scope(filters))

    def last(self, **filters: Any) -> dict[str, Any] | None:
        found = self.tenant.control.journal(**self._scope({**filters, "limit": 1}))
        return found[-1] if found else None

    def _scope(self, filters: dict[str, Any]) -> dict[str, Any]:
        return {"after": self._after, **filters, "tenant": self.tenant.id}

    def paths(self, **filters: Any) -> list[str]:
        return [e["path"] for e in self.entries(**filters)]

    def clear(self) -> None:
        """Forget what was recorded so far (for this fixture only; the server's journal stays)."""
        self._after = _last_id(self.tenant.control)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.entries())

    def __len__(self) -> int:
        return self.count()


def _last_id(control: ControlClient) -> int:
    last = control.journal(limit=1)
    return int(last[-1]["id"]) if last else 0


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def openroster_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OpenrosterServer]:
    """A real openroster server for the session (one per pytest-xdist worker)."""
    url = request.config.getoption("--openroster-url")
    if url:
        token = request.config.getoption("--openroster-admin-token")
        if not token:
            raise pytest.UsageError("--openroster-url needs --openroster-admin-token")
        control = ControlClient(url, token)
        control.version()  # fails early with a clear error on a wrong URL or token
        yield OpenrosterServer(url.rstrip("/"), token, control)
        control.close()
        return
    token = secrets.token_urlsafe(24)
    extra = request.config.getini(SERVE_ARGS_INI)
    proc = start_server(tmp_path_factory.mktemp("openroster") / "data", *extra, admin_token=token)
    control = ControlClient(proc.base_url, token)
    try:
        yield OpenrosterServer(proc.base_url, token, control, proc)
    finally:
        control.close()
        proc.stop()


@pytest.fixture
def openroster_tenant(
    openroster_server: OpenrosterServer, request: pytest.FixtureRequest
) -> Iterator[OpenrosterTenant]:
    """A fresh tenant with a WPS app (KSO-1, every contacts scope) and a DingTalk app."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    tenant_id = f"t-{worker}-{secrets.token_hex(5)}"
    seed = _seed_for(request)
    created = openroster_server.control.create_tenant(
        tenant_id,
        seed=seed,
        apps=[
            {
                "client_id": f"{tenant_id}-wps",
                "name": "pytest WPS app",
                "signing": "kso1",
                "scopes": list(WPS_SCOPES),
            },
            {
                "client_id": f"{tenant_id}-dingtalk",
                "name": "pytest DingTalk app",
                "signing": "none",
                "scopes": list(DINGTALK_PERMISSIONS),
                "agentid": DINGTALK_AGENTID,
            },
        ],
    )
    by_id = {a["client_id"]: a for a in created["apps"]}
    wps_app, ding_app = by_id[f"{tenant_id}-wps"], by_id[f"{tenant_id}-dingtalk"]
    tenant = OpenrosterTenant(
        openroster_server,
        tenant_id,
        WpsApp(wps_app["client_id"], wps_app["client_secret"], wps_app["signing"]),
        DingTalkApp(ding_app["client_id"], ding_app["client_secret"], DINGTALK_AGENTID),
    )
    try:
        yield tenant
    finally:
        tenant.cleanup()


@pytest.fixture
def wps_client(openroster_tenant: OpenrosterTenant) -> Iterator[WpsClient]:
    """The WPS SDK client of the test's tenant (KSO-1 signing)."""
    client = openroster_tenant.wps_client()
    with client:
        yield client


@pytest.fixture
def dingtalk_client(openroster_tenant: OpenrosterTenant) -> Iterator[DingTalkClient]:
    """The DingTalk SDK client of the test's tenant."""
    client = openroster_tenant.dingtalk_client()
    with client:
        yield client


@pytest.fixture
def openroster_journal(openroster_tenant: OpenrosterTenant) -> OpenrosterJournal:
    """What the test's tenant sent, as the server recorded it."""
    return OpenrosterJournal(openroster_tenant)


@pytest.fixture
def openroster_events(openroster_tenant: OpenrosterTenant) -> Iterator[OpenrosterEvents]:
    """A receiver on a free port of 127.0.0.1 subscribed to the test tenant's events (its WPS app's
    at ``/wps``, its DingTalk app's at ``/dingtalk``): ``wait_for("kso.user", "create")`` or
    ``wait_for("user_add_org")`` returns the decrypted payloads."""
    with OpenrosterEvents(openroster_tenant).running() as events:
        yield events


@pytest.fixture
def openroster_stream(openroster_tenant: OpenrosterTenant) -> Iterator[StreamListener]:
    """The official ``dingtalk-stream`` SDK (a process of its own) connected in Stream mode as the test
    tenant's DingTalk app, which gets a Stream subscription by connecting: ``wait_for("user_add_org")``
    returns the events received (headers, ``data``)."""
    t = openroster_tenant
    with StreamListener(t.server.base_url, t.dingtalk.appkey, t.dingtalk.appsecret).running() as stream:
        stream.wait_connected(t.control, t.id)
        yield stream


def _seed_for(request: pytest.FixtureRequest) -> dict[str, Any] | None:
    marker = request.node.get_closest_marker(SEED_MARKER)
    if marker is None:
        return None
    if not marker.args:
        raise pytest.UsageError(f"@pytest.mark.{SEED_MARKER} needs the seed file's path")
    from openroster.fixtures.seed import read_seed

    raw = Path(marker.args[0])
    candidates = (
        [raw] if raw.is_absolute() else [Path(request.node.path).parent / raw, request.config.rootpath / raw]
    )
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        raise pytest.UsageError(
            f"{SEED_MARKER}: no seed file {raw} (looked in {', '.join(map(str, candidates))})"
        )
    tenants = read_seed(path)["tenants"]
    wanted = marker.kwargs.get("tenant")
    for t in tenants:
        if wanted is None or (isinstance(t, dict) and t.get("id") == wanted):
            return dict(t)
    raise pytest.UsageError(f"{SEED_MARKER}: {path} has no tenant {wanted!r}")
