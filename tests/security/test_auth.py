"""Authentication: what a stolen, replayed, altered, expired or revoked credential gets.

- WPS signatures (KSO-1, WPS-4, WPS-4-GM) cover the method, the path and query,
  the content type, the date and the body: a signature made for one request is
  refused on any other, on a request dated outside the 15-minute window (also when
  replayed after the server's clock moved on), and under the wrong scheme.
- Tokens expire (WPS 2 h, DingTalk 2 h) and die with the secret they were issued
  under (rotation through the control plane or ``openroster app rotate-secret``,
  seen at once by a server already running on the store).
- Secrets, signatures and tokens are compared in constant time: no ``==`` on them
  anywhere in the server (an AST scan of the source).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

import wps_signer
from openroster.testing.control import ControlClient, ControlError
from reliability.replies import check_reply
from reliability.servers import ADMIN_TOKEN, WorldServer, backend_params, world_server
from security.world import secret_of

pytestmark = pytest.mark.slow

SCHEMES = {"kso": wps_signer.KSO1, "wps4": wps_signer.WPS4, "gm": wps_signer.WPS4GM}
BATCH_READ = "/v7/users/batch_read"
BODY = orjson.dumps({"user_ids": ["shared-1"], "status": ["active"]})
JSON = "application/json"

sqlite_only = pytest.mark.parametrize("world", ["sqlite"], indirect=True)


@pytest.fixture(scope="module", params=backend_params())
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorldServer]:
    with world_server(request, tmp_path_factory, str(request.param)) as w:
        yield w


@pytest.fixture
def http(world: WorldServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=world.base_url, timeout=30) as client:
        yield client


@pytest.fixture
def control(world: WorldServer) -> Iterator[ControlClient]:
    """The control plane; the server's clock is set back to real time after the test."""
    with ControlClient(world.base_url, ADMIN_TOKEN) as c:
        yield c
        c.real_time()


def wps_token(http: httpx.Client, cid: str, secret: str | None = None) -> str:
    resp = http.post(
        "/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": cid,
            "client_secret": secret or secret_of(cid),
        },
    )
    assert resp.status_code == 200, resp.text
    return str(resp.json()["access_token"])


def dingtalk_token(http: httpx.Client, appkey: str, secret: str | None = None) -> dict[str, Any]:
    reply: dict[str, Any] = http.get(
        "/gettoken", params={"appkey": appkey, "appsecret": secret or secret_of(appkey)}
    ).json()
    return reply


def signed_call(
    http: httpx.Client,
    cid: str,
    *,
    token: str,
    scheme: str | None = None,
    method: str = "POST",
    signed: tuple[str, str, str, bytes] | None = None,
    sent: tuple[str, str, str, bytes] | None = None,
    when: datetime | None = None,
    secret: str | None = None,
    access_key: str | None = None,
) -> dict[str, Any]:
    """Sign ``signed`` = (method, uri, content type, body) as app ``cid``; send ``sent`` (default: that)."""
    scheme = scheme or SCHEMES[cid.split("-", 1)[1]]
    signed = signed or (method, BATCH_READ, JSON, BODY)
    sent = sent or signed
    headers = wps_signer.sign_headers(
        scheme,
        access_key or cid,
        secret or secret_of(cid),
        signed[0],
        signed[1],
        signed[2],
        signed[3],
        now=when or datetime.now(UTC),
    )
    headers["Authorization"] = f"Bearer {token}"
    if sent[2]:
        headers["Content-Type"] = sent[2]
    resp = http.request(sent[0], sent[1], content=sent[3], headers=headers)
    return check_reply(sent[1], resp.status_code, resp.headers, resp.content)


# -- signatures ---------------------------------------------------------------------------------


@pytest.mark.e2e
@sqlite_only
@pytest.mark.parametrize("kind", list(SCHEMES))
def test_a_signature_covers_method_path_query_content_type_and_body(
    world: WorldServer, http: httpx.Client, kind: str
) -> None:
    cid = world.acme.app(kind)
    token = wps_token(http, cid)
    genuine = ("POST", BATCH_READ, JSON, BODY)
    assert signed_call(http, cid, token=token, signed=genuine)["code"] == 0
    other_body = orjson.dumps({"user_ids": ["shared-2"], "status": ["active"]})
    altered = {
        "path": ("POST", "/v7/users/by_ex_user_ids", JSON, BODY),
        "prefix-less path under a gateway prefix": ("POST", "/openapi/v7/users/batch_read?x=1", JSON, BODY),
        "query": ("POST", BATCH_READ + "?with_dept=true", JSON, BODY),
        "body": ("POST", BATCH_READ, JSON, other_body),
        "one byte of the body": ("POST", BATCH_READ, JSON, BODY.replace(b"active", b"activ ")),
        "content type": ("POST", BATCH_READ, "application/json; charset=utf-8", BODY),
        "method": ("GET", BATCH_READ, JSON, BODY),
    }
    header = wps_signer.HEADERS[SCHEMES[kind]].authorization
    for what, sent in altered.items():
        reply = signed_call(http, cid, token=token, signed=genuine, sent=sent)
        assert reply["code"] == 40100001, (kind, what, reply)
        assert "sign check fail" in reply["msg"] and header in reply["msg"], (what, reply["msg"])
    assert (
        "charset" in signed_call(http, cid, token=token, signed=genuine, sent=altered["content type"])["msg"]
    )
    query = signed_call(http, cid, token=token, signed=genuine, sent=altered["query"])["msg"]
    assert BATCH_READ + "?with_dept=true" in query, query
    # A body the signature would leave out (WPS-4: neither JSON nor a form) is refused, not trusted.
    plain = ("POST", BATCH_READ, "text/plain", BODY)
    reply = signed_call(http, cid, token=token, signed=plain)
    assert reply["code"] == (0 if kind == "kso" else 41500001), (kind, reply)


@pytest.mark.e2e
@sqlite_only
@pytest.mark.parametrize("kind", list(SCHEMES))
def test_a_signature_made_with_another_key_or_by_another_app_is_refused(
    world: WorldServer, http: httpx.Client, kind: str
) -> None:
    cid = world.acme.app(kind)
    token = wps_token(http, cid)
    header = wps_signer.HEADERS[SCHEMES[kind]].authorization
    reply = signed_call(http, cid, token=token, secret="not-the-secret-at-all")
    assert reply["code"] == 40100001 and header in reply["msg"], reply
    other = world.globex.app(kind)  # another company's app signs with its own secret and key
    reply = signed_call(http, cid, token=token, secret=secret_of(other), access_key=other)
    assert reply["code"] == 40100001 and "access key" in reply["msg"], reply
    # Another company's genuine signature and token are its own: they read its people, not acme's.
    reply = signed_call(http, other, token=wps_token(http, other))
    assert reply["code"] == 0 and all(u["user_name"].startswith("Globexval") for u in reply["data"]["items"])


@pytest.mark.e2e
@sqlite_only
def test_a_signature_under_the_wrong_scheme_is_refused(world: WorldServer, http: httpx.Client) -> None:
    for kind, wrong in (
        ("kso", wps_signer.WPS4),
        ("wps4", wps_signer.KSO1),
        ("gm", wps_signer.WPS4),
        ("wps4", wps_signer.WPS4GM),
    ):
        cid = world.acme.app(kind)
        reply = signed_call(http, cid, token=wps_token(http, cid), scheme=wrong)
        assert reply["code"] == 40100008, (kind, wrong, reply)
        # The message names the header sent and the scheme the app signs with; when the header is
        # the app's own (WPS-4 and WPS-4-GM share theirs), the scheme it carried too.
        words = [wps_signer.HEADERS[wrong].authorization, SCHEMES[kind]]
        if wps_signer.HEADERS[wrong] == wps_signer.HEADERS[SCHEMES[kind]]:
            words.append(wrong)
        for word in words:
            assert word in reply["msg"], (kind, wrong, word, reply)
    # No signature at all from an app that must sign: the message names the header it needs.
    for kind in ("kso", "wps4"):
        cid = world.acme.app(kind)
        resp = http.post(
            BATCH_READ,
            content=BODY,
            headers={"Authorization": f"Bearer {wps_token(http, cid)}", "Content-Type": JSON},
        )
        reply = check_reply(BATCH_READ, resp.status_code, resp.headers, resp.content)
        assert reply["code"] == 40100005, (kind, reply)
        for word in (wps_signer.HEADERS[SCHEMES[kind]].authorization, SCHEMES[kind]):
            assert word in reply["msg"], (kind, word, reply)


@pytest.mark.e2e
@sqlite_only
@pytest.mark.parametrize("kind", list(SCHEMES))
def test_a_signature_outside_the_15_minute_window_is_refused_also_when_replayed_later(
    world: WorldServer, http: httpx.Client, control: ControlClient, kind: str
) -> None:
    cid = world.acme.app(kind)
    token = wps_token(http, cid)
    now = datetime.now(UTC)
    date_header = wps_signer.HEADERS[SCHEMES[kind]].date
    for skew in (timedelta(minutes=-16), timedelta(minutes=16), timedelta(days=-365)):
        reply = signed_call(http, cid, token=token, when=now + skew)
        assert reply["code"] == 40100007, (skew, reply)
        assert date_header in reply["msg"] and "900" in reply["msg"], (skew, reply)
    assert signed_call(http, cid, token=token, when=now - timedelta(minutes=14))["code"] == 0
    # A request captured now and replayed once the clock has moved 16 minutes on.
    date = wps_signer.format_date(datetime.now(UTC))
    names = wps_signer.HEADERS[SCHEMES[kind]]
    sig = wps_signer.signature(SCHEMES[kind], secret_of(cid), "POST", BATCH_READ, JSON, date, BODY)
    captured = {
        "Authorization": f"Bearer {token}",
        "Content-Type": JSON,
        names.date: date,
        names.authorization: wps_signer.authorization(SCHEMES[kind], cid, sig),
    }
    replay = lambda: http.post(BATCH_READ, content=BODY, headers=captured)  # noqa: E731
    first = replay()
    assert check_reply(BATCH_READ, first.status_code, first.headers, first.content)["code"] == 0
    # Within the window a replay is accepted, as on the platform (no nonce); docs/security.md says so.
    again = replay()
    assert check_reply(BATCH_READ, again.status_code, again.headers, again.content)["code"] == 0
    control.advance_clock(16 * 60)
    late = replay()
    assert check_reply(BATCH_READ, late.status_code, late.headers, late.content)["code"] == 40100007


# -- tokens ---------------------------------------------------------------------------------------


@pytest.mark.e2e
def test_tokens_expire_with_the_servers_clock(
    world: WorldServer, http: httpx.Client, control: ControlClient
) -> None:
    cid = world.acme.app("wps")
    token = wps_token(http, cid)
    ding = dingtalk_token(http, world.acme.app("ding"))["access_token"]
    auth = {"Authorization": f"Bearer {token}"}

    def wps_code() -> int:
        resp = http.post(BATCH_READ, content=BODY, headers={**auth, "Content-Type": JSON})
        return int(check_reply(BATCH_READ, resp.status_code, resp.headers, resp.content)["code"])

    def ding_code() -> int:
        path = "/topapi/v2/user/get"
        resp = http.post(path, params={"access_token": ding}, json={"userid": "shared-1"})
        return int(check_reply(path, resp.status_code, resp.headers, resp.content)["errcode"])

    assert (wps_code(), ding_code()) == (0, 0)
    control.advance_clock(7200 - 60)
    assert (wps_code(), ding_code()) == (0, 0)
    control.advance_clock(120)
    assert wps_code() == 40100004
    assert ding_code() == 42001


@pytest.mark.e2e
def test_a_rotated_secret_revokes_every_token_and_the_old_secret(
    world: WorldServer, http: httpx.Client, control: ControlClient
) -> None:
    """Rotation through the control plane: WPS tokens (self-contained) and DingTalk tokens (stored) die."""
    for spec in (
        {"client_id": "acme-rot-wps", "signing": "kso1", "scopes": ["kso.contact.read"]},
        {"client_id": "acme-rot-ding", "agentid": 4242, "scopes": ["qyapi_get_member"]},
    ):
        control.add_app("acme", client_secret=secret_of(spec["client_id"]), **spec)
    wps_old = wps_token(http, "acme-rot-wps")
    ding_old = dingtalk_token(http, "acme-rot-ding")["access_token"]
    new = {
        cid: control.rotate_secret("acme", cid)["client_secret"] for cid in ("acme-rot-wps", "acme-rot-ding")
    }
    assert all(s != secret_of(c) for c, s in new.items())
    _assert_rotated(http, "acme-rot-wps", "acme-rot-ding", wps_old, ding_old, new)
    with pytest.raises(ControlError) as foreign:
        control.rotate_secret("globex", "acme-rot-wps")  # only within the app's own company
    assert foreign.value.status == 404


@pytest.mark.e2e
def test_the_cli_rotates_a_secret_under_a_running_server(world: WorldServer, http: httpx.Client) -> None:
    """``openroster app rotate-secret`` writes the store; the running server refuses old tokens at once."""
    control = ControlClient(world.base_url, ADMIN_TOKEN)
    for spec in (
        {"client_id": "acme-cli-wps", "signing": "kso1", "scopes": ["kso.contact.read"]},
        {"client_id": "acme-cli-ding", "agentid": 4343, "scopes": ["qyapi_get_member"]},
    ):
        control.add_app("acme", client_secret=secret_of(spec["client_id"]), **spec)
    control.close()
    wps_old = wps_token(http, "acme-cli-wps")
    ding_old = dingtalk_token(http, "acme-cli-ding")["access_token"]
    new: dict[str, str] = {}
    for cid in ("acme-cli-wps", "acme-cli-ding"):
        args = [
            sys.executable,
            "-m",
            "openroster",
            "app",
            "rotate-secret",
            cid,
            "--data-dir",
            str(world.data_dir),
        ]
        if world.database_url.startswith("postgresql"):
            args += ["--database-url", world.database_url]
        out = subprocess.run(args, capture_output=True, text=True, timeout=120, check=True)
        new[cid] = orjson.loads(out.stdout)["client_secret"]
    _assert_rotated(http, "acme-cli-wps", "acme-cli-ding", wps_old, ding_old, new)


def _assert_rotated(
    http: httpx.Client, wps_cid: str, ding_cid: str, wps_old: str, ding_old: str, new: dict[str, str]
) -> None:
    # The old tokens are refused...
    reply = signed_call(http, wps_cid, token=wps_old, scheme=wps_signer.KSO1, secret=new[wps_cid])
    assert reply["code"] == 40100003, reply
    path = "/topapi/v2/user/get"
    resp = http.post(path, params={"access_token": ding_old}, json={"userid": "shared-1"})
    assert check_reply(path, resp.status_code, resp.headers, resp.content)["errcode"] == 88
    # ...and so is the old secret...
    resp = http.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": wps_cid, "client_secret": secret_of(wps_cid)},
    )
    assert check_reply("/oauth2/token", resp.status_code, resp.headers, resp.content)["code"] == 40100009
    assert dingtalk_token(http, ding_cid)["errcode"] == 40096
    # ...and a signature made with it, under a fresh token.
    fresh = wps_token(http, wps_cid, new[wps_cid])
    assert signed_call(http, wps_cid, token=fresh, scheme=wps_signer.KSO1)["code"] == 40100001
    assert signed_call(http, wps_cid, token=fresh, scheme=wps_signer.KSO1, secret=new[wps_cid])["code"] == 0
    ding_new = dingtalk_token(http, ding_cid, new[ding_cid])
    assert ding_new["errcode"] == 0 and ding_new["access_token"] != ding_old


@pytest.mark.e2e
@sqlite_only
def test_a_token_of_one_dialect_is_no_token_of_the_other(world: WorldServer, http: httpx.Client) -> None:
    wps = wps_token(http, world.acme.app("wps"))
    ding = dingtalk_token(http, world.acme.app("ding"))["access_token"]
    path = "/topapi/v2/user/get"
    resp = http.post(path, params={"access_token": wps}, json={"userid": "shared-1"})
    assert check_reply(path, resp.status_code, resp.headers, resp.content)["errcode"] == 88
    resp = http.post(
        BATCH_READ, content=BODY, headers={"Authorization": f"Bearer {ding}", "Content-Type": JSON}
    )
    assert check_reply(BATCH_READ, resp.status_code, resp.headers, resp.content)["code"] == 40100003
    # A WPS token minted for one app is no token for another, however it is edited.
    body, _, mac = wps.rpartition(".")
    for forged in (
        body + "." + mac[:-1] + ("A" if mac[-1] != "A" else "B"),
        body + "x." + mac,
        wps[:-3],
        "x",
    ):
        resp = http.post(
            BATCH_READ, content=BODY, headers={"Authorization": f"Bearer {forged}", "Content-Type": JSON}
        )
        assert check_reply(BATCH_READ, resp.status_code, resp.headers, resp.content)["code"] == 40100003


# -- constant-time comparison -------------------------------------------------------------------

SRC = Path(__file__).resolve().parents[2] / "src" / "openroster"
#: Names that hold a secret, a signature, a token or a MAC.
_SECRET_WORDS = ("secret", "signature", "sig", "token", "mac", "digest", "password", "credential")
#: Names that merely talk about one (kinds, counts, flags, header names).
_HARMLESS = (
    "kind",
    "type",
    "scheme",
    "signing",
    "name",
    "count",
    "len",
    "prefix",
    "path",
    "header",
    "version",
)


def _secretish(node: ast.expr) -> str | None:
    """The name of what ``node`` reads if it may hold a secret value (not a label)."""
    name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None
    if name is None or name.lstrip("_").isupper():
        return None  # a constant: a key name or label, not a secret
    low = name.lower()
    if any(w in low for w in _SECRET_WORDS) and not any(h in low for h in _HARMLESS):
        return name
    return None


def test_no_secret_signature_or_token_is_compared_with_equals() -> None:
    """Every comparison of a secret, signature, token or MAC in the server uses hmac.compare_digest.

    DingTalk tokens are found in the store by an HMAC of the token under a key derived from the
    master key (``dialects/dingtalk/tokens.py``): how long that index lookup takes tells nothing about
    the token, so that SQL comparison is the one allowed.
    """
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if "client" in path.relative_to(SRC).parts:  # the SDK compares nothing it receives
            continue
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Compare) and any(isinstance(op, ast.Eq | ast.NotEq) for op in node.ops):
                operands = [node.left, *node.comparators]
                if any(isinstance(o, ast.Constant) and o.value in (None, "", 0) for o in operands):
                    continue  # emptiness checks leak nothing
                if any(".c." in f".{ast.unparse(o)}" for o in operands if isinstance(o, ast.Attribute)):
                    continue  # SQL: the store finds tokens by their keyed hash (see above)
                names = [n for o in operands if (n := _secretish(o)) is not None]
                if names:
                    found.append(f"{path.relative_to(SRC)}:{node.lineno}: {ast.unparse(node)}")
    assert not found, "compare these with hmac.compare_digest:\n" + "\n".join(found)
    uses = sum(p.read_text().count("compare_digest") for p in SRC.rglob("*.py"))
    assert uses >= 4, uses
