"""Browser tests of the web console: Playwright for Python driving the machine's Chromium.

One browser per run of console tests on a pytest worker (package scope: it closes before the
worker moves on to other tests, since a live Playwright session holds an event loop on the
thread, where ``asyncio.run`` in the SDK's tests would refuse to start one), and a fresh context
(no cookies) per test. Every
page a test opens is watched: a request to any origin but the server's, a console error or an
uncaught exception fails the test when it ends. ``./scripts/test`` installs Debian's
``chromium`` when it is missing; Playwright's own browser downloads are never used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright
from tests.console.browser import Console, chromium_path, watched_console

from conftest import LiveServer


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path())
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def consoles(live: LiveServer, browser: Browser) -> Iterator[Callable[[str], Console]]:
    """Opens consoles in fresh browser contexts of a given locale (``"zh-CN"``); the test fails if
    one of their pages left the origin, logged an error or opened a dialog."""
    opened: list[Console] = []

    def open_console(locale: str) -> Console:
        opened.append(watched_console(live, browser, locale))
        return opened[-1]

    try:
        yield open_console
    finally:
        for c in opened:
            c.context.close()
    assert [c.watched.problems() for c in opened if c.watched.problems()] == []


@pytest.fixture
def console(consoles: Callable[[str], Console]) -> Console:
    """A console in English, in a fresh browser context (see ``consoles``)."""
    return consoles("en-US")
