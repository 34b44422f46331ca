"""What every client shares: calls as data, token caching, the retry loop, sync and async.

A typed method is written once, as a function that describes the call (an
:class:`Op`: method, path, query, body and how to read the reply). The
:class:`endpoint` and :class:`pages` descriptors turn it into a method of both
the synchronous and the asynchronous client. A :class:`Dialect` knows one
platform's wire rules (where the token goes, signing, the envelope, error
codes); the engines know nothing about platforms: they fetch and cache tokens,
send, and retry.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, ParamSpec, Protocol, Self, TypedDict, TypeVar, Unpack, overload

import httpx
import orjson

from openroster.client.errors import ApiError, TransportError
from openroster.client.retry import RetryPolicy, parse_retry_after

P = ParamSpec("P")
T = TypeVar("T")

#: Refresh a token this long before it expires (at most a tenth of its lifetime).
REFRESH_MARGIN_SECONDS = 300.0
#: How long a client waits for a reply by default (``timeout=``), in seconds.
DEFAULT_TIMEOUT = 30.0

Params = Sequence[tuple[str, str]]


def _identity(value: Any) -> Any:
    return value


@dataclass(frozen=True, slots=True)
class Op(Generic[T]):
    """One call: what to send and how to read the reply's payload into ``T``."""

    method: str
    path: str
    parse: Callable[[Any], T] = _identity
    params: Params = ()
    json: Any = None
    content: bytes | None = None
    content_type: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    #: Safe to repeat after a transient failure (reads, and writes that set a value).
    idempotent: bool = True
    #: Needs an access token (everything except the token call itself).
    auth: bool = True
    #: DingTalk: put the client's ``agentid`` into the JSON body.
    agentid: bool = False
    #: WPS: return the whole ``{code, msg, data}`` reply rather than its ``data``.
    envelope: bool = False


class RequestOptions(TypedDict, total=False):
    """What :meth:`request` and :meth:`send` take besides the method and path."""

    #: A JSON body.
    json: Any
    #: Query parameters; a list value repeats the parameter.
    params: Mapping[str, Any] | Sequence[tuple[str, Any]]
    #: A raw body (instead of ``json``), sent with ``content_type``.
    content: bytes
    content_type: str
    headers: Mapping[str, str]
    #: Safe to repeat after a transient failure; by default only GET, HEAD and OPTIONS are.
    idempotent: bool
    #: WPS: return the whole reply rather than its ``data``.
    envelope: bool


def raw_op(method: str, path: str, **options: Unpack[RequestOptions]) -> Op[Any]:
    """The :class:`Op` of a call the client has no typed method for."""
    params = options.get("params") or ()
    pairs = list(params.items()) if isinstance(params, Mapping) else list(params)
    flat = [(k, str(x)) for k, v in pairs for x in (v if isinstance(v, list | tuple) else [v])]
    verb = method.upper()
    return Op(
        verb,
        path,
        params=flat,
        json=options.get("json"),
        content=options.get("content"),
        content_type=options.get("content_type"),
        headers=tuple((options.get("headers") or {}).items()),
        idempotent=options.get("idempotent", verb in ("GET", "HEAD", "OPTIONS")),
        envelope=options.get("envelope", False),
    )


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list. ``next`` is the token or cursor of the following page, ``None`` on the last."""

    items: list[T]
    next: str | int | None = None
    total: int | None = None


@dataclass(frozen=True, slots=True)
class Wire:
    """An HTTP request as a dialect lays it out; ``target`` is the path (with any prefix) and query."""

    method: str
    target: str
    headers: dict[str, str]
    content: bytes


@dataclass(slots=True)
class Token:
    value: str
    expires_in: float

    @classmethod
    def from_reply(cls, reply: Mapping[str, Any]) -> Token:
        """The token of a ``{access_token, expires_in}`` reply (two hours when it gives no lifetime)."""
        return cls(str(reply["access_token"]), float(reply.get("expires_in") or 7200))


def json_object(resp: httpx.Response, code_key: str, message_key: str) -> dict[str, Any]:
    """The reply as a JSON object, or, when it is not one, an error reply saying so (code -1)."""
    try:
        data = orjson.loads(resp.content)
    except orjson.JSONDecodeError:
        data = None
    if isinstance(data, dict):
        return data
    snippet = resp.text[:200] if resp.content else "empty body"
    return {code_key: -1, message_key: f"not a JSON object (HTTP {resp.status_code}): {snippet}"}


def reply_code(reply: Mapping[str, Any], key: str) -> int:
    """The reply's numeric code under ``key`` (-1 when missing or not a number)."""
    raw = reply.get(key, -1)
    return raw if isinstance(raw, int) else int(raw) if str(raw).lstrip("-").isdigit() else -1


def api_error(
    cls: type[ApiError],
    code: int,
    message: str,
    resp: httpx.Response,
    reply: Mapping[str, Any],
    *,
    platform: str,
    sub_code: str | None = None,
) -> ApiError:
    """A ``cls`` for ``reply``, with what the HTTP response adds (status, request id, ``Retry-After``)."""
    rid = reply.get("request_id") or resp.headers.get("x-request-id")
    return cls(
        code,
        message,
        http_status=resp.status_code,
        request_id=str(rid) if rid else None,
        platform=platform,
        sub_code=sub_code,
        retry_after=parse_retry_after(resp.headers.get("retry-after")),
        reply=dict(reply),
    )


class Dialect(Protocol):
    """One platform's wire rules."""

    def token_op(self) -> Op[Token]:
        """The call that fetches an access token."""
        ...

    def build(self, op: Op[Any], token: str | None) -> Wire:
        """The HTTP request for ``op`` with ``token``."""
        ...

    def payload(self, op: Op[Any], resp: httpx.Response) -> Any:
        """The reply's payload, or raise the :class:`ApiError` it carries."""
        ...

    def token_rejected(self, exc: ApiError) -> bool:
        """Whether ``exc`` says the access token is invalid or expired (worth one refresh)."""
        ...


@dataclass(slots=True)
class _TokenCache:
    value: str | None = None
    expires_at: float = 0.0
    fetches: int = field(default=0)

    def valid(self) -> str | None:
        if self.value is not None and time.monotonic() < self.expires_at:
            return self.value
        return None

    def store(self, token: Token, started: float) -> str:
        margin = min(REFRESH_MARGIN_SECONDS, token.expires_in / 10)
        self.value = token.value
        self.expires_at = started + token.expires_in - margin
        self.fetches += 1
        return token.value

    def invalidate(self, token: str | None) -> None:
        """Forget ``token`` unless another call has already replaced it."""
        if token is not None and self.value == token:
            self.value = None


class _Attempts:
    """The bookkeeping of one call's retry loop."""

    __slots__ = ("attempt", "dialect", "op", "policy", "refreshed", "tokens", "waited")

    def __init__(self, policy: RetryPolicy, op: Op[Any], dialect: Dialect, tokens: _TokenCache) -> None:
        self.policy = policy
        self.op = op
        self.dialect = dialect
        self.tokens = tokens
        self.attempt = 0
        self.waited = 0.0
        self.refreshed = False

    def after(self, exc: httpx.TransportError | ApiError, token: str | None) -> float | None:
        """Seconds to wait before the next try (``None``: try again now); raises when giving up.

        A rejected token is refreshed once, right away; other failures follow the retry policy.
        """
        op = self.op
        if isinstance(exc, httpx.TransportError):
            delay = self.policy.delay_for_transport(
                exc, attempt=self.attempt, waited=self.waited, idempotent=op.idempotent
            )
            if delay is None:
                raise TransportError(f"{op.method} {op.path}: {type(exc).__name__}: {exc}") from exc
        elif op.auth and not self.refreshed and self.dialect.token_rejected(exc):
            self.refreshed = True
            self.tokens.invalidate(token)
            return None
        else:
            delay = self.policy.delay_for_error(
                exc, attempt=self.attempt, waited=self.waited, idempotent=op.idempotent
            )
            if delay is None:
                raise exc
        self.attempt += 1
        self.waited += delay
        return delay


def _root(http: httpx.Client | httpx.AsyncClient, base_url: str) -> str:
    """Requests go to ``http``'s own base URL when it has one, else to ``base_url``."""
    return "" if str(http.base_url) else base_url.rstrip("/")


def _build(http: httpx.Client | httpx.AsyncClient, root: str, wire: Wire) -> httpx.Request:
    return http.build_request(wire.method, root + wire.target, headers=wire.headers, content=wire.content)


H = TypeVar("H", bound=httpx.Client | httpx.AsyncClient)
L = TypeVar("L", threading.Lock, asyncio.Lock)


class Engine(Generic[H, L]):
    """What both engines keep: the dialect, the HTTP client, the retry policy and the token cache.

    ``http`` is the caller's HTTP client (left open on close), or ``None`` for one of the engine's own.
    """

    def __init__(
        self,
        dialect: Dialect,
        *,
        base_url: str,
        timeout: float,
        http: H | None,
        retry: RetryPolicy | None,
    ) -> None:
        self._dialect = dialect
        self._own_http = http is None
        self._http: H = self._open(base_url, timeout) if http is None else http
        self._root = _root(self._http, base_url)
        self.retry = retry or RetryPolicy()
        self._tokens = _TokenCache()
        self._lock: L = self._new_lock()

    def _open(self, base_url: str, timeout: float) -> H:
        """An HTTP client of the engine's own."""
        raise NotImplementedError

    def _new_lock(self) -> L:
        """The lock that lets one caller at a time fetch a token."""
        raise NotImplementedError

    @property
    def token_fetches(self) -> int:
        """How many tokens this client has fetched."""
        return self._tokens.fetches

    def _request(self, op: Op[Any], token: str | None) -> httpx.Request:
        return _build(self._http, self._root, self._dialect.build(op, token))

    def _attempts(self, op: Op[Any]) -> _Attempts:
        return _Attempts(self.retry, op, self._dialect, self._tokens)


class SyncEngine(Engine[httpx.Client, threading.Lock]):
    """A synchronous client: an ``httpx.Client``, a token cache and the retry loop."""

    def _open(self, base_url: str, timeout: float) -> httpx.Client:
        return httpx.Client(base_url=base_url, timeout=timeout)

    def _new_lock(self) -> threading.Lock:
        return threading.Lock()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._own_http:
            self._http.close()

    def token(self) -> str:
        """A valid access token: the cached one, or a fresh one (one fetch at a time)."""
        cached = self._tokens.valid()
        if cached is not None:
            return cached
        with self._lock:
            cached = self._tokens.valid()
            if cached is not None:
                return cached
            return self.fetch_token()

    def fetch_token(self) -> str:
        """Fetch a new access token now and cache it."""
        started = time.monotonic()
        return self._tokens.store(self._run(self._dialect.token_op()), started)

    def request(self, method: str, path: str, **options: Unpack[RequestOptions]) -> Any:
        """Call ``path`` with token refresh and retries; return the reply's payload.

        WPS: the reply's ``data`` (the whole reply with ``envelope=True``); DingTalk: the whole
        reply. A non-zero platform code raises :class:`~openroster.client.errors.ApiError`.
        """
        return self._run(raw_op(method, path, **options))

    def send(self, method: str, path: str, **options: Unpack[RequestOptions]) -> httpx.Response:
        """Authenticate (and sign) one request and send it once; return the raw HTTP response."""
        op = raw_op(method, path, **options)
        return self._http.send(self._request(op, self.token() if op.auth else None))

    def _run(self, op: Op[T]) -> T:
        """Send ``op`` with token refresh and retries; return its parsed payload."""
        tries = self._attempts(op)
        while True:
            token = self.token() if op.auth else None
            try:
                resp = self._http.send(self._request(op, token))
                return op.parse(self._dialect.payload(op, resp))
            except (httpx.TransportError, ApiError) as exc:
                delay = tries.after(exc, token)
            if delay is not None:
                time.sleep(delay)

    def _iterate(self, build: Callable[..., Op[Page[T]]], cursor: str, args: Any, kwargs: Any) -> Iterator[T]:
        while True:
            page = self._run(build(*args, **kwargs))
            yield from page.items
            if page.next in (None, "") or not page.items:
                return
            kwargs = {**kwargs, cursor: page.next}


class AsyncEngine(Engine[httpx.AsyncClient, asyncio.Lock]):
    """An asynchronous client: an ``httpx.AsyncClient``, a token cache and the retry loop."""

    def _open(self, base_url: str, timeout: float) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=base_url, timeout=timeout)

    def _new_lock(self) -> asyncio.Lock:
        return asyncio.Lock()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()

    async def token(self) -> str:
        """A valid access token; concurrent callers share one fetch."""
        cached = self._tokens.valid()
        if cached is not None:
            return cached
        async with self._lock:
            cached = self._tokens.valid()
            if cached is not None:
                return cached
            return await self.fetch_token()

    async def fetch_token(self) -> str:
        """Fetch a new access token now and cache it."""
        started = time.monotonic()
        return self._tokens.store(await self._run(self._dialect.token_op()), started)

    async def request(self, method: str, path: str, **options: Unpack[RequestOptions]) -> Any:
        """Call ``path`` with token refresh and retries; return the reply's payload (see the sync client)."""
        return await self._run(raw_op(method, path, **options))

    async def send(self, method: str, path: str, **options: Unpack[RequestOptions]) -> httpx.Response:
        """Authenticate (and sign) one request and send it once; return the raw HTTP response."""
        op = raw_op(method, path, **options)
        return await self._http.send(self._request(op, await self.token() if op.auth else None))

    async def _run(self, op: Op[T]) -> T:
        """Send ``op`` with token refresh and retries; return its parsed payload."""
        tries = self._attempts(op)
        while True:
            token = await self.token() if op.auth else None
            try:
                resp = await self._http.send(self._request(op, token))
                return op.parse(self._dialect.payload(op, resp))
            except (httpx.TransportError, ApiError) as exc:
                delay = tries.after(exc, token)
            if delay is not None:
                await asyncio.sleep(delay)

    async def _iterate(
        self, build: Callable[..., Op[Page[T]]], cursor: str, args: Any, kwargs: Any
    ) -> AsyncIterator[T]:
        while True:
            page = await self._run(build(*args, **kwargs))
            for item in page.items:
                yield item
            if page.next in (None, "") or not page.items:
                return
            kwargs = {**kwargs, cursor: page.next}


class endpoint(Generic[P, T]):
    """A typed method on both clients: ``T`` on the sync one, ``Awaitable[T]`` on the async one."""

    def __init__(self, build: Callable[P, Op[T]]) -> None:
        self._build = build
        self.__doc__ = build.__doc__

    @overload
    def __get__(self, obj: SyncEngine, owner: Any) -> Callable[P, T]: ...
    @overload
    def __get__(self, obj: AsyncEngine, owner: Any) -> Callable[P, Awaitable[T]]: ...
    @overload
    def __get__(self, obj: None, owner: Any) -> endpoint[P, T]: ...
    def __get__(self, obj: Any, owner: Any) -> Any:
        if obj is None:
            return self
        build = self._build

        def call(*args: Any, **kwargs: Any) -> Any:
            return obj._run(build(*args, **kwargs))

        call.__doc__ = build.__doc__
        call.__name__ = build.__name__
        return call


class pages(Generic[P, T]):
    """An iterator over every item of a paged list, following ``cursor`` from page to page."""

    def __init__(self, build: Callable[P, Op[Page[T]]], *, cursor: str) -> None:
        self._build = build
        self._cursor = cursor
        self.__doc__ = f"Every item of :meth:`{build.__name__}`, page after page."

    @overload
    def __get__(self, obj: SyncEngine, owner: Any) -> Callable[P, Iterator[T]]: ...
    @overload
    def __get__(self, obj: AsyncEngine, owner: Any) -> Callable[P, AsyncIterator[T]]: ...
    @overload
    def __get__(self, obj: None, owner: Any) -> pages[P, T]: ...
    def __get__(self, obj: Any, owner: Any) -> Any:
        if obj is None:
            return self
        build, cursor = self._build, self._cursor

        def iterate(*args: Any, **kwargs: Any) -> Any:
            return obj._iterate(build, cursor, args, kwargs)

        iterate.__doc__ = self.__doc__
        return iterate
