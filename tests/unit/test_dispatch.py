"""The short way to plain routes (server/dispatch.py): the same routes, the same replies, the same errors.

``ExactRoutes`` answers a request naming a plain route exactly without FastAPI's
router. These tests hold it to FastAPI's behaviour: it indexes exactly the routes
that take the request alone, every other request still goes through FastAPI, and
an exception from an endpoint is answered by the app's handler in the dialect's
envelope. The bare benchmark endpoint takes the same way.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from bench.bare import NOT_CAPTURED, create_bench_app, load_replies, save_replies
from fastapi.routing import APIRoute
from starlette.responses import Response

from openroster.config import Settings
from openroster.core.directory import Directory
from openroster.dialects.dingtalk.dialect import DINGTALK
from openroster.dialects.pieces import EXTENSION as PIECES_EXTENSION
from openroster.dialects.pieces import PIECES
from openroster.dialects.wps.dialect import WPS
from openroster.server.app import create_app
from openroster.server.dispatch import ExactRoutes, plain

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def _calls(app: Any, *requests: tuple[str, str, dict[str, Any]]) -> list[httpx.Response]:
    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return [await client.request(method, path, **kw) for method, path, kw in requests]

    return asyncio.run(run())


def test_the_index_holds_every_plain_route_and_nothing_else(directory: Directory) -> None:
    app = create_app(Settings(), directory=directory)
    index = ExactRoutes(app, app.router).index
    routes = [r for r in app.routes if isinstance(r, APIRoute)]
    for r in routes:
        for method in r.methods:
            if plain(r):
                assert index[(method, r.path)] is r.endpoint, r.path
            else:
                assert (method, r.path) not in index or "{" not in r.path, r.path
    assert all("{" not in path for _method, path in index)
    for key in [
        ("POST", "/v7/users/batch_read"),
        ("POST", "/openapi/v7/users/batch_read"),
        ("POST", "/oauth2/token"),
        ("GET", "/gettoken"),
        ("POST", "/topapi/smartwork/hrm/employee/v2/list"),
    ]:
        assert key in index, key
    # Routes with path parameters or typed parameters stay with FastAPI.
    assert ("GET", "/v7/users/{user_id}") not in index
    assert not any(path.startswith("/_openroster") for _m, path in index)


def test_requests_off_the_index_get_fastapis_answers(directory: Directory) -> None:
    app = create_app(Settings(), directory=directory)
    by_id, wrong_method, unknown, ding_unknown = _calls(
        app,
        ("GET", "/v7/users/alice", {}),
        ("PUT", "/v7/users/batch_read", {}),
        ("POST", "/v7/nothing", {}),
        ("POST", "/topapi/v2/user/nothing", {"json": {}}),
    )
    assert by_id.status_code == 401 and by_id.json()["code"] == 40100002  # routed, then refused
    assert wrong_method.status_code == 405 and wrong_method.json()["code"] == 40500001
    assert unknown.status_code == 404 and unknown.json()["code"] == 40400001
    assert ding_unknown.status_code == 200 and ding_unknown.json()["errcode"] == 22  # unknown /topapi path


def test_an_endpoint_that_fails_is_answered_in_its_dialects_envelope(
    directory: Directory, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*_a: object, **_k: object) -> bytes:
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(WPS, "read_body", broken)
    monkeypatch.setattr(DINGTALK, "read_body", broken)
    app = create_app(Settings(), directory=directory)
    wps, ding = _calls(
        app,
        ("POST", "/v7/users/batch_read", {"json": {"user_ids": ["a"], "status": ["active"]}}),
        ("POST", "/topapi/v2/user/get", {"params": {"access_token": "x"}, "json": {"userid": "a"}}),
    )
    assert wps.status_code == 500
    assert wps.json() == {
        "code": 50000001,
        "msg": "internal error; the server log has the details",
        "data": None,
    }
    assert ding.status_code == 200
    body = ding.json()
    assert body["errcode"] == -1 and "the disk is on fire" not in ding.text
    assert "the disk is on fire" in caplog.text  # the log has the details


def test_the_bare_endpoint_parses_the_body_and_answers_the_captured_bytes(
    directory: Directory, tmp_path: Path
) -> None:
    payload = orjson.dumps({"code": 0, "msg": "", "data": {"items": [{"id": "a"}]}})
    (tmp_path / "bare.json").write_bytes(payload)
    app = create_bench_app(Settings(), (tmp_path / "bare.json").read_bytes(), directory=directory)
    assert ("POST", "/_bench/bare") in ExactRoutes(app, app.router).index
    ok, bad, ok_json, bad_json, get = _calls(
        app,
        ("POST", "/_bench/bare", {"json": {"user_ids": ["a"], "status": ["active"], "with_dept": True}}),
        ("POST", "/_bench/bare", {"json": {"user_ids": "a"}}),
        ("POST", "/_bench/bare_json", {"json": {"anything": 1}}),
        ("POST", "/_bench/bare_json", {"json": [1]}),
        ("GET", "/_bench/bare", {}),
    )
    assert (ok.status_code, ok.content) == (200, payload)
    assert bad.status_code == 400
    assert (ok_json.status_code, ok_json.content) == (200, payload)
    assert bad_json.status_code == 400
    assert (get.status_code, get.content) == (200, payload)
    # the same bytes, head and body, as starlette's plain Response of the reply
    plain_reply = Response(payload, media_type="application/json")
    for r in (ok, ok_json, get):
        assert [(k.lower(), v) for k, v in r.headers.raw] == plain_reply.raw_headers


def test_the_bare_endpoint_answers_in_one_piece_under_the_server(directory: Directory) -> None:
    # As the real calls' replies: the server's pieces extension gets the reply as one piece, so
    # the server writes its head and body in one call (server/writev.py).
    payload = orjson.dumps({"code": 0, "data": "bare"})
    app = create_bench_app(Settings(), payload, directory=directory)
    messages: list[Any] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        messages.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/_bench/bare",
        "raw_path": b"/_bench/bare",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"test")],
        "server": ("test", 80),
        "client": ("127.0.0.1", 1),
        "extensions": {PIECES_EXTENSION: {}},
    }

    asyncio.run(app(scope, receive, send))
    start, body = messages
    assert start[PIECES] is True and start["status"] == 200
    assert body[PIECES] == [payload] and body["body"] == b""


def test_the_bare_endpoint_answers_each_captured_request_its_own_reply(
    directory: Directory, tmp_path: Path
) -> None:
    one, two, page = (orjson.dumps({"code": 0, "data": n}) for n in ("one", "two", "page"))
    body_one = orjson.dumps({"user_ids": ["a"], "status": ["active"]})
    body_two = orjson.dumps({"anything": 2})
    save_replies(tmp_path / "replies", [(body_one, one), (body_two, two), (b"page_token=p2", page)])
    fallback = orjson.dumps({"code": 0, "data": "captured first"})
    app = create_bench_app(
        Settings(), fallback, replies=load_replies(tmp_path / "replies"), directory=directory
    )
    by_model, by_json, other, by_query, no_query = _calls(
        app,
        ("POST", "/_bench/bare", {"content": body_one}),
        ("POST", "/_bench/bare_json", {"content": body_two}),
        ("POST", "/_bench/bare_json", {"json": {"anything": 3}}),
        ("GET", "/_bench/bare?page_token=p2", {}),
        ("GET", "/_bench/bare", {}),
    )
    assert [r.content for r in (by_model, by_json, by_query)] == [one, two, page]
    # a request with no captured reply gets no other reply: an error a load generator counts
    assert [(r.status_code, r.content) for r in (other, no_query)] == [(404, NOT_CAPTURED)] * 2
