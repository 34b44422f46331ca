"""examples/event_receiver.py, started with its documented command, receives both platforms' events.

The events are sealed by tests/event_receivers.py (written from the protocol file alone), so the
example is checked against the wire format, not against the SDK it is built on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import event_receivers as ind
from openroster.testing import free_port

pytestmark = pytest.mark.slow  # a process of its own

ROOT = Path(__file__).resolve().parents[2]
APP_ID, APP_SECRET = "AK-example", "example-secret"
TOKEN, AES_KEY, OWNER = "mryue", "Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7", "dingexampleappkey"


@pytest.fixture
def example() -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = free_port()
    env = {
        **os.environ,
        "WPS_APP_ID": APP_ID,
        "WPS_APP_SECRET": APP_SECRET,
        "DINGTALK_TOKEN": TOKEN,
        "DINGTALK_AES_KEY": AES_KEY,
        "DINGTALK_OWNER_KEY": OWNER,
    }
    command = [sys.executable, "examples/event_receiver.py", "--port", str(port)]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.post(base_url + "/wps", json={"challenge": "ready?"})
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("examples/event_receiver.py did not start") from None
                time.sleep(0.05)
        yield base_url, proc
    finally:
        proc.terminate()
        proc.wait(10)
        assert proc.stdout is not None
        proc.stdout.close()


def test_example_receives_wps_and_dingtalk_events(example: tuple[str, subprocess.Popen[str]]) -> None:
    base_url, proc = example
    challenge = httpx.post(base_url + "/wps", json={"challenge": "c-42"})
    assert challenge.json() == {"challenge": "c-42"}
    payload = {"company_id": "C1", "users": [{"company_id": "C1", "user_id": "u1"}]}
    envelope = ind.wps_envelope(
        APP_ID, APP_SECRET, "kso.user", "create", json.dumps(payload).encode(), 1704074400, "0123456789abcdef"
    )
    assert httpx.post(base_url + "/wps", json=envelope).status_code == 200
    assert httpx.post(base_url + "/wps", json={**envelope, "time": 1}).status_code == 401

    dingtalk = ind.DingTalkReceiver(TOKEN, AES_KEY, OWNER)
    query, body = ind.dingtalk_request(TOKEN, AES_KEY, OWNER, b'{"EventType":"check_url"}', "1", "n1")
    assert (
        dingtalk.check_reply(httpx.post(base_url + "/dingtalk", params=query, json=body).json()) == b"success"
    )
    event = {"EventType": "user_leave_org", "eventId": "e-1", "userId": ["u1"], "timeStamp": "1704074400000"}
    query, body = ind.dingtalk_request(
        TOKEN, AES_KEY, OWNER, json.dumps(event).encode(), "1704074400000", "n2"
    )
    reply = httpx.post(base_url + "/dingtalk", params=query, json=body)
    assert dingtalk.check_reply(reply.json()) == b"success"
    assert httpx.post(base_url + "/elsewhere", json={}).status_code == 404

    proc.terminate()
    out, _ = proc.communicate(timeout=10)
    assert [json.loads(line) for line in out.splitlines()] == [
        {
            "platform": "wps",
            "topic": "kso.user",
            "operation": "create",
            "nonce": "0123456789abcdef",
            "payload": payload,
        },
        {"platform": "dingtalk", "event_type": "user_leave_org", "event_id": "e-1", "payload": event},
    ]
