"""Tables that grow while they are open (the journal's calls, a tenant's change records): server-sent
events, each a new row rendered by the server (so user data is escaped in one place).

A stream polls for rows after the last one it sent and ends after :data:`STREAM_SECONDS`, when
the browser reconnects with the id of the last row it has (``Last-Event-ID``); a server stopping
therefore never waits long for an open page. ``static/journal.js`` puts the rows in their table.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

from starlette.requests import Request
from starlette.responses import StreamingResponse

#: How often a stream looks for new rows, and how long one stream lasts before the browser reconnects.
POLL_SECONDS = 0.25
STREAM_SECONDS = 15.0
#: What the browser waits before reconnecting (the SSE ``retry`` field), in milliseconds.
RETRY_MS = 500

#: ``rows_after(after)``: ``(id, row html)`` of the rows after the id ``after``, oldest first.
RowsAfter = Callable[[int], list[tuple[int, str]]]


def stream(request: Request, rows_after: RowsAfter) -> StreamingResponse:
    """Server-sent events: each new row as an ``entry`` event, from the id the browser last had
    (``Last-Event-ID``, else the ``after`` query parameter)."""
    resume = request.headers.get("last-event-id") or request.query_params.get("after", "")
    start = int(resume) if resume.isdigit() and len(resume) <= 18 else 0
    return StreamingResponse(
        _events(request, rows_after, start),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _events(request: Request, rows_after: RowsAfter, after: int) -> AsyncIterator[bytes]:
    yield f"retry: {RETRY_MS}\n\n".encode()
    ends = time.monotonic() + STREAM_SECONDS
    while time.monotonic() < ends and not await request.is_disconnected():
        for row_id, html in rows_after(after):
            after = max(after, row_id)
            yield f"id: {row_id}\nevent: entry\ndata: {html.replace(chr(10), ' ')}\n\n".encode()
        await asyncio.sleep(POLL_SECONDS)
