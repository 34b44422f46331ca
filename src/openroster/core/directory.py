"""The handle every core service works with: store, master key, cache and clock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection

from openroster.core.cache import DirectoryCache
from openroster.core.clock import Clock
from openroster.core.clock import clock as default_clock
from openroster.core.model import App, AttributeDefinition, Department, User
from openroster.core.secrets import MasterKey, TokenMinter
from openroster.store import Store, WriteTx


class Reader:
    """A read transaction with the process cache brought up to date."""

    __slots__ = ("_cache", "conn", "directory")

    def __init__(self, directory: Directory, conn: Connection) -> None:
        self.directory = directory
        self.conn = conn
        self._cache = directory.cache

    def app(self, client_id: str) -> App | None:
        return self._cache.app(self.conn, client_id)

    def users(self, tenant_id: str, ids: list[str]) -> dict[str, User]:
        return self._cache.users(self.conn, tenant_id, ids)

    def depts(self, tenant_id: str, ids: list[int]) -> dict[int, Department]:
        return self._cache.depts(self.conn, tenant_id, ids)

    def definitions(self, tenant_id: str) -> list[AttributeDefinition]:
        return self._cache.definitions(self.conn, tenant_id)


class Directory:
    def __init__(
        self,
        store: Store,
        master_key: MasterKey,
        *,
        clock: Clock | None = None,
        cache_max_users: int = 200_000,
    ) -> None:
        self.store = store
        self.master_key = master_key
        self.clock = clock or default_clock
        self.cache = DirectoryCache(store, self.unseal, max_users=cache_max_users)
        self.wps_tokens = TokenMinter(master_key.derive("wps-access-token"), prefix="")

    def seal(self, secret: str, client_id: str) -> bytes:
        return self.master_key.seal(secret, context=f"app-secret:{client_id}")

    def unseal(self, sealed: bytes, client_id: str) -> str:
        return self.master_key.unseal(sealed, context=f"app-secret:{client_id}")

    @contextmanager
    def reader(self) -> Iterator[Reader]:
        with self.store.read() as tx:
            self.cache.refresh(tx.conn)
            yield Reader(self, tx.conn)

    @contextmanager
    def writer(self) -> Iterator[WriteTx]:
        with self.store.write() as tx:
            yield tx
