"""A batch_update's values checked in one pass (``checks.quick_batch``) against the per-value checks
(``checks.checked_batch``): for any batch, the same values, or ``None`` where the per-value checks
raise (they then name the field), through a real store's definitions, people and departments."""

from __future__ import annotations

import random

import pytest
from attr_support import make_acme
from store_state import store_rows

from openroster.core.custom import attributes, checks
from openroster.core.directory import Directory
from openroster.model.entities import AttributeUpdate, AttributeValueData, UrlValue, UserAttributeUpdate
from openroster.model.errors import CoreError
from openroster.store import attrs as stored_attrs

TEXTS = [None, "", "2F-001", "x" * 1000, "x" * 1001]
OPTIONS = [None, "", "P1", "P2", "P3", "p1"]
RELATIONS = [None, "", "u1", "u2", "x1", "nobody"]
DEPTS: list[tuple[str, ...] | None] = [
    None,
    (),
    ("1",),
    ("2", "1", "2"),
    ("01",),
    ("3",),
    ("0",),
    ("x",),
    ("²",),
    ("1",) * 51,
    ("9" * 19,),
]
URLS: list[tuple[str | None, str | None] | None] = [
    None,  # no url at all
    (None, None),
    ("主页", "https://wiki.example.com/u1"),
    ("", ""),
    ("t", "   "),
    (" t ", " https://x.example/a?b#c "),
    (None, "http://h.example:8080/p"),  # a port: only urlsplit judges it
    ("t", "https://x.example:0/"),
    ("t", "https://x.example:99999/"),
    ("t", "ftp://x.example/"),
    ("t", "httpſ://x.example/"),  # "ſ" folds to "s": not a scheme urlsplit finds
    ("t", "https://\u212a.example/"),  # the Kelvin sign folds to "k"
    ("t", "https://a b.example/"),
    ("t", "https://x.example/a b"),
    ("t", "https://x.example/a\u3000b"),
    ("t", "https://x.example/\x07"),
    ("t", "https://[::1/"),
    ("x" * 201, "https://x.example/"),
    ("t", "https://x.example/" + "a" * 2048),
    ("t", "HTTPS://X.EXAMPLE"),
]
#: Valid links; one with a port, which only the per-value checks (urlsplit) take.
LINKS = [
    "https://wiki.example.com/u1",
    "",
    " HTTPS://X.EXAMPLE ",
    "https://x.example?q",
    "http://h.example:8080/p",
]
GOOD = {
    "desk": lambda rng: AttributeUpdate("desk", text=rng.choice(["2F-001", "3F-101", ""])),
    "level": lambda rng: AttributeUpdate("level", option=rng.choice(["P1", "P2", ""])),
    "home": lambda rng: AttributeUpdate("home", url_title="主页", url_link=rng.choice(LINKS), has_url=True),
    "mentor": lambda rng: AttributeUpdate("mentor", relation_user=rng.choice(["u1", "u2", ""])),
    "partners": lambda rng: AttributeUpdate("partners", relation_depts=rng.choice([("1",), ("1", "2"), ()])),
}


@pytest.fixture
def acme(directory: Directory, tenant: str) -> str:
    return make_acme(directory, tenant)


def _any_update(rng: random.Random) -> AttributeUpdate:
    """Any fields for any attribute id: a text for an option attribute, an unknown id, ..."""
    url = rng.choice(URLS)
    return AttributeUpdate(
        rng.choice([*GOOD, "ghost"]),
        text=rng.choice(TEXTS),
        option=rng.choice(OPTIONS),
        relation_user=rng.choice(RELATIONS),
        relation_depts=rng.choice(DEPTS),
        url_title=None if url is None else url[0],
        url_link=None if url is None else url[1],
        has_url=url is not None,
    )


def _batch(rng: random.Random) -> list[UserAttributeUpdate]:
    """Mostly valid people and values, each with some chance of one going wrong."""
    out = []
    for _ in range(rng.randint(1, 3)):
        uid = rng.choice(["u1", "u2"]) if rng.random() < 0.95 else rng.choice(["", "nobody", "x1"])
        ids = rng.sample(list(GOOD), rng.randint(0, 5))
        if rng.random() < 0.1:
            ids.append(rng.choice(ids or ["desk"]))  # an attribute twice
        attrs = [GOOD[a](rng) if rng.random() < 0.95 else _any_update(rng) for a in ids]
        if rng.random() < 0.1:
            attrs.insert(rng.randrange(len(attrs) + 1), _any_update(rng))
        out.append(UserAttributeUpdate(uid, tuple(attrs)))
    return out


def _each_value(attr_id: str) -> list[AttributeUpdate]:
    """Every candidate of every field, one field given at a time, for ``attr_id``."""
    out = [AttributeUpdate(attr_id)]
    out += [AttributeUpdate(attr_id, text=t) for t in TEXTS]
    out += [AttributeUpdate(attr_id, option=o) for o in OPTIONS]
    out += [AttributeUpdate(attr_id, relation_user=u) for u in RELATIONS]
    out += [AttributeUpdate(attr_id, relation_depts=x) for x in DEPTS]
    out += [AttributeUpdate(attr_id, url_title=u[0], url_link=u[1], has_url=True) for u in URLS if u]
    return out


def _both_ways(
    d: Directory, tenant: str, batch: list[UserAttributeUpdate]
) -> tuple[str, checks.Checked | CoreError]:
    """The per-value checks' outcome (their result or error), asserted to be the one-pass result
    where it gives one; and which way it went: "quick", "long way" (valid, not one-pass) or "refused"."""
    named_users = {u.user_id for u in batch} | {a.relation_user or "" for u in batch for a in u.attrs}
    with d.reader() as r:
        defs = {a.id: a for a in r.definitions(tenant)}
        known_users = set(r.users(tenant, sorted(named_users)))
        known_depts = set(r.depts(tenant, [1, 2, 3, 4, 5]))
    present = known_users & {u.user_id for u in batch}
    quick = checks.quick_batch(defs, batch, present, known_users, known_depts)
    try:
        slow = checks.checked_batch(defs, batch, present, known_users, known_depts)
    except CoreError as exc:
        assert quick is None, batch
        return "refused", exc
    assert quick is None or quick == slow, batch
    return ("long way" if quick is None else "quick"), slow


def test_one_pass_gives_the_per_value_checks_result_or_leaves_it_to_them(
    directory: Directory, acme: str
) -> None:
    rng = random.Random(17)
    outcomes = {"quick": 0, "long way": 0, "refused": 0}
    for _ in range(300):
        way, _ = _both_ways(directory, acme, _batch(rng))
        outcomes[way] += 1
    # Every outcome is exercised (the seed's batches: mostly quick, some refused, a few ports).
    assert min(outcomes.values()) >= 5, outcomes


def test_each_value_alone_and_among_valid_ones(directory: Directory, acme: str) -> None:
    """Every candidate value of every field, for every attribute (and an unknown one), as the only
    value of a batch and as the last of a valid batch's second person."""
    rng = random.Random(3)
    outcomes = {"quick": 0, "long way": 0, "refused": 0}
    for attr_id in [*GOOD, "ghost"]:
        for update in _each_value(attr_id):
            others = tuple(GOOD[a](rng) for a in GOOD if a != attr_id)
            for batch in (
                [UserAttributeUpdate("u1", (update,))],
                [
                    UserAttributeUpdate("u2", tuple(GOOD[a](rng) for a in GOOD)),
                    UserAttributeUpdate("u1", (*others, update)),
                ],
            ):
                way, _ = _both_ways(directory, acme, batch)
                outcomes[way] += 1
    assert min(outcomes.values()) >= 5, outcomes


def test_a_batch_writes_and_refuses_as_the_per_value_checks_say(directory: Directory, acme: str) -> None:
    """Through the service: a batch the checks refuse raises their error and changes nothing; one
    they pass is written and reads back as checked."""
    rng = random.Random(7)
    ways = set()
    for _ in range(60):
        batch = _batch(rng)
        way, outcome = _both_ways(directory, acme, batch)
        ways.add(way)
        if isinstance(outcome, CoreError):
            before = store_rows(directory)
            with pytest.raises(CoreError) as got:
                attributes.write_values(directory, tenant_id=acme, updates=batch)
            assert (type(got.value), got.value.field, got.value.message) == (
                type(outcome),
                outcome.field,
                outcome.message,
            )
            assert store_rows(directory) == before
            continue
        written = attributes.write_values(directory, tenant_id=acme, updates=batch).values()
        with directory.reader() as r:
            read = attributes.read_values(r, tenant_id=acme, user_ids=[u.user_id for u in batch])
        assert written == read
        assert isinstance(outcome, tuple)
        writes, clears = outcome
        for uid, v in writes:
            assert v in read[uid]
        for uid, attr_id in clears:
            assert all(v.attr_id != attr_id for v in read[uid])
    assert ways == {"quick", "long way", "refused"}


def test_values_are_stored_as_the_texts_stores_already_hold() -> None:
    """The stored text of each kind of value, as stores written before hold it (a text as a JSON
    string, departments as a list, a link as ``{"title", "link"}`` in that order): unchanged values
    are skipped and deletes matched by comparing these texts."""
    values: list[AttributeValueData] = [
        "2F-001",
        "",
        'a "quoted" \\ \u2028 工位',
        (),
        (1,),
        (2, 1, 10**18 - 1),
        UrlValue(title="主页", link="https://wiki.example.com/u1"),
        UrlValue(title="", link='https://x.example/"\\'),
    ]
    stored = [
        '"2F-001"',
        '""',
        '"a \\"quoted\\" \\\\ \u2028 工位"',
        "[]",
        "[1]",
        "[2,1,999999999999999999]",
        '{"title":"主页","link":"https://wiki.example.com/u1"}',
        '{"title":"","link":"https://x.example/\\"\\\\"}',
    ]
    assert stored_attrs.encode_values(values) == stored
    assert [stored_attrs.encode_value(v) for v in values] == stored
