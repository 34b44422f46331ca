"""A console path the server's request guards refuse (server/guard.py: 400, 408, 413, 431, before the
console runs) is answered with a small page for a person, not the platform's JSON envelope; the API
paths keep their envelopes (tests/reliability/test_hostile_headers.py and test_limits.py)."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect
from tests.console.browser import Console

from conftest import LiveServer

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,  # a browser: the inner loop keeps only the sign-in tests
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]

#: The guards' limits, as docs/security.md gives them.
QUERY_PARAMS_MAX = 100
HEAD_MAX_BYTES = 64 * 1024
BODY_MAX_BYTES = 1024 * 1024


def test_a_refused_console_request_gets_a_page(live: LiveServer, console: Console) -> None:
    page = console.page
    many = "&".join(f"p{i}=1" for i in range(QUERY_PARAMS_MAX + 1))
    reply = page.goto(f"{live.base_url}/console/tenants?{many}")
    assert reply is not None and reply.status == 400
    assert reply.headers["content-type"] == "text/html; charset=utf-8"
    assert "script-src 'self'" in reply.headers["content-security-policy"]
    expect(page.get_by_role("heading", level=1)).to_have_text("400 Bad Request")
    expect(page.get_by_role("alert")).to_contain_text(f"more than {QUERY_PARAMS_MAX} parameters")
    page.get_by_role("link", name="Back to the console").click()
    expect(page.get_by_label("Admin token")).to_be_visible()  # the console itself, asking to sign in

    reply = page.goto(f"{live.base_url}/console/?q={'x' * HEAD_MAX_BYTES}")  # a head too large
    assert reply is not None and reply.status == 431
    expect(page.get_by_role("heading", level=1)).to_have_text("431 Request Header Fields Too Large")
    # The browser reports each refused page load as a failed resource, and nothing else.
    refused = [e for e in console.watched.errors if "responded with a status of 4" in e]
    assert len(refused) == 2
    console.watched.errors[:] = [e for e in console.watched.errors if e not in refused]

    with httpx.Client(base_url=live.base_url, timeout=30) as http:
        big = b"x" * (BODY_MAX_BYTES + 1)
        upload = http.post("/console/tenants/acme/import", content=big)
        assert upload.status_code == 413 and upload.headers["content-type"].startswith("text/html")
        assert f"larger than {BODY_MAX_BYTES} bytes" in upload.text
        api = http.post("/v7/users/batch_read", content=big)  # an API path: its platform's envelope
        assert api.status_code == 413 and api.json()["code"] == 41300001
