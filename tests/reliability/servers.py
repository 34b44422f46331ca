"""One ``openroster serve`` per test module and backend, holding the two-company world.

The suites here send hundreds of calls each; starting a server per test would
cost more than the calls. A module's tests share one server per backend and
must not depend on each other's writes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import BACKENDS, Databases, ServerProcess, backend_param, shared_serve_args, start_server
from openroster.core.tenancy import apps
from openroster.server.app import open_directory
from security.world import Company, build_world, dingtalk_client, wps_client

ADMIN_TOKEN = "reliability-admin-token"
#: The SCIM bearer of the first company (its app holds the ``scim`` scope).
SCIM_SECRET = "acme-scim-secret"


@dataclass
class WorldServer:
    server: ServerProcess
    acme: Company
    globex: Company
    wps_token: str
    dingtalk_token: str
    database_url: str
    data_dir: Path
    scim_token: str = SCIM_SECRET

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def log(self) -> Path:
        return self.data_dir.parent / f"server-{self.base_url.rsplit(':', 1)[1]}.log"

    def log_text(self, start: int = 0) -> str:
        with self.log.open("rb") as fh:
            fh.seek(start)
            return fh.read().decode(errors="replace")


def backend_params() -> list[object]:
    return [backend_param(b) for b in BACKENDS]


@contextmanager
def world_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, backend: str, *extra: str
) -> Iterator[WorldServer]:
    """A server on ``backend`` (``extra``: more ``serve`` options) over a fresh two-company world."""
    cluster = request.getfixturevalue("postgres_cluster") if backend == "postgresql" else None
    dbs = Databases(backend, cluster)
    data = tmp_path_factory.mktemp(f"world-{backend}") / "data"
    url = dbs.url_for(data)
    d = open_directory(dbs.settings_for(data))
    d.store.migrate()
    acme, globex = build_world(d)
    apps.create(d, tenant_id=acme.id, client_id=f"{acme.id}-scim", secret=SCIM_SECRET, scopes=("scim",))
    d.store.dispose()
    args = [
        *(["--database-url", url] if cluster is not None else []),
        "--admin-token",
        ADMIN_TOKEN,
        *shared_serve_args(request.config),
        *extra,
    ]
    server = start_server(data, *args)
    try:
        with wps_client(server.base_url, acme) as w, dingtalk_client(server.base_url, acme) as dt:
            tokens = (w.token(), dt.token())
        yield WorldServer(server, acme, globex, *tokens, url, data)
    finally:
        server.stop()
        dbs.drop_all()
