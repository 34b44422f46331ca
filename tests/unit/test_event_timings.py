"""The engine's CPU figures by thread (``events/timings.py``): a thread's own clock, read while it
lives, and the process's CPU split among the loop, the writers and the rest."""

from __future__ import annotations

import threading
import time

import pytest

from openroster.events.timings import cpu_ms, thread_cpu_ms


def test_a_living_threads_cpu_grows_with_its_work_and_an_unstarted_or_ended_one_has_none() -> None:
    worked = threading.Event()
    done = threading.Event()
    readings: list[float | None] = []

    def work() -> None:
        me = threading.current_thread()
        readings.append(thread_cpu_ms(me))
        start = time.thread_time()
        while time.thread_time() == start:  # until this thread's clock moves on
            pass
        readings.append(thread_cpu_ms(me))
        worked.set()
        done.wait(30)

    t = threading.Thread(target=work, name="worker")
    assert thread_cpu_ms(t) is None  # not started
    t.start()
    assert worked.wait(30)
    first, second = readings
    assert first is not None and second is not None and second > first
    seen = thread_cpu_ms(t)  # read from another thread, while it lives
    assert seen is not None and seen >= second
    done.set()
    t.join(30)
    assert thread_cpu_ms(t) is None  # ended


def test_the_processs_cpu_is_the_loops_the_writers_and_the_rest() -> None:
    figures = cpu_ms()
    main_after = thread_cpu_ms(threading.main_thread())
    assert main_after is not None and 0 < figures["loop"] <= main_after  # the main thread's clock
    parts = figures["loop"] + figures["writers"] + figures["other"]
    assert parts == pytest.approx(figures["process"])
