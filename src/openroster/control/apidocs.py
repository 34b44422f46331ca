"""The API documentation pages, ``/docs`` and ``/_openroster/docs``, whole without the internet.

FastAPI's own docs page loads Swagger UI from a public CDN, so on a machine without internet
access (the very place a stand-in runs) it is blank. These pages load it from the package
instead: ``static/swagger-ui/`` is swagger-ui-dist, vendored with its licence (its README says
from where), and ``static/apidocs.js`` starts it, so the page holds no inline script. The control
app serves those files under ``/_openroster/static/<tag>/``, open without the admin token like
the docs themselves. ``<tag>`` is a digest of their content: a browser keeps them for a year, and
files that change are a new URL. Each page links the others (the platform APIs, the control
plane, the console). There is no ReDoc page: it would load its script from a CDN too.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from html import escape
from importlib import resources

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_oauth2_redirect_html
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from openroster.control.calls import CONTROL_PREFIX
from openroster.dialects.openapi import DOCS_URL, OPENAPI_URL

#: Where the control app serves the pages' files (under its own prefix).
STATIC_PATH = "/static/"
#: The files' ``Cache-Control``: a year, never revalidated (their URL changes with their content).
CACHE_FOREVER = "public, max-age=31536000, immutable"
#: Swagger UI's OAuth2 redirect page, beside the docs page.
OAUTH2_REDIRECT = "/oauth2-redirect"
#: The docs pages' ``Content-Security-Policy``: scripts, styles, fonts and requests from the
#: server's own origin only (Swagger UI sets style attributes and draws icons from ``data:``
#: URLs), no inline script, and no framing.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)

#: The pages each docs page links to: (label, path). The console is served under ``/console/``.
PAGES = (
    ("Platform APIs", DOCS_URL),
    ("Control plane", CONTROL_PREFIX + DOCS_URL),
    ("Console", "/console/"),
)

_JS = "text/javascript"
_CSS = "text/css"
#: Each file the pages load: its name in URLs, then its place under ``static/`` and media type.
_FILES = {
    "swagger-ui-bundle.js": ("swagger-ui/swagger-ui-bundle.js", _JS),
    "swagger-ui.css": ("swagger-ui/swagger-ui.css", _CSS),
    "favicon.png": ("swagger-ui/favicon-32x32.png", "image/png"),
    "apidocs.js": ("apidocs.js", _JS),
    "apidocs.css": ("apidocs.css", _CSS),
}


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    media_type: str


@dataclass(frozen=True, slots=True)
class Assets:
    #: A digest of every file's name and content, the part of their URL that changes with them.
    tag: str
    files: dict[str, Asset]

    @property
    def url(self) -> str:
        """Where the files are, on the server's own origin."""
        return f"{CONTROL_PREFIX}{STATIC_PATH}{self.tag}"


@functools.cache
def assets() -> Assets:
    """The pages' files, read from the package once (about 2 MB)."""
    root = resources.files(__package__) / "static"
    files = {name: Asset((root / where).read_bytes(), media) for name, (where, media) in _FILES.items()}
    digest = hashlib.sha256()
    for name, asset in files.items():
        digest.update(name.encode() + b"\0" + asset.body)
    return Assets(digest.hexdigest()[:16], files)


def page_html(*, title: str, openapi_url: str, here: str) -> str:
    """A docs page: Swagger UI on the OpenAPI document at ``openapi_url``, under the links to
    :data:`PAGES` (``here`` is this page's path)."""
    url = assets().url
    current = ' aria-current="page"'
    links = "\n".join(
        f'  <a href="{escape(path)}"{current if path == here else ""}>{escape(label)}</a>'
        for label, path in PAGES
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<link rel="stylesheet" href="{url}/swagger-ui.css">
<link rel="stylesheet" href="{url}/apidocs.css">
<link rel="icon" type="image/png" href="{url}/favicon.png">
</head>
<body>
<nav class="openroster-pages" aria-label="openroster">
{links}
</nav>
<main id="swagger-ui" data-openapi-url="{escape(openapi_url)}"
      data-oauth2-redirect-url="{escape(here + OAUTH2_REDIRECT)}"></main>
<script src="{url}/swagger-ui-bundle.js"></script>
<script src="{url}/apidocs.js"></script>
</body>
</html>
"""


def add_docs_page(api: FastAPI) -> None:
    """Serve ``api``'s docs page at :data:`DOCS_URL`, and Swagger UI's OAuth2 redirect page beside
    it, as FastAPI would (under the app's mount point, its ``root_path``)."""
    title = f"{api.title} - Swagger UI"

    @api.get(DOCS_URL, include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        html = page_html(title=title, openapi_url=root + OPENAPI_URL, here=root + DOCS_URL)
        return HTMLResponse(html, headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY})

    @api.get(DOCS_URL + OAUTH2_REDIRECT, include_in_schema=False)
    async def oauth2_redirect(request: Request) -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()


def add_static_files(api: FastAPI) -> None:
    """Serve the docs pages' files at ``STATIC_PATH<tag>/<name>`` (only the current tag)."""

    @api.get(STATIC_PATH + "{tag}/{name}", include_in_schema=False)
    async def static_file(tag: str, name: str) -> Response:
        current = assets()
        asset = current.files.get(name)
        if tag != current.tag or asset is None:
            raise HTTPException(404)
        headers = {"Cache-Control": CACHE_FOREVER, "X-Content-Type-Options": "nosniff"}
        return Response(asset.body, media_type=asset.media_type, headers=headers)
