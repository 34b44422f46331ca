"""DingTalk HTTP callbacks for a receiver: the callback crypto and :class:`DingTalkCallbackReceiver`.

The pure protocol (encrypt, decrypt with the owner-key check, sign, verify, the ``success`` reply
and its check, ``check_url``, :func:`seal_callback`, :class:`CallbackKeys`, :class:`DingTalkEvent`)
is defined in :mod:`openroster.dialects.dingtalk.callback_crypto`, below both the SDK and the
server, so the server's senders use the same code; this module re-exports it (the same objects)
and adds what only a receiver needs: :func:`query_values` and the ASGI app. See docs/events.md.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from openroster.client.events.asgi import EventReceiver, Handler
from openroster.dialects.dingtalk.callback_crypto import (
    CHECK_URL_MESSAGE,
    PAD_BLOCK,
    SUCCESS,
    CallbackKeys,
    CallbackRequest,
    DingTalkEvent,
    PayloadStyle,
    check_success_reply,
    decrypt,
    encrypt,
    new_nonce,
    now_ms,
    open_callback,
    owner_key,
    parse_aes_key,
    seal_callback,
    sign,
    success_reply,
    verify,
)
from openroster.dialects.event_wire import EventFormatError

__all__ = [
    "CHECK_URL_MESSAGE",
    "PAD_BLOCK",
    "SUCCESS",
    "CallbackKeys",
    "CallbackRequest",
    "DingTalkCallbackReceiver",
    "DingTalkEvent",
    "PayloadStyle",
    "check_success_reply",
    "decrypt",
    "encrypt",
    "new_nonce",
    "now_ms",
    "open_callback",
    "owner_key",
    "parse_aes_key",
    "query_values",
    "seal_callback",
    "sign",
    "success_reply",
    "verify",
]


def query_values(raw: bytes) -> dict[str, str]:
    """A query string as a dict; :class:`EventFormatError` when a name appears twice."""
    values: dict[str, str] = {}
    for name, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        if name in values:
            raise EventFormatError(f"the query has {name!r} twice")
        values[name] = value
    return values


class DingTalkCallbackReceiver(EventReceiver[DingTalkEvent]):
    """An ASGI app receiving one subscription's DingTalk callbacks at any path.

    It verifies and decrypts every request (:func:`open_callback`); answers ``check_url`` with
    :func:`success_reply`; for any other event calls ``handler`` with the :class:`DingTalkEvent`
    and then answers :func:`success_reply`. A failed check is answered 401 (signature) or 400
    (anything else) and the handler is not called; a handler that raises is answered 500, with
    no ``success``, so DingTalk retries. Both are logged on this module's logger.
    """

    def __init__(self, keys: CallbackKeys, handler: Handler[DingTalkEvent]) -> None:
        super().__init__(handler)
        self.keys = keys

    def open(self, query_string: bytes, body: dict[str, Any]) -> DingTalkEvent | None:
        event = open_callback(self.keys, query_values(query_string), body)
        return None if event.event_type == "check_url" else event

    def answer(self, body: dict[str, Any], event: DingTalkEvent | None) -> object:
        return success_reply(self.keys)
