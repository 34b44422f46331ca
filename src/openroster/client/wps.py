"""A WPS 365 v7 client: client-credentials tokens, request signing, the envelope."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson

from openroster.client.errors import ApiError, AuthenticationError
from openroster.dialects.wps import signing as sig

_SCHEMES = {"kso1": sig.KSO1, "wps4": sig.WPS4, "wps4gm": sig.WPS4GM}
#: Refresh a token this many seconds before it expires.
_REFRESH_MARGIN = 300


class WpsClient:
    """Synchronous WPS 365 v7 client.

    ``prefix`` is a private deployment's gateway prefix (``/openapi`` or
    ``/graph``); it is sent but never signed.
    """

    def __init__(
        self,
        base_url: str = "https://openapi.wps.cn",
        *,
        client_id: str,
        client_secret: str,
        signing: str | None = "kso1",
        prefix: str = "",
        timeout: float = 30.0,
        http: httpx.Client | None = None,
    ) -> None:
        if signing is not None and signing not in _SCHEMES:
            raise ValueError(f"signing must be one of {', '.join(_SCHEMES)} or None")
        self.client_id = client_id
        self._secret = client_secret
        self._scheme = _SCHEMES[signing] if signing else None
        self._prefix = prefix.rstrip("/")
        self._http = http or httpx.Client(base_url=base_url, timeout=timeout)
        self._token: str | None = None
        self._token_expires = 0.0
        self._lock = threading.Lock()

    def __enter__(self) -> WpsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- tokens -------------------------------------------------------------

    def fetch_token(self) -> str:
        resp = self._http.post(
            self._prefix + "/oauth2/token",
            content=urlencode(
                {
                    "grant_type": "client_credentials",
                    "client_id": self.client_id,
                    "client_secret": self._secret,
                }
            ),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        data = _json(resp)
        if "access_token" not in data:
            raise AuthenticationError(
                int(data.get("code", -1)), str(data.get("msg", resp.text)), http_status=resp.status_code
            )
        self._token = str(data["access_token"])
        self._token_expires = time.time() + float(data.get("expires_in", 7200))
        return self._token

    def token(self) -> str:
        with self._lock:
            if self._token is None or time.time() > self._token_expires - _REFRESH_MARGIN:
                return self.fetch_token()
            return self._token

    # -- calls ----------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        content: bytes | None = None,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """Call ``path`` (``/v7/...``) and return the reply's ``data``; raise :class:`ApiError` otherwise."""
        resp = self.send(
            method,
            path,
            json=json,
            params=params,
            content=content,
            content_type=content_type,
            headers=headers,
        )
        data = _json(resp)
        code = int(data.get("code", -1))
        if code != 0:
            cls = AuthenticationError if resp.status_code == 401 else ApiError
            raise cls(
                code,
                str(data.get("msg", "")),
                http_status=resp.status_code,
                request_id=resp.headers.get("x-request-id"),
            )
        return data.get("data")

    def send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        content: bytes | None = None,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Sign and send one request; return the raw HTTP response."""
        body = content if content is not None else (orjson.dumps(json) if json is not None else b"")
        ctype = (
            content_type
            if content_type is not None
            else ("application/json" if body or method != "GET" else "")
        )
        query = urlencode(list(params.items()) if isinstance(params, Mapping) else params or [], doseq=True)
        uri = path + (f"?{query}" if query else "")
        out = {"Authorization": f"Bearer {self.token()}"}
        if ctype:
            out["Content-Type"] = ctype
        if self._scheme is not None:
            out.update(sig.sign_headers(self._scheme, self.client_id, self._secret, method, uri, ctype, body))
        if headers:
            out.update(headers)
        return self._http.request(method, self._prefix + uri, content=body, headers=out)

    # -- typed methods ------------------------------------------------------------

    def batch_read_users(
        self, user_ids: list[str], *, status: list[str] | None = None, with_dept: bool = False
    ) -> list[dict[str, Any]]:
        data = self.request(
            "POST",
            "/v7/users/batch_read",
            json={"user_ids": user_ids, "status": status or ["active"], "with_dept": with_dept},
        )
        return list(data["items"])

    def create_user(self, **fields: Any) -> dict[str, Any]:
        return dict(self.request("POST", "/v7/users/create", json=fields))

    def create_dept(self, *, name: str, parent_id: str, **fields: Any) -> dict[str, Any]:
        return dict(
            self.request("POST", "/v7/depts/create", json={"name": name, "parent_id": parent_id, **fields})
        )

    def list_custom_attr_definitions(self) -> list[dict[str, Any]]:
        return list(self.request("GET", "/v7/companies/user_custom_attrs/batch_read")["items"])

    def create_custom_attr_definitions(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return list(
            self.request("POST", "/v7/companies/user_custom_attrs/batch_create", json={"items": items})[
                "items"
            ]
        )

    def update_custom_attrs(self, users: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return list(
            self.request("POST", "/v7/users/custom_attrs/batch_update", json={"users": users})["users"]
        )

    def read_custom_attrs(self, user_ids: list[str]) -> list[dict[str, Any]]:
        return list(
            self.request("POST", "/v7/users/custom_attrs/batch_read", json={"user_ids": user_ids})["users"]
        )


def _json(resp: httpx.Response) -> dict[str, Any]:
    try:
        data = orjson.loads(resp.content)
    except orjson.JSONDecodeError:
        raise ApiError(
            -1, f"not a JSON reply (HTTP {resp.status_code}): {resp.text[:200]}", http_status=resp.status_code
        ) from None
    if not isinstance(data, dict):
        raise ApiError(-1, "reply is not a JSON object", http_status=resp.status_code)
    return data
