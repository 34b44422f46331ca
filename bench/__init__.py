"""openroster's benchmark suite: ``./scripts/bench`` or ``.venv/bin/python -m bench``.

See docs/benchmarks.md.
"""
