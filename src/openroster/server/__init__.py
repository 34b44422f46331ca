"""The HTTP server: one ASGI app carrying every dialect."""
