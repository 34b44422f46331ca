"""Custom attributes against a real store: definitions, value checks per type, atomic batches."""

from __future__ import annotations

import pytest
from attr_support import make_acme
from store_state import store_rows

from openroster.core.custom import attributes
from openroster.core.directory import Directory
from openroster.core.runtime import limits
from openroster.model.entities import (
    AttributeUpdate,
    AttributeValue,
    UrlValue,
    UserAttributeUpdate,
    ValueType,
)
from openroster.model.errors import (
    AttributeValueMismatch,
    BrokenReference,
    Conflict,
    CoreError,
    InvalidValue,
    MissingField,
    NotFound,
    TooMany,
    UnknownAttribute,
)


@pytest.fixture
def acme(directory: Directory, tenant: str) -> str:
    return make_acme(directory, tenant)


def _set(d: Directory, tenant_id: str, *updates: tuple[str, tuple[AttributeUpdate, ...]]) -> list[str]:
    return attributes.update_values(
        d, tenant_id=tenant_id, updates=[UserAttributeUpdate(user_id=u, attrs=a) for u, a in updates]
    )


def _values(d: Directory, tenant_id: str, *user_ids: str) -> dict[str, list[AttributeValue]]:
    with d.reader() as r:
        return attributes.read_values(r, tenant_id=tenant_id, user_ids=list(user_ids))


def _refused(d: Directory, exc: type[CoreError], field: str, tenant_id: str, *updates: object) -> CoreError:
    before = store_rows(d)
    with pytest.raises(exc) as info:
        _set(d, tenant_id, *updates)  # type: ignore[arg-type]
    assert info.value.field == field, info.value.message
    assert info.value.message.startswith(field), info.value.message
    assert store_rows(d) == before
    return info.value


EVERY_TYPE = (
    AttributeUpdate(attr_id="desk", text="3F-001"),
    AttributeUpdate(attr_id="level", option="P2"),
    AttributeUpdate(attr_id="home", url_title="Wiki", url_link="https://wiki.example.com/u1", has_url=True),
    AttributeUpdate(attr_id="mentor", relation_user="u2"),
    AttributeUpdate(attr_id="partners", relation_depts=("2", "1", "2")),
)


def test_definitions_round_trip(directory: Directory, acme: str) -> None:
    with directory.reader() as r:
        defs = attributes.definitions(r, tenant_id=acme)
    assert [(a.id, a.name, a.value_type) for a in defs] == [
        ("desk", "工位", ValueType.TEXT),
        ("level", "职级", ValueType.OPTION),
        ("home", "主页", ValueType.URL),
        ("mentor", "导师", ValueType.RELATION_USER),
        ("partners", "协作部门", ValueType.RELATION_DEPTS),
    ]
    assert [(o.key, o.name) for o in defs[1].options] == [("P1", "一级"), ("P2", "二级")]
    with directory.reader() as r:
        assert attributes.definitions(r, tenant_id="other") == []


def test_generated_ids_and_option_keys(directory: Directory, tenant: str) -> None:
    [made] = attributes.create_definitions(
        directory,
        tenant_id=tenant,
        items=[attributes.NewDefinition(name="Shirt", value_type="option", options=((None, "S"), ("", "M")))],
    )
    assert len(made.id) == 16
    assert len({o.key for o in made.options}) == 2 and all(made.option_keys())


@pytest.mark.parametrize(
    ("item", "exc", "field"),
    [
        (attributes.NewDefinition(name="", value_type="text"), MissingField, "items[0].name"),
        (attributes.NewDefinition(name="工位", value_type="text"), Conflict, "items[0].name"),
        (attributes.NewDefinition(name="n", value_type="number"), InvalidValue, "items[0].value_type"),
        (attributes.NewDefinition(name="n", value_type="option"), MissingField, "items[0].options"),
        (
            attributes.NewDefinition(name="n", value_type="text", options=(("a", "A"),)),
            InvalidValue,
            "items[0].options",
        ),
        (
            attributes.NewDefinition(name="n", value_type="option", options=(("a", "A"), ("a", "B"))),
            Conflict,
            "items[0].options[1].key",
        ),
        (
            attributes.NewDefinition(name="n", value_type="option", options=(("a", ""),)),
            MissingField,
            "items[0].options[0].name",
        ),
        (attributes.NewDefinition(id="desk", name="n", value_type="text"), Conflict, "items[0].id"),
    ],
)
def test_bad_definitions_are_refused(
    directory: Directory, acme: str, item: attributes.NewDefinition, exc: type[CoreError], field: str
) -> None:
    before = store_rows(directory)
    with pytest.raises(exc) as info:
        attributes.create_definitions(directory, tenant_id=acme, items=[item])
    assert info.value.field == field
    assert info.value.message.startswith(field)
    assert store_rows(directory) == before


def test_definition_batches_are_all_or_nothing(directory: Directory, acme: str) -> None:
    before = store_rows(directory)
    with pytest.raises(Conflict) as info:
        attributes.create_definitions(
            directory,
            tenant_id=acme,
            items=[
                attributes.NewDefinition(name="a", value_type="text"),
                attributes.NewDefinition(name="a", value_type="url"),
            ],
        )
    assert info.value.field == "items[1].name"
    assert store_rows(directory) == before
    with pytest.raises(TooMany):
        attributes.create_definitions(
            directory,
            tenant_id=acme,
            items=[attributes.NewDefinition(name=f"n{i}", value_type="text") for i in range(51)],
        )
    assert store_rows(directory) == before


def test_every_value_type_round_trips(directory: Directory, acme: str) -> None:
    assert _set(directory, acme, ("u1", EVERY_TYPE)) == ["u1"]
    assert _values(directory, acme, "u1", "u2", "nobody") == {
        "u1": [
            AttributeValue("desk", "3F-001"),
            AttributeValue("level", "P2"),
            AttributeValue("home", UrlValue(title="Wiki", link="https://wiki.example.com/u1")),
            AttributeValue("mentor", "u2"),
            AttributeValue("partners", (2, 1)),  # duplicates dropped, order kept
        ],
        "u2": [],
    }


def test_only_the_field_of_the_value_type_is_read(directory: Directory, acme: str) -> None:
    """Seed 000's example sends every value field; the definition picks the one that counts."""
    noisy = {
        "text": "string",
        "option": "string",
        "relation_user": "string",
        "relation_depts": ("string",),
        "url_title": "string",
        "url_link": "string",
        "has_url": True,
    }
    _set(directory, acme, ("u1", (AttributeUpdate(attr_id="desk", **noisy),)))  # type: ignore[arg-type]
    assert _values(directory, acme, "u1")["u1"] == [AttributeValue("desk", "string")]
    _set(directory, acme, ("u1", (AttributeUpdate(attr_id="level", **(noisy | {"option": "P1"})),)))  # type: ignore[arg-type]
    assert _values(directory, acme, "u1")["u1"][1] == AttributeValue("level", "P1")


def test_empty_values_clear(directory: Directory, acme: str) -> None:
    _set(directory, acme, ("u1", EVERY_TYPE))
    _set(
        directory,
        acme,
        (
            "u1",
            (
                AttributeUpdate(attr_id="desk", text=""),
                AttributeUpdate(attr_id="level", option=""),
                AttributeUpdate(attr_id="home", url_link="", has_url=True),
                AttributeUpdate(attr_id="mentor", relation_user=""),
                AttributeUpdate(attr_id="partners", relation_depts=()),
            ),
        ),
    )
    assert _values(directory, acme, "u1") == {"u1": []}


@pytest.mark.parametrize(
    ("update", "exc", "field"),
    [
        # text
        (AttributeUpdate(attr_id="desk"), MissingField, "text"),
        (
            AttributeUpdate(attr_id="desk", text="x" * (limits.ATTR_TEXT_MAX + 1)),
            AttributeValueMismatch,
            "text",
        ),
        # option
        (AttributeUpdate(attr_id="level"), MissingField, "option"),
        (AttributeUpdate(attr_id="level", option="P9"), AttributeValueMismatch, "option"),
        (
            AttributeUpdate(attr_id="level", option="一级"),
            AttributeValueMismatch,
            "option",
        ),  # a name, not a key
        # url
        (AttributeUpdate(attr_id="home"), MissingField, "url"),
        (
            AttributeUpdate(attr_id="home", url_link="wiki/u1", has_url=True),
            AttributeValueMismatch,
            "url.link",
        ),
        (
            AttributeUpdate(attr_id="home", url_link="javascript:alert(1)", has_url=True),
            AttributeValueMismatch,
            "url.link",
        ),
        (
            AttributeUpdate(attr_id="home", url_link="https://", has_url=True),
            AttributeValueMismatch,
            "url.link",
        ),
        (
            AttributeUpdate(attr_id="home", url_link="https://x.com/" + "a" * 2048, has_url=True),
            AttributeValueMismatch,
            "url.link",
        ),
        (
            AttributeUpdate(attr_id="home", url_link="https://x.com", url_title="t" * 201, has_url=True),
            AttributeValueMismatch,
            "url.title",
        ),
        # relation_user
        (AttributeUpdate(attr_id="mentor"), MissingField, "relation_user"),
        (AttributeUpdate(attr_id="mentor", relation_user="nobody"), BrokenReference, "relation_user"),
        (
            AttributeUpdate(attr_id="mentor", relation_user="x1"),
            BrokenReference,
            "relation_user",
        ),  # other tenant
        # relation_depts
        (AttributeUpdate(attr_id="partners"), MissingField, "relation_depts"),
        (
            AttributeUpdate(attr_id="partners", relation_depts=("1", "4")),
            BrokenReference,
            "relation_depts[1]",
        ),
        (AttributeUpdate(attr_id="partners", relation_depts=("sales",)), InvalidValue, "relation_depts[0]"),
        (AttributeUpdate(attr_id="partners", relation_depts=("0",)), InvalidValue, "relation_depts[0]"),
        (AttributeUpdate(attr_id="partners", relation_depts=("-2",)), InvalidValue, "relation_depts[0]"),
        (
            AttributeUpdate(attr_id="partners", relation_depts=("1",) * (limits.ATTR_RELATION_DEPTS_MAX + 1)),
            TooMany,
            "relation_depts",
        ),
        # the attribute itself
        (AttributeUpdate(attr_id="nope", text="x"), UnknownAttribute, "attr_id"),
    ],
)
def test_values_are_checked_against_their_definition(
    directory: Directory, acme: str, update: AttributeUpdate, exc: type[CoreError], field: str
) -> None:
    _set(directory, acme, ("u1", EVERY_TYPE))
    good = (
        AttributeUpdate(attr_id="level", option="P1")
        if update.attr_id == "desk"
        else AttributeUpdate(attr_id="desk", text="not kept")
    )
    _refused(
        directory,
        exc,
        f"users[1].custom_attrs[1].{field}",
        acme,
        ("u2", (AttributeUpdate(attr_id="desk", text="fine"),)),
        ("u1", (good, update)),
    )
    assert _values(directory, acme, "u1", "u2")["u2"] == []


def test_an_attribute_of_another_tenant_is_unknown(directory: Directory, acme: str) -> None:
    attributes.create_definitions(
        directory,
        tenant_id="other",
        items=[attributes.NewDefinition(id="secret", name="S", value_type="text")],
    )
    _refused(
        directory,
        UnknownAttribute,
        "users[0].custom_attrs[0].attr_id",
        acme,
        ("u1", (AttributeUpdate(attr_id="secret", text="x"),)),
    )


def test_batch_level_rules(directory: Directory, acme: str) -> None:
    one = (AttributeUpdate(attr_id="desk", text="x"),)
    _refused(directory, NotFound, "users[1].user_id", acme, ("u1", one), ("x1", one))  # other tenant's user
    _refused(directory, NotFound, "users[0].user_id", acme, ("nobody", one))
    _refused(directory, MissingField, "users[0].user_id", acme, ("", one))
    _refused(directory, InvalidValue, "users[1].user_id", acme, ("u1", one), ("u1", one))
    _refused(directory, InvalidValue, "users[0].custom_attrs[1].attr_id", acme, ("u1", one + one))
    _refused(directory, MissingField, "users", acme)
    too_many = [(f"u{i}", one) for i in range(limits.ATTR_UPDATE_USERS_MAX + 1)]
    _refused(directory, TooMany, "users", acme, *too_many)


def test_a_failing_batch_leaves_earlier_values(directory: Directory, acme: str) -> None:
    _set(directory, acme, ("u1", EVERY_TYPE))
    before = _values(directory, acme, "u1", "u2")
    _refused(
        directory,
        AttributeValueMismatch,
        "users[1].custom_attrs[0].option",
        acme,
        (
            "u1",
            (
                AttributeUpdate(attr_id="desk", text="changed"),
                AttributeUpdate(attr_id="mentor", relation_user=""),
            ),
        ),
        ("u2", (AttributeUpdate(attr_id="level", option="P3"),)),
    )
    assert _values(directory, acme, "u1", "u2") == before


def test_read_values_limit(directory: Directory, acme: str) -> None:
    with directory.reader() as r, pytest.raises(TooMany) as info:
        attributes.read_values(
            r, tenant_id=acme, user_ids=[f"u{i}" for i in range(limits.ATTR_READ_USERS_MAX + 1)]
        )
    assert info.value.field == "user_ids"
    assert str(limits.ATTR_READ_USERS_MAX) in info.value.message
