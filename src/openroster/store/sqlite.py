"""SQLite backend: a WAL-mode database file, safe for several processes.

The poll of the change counter (``Store.latest_seq``) skips its query while the WAL-index
header is what it was before the last one. That header (the first 96 bytes of the ``-shm`` file:
two copies of 48 bytes, https://www.sqlite.org/walformat.html, "The WAL-Index Header") is where
every connection of every process publishes its commit, as a reader begins: it holds ``iChange``,
which each commit increments, the WAL's last frame and its checksums, and the salts a checkpoint's
restart of the WAL changes. A commit writes the second copy, then the first; a reader reads the
first, then the second. While the two copies are equal and unchanged since the last query, no
transaction committed since that query began, so its counter is still the latest. The file is
mapped read-only, and read without a system call or the interpreter's lock given up; it stays the
same file, and as long, while the polling connection is open (SQLite empties or deletes it only
when no connection of any process has the database open), which each poll checks first.
"""

from __future__ import annotations

import mmap
import os
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, event, text

from openroster.store.base import Store

#: How long a writer waits for another process's write lock before failing.
BUSY_TIMEOUT_MS = 30_000
#: The WAL-index header: two copies of 48 bytes at the start of the ``-shm`` file (see module).
_WAL_INDEX_HEADER = 48


class SqliteStore(Store):
    backend = "sqlite"

    def __init__(self, url: str, *, synchronous: str = "NORMAL") -> None:
        path = _path_of(url)
        if path is not None:
            _create_private(path)
        engine = create_engine(
            url,
            connect_args={
                "isolation_level": None,
                "check_same_thread": False,
                "timeout": BUSY_TIMEOUT_MS / 1000,
            },
        )
        sync_mode = synchronous.upper()
        if sync_mode not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
            raise ValueError(f"synchronous must be OFF, NORMAL, FULL or EXTRA, not {synchronous!r}")

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA synchronous={sync_mode}")
            cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA cache_size=-65536")
            cur.execute("PRAGMA temp_store=MEMORY")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            conn.exec_driver_sql(conn.info.pop("openroster_begin", "BEGIN"))

        super().__init__(engine, url)
        self._path = path
        #: The ``-shm`` file mapped, and the polling connection it was mapped for.
        self._shm: mmap.mmap | None = None
        self._shm_of: Any = None

    def _prepare_write(self, conn: Connection) -> None:
        # Take the write lock up front: a deferred transaction that later
        # upgrades to a writer can fail with SQLITE_BUSY without waiting.
        conn.info["openroster_begin"] = "BEGIN IMMEDIATE"

    def _commit_mark(self) -> bytes | None:
        """The WAL-index header while its two copies agree (see module). Raises when the polling
        connection was closed (then its ``-shm`` file may be gone): the poll opens another."""
        if self._poll.driver_connection.in_transaction:  # raises on a closed connection
            return None
        if self._shm_of is not self._poll:
            self._map_shm()
        shm = self._shm
        if shm is None:
            return None
        head = shm[: 2 * _WAL_INDEX_HEADER]
        return head if head[:_WAL_INDEX_HEADER] == head[_WAL_INDEX_HEADER:] else None

    def _map_shm(self) -> None:
        """Map the ``-shm`` file for the polling connection just opened (which opened the WAL);
        without it (an in-memory database), every poll queries."""
        self._unmap_shm()
        self._shm_of = self._poll
        if self._path is None:
            return
        try:
            fd = os.open(f"{self._path}-shm", os.O_RDONLY)
        except OSError:
            return
        try:
            if os.fstat(fd).st_size >= 2 * _WAL_INDEX_HEADER:
                self._shm = mmap.mmap(fd, 2 * _WAL_INDEX_HEADER, access=mmap.ACCESS_READ)
        finally:
            os.close(fd)

    def _unmap_shm(self) -> None:
        shm, self._shm, self._shm_of = self._shm, None, None
        if shm is not None:
            shm.close()

    def dispose(self) -> None:
        super().dispose()
        with self._poll_lock:
            self._unmap_shm()

    @property
    def data_path(self) -> Path | None:
        return self._path

    def integrity_check(self) -> list[str]:
        with self.engine.connect() as conn:
            rows = [str(r[0]) for r in conn.execute(text("PRAGMA integrity_check")).all()]
            fk = [repr(tuple(r)) for r in conn.execute(text("PRAGMA foreign_key_check")).all()]
            conn.rollback()
        problems = [r for r in rows if r != "ok"]
        return problems + [f"foreign key: {r}" for r in fk]

    def describe(self) -> dict[str, Any]:
        return {"backend": self.backend, "path": str(self._path) if self._path else ":memory:"}


def _path_of(url: str) -> Path | None:
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        raise ValueError(f"not a SQLite URL: {url!r}")
    raw = url[len(prefix) :].split("?", 1)[0]
    if raw in ("", ":memory:"):
        return None
    return Path(raw)


def _create_private(path: Path) -> None:
    """Create the database file (and its WAL companions) readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    for suffix in ("", "-wal", "-shm"):
        p = Path(str(path) + suffix)
        if suffix == "" and not p.exists():
            fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o600)
            os.close(fd)
        if p.exists():
            os.chmod(p, 0o600)
