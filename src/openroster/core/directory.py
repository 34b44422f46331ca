"""The handle every core service works with: store, master key, cache and clock."""

from __future__ import annotations

import copy
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Concatenate, ParamSpec, TypeVar

from openroster.core.runtime.cache import DeptView, DirectoryCache
from openroster.core.runtime.clock import Clock
from openroster.core.runtime.clock import clock as default_clock
from openroster.core.runtime.fragments import Table
from openroster.core.runtime.limits import DEFAULT_MAX_USERS
from openroster.core.runtime.secrets import MasterKey, TokenMinter
from openroster.model.entities import App, AttributeDefinition, Department, User
from openroster.store import ReadTx, Store, WriteTx


class Reader:
    """A read with the process cache brought up to date.

    The read transaction opens on first use of :attr:`tx` (a cache miss, or a
    query of the caller's own): a read answered from the cache never opens one.
    """

    __slots__ = ("_cache", "_open_tx", "_read", "directory")

    def __init__(self, directory: Directory) -> None:
        self.directory = directory
        self._cache = directory.cache
        self._open_tx: ReadTx | None = None
        self._read: AbstractContextManager[ReadTx] | None = None

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def tx(self) -> ReadTx:
        """This read's store transaction (one consistent snapshot on SQLite), opened when first asked for."""
        if self._open_tx is None:
            read = self.directory.store.read()
            self._open_tx = read.__enter__()
            self._read = read
        return self._open_tx

    def _open(self) -> ReadTx:
        return self.tx

    def close(self) -> None:
        """End the read transaction, if one was opened (a Reader is closed by leaving its ``with``)."""
        read, self._read, self._open_tx = self._read, None, None
        if read is not None:
            read.__exit__(None, None, None)

    def app(self, client_id: str) -> App | None:
        if "\x00" in client_id:  # no client id holds a NUL (and PostgreSQL cannot compare one)
            return None
        return self._cache.app(self._open, client_id)

    def users(self, tenant_id: str, ids: Sequence[str]) -> dict[str, User]:
        """The users among ``ids`` that exist, once each, in the order of their first mention."""
        return self._cache.users(self._open, tenant_id, ids)

    def fragments(self, tenant_id: str, kind: str, variant: Hashable, stamp: Hashable = None) -> Table:
        """The table of fragments ``variant`` of the tenant's entities of ``kind`` (see runtime/fragments)."""
        return self._cache.fragments.table(tenant_id, kind, variant, stamp)

    def depts(self, tenant_id: str, ids: list[int]) -> dict[int, Department]:
        return self._cache.depts(self._open, tenant_id, ids)

    def dept_view(self, tenant_id: str) -> DeptView:
        """The tenant's departments as a lazy mapping (one cache lookup per department asked for)."""
        return self._cache.dept_view(self._open, tenant_id)

    def definitions(self, tenant_id: str) -> list[AttributeDefinition]:
        return self._cache.definitions(self._open, tenant_id)


class Directory:
    def __init__(
        self,
        store: Store,
        master_key: MasterKey,
        *,
        clock: Clock | None = None,
        cache_max_users: int = DEFAULT_MAX_USERS,
    ) -> None:
        self.store = store
        self.master_key = master_key
        self.clock = clock or default_clock
        self.cache = DirectoryCache(store, self.unseal, max_users=cache_max_users)
        self.wps_tokens = TokenMinter(master_key.derive("wps-access-token"), prefix="")

    def at_clock(self, clock: Clock) -> Directory:
        """This directory (the same store, key and cache) reading ``clock``: fixtures written as of a
        fixed moment use it."""
        other = copy.copy(self)
        other.clock = clock
        return other

    def seal(self, secret: str, client_id: str) -> bytes:
        return self.master_key.seal(secret, context=f"app-secret:{client_id}")

    def unseal(self, sealed: bytes, client_id: str) -> str:
        return self.master_key.unseal(sealed, context=f"app-secret:{client_id}")

    def reader(self, *, fresh_after: float | None = None) -> Reader:
        """A read that sees every write committed before it began (any process's); use it in ``with``.

        ``fresh_after``: it need only see the writes committed before this
        ``time.monotonic()`` instant (when the request arrived; see ``DirectoryCache.sync``).
        """
        r = Reader(self)
        try:
            self.cache.sync(r._open, fresh_after=fresh_after)
        except BaseException:
            r.close()
            raise
        return r

    @contextmanager
    def writer(self, *, quiet: bool = False) -> Iterator[WriteTx]:
        """A write transaction whose change records carry this directory's clock. ``quiet``: it
        records no changes for the event engine (seeding, snapshots, resets: set-up, not change)."""
        with self.store.write(quiet=quiet, now_ms=self.now_ms) as tx:
            yield tx

    def now_ms(self) -> int:
        """The directory's clock in unix milliseconds."""
        return int(self.clock.now() * 1000)


P = ParamSpec("P")
R = TypeVar("R")


def in_own_writer(
    service: Callable[Concatenate[WriteTx, Directory, P], R],
) -> Callable[Concatenate[Directory, P], R]:
    """A service that runs inside the caller's write transaction (``x_in(tx, d, ...)``) as one that
    opens its own (``x(d, ...)``): all or nothing."""

    def in_own(d: Directory, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with d.writer() as tx:
            return service(tx, d, *args, **kwargs)

    in_own.__doc__ = f"Like :func:`{service.__name__}`, in a write transaction of its own."
    in_own.__name__ = in_own.__qualname__ = service.__name__.removesuffix("_in")
    in_own.__module__ = service.__module__
    return in_own
