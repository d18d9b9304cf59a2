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

import atexit
import gc
import json
import os
import time

_PATH = os.environ.get("ARB_GC_PROBE", "")


def _on_session_end(mark: list[bool]) -> None:
    # Marks the end of trading: SessionLoop.run wrapped, once arb.live.session_loop has run its module
    import importlib.abc
    import importlib.machinery
    import sys
    from collections.abc import Sequence
    from types import ModuleType
    from typing import Any

    def wrap(module: ModuleType) -> None:
        run = module.SessionLoop.run

        async def timed(self: Any, *args: Any, **kwargs: Any) -> None:
            try:
                await run(self, *args, **kwargs)
            finally:
                mark.append(True)

        module.SessionLoop.run = timed

    class Finder(importlib.abc.MetaPathFinder):
        def find_spec(self, name: str, path: Sequence[str] | None, target: ModuleType | None = None) -> Any:
            if name != "arb.live.session_loop":
                return None
            spec = importlib.machinery.PathFinder.find_spec(name, path)
            if spec is None or spec.loader is None:
                return spec
            exec_module = spec.loader.exec_module

            def run_then_wrap(module: ModuleType) -> None:
                exec_module(module)
                wrap(module)

            spec.loader.exec_module = run_then_wrap  # type: ignore[method-assign]
            return spec

    sys.meta_path.insert(0, Finder())


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

    def _write() -> None:
        with open(_PATH, "w", encoding="utf-8") as out:
            for (phase, generation), (n, total, longest, cpu, cpu_longest) in _stats.items():
                row = {
                    "phase": phase,
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

if os.environ.get("ARB_GC_CENSUS"):  # what each full collection walks, by type (census_probe.py beside this file)
    import census_probe  # noqa: F401

if os.environ.get("ARB_LOOP_PROBE"):  # the event loop's callbacks, timed (loop_probe.py beside this file)
    import loop_probe  # noqa: F401

if os.environ.get("ARB_ENGINE_PROBE"):  # tick to decision: every Engine.on_batches timed (engine_probe.py)
    import engine_probe  # noqa: F401
