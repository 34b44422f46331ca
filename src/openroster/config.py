"""Server settings: from CLI flags, or from the environment for worker processes."""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path

from openroster.core.runtime import limits
from openroster.core.runtime.limits import DEFAULT_MAX_USERS

ENV_SETTINGS = "OPENROSTER_SETTINGS_JSON"


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path = Path("openroster-data")
    database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    master_key_file: Path | None = None
    sqlite_synchronous: str = "NORMAL"
    cache_max_users: int = DEFAULT_MAX_USERS
    #: PostgreSQL writer threads (one connection each) per process: one runs the request groups, one
    #: at a time, the others the event engine's lane beside it; SQLite has one (store/writer.py).
    writer_threads: int = 2
    #: Python's switch interval in a server process, ms (``limits.SWITCH_INTERVAL_MS``, set on start).
    switch_interval_ms: float = limits.SWITCH_INTERVAL_MS
    #: WPS rate limits added to / overriding the defaults, e.g. "GET /v7/users=20,*=100".
    wps_rate_limits: str = ""
    #: DingTalk /v1.0 rate limits added to / overriding the default (20 calls/s per app and API),
    #: e.g. "GET /v1.0/hrm/dismission/reasons=5,*=off" (dialects/dingtalk_v1/throttling.py).
    dingtalk_v1_rate_limits: str = ""
    #: Failed credential attempts at the token endpoints per client id and per source address in
    #: ``credential_failures_window`` seconds (0: no limit), core/runtime/throttle.py.
    credential_failures_per_client: int = limits.CREDENTIAL_FAILURES_PER_CLIENT
    credential_failures_per_address: int = limits.CREDENTIAL_FAILURES_PER_ADDRESS
    credential_failures_window: float = limits.CREDENTIAL_FAILURES_WINDOW_SECONDS
    #: The control plane's admin token (``/_openroster/``); a random one when not given.
    admin_token: str | None = None
    #: Platform calls the request journal keeps, newest first out last (0 turns it off).
    journal_size: int = 10_000
    #: Seconds a client may take to send a request's head; its body (server/guard.py).
    head_timeout: float = limits.HEAD_TIMEOUT_SECONDS
    body_timeout: float = limits.BODY_TIMEOUT_SECONDS
    #: Tune Python's garbage collector for a long-lived cache when the server starts (server/app.py).
    gc_tuning: bool = True
    #: Days delivered events stay in the outbox (for replay) before they are pruned, and change
    #: records a paused subscription has not fanned out are kept (events/pruning.py).
    events_retention_days: float = 7.0
    #: Days dead events stay in the outbox (visible, replayable) before they are pruned.
    events_dead_retention_days: float = 30.0
    #: Seconds a process holds a delivery it is sending before another may take it over (events/engine.py).
    events_lease_seconds: float = 30.0
    #: Change-log entries kept in the store; older ones are pruned in the background (core/runtime/upkeep.py).
    change_retention: int = limits.CHANGE_RETENTION_DEFAULT
    #: Serve over TLS with this certificate (PEM, the chain after it) and its unencrypted key.
    tls_cert: Path | None = None
    tls_key: Path | None = None

    @property
    def scheme(self) -> str:
        return "https" if self.tls_cert is not None else "http"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'openroster.db').resolve()}"

    @property
    def resolved_master_key_file(self) -> Path:
        return self.master_key_file or (self.data_dir / "master.key")

    def to_env(self) -> str:
        raw = dataclasses.asdict(self)
        return json.dumps({k: (str(v) if isinstance(v, Path) else v) for k, v in raw.items()})

    @classmethod
    def from_env(cls) -> Settings:
        raw = json.loads(os.environ.get(ENV_SETTINGS, "{}"))
        for key in ("data_dir", "master_key_file", "tls_cert", "tls_key"):
            if raw.get(key) is not None:
                raw[key] = Path(raw[key])
        return cls(**raw)
