"""The engine's HTTP client: one POST per event over kept-alive HTTP/1.1 connections.

An event is one small POST and one small reply, to a handful of receivers, a few hundred or
thousand times a second. A general client (httpx) spent more of the server's CPU on each
attempt than the rest of the engine together (its pool looks at every connection for every
request), and that CPU is the writes' (docs/benchmarks.md, "Change events"). This one keeps up
to ``PER_ORIGIN`` open connections per receiver (scheme, host, port), sends the request in one
write and reads the reply by ``Content-Length``, chunks, or until the receiver closes.

- A kept connection the receiver closed meanwhile fails before any reply byte: the request is
  sent again once on a fresh connection (as httpx does).
- The whole exchange (connecting included) must finish within the channel's timeout.
- A reply's body is read up to ``MAX_REPLY`` bytes (a receiver's reply is a word or a small JSON
  object); a longer one fails the attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

#: Connections kept open to one receiver at most (and requests in flight to it at once).
PER_ORIGIN = 8
#: Attempts under way to one receiver at most, however many subscriptions share it (the engine
#: claims no more for it): those waiting for one of its ``PER_ORIGIN`` connections must still be
#: sent well within their lease (30 s). Five rounds of WPS's 3 s per connection is 15 s.
UNDER_WAY_PER_ORIGIN = 5 * PER_ORIGIN
#: The longest reply head and body read.
MAX_HEAD = 64 * 1024
MAX_REPLY = 1024 * 1024

Origin = tuple[str, str, int]


class SendError(Exception):
    """The attempt got no valid HTTP reply (refused, reset, closed early, malformed)."""


@dataclass(slots=True)
class _Conn:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


@dataclass(slots=True)
class _Pool:
    slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(PER_ORIGIN))
    idle: list[_Conn] = field(default_factory=list)


@functools.lru_cache(maxsize=1024)
def origin_of(url: str) -> Origin | None:
    """The receiver ``url`` names, as the sender keeps its connections: ``(scheme, host, port)``
    (None: not an http(s) URL)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return (parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80))


class Sender:
    """POSTs to receivers (see module). Use on one event loop; :meth:`aclose` when done."""

    def __init__(self) -> None:
        self._pools: dict[Origin, _Pool] = {}
        self._tls: ssl.SSLContext | None = None

    async def post(
        self, url: str, query: Mapping[str, str], content: bytes, *, answer_within: float
    ) -> tuple[int, bytes]:
        """``(status, body)`` of the reply; raises :class:`SendError` or ``TimeoutError``."""
        parts = urlsplit(url)
        origin = origin_of(url)
        if origin is None:
            raise SendError(f"not an http(s) URL: {url!r}")
        target = parts.path or "/"
        extra = urlencode(dict(query))
        if parts.query or extra:
            target += "?" + "&".join(q for q in (parts.query, extra) if q)
        host = parts.netloc.rsplit("@", 1)[-1]
        head = (
            f"POST {target} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: openroster\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(content)}\r\n\r\n"
        )
        request = head.encode("latin-1") + content
        pool = self._pools.setdefault(origin, _Pool())
        async with pool.slots:  # waiting for a free connection is not the receiver's time
            async with asyncio.timeout(answer_within):
                while pool.idle:
                    conn = pool.idle.pop()
                    try:
                        return await self._exchange(pool, conn, request)
                    except _Stale:
                        continue
                return await self._exchange(pool, await self._connect(origin), request, fresh=True)

    async def _connect(self, origin: Origin) -> _Conn:
        scheme, host, port = origin
        tls = None
        if scheme == "https":
            if self._tls is None:
                self._tls = ssl.create_default_context()
            tls = self._tls
        try:
            reader, writer = await asyncio.open_connection(host, port, ssl=tls, limit=MAX_HEAD)
        except OSError as exc:
            raise SendError(f"ConnectError: {exc}") from exc
        return _Conn(reader, writer)

    async def _exchange(
        self, pool: _Pool, conn: _Conn, request: bytes, *, fresh: bool = False
    ) -> tuple[int, bytes]:
        """Send ``request`` on ``conn`` and read the reply; the connection goes back to the pool
        if both sides keep it. On a kept connection, a failure before any reply byte is
        :class:`_Stale` (try another)."""
        keep = False
        try:
            try:
                conn.writer.write(request)
                await conn.writer.drain()
                line = await conn.reader.readline()
            except (OSError, asyncio.IncompleteReadError) as exc:
                if not fresh:
                    raise _Stale from exc
                raise SendError(f"{type(exc).__name__}: {exc}") from exc
            if not line:
                if not fresh:
                    raise _Stale
                raise SendError("the receiver closed the connection without a reply")
            status, keep, body = await _reply(line, conn.reader)
            return status, body
        except (ValueError, asyncio.LimitOverrunError) as exc:
            raise SendError(f"a malformed reply: {exc}") from exc
        except (OSError, asyncio.IncompleteReadError) as exc:
            raise SendError(f"{type(exc).__name__}: {exc}") from exc
        finally:
            if keep:
                pool.idle.append(conn)
            else:
                conn.close()

    async def aclose(self) -> None:
        pools, self._pools = self._pools, {}
        for pool in pools.values():
            for conn in pool.idle:
                conn.close()


class _Stale(Exception):
    """A kept connection the receiver had closed."""


async def _reply(status_line: bytes, reader: asyncio.StreamReader) -> tuple[int, bool, bytes]:
    """``(status, whether the connection may be kept, body)`` of a reply whose status line is read."""
    version, _, rest = status_line.decode("latin-1").strip().partition(" ")
    if not version.startswith("HTTP/1."):
        raise ValueError(f"status line {status_line[:80]!r}")
    status = int(rest.partition(" ")[0])
    headers: dict[str, str] = {}
    while (line := await reader.readline()) not in (b"\r\n", b"\n"):
        if not line:
            raise ValueError("the reply ended in its head")
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep:
            raise ValueError(f"header line {line[:80]!r}")
        headers[name.strip().lower()] = value.strip()
    connection = headers.get("connection", "").lower()
    keep = "close" not in connection and (version != "HTTP/1.0" or "keep-alive" in connection)
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return status, keep, await _chunks(reader)
    if "content-length" in headers:
        length = int(headers["content-length"])
        if length > MAX_REPLY:
            raise ValueError(f"a reply of {length} bytes")
        return status, keep, await reader.readexactly(length)
    if status in (204, 304) or 100 <= status < 200:
        return status, keep, b""
    body = await reader.read(MAX_REPLY + 1)  # no length: the body runs until the receiver closes
    while len(body) <= MAX_REPLY and (more := await reader.read(MAX_REPLY + 1 - len(body))):
        body += more
    if len(body) > MAX_REPLY:
        raise ValueError("a reply of more than 1 MiB")
    return status, False, body


async def _chunks(reader: asyncio.StreamReader) -> bytes:
    body = b""
    while True:
        size = int((await reader.readline()).split(b";", 1)[0].strip() or b"x", 16)
        if size == 0:
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return body
        if len(body) + size > MAX_REPLY:
            raise ValueError("a reply of more than 1 MiB")
        body += await reader.readexactly(size)
        await reader.readline()
