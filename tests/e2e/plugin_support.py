"""For the tests that use the pytest plugin's fixtures as a user would (test_control, test_sdk_faults)."""

from __future__ import annotations

from openroster.client import RetryPolicy, WpsClient
from openroster.testing.plugin import OpenrosterTenant

#: Retries quick enough for a test, generous enough to outlast a few injected faults.
FAST_RETRY = RetryPolicy(max_retries=4, backoff=0.05, max_backoff=2.0, max_wait=10.0)


def unsigned_wps(tenant: OpenrosterTenant, retry: RetryPolicy = FAST_RETRY) -> WpsClient:
    """A WPS client of a new app of ``tenant`` that does not sign (contacts read and write)."""
    app = tenant.add_app(signing="none", scopes=["kso.contact.read", "kso.contact.readwrite"])
    return WpsClient(
        tenant.server.base_url,
        client_id=app["client_id"],
        client_secret=app["client_secret"],
        signing=None,
        retry=retry,
    )
