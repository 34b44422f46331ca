"""A url custom attribute takes an http(s) link and nothing else: no spaces, no control characters
(a CR LF in a link is a header-injection attempt wherever the link is echoed), no other scheme.
Refused with 40000008 naming the field, and nothing is written (the batch is all-or-nothing)."""

from __future__ import annotations

import pytest

from openroster.client import WpsClient
from openroster.client.errors import ApiError
from openroster.testing.plugin import OpenrosterTenant

pytestmark = pytest.mark.e2e

GOOD = "https://intranet.example.com/desk?id=42"


@pytest.fixture
def url_attr(wps_client: WpsClient) -> str:
    (definition,) = wps_client.create_custom_attr_definitions([{"name": "主页", "value_type": "url"}])
    return definition.id


@pytest.fixture
def people(wps_client: WpsClient) -> list[str]:
    return [wps_client.create_user(user_name=name, dept_ids=["1"]).id for name in ("Ada", "Bo")]


@pytest.mark.parametrize(
    "link",
    [
        pytest.param("https://a.b/\r\nSet-Cookie: x=1", id="crlf-header-injection"),
        pytest.param("https://a b c", id="spaces-in-the-host"),
        pytest.param("https://a.b/x y", id="a-space-in-the-path"),
        pytest.param("https://a.b/\tx", id="a-tab"),
        pytest.param("https://a.b/\x7f", id="del"),
        pytest.param("javascript:alert(1)", id="javascript-scheme"),
        pytest.param("ftp://a.b/file", id="ftp-scheme"),
        pytest.param("httpſ://a.b/", id="a-long-s-folding-to-https"),
        pytest.param("https://", id="no-host"),
        pytest.param("https://a.b:99999/", id="port-out-of-range"),
        pytest.param("https://a.b:port/", id="port-not-a-number"),
    ],
)
def test_a_link_that_is_not_an_http_url_is_refused_and_nothing_is_written(
    wps_client: WpsClient, url_attr: str, people: list[str], link: str
) -> None:
    ok = {
        "user_id": people[0],
        "custom_attrs": [{"attr_id": url_attr, "url": {"link": GOOD, "title": "desk"}}],
    }
    bad = {"user_id": people[1], "custom_attrs": [{"attr_id": url_attr, "url": {"link": link, "title": "x"}}]}
    with pytest.raises(ApiError) as refused:
        wps_client.update_custom_attrs([ok, bad])
    assert (refused.value.http_status, refused.value.code) == (400, 40000008)
    assert "users[1].custom_attrs[0].url.link" in refused.value.message
    assert all(not u.custom_attrs for u in wps_client.read_custom_attrs(people)), "a refused batch wrote"


def test_an_http_link_with_a_port_query_and_percent_escapes_is_stored_as_sent(
    wps_client: WpsClient, url_attr: str, people: list[str], openroster_tenant: OpenrosterTenant
) -> None:
    link = "http://intranet.example.com:8080/a%20b?q=%E4%BD%A0#top"
    wps_client.update_custom_attrs(
        [
            {
                "user_id": people[0],
                "custom_attrs": [{"attr_id": url_attr, "url": {"link": link, "title": "内网"}}],
            }
        ]
    )
    (user,) = wps_client.read_custom_attrs(people[:1])
    (value,) = user.custom_attrs
    assert (value.url.link, value.url.title) == (link, "内网")
