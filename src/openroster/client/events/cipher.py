"""AES-CBC on base64 text, the step both platforms' event encryption shares (each pads its own way)."""

from __future__ import annotations

import base64
import binascii

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from openroster.client.errors import EventDecryptionError


def encrypt_blocks(key: bytes, iv: bytes, padded: bytes) -> str:
    """Standard base64 (with ``=``) of AES-CBC(``key``, ``iv``) over ``padded`` (whole 16-byte blocks)."""
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
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
