"""The ``/v1.0`` routes and what their handlers get and return.

Handlers are plain functions ``(call, body) -> result`` registered with :func:`route`; the
result is the reply's JSON object (a dict, or pre-rendered bytes of one), sent with HTTP 200.
A ``POST`` / ``PUT`` route reads its fields from a camelCase JSON body; a ``GET`` route from the
query string, where a list is one JSON array (``userIdList=["a","b"]``), as the official SDK
sends it. The caller is the app behind the ``x-acs-dingtalk-access-token`` header, with the same
tokens as ``/topapi`` (``dialects/dingtalk/tokens.py``), so a handler gets the ``/topapi``
dialect's :class:`Call` (``call.app``, ``call.tenant_id``, ``call.corp_id``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError
from starlette.responses import Response

from openroster.dialects.dingtalk.endpoint import Call, OnePermissionRoute, refuse_repeated_keys
from openroster.dialects.dingtalk.errors import DingTalkError
from openroster.dialects.dingtalk_v1.errors import INVALID_PARAMETER, V1Error
from openroster.dialects.pieces import Pieces, PiecesResponse
from openroster.dialects.validation import FAST_READERS, FastReader, fast_read, first_error, message

Handler = Callable[[Call, Any], Any]
_JSON = "application/json"


@dataclass(frozen=True, slots=True)
class Route(OnePermissionRoute):
    """A ``/v1.0`` route: one permission, and the code the call answers a bad parameter with."""

    #: The call's code for a parameter it refuses (``invalidParameter``, ``parameter.error``, ...).
    invalid: str = INVALID_PARAMETER


ROUTES: list[Route] = []


def route(
    method: str,
    path: str,
    *,
    permission: str,
    body: type[BaseModel] | None,
    invalid: str = INVALID_PARAMETER,
    writes: bool = False,
    fast: FastReader | None = None,
    reply_names_secrets: bool = True,
) -> Callable[[Handler], Handler]:
    """Register a handler of ``method path``; ``body`` is the model of its JSON body (``GET``: of its
    query parameters); ``writes``: the handler writes (it runs on the store's writers); ``fast``:
    the ``body`` model's fast reader (``validation.FAST_READERS``), whose values the handler takes too;
    ``reply_names_secrets``: see ``base.Route``."""

    def register(fn: Handler) -> Handler:
        summary = (fn.__doc__ or "").strip().split("\n")[0]
        query = tuple(body.model_fields) if body is not None and method == "GET" else ()
        ROUTES.append(
            Route(
                method,
                path,
                fn,
                (permission,),
                body,
                summary,
                query,
                writes=writes,
                reply_names_secrets=reply_names_secrets,
                invalid=invalid,
            )
        )
        if fast is not None and body is not None:
            FAST_READERS[body] = fast
        return fn

    return register


# -- request parsing ----------------------------------------------------------------------------


def json_fields(body: bytes, *, invalid: str) -> dict[str, Any]:
    """A JSON body's fields (an empty body: none)."""
    if not body.strip():
        return {}
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise V1Error(invalid, f"the request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise V1Error(invalid, "the request body must be a JSON object")
    try:
        refuse_repeated_keys(body, data)
    except DingTalkError as exc:
        raise V1Error(invalid, exc.detail) from None
    return data


def query_fields(params: Mapping[str, str], *, invalid: str) -> dict[str, Any]:
    """Query parameters as a model's input: a value that opens a JSON array is one (a list)."""
    out: dict[str, Any] = {}
    for name, value in params.items():
        if value.lstrip().startswith("["):
            try:
                out[name] = orjson.loads(value)
            except orjson.JSONDecodeError:
                raise V1Error(invalid, f"{name}: not a JSON array: {value!r}") from None
        else:
            out[name] = value
    return out


def validate(model: type[BaseModel], data: Mapping[str, Any], *, invalid: str) -> Any:
    """``data`` as ``model`` takes it (or as its fast reader reads it), refused with ``invalid``."""
    fast = fast_read(model, data)
    if fast is not None:
        return fast
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err, where = first_error(exc)
        if err["type"] == "missing":
            raise V1Error(invalid, f"{where} is required") from None
        raise V1Error(invalid, message(err, where)) from None


@dataclass(frozen=True, slots=True)
class Envelope:
    """A reply ``{requestId, success: true, result}`` (the request's id; none when ``request_id``
    is false), as the ``hrm_1_0`` calls that answer ``success`` send it."""

    result: Any
    request_id: bool = True

    def body(self, request_id: str | None) -> dict[str, Any]:
        head: dict[str, Any] = {"requestId": request_id} if self.request_id else {}
        return {**head, "success": True, "result": self.result}


# -- replies --------------------------------------------------------------------------------------


def reply(result: Any) -> Response:
    """HTTP 200 with the result's JSON object (bytes, and :class:`Pieces` of it, are sent as they are)."""
    if isinstance(result, Pieces):
        return PiecesResponse(result, media_type=_JSON)
    body = result if isinstance(result, bytes) else orjson.dumps(result)
    return Response(body, media_type=_JSON)
