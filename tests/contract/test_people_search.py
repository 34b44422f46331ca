"""People search on both backends: a name by its start (range seek on ``ix_users_name``, keyset pages
by name then id) and the whole-value fields (core.people.search over the store's indexed queries)."""

from __future__ import annotations

import pytest

from openroster.core.directory import Directory
from openroster.core.people import search, users
from openroster.core.tenancy import tenants
from openroster.model.entities import UserStatus

NAMES = ["Ann", "Anna", "Annabel", "Anne", "Ann", "Bob", "an", "Ánn", "安娜", "安妮", "安", "\U0010ffff", "Z"]


@pytest.fixture
def acme(directory: Directory) -> str:
    tenants.create(directory, tenant_id="acme", name="Acme")
    users.create_many(
        directory,
        tenant_id="acme",
        items=[
            users.NewUser(
                id=f"u{i:02d}",
                user_name=name,
                dept_ids=(1,),
                email=f"p{i}@acme.test",
                status="disabled" if name == "Anne" else "active",
            )
            for i, name in enumerate(NAMES)
        ],
        field_prefix="",
    )
    tenants.create(directory, tenant_id="globex", name="Globex")
    users.create(
        directory, tenant_id="globex", item=users.NewUser(id="g1", user_name="Annika", dept_ids=(1,))
    )
    return "acme"


def _prefix_pages(d: Directory, prefix: str, size: int, statuses: set[str]) -> list[list[tuple[str, str]]]:
    pages: list[list[tuple[str, str]]] = []
    after: tuple[str, str] | None = None
    with d.reader() as r:
        while True:
            page = r.tx.users.name_prefix_page("acme", prefix, statuses=statuses, after=after, limit=size)
            if not page:
                return pages
            pages.append(page)
            after = page[-1]


def test_a_name_prefix_walks_every_match_once_in_name_then_id_order(directory: Directory, acme: str) -> None:
    every = {s.value for s in UserStatus}
    expected = sorted((n, f"u{i:02d}") for i, n in enumerate(NAMES) if n.startswith("Ann"))
    for size in (1, 2, 10):
        pages = _prefix_pages(directory, "Ann", size, every)
        assert [pair for page in pages for pair in page] == expected
        assert all(len(page) <= size for page in pages)
    found = [pair for page in _prefix_pages(directory, "安", 10, every) for pair in page]
    assert found == sorted((n, f"u{i:02d}") for i, n in enumerate(NAMES) if n.startswith("安"))
    assert [p for page in _prefix_pages(directory, "\U0010ffff", 10, every) for p in page] == [
        ("\U0010ffff", "u11")
    ]
    active_only = [name for page in _prefix_pages(directory, "Ann", 10, {"active"}) for name, _ in page]
    assert "Anne" not in active_only and "Annabel" in active_only
    assert _prefix_pages(directory, "Annika", 10, every) == []  # another tenant's


def test_search_puts_whole_value_matches_first_then_names(directory: Directory, acme: str) -> None:
    with directory.reader() as r:

        def names(text: str, statuses: tuple[UserStatus, ...] = tuple(UserStatus)) -> list[str]:
            page = search.search(r, tenant_id="acme", text=text, statuses=statuses, size=50, after=None)
            return [u.id for u in page.items]

        assert names("P5@ACME.test") == ["u05"]
        assert names("u06") == ["u06"]
        assert names("  Anna ") == ["u01", "u02"]
        assert names("Anne", (UserStatus.ACTIVE,)) == []
        assert names("") == []
        first = search.search(r, tenant_id="acme", text="Ann", statuses=list(UserStatus), size=2, after=None)
        assert [u.user_name for u in first.items] == ["Ann", "Ann"] and first.after is not None
        rest = search.search(
            r, tenant_id="acme", text="Ann", statuses=list(UserStatus), size=50, after=first.after
        )
        assert [u.user_name for u in rest.items] == ["Anna", "Annabel", "Anne"] and rest.after is None
