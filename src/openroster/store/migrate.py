"""Schema migrations (Alembic), run from code: ``openroster serve`` upgrades on start."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config

if TYPE_CHECKING:
    from openroster.store.base import Store

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(store: Store) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["store"] = store
    return cfg


def upgrade(store: Store, revision: str = "head") -> None:
    """Bring the schema up to ``revision``; safe to run when already there."""
    command.upgrade(alembic_config(store), revision)


def current_revision(store: Store) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with store.engine.connect() as conn:
        rev = MigrationContext.configure(conn).get_current_revision()
        conn.rollback()
    return rev
