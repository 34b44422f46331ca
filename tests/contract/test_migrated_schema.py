"""The schema the migrations build, on both backends.

The revisions in ``store/migrations/versions`` are history (``store/migration_ddl.py``): a store
migrated from scratch to revision 0011 must get, to the byte, the schema recorded in
``migrated_schema_0011.sqlite.txt`` (SQLite's ``sqlite_master``) and
``migrated_schema_0011.postgresql.txt`` (PostgreSQL's catalogue: columns, constraints, indexes).
Both were recorded from the revisions as they were before they shared ``migration_ddl``; a change
to a past revision or to a function it calls that alters its DDL fails here. Revisions after 0011
are not pinned: ``test_the_migrations_build_what_the_code_reads`` checks them against
``store/schema.py``.
"""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from tests.conftest import Databases

from openroster.store import open_store
from openroster.store.migrate import upgrade
from openroster.store.schema import metadata

PINNED = "0011"
HERE = Path(__file__).parent

_SQLITE_SCHEMA = """SELECT type || ' ' || name || ': ' || sql FROM sqlite_master
                    WHERE sql IS NOT NULL ORDER BY type, name"""
_POSTGRESQL_SCHEMA = [
    """SELECT 'column ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
              || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
              || COALESCE(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '')
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid AND c.relkind = 'r'
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
       WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
       ORDER BY c.relname, a.attnum""",
    """SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
       FROM pg_constraint WHERE connamespace = 'public'::regnamespace
       ORDER BY conrelid::regclass::text, conname""",
    """SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname""",
    """SELECT 'sequence ' || sequencename || ' ' || data_type FROM pg_sequences
       WHERE schemaname = 'public' ORDER BY sequencename""",
]


def _migrated_store_url(databases: Databases, tmp_path: Path) -> str:
    if databases.cluster is None:
        return f"sqlite:///{tmp_path / 'openroster.db'}"
    url = databases.cluster.create_database(migrated=False)
    databases.created[tmp_path] = url  # dropped with the test's databases
    return url


def _schema(url: str, revision: str) -> str:
    store = open_store(url)
    try:
        upgrade(store, revision)
        with store.engine.connect() as conn:
            if store.backend == "sqlite":
                return "".join(f"{line};\n" for (line,) in conn.execute(text(_SQLITE_SCHEMA)))
            return "".join(f"{line}\n" for q in _POSTGRESQL_SCHEMA for (line,) in conn.execute(text(q)))
    finally:
        store.dispose()


def test_the_past_revisions_build_the_schema_they_always_built(databases: Databases, tmp_path: Path) -> None:
    recorded = (HERE / f"migrated_schema_{PINNED}.{databases.backend}.txt").read_text()
    assert _schema(_migrated_store_url(databases, tmp_path), PINNED) == recorded


def test_the_migrations_build_what_the_code_reads(databases: Databases, tmp_path: Path) -> None:
    store = open_store(_migrated_store_url(databases, tmp_path))
    try:
        store.migrate()
        with store.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    finally:
        store.dispose()
