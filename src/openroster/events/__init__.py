"""Change events: the outbox's fan-out and delivery, above the dialects and below the server.

``channels`` (what a channel is, and the registry), ``backoff`` (the retry schedule) and
``engine`` (fan-out, delivery, flush, pruning, the background task). See docs/events.md.
"""
