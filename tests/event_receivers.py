"""Event receivers written from the protocol notes alone (shared/protocol/events.md).

It imports nothing of openroster's: the end-to-end event tests point subscriptions at these
receivers, so a server that signs, encrypts or frames events with a wrong formula fails them
whatever openroster's own helpers (``openroster.client.events``) do.
tests/unit/test_event_crypto.py checks them against the protocol file's vectors and against
the SDK both ways.

WPS 365 (events.md §1): a body ``{"challenge": c}`` is answered ``{"challenge": c}``; an
envelope ``{topic, operation, time, nonce, signature, encrypted_data}`` is checked with
``signature = base64url_nopad(HMAC-SHA256(APPKEY, APPID:topic:nonce:time:encrypted_data))`` and
decrypted with AES-256-CBC, key = the 32 characters of md5_hex(APPKEY), IV = nonce, PKCS#7.

DingTalk (events.md §2): ``POST ?signature&timestamp&nonce`` (or ``msg_signature``/``timeStamp``)
with ``{"encrypt"}``; ``signature = sha1_hex(join(sorted([token, timestamp, nonce, encrypt])))``;
AESKey = base64(aes_key + "="), AES-256-CBC with IV AESKey[:16]; plaintext = random16 +
uint32_be(len) + msg + owner key + padding to 32 bytes; the reply is ``success`` encrypted the
same way, as ``{"msg_signature", "timeStamp", "nonce", "encrypt"}``.

:class:`ReceiverServer` runs one receiver as a real HTTP server on 127.0.0.1 (a free port) in a
thread and records every request it got.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


class Refused(Exception):
    """A check failed; the receiver answers 400 and records the reason."""


# --- WPS 365 -------------------------------------------------------------------------------


def wps_key(app_key: str) -> bytes:
    return hashlib.md5(app_key.encode()).hexdigest().encode()  # noqa: S324 (the platform's formula)


def wps_signature(app_id: str, app_key: str, topic: str, nonce: str, at: int, encrypted_data: str) -> str:
    content = app_id + ":" + topic + ":" + nonce + ":" + str(at) + ":" + encrypted_data
    mac = hmac.new(app_key.encode(), content.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def wps_encrypt(app_key: str, nonce: str, plaintext: bytes) -> str:
    padder = padding.PKCS7(128).padder()
    data = padder.update(plaintext) + padder.finalize()
    enc = Cipher(algorithms.AES(wps_key(app_key)), modes.CBC(nonce.encode())).encryptor()
    return base64.b64encode(enc.update(data) + enc.finalize()).decode()


def wps_decrypt(app_key: str, nonce: str, encrypted_data: str) -> bytes:
    dec = Cipher(algorithms.AES(wps_key(app_key)), modes.CBC(nonce.encode())).decryptor()
    data = dec.update(base64.b64decode(encrypted_data)) + dec.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(data) + unpadder.finalize()


def wps_envelope(
    app_id: str, app_key: str, topic: str, operation: str, plaintext: bytes, at: int, nonce: str
) -> dict[str, Any]:
    encrypted = wps_encrypt(app_key, nonce, plaintext)
    return {
        "topic": topic,
        "operation": operation,
        "time": at,
        "nonce": nonce,
        "signature": wps_signature(app_id, app_key, topic, nonce, at, encrypted),
        "encrypted_data": encrypted,
    }


@dataclass
class WpsReceiver:
    """A receiver of one WPS app's events, as events.md §4 describes."""

    app_id: str
    app_key: str

    def handle(self, query: dict[str, str], body: bytes) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """The reply and the decrypted payload (``None`` for a challenge)."""
        del query
        doc = json.loads(body)
        if set(doc) == {"challenge"}:
            return {"challenge": doc["challenge"]}, None
        names = ("topic", "operation", "time", "nonce", "signature", "encrypted_data")
        if any(name not in doc for name in names) or not isinstance(doc["time"], int):
            raise Refused("an envelope field is missing")
        expected = wps_signature(
            self.app_id, self.app_key, doc["topic"], doc["nonce"], doc["time"], doc["encrypted_data"]
        )
        if not hmac.compare_digest(expected, doc["signature"]):
            raise Refused("signature mismatch")
        try:
            payload = json.loads(wps_decrypt(self.app_key, doc["nonce"], doc["encrypted_data"]))
        except ValueError as exc:
            raise Refused(f"cannot decrypt: {exc}") from None
        return {}, {"topic": doc["topic"], "operation": doc["operation"], "payload": payload}


# --- DingTalk ------------------------------------------------------------------------------


def dingtalk_key(aes_key: str) -> bytes:
    if len(aes_key) != 43:
        raise ValueError("aes_key must be 43 characters")
    return base64.b64decode(aes_key + "=")


def dingtalk_signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypt])).encode()).hexdigest()  # noqa: S324


def dingtalk_encrypt(aes_key: str, owner: str, msg: bytes, random16: bytes | None = None) -> str:
    key = dingtalk_key(aes_key)
    head = random16 if random16 is not None else base64.b64encode(os.urandom(12))[:16]
    plain = head + len(msg).to_bytes(4, "big") + msg + owner.encode()
    n = 32 - len(plain) % 32
    plain += bytes([n] * n)
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(plain) + enc.finalize()).decode()


def dingtalk_decrypt(aes_key: str, owner: str, encrypt: str) -> bytes:
    key = dingtalk_key(aes_key)
    dec = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = dec.update(base64.b64decode(encrypt)) + dec.finalize()
    n = plain[-1]
    if not 1 <= n <= 32:
        raise Refused("bad padding")
    plain = plain[:-n]
    length = int.from_bytes(plain[16:20], "big")
    msg, trailer = plain[20 : 20 + length], plain[20 + length :]
    if trailer != owner.encode():
        raise Refused(f"owner key {trailer!r} is not {owner!r} (900010)")
    return msg


def dingtalk_request(
    token: str, aes_key: str, owner: str, msg: bytes, timestamp: str, nonce: str
) -> tuple[dict[str, str], dict[str, str]]:
    """The query and body DingTalk sends for ``msg``."""
    encrypt = dingtalk_encrypt(aes_key, owner, msg)
    signature = dingtalk_signature(token, timestamp, nonce, encrypt)
    return {"signature": signature, "timestamp": timestamp, "nonce": nonce}, {"encrypt": encrypt}


@dataclass
class DingTalkReceiver:
    """A receiver of one DingTalk subscription's callbacks, as events.md §4 describes."""

    token: str
    aes_key: str
    owner: str

    def success(self) -> dict[str, str]:
        timestamp = str(int(time.time() * 1000))
        nonce = base64.b64encode(os.urandom(12)).decode()[:16].replace("+", "a").replace("/", "b")
        encrypt = dingtalk_encrypt(self.aes_key, self.owner, b"success")
        signature = dingtalk_signature(self.token, timestamp, nonce, encrypt)
        return {"msg_signature": signature, "timeStamp": timestamp, "nonce": nonce, "encrypt": encrypt}

    def handle(self, query: dict[str, str], body: bytes) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """The reply and the decrypted message (``None`` for ``check_url``)."""
        signature = query.get("signature", query.get("msg_signature"))
        timestamp = query.get("timestamp", query.get("timeStamp"))
        nonce = query.get("nonce")
        encrypt = json.loads(body).get("encrypt")
        if signature is None or timestamp is None or nonce is None or not isinstance(encrypt, str):
            raise Refused("a query value or encrypt is missing")
        if not hmac.compare_digest(dingtalk_signature(self.token, timestamp, nonce, encrypt), signature):
            raise Refused("signature mismatch")
        try:
            msg = json.loads(dingtalk_decrypt(self.aes_key, self.owner, encrypt))
        except ValueError as exc:
            raise Refused(f"cannot decrypt: {exc}") from None
        return self.success(), None if msg.get("EventType") == "check_url" else msg

    def check_reply(self, reply: dict[str, str]) -> bytes:
        """The plaintext of a reply whose signature holds (raises :class:`Refused` otherwise)."""
        expected = dingtalk_signature(self.token, reply["timeStamp"], reply["nonce"], reply["encrypt"])
        if not hmac.compare_digest(expected, reply["msg_signature"]):
            raise Refused("reply signature mismatch")
        return dingtalk_decrypt(self.aes_key, self.owner, reply["encrypt"])


# --- the HTTP server -----------------------------------------------------------------------


@dataclass
class Request:
    """One request the server got, and what it answered."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    status: int
    reply: dict[str, Any]
    event: dict[str, Any] | None


Receiver = WpsReceiver | DingTalkReceiver


@dataclass
class ReceiverServer:
    """A receiver behind a real HTTP server; ``requests`` and ``events`` record what arrived.

    ``fail_next`` answers that many of the next events with HTTP 503 (challenges and
    ``check_url`` are always answered), so a test can make a sender retry. ``hold_next`` keeps
    that many of the next events unanswered until :meth:`release` (then 503): a sender killed
    meanwhile dies in the middle of an attempt. A held request is recorded when it arrives.
    """

    receiver: Receiver
    url: str = ""
    requests: list[Request] = field(default_factory=list)
    fail_next: int = 0
    hold_next: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    released: threading.Event = field(default_factory=threading.Event)

    def release(self) -> None:
        """Answer the held requests (503) and hold no more."""
        with self.lock:
            self.hold_next = 0
        self.released.set()

    @property
    def events(self) -> list[dict[str, Any]]:
        """The decrypted events answered 200, in arrival order."""
        with self.lock:
            return [r.event for r in self.requests if r.event is not None and r.status == 200]

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        parts = urlsplit(path)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        try:
            reply, event = self.receiver.handle(query, body)
            status = 200
        except (Refused, ValueError, KeyError, TypeError) as exc:
            reply, event, status = {"error": str(exc)}, None, 400
        held = False
        with self.lock:
            if status == 200 and event is not None and self.hold_next > 0:
                self.hold_next -= 1
                reply, status, held = {"error": "held"}, 503, True
            elif status == 200 and event is not None and self.fail_next > 0:
                self.fail_next -= 1
                reply, status = {"error": "told to fail"}, 503
            self.requests.append(Request(parts.path, query, headers, body, status, reply, event))
        if held:
            self.released.wait(120)
        return status, reply

    def wait_for(self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = 5.0) -> None:
        """Poll ``events`` until ``predicate`` holds (AssertionError after ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        while not predicate(self.events):
            if time.monotonic() > deadline:
                raise AssertionError(f"not seen in {timeout} s; events: {self.events}")
            time.sleep(0.02)


@contextmanager
def serve(
    receiver: Receiver, *, port: int = 0, state: ReceiverServer | None = None
) -> Iterator[ReceiverServer]:
    """Run ``receiver`` on 127.0.0.1 for the ``with`` block: on ``port`` (default a free one),
    recording into ``state`` when given (a receiver started again where it was, keeping what it got)."""
    recorder = state or ReceiverServer(receiver)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, reply = recorder.answer(self.path, dict(self.headers.items()), body)
            data = json.dumps(reply).encode()
            with contextlib.suppress(OSError):  # a sender killed while its request was held
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            del format, args

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    recorder.url = f"http://127.0.0.1:{server.server_address[1]}/events"
    # Polled every 10 ms for the shutdown (the default half second was most of a test's teardown).
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), name="event-receiver", daemon=True)
    thread.start()
    try:
        yield recorder
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
