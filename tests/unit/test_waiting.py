"""Patience (arb.testing.waiting): a deadline counted in time without progress, on a driven clock and
driven probes of the watched processes; waits that ask their condition when a source says it changed
(never polling it), and their sources' notifications from another thread (arb.waiting); then the /proc
readings on real processes."""

from __future__ import annotations

import asyncio
import fcntl
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from arb.testing.waiting import (
    Patience,
    PatienceError,
    cpu_seconds,
    lock_holders,
    patiently,
    process_tree,
    runnable,
    until,
    wait_for,
)
from arb.waiting import Conditions, SharedConditions, cancel_and_wait, wait_set


class Machine:
    """A driven clock and the watched children's CPU seconds and state."""

    def __init__(self) -> None:
        self.now = 100.0
        self.cpu = 0.0
        self.runnable = False

    def clock(self) -> float:
        return self.now

    def probe(self, pids: list[int]) -> tuple[float, bool]:
        assert pids == [4242]
        return self.cpu, self.runnable

    def patience(self, quiet_s: float = 10.0, **options: Any) -> Patience:
        return Patience("the thing", quiet_s=quiet_s, pids=[4242], clock=self.clock, probe=self.probe, **options)

    def poll(self, patience: Patience, seconds: float, *, cpu_share: float = 0.0, step: float = 0.05,
             runnable_share: float | None = None) -> bool:  # fmt: skip
        # polls every ``step`` for ``seconds``, the child using ``cpu_share`` of a core (runnable at
        # ``runnable_share`` of the polls when given); True once expired
        for i in range(round(seconds / step)):
            self.now += step
            self.cpu += cpu_share * step
            if runnable_share is not None:
                self.runnable = i % 10 < runnable_share * 10
            if patience.expired():
                return True
        return False


def test_nothing_happening_expires_after_quiet_s_and_names_what_was_awaited() -> None:
    m = Machine()
    patience = m.patience()
    assert not m.poll(patience, 9.9)
    assert m.poll(patience, 0.2)
    assert str(patience.fail("detail")) == "no progress for 10 s waiting for the thing: detail"


def test_a_child_compiling_on_a_busy_machine_keeps_it_going_and_an_idle_one_does_not() -> None:
    m = Machine()
    patience = m.patience()
    assert not m.poll(patience, 300, cpu_share=0.25)  # a cold compile at a quarter of a core: 5 minutes
    assert m.poll(patience, 11, cpu_share=0.02)  # then idle (a percent or two): fails 10 s later


def test_a_starved_child_waiting_for_a_core_is_working() -> None:
    m = Machine()
    patience = m.patience()
    m.runnable = True  # runnable, but the machine gives it next to no CPU
    assert not m.poll(patience, 120, cpu_share=0.01)
    m.runnable = False
    assert m.poll(patience, 11, cpu_share=0.01)


def test_a_child_running_steadily_below_busy_and_starved_is_no_progress() -> None:
    # a trading process reading its feeds: over a tenth of a core, runnable at a third of the polls on a
    # busy machine. The default rule takes it for working; a wait on such a child sets the bar above it
    m = Machine()
    assert not m.poll(m.patience(), 60, cpu_share=0.12, runnable_share=0.3)
    m = Machine()
    patience = m.patience(busy=0.5, starved=0.8)
    assert m.poll(patience, 10.1, cpu_share=0.12, runnable_share=0.3)
    m = Machine()  # while it starts (a core, or runnable at every poll on a busy machine) it works
    patience = m.patience(busy=0.5, starved=0.8)
    assert not m.poll(patience, 60, cpu_share=0.9)
    assert not m.poll(patience, 60, cpu_share=0.05, runnable_share=1.0)
    assert m.poll(patience, 10.1, cpu_share=0.12, runnable_share=0.3)


def test_cpu_limit_ends_a_wait_whose_child_works_for_ever_and_says_so() -> None:
    m = Machine()
    patience = m.patience(cpu_limit_s=30.0)
    assert not m.poll(patience, 59, cpu_share=0.5)  # 29.5 s of CPU: working, under the limit
    assert m.poll(patience, 1.1, cpu_share=0.5)
    assert patience.spent and str(patience.fail()) == "30 s of CPU used waiting for the thing"
    m = Machine()  # the limit is work, not time: a starved child gets no nearer to it
    patience = m.patience(cpu_limit_s=30.0)
    assert not m.poll(patience, 600, cpu_share=0.02, runnable_share=1.0)


def test_time_the_process_could_not_poll_does_not_count() -> None:
    m = Machine()
    patience = m.patience(quiet_s=5.0)
    m.now += 60.0  # this process held by its own compile (or starved): one poll counts step_s of it
    assert not patience.expired() and patience.waited_s == pytest.approx(0.5)
    assert m.poll(patience, 4.6)


def test_a_new_value_is_progress_and_the_last_is_in_the_failure() -> None:
    m = Machine()
    patience = m.patience()
    for lines in range(10):
        patience.note(lines)
        assert not m.poll(patience, 9)
    assert m.poll(patience, 2)
    assert str(patience.fail()).endswith("(last: 9)")


async def test_patiently_cancels_the_body_and_raises_patience_error() -> None:
    event = asyncio.Event()  # never set: the body waits for ever
    with pytest.raises(PatienceError, match=r"no progress for 0\.2 s waiting for the event"):
        async with patiently(Patience("the event", quiet_s=0.2)):
            await event.wait()


async def test_patiently_lets_the_bodys_own_timeout_through() -> None:
    with pytest.raises(TimeoutError):
        async with patiently(Patience("the body", quiet_s=60)):
            raise TimeoutError


class Source:
    """A source of changes (``wait_until``) that says when it is first watched."""

    def __init__(self) -> None:
        self.conditions = Conditions()
        self.watched = asyncio.Event()

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        self.watched.set()
        await self.conditions.wait_until(predicate)

    def change(self) -> None:
        self.conditions.notify()


async def test_wait_for_returns_at_the_change_that_makes_its_condition_hold_whichever_source_tells() -> None:
    first, second = Source(), Source()
    state = {"n": 0}
    asked: list[int] = []

    def condition() -> bool:
        asked.append(state["n"])
        return state["n"] >= 2

    waiting = asyncio.create_task(wait_for(condition, first, second))
    await first.watched.wait()
    await second.watched.wait()
    state["n"] = 1
    first.change()
    state["n"] = 2
    second.change()
    await asyncio.wait_for(waiting, 60)
    assert asked[0] == 0 and asked[-1] == 2 and not first.conditions.waiters and not second.conditions.waiters


async def test_until_fails_saying_so_when_its_condition_holds_but_no_source_told() -> None:
    patience = Patience("the count", quiet_s=0.2)
    # a condition that comes true with no source saying so: the patience's own count of time
    with pytest.raises(PatienceError, match="the condition holds, but none of its sources said it changed"):
        await until(lambda: patience.waited_s >= patience.quiet_s, patience, Source())


async def test_shared_conditions_ask_a_waiter_on_its_own_loop_when_another_thread_changes_the_state() -> None:
    shared = SharedConditions()
    items: list[int] = []
    askers: set[int] = set()

    def three() -> bool:
        askers.add(threading.get_ident())
        return len(items) == 3

    def produce() -> None:
        for i in range(3):
            items.append(i)
            shared.notify()

    producer = threading.Thread(target=produce)
    producer.start()
    try:
        await asyncio.wait_for(shared.wait_until(three), 60)
    finally:
        producer.join()
    assert askers == {threading.get_ident()} and not shared.waiters


async def started(coro: Any) -> asyncio.Task[Any]:
    """``coro`` as a task that has run up to its first suspension."""
    task = asyncio.create_task(coro)
    ran = asyncio.Event()
    asyncio.get_running_loop().call_soon(ran.set)  # after the task's first step, which was scheduled first
    await ran.wait()
    assert not task.done()
    return task


async def test_a_cancel_that_meets_the_events_setting_is_raised_not_lost() -> None:
    # the race 3.11's wait_for loses: the event set and the waiter cancelled in one step of the loop (a
    # stop that meets a wake-up); the waiter must end cancelled, not return True and run on
    event = asyncio.Event()
    waiter = await started(wait_set(event, 3600))
    event.set()
    waiter.cancel()
    await asyncio.wait([waiter])
    assert waiter.cancelled()
    assert await wait_set(event, 3600) is True and await wait_set(asyncio.Event(), 0) is False


async def test_cancel_and_wait_raises_its_callers_cancel_while_the_task_is_still_ending() -> None:
    ending, ended = asyncio.Event(), asyncio.Event()

    async def slow_to_end() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await ending.wait()  # its clean-up takes a while
            ended.set()

    task = await started(slow_to_end())
    stopper = await started(cancel_and_wait(task))
    stopper.cancel()  # the stopper is told to stop while the task is ending: it stops, it does not wait on
    await asyncio.wait([stopper])
    assert stopper.cancelled() and not task.done()
    ending.set()
    await asyncio.wait([task])
    assert ended.is_set() and task.cancelled()

    async def fails() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            raise ValueError("its clean-up failed")

    with pytest.raises(ValueError, match="its clean-up failed"):
        await cancel_and_wait(await started(fails()))
    await cancel_and_wait(None)


async def test_cancel_and_wait_cancels_every_task_before_it_waits_for_any() -> None:
    # one task's clean-up waits for another to be told to stop (a connection's reader, its writer's close):
    # cancelled and awaited one at a time, the first would never end
    second_told = asyncio.Event()

    async def first() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await second_told.wait()

    async def second() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            second_told.set()

    tasks = [await started(first()), await started(second())]
    async with asyncio.timeout(60):
        await cancel_and_wait(*tasks)
    assert all(task.cancelled() for task in tasks)


def test_proc_readings_of_a_busy_child_and_a_sleeping_one() -> None:
    busy = subprocess.Popen([sys.executable, "-c", "import sys\nwhile sys.stdin.read(0) == '': pass"],
                            stdin=subprocess.PIPE)  # fmt: skip
    idle = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        patience = Patience("the busy child", quiet_s=60, pids=[busy.pid])
        while cpu_seconds(busy.pid) < 0.3:  # it spins: its CPU time grows, and it is runnable meanwhile
            assert not patience.expired()
        assert runnable(busy.pid)
        assert busy.pid in process_tree(os.getpid()) and idle.pid in process_tree(os.getpid())
        starting = Patience("the idle child to block on its stdin", quiet_s=60, pids=[idle.pid])
        while runnable(idle.pid):  # starting up, then blocked reading its stdin: asleep
            assert not starting.expired()
    finally:
        for child in (busy, idle):
            child.kill()
            child.wait()
    assert cpu_seconds(busy.pid) == 0.0 and process_tree(busy.pid) == []  # gone
    assert cpu_seconds() > 0  # this process


def _burn(seconds: float) -> None:
    # this thread's CPU for ``seconds`` (measured in CPU time: as long on a busy machine)
    until = time.thread_time() + seconds
    while time.thread_time() < until:
        pass


def test_of_this_process_its_other_threads_work_counts_and_the_waiting_threads_own_does_not() -> None:
    # pids=[os.getpid()] (a replay in a thread of its own): that thread's work is progress; the waiting
    # thread's own (its event loop, the polls) is not, or a wait that keeps its own thread busy never ends
    clock = [0.0]

    def patience() -> Patience:
        return Patience("this process", quiet_s=1.0, pids=[os.getpid()], clock=lambda: clock[0])

    mine = patience()
    for _ in range(5):  # 0.1 s of this thread's CPU between polls 0.2 s apart: above busy, but its own
        assert not mine.expired()
        _burn(0.1)
        clock[0] += 0.2
    assert mine.expired()

    go, burnt = threading.Event(), threading.Event()

    def other() -> None:
        while go.wait() and not stop:
            go.clear()
            _burn(0.1)
            burnt.set()

    stop = False
    worker = threading.Thread(target=other, daemon=True)
    worker.start()
    try:
        theirs = patience()
        for _ in range(10):  # the same work in another thread: it works, the wait goes on
            go.set()
            assert burnt.wait(60)
            burnt.clear()
            clock[0] += 0.2
            assert not theirs.expired()
    finally:
        stop = True
        go.set()
        worker.join(60)


def test_a_child_blocked_on_a_lock_is_waiting_for_its_holder(tmp_path: Path) -> None:
    # as a process waits on Numba's compile lock (arb._jit) while another compiles: the holder's work is
    # its progress
    lock = tmp_path / "lock"
    with lock.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        code = f"import fcntl\nwith open({str(lock)!r}) as f:\n    fcntl.flock(f, fcntl.LOCK_EX)"
        child = subprocess.Popen([sys.executable, "-c", code])
        try:
            patience = Patience("the child to block on the lock", quiet_s=60, pids=[child.pid])
            while not lock_holders([child.pid]):  # starting, then asking for the lock
                assert not patience.expired()
            assert lock_holders([child.pid]) == {os.getpid()}
            assert lock_holders([os.getpid()]) == set()  # the holder waits for nothing
        finally:
            fcntl.flock(held, fcntl.LOCK_UN)
            assert child.wait() == 0  # it got the lock once it was free
