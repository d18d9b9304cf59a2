"""The session loop's garbage collection on a timer (``[live] gc_interval_ms``): while a live session runs,
Python's own thresholds trigger nothing (a decision's allocations no longer start a collection inside it),
the young generation is collected on the timer, and the thresholds are back once the session ends."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

from arb.live.session_loop import SessionLoop


def _engine() -> Any:
    # What the loop asks of an engine when no batch comes: its executor's next event (none)
    return SimpleNamespace(
        executor=SimpleNamespace(next_event_ts=lambda: None), log=SimpleNamespace(sent=SimpleNamespace(n=0))
    )


async def _run(gc_interval_ns: int) -> tuple[bool, list[int]]:
    collected: list[int] = []
    seen_enabled: list[bool] = []
    came = asyncio.Event()

    def note(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collected.append(info["generation"])
            came.set()

    async def source() -> AsyncIterator[Any]:
        seen_enabled.append(gc.isenabled())
        collected.clear()  # the session's own full collection before it froze the start-up's objects
        came.clear()
        if gc.isenabled():
            while not collected:  # Python's thresholds: allocations start one
                _ = [[i] for i in range(1_000)]
        else:
            async with asyncio.timeout(5):
                await came.wait()  # the timer's
        return
        yield  # an async generator with no batch

    gc.callbacks.append(note)
    try:
        await SessionLoop(_engine(), clock=time.time_ns, gc_interval_ns=gc_interval_ns).run(source(), asyncio.Event())
    finally:
        gc.callbacks.remove(note)
        gc.unfreeze()
    return seen_enabled[0], collected


async def test_a_live_session_collects_on_its_timer_and_gives_the_thresholds_back() -> None:
    enabled_inside, collected = await _run(5_000_000)
    assert not enabled_inside and collected[0] == 0 and gc.isenabled()


async def test_without_a_timer_python_keeps_its_thresholds() -> None:
    enabled_inside, collected = await _run(0)
    assert enabled_inside and collected and gc.isenabled()
