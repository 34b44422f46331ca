"""What every console page shares: the templates, the signed-in check, posted forms, links.

Templates are Jinja2 with autoescaping on for every template, so user data (a person named
``<img src=x onerror=alert(1)>``) is always rendered as text; no user data is ever marked safe
(the one piece of markup made here is the CSRF field, from the session's own token, escaped).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from fastapi import APIRouter
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from openroster.console.i18n import LANGUAGES, Text, language
from openroster.console.session import CSRF_FIELD, Session, Sessions, csrf_ok
from openroster.control.calls import CONSOLE_PREFIX
from openroster.control.plane import ControlPlane
from openroster.core.directory import Directory
from openroster.model.errors import CoreError, InvalidValue

_env = Environment(
    loader=PackageLoader("openroster.console", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True, slots=True)
class Console:
    """The console's state on its app: the control plane (the directory, the admin token) and sessions."""

    plane: ControlPlane
    sessions: Sessions

    @property
    def directory(self) -> Directory:
        return self.plane.directory


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


class SignInNeeded(Exception):
    """The request has no valid session: the console's exception handler sends it to sign in."""


class FormRefused(Exception):
    """A POST without the CSRF token of its session: answered 403."""


def url(*parts: str, **query: str) -> str:
    """A console path: ``url("tenants", t, "people", q="x")`` -> ``/console/tenants/<t>/people?q=x``
    (each part quoted whole, empty query values left out)."""
    path = CONSOLE_PREFIX + "/" + "/".join(quote(p, safe="") for p in parts)
    kept = {k: v for k, v in query.items() if v}
    return path + ("?" + urlencode(kept) if kept else "")


def signed_in(request: Request) -> Session:
    session = console_of(request).sessions.session(request)
    if session is None:
        raise SignInNeeded
    return session


async def form_of(request: Request) -> dict[str, str]:
    """The posted ``application/x-www-form-urlencoded`` fields (the last of a repeated name)."""
    body = (await request.body()).decode("utf-8", errors="replace")
    return dict(parse_qsl(body, keep_blank_values=True))


async def posted(request: Request) -> tuple[Session, dict[str, str]]:
    """The session and the form of a state-changing request, its CSRF token checked."""
    session = signed_in(request)
    form = await form_of(request)
    if not csrf_ok(session, form.get(CSRF_FIELD, "")):
        raise FormRefused
    return session, form


class Refused(Exception):
    """A form the control API's request model refuses: the message and the field."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def model_of(model: type[Any], data: dict[str, Any]) -> Any:
    """``data`` read from a form into one of the control API's request models, with its checks
    (:class:`Refused` naming the first field it refuses)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = [str(p) for p in first.get("loc", ()) if p != "match"]
        field = where[-1] if where else ""
        message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
        raise Refused(f"{field}: {message}" if field else message, field) from None


def render(request: Request, template: str, *, session: Session | None = None, **values: Any) -> str:
    """``template`` rendered in the request's language, with what every template may use."""
    lang = language(request)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return _env.get_template(template).render(
        t=Text(lang),
        lang=lang,
        lang_tag=LANGUAGES[lang],
        languages=list(LANGUAGES),
        here=here,
        request_path=request.url.path,
        session=session,
        csrf_field=CSRF_FIELD,
        csrf_input=_csrf_input(session),
        url=url,
        **values,
    )


def render_outside(template: str, **values: Any) -> str:
    """``template`` rendered without a request (a refusal at the door): both languages' texts as
    ``en`` and ``zh``, and ``url``."""
    return _env.get_template(template).render(en=Text("en"), zh=Text("zh"), url=url, **values)


def _csrf_input(session: Session | None) -> Markup:
    """The hidden form field every POST form of a signed-in page carries."""
    if session is None:
        return Markup("")
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, session.csrf)


def page(
    request: Request, template: str, *, session: Session | None, status: int = 200, **values: Any
) -> HTMLResponse:
    return HTMLResponse(render(request, template, session=session, **values), status_code=status)


def notice_page(r: APIRouter, path: str, show: Callable[..., Response]) -> None:
    """``GET path``: the page ``show(request, session, **path parameters, done=...)`` renders for a
    signed-in console, with the notice (``done``) of the form whose answer led there."""

    async def shown(request: Request) -> Response:
        done = request.query_params.get("done", "")
        return show(request, signed_in(request), **request.path_params, done=done)

    r.add_api_route(path, shown, methods=["GET"])


def field_of(error: CoreError | None) -> str:
    """The form field an error is about: the last part of its ``field`` (``items[0].name`` -> ``name``)."""
    if error is None or error.field is None:
        return ""
    return error.field.split(".")[-1].split("[")[0]


def whole_number(form: dict[str, str], name: str, what: str) -> int | None:
    """The form field ``name`` as a whole number (None when empty); InvalidValue naming it otherwise."""
    raw = form.get(name, "").strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise InvalidValue(f"{name}: {raw!r} is not {what}", field=name)
    return int(raw)


def see_other(location: str) -> Response:
    """The answer to a POST that worked: the browser loads ``location`` with a GET."""
    return RedirectResponse(location, status_code=303)


def local_path(candidate: str | None) -> str:
    """``candidate`` if it is a console path (never another site: no ``//host`` or scheme), else the
    console's home."""
    home = CONSOLE_PREFIX + "/"
    if not candidate or not candidate.startswith(home) or "\\" in candidate or "//" in candidate:
        return home
    return candidate
