"""A receiver of change events for both platforms, built on openroster.client.events.

    python examples/event_receiver.py --port 9000

listens on http://127.0.0.1:9000 and takes

- WPS 365 events at ``/wps`` (it answers the URL challenge, verifies and decrypts every envelope),
- DingTalk HTTP callbacks at ``/dingtalk`` (it answers ``check_url``, verifies and decrypts every
  callback, and replies the encrypted ``success``),

and prints each decrypted event as one JSON line. The same code receives the real platforms'
events: set the app's credentials in the environment (the defaults are the demo company's apps,
README "Try it"):

- ``WPS_APP_ID``, ``WPS_APP_SECRET``: the WPS app's client_id and secret (``demo-wps``,
  ``demo-wps-secret``);
- ``DINGTALK_TOKEN``, ``DINGTALK_AES_KEY``: the token and the 43-character aes_key registered with
  the subscription (``openroster-example`` and :data:`EXAMPLE_AES_KEY`);
- ``DINGTALK_OWNER_KEY``: the appKey for an event subscription, the corpId for
  ``register_call_back`` (``demo-dingtalk``).

docs/events.md describes every field.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from typing import Any

import uvicorn

from openroster.client.events.dingtalk import CallbackKeys, DingTalkCallbackReceiver, DingTalkEvent
from openroster.client.events.wps import WpsEvent, WpsEventReceiver

EXAMPLE_AES_KEY = "openrosterExampleAesKey0123456789abcdefghij"


def show(**record: Any) -> None:
    """Print one event as a JSON line (a real receiver would queue it and return at once)."""
    print(json.dumps(record, ensure_ascii=False), flush=True)


def on_wps(event: WpsEvent) -> None:
    show(
        platform="wps", topic=event.topic, operation=event.operation, nonce=event.nonce, payload=event.payload
    )


def on_dingtalk(event: DingTalkEvent) -> None:
    show(platform="dingtalk", event_type=event.event_type, event_id=event.event_id, payload=event.payload)


def build_app(env: Mapping[str, str]) -> Any:
    """One ASGI app: the WPS receiver at ``/wps``, the DingTalk receiver at ``/dingtalk``."""
    wps = WpsEventReceiver(
        env.get("WPS_APP_ID", "demo-wps"), env.get("WPS_APP_SECRET", "demo-wps-secret"), on_wps
    )
    keys = CallbackKeys(
        token=env.get("DINGTALK_TOKEN", "openroster-example"),
        aes_key=env.get("DINGTALK_AES_KEY", EXAMPLE_AES_KEY),
        owner_key=env.get("DINGTALK_OWNER_KEY", "demo-dingtalk"),
    )
    dingtalk = DingTalkCallbackReceiver(keys, on_dingtalk)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if path.startswith("/wps"):
            await wps(scope, receive, send)
        elif path.startswith("/dingtalk"):
            await dingtalk(scope, receive, send)
        elif scope["type"] == "http":
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b"use /wps or /dingtalk"})

    return app


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    args = parser.parse_args(argv)
    uvicorn.run(build_app(os.environ), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main(sys.argv[1:])
