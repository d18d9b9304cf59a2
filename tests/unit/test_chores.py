"""The chores of ``arb live`` (:mod:`arb.live.chores`): work that can wait is done when the loop is idle, in
order; a busy loop holds it back at most ``max_delay_ns`` (on the chores' clock, driven here), a full queue
does its oldest at once, a failing piece is logged and the others go on, and the session's end does the rest."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest

from arb.live.chores import Chores


class _Clock:
    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


async def _until(condition: Callable[[], bool], event: asyncio.Event) -> None:
    while not condition():
        event.clear()
        await event.wait()


async def test_pieces_wait_for_an_idle_loop_in_order_and_a_busy_one_holds_them_at_most_max_delay() -> None:
    clock, busy = _Clock(), [True]
    chores = Chores(lambda: busy[0], max_delay_ns=1_000, clock=clock)
    done: list[int] = []
    came = asyncio.Event()

    def piece(n: int) -> None:
        done.append(n)
        came.set()

    task = asyncio.create_task(chores.run())
    try:
        chores.add(piece, 1)
        chores.add(piece, 2)
        for _ in range(20):  # the loop turns, busy: nothing is done
            await asyncio.sleep(0)
        assert done == [] and len(chores) == 2
        busy[0] = False
        async with asyncio.timeout(10):  # a failure's bound
            await _until(lambda: len(done) == 2, came)
        assert done == [1, 2] and chores.overdue == 0

        busy[0] = True
        chores.add(piece, 3)
        clock.now += 1_000  # waited max_delay_ns: done though the loop is busy
        async with asyncio.timeout(10):
            await _until(lambda: len(done) == 3, came)
        assert done == [1, 2, 3] and chores.overdue == 1 and chores.done == 3
    finally:
        task.cancel()


def test_a_full_queue_does_its_oldest_at_once_and_the_end_does_the_rest(caplog: pytest.LogCaptureFixture) -> None:
    chores = Chores(max_queued=2)
    done: list[int] = []

    def fails() -> None:
        raise RuntimeError("a report failed")

    chores.add(done.append, 1)
    chores.add(fails)
    chores.add(done.append, 3)  # the third: the first is done now
    assert done == [1] and len(chores) == 2 and chores.overdue == 1
    with caplog.at_level(logging.ERROR, logger="arb.live.chores"):
        chores.drain()  # the failing piece is logged, the one after it still done
    assert done == [1, 3] and len(chores) == 0 and chores.done == 3
    assert "a report failed" in caplog.text
