"""Rendered fragments, kept per process beside the directory cache: the one render cache.

A dialect that renders the same entity again and again (a person's WPS reply, a
person's DingTalk roster item) keeps what it rendered here, and so does core
for values it works out per person (the roster's links). One concept:

- **Key**: (tenant, entity kind, variant, entity id). The kind is the change
  log's (``user``, ``dept``), or :data:`PROFILE` for what is rendered from a
  user's own record alone (no attribute values); the variant is the caller's name for one way of
  rendering (``("wps.user", scope bits)``, ``("dingtalk.roster", field filter)``);
  the id is the entity's.
- **Version of the entity.** The change log is the version: when
  ``DirectoryCache.refresh`` applies a change that names an entity (a user,
  their custom attribute values, a department), it calls :meth:`FragmentCache.drop`
  and every fragment of that entity goes, in every variant (a change of a user's
  attribute values only leaves their ``PROFILE`` fragments). That is the same
  rule by which the cache drops the entity itself, so a process holds only
  fragments of the entity's current version, whichever process wrote it; a new
  version is rendered on first use. A fragment is only ever made from objects
  read through the cache in the same request (after its ``sync``, with no
  other request in between), so it is never older than what the cache holds.
- **Version of what else it shows.** An entry is a tuple whose first items
  are *stamps* of the other things the fragment was rendered from, and whose
  last item is the fragment: the roster catalogue and the linked names
  (compared by identity) for a roster item, the record's links and the names
  of the departments and people it shows for its linked names. A reader compares the
  stamps with the current ones and renders again when one differs. What every
  entry of a table shares is the table's stamp instead (``stamp`` of
  :meth:`FragmentCache.table`): the tenant's department generation
  (``DeptView.generation``) for replies that embed departments. A table asked
  for with another stamp starts empty, so its entries need no check of their
  own. Nothing needs dropping when a department or an attribute definition
  changes. A stamp never holds another entity's object: an entry that did
  would keep that object's replaced versions alive.
- **Lifetime and bound.** The cache is dropped with the directory cache (when it
  starts over, and a tenant's tables when the tenant changes). It holds at most
  ``max_entries`` entries: past that the oldest ones of the largest tables go.

Reads are a dict lookup on :attr:`Table.entries` (hot loops keep its ``get``);
writes go through :meth:`Table.put`, which counts them against the bound.

- **What a reader checked at one version.** A reader whose entries carry the read's version
  (``Reader.version``: while it is the same, nothing changed anywhere) may keep, per table, an
  index of the entries it found current at that version (:meth:`Table.checked`), in the form it
  sends them: a warm read then takes them without checking each one again. The index is emptied
  when the version or the reader's stamp moves, loses an entry when the entry is dropped, and is
  emptied when the table is cleared or evicted from, so it never outlives what the table holds.
Nothing here is on the model: its objects stay frozen values.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable
from typing import Any

#: One entry: the stamps of what the fragment was rendered from, then the fragment.
Entry = tuple[Any, ...]
#: The kind of the fragments rendered from a user's own record alone (``User``: profile and
#: departments), which a change of their attribute values (``attrvals``) leaves in place; a
#: fragment that shows any attribute value is of the kind ``user``.
PROFILE = "user.profile"


class Table:
    """The fragments of one variant of one kind of entity of one tenant, by entity id."""

    __slots__ = ("_checked", "_checked_at", "_owner", "entries", "stamp")

    def __init__(self, owner: FragmentCache, stamp: Hashable) -> None:
        self._owner = owner
        #: What every entry was rendered with, besides its entity (see the module doc).
        self.stamp = stamp
        #: Entity id -> entry. Read it directly; write through :meth:`put`.
        self.entries: dict[Hashable, Entry] = {}
        self._checked: dict[Hashable, Any] = {}
        self._checked_at: tuple[int, object] | None = None

    def checked(self, version: int, stamp: object) -> dict[Hashable, Any]:
        """The reader's index of the entries it found current at the read's ``version`` with its
        ``stamp`` (compared by identity), by entity id, in the form it sends them (see the module
        doc): empty when ``version`` or ``stamp`` differ from the last call's. The reader fills
        it with entries of this table it checked in a read of ``version``."""
        at = self._checked_at
        if at is None or at[0] != version or at[1] is not stamp:
            self._checked = {}
            self._checked_at = (version, stamp)
        return self._checked

    def forget_checked(self, key: Hashable = None) -> None:
        """The entry ``key`` left the table (None: any number of entries did)."""
        if key is None:
            self._checked = {}
            self._checked_at = None
        else:
            self._checked.pop(key, None)

    def put(self, key: Hashable, entry: Entry) -> None:
        entries = self.entries
        if key not in entries:
            self._owner.count += 1
        entries[key] = entry
        if self._owner.count > self._owner.max_entries:
            self._owner.evict()


class FragmentCache:
    """Every table of fragments of the process (see the module doc)."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self.count = 0
        #: tenant -> (kind, variant) -> table
        self._tables: dict[str, dict[tuple[str, Hashable], Table]] = {}

    def table(self, tenant_id: str, kind: str, variant: Hashable, stamp: Hashable = None) -> Table:
        """The table ``variant``; empty unless its entries were made with ``stamp``."""
        tables = self._tables.get(tenant_id)
        if tables is None:
            tables = self._tables[tenant_id] = {}
        table = tables.get((kind, variant))
        if table is None:
            table = tables[(kind, variant)] = Table(self, stamp)
        elif table.stamp != stamp:
            self.count -= len(table.entries)
            table.entries.clear()
            table.forget_checked()
            table.stamp = stamp
        return table

    def drop(self, tenant_id: str, kind: str, key: Hashable) -> None:
        """The change log named this entity: its fragments, in every variant, go."""
        for (k, _variant), table in self._tables.get(tenant_id, {}).items():
            if k == kind and table.entries.pop(key, None) is not None:
                self.count -= 1
                table.forget_checked(key)

    def drop_tenant(self, tenant_id: str) -> None:
        for table in self._tables.pop(tenant_id, {}).values():
            self.count -= len(table.entries)

    def clear(self) -> None:
        self._tables.clear()
        self.count = 0

    def evict(self) -> None:
        """Forget the oldest entries of the largest tables, down to nine tenths of the bound."""
        target = self.max_entries * 9 // 10
        every = [(tenant, name, t) for tenant, tables in self._tables.items() for name, t in tables.items()]
        # Counted afresh: a table dropped while a caller still held it may have been put to since.
        self.count = sum(len(t.entries) for _, _, t in every)
        for tenant, name, table in sorted(every, key=lambda x: len(x[2].entries), reverse=True):
            if self.count <= target:
                return
            entries = table.entries
            oldest = list(itertools.islice(entries, self.count - target))
            for key in oldest:
                del entries[key]
            table.forget_checked()
            self.count -= len(oldest)
            if not entries:
                del self._tables[tenant][name]
