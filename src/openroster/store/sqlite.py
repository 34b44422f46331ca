"""SQLite backend: a WAL-mode database file, safe for several processes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, event, text

from openroster.store.base import Store

#: How long a writer waits for another process's write lock before failing.
BUSY_TIMEOUT_MS = 30_000


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

    def _prepare_write(self, conn: Connection) -> None:
        # Take the write lock up front: a deferred transaction that later
        # upgrades to a writer can fail with SQLITE_BUSY without waiting.
        conn.info["openroster_begin"] = "BEGIN IMMEDIATE"

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
