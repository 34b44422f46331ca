"""What the SCIM end-to-end tests share: the RFC 7643/7644 names, written out from the RFCs (not
taken from the server), and a tenant with a SCIM app and a raw HTTP client holding its bearer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from conftest import LiveServer
from openroster.core.tenancy import apps, tenants

TENANT = "acme"
SECRET = "acme-scim-secret"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
#: openroster's Group extension (docs/scim.md).
DEPARTMENT = "urn:openroster:params:scim:schemas:extension:department:2.0:Group"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
SCIM_JSON = "application/scim+json"


@contextmanager
def scim_tenant(live: LiveServer) -> Iterator[httpx.Client]:
    """Tenant ``acme`` with the SCIM app ``acme-scim``; a client of ``/scim/v2`` sending its bearer."""
    d = live.directory
    tenants.create(d, tenant_id=TENANT, name="Acme")
    apps.create(d, tenant_id=TENANT, client_id="acme-scim", secret=SECRET, scopes=("scim",))
    headers = {"Authorization": f"Bearer {SECRET}", "Content-Type": SCIM_JSON}
    with httpx.Client(base_url=live.base_url + "/scim/v2", headers=headers, timeout=60) as c:
        yield c
