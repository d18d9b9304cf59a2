"""Coroutines that wait for a condition on an object's state, woken whenever that state changes.

A live feed (:class:`connectors.common.feed.Feed`) and a fake venue (:class:`arb.sim.venue.FakeVenue`)
let callers ``await wait_until(predicate)`` instead of polling: the object calls :meth:`Conditions.notify`
after each change it makes, and every waiter whose predicate now holds is woken.

:class:`SharedConditions` does the same for state that another thread changes (an ops hub, which the
trading loop writes and a server thread reads): each waiter asks its predicate on its own event loop.

:func:`cancel_and_wait` and :func:`wait_set` are the two waits that must never swallow a cancellation of
their caller (Python 3.11's ``asyncio.wait_for``, and ``suppress(CancelledError)`` around an awaited task,
both can: the task then runs on past the cancel that was meant to end it).
"""

from __future__ import annotations

__all__ = ["Conditions", "SharedConditions", "cancel_and_wait", "wait_set"]

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import Any


class Conditions:
    """The waiters on one object's state."""

    __slots__ = ("waiters",)

    def __init__(self) -> None:
        self.waiters: list[tuple[asyncio.Future[None], Callable[[], bool]]] = []
        """Who waits, and for what (empty: :meth:`notify` has nothing to do; hot paths check it first)."""

    def notify(self) -> None:
        """Wake every waiter whose predicate holds now."""
        for future, predicate in self.waiters:
            if not future.done() and predicate():
                future.set_result(None)

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Return once ``predicate()`` is true: checked now and at every :meth:`notify`."""
        if predicate():
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (future, predicate)
        self.waiters.append(entry)
        try:
            await future
        finally:
            self.waiters.remove(entry)

    def cancel(self) -> None:
        """Cancel every waiter (the object is closing: nothing it waits for can happen any more)."""
        for future, _ in self.waiters:
            future.cancel()


class SharedConditions:
    """The waiters on state that any thread may change: :meth:`notify` from the thread that changed it,
    each predicate asked on its waiter's own event loop (never in the notifying thread)."""

    __slots__ = ("_lock", "waiters")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.waiters: list[Callable[[], None]] = []
        """How to wake each waiter (empty: :meth:`notify` has nothing to do)."""

    def notify(self) -> None:
        """Have every waiter ask its predicate again, on its own loop; cheap when none waits."""
        if not self.waiters:
            return
        with self._lock:
            wakes = list(self.waiters)
        for wake in wakes:
            wake()

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Return once ``predicate()`` is true: asked now and, on this loop, after every :meth:`notify`."""
        if predicate():
            return
        loop = asyncio.get_running_loop()
        changed = asyncio.Event()

        def wake() -> None:
            with contextlib.suppress(RuntimeError):  # the waiter's loop is closed: nobody waits there
                loop.call_soon_threadsafe(changed.set)

        with self._lock:
            self.waiters.append(wake)
        try:
            while not predicate():  # asked again after registering: a change in between is not lost
                await changed.wait()
                changed.clear()
        finally:
            with self._lock:
                self.waiters.remove(wake)


async def cancel_and_wait(*tasks: asyncio.Task[Any] | None) -> None:
    """Cancel every task given (None: none) and return once all have ended; raises the first one's failure
    other than its cancellation. A cancellation of the caller meanwhile is raised, never taken for a
    task's own (which ``with suppress(CancelledError): await task`` would swallow)."""
    waited = [task for task in tasks if task is not None]
    if not waited:
        return
    for task in waited:
        task.cancel()
    await asyncio.wait(waited)
    for task in waited:
        if not task.cancelled() and (error := task.exception()) is not None:
            raise error


async def wait_set(event: asyncio.Event, timeout_s: float) -> bool:
    """Wait up to ``timeout_s`` for ``event``; True once it is set, False when the time ran out. Unlike
    3.11's ``wait_for``, a cancellation that meets the event's setting is raised, not lost."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout_s):
            await event.wait()
    return event.is_set()
