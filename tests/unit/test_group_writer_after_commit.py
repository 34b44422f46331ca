"""A write route's work after the commit (``dialects.base.AfterCommit``): WPS custom_attrs/
batch_update decodes its reply's values in the job and only puts them into bytes once its group
has committed. A batch whose reply cannot be put together (a value held that cannot be decoded)
fails in the job and changes nothing; a normal batch's reply is the bytes it was before the commit
(both backends)."""

from __future__ import annotations

from typing import Any

import pytest
from tests.unit.test_group_writer import TENANT, current_seq, d, run, seqs_since

from openroster.core.custom import attributes
from openroster.core.directory import Directory, Reader
from openroster.core.tenancy import apps
from openroster.dialects.base import AfterCommit, AppCall
from openroster.dialects.wps import render
from openroster.dialects.wps.attributes import update_values
from openroster.model.entities import AttributeUpdate, UserAttributeUpdate

__all__ = ["d"]  # the fixture, imported for these tests


def batch_update(d: Directory, r: Reader, updates: list[UserAttributeUpdate]) -> Any:
    """The route's handler, as the pipeline runs it in a job (what the request carries is not read)."""
    app = r.app("after-commit")
    assert app is not None
    return update_values(AppCall(d, r, app, None), updates)  # type: ignore[arg-type]


def define(d: Directory) -> None:
    apps.create(d, tenant_id=TENANT, client_id="after-commit", secret="s" * 32, signing="kso1")
    attributes.create_definitions(
        d,
        tenant_id=TENANT,
        items=[
            attributes.NewDefinition(id="desk", name="Desk", value_type="text"),
            attributes.NewDefinition(id="team", name="Team", value_type="relation_depts"),
        ],
    )


def stored(d: Directory) -> dict[tuple[str, str], str]:
    with d.store.read() as tx:
        return tx.attrs.get_stored_values(TENANT, ["p0", "p1"])


def test_a_batch_whose_reply_cannot_be_put_together_changes_nothing(d: Directory) -> None:
    define(d)
    with d.store.write() as tx:  # a value held that is no list of departments: not decodable
        tx.attrs.put_stored_values(TENANT, [("p0", "team", '"x"')])
    before, held = current_seq(d), stored(d)
    desk = [UserAttributeUpdate(user_id="p0", attrs=(AttributeUpdate(attr_id="desk", text="D-1"),))]

    with pytest.raises(ValueError, match="invalid literal for int"):
        run(d.write(lambda r: batch_update(d, r, desk)))

    # The job failed, not its reply after the commit: the batch wrote nothing, published nothing.
    assert stored(d) == held == {("p0", "team"): '"x"'}
    assert seqs_since(d, before) == {}


def test_a_batch_replies_after_the_commit_what_it_would_have_before(d: Directory) -> None:
    define(d)
    attributes.update_values(  # held before the batch, which leaves it as it is
        d,
        tenant_id=TENANT,
        updates=[
            UserAttributeUpdate(user_id="p1", attrs=(AttributeUpdate(attr_id="team", relation_depts=("1",)),))
        ],
    )
    updates = [
        UserAttributeUpdate(user_id="p1", attrs=(AttributeUpdate(attr_id="desk", text="B-2"),)),
        UserAttributeUpdate(user_id="p0", attrs=(AttributeUpdate(attr_id="desk", text="A-1"),)),
    ]
    before_commit: list[bytes] = []

    def job(r: Reader) -> Any:
        result = batch_update(d, r, updates)
        # The reply as it was made in the job: the people's values read back in its transaction.
        values = attributes.read_values(r, tenant_id=TENANT, user_ids=["p1", "p0"])
        defs = {a.id: a for a in attributes.definitions(r, tenant_id=TENANT)}
        before_commit.append(render.user_values(["p1", "p0"], values, defs))
        return result

    result = run(d.write(job))

    assert type(result) is AfterCommit
    reply = result.finish()
    assert reply == before_commit[0]
    assert reply.startswith(b'{"total":2,"users":[{"user_id":"p1","custom_attrs":[{"attr_id":"desk"')
    assert b'"relation_depts":["1"]' in reply and b'"text":"A-1"' in reply
