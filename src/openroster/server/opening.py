"""Opening the store a server (or a CLI command) works on, without the web stack.

Kept apart from :mod:`openroster.server.app` so that the CLI's store commands (``tenant create``,
``app create``, ``import``, ...) open a directory without importing FastAPI, the control plane and
the console: about half of such a command's start-up.
"""

from __future__ import annotations

from openroster.config import Settings
from openroster.core.directory import Directory
from openroster.core.runtime.secrets import MasterKey
from openroster.store import STORE_POOL_SIZE, open_store


def open_directory(settings: Settings) -> Directory:
    # On PostgreSQL each writer thread holds a connection of the pool for as long as it writes: the
    # pool gets those on top of the ones reads and the event engine use, so reads never wait for them.
    store = open_store(
        settings.resolved_database_url,
        sqlite_synchronous=settings.sqlite_synchronous,
        pool_size=STORE_POOL_SIZE + settings.writer_threads,
    )
    key = MasterKey.load(settings.resolved_master_key_file)
    return Directory(
        store, key, cache_max_users=settings.cache_max_users, writer_threads=settings.writer_threads
    )
