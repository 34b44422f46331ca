"""The console's own app, mounted at ``/console``: sign-in, the language switch, the tenants, the pages."""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter, FastAPI
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from openroster.console import (
    attributes,
    departments,
    events,
    imports,
    journal,
    people,
    pickers,
    roster_options,
    runtime,
    tenants,
)
from openroster.console.i18n import LANG_COOKIE, LANGUAGES
from openroster.console.pages import (
    Console,
    FormRefused,
    SignInNeeded,
    console_of,
    form_of,
    local_path,
    page,
    posted,
    see_other,
    url,
)
from openroster.console.session import CSRF_FIELD, Sessions, set_cookie
from openroster.control.plane import ControlPlane
from openroster.core.runtime.throttle import CredentialThrottle
from openroster.model import errors

#: How long the language switch is remembered.
_LANG_SECONDS = 365 * 24 * 3600


def build(plane: ControlPlane) -> FastAPI:
    """The console app, to mount at ``/console``."""
    api = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    api.state.console = Console(plane, Sessions(plane.admin_token))

    @api.exception_handler(SignInNeeded)
    async def _sign_in(request: Request, exc: SignInNeeded) -> Response:
        return see_other(url("login", next=request.url.path))

    @api.exception_handler(FormRefused)
    async def _refused(request: Request, exc: FormRefused) -> Response:
        return _problem(request, 403, "forbidden", "form_expired")

    @api.exception_handler(errors.CoreError)
    async def _core(request: Request, exc: errors.CoreError) -> Response:
        # What a page's own form cannot show (an unknown tenant or person, a forged page link).
        if exc.kind is errors.ErrorKind.NOT_FOUND:
            return _problem(request, 404, "not_found", message=exc.message)
        return _problem(request, 400, "error", message=exc.message)

    @api.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        return _problem(request, exc.status_code, "not_found" if exc.status_code == 404 else "error")

    router = APIRouter()
    _sign_in_routes(router)
    people.routes(router)
    departments.routes(router)
    journal.routes(router)
    runtime.routes(router)
    imports.routes(router)
    attributes.routes(router)
    roster_options.routes(router)
    events.routes(router)
    tenants.routes(router)
    pickers.routes(router)
    api.include_router(router)
    api.mount("/static", StaticFiles(directory=str(files("openroster.console") / "static")), name="static")
    return api


def _problem(request: Request, status: int, heading: str, key: str = "", message: str = "") -> Response:
    session = console_of(request).sessions.session(request)
    return page(
        request, "problem.html", session=session, status=status, heading=heading, key=key, message=message
    )


def _sign_in_routes(r: APIRouter) -> None:
    @r.get("/login")
    async def login_form(request: Request) -> Response:
        return _login_page(request, signed_out=request.query_params.get("signed_out") == "1")

    @r.post("/login")
    async def login(request: Request) -> Response:
        sessions = console_of(request).sessions
        form = await form_of(request)
        if not sessions.sign_in_csrf_ok(request, form.get(CSRF_FIELD, "")):
            return _login_page(request, error="form_expired")
        try:
            _checked_admin_token(request, form.get("token", ""))
        except errors.AuthError:
            return _login_page(request, error="wrong_token", next_path=form.get("next"))
        except errors.Throttled as exc:
            return _login_page(request, error="throttled", message=exc.message, next_path=form.get("next"))
        response = see_other(local_path(form.get("next")))
        sessions.start(request, response)
        return response

    @r.post("/logout")
    async def logout(request: Request) -> Response:
        await posted(request)
        response = see_other(url("login", signed_out="1"))
        console_of(request).sessions.end(response)
        return response

    @r.get("/lang/{code}")
    async def switch_language(request: Request, code: str) -> Response:
        response = see_other(local_path(request.query_params.get("next")))
        if code in LANGUAGES:
            set_cookie(request, response, LANG_COOKIE, code, _LANG_SECONDS)
        return response


#: The client id failed sign-ins are counted under (beside the source address), in the budgets of
#: failed credential attempts the token endpoints use (``serve --credential-failures-*``).
SIGN_IN_CLIENT = "openroster-console"


def _checked_admin_token(request: Request, typed: str) -> None:
    """Refuse a wrong admin token (AuthError), or any attempt once the budget of failures of the
    address or of the console is spent (Throttled)."""
    console = console_of(request)

    def check() -> None:
        if not console.sessions.is_admin_token(typed):
            raise errors.AuthError("wrong admin token", reason="invalid_client")

    throttle: CredentialThrottle = console.plane.server.state.credential_throttle
    address = request.client.host if request.client is not None else ""
    throttle.attempt(check, client_id=SIGN_IN_CLIENT, address=address, now=console.directory.clock.now())


def _login_page(
    request: Request,
    *,
    error: str = "",
    message: str = "",
    signed_out: bool = False,
    next_path: str | None = None,
) -> Response:
    sessions = console_of(request).sessions
    cookie, token = sessions.sign_in_form()
    response = page(
        request,
        "login.html",
        session=None,
        error=error,
        signed_out=signed_out,
        message=message,
        next_path=local_path(next_path or request.query_params.get("next")),
        sign_in_csrf=token,
    )
    sessions.bind_sign_in(request, response, cookie)
    return response
