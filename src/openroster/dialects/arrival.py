"""When a request arrived, for the rule that a read sees every write acknowledged before it.

A client that relies on reading its own writes sends the read after it got
the write's reply, so any instant at which the server already holds the read's
bytes is late enough. The HTTP protocol ``openroster serve`` runs
(``server/guard.py``) stamps the instant the request's first byte was parsed
into the ASGI scope; under load the requests that arrived together then share
one poll of the change log (``core/runtime/cache.py``) instead of polling once each.
Served any other way (an in-process test client), the instant the endpoint
began is used, which is later and so always safe.
"""

from __future__ import annotations

import time
from collections.abc import MutableMapping
from typing import Any

ARRIVED_SCOPE_KEY = "openroster.arrived"


def arrived(scope: MutableMapping[str, Any]) -> float:
    """The ``time.monotonic()`` instant the request arrived (see module)."""
    at: float | None = scope.get(ARRIVED_SCOPE_KEY)
    return at if at is not None else time.monotonic()
