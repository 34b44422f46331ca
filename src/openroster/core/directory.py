"""The handle every core service works with: store, master key, cache, clock and writers.

Reads run where they are asked for (on the server's event loop), through the process cache.
Writes that a server request makes run as *jobs* on the store's writers (``store/writer.py``):
:meth:`Directory.write` queues one and awaits it. Inside a job, on the writer's thread,
:meth:`Directory.writer` opens a savepoint of the job's group transaction instead of a
transaction of its own, and :meth:`Directory.reader` reads through that transaction (so a job sees
its own writes and those of the jobs before it in the group) and never touches the process cache,
which only the event loop reads and brings up to date, after the group's commit.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Concatenate, ParamSpec, TypeVar

from openroster.core.runtime.cache import DeptView, DirectoryCache
from openroster.core.runtime.clock import Clock
from openroster.core.runtime.clock import clock as default_clock
from openroster.core.runtime.fragments import FragmentCache, Table
from openroster.core.runtime.limits import DEFAULT_MAX_USERS
from openroster.core.runtime.secrets import MasterKey, TokenMinter
from openroster.model.entities import App, AttributeDefinition, Department, FieldOption, User
from openroster.store import ReadTx, Store, WriteTx
from openroster.store.writer import GroupWriter

P = ParamSpec("P")
R = TypeVar("R")

#: PostgreSQL writer threads (connections) per process by default (request groups run one at a
#: time, the event engine's lane beside them: store/writer.py); SQLite has one.
WRITER_THREADS = 2


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

    @property
    def version(self) -> int | None:
        """The change-log position this read's cache is at (None: a read that sees writes of its
        own). A fragment checked in a read of this version shows nothing that changed since it
        was checked while the version is the same: no change at all, anywhere, was applied."""
        return self._cache.seq

    def depts(self, tenant_id: str, ids: list[int]) -> dict[int, Department]:
        return self._cache.depts(self._open, tenant_id, ids)

    def dept_view(self, tenant_id: str) -> DeptView:
        """The tenant's departments as a lazy mapping (one cache lookup per department asked for)."""
        return self._cache.dept_view(self._open, tenant_id)

    def definitions(self, tenant_id: str) -> list[AttributeDefinition]:
        return self._cache.definitions(self._open, tenant_id)

    def field_options(self, tenant_id: str) -> Mapping[str, tuple[FieldOption, ...]]:
        """The options of the roster select fields the tenant changed, by field code."""
        return self._cache.field_options(self._open, tenant_id)


class JobReader(Reader):
    """A write job's reads: straight through its group's transaction, never through the cache.

    What it renders it keeps in fragments of its own, thrown away with it. Its reads lock nothing:
    a lock taken after the job's writes (PostgreSQL's ``FOR UPDATE`` on a person whose row a
    foreign key already holds) would deadlock with other writers.
    """

    __slots__ = ("_fragments", "_job_tx")

    def __init__(self, directory: Directory, tx: WriteTx) -> None:
        self.directory = directory
        self._job_tx = ReadTx(tx.conn)
        self._fragments = FragmentCache(max_entries=1 << 30)

    @property
    def tx(self) -> ReadTx:
        return self._job_tx

    def close(self) -> None:
        """Nothing to close: the transaction is the group's."""

    def app(self, client_id: str) -> App | None:
        if "\x00" in client_id:
            return None
        return self._job_tx.apps.get_app(client_id, self.directory.unseal)

    def users(self, tenant_id: str, ids: Sequence[str]) -> dict[str, User]:
        order = list(dict.fromkeys(ids))
        found = self._job_tx.users.get_users(tenant_id, order, lock=False)
        return {uid: found[uid] for uid in order if uid in found}

    def fragments(self, tenant_id: str, kind: str, variant: Hashable, stamp: Hashable = None) -> Table:
        return self._fragments.table(tenant_id, kind, variant, stamp)

    @property
    def version(self) -> int | None:
        return None

    def depts(self, tenant_id: str, ids: list[int]) -> dict[int, Department]:
        return self._job_tx.depts.get_depts(tenant_id, list(dict.fromkeys(ids)))

    def dept_view(self, tenant_id: str) -> DeptView:
        return DeptView.own(lambda miss: self._job_tx.depts.get_depts(tenant_id, miss))

    def definitions(self, tenant_id: str) -> list[AttributeDefinition]:
        return self._job_tx.attrs.list_definitions(tenant_id)

    def field_options(self, tenant_id: str) -> Mapping[str, tuple[FieldOption, ...]]:
        return self._job_tx.roster.list_field_options(tenant_id)


class _ThreadsJob(threading.local):
    """The job the current thread runs, as ``(store, group transaction)`` (writer threads only;
    ``None`` elsewhere, a class default so that reading it raises and drops no ``AttributeError``)."""

    current: tuple[Store, WriteTx] | None = None


_job = _ThreadsJob()


class Directory:
    def __init__(
        self,
        store: Store,
        master_key: MasterKey,
        *,
        clock: Clock | None = None,
        cache_max_users: int = DEFAULT_MAX_USERS,
        writer_threads: int = WRITER_THREADS,
    ) -> None:
        self.store = store
        self.master_key = master_key
        self.clock = clock or default_clock
        self.cache = DirectoryCache(store, self.unseal, max_users=cache_max_users)
        self.wps_tokens = TokenMinter(master_key.derive("wps-access-token"), prefix="")
        threads = 1 if store.backend == "sqlite" else writer_threads
        #: The store's writers, which run :meth:`write`'s jobs (started by the first one).
        self.writes = GroupWriter(store, threads=threads, now_ms=self.now_ms, on_published=self.cache.apply)

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
        tx = self._job_tx()
        if tx is not None:
            return JobReader(self, tx)
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
        job = self._job_tx()
        if job is None:
            with self.store.write(quiet=quiet, now_ms=self.now_ms) as tx:
                yield tx
            return
        # Inside a job: a savepoint of the group's transaction (an error undoes this block only).
        was_quiet, job.quiet = job.quiet, job.quiet or quiet
        try:
            with job.savepoint():
                yield job
        finally:
            job.quiet = was_quiet

    async def write(self, job: Callable[[Reader], R], *, weight: int = 0, actor: str | None = None) -> R:
        """Run ``job`` on the store's writers and wait for its group to commit (see module).

        ``job`` gets a reader of the group's transaction; the writes of its services
        (``d.writer()``) commit with the group, all or nothing per job. ``weight``: its share of a
        group's bound (the request's bytes). ``actor``: the app making the request, which its
        change records name. Raises ``Busy`` when the write queue is full.
        """

        def run(tx: WriteTx) -> R:
            _job.current = (self.store, tx)
            tx.actor = actor
            try:
                return job(JobReader(self, tx))
            finally:
                _job.current = None
                tx.actor = None

        result: R = await self.writes.run(run, weight=weight)
        return result

    def _job_tx(self) -> WriteTx | None:
        """The group transaction of the job this thread runs on this directory's store, if any."""
        current = _job.current
        if current is None or current[0] is not self.store:
            return None
        return current[1]

    def now_ms(self) -> int:
        """The directory's clock in unix milliseconds."""
        return int(self.clock.now() * 1000)


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
