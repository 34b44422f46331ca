"""Serving over TLS: the files ``serve --tls-cert FILE --tls-key FILE`` name, checked before start.

uvicorn loads them only when it starts listening (in each worker), and an unreadable or
mismatched file would end the server there with OpenSSL's terse reason. :func:`check` loads them
as uvicorn will, first, and says which file is at fault and why.
"""

from __future__ import annotations

import ssl
from pathlib import Path

CERT_OPTION = "--tls-cert"
KEY_OPTION = "--tls-key"


class TlsFilesError(ValueError):
    """The TLS options cannot be served: the message names the option and the file."""


def check(cert: Path | None, key: Path | None) -> None:
    """Pass when neither is given, or both are: a PEM certificate (its chain after it) and the
    unencrypted PEM private key that goes with it. Else raise :class:`TlsFilesError`."""
    if cert is None and key is None:
        return
    if cert is None or key is None:
        raise TlsFilesError(f"{CERT_OPTION} and {KEY_OPTION} go together: give both, or neither")
    from cryptography import x509
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

    cert_pem = _read(CERT_OPTION, cert)
    key_pem = _read(KEY_OPTION, key)
    try:
        x509.load_pem_x509_certificate(cert_pem)
    except ValueError:
        raise TlsFilesError(f"{CERT_OPTION}: {cert} holds no PEM certificate") from None
    try:
        serialization.load_pem_private_key(key_pem, password=None)
    except TypeError:  # cryptography's way of saying the key needs a password
        raise TlsFilesError(
            f"{KEY_OPTION}: {key} is encrypted; give it unencrypted (openssl pkey -in KEY -out FILE)"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise TlsFilesError(f"{KEY_OPTION}: {key} holds no PEM private key") from None
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert, key)
    except ssl.SSLError as exc:
        raise TlsFilesError(
            f"{KEY_OPTION}: {key} is not the key of the certificate in {cert} ({exc.reason})"
        ) from None


def _read(option: str, path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise TlsFilesError(f"{option}: cannot read {path}: {exc.strerror}") from None
