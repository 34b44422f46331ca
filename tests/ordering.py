"""The order the suite's tests run in: the files of the longest tests first, dealt out between the
workers so that each worker starts with its share of them.

``--dist worksteal`` (scripts/test) hands each worker a contiguous slice of the collected tests,
``len(pending) // workers_left`` of them in turn, and a worker whose slice runs out takes the back
half of the longest queue. So what runs last is what lies at the back of a slice; before this
order, slow files inside the first slice (e2e/test_multiprocess.py, test_scale.py) could leave one
worker running a 30 s test alone at the end while the other had nothing left. Here each slice
starts with the slow files dealt to it (longest first, each to the slice with the least so far)
and ends with quick tests, which the other worker can take over a few at a time.

A file keeps its tests together and in their order (module fixtures, such as test_scale.py's
large tenant, are made once). The order is set last, on the tests left once ``-m``, ``-k`` and the
SQLite-only runs are deselected (tests/conftest.py registers :class:`SlowFilesFirst`): the slices
are cut from those.
"""

from __future__ import annotations

import pytest

#: The files whose tests take the most time in all, with their seconds (both stores; the whole
#: suite on 2 workers, 2026-12-08, on a busy machine: about 2.4 times the idle machine's). Only the
#: order matters, and how they balance between the workers.
SLOW_FILES: dict[str, float] = {
    "tests/e2e/test_multiprocess.py": 268,
    "tests/reliability/test_crash_safety.py": 129,
    "tests/reliability/test_fuzz_openapi.py": 119,
    "tests/e2e/test_event_durability.py": 107,
    "tests/e2e/test_scale.py": 101,  # three loads of the bulk demo since (was 176 with five)
    "tests/e2e/test_cli.py": 87,
    "tests/e2e/test_shared_control.py": 86,
    "tests/e2e/test_tls.py": 83,
    "tests/e2e/test_dingtalk_stream_restart.py": 52,
    "tests/e2e/test_cli_docs.py": 47,
    "tests/e2e/test_event_retention.py": 40,
    "tests/e2e/test_dingtalk_stream.py": 39,
}


def file_of(item: pytest.Item) -> str:
    return item.nodeid.split("::", 1)[0]


def worker_count(config: pytest.Config) -> int:
    """How many xdist workers share the run (1 without xdist)."""
    workerinput = getattr(config, "workerinput", None)
    return int(workerinput["workercount"]) if workerinput else 1


def longest_first(items: list[pytest.Item], workers: int) -> list[pytest.Item]:
    """``items`` reordered: ``workers`` slices as worksteal cuts them, each its slow files first."""
    by_file: dict[str, list[pytest.Item]] = {}
    rest: list[pytest.Item] = []
    for item in items:
        if file_of(item) in SLOW_FILES:
            by_file.setdefault(file_of(item), []).append(item)
        else:
            rest.append(item)
    shares: list[list[pytest.Item]] = [[] for _ in range(workers)]
    load = [0.0] * workers
    for path in sorted(by_file, key=SLOW_FILES.__getitem__, reverse=True):
        least = load.index(min(load))
        shares[least] += by_file[path]
        load[least] += SLOW_FILES[path]
    ordered: list[pytest.Item] = []
    left = len(items)
    for i, share in enumerate(shares):
        size = left // (workers - i)  # worksteal's first deal (xdist/scheduler/worksteal.py)
        fill = max(0, size - len(share))
        ordered += share + rest[:fill]
        rest = rest[fill:]
        left -= len(share) + fill
    return ordered + rest


class SlowFilesFirst:
    """The plugin that puts the collected tests in that order, after every deselection."""

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        if config.getoption("stepwise", False) or config.getoption("stepwise_skip", False):
            # --sw deselects what lies before the last failure in collection order: the tests
            # must run in that order, or it would skip tests that never ran.
            return
        items[:] = longest_first(items, worker_count(config))
