"""HTTPS without a proxy: ``serve --tls-cert FILE --tls-key FILE`` (docs/configuration.md).

A self-signed certificate for 127.0.0.1 is made in the test; clients trust exactly it. The WPS
and DingTalk APIs and the control plane answer over TLS, with one process and with
``--workers 2``, and the banner's URLs say ``https``. Options the server could not serve stop
the command with exit status 2 and a message naming the option, before anything is written.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from dingtalk_support import APPKEY, APPSECRET, setup_tenant

from conftest import ServerProcess
from openroster.core.directory import Directory
from openroster.core.tenancy import apps

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ADMIN_TOKEN = "tls-admin-token"
WPS_APP, WPS_SECRET = "acme-open", "acme-open-secret"


def _key_pem(key: ec.EllipticCurvePrivateKey, password: bytes | None = None) -> bytes:
    crypt = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, crypt)


def self_signed(folder: Path, *, password: bytes | None = None) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1 (and localhost), signed by its own key: (cert, key),
    the key encrypted with ``password`` if given."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "openroster test")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(_key_pem(key, password))
    return cert_file, key_file


@pytest.fixture
def tls(tmp_path: Path) -> tuple[Path, Path]:
    return self_signed(tmp_path / "tls")


def _https(server: ServerProcess, cert: Path) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, verify=ssl.create_default_context(cafile=cert), timeout=30)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("workers", ["1", "2"], ids=["one process", "--workers 2"])
def test_the_apis_and_the_control_plane_answer_over_tls(
    directory: Directory,
    server_factory: Callable[..., ServerProcess],
    tls: tuple[Path, Path],
    workers: str,
) -> None:
    setup_tenant(directory)  # tenant acme, alice and others, a DingTalk app
    apps.create(
        directory,
        tenant_id="acme",
        client_id=WPS_APP,
        secret=WPS_SECRET,
        signing="none",
        scopes=("kso.contact.read",),
    )
    cert, key = tls
    server = server_factory(
        "--tls-cert", str(cert), "--tls-key", str(key), "--workers", workers, "--admin-token", ADMIN_TOKEN
    )
    assert server.base_url.startswith("https://127.0.0.1:")
    with _https(server, cert) as https:  # with two workers, every request is a worker's
        wps_token = https.post(
            "/oauth2/token",
            data={"grant_type": "client_credentials", "client_id": WPS_APP, "client_secret": WPS_SECRET},
        )
        assert wps_token.status_code == 200, wps_token.text
        read = https.post(
            "/v7/users/batch_read",
            json={"user_ids": ["alice"], "status": ["active"]},
            headers={"Authorization": f"Bearer {wps_token.json()['access_token']}"},
        )
        assert read.json()["code"] == 0, read.text
        assert [u["user_name"] for u in read.json()["data"]["items"]] == ["Alice"]

        ding_token = https.get("/gettoken", params={"appkey": APPKEY, "appsecret": APPSECRET}).json()
        assert ding_token["errcode"] == 0, ding_token
        user = https.post(
            "/topapi/v2/user/get",
            params={"access_token": ding_token["access_token"]},
            json={"userid": "alice"},
        ).json()
        assert (user["errcode"], user["result"]["name"]) == (0, "Alice"), user

        version = https.get("/_openroster/version", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert version.status_code == 200, version.text
        tenants = https.get("/_openroster/tenants", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert [t["id"] for t in tenants.json()] == ["acme"]

    # Plain HTTP on the TLS port gets no HTTP answer.
    with pytest.raises(httpx.HTTPError):
        httpx.get(server.base_url.replace("https://", "http://") + "/_openroster/health", timeout=5)

    banner = server.log.read_text()
    port = server.base_url.rsplit(":", 1)[1]
    assert f"listening on https://127.0.0.1:{port}  ({workers} process(es)" in banner, banner
    assert f"API docs:     https://127.0.0.1:{port}/docs" in banner
    assert f"control:      https://127.0.0.1:{port}/_openroster/docs" in banner
    assert "http://" not in banner


def _serve(data_dir: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "openroster", "serve", "--data-dir", str(data_dir), *options],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "COLUMNS": "1000"},  # one line per message, however long its paths
    )


def _refusals(tmp: Path) -> dict[str, tuple[tuple[str, ...], str]]:
    """Each case: the options, and what the message says."""
    cert, key = self_signed(tmp / "one")
    other_cert, other_key = self_signed(tmp / "two")
    encrypted_cert, encrypted = self_signed(tmp / "three", password=b"secret")
    missing = tmp / "missing.pem"
    return {
        "only --tls-cert": (("--tls-cert", str(cert)), "--tls-cert and --tls-key go together"),
        "only --tls-key": (("--tls-key", str(key)), "--tls-cert and --tls-key go together"),
        "a missing certificate": (
            ("--tls-cert", str(missing), "--tls-key", str(key)),
            f"--tls-cert: cannot read {missing}: No such file or directory",
        ),
        "a folder for the key": (
            ("--tls-cert", str(cert), "--tls-key", str(tmp)),
            f"--tls-key: cannot read {tmp}: Is a directory",
        ),
        "a key for the certificate": (
            ("--tls-cert", str(key), "--tls-key", str(key)),
            f"--tls-cert: {key} holds no PEM certificate",
        ),
        "a certificate for the key": (
            ("--tls-cert", str(cert), "--tls-key", str(other_cert)),
            f"--tls-key: {other_cert} holds no PEM private key",
        ),
        "another certificate's key": (
            ("--tls-cert", str(cert), "--tls-key", str(other_key)),
            f"--tls-key: {other_key} is not the key of the certificate in {cert}",
        ),
        "an encrypted key": (
            ("--tls-cert", str(encrypted_cert), "--tls-key", str(encrypted)),
            f"--tls-key: {encrypted} is encrypted",
        ),
    }


REFUSALS = [
    "only --tls-cert",
    "only --tls-key",
    "a missing certificate",
    "a folder for the key",
    "a key for the certificate",
    "a certificate for the key",
    "another certificate's key",
    "an encrypted key",
]


@pytest.mark.parametrize("case", REFUSALS)
def test_tls_files_the_server_cannot_serve_stop_it_before_it_starts(tmp_path: Path, case: str) -> None:
    options, message = _refusals(tmp_path / "files")[case]
    data_dir = tmp_path / "data"
    out = _serve(data_dir, *options)
    assert out.returncode == 2, out.stderr
    assert f"error: {message}" in out.stderr, out.stderr
    assert not data_dir.exists()  # refused before the store was opened: nothing written
