"""The two fuzzing profiles (Hypothesis settings), chosen with ``OPENROSTER_FUZZ``.

- ``ci`` (the default): reproducible. Derandomized (the same examples on every run and
  machine), ``OPENROSTER_FUZZ_EXAMPLES`` examples per operation (default 10), every health
  check suppressed so that a slow or heavily filtered strategy never fails the build.
- ``deep``: exploring, for on-demand runs. Random (a failure prints the seed; rerun it with
  ``--hypothesis-seed=N``), ``OPENROSTER_FUZZ_EXAMPLES`` examples (default 300), health checks on
  except ``too_slow`` (every example is a request to a real server).

    OPENROSTER_FUZZ=deep ./scripts/test tests/reliability -k fuzz

CONTRIBUTING.md documents both.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings

PROFILE = os.environ.get("OPENROSTER_FUZZ", "ci")
if PROFILE not in ("ci", "deep"):
    raise ValueError(f"OPENROSTER_FUZZ={PROFILE!r}: use 'ci' (the default) or 'deep'")
DEEP = PROFILE == "deep"
#: Examples per operation (and generation mode) of the OpenAPI fuzzing.
EXAMPLES = int(os.environ.get("OPENROSTER_FUZZ_EXAMPLES", "300" if DEEP else "10"))


def fuzz_settings(examples: int = EXAMPLES, *, also_suppress: tuple[HealthCheck, ...] = ()) -> settings:
    """The profile's settings with ``examples`` examples (``also_suppress``: health checks a test
    knows do not apply to it, suppressed in the deep profile too)."""
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=not DEEP,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=[HealthCheck.too_slow, *also_suppress] if DEEP else list(HealthCheck),
    )
