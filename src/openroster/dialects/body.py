"""Reading a request body under the documented size limit, for every dialect."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import ClientDisconnect, Request

from openroster.core.runtime import limits


async def read_limited_body(request: Request, too_large: Callable[[str], Exception]) -> bytes:
    """The whole body, refusing (``too_large(message)``) one over ``limits.BODY_MAX_BYTES``.

    A declared Content-Length over the limit is refused before anything is read;
    a body that grows past it while streaming is refused at that chunk. The messages are taken
    from the server as starlette's ``Request.stream`` takes them, without its async generator
    (a body read already, by another reader, is read through it still).
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limits.BODY_MAX_BYTES:
        raise too_large(_too_large())
    chunks: list[bytes] = []
    size = 0
    if "_body" in request.__dict__ or request._stream_consumed:
        async for chunk in request.stream():
            size = _add(chunks, chunk, size, too_large)
    else:
        receive = request.receive
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.request":
                size = _add(chunks, message.get("body", b""), size, too_large)
                more = message.get("more_body", False)
            elif message["type"] == "http.disconnect":
                request._is_disconnected = True
                raise ClientDisconnect()
        request._stream_consumed = True
    body = b"".join(chunks)
    request._body = body  # so later readers see the same bytes
    return body


def _add(chunks: list[bytes], chunk: bytes, size: int, too_large: Callable[[str], Exception]) -> int:
    if not chunk:
        return size
    size += len(chunk)
    if size > limits.BODY_MAX_BYTES:
        raise too_large(_too_large())
    chunks.append(chunk)
    return size


def _too_large() -> str:
    return f"request body is larger than {limits.BODY_MAX_BYTES} bytes"
