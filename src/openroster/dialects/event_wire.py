"""What the WPS 365 event envelope and DingTalk's HTTP callbacks share on the wire.

Both platforms encrypt an event's payload with AES-CBC and carry the ciphertext as standard
base64 (each pads, keys and frames its own way: ``wps/event_crypto.py``,
``dingtalk/callback_crypto.py``), and a receiver refuses what fails a check in the same three
ways, the :class:`EventError` family::

    ValueError
    └── EventError                an incoming event or callback failed a check
        ├── EventFormatError      a field is missing or malformed (not JSON, a key of the wrong length, ...)
        ├── EventSignatureError   the signature does not match the content
        └── EventDecryptionError  the ciphertext does not decrypt (key, padding, length, owner key)

Pure and light (no server, no store): the SDK's receivers (``openroster.client.events``, which
re-exports the errors through ``openroster.client``) and the server's senders share it.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
from typing import Any

import orjson
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


class EventError(ValueError):
    """An event (WPS) or callback (DingTalk) failed one of the checks a receiver makes.

    A receiver answers it with a non-2xx status, so the platform retries; a sender checking a
    receiver's reply (DingTalk's encrypted ``success``) counts it as a failed attempt.
    """


class EventFormatError(EventError):
    """A field is missing, of the wrong type or malformed: the body is not the JSON object the
    platform sends, a nonce is not 16 bytes, an ``aes_key`` is not 43 characters, a reply is not a
    reply."""


class EventSignatureError(EventError):
    """The signature recomputed from the content and the shared secret differs from the one sent."""


class EventDecryptionError(EventError):
    """The ciphertext is not valid under the key: not base64, not whole AES blocks, bad padding,
    a length prefix past the end, a trailer that is not the expected owner key, or a plaintext
    that is not what was expected (not JSON, not ``success``)."""


@functools.lru_cache(maxsize=64)
def _aes(key: bytes) -> algorithms.AES:
    """The AES algorithm of ``key``, checked once: a sender seals every event of an app's (or a
    subscription's) with the same key. It saves about 2,600 of a WPS seal's 92,600 instructions;
    bounded small, as it holds keys."""
    return algorithms.AES(key)


def pkcs7_pad(plain: bytes, block: int) -> bytes:
    """``plain`` padded to a whole number of ``block`` bytes, PKCS#7-style: 1 to ``block`` bytes,
    each of them their count (WPS pads to AES's 16, DingTalk to 32)."""
    fill = block - len(plain) % block
    return plain + bytes((fill,)) * fill


def encrypt_blocks(key: bytes, iv: bytes, padded: bytes) -> str:
    """Standard base64 (with ``=``) of AES-CBC(``key``, ``iv``) over ``padded`` (whole 16-byte blocks)."""
    encryptor = Cipher(_aes(key), modes.CBC(iv)).encryptor()
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode("ascii")


def decrypt_blocks(key: bytes, iv: bytes, text: str, name: str) -> bytes:
    """The padded plaintext of ``text`` (the field ``name``), padding left in place.

    Raises :class:`EventDecryptionError` when ``text`` is not standard base64 or not a whole
    number of AES blocks.
    """
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise EventDecryptionError(f"{name} is not standard base64") from None
    if not data or len(data) % 16:
        raise EventDecryptionError(f"{name} is not a whole number of AES blocks")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    return decryptor.update(data) + decryptor.finalize()


def check_signature(expected: str, given: str, mismatch: str) -> None:
    """Compare the recomputed signature with the one sent, in constant time; raises
    :class:`EventSignatureError` with the message ``mismatch`` when they differ."""
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise EventSignatureError(mismatch)


def json_object(plaintext: bytes, what: str) -> dict[str, Any]:
    """The JSON object a decrypted ``what`` (payload, message) holds; raises
    :class:`EventDecryptionError` when it is not JSON or not an object."""
    try:
        value = orjson.loads(plaintext)
    except orjson.JSONDecodeError:
        raise EventDecryptionError(f"the decrypted {what} is not JSON") from None
    if not isinstance(value, dict):
        raise EventDecryptionError(f"the decrypted {what} is not a JSON object")
    return value
