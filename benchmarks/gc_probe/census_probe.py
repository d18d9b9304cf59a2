"""What a full garbage collection walks in ``arb live``: the objects of the collector's oldest generation
counted by type at the start of each full collection after the session froze its start-up, for a benchmark.

Loaded by ``sitecustomize`` (this folder first on ``PYTHONPATH``) when ``ARB_GC_CENSUS`` names a file: at
the start of each generation-2 collection from the moment ``gc.freeze`` ran (trading has begun), the objects
of each generation (``gc.get_objects(generation)``: the frozen ones are in none) are counted, and those of the
oldest by type (module and qualified name); at the end of the process one JSON line per such collection goes to
that file: ``{"at_ns", "sizes": [gen0, gen1, gen2], "frozen", "types": [[name, count], ...]}`` (the 40 most
common). Registered before the timing probe, so its own cost (tens of ms: it lists every object) is not
counted as the collection's.
"""

from __future__ import annotations

import collections
import gc
import os
import sys
import time
import types
from typing import Any

from probe_parts import write_at_exit

_PATH = os.environ.get("ARB_GC_CENSUS", "")
_records: list[dict[str, Any]] = []
_frozen: list[int] = []
_begun: list[int] = []


def _name(kind: type) -> str:
    return f"{kind.__module__}.{kind.__qualname__}"


def _census(phase: str, info: dict[str, int]) -> None:
    if info["generation"] != 2:
        return
    if phase == "stop":
        if _begun and _records:  # the collection's own CPU time, this callback's excluded
            _records[-1]["cpu_ns"] = time.thread_time_ns() - _begun.pop()
        return
    if not _frozen:
        frozen = gc.get_freeze_count()  # walks the frozen list: asked once, when trading has begun
        if not frozen:
            return
        _frozen.append(frozen)
    sizes = [len(gc.get_objects(g)) for g in range(3)]
    counts = collections.Counter(_name(type(o)) for o in gc.get_objects(2))
    frame: types.FrameType | None = sys._getframe(1)
    stack: list[str] = []
    while frame is not None and len(stack) < 6:  # who collected: the session's timer, a threshold, a command
        stack.append(f"{frame.f_code.co_filename.rsplit('/', 2)[-1]}:{frame.f_lineno} {frame.f_code.co_name}")
        frame = frame.f_back
    _records.append({"at_ns": time.time_ns(), "sizes": sizes, "frozen": _frozen[0], "stack": stack,
                     "types": counts.most_common(40)})  # fmt: skip
    _begun.append(time.thread_time_ns())


if _PATH:
    gc.callbacks.insert(0, _census)
    write_at_exit(_PATH, lambda: _records)
