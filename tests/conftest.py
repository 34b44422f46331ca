"""Shared fixtures: a store on each backend, and real server processes.

``directory``, ``server_factory`` and ``live`` are parametrized over two backends: a
SQLite file and a real PostgreSQL server (a throwaway cluster this session
starts, see ``openroster.store.pgcluster``; each test gets its own database,
copied from a migrated template; on SQLite ``directory`` likewise starts from a copy of a file
migrated once per worker). The tests in process (tests/unit, tests/contract) run on
both. The server suites (``SERVER_SUITES``) run on SQLite: their PostgreSQL runs are deselected
except where the test or its module is marked ``both_stores``, and such a module's docstring says
why it needs PostgreSQL (checked here; ``--every-store`` keeps every PostgreSQL run). Pin a test
to one backend with ``@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)``.

Which server a test gets:

- ``live``: the one server this pytest worker keeps per backend (on SQLite, the plugin's
  ``openroster_server``), and a directory on its store. The test has the server to itself
  while it runs (a worker runs one test at a time) and finds it empty: after each test every
  tenant is deleted and the journal, fault rules and clock are reset. Use it whenever a test
  needs nothing but tenants; ``live.twin()`` is a second process on the same store.
- ``server_factory``: servers of the test's own, for what needs a process of its own
  (``serve`` options, restarts, several processes over one store, kill -9).

Markers, checked here: a test that uses a shared server (at collection) or starts one (in the
launcher) is marked ``e2e``; a test that starts a server of its own (anything but ``live`` and
its twin) is also marked ``slow``, as are the tests that cost seconds for other reasons (large
tenants, fuzzing, deadlines). So ``-m "not slow"`` is the inner loop (CONTRIBUTING.md) and
``-m "not e2e"`` starts no server.
"""

from __future__ import annotations

import ast
import os
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from openroster.config import Settings
from openroster.core.directory import Directory
from openroster.core.tenancy import apps, tenants
from openroster.dialects import pieces
from openroster.server.app import open_directory
from openroster.store import Store, open_store
from openroster.store.pgcluster import ThrowawayCluster, cluster_from_env
from openroster.testing import ControlClient
from openroster.testing.plugin import SERVE_ARGS_INI, OpenrosterServer
from openroster.testing.server import ServerProcess
from openroster.testing.server import start_server as launch_server
from ordering import SlowFilesFirst

#: How long a server may take to answer its health check (a busy CI machine is slow to start one).
START_TIMEOUT_S = 180

#: The store backends every store-using test runs on.
BACKENDS: tuple[str, ...] = ("sqlite", "postgresql")


#: The admin token of the ``live`` servers.
LIVE_ADMIN_TOKEN = "live-admin-token"

#: The test running now (the launcher checks it is marked ``e2e``).
_running: list[pytest.Item] = []


def pytest_configure(config: pytest.Config) -> None:
    # Every reply in pieces has its size checked, here and in the servers the tests start.
    os.environ[pieces.ENV_CHECK_SIZES] = "1"
    pieces.CHECK_SIZES = True
    for b in BACKENDS:
        config.addinivalue_line("markers", f"{b}: the test runs on the {b} store backend")
    config.pluginmanager.register(SlowFilesFirst(), "slow-files-first")  # the order tests run in


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--every-store",
        action="store_true",
        help="run the server suites' tests on both stores, not only those marked both_stores",
    )


#: Fixtures that are (or start) a server shared by the worker's tests.
SHARED_SERVER_FIXTURES = frozenset({"live", "live_sqlite", "live_postgresql", "openroster_server"})


#: The suites whose tests talk to a real server. Their tests run on SQLite; the PostgreSQL run of a
#: test is kept only where the test or its module is marked ``both_stores`` (CONTRIBUTING.md, "Which
#: tests run on both stores"). The store's queries run on both backends in process: tests/contract
#: and tests/unit are not among these.
SERVER_SUITES: tuple[str, ...] = ("e2e", "security", "reliability", "console")


def _runs_on_sqlite_only(item: pytest.Item) -> bool:
    """Whether ``item`` is the PostgreSQL run of a server-suite test that does not need it."""
    return (
        item.get_closest_marker("postgresql") is not None
        and item.get_closest_marker("both_stores") is None
        and item.path.parent.name in SERVER_SUITES
        and item.path.parent.parent.name == "tests"
    )


#: How a module marked ``both_stores`` starts the paragraph of its docstring that says why.
WHY_BOTH_STORES = "Why PostgreSQL too"


def _unexplained_both_stores(items: list[pytest.Item]) -> list[str]:
    """Modules with a test marked ``both_stores`` whose docstring does not say why PostgreSQL."""
    modules = {
        str(item.path): getattr(item, "module", None)
        for item in items
        if item.get_closest_marker("both_stores") is not None
    }
    return sorted(
        path for path, m in modules.items() if WHY_BOTH_STORES not in (getattr(m, "__doc__", None) or "")
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if unexplained := _unexplained_both_stores(items):
        raise pytest.UsageError(
            f"these modules mark tests both_stores; say why they need PostgreSQL in their docstring, "
            f"in a paragraph starting {WHY_BOTH_STORES!r}:\n" + "\n".join(unexplained)
        )
    if not config.getoption("every_store") and (dropped := [i for i in items if _runs_on_sqlite_only(i)]):
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if not _runs_on_sqlite_only(item)]
    unmarked = [
        item.nodeid
        for item in items
        if SHARED_SERVER_FIXTURES & set(getattr(item, "fixturenames", ()))
        and item.get_closest_marker("e2e") is None
    ]
    if unmarked:
        raise pytest.UsageError("these tests use a server; mark them e2e:\n" + "\n".join(unmarked))


#: The marker expression of the inner loop (CONTRIBUTING.md).
INNER_LOOP = "not slow"


def _every_test_is_slow(path: Path) -> bool:
    """Whether the module's ``pytestmark`` (at its top) marks all its tests ``slow``."""
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets
        ):
            return any(isinstance(n, ast.Attribute) and n.attr == "slow" for n in ast.walk(node.value))
    return False


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """The inner loop does not import the modules it would deselect whole (the browser tests,
    the fuzzing, crash safety...): each worker would import them for nothing."""
    if (
        config.option.markexpr == INNER_LOOP
        and collection_path.suffix == ".py"
        and collection_path.name.startswith("test_")
        and _every_test_is_slow(collection_path)
    ):
        return True
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[object]:
    _running.append(item)
    try:
        return (yield)
    finally:
        _running.pop()


ALL_WPS_SCOPES = (
    "kso.contact.read",
    "kso.contact.readwrite",
    "kso.user_email.read",
    "kso.user_phone.read",
    "kso.user_gender.read",
    "kso.user_custom_attr.readwrite",
)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[ThrowawayCluster]:
    """One PostgreSQL server for the session (``OPENROSTER_TEST_PG_URL`` names an existing one)."""
    with cluster_from_env() as cluster:
        yield cluster


class SpareDatabases:
    """Migrated databases made one ahead: a test takes the one made while the test before it ran.

    Each is still a fresh ``CREATE DATABASE ... TEMPLATE`` copy of the migrated template
    (``create_database``), used by one test and dropped after it; only the wait moves off the
    test. The copy (the template's catalogue too, about 8 MB) waits on the disk for most of its time.
    """

    def __init__(self, cluster: ThrowawayCluster) -> None:
        self.cluster = cluster
        self._maker = ThreadPoolExecutor(1, thread_name_prefix="spare-database")
        self._next: Future[str] | None = None

    def take(self) -> str:
        taken = self._next or self._maker.submit(self.cluster.create_database)
        self._next = self._maker.submit(self.cluster.create_database)
        return taken.result()

    def close(self) -> None:
        if self._next is not None:
            self.cluster.drop_database(self._next.result())
            self._next = None
        self._maker.shutdown()


@pytest.fixture(scope="session")
def spare_databases(postgres_cluster: ThrowawayCluster) -> Iterator[SpareDatabases]:
    spares = SpareDatabases(postgres_cluster)
    yield spares
    spares.close()


def backend_param(name: str) -> object:
    """``name`` as a test parameter, marked with its backend (the PostgreSQL runs also ``slow``:
    the inner loop, ``-m "not slow"``, runs on SQLite; the whole suite on both)."""
    slow = [pytest.mark.slow] if name == "postgresql" else []
    return pytest.param(name, marks=[getattr(pytest.mark, name), *slow])


@pytest.fixture(params=[backend_param(b) for b in BACKENDS])
def backend(request: pytest.FixtureRequest) -> str:
    """The store backend of this test run: ``sqlite`` or ``postgresql``."""
    return str(request.param)


@dataclass
class Databases:
    """The test's stores, one per data directory: a SQLite file in it, or a PostgreSQL database."""

    backend: str
    cluster: ThrowawayCluster | None
    created: dict[Path, str] = field(default_factory=dict)
    #: Where new databases come from when given (made one ahead); else ``cluster.create_database``.
    spares: SpareDatabases | None = None

    def url_for(self, data_dir: Path) -> str:
        if self.cluster is None:
            return Settings(data_dir=data_dir).resolved_database_url
        key = data_dir.resolve()
        if key not in self.created:
            self.created[key] = self.spares.take() if self.spares else self.cluster.create_database()
        return self.created[key]

    def settings_for(self, data_dir: Path, **kw: object) -> Settings:
        return Settings(data_dir=data_dir, database_url=self.url_for(data_dir), **kw)

    def drop_all(self) -> None:
        if self.cluster is not None:
            for url in self.created.values():
                self.cluster.drop_database(url)
        self.created.clear()


@pytest.fixture
def databases(backend: str, request: pytest.FixtureRequest) -> Iterator[Databases]:
    if backend == "postgresql":
        spares: SpareDatabases = request.getfixturevalue("spare_databases")
        dbs = Databases(backend, spares.cluster, spares=spares)
    else:
        dbs = Databases(backend, None)
    yield dbs
    dbs.drop_all()


@pytest.fixture
def database_url(databases: Databases, tmp_path: Path) -> str:
    """The URL of this test's store (the one ``directory`` and ``server_factory`` use)."""
    return databases.url_for(tmp_path / "data")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite store migrated once per worker: ``directory`` starts from a copy of its file, as it
    starts from a copy of a migrated template database on PostgreSQL (``create_database``). Migrating
    each test's file instead (Alembic, a commit per revision) was most of a SQLite store test's
    set-up: about 50 ms of CPU and, waiting on the disk, 0.1 to 0.3 s of wall time a test."""
    store = open_store(
        Settings(data_dir=tmp_path_factory.mktemp("sqlite-template") / "data").resolved_database_url
    )
    try:
        store.migrate()
    finally:
        store.dispose()  # the last connection closed: the WAL is checkpointed into the file, and removed
    path = store.data_path
    assert path is not None and not Path(f"{path}-wal").exists()
    return path


def copy_sqlite_store(template: Path, data_dir: Path) -> None:
    """Put a copy of the SQLite store ``template`` where a store in ``data_dir`` keeps its file."""
    target = Path(Settings(data_dir=data_dir).resolved_database_url.removeprefix("sqlite:///"))
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    shutil.copyfile(template, target)
    target.chmod(0o600)


@pytest.fixture
def directory(databases: Databases, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Directory]:
    """A migrated store (SQLite file or PostgreSQL database), with its own master key."""
    data = tmp_path / "data"
    if databases.cluster is None:
        copy_sqlite_store(request.getfixturevalue("sqlite_template"), data)
    d = open_directory(databases.settings_for(data))
    d.store.migrate()  # at head already (a copy of a migrated store): one query
    yield d
    d.writes.close()  # a job still queued (an event engine's, say) ends before its connection goes
    d.store.dispose()


@pytest.fixture
def other_process(databases: Databases, tmp_path: Path) -> Iterator[Directory]:
    """A second Directory on the test's store: another server process as far as the store can tell."""
    d = open_directory(databases.settings_for(tmp_path / "data"))
    yield d
    d.writes.close()
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


def start_server(
    data_dir: Path,
    *extra: str,
    port: int | None = None,
    env: dict[str, str] | None = None,
    admin_token: str | None = None,
    shared: bool = False,
) -> ServerProcess:
    """Run ``openroster serve`` as a real process and wait until it answers (the plugin's launcher).

    Only a test marked ``e2e`` may start one, and only a test marked ``slow`` one of its own
    (``shared``: the worker's ``live`` server or its twin).
    """
    if _running:
        test = _running[-1]
        if test.get_closest_marker("e2e") is None:
            raise pytest.UsageError(f"{test.nodeid} starts a server: mark it e2e")
        if not shared and test.get_closest_marker("slow") is None:
            raise pytest.UsageError(f"{test.nodeid} starts a server of its own: mark it slow")
    return launch_server(
        data_dir, *extra, port=port, env=env, admin_token=admin_token, timeout=START_TIMEOUT_S
    )


@pytest.fixture
def server_factory(tmp_path: Path, databases: Databases) -> Iterator[Callable[..., ServerProcess]]:
    """Start ``openroster serve`` processes on this test's backend.

    Servers given the same ``data_dir`` (default: the one ``directory`` uses)
    share one store and one master key file; on PostgreSQL that store is the
    test's database. Pass ``--database-url`` in ``extra`` to choose another.
    """
    started: list[ServerProcess] = []

    def make(
        *extra: str,
        data_dir: Path | None = None,
        port: int | None = None,
        env: dict[str, str] | None = None,
    ) -> ServerProcess:
        dd = data_dir or tmp_path / "data"
        dd.mkdir(parents=True, exist_ok=True)
        if databases.cluster is not None and "--database-url" not in extra:
            extra = (*extra, "--database-url", databases.url_for(dd))
        s = start_server(dd, *extra, port=port, env=env)
        started.append(s)
        return s

    yield make
    for s in started:
        s.stop()


@dataclass
class LiveServer:
    """A server this worker shares between tests, a directory on its store, and its control plane."""

    server: ServerProcess
    directory: Directory
    control: ControlClient
    admin_token: str
    #: The ``serve`` options of the server (and of its twin).
    extra: tuple[str, ...] = ()
    _twin: ServerProcess | None = None

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def twin(self) -> ServerProcess:
        """A second server process on the same store (started the first time a test asks for it)."""
        if self._twin is None:
            self._twin = start_server(
                self.server.data_dir, *self.extra, admin_token=self.admin_token, shared=True
            )
        return self._twin

    def close(self) -> None:
        """Stop the twin and close the directory (the server is its owner's to stop)."""
        self.directory.store.dispose()
        if self._twin is not None:
            self._twin.stop()

    def empty(self) -> None:
        """Delete every tenant; empty the journal, remove fault rules, set the clock to real time."""
        for t in self.control.tenants():
            self.control.delete_tenant(t["id"])
        self.control.reset_everything()


def shared_serve_args(config: pytest.Config) -> list[str]:
    """The ``serve`` options of servers many tests share (pyproject.toml's ``openroster_serve_args``)."""
    return list(config.getini(SERVE_ARGS_INI))


def _live_server(
    config: pytest.Config,
    tmp_path_factory: pytest.TempPathFactory,
    backend: str,
    cluster: ThrowawayCluster | None,
) -> Iterator[LiveServer]:
    dbs = Databases(backend, cluster)
    data = tmp_path_factory.mktemp(f"live-{backend}") / "data"
    url = ("--database-url", dbs.url_for(data)) if cluster is not None else ()
    extra = (*url, *shared_serve_args(config))
    server = start_server(data, *extra, admin_token=LIVE_ADMIN_TOKEN, shared=True)
    control = ControlClient(server.base_url, LIVE_ADMIN_TOKEN)
    live = LiveServer(server, open_directory(dbs.settings_for(data)), control, LIVE_ADMIN_TOKEN, extra)
    try:
        yield live
    finally:
        live.close()
        control.close()
        server.stop()
        dbs.drop_all()


@pytest.fixture(scope="session")
def live_sqlite(
    openroster_server: OpenrosterServer,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[LiveServer]:
    """The plugin's server (``openroster_server``, SQLite): one server per worker serves both the
    plugin's fixtures and ``live``. With ``--openroster-url`` (a server whose store this process
    cannot open) a server of its own."""
    proc = openroster_server.process
    if proc is None:
        yield from _live_server(request.config, tmp_path_factory, "sqlite", None)
        return
    directory = open_directory(Settings(data_dir=proc.data_dir))
    extra = tuple(shared_serve_args(request.config))  # the plugin's server has them (pyproject.toml)
    live = LiveServer(proc, directory, openroster_server.control, openroster_server.admin_token, extra)
    try:
        yield live
    finally:
        live.close()


@pytest.fixture(scope="session")
def live_postgresql(
    tmp_path_factory: pytest.TempPathFactory,
    postgres_cluster: ThrowawayCluster,
    request: pytest.FixtureRequest,
) -> Iterator[LiveServer]:
    yield from _live_server(request.config, tmp_path_factory, "postgresql", postgres_cluster)


@pytest.fixture
def live(backend: str, request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    """This worker's server on the test's backend, empty, with a directory on its store."""
    shared: LiveServer = request.getfixturevalue(f"live_{backend}")
    # Tests of the pytest plugin share this server through ``openroster_tenant``, which deletes its
    # tenant when done but leaves its calls in the journal: a test here starts with none.
    shared.control.clear_journal()
    try:
        yield shared
    finally:
        shared.empty()


@contextmanager
def counting_reads(store: Store) -> Iterator[list[int]]:
    """Count the read transactions ``store`` opens inside the block."""
    opened = [0]
    original = store.read

    @contextmanager
    def read():  # type: ignore[no-untyped-def]
        opened[0] += 1
        with original() as tx:
            yield tx

    store.read = read  # type: ignore[method-assign]
    try:
        yield opened
    finally:
        del store.read


@contextmanager
def refused_reads(store: Store, error: Exception) -> Iterator[None]:
    """Every read transaction ``store`` would open inside the block raises ``error`` instead, as
    when the database restarts or the pool has no connection to give (the polling connection,
    kept apart, still answers)."""

    @contextmanager
    def read():  # type: ignore[no-untyped-def]
        raise error
        yield

    store.read = read  # type: ignore[method-assign]
    try:
        yield
    finally:
        del store.read
