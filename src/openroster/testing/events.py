"""The pytest plugin's ``openroster_events``: a receiver of the test tenant's change events.

One ASGI app on a free port of 127.0.0.1 (:func:`openroster.testing.serve_asgi`) receives both
platforms' events with the SDK's receivers (:mod:`openroster.client.events`): WPS 365 events at
``/wps`` for the tenant's WPS app, DingTalk callbacks at ``/dingtalk`` for its DingTalk app
(``current`` payload, a token and aes_key made for the test). Both are subscribed through the
control plane, so they pass the challenge and ``check_url`` first. :meth:`OpenrosterEvents.wait_for`
returns the decrypted payloads.
"""

from __future__ import annotations

import contextlib
import secrets
import string
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from openroster.testing.control import ControlError

if TYPE_CHECKING:
    from openroster.testing.plugin import OpenrosterTenant

#: Where the receiver takes each platform's events.
WPS_PATH, DINGTALK_PATH = "/wps", "/dingtalk"


@dataclass(frozen=True, slots=True)
class ReceivedEvent:
    """One event as received: ``topic`` (WPS topic or DingTalk ``EventType``), ``operation`` (WPS;
    ``None`` for DingTalk, whose event type names it) and the decrypted ``payload``."""

    kind: str
    topic: str
    operation: str | None
    payload: dict[str, Any]


def new_aes_key() -> str:
    """A DingTalk EncodingAESKey: 43 characters of ``[A-Za-z0-9]``."""
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(43))


class OpenrosterEvents:
    """What the test tenant's subscriptions delivered, and :meth:`wait_for` to wait for more."""

    def __init__(self, tenant: OpenrosterTenant) -> None:
        self.tenant = tenant
        self.token = secrets.token_hex(8)
        self.aes_key = new_aes_key()
        self.url = ""
        #: The subscriptions made for the test, by kind (``wps``, ``dingtalk``): their ids.
        self.subscriptions: dict[str, str] = {}
        self._received: list[ReceivedEvent] = []
        self._lock = threading.Lock()

    @property
    def events(self) -> list[ReceivedEvent]:
        """Every event received so far, in arrival order."""
        with self._lock:
            return list(self._received)

    def clear(self) -> None:
        """Forget the events received so far."""
        with self._lock:
            self._received.clear()

    def wait_for(
        self, topic_or_event: str, operation: str | None = None, timeout: float = 5.0
    ) -> list[dict[str, Any]]:
        """The decrypted payloads of the events received with this WPS topic (``kso.user``) or
        DingTalk ``EventType`` (``user_add_org``), and ``operation`` (WPS's ``create``, ``update``,
        ``delete``) when given, once there is at least one; AssertionError after ``timeout`` s.

        It asks the server to deliver what is due first (``deliveries/flush``)."""
        self.tenant.control.flush(self.tenant.id)
        deadline = time.monotonic() + timeout
        while True:
            found = [
                e.payload
                for e in self.events
                if e.topic == topic_or_event and (operation is None or e.operation == operation)
            ]
            if found:
                return found
            if time.monotonic() > deadline:
                seen = [(e.topic, e.operation) for e in self.events]
                raise AssertionError(
                    f"no {topic_or_event} {operation or ''} event within {timeout:g} s; received: {seen}"
                )
            time.sleep(0.02)

    def _add(self, event: ReceivedEvent) -> None:
        with self._lock:
            self._received.append(event)

    @contextlib.contextmanager
    def running(self) -> Iterator[OpenrosterEvents]:
        """Serve the receiver and subscribe it for the ``with`` block; unsubscribe, then stop."""
        from openroster.client.events import CallbackKeys, DingTalkCallbackReceiver, WpsEventReceiver
        from openroster.client.events.dingtalk import DingTalkEvent
        from openroster.client.events.wps import WpsEvent
        from openroster.testing.asgi import serve_asgi

        t = self.tenant

        def on_wps(e: WpsEvent) -> None:
            self._add(ReceivedEvent("wps", e.topic, e.operation, e.payload))

        def on_dingtalk(e: DingTalkEvent) -> None:
            self._add(ReceivedEvent("dingtalk", e.event_type, None, e.payload))

        wps = WpsEventReceiver(t.wps.client_id, t.wps.client_secret, on_wps)
        keys = CallbackKeys(self.token, self.aes_key, t.dingtalk.appkey)
        dingtalk = DingTalkCallbackReceiver(keys, on_dingtalk)

        async def app(scope: Any, receive: Any, send: Any) -> None:
            path = scope.get("path", "")
            await (dingtalk if path.startswith(DINGTALK_PATH) else wps)(scope, receive, send)

        with serve_asgi(app) as base_url:
            self.url = base_url
            try:
                made = t.control.subscribe(t.id, "wps", t.wps.client_id, base_url + WPS_PATH)
                self.subscriptions["wps"] = made["id"]
                made = t.control.subscribe(
                    t.id, "dingtalk", t.dingtalk.appkey, base_url + DINGTALK_PATH,
                    token=self.token, aes_key=self.aes_key,
                )  # fmt: skip
                self.subscriptions["dingtalk"] = made["id"]
                yield self
            finally:
                for sub_id in self.subscriptions.values():
                    with contextlib.suppress(ControlError):  # the test may have removed it
                        t.control.unsubscribe(t.id, sub_id)
