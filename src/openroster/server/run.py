"""Running the app under uvicorn the way ``openroster serve`` does: uvloop, the guarded protocol."""

from __future__ import annotations

from typing import Any

from openroster.config import Settings


def run(app: Any, settings: Settings, *, log_level: str) -> None:
    """Serve ``app`` (an ASGI app, or with ``settings.workers`` > 1 a factory's import string),
    over TLS when the settings name a certificate and key (checked first: server/tls.py).

    One line per request at ``info`` and below; above, uvicorn would still format each line
    to drop it, so the access log is off.
    """
    import uvicorn

    from openroster.events.channels.stream import MAX_FRAME
    from openroster.server.guard import GuardedHttpTools
    from openroster.server.stream_protocol import StreamWebSocketProtocol

    factory = isinstance(app, str)
    uvicorn.run(
        app,
        factory=factory,
        host=settings.host,
        port=settings.port,
        workers=settings.workers if factory else None,
        loop="uvloop",
        http=GuardedHttpTools,
        ws=StreamWebSocketProtocol,  # DingTalk Stream mode (GET /connect): SYSTEM disconnect on shutdown
        ws_max_size=MAX_FRAME,
        log_level=log_level,
        access_log=log_level.lower() in ("trace", "debug", "info"),
        timeout_keep_alive=30,
        ssl_certfile=settings.tls_cert,
        ssl_keyfile=settings.tls_key,
    )
