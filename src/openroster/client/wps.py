"""The WPS 365 v7 client: client-credentials tokens, request signing, the envelope, typed calls.

::

    from openroster.client import WpsClient

    with WpsClient(client_id="AK...", client_secret="...") as wps:
        for user in wps.iter_users(status=["active"], with_dept=True):
            print(user.id, user.user_name, [d.abs_path for d in user.depts or []])

``signing`` is the app's request-signing scheme (``"kso1"``, ``"wps4"``,
``"wps4gm"``) or ``None`` for an app without signing. ``prefix`` is a private
deployment's gateway prefix (``/openapi`` or ``/graph``): it is sent, never signed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

import httpx
import orjson
from pydantic import BaseModel

from openroster.client import errors, transport
from openroster.client.models import R, list_of, request
from openroster.client.retry import RetryPolicy
from openroster.client.transport import H, Op, Page, endpoint, pages
from openroster.client.wps_models import (
    AttrDefinition,
    AttrDefinitionUpdate,
    Dept,
    DeptMember,
    DeptUpdate,
    NewAttrDefinition,
    NewDept,
    NewUser,
    User,
    UserAttrs,
    UserAttrsUpdate,
    UserDepts,
    UserOrder,
    UserUpdate,
)
from openroster.dialects.wps import signing as sig

DEFAULT_BASE_URL = "https://openapi.wps.cn"
SIGNING_SCHEMES: dict[str, str] = {"kso1": sig.KSO1, "wps4": sig.WPS4, "wps4gm": sig.WPS4GM}
ALL_STATUSES: tuple[str, ...] = ("active", "notactive", "disabled", "dimission")

#: WPS codes that say the request signature (not the token) is wrong.
_SIGNATURE_CODES = frozenset({40100001, 40100005, 40100006, 40100007, 40100008})
_BY_STATUS: dict[int, type[errors.ApiError]] = {
    400: errors.InvalidRequestError,
    401: errors.AuthenticationError,
    403: errors.PermissionDeniedError,
    404: errors.NotFoundError,
    409: errors.ConflictError,
    429: errors.ThrottledError,
}

M = TypeVar("M", bound=BaseModel)


class WpsDialect:
    """WPS wire rules: bearer token, optional signature, ``{code, msg, data}``."""

    def __init__(self, *, client_id: str, client_secret: str, signing: str | None, prefix: str) -> None:
        if signing is not None and signing not in SIGNING_SCHEMES:
            raise ValueError(f"signing must be one of {', '.join(SIGNING_SCHEMES)} or None, not {signing!r}")
        self.client_id = client_id
        self._secret = client_secret
        self.scheme = SIGNING_SCHEMES[signing] if signing else None
        self.prefix = prefix.rstrip("/")

    def token_op(self) -> Op[transport.Token]:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._secret,
        }
        return Op(
            "POST",
            "/oauth2/token",
            parse=transport.Token.from_reply,
            content=urlencode(form).encode(),
            content_type="application/x-www-form-urlencoded",
            auth=False,
        )

    def build(self, op: Op[Any], token: str | None) -> transport.Wire:
        body = (
            op.content if op.content is not None else (orjson.dumps(op.json) if op.json is not None else b"")
        )
        if op.content_type is not None:
            ctype = op.content_type
        else:
            ctype = "application/json" if body or op.method != "GET" else ""
        query = urlencode(list(op.params), doseq=True)
        uri = op.path + (f"?{query}" if query else "")
        headers: dict[str, str] = {}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if ctype:
            headers["Content-Type"] = ctype
        if self.scheme is not None and op.auth:
            headers.update(
                sig.sign_headers(self.scheme, self.client_id, self._secret, op.method, uri, ctype, body)
            )
        headers.update(op.headers)
        return transport.Wire(op.method, self.prefix + uri, headers, body)

    def payload(self, op: Op[Any], resp: httpx.Response) -> Any:
        reply = transport.json_object(resp, "code", "msg")
        if not op.auth and "access_token" in reply:
            return reply  # the token reply has no envelope
        code = reply.get("code")
        if code == 0:
            return reply if op.envelope else reply.get("data")
        raise wps_error(resp, reply)

    def token_rejected(self, exc: errors.ApiError) -> bool:
        return isinstance(exc, errors.AuthenticationError) and exc.code not in _SIGNATURE_CODES


def wps_error(resp: httpx.Response, reply: Mapping[str, Any]) -> errors.ApiError:
    """The exception for a WPS reply with a non-zero code."""
    code = transport.reply_code(reply, "code")
    status = code // 100000 if 10_000_000 <= code <= 99_999_999 else resp.status_code
    cls = errors.error_class(
        (resp.status_code, status), _BY_STATUS.get(status, _BY_STATUS.get(resp.status_code, errors.ApiError))
    )
    return transport.api_error(cls, code, str(reply.get("msg", "")), resp, reply, platform="wps")


def _seg(value: str | int) -> str:
    return quote(str(value), safe="")


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _model(cls: type[M], given: M | None, fields: Mapping[str, Any]) -> M:
    if given is None:
        return cls.model_validate(dict(fields))
    return cls.model_validate({**given.model_dump(exclude_unset=True), **fields}) if fields else given


def _bodies(cls: type[R], items: Iterable[R | Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [request(cls, item).body() for item in items]


_users = list_of(User, "items")
_depts = list_of(Dept, "items")
_definitions = list_of(AttrDefinition, "items")
_user_attrs = list_of(UserAttrs, "users")


def _nothing(_data: Any) -> None:
    return None


def _page(item: type[M]) -> Any:
    items = list_of(item, "items")

    def parse(data: Any) -> Page[M]:
        total = data.get("total")
        next_token = data.get("next_page_token") or None
        return Page(items(data), next_token, int(total) if total is not None else None)

    return parse


def _paging(page_size: int | None, page_token: str | None, with_total: bool) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if page_size is not None:
        out.append(("page_size", str(page_size)))
    if page_token:
        out.append(("page_token", page_token))
    if with_total:
        out.append(("with_total", "true"))
    return out


# -- users ------------------------------------------------------------------------------


def batch_read_users(
    user_ids: Sequence[str], *, status: Sequence[str] = ("active",), with_dept: bool = False
) -> Op[list[User]]:
    """``POST /v7/users/batch_read``: up to 100 users by id (ids not found are left out)."""
    body = {"user_ids": list(user_ids), "status": list(status), "with_dept": with_dept}
    return Op("POST", "/v7/users/batch_read", _users, json=body)


def get_user(user_id: str, *, with_dept: bool = False) -> Op[User]:
    """``GET /v7/users/{user_id}``: one user."""
    params = [("with_dept", "true")] if with_dept else []
    return Op("GET", f"/v7/users/{_seg(user_id)}", User.model_validate, params=params)


def list_users(
    *,
    status: Sequence[str] = ("active",),
    page_size: int | None = None,
    page_token: str | None = None,
    with_dept: bool = False,
    with_total: bool = False,
) -> Op[Page[User]]:
    """``GET /v7/users``: one page of the company's users (``page_size`` at most 50)."""
    params: list[tuple[str, str]] = [("status", s) for s in status]
    params += _paging(page_size, page_token, with_total)
    if with_dept:
        params.append(("with_dept", "true"))
    return Op("GET", "/v7/users", _page(User), params=params)


def _lookup(
    path: str, key: str, values: Sequence[str], status: Sequence[str], with_dept: bool
) -> Op[list[User]]:
    body = {key: list(values), "status": list(status), "with_dept": with_dept}
    return Op("POST", path, _users, json=body)


def get_users_by_emails(
    emails: Sequence[str], *, status: Sequence[str] = (), with_dept: bool = False
) -> Op[list[User]]:
    """``POST /v7/users/by_emails``: the users with these emails (``status`` empty: every status)."""
    return _lookup("/v7/users/by_emails", "emails", emails, status, with_dept)


def get_users_by_phones(
    phones: Sequence[str], *, status: Sequence[str] = (), with_dept: bool = False
) -> Op[list[User]]:
    """``POST /v7/users/by_phones``: the users with these phone numbers."""
    return _lookup("/v7/users/by_phones", "phones", phones, status, with_dept)


def get_users_by_ex_user_ids(
    ex_user_ids: Sequence[str], *, status: Sequence[str] = (), with_dept: bool = False
) -> Op[list[User]]:
    """``POST /v7/users/by_ex_user_ids``: the users with these external ids."""
    return _lookup("/v7/users/by_ex_user_ids", "ex_user_ids", ex_user_ids, status, with_dept)


def create_user(user: NewUser | None = None, /, **fields: Any) -> Op[User]:
    """``POST /v7/users/create``: a new user (give a :class:`NewUser` or its fields)."""
    body = _model(NewUser, user, fields).body()
    return Op("POST", "/v7/users/create", User.model_validate, json=body, idempotent=False)


def update_user(user_id: str, changes: UserUpdate | None = None, /, **fields: Any) -> Op[None]:
    """``POST /v7/users/{user_id}/update``: change the fields given (``""`` clears one)."""
    body = _model(UserUpdate, changes, fields).body()
    return Op("POST", f"/v7/users/{_seg(user_id)}/update", _nothing, json=body)


def delete_user(user_id: str) -> Op[None]:
    """``POST /v7/users/{user_id}/delete``."""
    return Op("POST", f"/v7/users/{_seg(user_id)}/delete", _nothing, json={}, idempotent=False)


def batch_enable_users(user_ids: Sequence[str]) -> Op[None]:
    """``POST /v7/users/batch_enable``: set users active again."""
    return Op("POST", "/v7/users/batch_enable", _nothing, json={"user_ids": list(user_ids)})


def batch_disable_users(user_ids: Sequence[str]) -> Op[None]:
    """``POST /v7/users/batch_disable``: disable users' accounts."""
    return Op("POST", "/v7/users/batch_disable", _nothing, json={"user_ids": list(user_ids)})


def batch_update_user_depts(items: Sequence[UserDepts | Mapping[str, Any]]) -> Op[None]:
    """``POST /v7/users/batch_update_dept``: replace up to 100 users' departments (all or none)."""
    body = {"items": _bodies(UserDepts, items)}
    return Op("POST", "/v7/users/batch_update_dept", _nothing, json=body)


def batch_update_user_orders(items: Sequence[UserOrder | Mapping[str, Any]]) -> Op[None]:
    """``POST /v7/users/batch_update_order``: users' order within their departments (all or none)."""
    body = {"user_order_list": _bodies(UserOrder, items)}
    return Op("POST", "/v7/users/batch_update_order", _nothing, json=body)


def get_user_depts(user_id: str) -> Op[list[Dept]]:
    """``GET /v7/users/{user_id}/depts``: the user's departments."""
    return Op("GET", f"/v7/users/{_seg(user_id)}/depts", _depts)


# -- departments ------------------------------------------------------------------------


def get_root_dept() -> Op[Dept]:
    """``GET /v7/depts/root``: the root department."""
    return Op("GET", "/v7/depts/root", Dept.model_validate)


def get_dept(dept_id: str | int) -> Op[Dept]:
    """``GET /v7/depts/{dept_id}``: one department."""
    return Op("GET", f"/v7/depts/{_seg(dept_id)}", Dept.model_validate)


def list_dept_children(
    dept_id: str | int,
    *,
    recursive: bool = False,
    page_size: int | None = None,
    page_token: str | None = None,
    with_total: bool = False,
) -> Op[Page[Dept]]:
    """``GET /v7/depts/{dept_id}/children``: one page of sub-departments (all levels with ``recursive``)."""
    params: list[tuple[str, str]] = _paging(page_size, page_token, with_total)
    if recursive:
        params.append(("recursive", "true"))
    return Op("GET", f"/v7/depts/{_seg(dept_id)}/children", _page(Dept), params=params)


def batch_read_depts(dept_ids: Sequence[str | int]) -> Op[list[Dept]]:
    """``POST /v7/depts/batch_read``: departments by id."""
    return Op("POST", "/v7/depts/batch_read", _depts, json={"dept_ids": [str(d) for d in dept_ids]})


def get_depts_by_ex_dept_ids(ex_dept_ids: Sequence[str]) -> Op[list[Dept]]:
    """``POST /v7/depts/by_ex_dept_ids``: departments by external id."""
    return Op("POST", "/v7/depts/by_ex_dept_ids", _depts, json={"ex_dept_ids": list(ex_dept_ids)})


def create_dept(dept: NewDept | None = None, /, **fields: Any) -> Op[Dept]:
    """``POST /v7/depts/create``: a new department (give a :class:`NewDept` or its fields)."""
    body = _model(NewDept, dept, fields).body()
    return Op("POST", "/v7/depts/create", Dept.model_validate, json=body, idempotent=False)


def update_dept(dept_id: str | int, changes: DeptUpdate | None = None, /, **fields: Any) -> Op[None]:
    """``POST /v7/depts/{dept_id}/update``: rename, move, reorder, change ex_dept_id or leaders."""
    body = _model(DeptUpdate, changes, fields).body()
    return Op("POST", f"/v7/depts/{_seg(dept_id)}/update", _nothing, json=body)


def delete_dept(dept_id: str | int) -> Op[None]:
    """``POST /v7/depts/{dept_id}/delete``: an empty department (no members, no children)."""
    return Op("POST", f"/v7/depts/{_seg(dept_id)}/delete", _nothing, json={}, idempotent=False)


def list_dept_members(
    dept_id: str | int,
    *,
    recursive: bool = False,
    status: Sequence[str] = (),
    with_user_detail: bool = False,
    page_size: int | None = None,
    page_token: str | None = None,
    with_total: bool = False,
) -> Op[Page[DeptMember]]:
    """``GET /v7/depts/{dept_id}/members``: one page of a department's members."""
    params: list[tuple[str, str]] = [("status", s) for s in status]
    params += _paging(page_size, page_token, with_total)
    if recursive:
        params.append(("recursive", "true"))
    if with_user_detail:
        params.append(("with_user_detail", "true"))
    return Op("GET", f"/v7/depts/{_seg(dept_id)}/members", _page(DeptMember), params=params)


def batch_read_dept_members(
    dept_id: str | int,
    user_ids: Sequence[str],
    *,
    status: Sequence[str] = ALL_STATUSES,
    with_user_detail: bool = False,
) -> Op[list[DeptMember]]:
    """``POST /v7/depts/{dept_id}/members/batch_read``: which of these users are members, and how."""
    body = {"user_ids": list(user_ids), "status": list(status), "with_user_detail": with_user_detail}
    return Op("POST", f"/v7/depts/{_seg(dept_id)}/members/batch_read", _members, json=body)


def _members(data: Any) -> list[DeptMember]:
    return [DeptMember.model_validate(m) for m in data.get("items") or []]


# -- custom attributes ------------------------------------------------------------------


def list_custom_attr_definitions() -> Op[list[AttrDefinition]]:
    """``GET /v7/companies/user_custom_attrs/batch_read``: the company's custom attributes."""
    return Op("GET", "/v7/companies/user_custom_attrs/batch_read", _definitions)


def create_custom_attr_definitions(
    items: Sequence[NewAttrDefinition | Mapping[str, Any]],
) -> Op[list[AttrDefinition]]:
    """``POST /v7/companies/user_custom_attrs/batch_create``: define attributes (all or none)."""
    body = {"items": _bodies(NewAttrDefinition, items)}
    return Op(
        "POST", "/v7/companies/user_custom_attrs/batch_create", _definitions, json=body, idempotent=False
    )


def update_custom_attr_definitions(
    items: Sequence[AttrDefinitionUpdate | Mapping[str, Any]],
) -> Op[list[AttrDefinition]]:
    """``POST /v7/companies/user_custom_attrs/batch_update``: rename attributes, change options."""
    body = {"items": _bodies(AttrDefinitionUpdate, items)}
    return Op("POST", "/v7/companies/user_custom_attrs/batch_update", _definitions, json=body)


def delete_custom_attr_definitions(attr_ids: Sequence[str]) -> Op[None]:
    """``POST /v7/companies/user_custom_attrs/batch_delete``: remove attributes and their values."""
    body = {"attr_ids": list(attr_ids)}
    return Op("POST", "/v7/companies/user_custom_attrs/batch_delete", _nothing, json=body, idempotent=False)


def read_custom_attrs(user_ids: Sequence[str]) -> Op[list[UserAttrs]]:
    """``POST /v7/users/custom_attrs/batch_read``: up to 50 users' attribute values."""
    return Op("POST", "/v7/users/custom_attrs/batch_read", _user_attrs, json={"user_ids": list(user_ids)})


def update_custom_attrs(users: Sequence[UserAttrsUpdate | Mapping[str, Any]]) -> Op[list[UserAttrs]]:
    """``POST /v7/users/custom_attrs/batch_update``: set up to 100 users' values (all or none)."""
    body = {"users": _bodies(UserAttrsUpdate, users)}
    return Op("POST", "/v7/users/custom_attrs/batch_update", _user_attrs, json=body)


class WpsEndpoints(transport.Engine[H, Any]):
    """What :class:`WpsClient` and :class:`AsyncWpsClient` share: the constructor and the typed methods."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        client_id: str,
        client_secret: str,
        signing: str | None = "kso1",
        prefix: str = "",
        timeout: float = transport.DEFAULT_TIMEOUT,
        http: H | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.dialect = WpsDialect(
            client_id=client_id, client_secret=client_secret, signing=signing, prefix=prefix
        )
        self.client_id = client_id
        super().__init__(self.dialect, base_url=base_url, timeout=timeout, http=http, retry=retry)

    batch_read_users = endpoint(batch_read_users)
    get_user = endpoint(get_user)
    iter_users = pages(list_users, cursor="page_token")
    list_users = endpoint(list_users)
    get_users_by_emails = endpoint(get_users_by_emails)
    get_users_by_phones = endpoint(get_users_by_phones)
    get_users_by_ex_user_ids = endpoint(get_users_by_ex_user_ids)
    create_user = endpoint(create_user)
    update_user = endpoint(update_user)
    delete_user = endpoint(delete_user)
    batch_enable_users = endpoint(batch_enable_users)
    batch_disable_users = endpoint(batch_disable_users)
    batch_update_user_depts = endpoint(batch_update_user_depts)
    batch_update_user_orders = endpoint(batch_update_user_orders)
    get_user_depts = endpoint(get_user_depts)
    get_root_dept = endpoint(get_root_dept)
    get_dept = endpoint(get_dept)
    iter_dept_children = pages(list_dept_children, cursor="page_token")
    list_dept_children = endpoint(list_dept_children)
    batch_read_depts = endpoint(batch_read_depts)
    get_depts_by_ex_dept_ids = endpoint(get_depts_by_ex_dept_ids)
    create_dept = endpoint(create_dept)
    update_dept = endpoint(update_dept)
    delete_dept = endpoint(delete_dept)
    iter_dept_members = pages(list_dept_members, cursor="page_token")
    list_dept_members = endpoint(list_dept_members)
    batch_read_dept_members = endpoint(batch_read_dept_members)
    list_custom_attr_definitions = endpoint(list_custom_attr_definitions)
    create_custom_attr_definitions = endpoint(create_custom_attr_definitions)
    update_custom_attr_definitions = endpoint(update_custom_attr_definitions)
    delete_custom_attr_definitions = endpoint(delete_custom_attr_definitions)
    read_custom_attrs = endpoint(read_custom_attrs)
    update_custom_attrs = endpoint(update_custom_attrs)


class WpsClient(WpsEndpoints[httpx.Client], transport.SyncEngine):
    """Synchronous WPS 365 v7 client."""


class AsyncWpsClient(WpsEndpoints[httpx.AsyncClient], transport.AsyncEngine):
    """Asynchronous WPS 365 v7 client (the same methods as :class:`WpsClient`, awaited)."""
