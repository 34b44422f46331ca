"""The soak's object census, loaded into the server process by ``python -m bench.soak --census``.

Python imports ``sitecustomize`` at start-up from the path; the soak puts this
folder on the server's ``PYTHONPATH`` (and on no other process's) and names a
file in ``OPENROSTER_CENSUS_FILE``. A daemon thread then writes one JSON line
there every ``OPENROSTER_CENSUS_SECONDS`` (default 60): the process's resident
memory, Python's allocated blocks, the C allocator's in-use and free bytes
(glibc ``mallinfo2``), and how many objects of each type the collector tracks.
A census costs the server a pause of some 100 ms; it is for finding what grows,
not for measuring speed.
"""

from __future__ import annotations

import os

if os.environ.get("OPENROSTER_CENSUS_FILE"):
    import collections
    import ctypes
    import gc
    import json
    import sys
    import threading
    import time

    class _MallInfo2(ctypes.Structure):
        _fields_ = [
            (name, ctypes.c_size_t)
            for name in (
                *("arena", "ordblks", "smblks", "hblks", "hblkhd"),
                *("usmblks", "fsmblks", "uordblks", "fordblks", "keepcost"),
            )
        ]

    def _malloc() -> dict[str, int]:
        try:
            libc = ctypes.CDLL("libc.so.6")
            libc.mallinfo2.restype = _MallInfo2
            info = libc.mallinfo2()
        except (OSError, AttributeError):  # not glibc
            return {}
        return {"malloc_in_use_kib": info.uordblks >> 10, "malloc_free_kib": info.fordblks >> 10}

    def _rss_kib() -> int:
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))

    def _census(path: str, every: float) -> None:
        while True:
            time.sleep(every)
            counts = collections.Counter(type(o).__qualname__ for o in gc.get_objects())
            row = {
                "t": round(time.time(), 1),
                "rss_kib": _rss_kib(),
                "py_blocks": sys.getallocatedblocks(),
                **_malloc(),
                "types": dict(counts.most_common(200)),
            }
            with open(path, "a") as fh:
                fh.write(json.dumps(row) + "\n")

    threading.Thread(
        target=_census,
        args=(os.environ["OPENROSTER_CENSUS_FILE"], float(os.environ.get("OPENROSTER_CENSUS_SECONDS", "60"))),
        name="census",
        daemon=True,
    ).start()
