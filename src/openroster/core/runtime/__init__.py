"""Runtime pieces apart from the domain: the clock, documented limits, throttling, the directory cache,
secrets and page tokens."""
