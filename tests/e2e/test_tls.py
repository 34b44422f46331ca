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


#: Each case: the options and what the message says, ``{cert}`` and the like naming the test's files.
REFUSALS = [
    pytest.param(("--tls-cert", "{cert}"), "--tls-cert and --tls-key go together", id="only --tls-cert"),
    pytest.param(("--tls-key", "{key}"), "--tls-cert and --tls-key go together", id="only --tls-key"),
    pytest.param(
        ("--tls-cert", "{missing}", "--tls-key", "{key}"),
        "--tls-cert: cannot read {missing}: No such file or directory",
        id="a missing certificate",
    ),
    pytest.param(
        ("--tls-cert", "{cert}", "--tls-key", "{folder}"),
        "--tls-key: cannot read {folder}: Is a directory",
        id="a folder for the key",
    ),
    pytest.param(
        ("--tls-cert", "{key}", "--tls-key", "{key}"),
        "--tls-cert: {key} holds no PEM certificate",
        id="a key for the certificate",
    ),
    pytest.param(
        ("--tls-cert", "{cert}", "--tls-key", "{other_cert}"),
        "--tls-key: {other_cert} holds no PEM private key",
        id="a certificate for the key",
    ),
    pytest.param(
        ("--tls-cert", "{cert}", "--tls-key", "{other_key}"),
        "--tls-key: {other_key} is not the key of the certificate in {cert}",
        id="another certificate's key",
    ),
    pytest.param(
        ("--tls-cert", "{encrypted_cert}", "--tls-key", "{encrypted_key}"),
        "--tls-key: {encrypted_key} is encrypted",
        id="an encrypted key",
    ),
]


@pytest.mark.parametrize(("options", "message"), REFUSALS)
def test_tls_files_the_server_cannot_serve_stop_it_before_it_starts(
    tmp_path: Path, options: tuple[str, ...], message: str
) -> None:
    folder = tmp_path / "files"
    cert, key = self_signed(folder / "one")
    other_cert, other_key = self_signed(folder / "two")
    encrypted_cert, encrypted_key = self_signed(folder / "three", password=b"secret")
    files = {
        "cert": cert,
        "key": key,
        "other_cert": other_cert,
        "other_key": other_key,
        "encrypted_cert": encrypted_cert,
        "encrypted_key": encrypted_key,
        "missing": folder / "missing.pem",
        "folder": folder,
    }
    data_dir = tmp_path / "data"
    out = _serve(data_dir, *(o.format(**files) for o in options))
    assert out.returncode == 2, out.stderr
    assert f"error: {message.format(**files)}" in out.stderr, out.stderr
    assert not data_dir.exists()  # refused before the store was opened: nothing written
