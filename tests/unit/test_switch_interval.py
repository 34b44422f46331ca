"""The server process's switch interval (``serve --switch-interval``, core/runtime/limits.py)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from openroster.config import Settings
from openroster.core.runtime import limits
from openroster.server.app import create_app
from openroster.store import open_store


def test_a_server_process_sets_its_switch_interval_and_gives_it_back(tmp_path: Path) -> None:
    before = sys.getswitchinterval()
    assert Settings().switch_interval_ms == limits.SWITCH_INTERVAL_MS < before * 1000
    settings = Settings(data_dir=tmp_path, switch_interval_ms=0.5, gc_tuning=False)
    store = open_store(settings.resolved_database_url)  # a store as `serve` leaves it: migrated
    store.migrate()
    store.dispose()
    app = create_app(settings)

    async def serving() -> float:
        async with app.router.lifespan_context(app):
            return sys.getswitchinterval()

    assert asyncio.run(serving()) == 0.0005
    assert sys.getswitchinterval() == before
