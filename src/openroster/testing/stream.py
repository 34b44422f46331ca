"""DingTalk Stream mode in tests: the official ``dingtalk-stream`` SDK pointed at an openroster server.

The SDK reads ``DINGTALK_OPENAPI_ENDPOINT`` once, when it is imported, and calls that server for
``/v1.0/gateway/connections/open``. So:

- :func:`stream_sdk` imports it for one server (setting the variable first) and refuses when it was
  already imported for another; :func:`stream_credential` and :func:`stream_client` build on it. One
  process talks to one server this way.
- :class:`StreamListener` runs the SDK in a child process of its own
  (``python -m openroster.testing.stream``), which can point anywhere, survives the server's
  restarts as the SDK does (it reconnects), and reports each event it gets as a JSON line:
  :meth:`StreamListener.wait_for` returns them. It can answer the first events with a refusal
  (``refuse``: ACK code 500, the SDK's "later") or not at all (``silent``), and register callback
  handlers beside its event handler (``callbacks``: topics such as the bots'
  ``/v1.0/im/bot/messages/get``, which openroster never pushes; what comes is in
  :attr:`StreamListener.callbacks`).

The pytest plugin's ``openroster_stream`` fixture is a connected :class:`StreamListener` for the test
tenant's DingTalk app (docs/emulator.md).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from types import ModuleType
from typing import Any

from openroster.testing.control import ControlClient

#: The variable the SDK reads at import.
ENDPOINT_VARIABLE = "DINGTALK_OPENAPI_ENDPOINT"
#: An event handler: the event (``dingtalk_stream.EventMessage``) -> ``(ACK code, message)``.
Handler = Callable[[Any], Awaitable[tuple[int, str]]]
#: The topic of the SDK's bot message handler (``dingtalk_stream.ChatbotMessage.TOPIC``).
BOT_TOPIC = "/v1.0/im/bot/messages/get"


def stream_sdk(base_url: str) -> ModuleType:
    """``dingtalk_stream``, imported for the server at ``base_url`` (RuntimeError when this process
    imported it for another server already)."""
    base_url = base_url.rstrip("/")
    if "dingtalk_stream" not in sys.modules:
        os.environ[ENDPOINT_VARIABLE] = base_url
    import dingtalk_stream
    from dingtalk_stream import utils

    if utils.DINGTALK_OPENAPI_ENDPOINT.rstrip("/") != base_url:
        raise RuntimeError(
            f"dingtalk_stream was imported for {utils.DINGTALK_OPENAPI_ENDPOINT}, not {base_url}: it reads "
            f"{ENDPOINT_VARIABLE} once; use a process per server (StreamListener)"
        )
    sdk: ModuleType = dingtalk_stream
    return sdk


def stream_credential(base_url: str, app_key: str, app_secret: str) -> Any:
    """A ``dingtalk_stream.Credential`` of the app, the SDK imported for ``base_url``."""
    return stream_sdk(base_url).Credential(app_key, app_secret)


def stream_client(
    base_url: str,
    app_key: str,
    app_secret: str,
    handler: Handler,
    callbacks: Mapping[str, Handler] | None = None,
) -> Any:
    """A ``dingtalk_stream.DingTalkStreamClient`` of the app for the server at ``base_url``, every
    event going to ``handler`` and every callback message (``dingtalk_stream.CallbackMessage``) of
    a topic of ``callbacks`` to its handler; ``await client.start()`` (or
    ``client.start_forever()``) runs it. It reports 127.0.0.1 as its ``localIp`` (the SDK would
    look up its route to the internet)."""
    sdk = stream_sdk(base_url)

    class Events(sdk.EventHandler):  # type: ignore[misc,name-defined]
        async def process(self, event: Any) -> tuple[int, str]:
            return await handler(event)

    class Callbacks(sdk.CallbackHandler):  # type: ignore[misc,name-defined]
        def __init__(self, handle: Handler) -> None:
            super().__init__()
            self.handle = handle

        async def process(self, message: Any) -> tuple[int, str]:
            return await self.handle(message)

    class Client(sdk.DingTalkStreamClient):  # type: ignore[misc,name-defined]
        def get_host_ip(self) -> str:
            return "127.0.0.1"

    client = Client(sdk.Credential(app_key, app_secret))
    client.register_all_event_handler(Events())
    for topic, handle in (callbacks or {}).items():
        client.register_callback_handler(topic, Callbacks(handle))
    return client


def event_line(event: Any, ack: str) -> dict[str, Any]:
    """What the child process reports of an event: its headers, ``data``, the ACK given and when it
    arrived (``received``: ``time.monotonic()``, the system's monotonic clock on Linux, which other
    processes of the machine read too)."""
    h = event.headers
    return {
        "received": time.monotonic(),
        "eventType": h.event_type,
        "eventId": h.event_id,
        "messageId": h.message_id,
        "eventCorpId": h.event_corp_id,
        "eventUnifiedAppId": h.event_unified_app_id,
        "eventBornTime": h.event_born_time,
        "time": h.time,
        "topic": h.topic,
        "data": event.data,
        "ack": ack,
    }


def main(argv: list[str] | None = None) -> None:
    """Run the SDK until killed, printing each event as a JSON line (:class:`StreamListener`)."""
    parser = argparse.ArgumentParser(prog="python -m openroster.testing.stream")
    parser.add_argument("base_url")
    parser.add_argument("app_key")
    parser.add_argument("app_secret")
    parser.add_argument("--refuse", type=int, default=0, help="ACK the first N events with code 500")
    parser.add_argument("--silent", type=int, default=0, help="do not ACK the first N events")
    parser.add_argument("--callback", action="append", default=[], help="register a callback handler")
    args = parser.parse_args(argv)
    seen = 0

    async def handle(event: Any) -> tuple[int, str]:
        nonlocal seen
        seen += 1
        ack = "silent" if seen <= args.silent else "refuse" if seen <= args.silent + args.refuse else "ok"
        print(json.dumps(event_line(event, ack)), flush=True)
        if ack == "silent":
            await asyncio.Event().wait()  # never answered: the server's ACK timeout runs out
        return (500, "later") if ack == "refuse" else (200, "OK")

    async def called(message: Any) -> tuple[int, str]:
        line = {"received": time.monotonic(), "callback": message.headers.topic, "data": message.data}
        print(json.dumps(line), flush=True)
        return 200, "OK"

    callbacks = dict.fromkeys(args.callback, called)
    client = stream_client(args.base_url, args.app_key, args.app_secret, handle, callbacks)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(client.start())


class StreamListener:
    """The SDK in a child process, connected to ``base_url`` as the app (see module)."""

    def __init__(
        self,
        base_url: str,
        app_key: str,
        app_secret: str,
        *,
        refuse: int = 0,
        silent: int = 0,
        callbacks: Sequence[str] = (),
    ) -> None:
        self.base_url, self.app_key, self.app_secret = base_url.rstrip("/"), app_key, app_secret
        self.refuse, self.silent, self.callback_topics = refuse, silent, tuple(callbacks)
        self._events: list[dict[str, Any]] = []
        self._callbacks: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._process: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None

    @property
    def events(self) -> list[dict[str, Any]]:
        """Every event received so far, in arrival order (:func:`event_line`)."""
        with self._lock:
            return list(self._events)

    @property
    def callbacks(self) -> list[dict[str, Any]]:
        """Every callback message received so far (``{received, callback: topic, data}``)."""
        with self._lock:
            return list(self._callbacks)

    def start(self) -> StreamListener:
        command = [sys.executable, "-m", "openroster.testing.stream", self.base_url, self.app_key]
        command += [self.app_secret, "--refuse", str(self.refuse), "--silent", str(self.silent)]
        command += [f"--callback={topic}" for topic in self.callback_topics]
        env = {**os.environ, ENDPOINT_VARIABLE: self.base_url, "PYTHONUNBUFFERED": "1"}
        self._process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
        )
        self._reader = threading.Thread(target=self._read, args=(self._process,), daemon=True)
        self._reader.start()
        return self

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            got = json.loads(line)
            with self._lock:
                (self._callbacks if "callback" in got else self._events).append(got)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.kill()
            process.wait()
            assert process.stdout is not None
            process.stdout.close()
        if self._reader is not None:
            self._reader.join(5)

    def wait_connected(self, control: ControlClient, tenant_id: str, timeout: float = 30.0) -> None:
        """Until the control plane lists a connection of the app (AssertionError after ``timeout`` s:
        long enough for the SDK's own retry, 10 s after a first attempt that failed on a busy
        machine)."""
        self.wait_until(
            lambda: any(c["app"] == self.app_key for c in control.stream_connections(tenant_id)),
            f"no Stream connection of {self.app_key} within {timeout:g} s",
            timeout,
        )

    def wait_for(self, event_type: str, count: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        """The events of this type received so far, once there are ``count`` (AssertionError after
        ``timeout`` s)."""
        self.wait_until(
            lambda: len(self.of_type(event_type)) >= count,
            f"fewer than {count} {event_type} within {timeout:g} s; received: "
            f"{[e['eventType'] for e in self.events]}",
            timeout,
        )
        return self.of_type(event_type)

    def of_type(self, event_type: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["eventType"] == event_type]

    @staticmethod
    def wait_until(check: Callable[[], bool], message: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(message)
            time.sleep(0.05)

    @contextlib.contextmanager
    def running(self) -> Iterator[StreamListener]:
        self.start()
        try:
            yield self
        finally:
            self.stop()


if __name__ == "__main__":
    main()
