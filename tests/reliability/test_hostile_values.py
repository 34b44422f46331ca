"""Hostile values through a real server: any signature-date zone, any control-plane number.

Generated, not listed: hypothesis draws RFC 1123 dates with every two-digit
field and every numeric zone (``+0000`` to ``-9999``), and JSON numbers of any
size and shape (huge integers, ``1e400``, ``NaN``, ``-Infinity``, long
fractions) for every number the control plane takes. Each must get the
dialect's own error (WPS ``40100006`` / ``40100007``; the control plane's
``{"error": {"code": "invalid", "field": ...}}`` with HTTP 400), never a 5xx,
and a refused value changes nothing.

Requests are signed by the few lines below, written from
``shared/protocol/wps-v7.md`` (KSO-1 and WPS-4), not by the server's own code.
"""

from __future__ import annotations

import calendar
import math
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

import wps_signer
from conftest import ServerProcess, start_server
from reliability.fuzzing import fuzz_settings

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ADMIN = "hostile-values-admin"
TENANT = "hostile-values"
KSO_APP, KSO_SECRET = "hv-kso1", "hv-kso1-secret"
WPS4_APP, WPS4_SECRET = "hv-wps4", "hv-wps4-secret"
BATCH_READ = "/v7/users/batch_read"
BODY = b'{"user_ids":["nobody"],"status":["active"]}'
#: The clock may move 100 years either way (docs/emulator.md), in seconds.
CLOCK_RANGE = 100 * 365.25 * 86_400
#: The fuzzing profile's settings (reliability/fuzzing.py). The autouse fixture below puts the clock
#: back once per test; each example sets what it needs itself.
EXAMPLES = fuzz_settings(60, also_suppress=(HealthCheck.function_scoped_fixture,))
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data: Path = tmp_path_factory.mktemp("hostile-values") / "data"
    proc = start_server(data, "--admin-token", ADMIN)
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def admin(server: ServerProcess) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {ADMIN}"}
    with httpx.Client(base_url=server.base_url + "/_openroster", headers=headers, timeout=30) as client:
        apps = [
            {
                "client_id": KSO_APP,
                "client_secret": KSO_SECRET,
                "scopes": ["kso.contact.read"],
                "signing": "kso1",
            },
            {
                "client_id": WPS4_APP,
                "client_secret": WPS4_SECRET,
                "scopes": ["kso.contact.read"],
                "signing": "wps4",
            },
        ]
        assert client.post("/tenants", json={"id": TENANT, "apps": apps}).status_code == 201
        yield client


@pytest.fixture(scope="module")
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        yield client


@pytest.fixture(autouse=True)
def real_time(admin: httpx.Client) -> Iterator[None]:
    assert admin.put("/clock", json={"real_time": True}).status_code == 200
    yield
    assert admin.put("/clock", json={"real_time": True}).status_code == 200


@pytest.fixture(scope="module")
def tokens(admin: httpx.Client, http: httpx.Client) -> dict[str, str]:
    return {"KSO-1": token(http, KSO_APP, KSO_SECRET), "WPS-4": token(http, WPS4_APP, WPS4_SECRET)}


def token(http: httpx.Client, client_id: str, secret: str) -> str:
    resp = http.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert resp.status_code == 200, resp.text
    return str(resp.json()["access_token"])


def signed_batch_read(http: httpx.Client, scheme: str, bearer: str, date: str) -> httpx.Response:
    app, secret, date_header, auth_header = (
        (KSO_APP, KSO_SECRET, "X-Kso-Date", "X-Kso-Authorization")
        if scheme == "KSO-1"
        else (WPS4_APP, WPS4_SECRET, "Wps-Docs-Date", "Wps-Docs-Authorization")
    )
    ctype = "application/json"
    sig = wps_signer.signature(scheme, secret, "POST", BATCH_READ, ctype, date, BODY)
    headers = {
        "Content-Type": ctype,
        "Authorization": f"Bearer {bearer}",
        date_header: date,
        auth_header: f"{scheme} {app}:{sig}",
    }
    return http.post(BATCH_READ, content=BODY, headers=headers)


def wps_code(resp: httpx.Response) -> int:
    assert resp.headers["content-type"].startswith("application/json"), resp.text
    return int(resp.json()["code"])


def real_date(day: int, month: int, year: int, hh: int, mm: int, ss: int, zone: str) -> bool:
    """Whether the fields make a time the protocol's RFC 1123 date can name."""
    if zone not in ("GMT",) and (int(zone[1:3]) > 23 or int(zone[3:5]) > 59):
        return False
    return 1 <= day <= calendar.monthrange(year, month)[1] and hh < 24 and mm < 60 and ss < 60


# -- signature dates ---------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["KSO-1", "WPS-4"])
@pytest.mark.parametrize("zone", ["+2400", "-2400", "+9999", "-9959", "+0060"])
def test_a_zone_a_day_or_more_from_utc_is_the_date_error(
    tokens: dict[str, str], http: httpx.Client, scheme: str, zone: str
) -> None:
    date = time.strftime("%a, %d %b %Y %H:%M:%S ", time.gmtime()) + zone
    resp = signed_batch_read(http, scheme, tokens[scheme], date)
    assert (resp.status_code, wps_code(resp)) == (401, 40100006), resp.text


@given(
    scheme=st.sampled_from(["KSO-1", "WPS-4"]),
    weekday=st.sampled_from(DAYS),
    day=st.integers(1, 99),
    month=st.integers(1, 12),
    year=st.integers(1000, 9999).filter(lambda y: abs(y - time.gmtime().tm_year) > 1),
    hms=st.tuples(st.integers(0, 99), st.integers(0, 99), st.integers(0, 99)),
    zone=st.one_of(
        st.just("GMT"),
        st.tuples(st.sampled_from("+-"), st.integers(0, 9999)).map(lambda t: f"{t[0]}{t[1]:04d}"),
    ),
)
@EXAMPLES
def test_any_numeric_zone_gets_a_date_error_never_a_5xx(
    tokens: dict[str, str],
    http: httpx.Client,
    scheme: str,
    weekday: str,
    day: int,
    month: int,
    year: int,
    hms: tuple[int, int, int],
    zone: str,
) -> None:
    hh, mm, ss = hms
    date = f"{weekday}, {day:02d} {MONTHS[month - 1]} {year} {hh:02d}:{mm:02d}:{ss:02d} {zone}"
    resp = signed_batch_read(http, scheme, tokens[scheme], date)
    # A real time more than a year away is out of the 900 s window (40100007); anything else is no date.
    expected = 40100007 if real_date(day, month, year, hh, mm, ss, zone) else 40100006
    assert (resp.status_code, wps_code(resp)) == (401, expected), (date, resp.text)


def test_a_date_just_past_the_window_is_refused_with_its_exact_distance(
    admin: httpx.Client, http: httpx.Client, tokens: dict[str, str]
) -> None:
    date = "Sun, 06 Dec 2026 11:50:00 GMT"
    moment = calendar.timegm(time.strptime(date, "%a, %d %b %Y %H:%M:%S GMT"))
    assert admin.put("/clock", json={"set": moment + 900.4}).status_code == 200
    resp = signed_batch_read(http, "KSO-1", token(http, KSO_APP, KSO_SECRET), date)
    assert (resp.status_code, wps_code(resp)) == (401, 40100007), resp.text
    # 900.4 s and a few milliseconds of the call itself; never "900 s" (the limit) for a date past it
    assert re.search(r"is 900\.4\d\d s away from the server's clock", resp.json()["msg"]), resp.text


# -- the control plane's clock -----------------------------------------------------------------------


def json_number_texts() -> st.SearchStrategy[str]:
    """JSON number texts of any size, and the non-finite spellings Python's JSON reader accepts."""
    floats = st.floats(allow_nan=True, allow_infinity=True).map(
        lambda f: (
            "NaN" if math.isnan(f) else ("Infinity" if f > 0 else "-Infinity") if math.isinf(f) else repr(f)
        )
    )
    return st.one_of(
        st.integers().map(str),
        st.integers(-(10**30), 10**30).map(str),
        floats,
        st.from_regex(r"-?[1-9][0-9]{0,40}(\.[0-9]{1,20})?([eE][+-]?[0-9]{1,4})?", fullmatch=True),
    )


def number_of(text: str) -> float:
    try:
        return float(text)
    except OverflowError:
        return math.inf


def clock_offset(admin: httpx.Client) -> float:
    resp = admin.get("/clock")
    assert resp.status_code == 200, resp.text
    return float(resp.json()["offset_seconds"])


def assert_refused(resp: httpx.Response, field: str) -> None:
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["code"] == "invalid", resp.text
    assert resp.json()["error"]["field"] == field, resp.text


@given(text=json_number_texts())
@EXAMPLES
def test_any_clock_advance_is_applied_or_refused_without_moving_the_clock(
    admin: httpx.Client, text: str
) -> None:
    assert admin.put("/clock", json={"real_time": True}).status_code == 200  # each example from real time
    seconds = number_of(text)
    resp = admin.put("/clock", content=f'{{"advance": {text}}}', headers={"Content-Type": "application/json"})
    if not math.isfinite(seconds) or abs(seconds) > CLOCK_RANGE + 1:
        assert_refused(resp, "advance")
        assert clock_offset(admin) == 0.0
    elif abs(seconds) < CLOCK_RANGE - 1:
        assert resp.status_code == 200, resp.text
        assert clock_offset(admin) == pytest.approx(seconds)
    else:  # within a second of the limit: either answer, never a 5xx
        assert resp.status_code in (200, 400), resp.text


@given(text=json_number_texts())
@EXAMPLES
def test_any_clock_set_is_applied_or_refused_without_moving_the_clock(admin: httpx.Client, text: str) -> None:
    assert admin.put("/clock", json={"advance": 3600}).status_code == 200
    before = clock_offset(admin)
    moment = number_of(text)
    resp = admin.put("/clock", content=f'{{"set": {text}}}', headers={"Content-Type": "application/json"})
    away = abs(moment - time.time()) if math.isfinite(moment) else math.inf
    if away > CLOCK_RANGE + 60:
        assert_refused(resp, "set")
        assert clock_offset(admin) == before
    elif away < CLOCK_RANGE - 60:
        assert resp.status_code == 200, resp.text
        assert resp.json()["timestamp"] == pytest.approx(moment, abs=60)
    else:
        assert resp.status_code in (200, 400), resp.text


@pytest.mark.parametrize(
    "body",
    [
        '{"advance": 1e20}',
        '{"advance": 1e308}',
        '{"advance": -1e308}',
        '{"advance": NaN}',
        '{"advance": 99999999999999999999999}',
        '{"set": 1e20}',
        '{"set": -1e20}',
        '{"set": "9999-12-31T00:00:00Z"}',
        '{"set": ""}',  # found by the control plane's schemathesis run: an HTTP 500
    ],
)
def test_the_reported_clock_values_are_refused_and_tokens_still_work(
    admin: httpx.Client, http: httpx.Client, body: str
) -> None:
    resp = admin.put("/clock", content=body, headers={"Content-Type": "application/json"})
    assert_refused(resp, next(iter(orjson.loads(body.replace("NaN", "0")))))
    assert clock_offset(admin) == 0.0
    # DingTalk-style and WPS token issuing carry on as before (they failed with the clock at 1e20).
    assert token(http, KSO_APP, KSO_SECRET)


def test_a_token_minted_while_the_clock_was_ahead_is_refused_once_it_goes_back(
    admin: httpx.Client, http: httpx.Client
) -> None:
    assert admin.put("/clock", json={"advance": 10 * 365 * 86_400}).status_code == 200
    ahead = token(http, WPS4_APP, WPS4_SECRET)
    assert admin.put("/clock", json={"real_time": True}).status_code == 200
    now = token(http, WPS4_APP, WPS4_SECRET)
    date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())
    assert wps_code(signed_batch_read(http, "WPS-4", now, date)) == 0
    refused = signed_batch_read(http, "WPS-4", ahead, date)
    assert (refused.status_code, wps_code(refused)) == (401, 40100003), refused.text


# -- fault rules and journal queries -----------------------------------------------------------------

#: Each number a fault rule takes, with the smallest and largest value it accepts (docs/emulator.md).
FAULT_NUMBERS = {
    "code": (-(2**31), 2**31 - 1),
    "status": (100, 599),
    "retry_after": (0, 86_400),
    "latency_ms": (0, 120_000),
    "times": (1, 1_000_000),
}


@given(field=st.sampled_from(sorted(FAULT_NUMBERS)), text=json_number_texts())
@EXAMPLES
def test_any_fault_rule_number_is_taken_or_refused_naming_it(
    admin: httpx.Client, field: str, text: str
) -> None:
    rule = {"match": {"path": "/nowhere"}, "action": "http", "status": 503}
    raw = orjson.dumps(rule).decode()[:-1] + f', "{field}": {text}}}'
    resp = admin.post("/faults", content=raw, headers={"Content-Type": "application/json"})
    low, high = FAULT_NUMBERS[field]
    value = number_of(text)
    whole = math.isfinite(value) and value == int(value) and "." not in text and "e" not in text.lower()
    if whole and low <= int(text) <= high:
        assert resp.status_code == 201, resp.text
        assert resp.json()[field if field != "times" else "remaining"] == int(text)
    else:
        assert_refused(resp, field)
    assert admin.delete("/faults").status_code == 200
    assert admin.get("/faults").json() == []


@given(
    param=st.sampled_from(["code", "status", "after", "limit", "since"]),
    text=json_number_texts(),
)
@EXAMPLES
def test_any_journal_query_number_is_taken_or_refused_naming_it(
    admin: httpx.Client, param: str, text: str
) -> None:
    resp = admin.get("/journal", params={param: text})
    assert resp.status_code in (200, 400), resp.text
    if resp.status_code == 400:
        assert resp.json()["error"]["code"] == "invalid", resp.text
        assert resp.json()["error"]["field"] == param, resp.text


# -- tenant seeds --------------------------------------------------------------------------------------

_seeded = iter(range(10**9))


@given(text=json_number_texts())
@EXAMPLES
def test_any_number_in_a_seed_is_taken_or_refused_and_a_refused_seed_creates_nothing(
    admin: httpx.Client, text: str
) -> None:
    """A seed is stored as JSON: a number past 64 bits (``{"seed": {"": -9223372036854775809}}``,
    found by the control plane's schemathesis run) was an HTTP 500. Any number is now taken or
    refused naming ``seed``, and a refused seed leaves no tenant behind."""
    tenant = f"seeded-{next(_seeded)}"
    raw = f'{{"id": "{tenant}", "seed": {{"name": "S", "extra": {text}}}}}'
    resp = admin.post("/tenants", content=raw, headers={"Content-Type": "application/json"})
    value = number_of(text)
    past_64_bits = "." not in text and "e" not in text.lower() and math.isfinite(value)
    past_64_bits = past_64_bits and not -(2**63) <= int(text) < 2**64
    if past_64_bits:
        assert_refused(resp, "seed")
        assert admin.get(f"/tenants/{tenant}").status_code == 404
    else:
        assert resp.status_code == 201, resp.text
        assert admin.delete(f"/tenants/{tenant}").status_code == 204
