"""Reading a request body: a declared Content-Length that is no ASCII number is not read as one."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.requests import Request

from openroster.core.runtime import limits
from openroster.dialects.body import read_limited_body


class _TooLarge(Exception):
    pass


def _read(content_length: bytes, chunks: list[bytes]) -> bytes:
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": chunk, "more_body": n < len(chunks) - 1}
        for n, chunk in enumerate(chunks)
    ]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    scope: Any = {"type": "http", "method": "POST", "headers": [(b"content-length", content_length)]}
    return asyncio.run(read_limited_body(Request(scope, receive), _TooLarge))


@pytest.mark.parametrize("declared", ["²".encode("latin-1"), "¹²".encode("latin-1"), b"12a", b""])
def test_a_content_length_of_no_ascii_digits_is_not_taken_as_a_number(declared: bytes) -> None:
    # "²".isdigit() is true but int("²") raises: such a header must not fail the request
    assert _read(declared, [b'{"a":', b"1}"]) == b'{"a":1}'


def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    with pytest.raises(_TooLarge):
        _read(b"%d" % (limits.BODY_MAX_BYTES + 1), [b"{}"])


def test_a_body_growing_past_the_limit_is_refused() -> None:
    with pytest.raises(_TooLarge):
        _read(b"2", [b"x" * limits.BODY_MAX_BYTES, b"x"])
