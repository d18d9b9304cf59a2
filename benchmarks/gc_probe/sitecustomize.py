"""Garbage-collection pauses of a process started with this folder first on its ``PYTHONPATH``.

``benchmarks/bench_pairs.py`` starts ``arb live`` so: every collection from the moment the session froze
its start-up objects (``gc.freeze``: trading has begun) is timed (``gc.callbacks``) and, when the process
ends, one JSON line per generation and phase (collections, total and longest pause in ns, wall time, and the
CPU time the collecting thread itself spent) is written to the file ``ARB_GC_PROBE`` names. Phase
``trading``: until the session loop's ``run`` returned; ``after``: the stop and the report (which imports
Matplotlib and renders with the collector on its own thresholds: a full collection there walks 60,000
objects and more, 40-50 ms, with no decision waiting behind it). A pause much
longer than its CPU time was spent waiting (the core taken by another process, or the GIL by another
thread while a finalizer released it), not collecting. Nothing happens without that variable.
"""

from __future__ import annotations

import gc
import os
import time
from typing import Any

from probe_parts import write_at_exit

_PATH = os.environ.get("ARB_GC_PROBE", "")


def _on_session_end(mark: list[bool]) -> None:
    # Marks the end of trading: SessionLoop.run wrapped, once arb.live.session_loop has run its module
    from types import ModuleType

    from probe_parts import after_import

    def wrap(module: ModuleType) -> None:
        run = module.SessionLoop.run

        async def timed(self: Any, *args: Any, **kwargs: Any) -> None:
            try:
                await run(self, *args, **kwargs)
            finally:
                mark.append(True)

        module.SessionLoop.run = timed

    after_import("arb.live.session_loop", wrap)


if _PATH:
    _trading: list[bool] = []
    _ended: list[bool] = []
    _started: dict[int, tuple[int, int]] = {}
    # (phase, generation) -> [collections, total ns, longest ns, total CPU ns, longest CPU ns]
    _stats = {(phase, g): [0, 0, 0, 0, 0] for phase in ("trading", "after") for g in range(3)}
    _on_session_end(_ended)

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
        stats = _stats["after" if _ended else "trading", generation]
        stats[0] += 1
        stats[1] += took
        stats[2] = max(stats[2], took)
        stats[3] += used
        stats[4] = max(stats[4], used)

    def _rows() -> list[dict[str, Any]]:
        return [
            {"phase": phase, "generation": generation, "n": n, "total_ns": total, "max_ns": longest,
             "cpu_total_ns": cpu, "cpu_max_ns": cpu_longest}
            for (phase, generation), (n, total, longest, cpu, cpu_longest) in _stats.items()
        ]  # fmt: skip

    gc.callbacks.append(_time)
    write_at_exit(_PATH, _rows)

if os.environ.get("ARB_GC_CENSUS"):  # what each full collection walks, by type (census_probe.py beside this file)
    import census_probe  # noqa: F401

if os.environ.get("ARB_LOOP_PROBE"):  # the event loop's callbacks, timed (loop_probe.py beside this file)
    import loop_probe  # noqa: F401

if os.environ.get("ARB_ENGINE_PROBE"):  # tick to decision: every Engine.on_batches timed (engine_probe.py)
    import engine_probe  # noqa: F401
