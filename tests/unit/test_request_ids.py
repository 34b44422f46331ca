"""Request ids (``dialects/ids.py``): the platforms' shapes, unique, and a head of its own in a
forked child."""

from __future__ import annotations

import os
import re
import uuid

from openroster.dialects.ids import base36_ids, hex_ids, upper_uuids


def test_each_kind_keeps_its_platforms_shape_and_never_repeats() -> None:
    uuids, base36, hexes = upper_uuids(), base36_ids(), hex_ids()
    made = [uuids() for _ in range(2000)]
    assert len(set(made)) == len(made)
    for rid in made[:50]:
        assert str(uuid.UUID(rid)).upper() == rid and uuid.UUID(rid).version == 4
    short = [base36() for _ in range(2000)]
    assert len(set(short)) == len(short) and all(re.fullmatch(r"[0-9a-z]{13}", r) for r in short)
    first = hexes()
    assert re.fullmatch(r"[0-9a-f]{13}", first) and hexes()[:5] == first[:5]  # the process's prefix


def test_a_forked_child_draws_a_head_of_its_own() -> None:
    ids = hex_ids()
    parent = ids()[:5]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its prefix and leave at once
        os.write(write, ids()[:5].encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 16).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert re.fullmatch(r"[0-9a-f]{5}", child)
    assert child != parent  # 20 random bits each: equal once in a million runs
