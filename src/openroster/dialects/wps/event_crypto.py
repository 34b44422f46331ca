"""WPS 365 event subscription: the envelope's signature and encryption, and the URL challenge.

What the platform POSTs to a subscribed app's receiver (docs/events.md):

- the URL verification ``{"challenge": "<string>"}``, answered with the same object;
- events: the envelope ``{topic, operation, time, nonce, signature, encrypted_data}`` where

  ``signature = base64url_nopad(HMAC-SHA256(app_secret, app_id:topic:nonce:time:encrypted_data))``
  and ``encrypted_data = base64(AES-256-CBC(key = md5_hex(app_secret), IV = nonce, PKCS#7)(payload))``.

The functions are pure (no server, no store, no I/O) and work against the real platform: a
receiver calls :func:`open_envelope` (the SDK's ``openroster.client.events.wps`` re-exports them
and adds the ASGI ``WpsEventReceiver``); a sender (openroster's delivery engine, a test) calls
:func:`seal_envelope`. Every check that fails raises a subclass of
:class:`~openroster.dialects.event_wire.EventError`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography.hazmat.primitives import padding

from openroster.dialects import event_wire
from openroster.dialects.event_wire import EventDecryptionError, EventFormatError

#: The envelope's fields, in the order the platform sends them.
ENVELOPE_FIELDS = ("topic", "operation", "time", "nonce", "signature", "encrypted_data")

#: The nonce is the AES IV: 16 bytes.
NONCE_BYTES = 16
#: AES's block: the plaintext is padded to a whole number of them (PKCS#7).
AES_BLOCK = 16


@dataclass(frozen=True, slots=True)
class WpsEvent:
    """One verified, decrypted event: the envelope's plain fields and the decrypted ``payload``.

    ``payload`` is the JSON object WPS encrypted, e.g. ``{"company_id": ..., "users": [...]}`` for
    ``kso.user``. ``nonce`` is what a receiver deduplicates on (a retry re-sends the same envelope).
    """

    topic: str
    operation: str
    time: int
    nonce: str
    payload: dict[str, Any]


def new_nonce() -> str:
    """A fresh nonce: 16 random lowercase hex characters, as the platform's samples show."""
    return secrets.token_hex(NONCE_BYTES // 2)


def cipher_key(app_secret: str) -> bytes:
    """The AES-256 key: the 32 ASCII characters of the lowercase hex MD5 of the app secret."""
    return hashlib.md5(app_secret.encode(), usedforsecurity=False).hexdigest().encode("ascii")


def _iv(nonce: str) -> bytes:
    iv = nonce.encode()
    if len(iv) != NONCE_BYTES:
        raise EventFormatError(f"the nonce must be {NONCE_BYTES} bytes (it is the AES IV), not {len(iv)}")
    return iv


def encrypt(app_secret: str, nonce: str, plaintext: bytes) -> str:
    """``encrypted_data`` for ``plaintext``: AES-256-CBC, IV ``nonce``, PKCS#7, standard base64.

    Raises :class:`EventFormatError` when ``nonce`` is not 16 bytes.
    """
    padded = event_wire.pkcs7_pad(plaintext, AES_BLOCK)
    return event_wire.encrypt_blocks(cipher_key(app_secret), _iv(nonce), padded)


def decrypt(app_secret: str, nonce: str, encrypted_data: str) -> bytes:
    """The plaintext of ``encrypted_data``.

    Raises :class:`EventFormatError` when ``nonce`` is not 16 bytes, and
    :class:`EventDecryptionError` when ``encrypted_data`` is not base64, not whole AES blocks,
    or its PKCS#7 padding is wrong (a wrong secret or nonce usually ends there).
    """
    padded = event_wire.decrypt_blocks(cipher_key(app_secret), _iv(nonce), encrypted_data, "encrypted_data")
    unpadder = padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise EventDecryptionError("bad PKCS#7 padding: wrong app secret or nonce") from None


def sign(app_id: str, app_secret: str, topic: str, nonce: str, time: int, encrypted_data: str) -> str:
    """The envelope's ``signature``: base64url without padding of
    HMAC-SHA256(app_secret, ``app_id:topic:nonce:time:encrypted_data``)."""
    content = f"{app_id}:{topic}:{nonce}:{time}:{encrypted_data}".encode()
    digest = hmac.digest(app_secret.encode(), content, "sha256")
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def verify(
    app_id: str, app_secret: str, topic: str, nonce: str, time: int, encrypted_data: str, signature: str
) -> None:
    """Check ``signature`` (constant-time); raises :class:`EventSignatureError` on a mismatch."""
    event_wire.check_signature(
        sign(app_id, app_secret, topic, nonce, time, encrypted_data),
        signature,
        f"the signature of the {topic} event does not match app {app_id}'s secret",
    )


def seal_envelope(
    app_id: str,
    app_secret: str,
    topic: str,
    operation: str,
    payload: Mapping[str, Any] | bytes,
    *,
    time: int,
    nonce: str | None = None,
) -> dict[str, Any]:
    """The envelope a receiver gets for ``payload`` (a JSON object, or its bytes as they are).

    ``time`` is unix seconds; ``nonce`` defaults to :func:`new_nonce`. A sender keeps the
    envelope to re-send it byte for byte on a retry. Raises :class:`EventFormatError` for a
    nonce that is not 16 bytes.
    """
    nonce = new_nonce() if nonce is None else nonce
    plaintext = payload if isinstance(payload, bytes) else orjson.dumps(dict(payload))
    encrypted_data = encrypt(app_secret, nonce, plaintext)
    return {
        "topic": topic,
        "operation": operation,
        "time": time,
        "nonce": nonce,
        "signature": sign(app_id, app_secret, topic, nonce, time, encrypted_data),
        "encrypted_data": encrypted_data,
    }


def _field(envelope: Mapping[str, Any], name: str, kind: type) -> Any:
    value = envelope.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise EventFormatError(f"the envelope's {name!r} is missing or not a {kind.__name__}")
    return value


def open_envelope(app_id: str, app_secret: str, envelope: Mapping[str, Any]) -> WpsEvent:
    """Verify and decrypt one envelope as a receiver must.

    Checks, in order: all six fields are present with their types (``time`` an integer, the others
    strings; :class:`EventFormatError`), the signature (:class:`EventSignatureError`), the
    decryption (:class:`EventDecryptionError`), and that the plaintext is a JSON object
    (:class:`EventDecryptionError`).
    """
    topic = _field(envelope, "topic", str)
    operation = _field(envelope, "operation", str)
    time = _field(envelope, "time", int)
    nonce = _field(envelope, "nonce", str)
    signature = _field(envelope, "signature", str)
    encrypted_data = _field(envelope, "encrypted_data", str)
    verify(app_id, app_secret, topic, nonce, time, encrypted_data, signature)
    payload = event_wire.json_object(decrypt(app_secret, nonce, encrypted_data), "payload")
    return WpsEvent(topic=topic, operation=operation, time=time, nonce=nonce, payload=payload)


def challenge_answer(body: Mapping[str, Any]) -> dict[str, str] | None:
    """The answer to a URL verification (``{"challenge": same}``), or ``None`` when ``body`` is not one.

    A body whose ``challenge`` is not a string raises :class:`EventFormatError`.
    """
    if "challenge" not in body or "encrypted_data" in body:
        return None
    challenge = body["challenge"]
    if not isinstance(challenge, str):
        raise EventFormatError("the challenge is not a string")
    return {"challenge": challenge}
