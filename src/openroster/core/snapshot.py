"""Known states of a tenant: snapshots (export and import), and resets to empty or to the seed.

A snapshot is a versioned JSON document of one tenant or of all of them::

    {"format": "openroster.snapshot", "version": 1, "secrets": false,
     "tenants": [{"id": ..., "name": ..., "next_dept_id": ..., "seed": {...} | null, ...,
                  "tables": {"depts": [...], "users": [...], "apps": [...], ...}}]}

``tables`` holds the tenant's rows of every data table as ``{column: value}``
objects, in primary-key order, so exporting the same data always gives the
same bytes (export -> import -> export is byte-identical). App secrets are
left out unless asked for (``secrets=True``); they are never stored in the
clear, so an export with secrets unseals them. Issued access tokens are never
part of a snapshot.

Importing replaces the tenant's data (or, for a document of everything, the
whole store) in one transaction. An app without ``client_secret`` keeps the
secret it has in this store, or gets a fresh one, which the import returns.
A snapshot is restored as it is: its structure and the store's constraints are
checked, the directory's rules are not (edit seeds, not snapshots).

Resets keep the tenant and its apps (so every client's credentials stay valid)
and put the rest back to a freshly created tenant (``to="empty"``: the root
department only) or to the seed the tenant was created from (``to="seed"``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from sqlalchemy import Table

from openroster.core import seed as seed_service
from openroster.core import tenants as tenant_service
from openroster.core.directory import Directory
from openroster.core.secrets import new_secret
from openroster.model.entities import Tenant
from openroster.model.errors import Conflict, CoreError, InvalidValue, NotFound, RuleViolation
from openroster.store import schema
from openroster.store import snapshot as rows
from openroster.store import tenants as tenant_rows
from openroster.store.base import WriteTx

FORMAT = "openroster.snapshot"
#: The format version this server writes and the newest it reads.
VERSION = 1

ResetTarget = Literal["empty", "seed"]

_SECRET = "client_secret"  # noqa: S105  (a column name)
_SEALED = "secret_sealed"


class UnsupportedSnapshot(InvalidValue):
    """The snapshot comes from a newer openroster (a format version this server cannot read)."""


@dataclass(frozen=True, slots=True)
class ImportResult:
    tenants: tuple[str, ...]
    #: ``(client_id, secret)`` of the apps that had no secret in the snapshot and none in this store.
    new_secrets: tuple[tuple[str, str], ...] = ()
    #: Tenants the import removed (a snapshot of everything replaces the whole store).
    deleted: tuple[str, ...] = ()


# -- export ------------------------------------------------------------------------


def export(d: Directory, *, tenant_id: str | None = None, secrets: bool = False) -> bytes:
    """The snapshot of one tenant, or of every tenant when ``tenant_id`` is None, as JSON bytes."""
    return render(export_document(d, tenant_id=tenant_id, secrets=secrets))


def export_document(d: Directory, *, tenant_id: str | None = None, secrets: bool = False) -> dict[str, Any]:
    with d.reader() as r:
        ids = [tenant_id] if tenant_id is not None else rows.list_tenant_ids(r.conn)
        out = []
        for tid in ids:
            head = rows.read_tenant_row(r.conn, tid)
            if head is None:
                raise NotFound(f"tenant {tid!r} does not exist", field="tenant")
            out.append(_export_tenant(d, r.conn, head, secrets=secrets))
    return {"format": FORMAT, "version": VERSION, "secrets": secrets, "tenants": out}


def render(doc: Mapping[str, Any]) -> bytes:
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def _export_tenant(d: Directory, conn: Any, head: dict[str, Any], *, secrets: bool) -> dict[str, Any]:
    tid = str(head["id"])
    seed = orjson.loads(head["seed"]) if head.get("seed") else None
    if seed is not None and not secrets:
        seed = _without_seed_secrets(seed)
    tables: dict[str, list[dict[str, Any]]] = {}
    for table in _snapshot_tables():
        found = rows.read_rows(conn, table, tid)
        if table is schema.apps:
            found = [_export_app(d, row, secrets=secrets) for row in found]
        tables[str(table.name)] = found
    return {**{k: v for k, v in head.items() if k != "seed"}, "seed": seed, "tables": tables}


def _export_app(d: Directory, row: dict[str, Any], *, secrets: bool) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if k != _SEALED}
    if secrets:
        out[_SECRET] = d.unseal(row[_SEALED], row["client_id"])
    return out


def _without_seed_secrets(seed: Any) -> Any:
    if isinstance(seed, dict) and isinstance(seed.get("apps"), list):
        seed = {
            **seed,
            "apps": [
                {k: v for k, v in a.items() if k != _SECRET} if isinstance(a, dict) else a
                for a in seed["apps"]
            ],
        }
    return seed


def _snapshot_tables() -> tuple[Table, ...]:
    return tuple(t for t in rows.tenant_tables() if t not in rows.CREDENTIAL_TABLES)


# -- import ------------------------------------------------------------------------


def import_(d: Directory, data: bytes | Mapping[str, Any], *, tenant_id: str | None = None) -> ImportResult:
    """Replace one tenant (``tenant_id``) or everything with the snapshot ``data``, in one transaction."""
    doc = parse(data)
    tenants = doc["tenants"]
    if tenant_id is not None:
        if len(tenants) != 1:
            raise InvalidValue(
                f"tenants: a snapshot imported into tenant {tenant_id!r} must hold exactly one tenant, "
                f"this one holds {len(tenants)}",
                field="tenants",
            )
        if tenants[0]["id"] != tenant_id:
            raise InvalidValue(
                f"tenants[0].id: the snapshot is of tenant {tenants[0]['id']!r}, not {tenant_id!r}",
                field="tenants[0].id",
            )
    new_secrets: list[tuple[str, str]] = []
    with d.writer() as tx:
        conn = tx.conn
        existing = rows.list_tenant_ids(conn)
        replaced = [tenant_id] if tenant_id is not None else existing
        saved = {tid: _save_credentials(conn, tid) for tid in replaced if tid in existing}
        sealed_by_app = {
            str(a["client_id"]): a[_SEALED] for creds in saved.values() for a in creds[schema.apps.name]
        }
        for tid, creds in saved.items():
            _forget(tx, tid, creds)
            rows.clear_tenant(conn, tid)
            rows.delete_tenant_row(conn, tid)
        for i, t in enumerate(tenants):
            new_secrets += _import_tenant(tx, d, t, where=f"tenants[{i}]", sealed_by_app=sealed_by_app)
        for tid, creds in saved.items():
            _restore_tokens(conn, tid, creds)
    imported = tuple(str(t["id"]) for t in tenants)
    return ImportResult(
        tenants=imported,
        new_secrets=tuple(new_secrets),
        deleted=tuple(t for t in replaced if t in existing and t not in imported),
    )


def parse(data: bytes | Mapping[str, Any]) -> dict[str, Any]:
    """Check a snapshot's envelope and structure; the error names the field at fault."""
    if isinstance(data, bytes | bytearray | memoryview | str):
        try:
            doc = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise InvalidValue(f"the snapshot is not valid JSON: {exc}") from None
    else:
        doc = dict(data)
    if not isinstance(doc, dict):
        raise InvalidValue("a snapshot is a JSON object with format, version and tenants")
    if doc.get("format") != FORMAT:
        raise InvalidValue(
            f"format: {doc.get('format')!r} is not an openroster snapshot (expected {FORMAT!r})",
            field="format",
        )
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise InvalidValue(f"version: {version!r} is not a snapshot format version", field="version")
    if version > VERSION:
        raise UnsupportedSnapshot(
            f"version: this snapshot has format version {version}, newer than the newest this server "
            f"reads ({VERSION}); import it with the openroster version that exported it, or a later one",
            field="version",
        )
    tenants = doc.get("tenants")
    if not isinstance(tenants, list):
        raise InvalidValue("tenants: must be a list", field="tenants")
    seen: set[str] = set()
    for i, t in enumerate(tenants):
        where = f"tenants[{i}]"
        if not isinstance(t, dict):
            raise InvalidValue(f"{where}: must be an object", field=where)
        tid = t.get("id")
        if not isinstance(tid, str) or not tid:
            raise InvalidValue(f"{where}.id: must be a tenant id", field=f"{where}.id")
        if tid in seen:
            raise Conflict(f"{where}.id: tenant {tid!r} appears twice", field=f"{where}.id")
        seen.add(tid)
        if not isinstance(t.get("tables"), dict):
            raise InvalidValue(f"{where}.tables: must be an object of table rows", field=f"{where}.tables")
    return doc


def _import_tenant(
    tx: WriteTx, d: Directory, t: Mapping[str, Any], *, where: str, sealed_by_app: Mapping[str, bytes]
) -> list[tuple[str, str]]:
    conn = tx.conn
    tid = str(t["id"])
    head = {k: v for k, v in t.items() if k not in ("tables", "seed")}
    seed = t.get("seed")
    head["seed"] = orjson.dumps(seed).decode() if seed is not None else None
    head = _checked_row(head, rows.tenant_columns(), where=where)
    tenant_service.build(d, tenant_id=tid, name=str(head.get("name") or ""))  # the id and name rules
    for col in ("wps_company_id", "dingtalk_corp_id"):
        value = head.get(col)
        if value is not None:
            other = tenant_rows.find_tenant_by(conn, **{col: value})
            if other is not None and other.id != tid:
                raise Conflict(f"{where}.{col}: {value!r} is already used by tenant {other.id!r}", field=col)
    rows.write_tenant_row(conn, head)
    tables: Mapping[str, Any] = t["tables"]
    known = {table.name: table for table in _snapshot_tables()}
    for name in tables:
        if name not in known:
            raise InvalidValue(
                f"{where}.tables.{name}: this server has no table {name!r} "
                "(a snapshot of a newer openroster?)",
                field=f"{where}.tables.{name}",
            )
    new_secrets: list[tuple[str, str]] = []
    for table in known.values():
        raw = tables.get(table.name) or []
        if not isinstance(raw, list):
            raise InvalidValue(
                f"{where}.tables.{table.name}: must be a list", field=f"{where}.tables.{table.name}"
            )
        cols = rows.columns(table)
        if table is schema.apps:
            cols = {k: v for k, v in cols.items() if k != _SEALED}
        checked: list[dict[str, Any]] = []
        for j, row in enumerate(raw):
            at = f"{where}.tables.{table.name}[{j}]"
            if not isinstance(row, dict):
                raise InvalidValue(f"{at}: must be an object", field=at)
            if table is schema.apps:
                app_row, made = _import_app(d, conn, tid, row, at=at, sealed_by_app=sealed_by_app)
                if made is not None:
                    new_secrets.append(made)
                checked.append(_checked_row(app_row, {**cols, _SEALED: schema.apps.c[_SEALED]}, where=at))
            else:
                checked.append(_checked_row(row, cols, where=at))
        rows.insert_rows(conn, table, tid, checked)
        if table is schema.apps:
            for row in checked:
                tx.changed(tid, "app", row["client_id"])
    tx.changed(tid, "tenant", tid)
    return new_secrets


def _import_app(
    d: Directory,
    conn: Any,
    tenant_id: str,
    row: dict[str, Any],
    *,
    at: str,
    sealed_by_app: Mapping[str, bytes],
) -> tuple[dict[str, Any], tuple[str, str] | None]:
    cid = row.get("client_id")
    if not isinstance(cid, str) or not cid:
        raise InvalidValue(f"{at}.client_id: must be a client id", field=f"{at}.client_id")
    holder = rows.tenant_of_app(conn, cid)
    if holder is not None and holder != tenant_id:
        raise Conflict(
            f"{at}.client_id: {cid!r} is already an app of tenant {holder!r}", field=f"{at}.client_id"
        )
    out = {k: v for k, v in row.items() if k != _SECRET}
    secret = row.get(_SECRET)
    if secret is not None:
        if not isinstance(secret, str) or not 8 <= len(secret) <= 256:
            raise InvalidValue(f"{at}.{_SECRET}: must be 8-256 characters", field=f"{at}.{_SECRET}")
        out[_SEALED] = d.seal(secret, cid)
        return out, None
    if cid in sealed_by_app:
        out[_SEALED] = sealed_by_app[cid]
        return out, None
    fresh = new_secret()
    out[_SEALED] = d.seal(fresh, cid)
    return out, (cid, fresh)


def _checked_row(row: Mapping[str, Any], cols: Mapping[str, Any], *, where: str) -> dict[str, Any]:
    """``row`` if every value fits its column; the error names the column."""
    for name in row:
        if name not in cols:
            raise InvalidValue(f"{where}.{name}: no such column", field=f"{where}.{name}")
    for name, col in cols.items():
        value = row.get(name)
        at = f"{where}.{name}"
        if value is None:
            if not col.nullable and (name in row or (col.default is None and col.server_default is None)):
                raise InvalidValue(f"{at}: is required", field=at)
            continue
        kind = col.type.python_type
        if kind is bool:
            ok = isinstance(value, bool)
        elif kind is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif kind is str:
            ok = isinstance(value, str)
            length = getattr(col.type, "length", None)
            if ok and length is not None and len(value) > length:
                raise InvalidValue(f"{at}: longer than {length} characters", field=at)
        else:
            ok = isinstance(value, kind)
        if not ok:
            raise InvalidValue(f"{at}: must be {kind.__name__}, not {type(value).__name__}", field=at)
    return dict(row)


def seed_of(d: Directory, tenant_id: str) -> dict[str, Any] | None:
    """The seed tenant object ``tenant_id`` was created from, if any."""
    with d.reader() as r:
        head = rows.read_tenant_row(r.conn, tenant_id)
    if head is None:
        raise NotFound(f"tenant {tenant_id!r} does not exist", field="tenant")
    seed: dict[str, Any] | None = orjson.loads(head["seed"]) if head.get("seed") else None
    return seed


# -- resets ------------------------------------------------------------------------------


def reset(d: Directory, tenant_id: str, *, to: ResetTarget = "empty") -> None:
    """Put one tenant back to empty or to its seed, keeping the tenant and its apps. Others are untouched."""
    with d.writer() as tx:
        reset_in(tx, d, tenant_id, to=to)


def reset_all(d: Directory, *, to: ResetTarget = "empty") -> list[str]:
    """Reset every tenant (one transaction); ``to="seed"`` resets tenants without a seed to empty."""
    with d.writer() as tx:
        ids = rows.list_tenant_ids(tx.conn)
        for tid in ids:
            reset_in(tx, d, tid, to=to, seedless_to_empty=True)
    return ids


def reset_in(
    tx: WriteTx, d: Directory, tenant_id: str, *, to: ResetTarget, seedless_to_empty: bool = False
) -> None:
    conn = tx.conn
    head = rows.read_tenant_row(conn, tenant_id)
    if head is None:
        raise NotFound(f"tenant {tenant_id!r} does not exist", field="tenant")
    if to not in ("empty", "seed"):
        raise InvalidValue(f"to: {to!r} is not 'empty' or 'seed'", field="to")
    seed_text = head.get("seed")
    if to == "seed" and not seed_text and not seedless_to_empty:
        raise RuleViolation(
            f"to: tenant {tenant_id!r} was not created from a seed; reset it to empty instead", field="to"
        )
    saved = _save_credentials(conn, tenant_id)
    _forget(tx, tenant_id, saved)
    rows.clear_tenant(conn, tenant_id)
    rows.delete_tenant_row(conn, tenant_id)
    tenant = Tenant(
        id=tenant_id,
        name=head["name"],
        wps_company_id=head["wps_company_id"],
        dingtalk_corp_id=head["dingtalk_corp_id"],
        ctime=head["ctime"],
    )
    tenant_service.create_in(tx, tenant, seed=seed_text)
    for table in (schema.apps, *rows.CREDENTIAL_TABLES):
        rows.insert_rows(conn, table, tenant_id, saved[table.name])
    if to == "seed" and seed_text:
        kept = {str(a["client_id"]) for a in saved[schema.apps.name]}
        fill_from_seed_in(tx, d, tenant_id, orjson.loads(seed_text), skip_apps=kept)


def fill_from_seed_in(
    tx: WriteTx, d: Directory, tenant_id: str, seed: Mapping[str, Any], *, skip_apps: Iterable[str] = ()
) -> None:
    """Load a seed tenant object's contents into ``tenant_id``; errors name ``seed.<field>``."""
    if not isinstance(seed, Mapping):
        raise InvalidValue("seed: must be an object (one tenant of a seed file)", field="seed")
    skip = set(skip_apps)
    content = dict(seed)
    if isinstance(content.get("apps"), list):
        content["apps"] = [
            a for a in content["apps"] if not (isinstance(a, dict) and a.get("client_id") in skip)
        ]
    with errors_at("seed"):
        seed_service.fill_in(tx, d, tenant_id, content)


@contextmanager
def errors_at(where: str) -> Iterator[None]:
    """Core errors raised in the block name their field under ``where`` (``seed.users[3].email``)."""
    try:
        yield
    except CoreError as exc:
        if exc.field and exc.message.startswith(exc.field):
            exc.message = f"{where}.{exc.message}"
        else:
            exc.message = f"{where}.{exc.field}: {exc.message}" if exc.field else f"{where}: {exc.message}"
        exc.field = f"{where}.{exc.field}" if exc.field else where
        exc.args = (exc.message,)
        raise


# -- helpers ---------------------------------------------------------------------------------


def _save_credentials(conn: Any, tenant_id: str) -> dict[str, list[dict[str, Any]]]:
    return {t.name: rows.read_rows(conn, t, tenant_id) for t in (schema.apps, *rows.CREDENTIAL_TABLES)}


def _restore_tokens(conn: Any, tenant_id: str, saved: Mapping[str, Sequence[dict[str, Any]]]) -> None:
    """Put back the issued tokens of the apps that still exist in ``tenant_id`` after an import."""
    present = {str(a["client_id"]) for a in rows.read_rows(conn, schema.apps, tenant_id)}
    for table in rows.CREDENTIAL_TABLES:
        keep = [r for r in saved[table.name] if str(r.get("client_id")) in present]
        rows.insert_rows(conn, table, tenant_id, keep)


def _forget(tx: WriteTx, tenant_id: str, saved: Mapping[str, Sequence[dict[str, Any]]]) -> None:
    tx.changed(tenant_id, "tenant", tenant_id)
    for a in saved[schema.apps.name]:
        tx.changed(tenant_id, "app", a["client_id"])
