"""What the console's browser tests share: finding Chromium, and a watched page on the console."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page

from conftest import LiveServer

#: Set to 1 to write the screenshots docs/console.md shows (``./scripts/screenshots`` does).
SCREENSHOTS_ENV = "OPENROSTER_SCREENSHOTS"
SCREENSHOTS_DIR = Path(__file__).resolve().parents[2] / "docs" / "console"

#: Where Chromium is: ``OPENROSTER_CHROMIUM``, else ``chromium`` on the PATH (Debian's package).
CHROMIUM_ENV = "OPENROSTER_CHROMIUM"


def chromium_path() -> str:
    found = os.environ.get(CHROMIUM_ENV) or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        raise pytest.UsageError(
            "the console's browser tests need Chromium: run ./scripts/test (it installs Debian's "
            f"chromium package when missing), or apt-get install -y chromium, or set {CHROMIUM_ENV}"
        )
    return found


@dataclass
class Watched:
    """What the pages of one test asked for and complained about."""

    origin: str
    foreign: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def problems(self) -> dict[str, list[str]]:
        named = {"foreign requests": self.foreign, "console errors": self.errors, "dialogs": self.dialogs}
        return {k: v for k, v in named.items() if v}


@dataclass
class Console:
    """A browser page on the console of ``live``'s server, and what it is watched for."""

    live: LiveServer
    page: Page
    context: BrowserContext
    watched: Watched

    @property
    def base_url(self) -> str:
        return self.live.base_url

    def open(self, path: str) -> Page:
        self.page.goto(self.base_url + path)
        return self.page

    def sign_in(self, then: str = "/console/") -> Page:
        """Sign in through the form (as a person would), then open ``then``."""
        page = self.open("/console/login")
        page.get_by_label("Admin token").fill(self.live.admin_token)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(self.base_url + "/console/")
        if then != "/console/":
            self.open(then)
        return page

    def screenshot(self, name: str, at: Locator | None = None) -> None:
        """Save the page (scrolled to ``at``) as ``docs/console/<name>.png`` when screenshots are asked
        for (else nothing)."""
        if os.environ.get(SCREENSHOTS_ENV) == "1":
            SCREENSHOTS_DIR.mkdir(exist_ok=True)
            if at is not None:
                at.evaluate("element => element.scrollIntoView({block: 'start'})")
            self.page.screenshot(path=SCREENSHOTS_DIR / f"{name}.png")

    def cookies(self) -> list[Any]:
        return list(self.context.cookies())


def watched_console(live: LiveServer, browser: Browser, locale: str) -> Console:
    watched = Watched(origin=live.base_url)
    context = browser.new_context(locale=locale)  # Accept-Language follows the locale
    page = context.new_page()

    def on_request(request: Any) -> None:
        if not (request.url.startswith(live.base_url + "/") or request.url.startswith("data:")):
            watched.foreign.append(request.url)

    def on_dialog(dialog: Any) -> None:
        watched.dialogs.append(dialog.message)
        dialog.dismiss()

    context.on("request", on_request)
    page.on("console", lambda m: watched.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: watched.errors.append(str(exc)))
    page.on("dialog", on_dialog)
    return Console(live, page, context, watched)
