"""Garbage-collection pauses of a process started with this folder first on its ``PYTHONPATH``.

``benchmarks/bench_pairs.py`` starts ``arb live`` so: every collection from the moment the session froze
its start-up objects (``gc.freeze``: trading has begun) is timed (``gc.callbacks``) and, when the process
ends, one JSON line per generation (collections, total and longest pause in ns, wall time, and the CPU
time the collecting thread itself spent) is written to the file ``ARB_GC_PROBE`` names. A pause much
longer than its CPU time was spent waiting (the core taken by another process, or the GIL by another
thread while a finalizer released it), not collecting. Nothing happens without that variable.
"""

from __future__ import annotations

import atexit
import gc
import json
import os
import time

_PATH = os.environ.get("ARB_GC_PROBE", "")
if _PATH:
    _trading: list[bool] = []
    _started: dict[int, tuple[int, int]] = {}
    # generation -> [collections, total ns, longest ns, total CPU ns, longest CPU ns]
    _stats = {g: [0, 0, 0, 0, 0] for g in range(3)}

    def _time(phase: str, info: dict[str, int]) -> None:
        generation = info["generation"]
        if not _trading:
            # Still starting up, until the session froze its objects. Asked only until then: in Python 3.11
            # ``gc.get_freeze_count`` walks the whole frozen list (~8 ms for arb live's), longer than the
            # collection it would time
            if not gc.get_freeze_count():
                return
            _trading.append(True)
        if phase == "start":
            _started[generation] = (time.perf_counter_ns(), time.thread_time_ns())
            return
        wall, cpu = _started.pop(generation, (time.perf_counter_ns(), time.thread_time_ns()))
        took, used = time.perf_counter_ns() - wall, time.thread_time_ns() - cpu
        stats = _stats[generation]
        stats[0] += 1
        stats[1] += took
        stats[2] = max(stats[2], took)
        stats[3] += used
        stats[4] = max(stats[4], used)

    def _write() -> None:
        with open(_PATH, "w", encoding="utf-8") as out:
            for generation, (n, total, longest, cpu, cpu_longest) in _stats.items():
                row = {
                    "generation": generation,
                    "n": n,
                    "total_ns": total,
                    "max_ns": longest,
                    "cpu_total_ns": cpu,
                    "cpu_max_ns": cpu_longest,
                }
                out.write(json.dumps(row))
                out.write("\n")

    gc.callbacks.append(_time)
    atexit.register(_write)

if os.environ.get("ARB_LOOP_PROBE"):  # the event loop's callbacks, timed (loop_probe.py beside this file)
    import loop_probe  # noqa: F401

if os.environ.get("ARB_ENGINE_PROBE"):  # tick to decision: every Engine.on_batches timed (engine_probe.py)
    import engine_probe  # noqa: F401
