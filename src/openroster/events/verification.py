"""URL verification before a subscription is stored: WPS's challenge and DingTalk's ``check_url``.

- **WPS**: POST ``{"challenge": "<random>"}`` (neither signed nor encrypted); the receiver must
  answer HTTP 200 ``{"challenge": "<the same>"}`` within 1 s.
- **DingTalk**: POST the sealed ``{"EventType":"check_url"}`` (the subscription's token, aes_key
  and owner key); the reply must be a valid encrypted ``success`` within 1.5 s (the channel's
  own check of a reply).

Both are outgoing HTTP calls made with ``httpx.AsyncClient``: the event loop is not blocked.
A URL that fails is refused with :class:`InvalidValue` (field ``url``) naming what the receiver
answered: its status and the start of its body, or that it did not answer in time.
"""

from __future__ import annotations

import secrets

import httpx
import orjson

from openroster.dialects.dingtalk.callback_crypto import CHECK_URL_MESSAGE, seal_callback
from openroster.dialects.dingtalk.events import keys_of
from openroster.events.channels import channel
from openroster.model.changes import ChannelContext
from openroster.model.errors import InvalidValue

#: Seconds the receiver has to answer WPS's challenge.
WPS_CHALLENGE_TIMEOUT = 1.0
#: Seconds the receiver has to answer DingTalk's ``check_url``.
CHECK_URL_TIMEOUT = 1.5
#: Characters of the receiver's answer quoted in the refusal.
EXCERPT = 200


def excerpt(content: bytes) -> str:
    text = content.decode("utf-8", "replace").strip()
    return text if len(text) <= EXCERPT else text[:EXCERPT] + "…"


async def verify_url(ctx: ChannelContext, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
    """Run the subscription's URL verification; InvalidValue (field ``url``) when it fails."""
    sub = ctx.subscription
    if sub.kind == "wps":
        what, timeout = "WPS's URL verification (challenge)", WPS_CHALLENGE_TIMEOUT
        challenge = secrets.token_urlsafe(16)
        query: dict[str, str] = {}
        content = orjson.dumps({"challenge": challenge})
    else:
        what, timeout = "DingTalk's check_url", CHECK_URL_TIMEOUT
        sealed = seal_callback(keys_of(ctx), CHECK_URL_MESSAGE)
        query, content = sealed.query, orjson.dumps(sealed.body)
    try:
        async with httpx.AsyncClient(transport=transport) as client:
            resp = await client.post(
                sub.url,
                params=query,
                content=content,
                headers={"Content-Type": "application/json"},
                timeout=timeout,
            )
    except httpx.TimeoutException:
        raise _failed(what, f"no answer within {timeout:g} s") from None
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise _failed(what, f"no answer ({type(exc).__name__}: {exc})") from None
    answered = f"it answered HTTP {resp.status_code} {excerpt(resp.content)!r}"
    if sub.kind == "wps":
        if resp.status_code != 200 or _challenge_of(resp.content) != challenge:
            raise _failed(what, f"{answered}, not HTTP 200 with the challenge echoed")
    elif (why := channel(sub.kind).judge(ctx, resp.status_code, resp.content)) is not None:
        raise _failed(what, answered if resp.status_code != 200 else f"{answered} ({why})")


def _challenge_of(content: bytes) -> object:
    try:
        doc = orjson.loads(content)
    except orjson.JSONDecodeError:
        return None
    return doc.get("challenge") if isinstance(doc, dict) else None


def _failed(what: str, answer: str) -> InvalidValue:
    return InvalidValue(f"url: the receiver failed {what}: {answer}", field="url")
