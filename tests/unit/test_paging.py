"""Page tokens and page sizes (core/runtime/paging.py)."""

from __future__ import annotations

import pytest

from openroster.core.runtime import limits
from openroster.core.runtime.paging import PageTokens, expect, page_size
from openroster.model.errors import InvalidValue

SCOPE = ["wps", "acme", "users", "status=active"]


def test_a_token_round_trips_and_is_opaque_text() -> None:
    tokens = PageTokens(b"k" * 32)
    token = tokens.issue(SCOPE, ("u00042",))
    assert tokens.open(token, SCOPE) == ("u00042",)
    assert token.isascii() and " " not in token and "=" not in token
    assert tokens.open(tokens.issue(SCOPE, (3, 17)), SCOPE) == (3, 17)


def test_every_altered_character_is_noticed() -> None:
    tokens = PageTokens(b"k" * 32)
    token = tokens.issue(SCOPE, ("u00042",))
    for i, ch in enumerate(token):
        for other in {"A", "b", "9", "-", "_"} - {ch}:
            forged = token[:i] + other + token[i + 1 :]
            with pytest.raises(InvalidValue) as info:
                tokens.open(forged, SCOPE)
            assert info.value.field == "page_token"
            assert "not a token this server issued" in info.value.message


@pytest.mark.parametrize(
    "scope",
    [
        ["wps", "globex", "users", "status=active"],  # another tenant
        ["wps", "acme", "members", "status=active"],  # another endpoint
        ["wps", "acme", "users", "status=active,disabled"],  # another filter
        ["wps", "acme", "users"],
    ],
)
def test_a_token_is_bound_to_its_listing(scope: list[str]) -> None:
    tokens = PageTokens(b"k" * 32)
    token = tokens.issue(SCOPE, ("u1",))
    with pytest.raises(InvalidValue) as info:
        tokens.open(token, scope)
    assert "another listing" in info.value.message


def test_another_key_does_not_accept_it() -> None:
    token = PageTokens(b"k" * 32).issue(SCOPE, ("u1",))
    with pytest.raises(InvalidValue, match="not a token this server issued"):
        PageTokens(b"j" * 32).open(token, SCOPE)


@pytest.mark.parametrize("junk", ["", ".", "abc", "a.b.c", "x" * 600, "é.é", "eyJ2IjoxfQ.AAAA"])
def test_junk_is_refused(junk: str) -> None:
    with pytest.raises(InvalidValue):
        PageTokens(b"k" * 32).open(junk, SCOPE)


def test_page_size_bounds() -> None:
    assert page_size(None) == limits.PAGE_SIZE_DEFAULT == 10
    assert page_size(1) == 1 and page_size(limits.PAGE_SIZE_MAX) == 50
    for bad in (0, -1, 51):
        with pytest.raises(InvalidValue, match="page_size"):
            page_size(bad)


def test_expect_checks_the_shape_of_a_position() -> None:
    assert expect(None, (str,)) is None
    assert expect(("a",), (str,)) == ("a",)
    assert expect((1, 2), (int, int)) == (1, 2)
    for position, shape in ((("a", "b"), (str,)), ((1,), (str,)), (("1",), (int,)), ((True,), (int,))):
        with pytest.raises(InvalidValue, match="does not fit"):
            expect(position, shape)
