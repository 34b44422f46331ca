"""Instructions per call of a window of a process, counted under valgrind's callgrind.

Counting the instructions of a whole run (``--calls 0`` and ``--calls N``, the difference over N)
mixes in the start-up and every background pass the clock drives, which valgrind's slowdown
multiplies: too noisy for a change of a few per cent. Here the process marks its measured window
itself: :func:`zero` at its start and :func:`dump` at its end (valgrind client requests, through
a tiny C helper compiled once with the system's ``gcc`` and valgrind's headers), and only that
window's instructions, of every thread, are read back from the dump.

    .venv/bin/python -m bench.instructions -- <a python -m command that marks its window>

``bench/inprocess.py --instructions`` is such a command: e.g. ::

    .venv/bin/python -m bench.instructions -- bench.inprocess --data-dir bench/.data/suite-sqlite-2000 \\
        --call attrs_update --calls 100 --concurrency 25 --instructions

Outside valgrind the marks do nothing.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.harness import PY, ROOT

_SOURCE = """
#include <valgrind/callgrind.h>
int openroster_on_valgrind(void) { return RUNNING_ON_VALGRIND; }
void openroster_zero(void) { CALLGRIND_ZERO_STATS; }
void openroster_dump(const char *label) { CALLGRIND_DUMP_STATS_AT(label); }
"""
#: What the measured window's dump is labelled.
LABEL = "openroster-window"


@functools.cache
def _helper() -> ctypes.CDLL:
    """The client requests' helper, compiled once per machine (into the temporary directory)."""
    digest = hashlib.sha256(_SOURCE.encode()).hexdigest()[:12]
    so = Path(tempfile.gettempdir()) / f"openroster-callgrind-{digest}.so"
    if not so.exists():
        src = so.with_suffix(".c")
        src.write_text(_SOURCE)
        subprocess.run(["gcc", "-O1", "-shared", "-fPIC", "-o", str(so), str(src)], check=True)
    lib = ctypes.CDLL(str(so))
    lib.openroster_dump.argtypes = [ctypes.c_char_p]
    return lib


def on_valgrind() -> bool:
    return bool(_helper().openroster_on_valgrind())


def zero() -> None:
    """Start the window: forget what was counted so far."""
    _helper().openroster_zero()


def dump() -> None:
    """End the window: write what was counted since :func:`zero` to a dump of its own."""
    _helper().openroster_dump(LABEL.encode())


def window_instructions(out_dir: Path) -> int:
    """The instructions of the window dumped in ``out_dir`` (every thread's)."""
    for dump_file in sorted(out_dir.glob("callgrind.out.*")):
        text = dump_file.read_text(errors="replace")
        if LABEL not in text:
            continue
        m = re.search(r"^(?:summary|totals):\s*(\d+)", text, re.M)
        if m:
            return int(m.group(1))
    raise RuntimeError(f"no dump of the window ({LABEL}) in {out_dir}")


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        raise SystemExit(__doc__)
    _helper()  # compiled before valgrind starts, not under it
    with tempfile.TemporaryDirectory(prefix="openroster-callgrind-") as tmp:
        out = Path(tmp)
        cmd = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}/callgrind.out.%p",
            "--dump-instr=no",
            "--dump-line=no",
            "--compress-strings=no",
            PY,
            "-m",
            *args,
        ]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
        sys.stdout.write(proc.stdout)
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr[-4000:])
            return proc.returncode
        calls = re.search(r"^window: (\d+) calls", proc.stdout, re.M)
        total = window_instructions(out)
        if calls:
            n = int(calls.group(1))
            per_call = total / n / 1e6
            sys.stdout.write(f"instructions: {total:,} in the window, {per_call:.2f}M per call ({n} calls)\n")
        else:
            sys.stdout.write(f"instructions: {total:,} in the window\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
