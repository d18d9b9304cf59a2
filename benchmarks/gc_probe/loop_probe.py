"""What the event loop ran, and when: every callback of ``arb live``'s asyncio loop timed, for a benchmark.

Loaded by ``sitecustomize`` (this folder first on ``PYTHONPATH``) when ``ARB_LOOP_PROBE`` names a file:
each callback the loop runs (``asyncio.events.Handle._run``: a task's step, a future's done callback, a
transport's read) is stamped with its start (``time.time_ns()``, the clock of the journal's ``tick_ns`` and
``intent_ns``) and its length, and named (a task's step by its task's name and coroutine, anything else by
its function's qualified name), with the CPU time its thread spent in it (a callback much longer than its CPU
time waited for the core); every garbage collection too (named ``gc<generation>``, CPU time 0). At the end of
the process the records go to that file as one JSON line each: ``[start_ns, took_ns, cpu_ns, name]``. Recording stops
after ``ARB_LOOP_PROBE_MAX`` records (default 3,000,000). A callback costs about a microsecond more.
"""

from __future__ import annotations

import asyncio.events
import gc
import os
import time
from typing import Any

from probe_parts import write_at_exit

_PATH = os.environ.get("ARB_LOOP_PROBE", "")
_MAX = int(os.environ.get("ARB_LOOP_PROBE_MAX", "3000000"))
_records: list[tuple[int, int, int, str]] = []
_names: dict[Any, str] = {}


def _name(callback: Any) -> str:
    owner = getattr(callback, "__self__", None)
    if isinstance(owner, asyncio.Task):
        name = _names.get(owner)
        if name is None:
            coro = owner.get_coro()
            name = f"task {owner.get_name()} {getattr(coro, '__qualname__', type(coro).__name__)}"
            _names[owner] = name
        return name
    function = getattr(callback, "__func__", callback)
    return str(getattr(function, "__qualname__", None) or type(callback).__name__)


def _install() -> None:
    run = asyncio.events.Handle._run
    clock, thread_time = time.time_ns, time.thread_time_ns
    records = _records

    def timed(self: asyncio.events.Handle) -> None:
        if len(records) >= _MAX:
            run(self)
            return
        start, cpu = clock(), thread_time()
        run(self)
        records.append((start, clock() - start, thread_time() - cpu, _name(self._callback)))  # type: ignore[attr-defined]

    asyncio.events.Handle._run = timed  # type: ignore[method-assign]
    started: dict[int, int] = {}

    def collected(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[info["generation"]] = clock()
        elif info["generation"] in started:
            begun = started.pop(info["generation"])
            records.append((begun, clock() - begun, 0, f"gc{info['generation']}"))

    gc.callbacks.append(collected)

    write_at_exit(_PATH, lambda: records)


if _PATH:
    _install()
