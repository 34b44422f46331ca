"""The peer suite: scim2-tester (the python-scim project's SCIM server compliance checker) against a
real server over 127.0.0.1.

Every check it has runs. Each one that does not succeed is listed below with its reason, the same
reasons as docs/scim.md ("What scim2-tester reports"); the test fails on any other, and on a listed
one that starts to succeed (so the list only shrinks).
"""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server
from scim_support import DEPARTMENT, ENTERPRISE, SECRET, scim_tenant

from conftest import LiveServer

pytestmark = pytest.mark.e2e


#: (check, attribute) -> (status, why). The reasons are docs/scim.md's.
EXPECTED: dict[tuple[str, str | None], tuple[Status, str]] = {
    ("check_add_attribute", "emails"): (Status.ERROR, "the tester's userName is no email address"),
    ("check_replace_attribute", "emails"): (Status.ERROR, "the tester's userName is no email address"),
    ("check_add_attribute", "name"): (Status.ERROR, "givenName and familyName are write-only"),
    ("check_replace_attribute", "name"): (Status.ERROR, "givenName and familyName are write-only"),
    ("check_add_attribute", ENTERPRISE): (Status.ERROR, "department is read-only, from the main department"),
    ("check_replace_attribute", ENTERPRISE): (
        Status.ERROR,
        "department is read-only, from the main department",
    ),
    ("check_remove_attribute", ENTERPRISE): (
        Status.ERROR,
        "department is read-only, from the main department",
    ),
    ("check_remove_attribute", "name"): (Status.ERROR, "a person always has a name"),
    ("check_remove_attribute", "displayName"): (Status.ERROR, "a person always has a name"),
    ("check_remove_attribute", "active"): (Status.ERROR, "a person always has a status"),
    ("check_remove_attribute", DEPARTMENT): (Status.ERROR, "a department always has a parent"),
    ("check_remove_attribute", f"{DEPARTMENT}:parent"): (Status.ERROR, "a department always has a parent"),
}


def _urn(data: Any) -> str | None:
    return str(data["urn"]) if isinstance(data, dict) and "urn" in data else None


# The checks are of the protocol; the other SCIM tests run on both backends.
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_scim2_tester_passes_every_check_but_the_documented_ones(live: LiveServer) -> None:
    with scim_tenant(live), httpx2.Client(base_url=live.base_url + "/scim/v2") as http:
        http.headers["Authorization"] = f"Bearer {SECRET}"
        results = check_server(SyncSCIMClient(http))
    assert len(results) > 50
    seen: dict[tuple[str, str | None], Status] = {}
    for r in results:
        key = (r.title or "", _urn(r.data))
        if r.status is not Status.SUCCESS:
            seen[key] = r.status
    unexpected = {
        k: (s, [r.reason for r in results if (r.title, _urn(r.data)) == k]) for k, s in seen.items()
    }
    assert seen == {k: s for k, (s, _) in EXPECTED.items()}, unexpected
