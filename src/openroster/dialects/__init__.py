"""Wire dialects: each speaks one platform's API over the core services.

``base.py`` is the interface a dialect implements, ``registry.py`` lists the
dialects the server mounts; docs/architecture.md shows how a request runs
through them.
"""
