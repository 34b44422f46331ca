"""The SDK's event helpers (openroster.client.events) against events.md's vectors and the own receivers.

Three sources must agree: the protocol file's worked examples and DingTalk's published vectors
(literals below), the SDK, and tests/event_receivers.py (written from the protocol file alone).
Each side encrypts what the other decrypts, in process and over loopback HTTP. The SDK's names
are the pure protocol modules under openroster.dialects (one implementation, which the server's
senders import), and those modules load neither the server nor the SDK.
"""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import event_receivers as ind
from openroster import client
from openroster.client import EventDecryptionError, EventFormatError, EventSignatureError
from openroster.client.events import dingtalk as dt
from openroster.client.events import wps
from openroster.dialects import event_wire
from openroster.dialects.dingtalk import callback_crypto
from openroster.dialects.event_wire import encrypt_blocks
from openroster.dialects.wps import event_crypto
from openroster.testing import serve_asgi

# events.md §1, "Worked example"
APPID, APPKEY = "AK20240101TEST", "sk-test-secret"
WPS_TIME, WPS_NONCE = 1704074400, "0123456789abcdef"
WPS_PLAIN = b'{"company_id":"C1","users":[{"company_id":"C1","user_id":"u1001"}]}'
WPS_KEY_TEXT = "36cb1ed3c086582d2603c9e2d8355f50"
WPS_ENCRYPTED = (
    "IxlXgVdH+lsf5LHYhmtrOC73CRoKibyYM9lCkoaiPGkBXl3kZaRCs8S6H3ivUq2VixECqMTQxIntowsakxVqXtXeVXgAkhkXw8SUH0Ow"
    "BIY="
)
WPS_SIGNATURE = "SG0XR6qEaR8Jd1AgXrwCcxV2Co87wLy9rGXsoG-FzEE"
WPS_ENVELOPE = {
    "topic": "kso.user",
    "operation": "create",
    "time": WPS_TIME,
    "nonce": WPS_NONCE,
    "signature": WPS_SIGNATURE,
    "encrypted_data": WPS_ENCRYPTED,
}

# events.md §2, "Published vector" and "Encrypt vectors"
TOKEN, AES_KEY, OWNER = "mryue", "Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7", "ding6ccabc44d2c8d38b"
AES_KEY_HEX = "62e7b411f74de7dd3473571ee5c7fa035e7673adc30ded7cd3c6bad1ce5e71de"
CHECK_URL_QUERY = {
    "signature": "03044561471240d4a14bb09372dfcfd4fd0e40cb",
    "timestamp": "1608001896814",
    "nonce": "WL4PK6yA",
}
CHECK_URL_ENCRYPT = (
    "0vJiX6vliEpwG3U45CtXqi+m8PXbQRARJ8p8BbDuD1EMTDf0jKpQ79QS93qEk7XHpP6u+oTTrd15NRPvNvmBKyDCYxxOK+HZeKju4yhE"
    "LOFchzNukR+t8SB/qk4ROMu3"
)
USER_ADD = (
    b'{"EventType":"user_add_org","TimeStamp":"1704074400000","UserId":["u1001"],'
    b'"CorpId":"ding6ccabc44d2c8d38b"}'
)
USER_ADD_ENCRYPT = (
    "W/uewmTfs9tKDMDgxd+XSdemxfrhOr0WQXaAYqocxvvB3YwV12r4Y0mjqJIrz/9YlZnv9vAqCYhd5WymVu5Sbli7PM59RKy2WlmeUZ74"
    "OnaGpJD4Ouu2j/M4vvXIB7baWOTmWyfmOtmuBx4TYu3ARb/jtjjfee5y3+3xc6OSglPiFRSvrDTGLomyWhhEZ7DpaUPOWeFxudaMCpMd"
    "XxSDfQ=="
)
USER_ADD_SIGNATURE = "3b015ab0057d0fd53e8ca61d8b54168cdd76ef81"
SUCCESS_ENCRYPT = "FO1dHm8fO2qW0v8FMb5g2DrX2wV+gjC5tp+5uMLtfRk8bV9WF1On3osi9fgFjlON538UqNFLTX/f/AxV0EyI2A=="
SUCCESS_SIGNATURE = "c0eb445782bf1dadf22cd24e24f447087018c3e7"

KEYS = dt.CallbackKeys(TOKEN, AES_KEY, OWNER)


# --- WPS: the worked example ---------------------------------------------------------------


def test_wps_worked_example_sealed_by_the_sdk() -> None:
    assert wps.cipher_key(APPKEY) == WPS_KEY_TEXT.encode()
    envelope = wps.seal_envelope(
        APPID, APPKEY, "kso.user", "create", WPS_PLAIN, time=WPS_TIME, nonce=WPS_NONCE
    )
    assert envelope == WPS_ENVELOPE
    assert list(envelope) == ["topic", "operation", "time", "nonce", "signature", "encrypted_data"]


def test_wps_worked_example_sealed_by_the_independent_receiver() -> None:
    envelope = ind.wps_envelope(APPID, APPKEY, "kso.user", "create", WPS_PLAIN, WPS_TIME, WPS_NONCE)
    assert (envelope["encrypted_data"], envelope["signature"]) == (WPS_ENCRYPTED, WPS_SIGNATURE)
    event = wps.open_envelope(APPID, APPKEY, envelope)
    assert event == wps.WpsEvent("kso.user", "create", WPS_TIME, WPS_NONCE, json.loads(WPS_PLAIN))


def test_wps_sdk_envelope_opened_by_the_independent_receiver() -> None:
    payload = {"company_id": "C1", "depts": [{"company_id": "C1", "dept_id": "7", "src": {"name": "旧名"}}]}
    envelope = wps.seal_envelope(APPID, APPKEY, "kso.dept", "update", payload, time=WPS_TIME)
    assert len(envelope["nonce"]) == 16
    reply, event = ind.WpsReceiver(APPID, APPKEY).handle({}, json.dumps(envelope).encode())
    assert reply == {}
    assert event == {"topic": "kso.dept", "operation": "update", "payload": payload}


def _tampered(**changes: Any) -> dict[str, Any]:
    envelope = {**WPS_ENVELOPE, **changes}
    return {k: v for k, v in envelope.items() if v is not None}


def _resigned(encrypted_data: str) -> dict[str, Any]:
    signature = ind.wps_signature(APPID, APPKEY, "kso.user", WPS_NONCE, WPS_TIME, encrypted_data)
    return _tampered(encrypted_data=encrypted_data, signature=signature)


@pytest.mark.parametrize(
    ("envelope", "error"),
    [
        pytest.param(
            _tampered(signature=WPS_SIGNATURE[:-1] + "A"), EventSignatureError, id="signature changed"
        ),
        pytest.param(_tampered(topic="kso.dept"), EventSignatureError, id="topic changed"),
        pytest.param(_tampered(time=WPS_TIME + 1), EventSignatureError, id="time changed"),
        pytest.param(_tampered(time=str(WPS_TIME)), EventFormatError, id="time as a string"),
        pytest.param(_tampered(time=True), EventFormatError, id="time as a boolean"),
        pytest.param(_tampered(nonce=None), EventFormatError, id="nonce missing"),
        pytest.param(_tampered(encrypted_data=None), EventFormatError, id="encrypted_data missing"),
        pytest.param(_resigned("not base64!"), EventDecryptionError, id="encrypted_data not base64"),
        pytest.param(
            _resigned(base64.b64encode(b"x" * 15).decode()), EventDecryptionError, id="not whole blocks"
        ),
        pytest.param(
            _resigned(ind.wps_encrypt(APPKEY, WPS_NONCE, b"[1]")), EventDecryptionError, id="not an object"
        ),
        pytest.param(
            _resigned(ind.wps_encrypt(APPKEY, WPS_NONCE, b"{x")), EventDecryptionError, id="not JSON"
        ),
        pytest.param(
            _resigned(ind.wps_encrypt("other-secret", WPS_NONCE, WPS_PLAIN)),
            EventDecryptionError,
            id="encrypted with another secret",
        ),
    ],
)
def test_wps_open_envelope_refuses(envelope: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        wps.open_envelope(APPID, APPKEY, envelope)


def test_wps_operation_is_not_signed() -> None:
    """events.md §1: the signed content is APPID:topic:nonce:time:encrypted_data, without the operation."""
    assert wps.open_envelope(APPID, APPKEY, _tampered(operation="delete")).operation == "delete"


def test_wps_signature_of_another_app_is_refused() -> None:
    with pytest.raises(EventSignatureError):
        wps.open_envelope("AK-OTHER", APPKEY, _tampered())


def test_wps_nonce_must_be_the_16_byte_iv() -> None:
    with pytest.raises(EventFormatError):
        wps.encrypt(APPKEY, "short", WPS_PLAIN)
    with pytest.raises(EventFormatError):
        wps.seal_envelope(APPID, APPKEY, "kso.user", "create", {}, time=WPS_TIME, nonce="0123456789abcdef0")


def test_wps_challenge_answer() -> None:
    assert wps.challenge_answer({"challenge": "c-1"}) == {"challenge": "c-1"}
    assert wps.challenge_answer(_tampered()) is None
    with pytest.raises(EventFormatError):
        wps.challenge_answer({"challenge": 1})


# --- DingTalk: the published vectors -------------------------------------------------------


def test_dingtalk_published_check_url_vector() -> None:
    assert KEYS.key.hex() == AES_KEY_HEX
    assert dt.sign(TOKEN, "1608001896814", "WL4PK6yA", CHECK_URL_ENCRYPT) == CHECK_URL_QUERY["signature"]
    event = dt.open_callback(KEYS, CHECK_URL_QUERY, {"encrypt": CHECK_URL_ENCRYPT})
    assert event == dt.DingTalkEvent("check_url", {"EventType": "check_url"}, "1608001896814", "WL4PK6yA")
    assert dt.decrypt(KEYS, CHECK_URL_ENCRYPT) == dt.CHECK_URL_MESSAGE
    assert ind.dingtalk_decrypt(AES_KEY, OWNER, CHECK_URL_ENCRYPT) == dt.CHECK_URL_MESSAGE
    assert (
        ind.dingtalk_signature(TOKEN, "1608001896814", "WL4PK6yA", CHECK_URL_ENCRYPT)
        == (CHECK_URL_QUERY["signature"])
    )


def test_dingtalk_encrypt_vectors() -> None:
    assert dt.encrypt(KEYS, USER_ADD, random16="a" * 16) == USER_ADD_ENCRYPT
    assert ind.dingtalk_encrypt(AES_KEY, OWNER, USER_ADD, b"a" * 16) == USER_ADD_ENCRYPT
    assert dt.sign(TOKEN, "1704074400000", "nonce123", USER_ADD_ENCRYPT) == USER_ADD_SIGNATURE
    sealed = dt.seal_callback(KEYS, USER_ADD, timestamp="1704074400000", nonce="nonce123", random16="a" * 16)
    assert sealed.query == {
        "signature": USER_ADD_SIGNATURE,
        "timestamp": "1704074400000",
        "nonce": "nonce123",
    }
    assert sealed.body == {"encrypt": USER_ADD_ENCRYPT}
    event = dt.open_callback(KEYS, sealed.query, sealed.body)
    assert (event.event_type, event.payload["UserId"], event.event_id) == ("user_add_org", ["u1001"], None)


def test_dingtalk_success_reply_vector() -> None:
    reply = dt.success_reply(KEYS, timestamp="1704074400123", nonce="abcdefghijklmnop", random16="b" * 16)
    assert reply == {
        "msg_signature": SUCCESS_SIGNATURE,
        "timeStamp": "1704074400123",
        "nonce": "abcdefghijklmnop",
        "encrypt": SUCCESS_ENCRYPT,
    }
    dt.check_success_reply(KEYS, reply)
    assert ind.DingTalkReceiver(TOKEN, AES_KEY, OWNER).check_reply(reply) == b"success"


def test_dingtalk_owner_key_is_checked() -> None:
    legacy = dt.CallbackKeys(TOKEN, AES_KEY, dt.owner_key("legacy", app_key="dingappkey", corp_id=OWNER))
    current = dt.CallbackKeys(TOKEN, AES_KEY, dt.owner_key("current", app_key="dingappkey", corp_id=OWNER))
    assert (legacy.owner_key, current.owner_key) == (OWNER, "dingappkey")
    assert dt.decrypt(legacy, USER_ADD_ENCRYPT) == USER_ADD
    with pytest.raises(EventDecryptionError, match="900010"):
        dt.decrypt(current, USER_ADD_ENCRYPT)


def _dingtalk_plain(plain: bytes) -> str:
    """``plain`` (already a multiple of 16 bytes) encrypted with KEYS, no framing checked."""
    return encrypt_blocks(KEYS.key, KEYS.key[:16], plain)


@pytest.mark.parametrize(
    ("encrypted", "message"),
    [
        pytest.param(
            ind.dingtalk_encrypt(
                "a" * 43, OWNER, b"{}", random16=b"r" * 16
            ),  # fixed: garbage, the same each run
            "padding|owner key",
            id="another aes_key",
        ),
        pytest.param("not base64!", "base64", id="not base64"),
        pytest.param(base64.b64encode(b"x" * 40).decode(), "AES blocks", id="not whole blocks"),
        pytest.param(
            _dingtalk_plain(b"r" * 16 + (1000).to_bytes(4, "big") + b"x" * 12 + bytes([32]) * 32),
            "length prefix",
            id="length past the end",
        ),
        pytest.param(
            _dingtalk_plain(b"r" * 16 + b"\0\0" + bytes([14]) * 14), "header", id="shorter than the header"
        ),
        pytest.param(_dingtalk_plain(b"r" * 32 + bytes([33]) * 32), "padding", id="padding over 32"),
    ],
)
def test_dingtalk_decrypt_refuses(encrypted: str, message: str) -> None:
    with pytest.raises(EventDecryptionError, match=message):
        dt.decrypt(KEYS, encrypted)


@pytest.mark.parametrize(
    "aes_key",
    [AES_KEY[:-1], AES_KEY + "x", AES_KEY[:-1] + "+", AES_KEY[:-1] + "="],
    ids=["42 characters", "44 characters", "a + in it", "an = in it"],
)
def test_dingtalk_aes_key_must_be_43_alphanumerics(aes_key: str) -> None:
    with pytest.raises(EventFormatError):
        dt.CallbackKeys(TOKEN, aes_key, OWNER)


@pytest.mark.parametrize(
    ("query", "body", "error"),
    [
        pytest.param({**CHECK_URL_QUERY, "nonce": "x"}, None, EventSignatureError, id="nonce changed"),
        pytest.param(
            {**CHECK_URL_QUERY, "timestamp": "1"}, None, EventSignatureError, id="timestamp changed"
        ),
        pytest.param(
            {k: v for k, v in CHECK_URL_QUERY.items() if k != "nonce"}, None, EventFormatError, id="no nonce"
        ),
        pytest.param({**CHECK_URL_QUERY, "msg_signature": "x"}, None, EventFormatError, id="both spellings"),
        pytest.param(CHECK_URL_QUERY, {}, EventFormatError, id="no encrypt"),
        pytest.param(CHECK_URL_QUERY, {"encrypt": 1}, EventFormatError, id="encrypt not a string"),
    ],
)
def test_dingtalk_open_callback_refuses(
    query: dict[str, str], body: dict[str, Any] | None, error: type[Exception]
) -> None:
    with pytest.raises(error):
        dt.open_callback(KEYS, query, {"encrypt": CHECK_URL_ENCRYPT} if body is None else body)


def test_dingtalk_old_spelling_of_the_query() -> None:
    old = {"msg_signature": CHECK_URL_QUERY["signature"], "timeStamp": "1608001896814", "nonce": "WL4PK6yA"}
    assert dt.open_callback(KEYS, old, {"encrypt": CHECK_URL_ENCRYPT}).event_type == "check_url"


def _reply_of(message: bytes) -> dict[str, str]:
    encrypt = dt.encrypt(KEYS, message)
    return {
        "msg_signature": dt.sign(TOKEN, "1", "n", encrypt),
        "timeStamp": "1",
        "nonce": "n",
        "encrypt": encrypt,
    }


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        pytest.param(_reply_of(b"fail"), EventDecryptionError, id="encrypted fail"),
        pytest.param({**_reply_of(b"success"), "nonce": "m"}, EventSignatureError, id="signature mismatch"),
        pytest.param({**_reply_of(b"success"), "timeStamp": 1}, EventFormatError, id="timeStamp a number"),
        pytest.param({"success": True}, EventFormatError, id="not a reply"),
        pytest.param("success", EventFormatError, id="plain success"),
    ],
)
def test_dingtalk_check_success_reply_refuses(reply: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        dt.check_success_reply(KEYS, reply)


def test_dingtalk_sdk_and_independent_receiver_agree_both_ways() -> None:
    message = {"EventType": "hrm_user_record_change", "eventId": "e-1", "actionType": "userInfoChange"}
    sealed = dt.seal_callback(KEYS, message)
    receiver = ind.DingTalkReceiver(TOKEN, AES_KEY, OWNER)
    reply, event = receiver.handle(sealed.query, json.dumps(sealed.body).encode())
    assert event == message
    dt.check_success_reply(KEYS, reply)
    query, body = ind.dingtalk_request(
        TOKEN, AES_KEY, OWNER, json.dumps(message).encode(), "1704074400000", "n1"
    )
    opened = dt.open_callback(KEYS, query, body)
    assert (opened.payload, opened.event_id, opened.timestamp) == (message, "e-1", "1704074400000")
    assert receiver.check_reply(dt.success_reply(KEYS)) == b"success"


def test_every_padding_length_both_ways() -> None:
    """Plaintexts of every length up to two blocks: each side decrypts what the other encrypted
    (WPS pads to 16 bytes, DingTalk to 32, so a full block of padding is among them), and WPS's
    sides encrypt to the same text."""
    for length in range(2 * dt.PAD_BLOCK + 1):
        message = (b"abcdefghijklmnopqrstuvwxyz" * 3)[:length]
        assert ind.wps_decrypt(APPKEY, WPS_NONCE, wps.encrypt(APPKEY, WPS_NONCE, message)) == message
        assert wps.encrypt(APPKEY, WPS_NONCE, message) == ind.wps_encrypt(APPKEY, WPS_NONCE, message)
        assert wps.decrypt(APPKEY, WPS_NONCE, ind.wps_encrypt(APPKEY, WPS_NONCE, message)) == message
        assert ind.dingtalk_decrypt(AES_KEY, OWNER, dt.encrypt(KEYS, message)) == message
        assert dt.decrypt(KEYS, ind.dingtalk_encrypt(AES_KEY, OWNER, message)) == message


# --- the SDK's ASGI receivers over loopback ------------------------------------------------


@pytest.fixture
def wps_receiver() -> Iterator[tuple[str, list[wps.WpsEvent]]]:
    seen: list[wps.WpsEvent] = []
    with serve_asgi(wps.WpsEventReceiver(APPID, APPKEY, seen.append)) as base_url:
        yield base_url + "/events", seen


def test_wps_asgi_receiver_over_loopback(wps_receiver: tuple[str, list[wps.WpsEvent]]) -> None:
    url, seen = wps_receiver
    challenge = httpx.post(url, json={"challenge": "abc"})
    assert (challenge.status_code, challenge.json()) == (200, {"challenge": "abc"})
    envelope = ind.wps_envelope(APPID, APPKEY, "kso.user", "delete", WPS_PLAIN, WPS_TIME, "fedcba9876543210")
    assert httpx.post(url, json=envelope).status_code == 200
    assert httpx.post(url, json={**envelope, "signature": WPS_SIGNATURE}).status_code == 401
    assert httpx.post(url, json={**envelope, "time": "1"}).status_code == 400
    assert httpx.post(url, content=b"not json").status_code == 400
    assert httpx.get(url).status_code == 405
    assert seen == [wps.WpsEvent("kso.user", "delete", WPS_TIME, "fedcba9876543210", json.loads(WPS_PLAIN))]


def test_wps_asgi_receiver_answers_500_when_the_handler_fails() -> None:
    async def failing(event: wps.WpsEvent) -> None:
        await asyncio.sleep(0)
        raise RuntimeError(event.topic)

    with serve_asgi(wps.WpsEventReceiver(APPID, APPKEY, failing)) as base_url:
        envelope = ind.wps_envelope(APPID, APPKEY, "kso.dept", "create", b"{}", WPS_TIME, WPS_NONCE)
        assert httpx.post(base_url, json=envelope).status_code == 500


def test_dingtalk_asgi_receiver_over_loopback() -> None:
    seen: list[dt.DingTalkEvent] = []
    receiver = ind.DingTalkReceiver(TOKEN, AES_KEY, OWNER)
    with serve_asgi(dt.DingTalkCallbackReceiver(KEYS, seen.append)) as base_url:
        query, body = ind.dingtalk_request(TOKEN, AES_KEY, OWNER, dt.CHECK_URL_MESSAGE, "1", "n1")
        check = httpx.post(base_url, params=query, json=body)
        assert check.status_code == 200
        assert receiver.check_reply(check.json()) == b"success"
        query, body = ind.dingtalk_request(TOKEN, AES_KEY, OWNER, USER_ADD, "1704074400000", "n2")
        answer = httpx.post(base_url + "/callback", params=query, json=body)
        assert answer.status_code == 200
        assert receiver.check_reply(answer.json()) == b"success"
        assert httpx.post(base_url, params={**query, "nonce": "n3"}, json=body).status_code == 401
        other = ind.dingtalk_request(TOKEN, AES_KEY, "dingappkey", USER_ADD, "1704074400000", "n4")
        assert httpx.post(base_url, params=other[0], json=other[1]).status_code == 400
        twice = httpx.post(base_url + "?nonce=a&" + str(httpx.QueryParams(query)), json=body)
        assert twice.status_code == 400
    assert [(e.event_type, e.payload["UserId"]) for e in seen] == [("user_add_org", ["u1001"])]


# --- the independent receivers over loopback -----------------------------------------------


def test_independent_wps_receiver_over_loopback() -> None:
    with ind.serve(ind.WpsReceiver(APPID, APPKEY)) as server:
        assert httpx.post(server.url, json={"challenge": "x"}).json() == {"challenge": "x"}
        payload = {"company_id": "C1"}
        envelope = wps.seal_envelope(
            APPID, APPKEY, "kso.contact.permission_setting", "update", payload, time=1
        )
        server.fail_next = 1
        assert httpx.post(server.url, json=envelope).status_code == 503
        assert httpx.post(server.url, json=envelope).status_code == 200
        assert httpx.post(server.url, json={**envelope, "signature": "x"}).status_code == 400
        server.wait_for(lambda events: len(events) == 1)
        assert server.events == [
            {"topic": "kso.contact.permission_setting", "operation": "update", "payload": payload}
        ]
        assert [r.status for r in server.requests] == [200, 503, 200, 400]


def test_independent_dingtalk_receiver_over_loopback() -> None:
    with ind.serve(ind.DingTalkReceiver(TOKEN, AES_KEY, OWNER)) as server:
        check = dt.seal_callback(KEYS, dt.CHECK_URL_MESSAGE)
        dt.check_success_reply(KEYS, httpx.post(server.url, params=check.query, json=check.body).json())
        event = {"EventType": "org_dept_create", "deptId": [7], "eventId": "e-9"}
        sealed = dt.seal_callback(KEYS, event)
        reply = httpx.post(server.url, params=sealed.query, json=sealed.body)
        dt.check_success_reply(KEYS, reply.json())
        assert server.events == [event]
        assert server.requests[1].query == sealed.query


# --- one implementation, below the server ---------------------------------------------------


def test_the_sdk_names_are_the_dialects_protocol_code() -> None:
    """The SDK re-exports the pure protocol the server's senders import: the same objects."""
    receiver_only = {"WpsEventReceiver", "DingTalkCallbackReceiver", "query_values"}
    for sdk, pure in ((wps, event_crypto), (dt, callback_crypto)):
        for name in set(sdk.__all__) - receiver_only:
            assert getattr(sdk, name) is getattr(pure, name), name
    for name in ("EventError", "EventFormatError", "EventSignatureError", "EventDecryptionError"):
        assert getattr(client, name) is getattr(event_wire, name)
    assert issubclass(event_wire.EventError, ValueError)
    assert not issubclass(event_wire.EventError, client.OpenrosterClientError)


def test_the_protocol_modules_import_without_the_server_or_the_sdk() -> None:
    code = (
        "import sys, openroster.dialects.wps.event_crypto, openroster.dialects.dingtalk.callback_crypto\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'openroster', 'fastapi', 'starlette', 'sqlalchemy', 'httpx', 'pydantic'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == str(
        [
            "openroster",
            "openroster.dialects",
            "openroster.dialects.dingtalk",
            "openroster.dialects.dingtalk.callback_crypto",
            "openroster.dialects.event_wire",
            "openroster.dialects.wps",
            "openroster.dialects.wps.event_crypto",
        ]
    )
