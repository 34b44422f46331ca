"""A throwaway PostgreSQL cluster for tests, benchmarks and local trials.

:class:`ThrowawayCluster` finds the PostgreSQL server binaries (installing the
Debian package ``postgresql`` when they are missing and the machine allows it),
runs ``initdb`` in a fresh temporary directory, starts ``postgres`` on
127.0.0.1 and a free port, and removes everything on :meth:`stop`. PostgreSQL
refuses to run as root, so when the caller is root the cluster runs as an
unprivileged system user (``postgres`` when the package created it, else a
dedicated ``openroster-pg`` user made on the spot).

Databases are cheap: :meth:`create_database` copies a template database the
cluster migrated once, so each test can have its own.

Command line (``scripts/postgres.sh`` wraps it)::

    python -m openroster.store.pgcluster run -- CMD ARGS...   # CMD sees OPENROSTER_TEST_PG_URL
    python -m openroster.store.pgcluster serve                 # print a URL, run until Ctrl-C
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

#: An admin URL (``postgresql://USER@HOST:PORT/postgres``) of a running server to use
#: instead of starting a cluster; ``run`` sets it for the command it runs.
ENV_ADMIN_URL = "OPENROSTER_TEST_PG_URL"
#: Where to look first for ``postgres``, ``initdb`` (e.g. ``/usr/lib/postgresql/16/bin``).
ENV_BINDIR = "OPENROSTER_PG_BINDIR"

_SUPERUSER = "openroster"
_DEDICATED_USER = "openroster-pg"
_DIR_PREFIX = "openroster-pg-"
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class ClusterError(RuntimeError):
    """The cluster could not be installed, started or used."""


def find_bindir() -> Path | None:
    """The directory holding ``postgres``, ``initdb`` and ``pg_ctl``, newest version first."""
    candidates: list[Path] = []
    if os.environ.get(ENV_BINDIR):
        candidates.append(Path(os.environ[ENV_BINDIR]))

    def version(p: str) -> tuple[int, ...]:
        digits = re.findall(r"\d+", Path(p).parent.name)
        return tuple(int(x) for x in digits)

    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)]
    candidates += [Path(p) for p in sorted(glob.glob("/usr/pgsql-*/bin"), reverse=True)]
    for name in ("postgres", "initdb"):
        found = shutil.which(name)
        if found:
            candidates.append(Path(found).resolve().parent)
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=True)
            candidates.append(Path(out.stdout.strip()))
    for c in candidates:
        if all(os.access(c / exe, os.X_OK) for exe in ("postgres", "initdb", "pg_ctl")):
            return c
    return None


def install_postgresql() -> Path:
    """Install the server with the system package manager; returns its bin directory."""
    if shutil.which("apt-get") is None:
        raise ClusterError(
            "PostgreSQL server binaries are missing and apt-get is not available: install PostgreSQL "
            f"(postgres, initdb, pg_ctl) and set {ENV_BINDIR} to their directory"
        )
    prefix: list[str] = []
    if os.geteuid() != 0:
        if shutil.which("sudo") is None:
            raise ClusterError("PostgreSQL is missing: run 'apt-get install -y postgresql' as root")
        prefix = ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [*prefix, "apt-get", "install", "-y", "--no-install-recommends", "postgresql"]
    sys.stderr.write("PostgreSQL server binaries not found: installing the 'postgresql' package\n")
    if subprocess.run(install, env=env, check=False).returncode != 0:
        subprocess.run([*prefix, "apt-get", "update"], env=env, check=False)
        if subprocess.run(install, env=env, check=False).returncode != 0:
            raise ClusterError("'apt-get install -y postgresql' failed; see its output above")
    bindir = find_bindir()
    if bindir is None:
        raise ClusterError("installed the 'postgresql' package but found no server binaries")
    return bindir


def _unprivileged_user() -> pwd.struct_passwd | None:
    """``None`` when we are not root; else the user the server runs as (created if needed)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", _DEDICATED_USER):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", _DEDICATED_USER],
        check=True,
        capture_output=True,
    )
    return pwd.getpwnam(_DEDICATED_USER)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_abandoned() -> None:
    """Stop and delete clusters whose owning process died without cleaning up."""
    for root in glob.glob(os.path.join(tempfile.gettempdir(), _DIR_PREFIX + "*")):
        owner_file = Path(root) / "owner.pid"
        try:
            owner = int(owner_file.read_text())
        except (OSError, ValueError):
            continue
        if _pid_alive(owner):
            continue
        pm = Path(root) / "data" / "postmaster.pid"
        with contextlib.suppress(OSError, ValueError, ProcessLookupError):
            os.kill(int(pm.read_text().split("\n", 1)[0]), signal.SIGQUIT)
            time.sleep(0.5)
        shutil.rmtree(root, ignore_errors=True)


class ThrowawayCluster:
    """A PostgreSQL server in a temporary directory; gone after :meth:`stop`.

    ``durable=False`` (the default, for tests) turns off fsync: the data is
    thrown away anyway. Benchmarks pass ``durable=True`` to measure the
    settings a real deployment would use.
    """

    def __init__(self, *, durable: bool = False, settings: dict[str, str] | None = None) -> None:
        self.durable = durable
        self.extra_settings = dict(settings or {})
        self.port = 0
        self.root: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._user: pwd.struct_passwd | None = None
        self._template: str | None = None
        self._external: str | None = None

    # -- lifecycle --------------------------------------------------------------

    @classmethod
    def from_url(cls, admin_url: str) -> ThrowawayCluster:
        """Use a server that is already running (its admin URL) instead of starting one."""
        c = cls()
        c._external = admin_url
        return c

    def start(self) -> ThrowawayCluster:
        if self._external is not None:
            return self
        remove_abandoned()
        bindir = find_bindir() or install_postgresql()
        self._user = _unprivileged_user()
        self.root = Path(tempfile.mkdtemp(prefix=_DIR_PREFIX))
        (self.root / "owner.pid").write_text(str(os.getpid()))
        data = self.root / "data"
        sockets = self.root / "sockets"
        data.mkdir(mode=0o700)
        sockets.mkdir(mode=0o700)
        if self._user is not None:
            for p in (self.root, data, sockets):
                os.chown(p, self._user.pw_uid, self._user.pw_gid)
        self._run(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                _SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
                "--no-sync",
            ]
        )
        settings = {
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": str(sockets),
            "max_connections": "400",
            "shared_buffers": "128MB",
            "logging_collector": "off",
            "log_min_messages": "warning",
        }
        if not self.durable:
            settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        settings |= self.extra_settings
        for _attempt in range(5):
            self.port = free_port()
            args = [str(bindir / "postgres"), "-D", str(data), "-p", str(self.port)]
            for k, v in settings.items():
                args += ["-c", f"{k}={v}"]
            with open(self.root / "postgres.log", "ab") as log:
                self._proc = self._popen(args, stdout=log, stderr=subprocess.STDOUT)
            if self._wait_ready(self._proc):
                return self
            self._proc.kill()
            self._proc.wait()
        tail = (self.root / "postgres.log").read_text(errors="replace")[-2000:]
        self.stop()
        raise ClusterError(f"PostgreSQL did not start:\n{tail}")

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self._proc.wait(30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None
        if self._external is not None and self._template is not None:
            with contextlib.suppress(Exception):
                self.drop_database(self._template)
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> ThrowawayCluster:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- databases --------------------------------------------------------------

    @property
    def admin_url(self) -> str:
        if self._external is not None:
            return self._external
        return f"postgresql://{_SUPERUSER}@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        base, _, _ = self.admin_url.rpartition("/")
        return f"{base}/{database}"

    def execute(self, sql: str, params: Sequence[Any] | None = None, *, database: str = "postgres") -> None:
        """Run one statement outside a transaction (CREATE / DROP DATABASE need that)."""
        import psycopg

        with psycopg.connect(self.url(database).replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute(sql, params)

    def create_database(self, name: str | None = None, *, migrated: bool = True) -> str:
        """A new empty database (with the schema when ``migrated``); returns its URL."""
        name = name or f"t_{secrets.token_hex(6)}"
        if not _NAME.match(name):
            raise ValueError(f"database name {name!r}: use lowercase letters, digits and '_'")
        if migrated:
            template = self._migrated_template()
            self.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        else:
            self.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name_or_url: str) -> None:
        name = name_or_url.rsplit("/", 1)[-1].split("?", 1)[0]
        if not _NAME.match(name):
            raise ValueError(f"database name {name!r}: use lowercase letters, digits and '_'")
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _migrated_template(self) -> str:
        if self._template is None:
            from openroster.store.postgres import PostgresStore

            name = f"openroster_tpl_{os.getpid()}_{secrets.token_hex(3)}"
            self.execute(f'CREATE DATABASE "{name}"')
            store = PostgresStore(self.url(name), pool_size=1)
            try:
                store.migrate()
            finally:
                store.dispose()
            self._template = name
        return self._template

    # -- helpers ------------------------------------------------------------------

    def _popen(self, args: list[str], **kw: Any) -> subprocess.Popen[bytes]:
        if self._user is not None:
            kw.update(user=self._user.pw_uid, group=self._user.pw_gid, extra_groups=[])
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        return subprocess.Popen(args, cwd=str(self.root), env=env, **kw)

    def _run(self, args: list[str]) -> None:
        proc = self._popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        out, _ = proc.communicate()
        if proc.returncode != 0:
            raise ClusterError(f"{Path(args[0]).name} failed:\n{out.decode(errors='replace')}")

    def _wait_ready(self, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> bool:
        import psycopg

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return False
            try:
                with psycopg.connect(self.admin_url, connect_timeout=2):
                    return True
            except psycopg.OperationalError:
                time.sleep(0.1)
        return False


@contextlib.contextmanager
def cluster_from_env(*, durable: bool = False) -> Iterator[ThrowawayCluster]:
    """The server named by ``OPENROSTER_TEST_PG_URL`` if set, else a fresh throwaway cluster."""
    external = os.environ.get(ENV_ADMIN_URL)
    c = ThrowawayCluster.from_url(external) if external else ThrowawayCluster(durable=durable)
    c.start()
    try:
        yield c
    finally:
        c.stop()


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    usage = "usage: python -m openroster.store.pgcluster run [--durable] -- CMD [ARGS...] | serve [--durable]"
    if not args or args[0] not in ("run", "serve"):
        sys.stderr.write(usage + "\n")
        return 2
    command, rest = args[0], args[1:]
    # Stop and delete the cluster however this process is asked to end (CI timeouts send SIGTERM;
    # a shell starts background jobs with SIGINT ignored).
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGINT, _exit_on_signal)
    durable = "--durable" in rest[: rest.index("--")] if "--" in rest else "--durable" in rest
    with ThrowawayCluster(durable=durable) as c:
        if command == "serve":
            url = c.create_database("openroster", migrated=False)
            sys.stdout.write(f"{url}\n")
            sys.stdout.flush()
            with contextlib.suppress(KeyboardInterrupt):
                while True:
                    time.sleep(3600)
            return 0
        if "--" not in rest or rest.index("--") == len(rest) - 1:
            sys.stderr.write(usage + "\n")
            return 2
        cmd = rest[rest.index("--") + 1 :]
        return subprocess.run(cmd, env={**os.environ, ENV_ADMIN_URL: c.admin_url}, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
