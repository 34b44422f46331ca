"""Testing against openroster: the pytest plugin, a control-API client, a server launcher,
:func:`serve_asgi` for a small ASGI app (an event receiver) beside a test, and the official DingTalk
Stream SDK pointed at a server (:mod:`openroster.testing.stream`).

The plugin is registered through the ``pytest11`` entry point, so installing
openroster is enough to get its fixtures (see :mod:`openroster.testing.plugin`
and docs/emulator.md).
"""

from openroster.testing.asgi import serve_asgi
from openroster.testing.control import ControlClient, ControlError
from openroster.testing.server import ServerProcess, free_port, start_server
from openroster.testing.stream import StreamListener, stream_client, stream_credential, stream_sdk

__all__ = [
    "ControlClient",
    "ControlError",
    "ServerProcess",
    "StreamListener",
    "free_port",
    "serve_asgi",
    "start_server",
    "stream_client",
    "stream_credential",
    "stream_sdk",
]
