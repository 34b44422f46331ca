"""Run ``openroster serve`` as a real process on a free port, for tests."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

HEALTH_PATH = "/_openroster/health"
#: The ``serve`` option naming a TLS certificate: a server started with it is asked over HTTPS,
#: trusting that certificate (a self-signed one made for the test, say).
TLS_CERT_OPTION = "--tls-cert"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServerProcess:
    """A running ``openroster serve``; ``log`` is the file its output goes to."""

    base_url: str
    data_dir: Path
    proc: subprocess.Popen[bytes]
    args: list[str]
    log: Path
    admin_token: str | None = field(default=None)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def start_server(
    data_dir: Path,
    *extra: str,
    port: int | None = None,
    env: dict[str, str] | None = None,
    admin_token: str | None = None,
    timeout: float = 60.0,
) -> ServerProcess:
    """Start ``openroster serve --data-dir data_dir`` and wait until it answers its health check.

    Without ``port`` a free one is picked (and another tried if it was taken meanwhile).
    """
    attempts = 1 if port is not None else 3
    for attempt in range(attempts):
        chosen = port or free_port()
        try:
            return _start(data_dir, extra, chosen, env, admin_token, timeout)
        except _PortTaken:
            if attempt == attempts - 1:
                raise RuntimeError(f"port {chosen} was taken; could not start the server") from None
    raise AssertionError("unreachable")


class _PortTaken(Exception):
    pass


def _start(
    data_dir: Path,
    extra: tuple[str, ...],
    port: int,
    env: dict[str, str] | None,
    admin_token: str | None,
    timeout: float,
) -> ServerProcess:
    # The log goes beside the data directory; serve creates the data directory itself (owner only).
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    args = [sys.executable, "-m", "openroster", "serve", "--data-dir", str(data_dir), "--port", str(port)]
    if admin_token is not None:
        args += ["--admin-token", admin_token]
    args += list(extra)
    log_path = data_dir.parent / f"server-{port}.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    cert = extra[extra.index(TLS_CERT_OPTION) + 1] if TLS_CERT_OPTION in extra else None
    base = f"{'https' if cert else 'http'}://127.0.0.1:{port}"
    verify = ssl.create_default_context(cafile=cert) if cert else True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            text = log_path.read_text(errors="replace")
            if "address already in use" in text.lower():
                raise _PortTaken
            raise RuntimeError(f"openroster serve exited with {proc.returncode}:\n{text[-2000:]}")
        try:
            if httpx.get(base + HEALTH_PATH, timeout=1, verify=verify).status_code == 200:
                return ServerProcess(base, data_dir, proc, args, log_path, admin_token)
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    proc.wait(10)
    raise RuntimeError(f"openroster serve did not answer within {timeout:.0f} s; see {log_path}")
