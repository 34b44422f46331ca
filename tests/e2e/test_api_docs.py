"""The API documentation pages work offline (README.md, docs/emulator.md).

``/docs`` and ``/_openroster/docs`` load every script and stylesheet from the server's own
origin, cached for a year, run no inline script, and link each other and the console. ReDoc is
off.
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from conftest import LiveServer

# The pages read nothing from the store: one backend is enough.
pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]

PAGES = ["/docs", "/_openroster/docs"]
#: The pages' links to each other and to the console, as the docs name them.
LINKS = {"/docs", "/_openroster/docs", "/console/"}
CACHE_FOREVER = "public, max-age=31536000, immutable"
MEDIA_TYPES = {"script": "text/javascript", "stylesheet": "text/css", "icon": "image/png"}


class Page(HTMLParser):
    """What a page loads (scripts, stylesheets, icons), what it links to, and its inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[tuple[str, str]] = []  # (kind, URL)
        self.links: set[str] = set()
        self.inline_scripts: list[str] = []
        self._in_script = False
        self.openapi_url: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script":
            self._in_script = True
            if a.get("src"):
                self.loads.append(("script", a["src"] or ""))
            else:
                self.inline_scripts.append("")
        elif tag == "link" and a.get("rel") in ("stylesheet", "icon"):
            self.loads.append((a["rel"] or "", a.get("href") or ""))
        elif tag == "a" and a.get("href"):
            self.links.add(a["href"] or "")
        if a.get("data-openapi-url"):
            self.openapi_url = a["data-openapi-url"]

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts.append(data)


def _parse(text: str) -> Page:
    page = Page()
    page.feed(text)
    return page


@pytest.mark.parametrize("path", PAGES)
def test_a_docs_page_loads_everything_from_the_servers_own_origin(live: LiveServer, path: str) -> None:
    with httpx.Client(base_url=live.base_url) as http:  # no admin token: the docs are open
        reply = http.get(path)
        assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/html")
        page = _parse(reply.text)
        kinds = {kind for kind, _ in page.loads}
        assert kinds == {"script", "stylesheet", "icon"}, page.loads
        origin = urlsplit(live.base_url)
        for kind, url in page.loads:
            absolute = urlsplit(urljoin(live.base_url + path, url))
            assert (absolute.scheme, absolute.netloc) == (origin.scheme, origin.netloc), url
            asset = http.get(absolute.geturl())
            assert asset.status_code == 200, url
            assert asset.headers["content-type"].split(";")[0] == MEDIA_TYPES[kind], url
            assert asset.headers["cache-control"] == CACHE_FOREVER, url
            assert asset.content, url
        assert page.inline_scripts == []
        csp = reply.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-eval" not in csp
        assert page.openapi_url is not None
        spec = http.get(page.openapi_url)
        assert spec.status_code == 200 and "paths" in spec.json()


@pytest.mark.parametrize("path", PAGES)
def test_a_docs_page_links_the_other_and_the_console(live: LiveServer, path: str) -> None:
    page = _parse(httpx.get(live.base_url + path).text)
    assert page.links >= LINKS
    assert f'href="{path}" aria-current="page"' in httpx.get(live.base_url + path).text


@pytest.mark.parametrize("path", PAGES)
def test_swagger_uis_oauth2_redirect_page_is_still_beside_each_docs_page(live: LiveServer, path: str) -> None:
    reply = httpx.get(live.base_url + path + "/oauth2-redirect")
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/html")


def test_the_docs_files_are_served_only_under_their_current_tag(live: LiveServer) -> None:
    page = _parse(httpx.get(live.base_url + "/docs").text)
    script = next(url for kind, url in page.loads if kind == "script")
    folder, name = script.rsplit("/", 1)
    stale = folder.rsplit("/", 1)[0] + "/0000000000000000/" + name
    assert httpx.get(live.base_url + stale).status_code == 404
    assert httpx.get(live.base_url + folder + "/no-such-file.js").status_code == 404
    assert httpx.get(live.base_url + folder + "/%2e%2e%2fapidocs.py").status_code == 404


def test_redoc_is_off(live: LiveServer) -> None:
    assert httpx.get(live.base_url + "/redoc").status_code == 404
    auth = {"Authorization": f"Bearer {live.admin_token}"}
    assert httpx.get(live.base_url + "/_openroster/redoc", headers=auth).status_code == 404
