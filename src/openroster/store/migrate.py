"""Schema migrations (Alembic), run from code: ``openroster serve`` upgrades on start."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine


class Migratable(Protocol):
    """What a migration needs of a store (``migrations/env.py`` reads both)."""

    @property
    def engine(self) -> Engine: ...

    @property
    def backend(self) -> str: ...


MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(store: Migratable) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["store"] = store
    return cfg


def upgrade(store: Migratable, revision: str = "head") -> None:
    """Bring the schema up to ``revision``; safe to run when already there."""
    command.upgrade(alembic_config(store), revision)


def current_revision(store: Migratable) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with store.engine.connect() as conn:
        rev = MigrationContext.configure(conn).get_current_revision()
        conn.rollback()
    return rev
