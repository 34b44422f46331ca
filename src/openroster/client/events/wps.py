"""WPS 365 event subscription for a receiver: the envelope's checks and :class:`WpsEventReceiver`.

The pure protocol (signature, encryption, the URL challenge, :func:`open_envelope`,
:func:`seal_envelope`, :class:`WpsEvent`) is defined in :mod:`openroster.dialects.wps.event_crypto`,
below both the SDK and the server, so the server's senders use the same code; this module
re-exports it (the same objects) and adds the ASGI app. See docs/events.md.
"""

from __future__ import annotations

from typing import Any

from openroster.client.events.asgi import EventReceiver, Handler
from openroster.dialects.wps.event_crypto import (
    ENVELOPE_FIELDS,
    NONCE_BYTES,
    WpsEvent,
    challenge_answer,
    cipher_key,
    decrypt,
    encrypt,
    new_nonce,
    open_envelope,
    seal_envelope,
    sign,
    verify,
)

__all__ = [
    "ENVELOPE_FIELDS",
    "NONCE_BYTES",
    "WpsEvent",
    "WpsEventReceiver",
    "challenge_answer",
    "cipher_key",
    "decrypt",
    "encrypt",
    "new_nonce",
    "open_envelope",
    "seal_envelope",
    "sign",
    "verify",
]


class WpsEventReceiver(EventReceiver[WpsEvent]):
    """An ASGI app receiving one WPS app's events at any path.

    It answers the URL verification (:func:`challenge_answer`); verifies and decrypts every event
    (:func:`open_envelope`), calls ``handler`` with the :class:`WpsEvent` and answers 200 ``{}``.
    A failed check is answered 401 (signature) or 400 (anything else) and the handler is not
    called; a handler that raises is answered 500 (the platform retries). Both are logged on this
    module's logger.
    """

    def __init__(self, app_id: str, app_secret: str, handler: Handler[WpsEvent]) -> None:
        super().__init__(handler)
        self.app_id = app_id
        self._app_secret = app_secret

    def open(self, query_string: bytes, body: dict[str, Any]) -> WpsEvent | None:
        if challenge_answer(body) is not None:
            return None
        return open_envelope(self.app_id, self._app_secret, body)

    def answer(self, body: dict[str, Any], event: WpsEvent | None) -> object:
        return {} if event is not None else challenge_answer(body)
