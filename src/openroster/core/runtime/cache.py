"""A per-process read-through cache of users, departments, apps and attribute definitions.

Every read starts with :meth:`DirectoryCache.sync`: one tiny query of the change
counter (``Store.latest_seq``, no transaction); only when it moved does it read the
change-log entries committed since (``Store.changes_after``, on the same connection, no
transaction either) and drop what they name. A read served wholly from the cache opens no
transaction. Because the change counter is bumped in commit order, a process that has applied
``seq`` has applied every earlier change, whichever process wrote it. Entries are immutable model
objects. What is rendered from them is kept beside them, in :attr:`DirectoryCache.fragments`
(core/runtime/fragments.py), which each change the log names reaches as well.

The cache is bounded: past ``max_users`` users it forgets the oldest entries, and
its fragments number at most ``FRAGMENTS_PER_USER`` per user it may hold.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from openroster.core.runtime.fragments import PROFILE, FragmentCache
from openroster.core.runtime.limits import DEFAULT_MAX_USERS
from openroster.model.entities import App, AttributeDefinition, Department, FieldOption, User
from openroster.store import Change, ReadTx, Store
from openroster.store.writer import Published

#: Opens (on first call) the read transaction a cache miss is answered from.
OpenTx = Callable[[], ReadTx]
#: Follows changes of one kind the cache does not hold (:meth:`DirectoryCache.watch`).
Watcher = Callable[[ReadTx, str | None], None]

#: Fragments kept per user the cache may hold. At one, the rendered replies take no more memory
#: than when they were kept on the cached users (one WPS reply each, about 1.4 KB).
FRAGMENTS_PER_USER = 1

_MISSING = object()
_REFRESH_BATCH = 2000
#: Department generations, unique in the process (see :attr:`DeptView.generation`).
_GENERATIONS = itertools.count(1)

K = TypeVar("K")
V = TypeVar("V")


class DirectoryCache:
    def __init__(
        self, store: Store, unseal: Callable[[bytes, str], str], *, max_users: int = DEFAULT_MAX_USERS
    ) -> None:
        self._store = store
        self._unseal = unseal
        self._max_users = max_users
        self._seq = -1
        self._polled_at = -1.0
        self._users: dict[str, dict[str, object]] = {}
        self._depts: dict[str, dict[int, object]] = {}
        self._apps: dict[str, object] = {}
        self._defs: dict[str, list[AttributeDefinition]] = {}
        self._options: dict[str, Mapping[str, tuple[FieldOption, ...]]] = {}
        self._dept_generations: dict[str, int] = {}
        #: What dialects (and core) render from the cached objects (see core/runtime/fragments.py).
        self.fragments = FragmentCache(max_users * FRAGMENTS_PER_USER)
        self._user_count = 0
        #: What else follows the change log, by kind (:meth:`watch`).
        self._watchers: dict[str, list[Watcher]] = {}

    @property
    def seq(self) -> int:
        return self._seq

    def clear(self) -> None:
        self._users.clear()
        self._depts.clear()
        self._apps.clear()
        self._defs.clear()
        self._options.clear()
        self._dept_generations.clear()
        self.fragments.clear()
        self._user_count = 0

    def watch(self, kind: str, watcher: Watcher) -> None:
        """Call ``watcher(tx, key)`` when a refresh finds a change of ``kind`` (once per key), and
        ``watcher(tx, None)`` when the cache starts over (anything may have changed)."""
        self._watchers.setdefault(kind, []).append(watcher)

    def _start_over(self, tx: ReadTx) -> None:
        self.clear()
        seq = tx.changes.current_seq()
        for watchers in self._watchers.values():
            for watcher in watchers:
                watcher(tx, None)
        # Only once every watcher was told (see :meth:`_catch_up`): until then the next sync
        # starts over again.
        self._seq = seq

    def sync(self, open_tx: OpenTx, *, fresh_after: float | None = None) -> None:
        """Bring the cache up to date; ``open_tx()`` opens a read transaction if one is needed.

        When the counter moved, the entries after the cache's position are read on the poll's
        connection too (``Store.changes_after``), so catching up needs no read transaction: only
        starting over or a watched kind's change opens one.

        ``fresh_after`` (a ``time.monotonic()`` instant, e.g. when the request arrived): a
        poll of the change counter started after it already saw every write acknowledged
        before it, so that poll is enough. Under load, the requests that arrived together
        share one poll instead of one each (on PostgreSQL, one round trip saved per request).
        """
        if self._seq >= 0:
            if fresh_after is not None and self._polled_at >= fresh_after:
                return
            started = time.monotonic()
            latest = self._store.latest_seq()
            if latest != self._seq:
                self._catch_up(self._store.changes_after(self._seq, _REFRESH_BATCH), latest, open_tx)
            self._polled_at = started
            return
        started = time.monotonic()
        self.refresh(open_tx())
        self._polled_at = started

    def refresh(self, tx: ReadTx) -> None:
        if self._seq < 0:
            self._start_over(tx)
            return
        self._catch_up(tx.changes.since(self._seq, _REFRESH_BATCH), None, lambda: tx)

    def _catch_up(self, changes: Sequence[Change], latest: int | None, open_tx: OpenTx) -> None:
        """Apply the change-log entries after the cache's position (``changes``: at most
        ``_REFRESH_BATCH`` of them, read after the poll that found the counter at ``latest``, or
        in the transaction ``open_tx()`` answers when ``latest`` is None)."""
        if not changes:
            # The counter moved with nothing logged (the pruner always keeps the newest entries,
            # so a pruned entry would leave a newer one behind): nothing to drop.
            self._seq = max(self._seq, open_tx().changes.current_seq() if latest is None else latest)
            return
        if len(changes) == _REFRESH_BATCH or changes[0].seq != self._seq + 1:
            # Too far behind, or the log was pruned past us (``serve --change-retention``): start
            # over instead of replaying.
            self._start_over(open_tx())
            return
        watched = self._drop((c.tenant_id, c.kind, c.key) for c in changes)
        if watched:
            # A watcher reads the store: a transaction begun after the entries it follows. The
            # position moves only once every watcher was told: should the transaction not open
            # (the database restarting, the pool exhausted) or a watcher fail, the next sync reads
            # these entries again and tells them then (dropping twice, telling twice is harmless).
            tx = open_tx()
            for kind, key in sorted(watched):
                for watcher in self._watchers[kind]:
                    watcher(tx, key)
        self._seq = changes[-1].seq

    def apply(self, published: Published) -> None:
        """Apply what a commit of this process's writers published (``GroupWriter``, on the loop):
        the same entries :meth:`refresh` would read back from the change log, without reading
        them. Only when the cache holds every change before it and no watcher follows one of its
        kinds (a watcher reads the store); otherwise the next :meth:`sync` reads the log."""
        if self._seq < 0 or published.seq != self._seq + 1:
            return
        if self._watchers and any(kind in self._watchers for _, kind, _ in published.entries):
            return
        self._drop(published.entries)
        self._seq = published.seq
        # Every commit before the group took the write lock has a smaller counter value: a
        # request that arrived before then needs no poll of its own (see :meth:`sync`).
        self._polled_at = max(self._polled_at, published.locked_at)

    def _drop(self, entries: Iterable[tuple[str, str, str]]) -> set[tuple[str, str]]:
        """Forget what the change-log ``entries`` name; the ``(kind, key)`` a watcher follows."""
        fragments = self.fragments
        watched: set[tuple[str, str]] = set()
        for tenant_id, kind, key in entries:
            if kind == "user":
                bucket = self._users.get(tenant_id)
                if bucket is not None and bucket.pop(key, None) is not None:
                    self._user_count -= 1
                fragments.drop(tenant_id, "user", key)
                fragments.drop(tenant_id, PROFILE, key)
            elif kind == "attrvals":
                # The user's attribute values: the cached ``User`` holds none, and neither do the
                # fragments rendered from it alone (``PROFILE``); those that show them go. A write
                # load of custom attributes so leaves the people's profiles to the reads.
                fragments.drop(tenant_id, "user", key)
            elif kind == "dept":
                dbucket = self._depts.get(tenant_id)
                if dbucket is not None:
                    dbucket.pop(int(key), None)
                self._dept_generations.pop(tenant_id, None)
                fragments.drop(tenant_id, "dept", int(key))
            elif kind == "app":
                self._apps.pop(key, None)
            elif kind == "attrdefs":
                self._defs.pop(tenant_id, None)
            elif kind == "rosteroptions":
                self._options.pop(tenant_id, None)
            elif kind == "tenant":
                fragments.drop_tenant(tenant_id)
                self._user_count -= len(self._users.pop(tenant_id, {}))
                self._depts.pop(tenant_id, None)
                self._dept_generations.pop(tenant_id, None)
                self._defs.pop(tenant_id, None)
                self._options.pop(tenant_id, None)
                self._apps = {
                    k: v for k, v in self._apps.items() if getattr(v, "tenant_id", None) != tenant_id
                }
            elif kind in self._watchers:
                watched.add((kind, key))
        return watched

    # -- lookups ----------------------------------------------------------------

    def users(self, open_tx: OpenTx, tenant_id: str, ids: Iterable[str]) -> dict[str, User]:
        """The users among ``ids`` that exist, once each, in the order of their first mention."""
        bucket = self._users.get(tenant_id)
        if bucket is None:
            bucket = self._users[tenant_id] = {}
        order = ids if isinstance(ids, list) else list(ids)
        found, missing = _hits(bucket, order)
        if missing:
            fetched = open_tx().users.get_users(tenant_id, missing)
            for uid in missing:
                got = fetched.get(uid)
                if uid not in bucket:
                    self._user_count += 1
                bucket[uid] = got if got is not None else _MISSING
            # In the order asked for (the hits were found first), before eviction may drop some.
            found = {uid: hit for uid in order if (hit := found.get(uid) or fetched.get(uid)) is not None}
            self._evict()
        return found

    def depts(self, open_tx: OpenTx, tenant_id: str, ids: Iterable[int]) -> dict[int, Department]:
        bucket = self._depts.get(tenant_id)
        if bucket is None:
            bucket = self._depts[tenant_id] = {}
        return _lookup(bucket, ids, lambda miss: open_tx().depts.get_depts(tenant_id, miss))

    def dept_view(self, open_tx: OpenTx, tenant_id: str) -> DeptView:
        """The tenant's departments as a mapping that looks each one up when asked (see DeptView)."""
        bucket = self._depts.get(tenant_id)
        if bucket is None:
            bucket = self._depts[tenant_id] = {}
        generation = self._dept_generations.get(tenant_id)
        if generation is None:
            generation = self._dept_generations[tenant_id] = next(_GENERATIONS)
        return DeptView(bucket, lambda miss: open_tx().depts.get_depts(tenant_id, miss), generation)

    def app(self, open_tx: OpenTx, client_id: str) -> App | None:
        hit = self._apps.get(client_id)
        if hit is None:
            got = open_tx().apps.get_app(client_id, self._unseal)
            self._apps[client_id] = got if got is not None else _MISSING
            return got
        return None if hit is _MISSING else hit  # type: ignore[return-value]

    def definitions(self, open_tx: OpenTx, tenant_id: str) -> list[AttributeDefinition]:
        hit = self._defs.get(tenant_id)
        if hit is None:
            hit = self._defs[tenant_id] = open_tx().attrs.list_definitions(tenant_id)
        return hit

    def field_options(self, open_tx: OpenTx, tenant_id: str) -> Mapping[str, tuple[FieldOption, ...]]:
        """The roster select fields' options the tenant changed (``store/roster.list_field_options``)."""
        hit = self._options.get(tenant_id)
        if hit is None:
            hit = self._options[tenant_id] = open_tx().roster.list_field_options(tenant_id)
        return hit

    def _evict(self) -> None:
        if self._user_count <= self._max_users:
            return
        target = self._max_users * 9 // 10
        for _tenant_id, bucket in sorted(self._users.items(), key=lambda kv: len(kv[1]), reverse=True):
            while bucket and self._user_count > target:
                del bucket[next(iter(bucket))]
                self._user_count -= 1
            if self._user_count <= target:
                break


class DeptView(Mapping[int, Department]):
    """A tenant's departments, read through the cache one id at a time.

    For replies that embed each user's departments: asking for the ones the
    users belong to as they are rendered costs one dict lookup each, instead
    of collecting every id first. Iteration and ``len`` cover what is cached.

    ``generation`` names the state of the tenant's departments: it is unique in
    the process and changes whenever one of them changes (or the cache starts
    over), so a reply rendered with the departments of one generation may be
    reused while the view has the same generation, without looking at them.
    """

    __slots__ = ("_bucket", "_fetch", "generation")

    def __init__(
        self,
        bucket: dict[int, object],
        fetch: Callable[[list[int]], dict[int, Department]],
        generation: int,
    ) -> None:
        self._bucket = bucket
        self._fetch = fetch
        self.generation = generation

    @classmethod
    def own(cls, fetch: Callable[[list[int]], dict[int, Department]]) -> DeptView:
        """A view sharing nothing with the cache (a write job's: it reads through its transaction)."""
        return cls({}, fetch, next(_GENERATIONS))

    def get(self, key: int, default: Department | None = None) -> Department | None:  # type: ignore[override]
        hit = self._bucket.get(key)
        if hit is None:
            got = _lookup(self._bucket, (key,), self._fetch).get(key)
            return got if got is not None else default
        return default if hit is _MISSING else hit  # type: ignore[return-value]

    def __getitem__(self, key: int) -> Department:
        got = self.get(key)
        if got is None:
            raise KeyError(key)
        return got

    def __iter__(self) -> Iterator[int]:
        return iter([k for k, v in self._bucket.items() if v is not _MISSING])

    def __len__(self) -> int:
        return sum(1 for v in self._bucket.values() if v is not _MISSING)


def _hits(bucket: Mapping[K, object], ids: Iterable[K]) -> tuple[dict[K, Any], list[K]]:
    """The entries of ``ids`` the bucket holds (known absences left out), and the ids it does not hold."""
    found: dict[K, Any] = {}
    missing: list[K] = []
    for key in ids:
        hit = bucket.get(key)
        if hit is None:
            missing.append(key)
        elif hit is not _MISSING:
            found[key] = hit
    return found, missing


def _lookup(bucket: dict[K, object], ids: Iterable[K], fetch: Callable[[list[K]], dict[K, V]]) -> dict[K, V]:
    found, missing = _hits(bucket, ids)
    if missing:
        fetched = fetch(missing)
        for key in missing:
            got = fetched.get(key)
            bucket[key] = got if got is not None else _MISSING
            if got is not None:
                found[key] = got
    return found
