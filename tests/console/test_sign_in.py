"""Signing in to the console, the session cookie, CSRF, the security headers, and ``/`` for browsers.

The checks over plain HTTP are in the inner loop (``-m "not slow"``); the three that drive the
browser are marked ``slow`` like every other browser test: starting Chromium costs a worker more
CPU than the rest of the inner loop's console tests together.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import expect
from tests.console.browser import Console
from tests.console.world import signed_in_http

from conftest import LiveServer, ServerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]


def test_a_browser_asking_for_the_root_goes_to_the_console_and_api_clients_do_not(live: LiveServer) -> None:
    with httpx.Client(base_url=live.base_url, timeout=30) as http:
        browser_like = http.get("/", headers={"Accept": "text/html,application/xhtml+xml"})
        assert (browser_like.status_code, browser_like.headers["location"]) == (307, "/console/")
        for method in ("GET", "POST"):
            api = http.request(method, "/", headers={"Accept": "application/json"})
            assert api.status_code == 404
            assert api.json()["code"] == 40400001  # the WPS envelope, as before the console
        assert http.get("/console/").headers["location"].startswith("/console/login")


@pytest.mark.slow
def test_sign_in_with_the_admin_token_then_sign_out(console: Console) -> None:
    page = console.open("/")
    expect(page).to_have_url(re.compile(r"/console/login"))
    page.get_by_label("Admin token").fill("not the token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("That is not the admin token.")
    expect(page.get_by_label("Admin token")).to_have_attribute("aria-invalid", "true")

    console.sign_in()
    expect(page.get_by_role("heading", name="Tenants")).to_be_visible()
    [cookie] = [c for c in console.cookies() if c["name"] == "openroster_console"]
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["secure"], cookie["path"]) == (
        True,
        "Strict",
        False,  # plain HTTP here; Secure over TLS
        "/console",
    )
    assert console.live.admin_token not in cookie["value"]

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    console.open("/console/")
    expect(page).to_have_url(re.compile(r"/console/login"))


@pytest.mark.slow
def test_the_token_never_travels_in_a_url(console: Console) -> None:
    urls: list[str] = []
    console.context.on("request", lambda r: urls.append(r.url))
    console.sign_in()
    assert urls and not [u for u in urls if console.live.admin_token in u]


def test_a_state_changing_request_needs_the_sessions_csrf_token(live: LiveServer) -> None:
    live.control.create_tenant("acme", seed={"users": [{"id": "ada", "user_name": "Ada"}]})
    http, csrf = signed_in_http(live)
    try:
        for token in ("", "0" * len(csrf)):
            refused = http.post("/console/tenants/acme/people/ada", data={"csrf": token, "user_name": "Eve"})
            assert refused.status_code == 403
        assert "Ada</h1>" in http.get("/console/tenants/acme/people/ada").text
        ok = http.post("/console/tenants/acme/people/ada", data={"csrf": csrf, "user_name": "Ada L."})
        assert ok.status_code == 303
        assert "Ada L.</h1>" in http.get("/console/tenants/acme/people/ada").text
        # The sign-in form is bound the same way: without its token, the right admin token is refused.
        fresh = httpx.Client(base_url=live.base_url, timeout=30)
        with fresh:
            assert "form expired" in fresh.post("/console/login", data={"token": live.admin_token}).text
            assert "openroster_console" not in fresh.cookies
    finally:
        http.close()


def test_every_page_forbids_inline_script_and_other_origins(live: LiveServer) -> None:
    with httpx.Client(base_url=live.base_url, timeout=30) as http:
        for path in ("/console/login", "/console/static/console.css", "/console/no-such-page"):
            csp = http.get(path).headers["content-security-policy"]
            directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
            assert directives["default-src"] == "'self'"
            assert directives["script-src"] == "'self'"  # no 'unsafe-inline', no 'unsafe-eval'
            assert directives["frame-ancestors"] == "'none'"


@pytest.mark.slow
def test_the_language_follows_the_browser_and_the_switch(
    live: LiveServer, consoles: Callable[[str], Console]
) -> None:
    live.control.create_tenant(
        "acme", name="Acme 科技", seed={"users": [{"id": "wang", "user_name": "王小明"}]}
    )
    zh = consoles("zh-CN")
    page = zh.open("/console/login")
    expect(page.get_by_role("button", name="登录")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("link", name="中文").click()
    page.get_by_label("管理员令牌").fill(live.admin_token)
    page.get_by_role("button", name="登录").click()
    zh.open("/console/tenants/acme/people")
    expect(page.get_by_role("heading", level=1)).to_have_text("Acme 科技 的人员")
    expect(page.get_by_role("link", name="王小明")).to_be_visible()
    expect(page.get_by_label("搜索人员")).to_be_visible()
    page.get_by_role("link", name="王小明").click()
    expect(page.get_by_role("button", name="保存", exact=True)).to_be_visible()
    zh.screenshot("person-zh")


@pytest.mark.slow
def test_failed_sign_ins_are_throttled_with_the_token_endpoints_budgets(
    server_factory: Callable[..., ServerProcess],
) -> None:
    """Failed sign-ins count against the budget of failed credential attempts per address, as at the
    token endpoints; once it is spent even the right token is refused until it refills."""
    server = server_factory(
        "--admin-token",
        "right-token",
        "--credential-failures-per-address",
        "2",
        "--credential-failures-window",
        "600",
    )

    def sign_in(token: str) -> str:
        with httpx.Client(base_url=server.base_url, timeout=30) as http:
            csrf = re.search(r'name="csrf" value="([^"]*)"', http.get("/console/login").text)
            assert csrf
            reply = http.post("/console/login", data={"csrf": csrf[1], "token": token})
            return "signed in" if reply.status_code == 303 else reply.text

    assert sign_in("right-token") == "signed in"
    assert "That is not the admin token." in sign_in("wrong-1")
    assert "That is not the admin token." in sign_in("wrong-2")
    refused = sign_in("right-token")
    assert "Too many failed sign-ins" in refused and "retry in" in refused
