"""The server's master key, and what it protects.

- App secrets are *sealed* (AES-256-GCM) before they reach the store. KSO-1,
  WPS-4 and WPS-4-GM sign requests with HMAC keyed by the app secret, so the
  server must be able to recover it; a copy of the database alone is not
  enough to do so without the master key, which lives outside the database.
- Access tokens are self-contained and authenticated with a key derived from
  the master key, so validating one needs no database round trip, and every
  process sharing the master key (and a restarted one) accepts it.

The master key comes from ``OPENROSTER_MASTER_KEY`` (base64url of 32 bytes),
else from the key file (default ``<data-dir>/master.key``), created with mode
0600 on first start.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets as _random
from pathlib import Path
from typing import NamedTuple

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from openroster.model.errors import AuthError

_NONCE_BYTES = 12
ENV_MASTER_KEY = "OPENROSTER_MASTER_KEY"


class MasterKey:
    __slots__ = ("_aead", "_raw")

    def __init__(self, raw: bytes) -> None:
        if len(raw) != 32:
            raise ValueError("the master key must be 32 bytes")
        self._raw = raw
        self._aead = AESGCM(raw)

    @classmethod
    def generate(cls) -> MasterKey:
        return cls(_random.token_bytes(32))

    @classmethod
    def load(cls, key_file: Path | None) -> MasterKey:
        """The key from the environment, else ``key_file`` (created if absent)."""
        env = os.environ.get(ENV_MASTER_KEY)
        if env:
            return cls(_b64decode(env))
        if key_file is None:
            raise ValueError(f"no master key: set {ENV_MASTER_KEY} or give a key file")
        if key_file.exists():
            return cls(_b64decode(key_file.read_text().strip()))
        key_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = cls.generate()
        try:
            fd = os.open(key_file, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:  # another process created it first
            return cls(_b64decode(key_file.read_text().strip()))
        with os.fdopen(fd, "w") as fh:
            fh.write(key.export() + "\n")
        return key

    def export(self) -> str:
        return base64.urlsafe_b64encode(self._raw).decode().rstrip("=")

    def derive(self, purpose: str) -> bytes:
        """A sub-key for one purpose (token MACs, paging tokens, ...)."""
        return hmac.new(self._raw, b"openroster/" + purpose.encode(), hashlib.sha256).digest()

    def seal(self, plaintext: str, *, context: str) -> bytes:
        nonce = _random.token_bytes(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext.encode(), context.encode())

    def unseal(self, sealed: bytes, *, context: str) -> str:
        nonce, body = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
        return self._aead.decrypt(nonce, body, context.encode()).decode()


def _b64decode(text: str) -> bytes:
    padded = text + "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode(padded)


def new_secret(nbytes: int = 24) -> str:
    return _random.token_urlsafe(nbytes)


def constant_time_equals(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


class OpenedToken(NamedTuple):
    """What a genuine token says."""

    client_id: str
    secret_version: int
    expires_at: int
    #: The scopes the token was narrowed to when it was issued; ``None``: every scope of its app.
    scopes: frozenset[str] | None = None


class TokenMinter:
    """Self-contained bearer tokens: ``<payload>.<mac>``, both base64url.

    The payload names the app, the app's secret version (so rotating the
    secret revokes every token issued before), the expiry time and, for a
    token asked for with fewer scopes than its app holds, those scopes.
    """

    __slots__ = ("_key", "_opened", "_prefix")

    #: Genuine tokens whose payload is kept, so a client's every call does not redo the MAC.
    OPENED_MAX = 4096

    def __init__(self, key: bytes, *, prefix: str) -> None:
        self._key = key
        self._prefix = prefix
        self._opened: dict[str, OpenedToken] = {}

    def mint(
        self, *, client_id: str, secret_version: int, expires_at: int, scopes: frozenset[str] | None = None
    ) -> str:
        nonce = _random.token_hex(4)
        fields = [client_id, str(secret_version), str(expires_at), nonce]
        if scopes is not None:
            fields.append(" ".join(sorted(scopes)))
        payload = "|".join(fields).encode()
        body = base64.urlsafe_b64encode(payload).decode().rstrip("=")
        return f"{self._prefix}{body}.{self._mac(body)}"

    def open(self, token: str) -> OpenedToken:
        """``(client_id, secret_version, expires_at, scopes)`` of a genuine token.

        Only what a genuine token says is kept (expiry and revocation are the
        caller's to check on every call); a forged one is checked afresh each time.
        """
        hit = self._opened.get(token)
        if hit is not None:
            return hit
        opened = self._open(token)
        if len(self._opened) >= self.OPENED_MAX:
            self._opened.clear()
        self._opened[token] = opened
        return opened

    def _open(self, token: str) -> OpenedToken:
        if not token.startswith(self._prefix) or "." not in token:
            raise AuthError("access_token is not a token this server issued", reason="invalid_token")
        body, _, mac = token[len(self._prefix) :].rpartition(".")
        if not hmac.compare_digest(mac.encode(), self._mac(body).encode()):
            raise AuthError("access_token is invalid", reason="invalid_token")
        try:
            client_id, version, expires, _nonce, *narrowed = _b64decode(body).decode().split("|")
            if len(narrowed) > 1:
                raise ValueError("too many fields")
            scopes = frozenset(narrowed[0].split()) if narrowed else None
            return OpenedToken(client_id, int(version), int(expires), scopes)
        except (ValueError, UnicodeDecodeError) as exc:
            raise AuthError("access_token is invalid", reason="invalid_token") from exc

    def _mac(self, body: str) -> str:
        digest = hmac.new(self._key, body.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")
