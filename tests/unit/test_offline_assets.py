"""Nothing the package serves loads from a CDN: no file under src/ names a CDN host.

The API docs pages (and the console) must work on a machine without internet access, so every
script, stylesheet and font comes from the server's own origin. tests/e2e/test_api_docs.py checks
the pages a real server sends; this checks the source, vendored files included.
"""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "openroster"

#: Public hosts that serve scripts, styles and fonts to pages (FastAPI's own docs pages use
#: cdn.jsdelivr.net and fastapi.tiangolo.com), and any host with "cdn" in its name.
CDN_HOSTS = re.compile(
    r"unpkg\.com|ajax\.googleapis\.com|fonts\.googleapis\.com|fonts\.gstatic\.com|code\.jquery\.com"
    r"|esm\.sh|fastapi\.tiangolo\.com"
    r"|\b(?:[a-z0-9-]+\.)*[a-z0-9-]*cdn[a-z0-9-]*(?:\.[a-z0-9-]+)+",
    re.IGNORECASE,
)


def _text_files() -> list[Path]:
    files = [p for p in SRC.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    return [p for p in files if b"\0" not in p.read_bytes()[:4096]]


def test_the_scan_reads_the_vendored_swagger_ui() -> None:
    names = {p.name for p in _text_files()}
    assert {"swagger-ui-bundle.js", "swagger-ui.css", "apidocs.js", "apidocs.py"} <= names


def test_the_pattern_finds_what_fastapis_default_docs_page_loads() -> None:
    found = CDN_HOSTS.findall(
        '<script src="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js"></script>'
        '<link rel="shortcut icon" href="https://fastapi.tiangolo.com/img/favicon.png">'
        "https://maxcdn.bootstrapcdn.com/x.css https://static.cdn.example.org/a.js"
    )
    assert found == [
        "cdn.jsdelivr.net",
        "fastapi.tiangolo.com",
        "maxcdn.bootstrapcdn.com",
        "static.cdn.example.org",
    ]


def test_no_file_under_src_names_a_cdn_host() -> None:
    named = {
        f"{p.relative_to(SRC)}: {m.group(0)}"
        for p in _text_files()
        for m in CDN_HOSTS.finditer(p.read_text(encoding="utf-8", errors="replace"))
    }
    assert sorted(named) == []
