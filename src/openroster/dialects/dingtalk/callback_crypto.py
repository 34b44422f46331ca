"""DingTalk HTTP push (event subscription and the older ``register_call_back``): the callback crypto.

What DingTalk POSTs to a subscriber (docs/events.md)::

    POST <url>?signature=<sig>&timestamp=<ms>&nonce=<str>     body {"encrypt": "<base64>"}

    plain     = random16 + uint32_be(len(msg)) + msg + owner_key, PKCS#7-padded to 32 bytes
    encrypt   = base64(AES-256-CBC(key = base64(aes_key + "="), IV = key[:16])(plain))
    signature = sha1_hex("".join(sorted([token, timestamp, nonce, encrypt])))

and the receiver answers 200 ``{"msg_signature", "timeStamp", "nonce", "encrypt"}``: the string
``success`` encrypted and signed the same way. Registration sends ``{"EventType": "check_url"}``
and wants the same reply. The owner key is the appKey for an internal app's event subscription
(openroster's ``current`` payload style), the corpId for ``register_call_back`` (``legacy``).

Pure functions (no server, no store, no I/O), checked against the official library's published
vectors; they work against the real platform. A receiver calls :func:`open_callback` and
:func:`success_reply` (the SDK's ``openroster.client.events.dingtalk`` re-exports them and adds
the ASGI ``DingTalkCallbackReceiver``); a sender (openroster's delivery engine, a test) calls
:func:`seal_callback` and :func:`check_success_reply`. Every failed check raises a subclass of
:class:`~openroster.dialects.event_wire.EventError`.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import string
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from openroster.dialects import event_wire
from openroster.dialects.event_wire import EventDecryptionError, EventFormatError

PayloadStyle = Literal["current", "legacy"]

#: The plaintext of the registration probe.
CHECK_URL_MESSAGE = b'{"EventType":"check_url"}'
#: The plaintext of the only reply that counts as received.
SUCCESS = b"success"
#: Plaintexts are padded to a multiple of this (not the AES block of 16).
PAD_BLOCK = 32

_ALPHANUMERIC = string.ascii_letters + string.digits
_AES_KEY = re.compile(r"[A-Za-z0-9]{43}")


def parse_aes_key(aes_key: str) -> bytes:
    """The 32-byte AES key of an ``aes_key`` (EncodingAESKey): base64 of the 43 characters plus ``=``.

    Raises :class:`EventFormatError` unless ``aes_key`` is 43 characters of ``[A-Za-z0-9]``.
    """
    if not _AES_KEY.fullmatch(aes_key):
        raise EventFormatError("aes_key must be 43 characters of [A-Za-z0-9]")
    return base64.b64decode(aes_key + "=")


def owner_key(style: PayloadStyle, *, app_key: str, corp_id: str) -> str:
    """The owner key of a payload style: the appKey for ``current``, the corpId for ``legacy``."""
    return app_key if style == "current" else corp_id


@dataclass(frozen=True, slots=True)
class CallbackKeys:
    """One subscription's secrets: ``token``, ``aes_key`` (43 characters) and the ``owner_key``.

    Raises :class:`EventFormatError` for an ``aes_key`` that is not 43 characters of ``[A-Za-z0-9]``.
    """

    token: str = field(repr=False)
    aes_key: str = field(repr=False)
    owner_key: str
    key: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", parse_aes_key(self.aes_key))


@dataclass(frozen=True, slots=True)
class DingTalkEvent:
    """One verified, decrypted callback: the decrypted ``payload`` and the request's query values.

    ``payload`` is the JSON object DingTalk encrypted (``{"EventType": "user_add_org", ...}``).
    """

    event_type: str
    payload: dict[str, Any]
    timestamp: str
    nonce: str

    @property
    def event_id(self) -> str | None:
        """``eventId`` (``current`` payloads; what a receiver deduplicates on), else ``None``."""
        value = self.payload.get("eventId")
        return value if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class CallbackRequest:
    """What a sender POSTs: ``query`` (``signature``, ``timestamp``, ``nonce``) and ``body`` (``encrypt``)."""

    query: dict[str, str]
    body: dict[str, str]


def new_nonce(length: int = 16) -> str:
    """Random characters of ``[A-Za-z0-9]`` (a nonce, or the 16 random leading bytes of a plaintext)."""
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(length))


def now_ms() -> str:
    """The current unix time in milliseconds, as the string DingTalk sends."""
    return str(time.time_ns() // 1_000_000)


def encrypt(keys: CallbackKeys, message: bytes | str, *, random16: str | None = None) -> str:
    """``encrypt`` for ``message``: random16, length, message, owner key, 32-byte PKCS#7, AES, base64.

    ``random16`` defaults to 16 fresh random characters; raises :class:`EventFormatError` when a
    given one is not 16 bytes.
    """
    head = (new_nonce() if random16 is None else random16).encode()
    if len(head) != 16:
        raise EventFormatError("random16 must be 16 bytes")
    msg = message.encode() if isinstance(message, str) else message
    plain = head + len(msg).to_bytes(4, "big") + msg + keys.owner_key.encode()
    return event_wire.encrypt_blocks(keys.key, keys.key[:16], event_wire.pkcs7_pad(plain, PAD_BLOCK))


def decrypt(keys: CallbackKeys, encrypted: str) -> bytes:
    """The message inside ``encrypted``.

    Raises :class:`EventDecryptionError` when it is not base64 or not whole AES blocks, the
    padding is not 1..32 bytes of its own length, the length prefix points past the end, or the
    trailer is not ``keys.owner_key`` (DingTalk's error 900010).
    """
    plain = event_wire.decrypt_blocks(keys.key, keys.key[:16], encrypted, "encrypt")
    pad = plain[-1]
    if not 1 <= pad <= PAD_BLOCK or plain[-pad:] != bytes([pad]) * pad:
        raise EventDecryptionError("bad padding: wrong aes_key")
    plain = plain[:-pad]
    if len(plain) < 20:
        raise EventDecryptionError("the plaintext is shorter than its header")
    length = int.from_bytes(plain[16:20], "big")
    if 20 + length > len(plain):
        raise EventDecryptionError("the length prefix points past the end of the plaintext")
    if plain[20 + length :] != keys.owner_key.encode():
        raise EventDecryptionError("the owner key does not match (DingTalk error 900010)")
    return plain[20 : 20 + length]


def sign(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    """The signature: lowercase hex SHA-1 of the four values sorted and joined."""
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypted])).encode()).hexdigest()  # noqa: S324


def verify(token: str, timestamp: str, nonce: str, encrypted: str, signature: str) -> None:
    """Check ``signature`` (constant-time); raises :class:`EventSignatureError` on a mismatch."""
    event_wire.check_signature(
        sign(token, timestamp, nonce, encrypted),
        signature,
        "the callback's signature does not match the token",
    )


def seal_callback(
    keys: CallbackKeys,
    message: Mapping[str, Any] | bytes,
    *,
    timestamp: str | None = None,
    nonce: str | None = None,
    random16: str | None = None,
) -> CallbackRequest:
    """The query and body a sender POSTs for ``message`` (a JSON object, or its bytes as they are).

    ``timestamp`` defaults to now (ms), ``nonce`` and ``random16`` to fresh random characters.
    """
    msg = message if isinstance(message, bytes) else orjson.dumps(dict(message))
    timestamp = now_ms() if timestamp is None else timestamp
    nonce = new_nonce() if nonce is None else nonce
    encrypted = encrypt(keys, msg, random16=random16)
    query = {
        "signature": sign(keys.token, timestamp, nonce, encrypted),
        "timestamp": timestamp,
        "nonce": nonce,
    }
    return CallbackRequest(query=query, body={"encrypt": encrypted})


def _one_of(query: Mapping[str, str], *names: str) -> str:
    present = [query[name] for name in names if name in query]
    if not present:
        raise EventFormatError(f"the query has no {' or '.join(names)}")
    if len(present) > 1:
        raise EventFormatError(f"the query has both {' and '.join(names)}")
    return present[0]


def open_callback(keys: CallbackKeys, query: Mapping[str, str], body: Mapping[str, Any]) -> DingTalkEvent:
    """Verify and decrypt one callback request as a receiver must.

    Reads ``signature`` (or ``msg_signature``), ``timestamp`` (or ``timeStamp``) and ``nonce`` from
    the query and ``encrypt`` from the body (:class:`EventFormatError` when one is missing, or
    both spellings are given); checks the signature (:class:`EventSignatureError`), decrypts
    (:class:`EventDecryptionError`, owner key included) and requires a JSON object with a string
    ``EventType`` (:class:`EventDecryptionError`).
    """
    signature = _one_of(query, "signature", "msg_signature")
    timestamp = _one_of(query, "timestamp", "timeStamp")
    nonce = _one_of(query, "nonce")
    encrypted = body.get("encrypt")
    if not isinstance(encrypted, str):
        raise EventFormatError("the body has no encrypt string")
    verify(keys.token, timestamp, nonce, encrypted, signature)
    payload = event_wire.json_object(decrypt(keys, encrypted), "message")
    if not isinstance(payload.get("EventType"), str):
        raise EventDecryptionError("the decrypted message has no EventType string")
    return DingTalkEvent(event_type=payload["EventType"], payload=payload, timestamp=timestamp, nonce=nonce)


def success_reply(
    keys: CallbackKeys,
    *,
    timestamp: str | None = None,
    nonce: str | None = None,
    random16: str | None = None,
) -> dict[str, str]:
    """The reply that tells DingTalk a callback (or ``check_url``) was received.

    ``{"msg_signature", "timeStamp", "nonce", "encrypt"}``: ``success`` encrypted with ``keys``,
    signed over its own ``timeStamp`` (default now, ms) and ``nonce`` (default 16 random characters).
    """
    timestamp = now_ms() if timestamp is None else timestamp
    nonce = new_nonce() if nonce is None else nonce
    encrypted = encrypt(keys, SUCCESS, random16=random16)
    return {
        "msg_signature": sign(keys.token, timestamp, nonce, encrypted),
        "timeStamp": timestamp,
        "nonce": nonce,
        "encrypt": encrypted,
    }


def check_success_reply(keys: CallbackKeys, reply: object) -> None:
    """Check a receiver's reply as DingTalk does: only a valid encrypted ``success`` counts.

    Raises :class:`EventFormatError` unless ``reply`` is an object with the four string fields,
    :class:`EventSignatureError` when ``msg_signature`` does not match, and
    :class:`EventDecryptionError` when ``encrypt`` does not decrypt (owner key included) to ``success``.
    """
    names = ("msg_signature", "timeStamp", "nonce", "encrypt")
    if not isinstance(reply, Mapping) or not all(isinstance(reply.get(name), str) for name in names):
        raise EventFormatError(
            "the reply is not an object with string msg_signature, timeStamp, nonce, encrypt"
        )
    verify(keys.token, reply["timeStamp"], reply["nonce"], reply["encrypt"], reply["msg_signature"])
    if decrypt(keys, reply["encrypt"]) != SUCCESS:
        raise EventDecryptionError("the reply does not decrypt to success")
