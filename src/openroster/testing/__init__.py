"""Testing against openroster: the pytest plugin, a control-API client, a server launcher,
and :func:`serve_asgi` for a small ASGI app (an event receiver) beside a test.

The plugin is registered through the ``pytest11`` entry point, so installing
openroster is enough to get its fixtures (see :mod:`openroster.testing.plugin`
and docs/emulator.md).
"""

from openroster.testing.asgi import serve_asgi
from openroster.testing.control import ControlClient, ControlError
from openroster.testing.server import ServerProcess, free_port, start_server

__all__ = ["ControlClient", "ControlError", "ServerProcess", "free_port", "serve_asgi", "start_server"]
