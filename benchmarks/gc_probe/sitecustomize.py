"""Garbage-collection pauses of a process started with this folder first on its ``PYTHONPATH``.

``benchmarks/bench_pairs.py`` starts ``arb live`` so: every collection from the moment the session froze
its start-up objects (``gc.freeze``: trading has begun) is timed (``gc.callbacks``) and, when the process
ends, one JSON line per generation (collections, total and longest pause in ns) is written to the file
``ARB_GC_PROBE`` names. Nothing happens without that variable.
"""

from __future__ import annotations

import atexit
import gc
import json
import os
import time

_PATH = os.environ.get("ARB_GC_PROBE", "")
if _PATH:
    _started: dict[int, int] = {}
    _stats = {g: [0, 0, 0] for g in range(3)}  # generation -> [collections, total ns, longest ns]

    def _time(phase: str, info: dict[str, int]) -> None:
        generation = info["generation"]
        if not gc.get_freeze_count():
            return  # still starting up
        if phase == "start":
            _started[generation] = time.perf_counter_ns()
            return
        took = time.perf_counter_ns() - _started.pop(generation, time.perf_counter_ns())
        stats = _stats[generation]
        stats[0] += 1
        stats[1] += took
        stats[2] = max(stats[2], took)

    def _write() -> None:
        with open(_PATH, "w", encoding="utf-8") as out:
            for generation, (n, total, longest) in _stats.items():
                out.write(json.dumps({"generation": generation, "n": n, "total_ns": total, "max_ns": longest}))
                out.write("\n")

    gc.callbacks.append(_time)
    atexit.register(_write)
