"""Reading a request body under the documented size limit, for every dialect."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request

from openroster.core.runtime import limits
from openroster.dialects.raw import header


async def read_limited_body(request: Request, too_large: Callable[[str], Exception]) -> bytes:
    """The whole body, refusing (``too_large(message)``) one over ``limits.BODY_MAX_BYTES``.

    A declared Content-Length over the limit is refused before anything is read;
    a body that grows past it while streaming is refused at that chunk.
    """
    message = f"request body is larger than {limits.BODY_MAX_BYTES} bytes"
    # The raw header, as starlette's ``Headers`` would give it (the first one), without making one.
    declared = header(request.scope["headers"], b"content-length")
    # ASCII digits only: "²".isdigit() is true, but int("²") raises
    if (
        declared is not None
        and declared.isascii()
        and declared.isdigit()
        and int(declared) > limits.BODY_MAX_BYTES
    ):
        raise too_large(message)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limits.BODY_MAX_BYTES:
            raise too_large(message)
        chunks.append(chunk)
    body = b"".join(chunks)
    request._body = body  # so later readers see the same bytes
    return body
