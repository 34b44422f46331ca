"""What a paused subscription misses past the retention, pruned now through the control plane.

``POST /_openroster/events/prune`` runs what the event engine runs each minute, on the server's
clock: a test advances the clock (``PUT /_openroster/clock``) instead of waiting days. The server
here keeps change records for 0.001 day (86.4 s; the floor for records not yet fanned out is a
minute), so a clock moved 100 s ages them.

Why PostgreSQL too: the cursor's skip is a compare-and-set and the prune's deletes run in steps,
each a writers' job; both are SQL of their own on each backend.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from tests.console.world import signed_in

import event_receivers as ind
from conftest import ServerProcess
from openroster.core.directory import Directory
from openroster.model.changes import ChangeRecord, EntityKind, Operation
from openroster.testing import ControlClient

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.both_stores]

ADMIN = "retention-admin"
TENANT, COMPANY, APP = "acme-retention", "C-retention", "retention-kso"


def write_user_records(directory: Directory, *user_ids: str) -> None:
    """One committed transaction per person, each with its change record."""
    for user_id in user_ids:
        with directory.writer() as tx:
            tx.record(ChangeRecord(TENANT, EntityKind.USER, Operation.UPDATE, user_id, ("name",), {}))


def test_a_paused_subscription_misses_what_aged_out_and_gets_the_rest_after_resume(
    directory: Directory, server_factory: Callable[..., ServerProcess]
) -> None:
    server = server_factory("--admin-token", ADMIN, "--events-retention", "0.001")
    with ControlClient(server.base_url, ADMIN) as control:
        created = control.create_tenant(
            TENANT, wps_company_id=COMPANY, apps=[{"client_id": APP, "scopes": ["kso.contact.read"]}]
        )
        secret = created["apps"][0]["client_secret"]
        with ind.serve(ind.WpsReceiver(APP, secret)) as rx:
            sub = control.subscribe(TENANT, "wps", APP, rx.url)
            assert (sub["missed"], sub["missed_until"]) == (0, None)
            control.subscription_action(TENANT, sub["id"], "pause")
            before = time.time()
            write_user_records(directory, "u1", "u2", "u3")
            after = time.time()

            young = control.prune()
            assert young["missed"] == 0  # not yet past the retention
            [listed] = control.subscriptions(TENANT)
            assert (listed["missed"], listed["missed_until"]) == (0, None)

            control.advance_clock(100)
            aged = control.prune()
            assert aged["missed"] == 3 and aged["records"] >= 3
            [listed] = control.subscriptions(TENANT)
            assert listed["missed"] == 3 and listed["status"] == "paused"
            assert before - 1 <= listed["missed_until"] <= after + 1  # the newest missed record's commit
            assert listed["cursor"] >= sub["cursor"] + 3
            assert control.prune()["missed"] == 0  # nothing more to skip
            shown = console_events_page(server.base_url)
            until = datetime.fromtimestamp(listed["missed_until"], UTC).isoformat(timespec="milliseconds")
            assert f"<td>3 · until {until.replace('+00:00', 'Z')}</td>" in shown

            write_user_records(directory, "u4")
            control.subscription_action(TENANT, sub["id"], "resume")
            control.flush(TENANT)
            rx.wait_for(lambda events: len(events) >= 1)
            control.flush(TENANT)
            assert [e["payload"]["users"][0]["user_id"] for e in rx.events] == ["u4"]


def console_events_page(base_url: str) -> str:
    """The console's Events page of the tenant, signed in with the admin token as its form does."""
    http, _ = signed_in(base_url, ADMIN)
    try:
        page = http.get(f"/console/tenants/{TENANT}/events")
    finally:
        http.close()
    assert page.status_code == 200
    return page.text
