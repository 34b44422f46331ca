"""The WPS 365 OpenAPI v7 dialect.

The package itself imports nothing heavy, so the SDK can use ``signing`` without
loading the server; ``dialect.py`` declares the dialect the server mounts.
"""

from __future__ import annotations

#: The platform's API version prefix.
VERSION_PREFIX = "/v7"
#: The gateway prefixes private deployments put in front of the platform's paths: ``/openapi/v7``
#: and ``/graph/v7`` are ``/v7``, ``/openapi/oauth2/token`` is ``/oauth2/token``. Never signed.
GATEWAYS: tuple[str, ...] = ("/openapi", "/graph")
#: Where the token endpoint is.
TOKEN_PATH = "/oauth2/token"  # noqa: S105  (a path, not a secret)
#: Every route is served under each of these.
PREFIXES: tuple[str, ...] = (VERSION_PREFIX, *(g + VERSION_PREFIX for g in GATEWAYS))
TOKEN_PATHS: tuple[str, ...] = (TOKEN_PATH, *(g + TOKEN_PATH for g in GATEWAYS))
