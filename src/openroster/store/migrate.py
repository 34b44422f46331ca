"""Schema migrations (Alembic), run from code: ``openroster serve`` upgrades on start.

Most starts find the schema already at head (a restart, a second worker, a store a
test has just set up). :func:`upgrade` sees that with one query and returns, so
those starts do not load Alembic at all (about a third of a second of CPU).
Revisions are numbered and each file in ``migrations/versions`` is named after its
revision (``0002_…py``), so the head is the highest number there; the store
contract suite checks that Alembic agrees.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config


class Migratable(Protocol):
    """What a migration needs of a store (``migrations/env.py`` reads both)."""

    @property
    def engine(self) -> Engine: ...

    @property
    def backend(self) -> str: ...


MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def head_revision() -> str:
    """The newest revision: the highest numbered file in ``migrations/versions``."""
    return max(p.name.split("_", 1)[0] for p in (MIGRATIONS_DIR / "versions").glob("[0-9]*_*.py"))


def alembic_config(store: Migratable) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["store"] = store
    return cfg


def upgrade(store: Migratable, revision: str = "head") -> None:
    """Bring the schema up to ``revision``; safe to run when already there."""
    if revision == "head" and current_revision(store) == head_revision():
        return
    from alembic import command

    command.upgrade(alembic_config(store), revision)


def current_revision(store: Migratable) -> str | None:
    """The revision the store's schema is at; None for a store that was never migrated."""
    with store.engine.connect() as conn:
        try:
            rev = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except DBAPIError:  # no such table yet
            rev = None
        conn.rollback()
    return None if rev is None else str(rev)
