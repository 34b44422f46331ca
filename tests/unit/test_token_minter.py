"""WPS bearer tokens (secrets.TokenMinter): what is remembered of a genuine token, and nothing else."""

from __future__ import annotations

import pytest

from openroster.core.runtime.secrets import TokenMinter
from openroster.model.errors import AuthError


def test_a_genuine_token_opens_and_is_remembered_a_forged_one_never() -> None:
    minter = TokenMinter(b"k" * 32, prefix="")
    token = minter.mint(client_id="acme", secret_version=3, expires_at=1_900_000_000)
    assert minter.open(token) == ("acme", 3, 1_900_000_000)
    assert minter.open(token) == ("acme", 3, 1_900_000_000)  # from memory
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
