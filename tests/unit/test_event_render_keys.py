"""What the renderers share in a pass (``dialects/event_batches.Shared``) is keyed by everything
their events depend on besides the records: rendering many subscriptions with one memo gives
exactly what rendering each alone gives, and the batching is done once per key.

The randomness (WPS nonces, DingTalk's event ids, nonces and random16, Stream's event ids) and
the time are made deterministic, so both renderings are compared byte for byte."""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import pytest

import openroster.dialects.dingtalk.events as dingtalk_events
import openroster.dialects.wps.events as wps_events
from openroster.dialects.dingtalk import callback_crypto
from openroster.dialects.event_batches import Shared
from openroster.events.channels import channel, stream
from openroster.model.changes import (
    ChangeRecord,
    ChannelContext,
    EntityKind,
    Operation,
    RenderedEvent,
    StoredChange,
    Subscription,
)

AES_KEY = "Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7"
APPS = ("appA", "appB")
#: Topic sets of every kind: all, one of each platform, several of each.
TOPIC_SETS = (
    (),
    ("kso.user",),
    ("kso.dept", "kso.contact.permission_setting"),
    ("user_add_org", "org_dept_create", "hrm_user_record_change"),
    ("user_leave_org", "user_modify_org", "org_admin_add"),
)
#: The tenants' platform ids the contexts take in turn ("current" is a DingTalk payload style too:
#: a key without the channel's kind would mix a Stream corp's events with a DingTalk style's).
PLATFORM_IDS = (("C1", "corp1"), ("C2", "current"))

USER_BEFORE = {"user_name": "Old", "dept_ids": [1, 2], "status": "notactive", "role": "member"}
DEPT_BEFORE = {"name": "Old", "parent_id": 3, "leader_ids": ["u1"]}


def mixed_changes() -> list[StoredChange]:
    """Every kind and operation of record over a few transactions, users' status and role changes
    among them (DingTalk's leave, activation and admin events), each app's scope change."""
    rnd = random.Random(7)
    out: list[StoredChange] = []
    for seq in range(11, 31):
        for n in range(rnd.randint(1, 6)):
            kind = rnd.choice(list(EntityKind))
            op = rnd.choice(list(Operation))
            entity_id = rnd.choice(APPS) if kind is EntityKind.APP_SCOPES else str(rnd.randint(1, 9))
            before = (
                None
                if op is Operation.CREATE
                else (DEPT_BEFORE if kind is EntityKind.DEPARTMENT else USER_BEFORE)
            )
            after = None
            if kind is EntityKind.USER and op is Operation.UPDATE:
                after = {
                    "status": rnd.choice(["active", "dimission", "notactive"]),
                    "role": rnd.choice(["admin", "member"]),
                }
            record = ChangeRecord("acme", kind, op, entity_id, ("user_name",), before, None, after)
            out.append(StoredChange(seq, n, 1_800_000_000_000 + seq * 1000, record))
    return out


def contexts() -> list[ChannelContext]:
    """Subscriptions of every channel, app, topic set, payload style and platform ids."""
    out = []
    kinds = ("wps", "dingtalk", stream.KIND)
    for n, (kind, app, topics, payload, (company, corp)) in enumerate(
        itertools.product(kinds, APPS, TOPIC_SETS, ("current", "legacy"), PLATFORM_IDS)
    ):
        on_platform = tuple(t for t in topics if t in channel(kind).topics)
        sub = Subscription(f"s{n}", "acme", kind, app, "http://x", on_platform, payload, "tok", AES_KEY)
        out.append(ChannelContext(sub, "acme", company, corp, f"secret-{app}"))
    return out


@pytest.fixture
def fixed_randomness(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Make the nonces, event ids and time deterministic; the returned function starts them over."""
    rnd = random.Random()

    def token(length: int = 16) -> str:
        return "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(length))

    monkeypatch.setattr(wps_events, "new_nonce", lambda: token(16))
    monkeypatch.setattr(callback_crypto, "new_nonce", token)
    monkeypatch.setattr(callback_crypto, "now_ms", lambda: "1800000000000")
    monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(int=rnd.getrandbits(128)))
    return lambda: rnd.seed(42)


def render_all(
    ctxs: Sequence[ChannelContext], changes: Sequence[StoredChange], memo: Shared | None
) -> list[list[RenderedEvent]]:
    return [channel(c.subscription.kind).render(c, changes, memo) for c in ctxs]


def test_many_subscriptions_render_with_one_memo_exactly_as_each_alone(
    fixed_randomness: Callable[[], None],
) -> None:
    changes, ctxs = mixed_changes(), contexts()
    assert {c.record.kind for c in changes} == set(EntityKind)
    assert {c.record.op for c in changes} == set(Operation)
    fixed_randomness()
    alone = render_all(ctxs, changes, None)
    fixed_randomness()
    shared = render_all(ctxs, changes, Shared())
    assert shared == alone
    # Every channel raised events, and the subscriptions' events differ (else the comparison is weak).
    for kind in ("wps", "dingtalk", stream.KIND):
        raised = [events for c, events in zip(ctxs, alone, strict=True) if c.subscription.kind == kind]
        assert all(raised[:2])
        assert len({tuple(e.topic for e in events) for events in raised}) > 2


class Calls:
    """A spy: counts the calls of ``wrapped`` and passes them on."""

    def __init__(self, wrapped: Callable[..., Any]) -> None:
        self.wrapped, self.count = wrapped, 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.count += 1
        return self.wrapped(*args, **kwargs)


@pytest.mark.parametrize(
    ("kind", "module"), [("wps", wps_events), ("dingtalk", dingtalk_events), (stream.KIND, stream)]
)
def test_five_subscriptions_of_one_key_batch_the_records_once(
    monkeypatch: pytest.MonkeyPatch, kind: str, module: object
) -> None:
    """Five subscriptions of one channel, app, topics and style (keys of their own) batch the pass's
    records once with a memo, five times without."""
    spy = Calls(module.batches)  # type: ignore[attr-defined]
    monkeypatch.setattr(module, "batches", spy)
    changes = mixed_changes()
    ctxs = [
        ChannelContext(
            Subscription(f"s{n}", "acme", kind, "appA", "http://x", (), "current", f"tok{n}", AES_KEY),
            "acme",
            "C1",
            "corp1",
            "secret-appA",
        )
        for n in range(5)
    ]
    memo = Shared()
    with_memo = render_all(ctxs, changes, memo)
    assert spy.count == 1
    assert all(len(events) == len(with_memo[0]) > 0 for events in with_memo)
    assert len({e.event_id for events in with_memo for e in events}) == 5 * len(with_memo[0])
    render_all(ctxs, changes, None)
    assert spy.count == 6
