"""WPS bearer tokens (secrets.TokenMinter): what is remembered of a genuine token, and nothing else."""

from __future__ import annotations

import base64

import pytest

from openroster.core.runtime.secrets import TokenMinter
from openroster.model.errors import AuthError


def test_a_genuine_token_opens_and_is_remembered_a_forged_one_never() -> None:
    minter = TokenMinter(b"k" * 32, prefix="")
    token = minter.mint(client_id="acme", secret_version=3, expires_at=1_900_000_000)
    assert minter.open(token) == ("acme", 3, 1_900_000_000, None)
    assert minter.open(token) == ("acme", 3, 1_900_000_000, None)  # from memory
    body, _, mac = token.rpartition(".")
    for forged in (
        body + "." + mac[:-1] + ("A" if mac[-1] != "A" else "B"),
        body[:-1] + "." + mac,
        "x.y",
        "",
    ):
        for _ in range(2):  # refused again: a refusal is not remembered
            with pytest.raises(AuthError):
                minter.open(forged)
    other = TokenMinter(b"o" * 32, prefix="")
    with pytest.raises(AuthError):
        other.open(token)  # another key's minter does not share the memory


def test_the_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    minter = TokenMinter(b"k" * 32, prefix="")
    tokens = [minter.mint(client_id=f"app{i}", secret_version=1, expires_at=1) for i in range(20)]
    monkeypatch.setattr(TokenMinter, "OPENED_MAX", 8)
    for t in tokens:
        minter.open(t)
        assert len(minter._opened) <= 8
    assert minter.open(tokens[0])[0] == "app0"


def test_a_narrowed_token_carries_its_scopes_and_they_are_covered_by_the_mac() -> None:
    minter = TokenMinter(b"k" * 32, prefix="")
    scopes = frozenset({"kso.contact.read", "kso.user_email.read"})
    token = minter.mint(client_id="acme", secret_version=1, expires_at=1_900_000_000, scopes=scopes)
    assert minter.open(token) == ("acme", 1, 1_900_000_000, scopes)
    mac = token.rpartition(".")[2]
    widened = (
        base64.urlsafe_b64encode(b"acme|1|1900000000|00000000|kso.contact.readwrite").decode().rstrip("=")
    )
    with pytest.raises(AuthError):
        minter.open(f"{widened}.{mac}")
