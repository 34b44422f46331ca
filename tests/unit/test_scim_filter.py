"""The SCIM filter parser and its evaluation, on the examples of RFC 7644 §3.4.2.2 and its grammar's
corners (precedence, grouping, value paths, case rules, errors)."""

from __future__ import annotations

from typing import Any

import pytest

from openroster.dialects.scim.errors import ScimError
from openroster.dialects.scim.filter import (
    AttrPath,
    Compare,
    Logic,
    Not,
    ValuePath,
    matches,
    parse,
    parse_path,
)

USER = "urn:ietf:params:scim:schemas:core:2.0:User"

BJENSEN: dict[str, Any] = {
    "schemas": [USER],
    "id": "2819c223",
    "userName": "bjensen",
    "externalId": "BJ-1",
    "name": {"formatted": "Barbara Jensen", "familyName": "O'Malley"},
    "title": "Tour Guide",
    "userType": "Employee",
    "active": True,
    "emails": [
        {"value": "bjensen@example.com", "type": "work", "primary": True},
        {"value": "babs@jensen.org", "type": "home"},
    ],
    "meta": {"lastModified": "2011-05-13T04:42:34Z"},
}

#: RFC 7644 §3.4.2.2's example filters, and whether Barbara Jensen matches each.
RFC_EXAMPLES = [
    ('userName eq "bjensen"', True),
    ('name.familyName co "O\'Malley"', True),
    ('userName sw "J"', False),
    ('urn:ietf:params:scim:schemas:core:2.0:User:userName sw "B"', True),
    ("title pr", True),
    ('meta.lastModified gt "2011-05-13T04:42:34Z"', False),
    ('meta.lastModified ge "2011-05-13T04:42:34Z"', True),
    ('meta.lastModified lt "2011-05-13T04:42:34Z"', False),
    ('meta.lastModified le "2011-05-13T04:42:34Z"', True),
    ('title pr and userType eq "Employee"', True),
    ('title pr or userType eq "Intern"', True),
    ('userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")', True),
    ('userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")', False),
    ('userType eq "Employee" and (emails.type eq "work")', True),
    ('userType eq "Employee" and emails[type eq "work" and value co "@example.com"]', True),
    (
        'emails[type eq "work" and value co "@example.org"] or ims[type eq "xmpp" and value co "@foo.com"]',
        False,
    ),
]


@pytest.mark.parametrize(("text", "hit"), RFC_EXAMPLES)
def test_the_rfc_examples(text: str, hit: bool) -> None:
    assert matches(parse(text), BJENSEN) is hit


def test_and_binds_tighter_than_or_and_not_groups() -> None:
    a, b, c = (Compare(AttrPath(USER, n), "eq", "1") for n in "abc")
    assert parse('a eq "1" or b eq "1" and c eq "1"') == Logic("or", a, Logic("and", b, c))
    assert parse('(a eq "1" or b eq "1") and c eq "1"') == Logic("and", Logic("or", a, b), c)
    assert parse('not (a eq "1") AND c eq "1"') == Logic("and", Not(a), c)
    assert parse("a pr") == Compare(AttrPath(USER, "a"), "pr")
    assert parse("a eq 12") == Compare(AttrPath(USER, "a"), "eq", 12)
    assert parse("a eq null") == Compare(AttrPath(USER, "a"), "eq", None)
    assert parse('emails[type eq "work"]') == ValuePath(
        AttrPath(USER, "emails"), Compare(AttrPath(USER, "type"), "eq", "work")
    )


def test_case_rules_follow_the_schema() -> None:
    assert matches(parse('USERNAME EQ "BJENSEN"'), BJENSEN)  # names and operators any case; caseExact false
    assert not matches(parse('externalId eq "bj-1"'), BJENSEN)  # caseExact true
    assert matches(parse('id eq "2819c223"'), BJENSEN)
    assert not matches(parse('id eq "2819C223"'), BJENSEN)
    assert matches(parse("active eq true"), BJENSEN)


@pytest.mark.parametrize(
    "text",
    [
        "userName eq",
        'userName zz "x"',
        '(userName eq "x"',
        'userName eq "x")',
        "userName eq bjensen",
        'emails[type eq "work"',
        'emails[value[type eq "x"]]',
        'urn:nope:userName eq "x"',
        '"x" eq userName',
        'userName eq "x" and',
    ],
)
def test_what_is_no_filter_is_invalid_filter(text: str) -> None:
    with pytest.raises(ScimError) as caught:
        parse(text)
    assert (caught.value.status, caught.value.scim_type) == (400, "invalidFilter")


def test_operators_that_do_not_apply_are_refused() -> None:
    for text in ("active gt true", 'active co "t"'):
        with pytest.raises(ScimError) as caught:
            matches(parse(text), BJENSEN)
        assert caught.value.scim_type == "invalidFilter"


def test_patch_paths() -> None:
    p = parse_path('emails[type eq "work"].value')
    assert (p.path.name, p.sub) == ("emails", "value")
    assert p.where == Compare(AttrPath(USER, "type"), "eq", "work")
    assert parse_path("name.givenName").path == AttrPath(USER, "name", "givenName")
    with pytest.raises(ScimError) as caught:
        parse_path('emails[type eq "work"')
    assert caught.value.scim_type == "invalidPath"
