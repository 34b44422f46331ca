"""The columns and foreign keys the migrations declare again and again, declared once.

The revisions in ``migrations/versions`` are history: a store migrated from scratch today must get
the schema each of them gave when it was written, to the byte, on both backends. So **the
functions here must never change what they return** (a type, a length, a nullability, an
``ondelete``, a name): every revision that calls one would change with it. A table that needs
another shape declares its own column; a new shared shape is a new function.
``tests/contract/test_migrated_schema.py`` checks the schema the revisions give against the one
they gave when these functions were introduced.

``store/schema.py`` is the schema as the code reads it today and keeps its own declarations.
"""

from __future__ import annotations

import sqlalchemy as sa


def tenant_id() -> sa.Column[str]:
    """The id of the tenant a row belongs to (with :func:`tenant_fk`, or in :func:`person_fk`)."""
    return sa.Column("tenant_id", sa.String(length=64), nullable=False)


def user_id() -> sa.Column[str]:
    """The id of the person a row belongs to, within its tenant."""
    return sa.Column("user_id", sa.String(length=64), nullable=False)


def tenant_fk() -> sa.ForeignKeyConstraint:
    """A tenant's rows: deleting the tenant deletes them."""
    return sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE")


def person_fk() -> sa.ForeignKeyConstraint:
    """A person's rows (``tenant_id``, ``user_id``): deleting the person deletes them."""
    return sa.ForeignKeyConstraint(
        ["tenant_id", "user_id"], ["users.tenant_id", "users.id"], ondelete="CASCADE"
    )


def serial_id() -> sa.Column[int]:
    """A row id the database hands out: BIGINT on PostgreSQL, INTEGER on SQLite (only an
    INTEGER primary key is SQLite's rowid)."""
    return sa.Column(
        "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
    )


def ctime() -> sa.Column[int]:
    """When the row was created (the clock's epoch seconds)."""
    return sa.Column("ctime", sa.BigInteger(), nullable=False)


def mtime() -> sa.Column[int]:
    """When the row last changed (the clock's epoch seconds)."""
    return sa.Column("mtime", sa.BigInteger(), nullable=False)
