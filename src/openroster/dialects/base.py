"""What a dialect is: the interface every wire dialect implements.

A dialect speaks one platform's API over the core services. It declares its
name (the journal's "which dialect"), the paths it owns and its routes, and it
implements the steps of a request that differ from platform to platform: how a
body is read, how a caller authenticates, how a route is authorized, how a
body is parsed and checked, how a result and an error become a reply. The one
pipeline (``server/pipeline.py``) runs those steps for every route of every
dialect in the registry (``dialects/registry.py``); the guards and the app's
catch-alls ask the registry which dialect owns a path and let it answer.
docs/architecture.md has the picture and a worked example.

Nothing here assumes HTTP 200 envelopes, ``POST``, JSON or a token in the
query string: each of those is one dialect's choice.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

from openroster.dialects.body import read_limited_body

if TYPE_CHECKING:
    from fastapi import FastAPI
    from pydantic import BaseModel
    from starlette.requests import Request
    from starlette.responses import Response

    from openroster.config import Settings
    from openroster.core.directory import Directory, Reader
    from openroster.core.runtime.throttle import CredentialThrottle, RateLimiter
    from openroster.dialects.raw import RawRequest
    from openroster.model.entities import App

#: What authentication yields: the caller (an App, an App with its grant, a console session, ...).
P = TypeVar("P")
#: A dialect's route type (:class:`Route` or a subclass with the dialect's own per-route fields).
R = TypeVar("R", bound="Route")

#: A handler: ``(call, parsed body) -> result``; the dialect's ``render`` turns the result into a reply.
Handler = Callable[[Any, Any], Any]


T = TypeVar("T")


def credential_attempt(request: Request, check: Callable[[], T], *, client_id: str) -> T:
    """A token endpoint's credential check, under the server's budgets of failed attempts per client
    id and per source address (``core/runtime/throttle.py``): raises ``Throttled`` when one is spent."""
    d: Directory = request.app.state.directory
    throttle: CredentialThrottle = request.app.state.credential_throttle
    address = request.client.host if request.client is not None else ""
    return throttle.attempt(check, client_id=client_id, address=address, now=d.clock.now())


async def credential_write(request: Request, issue: Callable[[], T], *, client_id: str) -> T:
    """:func:`credential_attempt` of a check that writes (a token issued, a ticket stored): it runs
    as a job on the store's writers, committed with their group, so the event loop never waits for
    the store's write lock. The budgets are read before the job; a failure is counted in it (the
    check's own writes undone by a savepoint of their own), so the count commits with the group."""
    d: Directory = request.app.state.directory
    throttle: CredentialThrottle = request.app.state.credential_throttle
    address = request.client.host if request.client is not None else ""

    def undone_on_failure() -> T:
        with d.writer():
            return issue()

    return await throttle.attempt_async(
        lambda counted: d.write(lambda _reader: counted(undone_on_failure)),
        client_id=client_id,
        address=address,
        now=d.clock.now(),
    )


def routing_message(method: str, path: str, status: int, detail: str, *, what: str = "endpoint") -> str:
    """What an HTTP error from routing says: 404 names the call, 405 the method, others their detail."""
    if status == 404:
        return f"no such {what}: {method} {path}"
    if status == 405:
        return f"{method} is not allowed on {path}"
    return detail


@dataclass(frozen=True, slots=True)
class Route:
    """One endpoint of a dialect. Subclass it for per-route fields the dialect's steps read."""

    method: str
    #: The path below each of the dialect's mounts; ``{name}`` segments are path parameters.
    path: str
    handler: Handler
    #: The caller needs any one of these (none: being authenticated is enough).
    permissions: tuple[str, ...]
    #: The body model (None: the route reads no body).
    body: type[BaseModel] | None
    summary: str
    #: The query parameters the handler reads (for the OpenAPI document).
    query: tuple[str, ...] = ()
    #: The handler writes: it runs as a job on the store's writers (``server/pipeline.py``).
    writes: bool = False
    #: Whether the reply may hold a JSON member under a secret's name (a token, a ticket), so the
    #: journal searches its first bytes for one (``control/journal.py``). A route whose replies'
    #: member names are fixed by their shape and name no credential says False
    #: (``registry.PLAIN_REPLIES``); by default they are searched.
    reply_names_secrets: bool = True


@dataclass(frozen=True, slots=True)
class AfterCommit:
    """What a write route's handler may return instead of its result: ``finish()`` makes the result
    once the job's group has committed, on the event loop (``server/pipeline.py``). Only for work
    that reads no store and cannot fail on what the job read, such as putting a large reply's
    already decoded values into bytes: done in the job, it held the group's lock (PostgreSQL: the
    change counter's) meanwhile. An error in it would answer a committed write with an error, so
    whatever can fail (decoding what was stored, checks) stays in the job, where it undoes it.
    A read route's handler may return one too: the pipeline finishes it in either case."""

    finish: Callable[[], Any]


@dataclass(slots=True)
class Exchange(Generic[R]):
    """One request on its way through the pipeline: what every step of the dialect is handed."""

    request: Request
    route: R
    #: The id the dialect puts in its replies, when it has such a thing (DingTalk's ``request_id``).
    request_id: str | None
    body: bytes = b""
    #: The body as the dialect decoded it while authenticating (a form's fields), for the later steps.
    fields: Any = None


@dataclass(slots=True)
class Call(Generic[P]):
    """What a handler gets: the directory, an open read transaction, the caller and the request.

    Dialects subclass it for names of their own (``call.app``, ``call.corp_id``).
    """

    directory: Directory
    reader: Reader
    principal: P
    request: Request

    def path_param(self, name: str) -> str:
        return str(self.request.path_params[name])


class AppCall(Call["App"]):
    """A call whose caller is an app itself (WPS, SCIM): ``call.app`` and the app's tenant."""

    __slots__ = ()

    @property
    def app(self) -> App:
        return self.principal

    @property
    def tenant_id(self) -> str:
        return self.principal.tenant_id


class Refusal(NamedTuple):
    """A reply written before the app runs (``server/guard.py``): status, body, its media type and
    any other headers it needs."""

    status: int
    body: bytes
    media_type: str = "application/json"
    headers: tuple[tuple[bytes, bytes], ...] = ()


class InjectedError(NamedTuple):
    """What an ``error`` fault rule asks for (``control/faults.py``): the platform ``code``, and the
    ``message``, HTTP ``status`` and ``Retry-After`` seconds it sets (None: the dialect's default)."""

    code: int
    message: str | None = None
    status: int | None = None
    retry_after: int | None = None


class FaultReply(NamedTuple):
    """An injected fault's reply (``control/faults.py``): status, body, media type, and the
    ``Retry-After`` seconds it says (None: no such header)."""

    status: int
    body: bytes
    media_type: str = "application/json"
    retry_after: int | None = None


#: A per-route check between authentication and authorization that needs the server's settings
#: (WPS rate limits): ``(principal, directory)``, raising the dialect's error to refuse.
Admission = Callable[[Any, "Directory"], None]


class Dialect(ABC, Generic[P, R]):
    """One platform's API: what it owns, its routes, and its steps of the pipeline (see module)."""

    #: The journal's name for it ("which dialect"), also its OpenAPI tag.
    name: str
    #: Path prefixes of the platform: calls to them are journaled under :attr:`name`, routes or not.
    platform_prefixes: tuple[str, ...]
    #: Paths whose refusals, 404s, 405s and internal errors the dialect answers in its own envelope.
    owned_prefixes: tuple[str, ...] = ()
    owned_paths: frozenset[str] = frozenset()
    #: What every route path is served under (``("",)``: the path as declared).
    mounts: tuple[str, ...] = ("",)
    #: Prefixes a gateway puts in front of the platform's paths (the same endpoint behind it).
    gateways: tuple[str, ...] = ()
    #: Request headers (lowercase) the dialect reads that a request may send once at most: the
    #: server's guard refuses a second copy (``server/guard.py``), since a reader would take one of
    #: the two and the client cannot know which.
    single_headers: frozenset[bytes] = frozenset({b"authorization", b"content-type"})
    #: The handler context the dialect's handlers take.
    call_type: type[Call[P]]
    #: What :meth:`error_reply` answers (the dialect's own error and ``CoreError``); anything else
    #: is an internal error.
    error_types: tuple[type[Exception], ...]
    #: Every route, in the order they are mounted (and listed in the OpenAPI document): the
    #: dialect's route list, which its route decorator fills as its handler modules are imported.
    routes: Sequence[R]

    # -- what it owns ---------------------------------------------------------------------------

    def owns(self, path: str) -> bool:
        return path in self.owned_paths or path.startswith(self.owned_prefixes)

    def without_gateway(self, path: str) -> str:
        """``path`` as the platform names it without a gateway prefix (unchanged without one)."""
        for prefix in self.gateways:
            if path.startswith(prefix + "/"):
                return path[len(prefix) :]
        return path

    def caller_id(self, d: Directory, call: RawRequest) -> str | None:
        """The client id of the app that sent ``call``, as far as its credentials tell, valid or not
        (for the journal and fault rules, from the raw request; None by default)."""
        return None

    # -- mounting -------------------------------------------------------------------------------

    def mount_own(self, api: FastAPI) -> None:
        """Add the endpoints the dialect serves outside the pipeline (token issuance); none by default."""

    def openapi(self, route: R) -> dict[str, Any] | None:
        """The route's OpenAPI additions (parameters, request body), or None."""
        return None

    def admissions(self, settings: Settings, limiter: RateLimiter) -> Mapping[tuple[str, str], Admission]:
        """Per ``(method, path)`` of a route, a check the server's settings call for (none by default)."""
        return {}

    # -- the pipeline's steps, in order ---------------------------------------------------------

    def request_id(self) -> str | None:
        """The id of a new request's replies (None: the dialect's replies carry none)."""
        return None

    async def read_body(self, x: Exchange[R]) -> bytes:
        """The whole body, refused with :meth:`too_large` past ``limits.BODY_MAX_BYTES``."""
        return await read_limited_body(x.request, self.too_large)

    @abstractmethod
    def too_large(self, message: str) -> Exception:
        """The error refusing a body over the limit."""

    def credentials(self, x: Exchange[R]) -> Any:
        """What the caller sent to prove who it is (header, query, cookie, body), read before the
        store is opened; raise when it is missing. None by default: :meth:`authenticate` reads it."""
        return None

    @abstractmethod
    def authenticate(self, x: Exchange[R], credentials: Any, reader: Reader) -> P:
        """The caller, from its :meth:`credentials`, checked against the store; raise to refuse."""

    @abstractmethod
    def actor(self, principal: P) -> str | None:
        """The app the caller's writes are recorded as made by (a change record's ``actor``: its
        client id, the DingTalk appkey); None when the caller is no app."""

    @abstractmethod
    def authorize(self, x: Exchange[R], principal: P) -> None:
        """Raise when the caller may not call ``x.route`` (its scopes, its permission)."""

    @abstractmethod
    def parse(self, x: Exchange[R], principal: P) -> Any:
        """The body as the route's model (None without one), after refusing NUL characters and
        anything else the dialect checks before the handler runs."""

    def call(self, x: Exchange[R], directory: Directory, reader: Reader, principal: P) -> Call[P]:
        return self.call_type(directory, reader, principal, x.request)

    @abstractmethod
    def render(self, x: Exchange[R], result: Any) -> Response:
        """The reply to a handler's result."""

    @abstractmethod
    def error_reply(self, x: Exchange[R], exc: Exception) -> Response:
        """The reply to one of :attr:`error_types` raised by a step or the handler."""

    # -- the server's answers for the paths it owns ---------------------------------------------

    @abstractmethod
    def refusal(self, path: str, status: int, message: str) -> Refusal:
        """A request refused before the app ran: 400 (malformed), 408 (late), 413 (body), 431 (head)."""

    @abstractmethod
    def fault_reply(self, path: str, fault: InjectedError, request_id: str) -> FaultReply:
        """An injected fault's error on ``path`` in the dialect's envelope, with the dialect's text,
        status and ``Retry-After`` for the code where the rule sets none. ``request_id`` is the
        reply's id where the envelope has one."""

    @abstractmethod
    def http_error(self, request: Request, status: int, message: str) -> Response:
        """No such route (404), a method the path does not take (405), or a bad request (400)."""

    @abstractmethod
    def internal_error(self, request: Request) -> Response:
        """An unexpected exception (the log has the details; the reply must not)."""
