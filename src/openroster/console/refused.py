"""The page a console path gets when the server's request guards refuse it (``server/guard.py``:
400, 408, 413, 431) before the console runs: a small HTML page in both languages (the guard has
not read the request's language), with the console's security headers.

The API paths keep their platform's envelope; only ``/console`` answers a person with a page.
"""

from __future__ import annotations

from openroster.console.pages import render_outside
from openroster.console.session import SECURITY_HEADERS
from openroster.dialects.base import Refusal


def refusal_page(status: int, reason: str, message: str) -> Refusal:
    """``status`` (its ``reason`` phrase) and the guard's ``message``, as an HTML page."""
    body = render_outside("refused.html", status=status, reason=reason, message=message)
    return Refusal(status, body.encode(), "text/html; charset=utf-8", SECURITY_HEADERS)
