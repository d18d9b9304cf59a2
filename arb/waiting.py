"""Coroutines that wait for a condition on an object's state, woken whenever that state changes.

A live feed (:class:`connectors.common.feed.Feed`) and a fake venue (:class:`arb.sim.venue.FakeVenue`)
let callers ``await wait_until(predicate)`` instead of polling: the object calls :meth:`Conditions.notify`
after each change it makes, and every waiter whose predicate now holds is woken.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

__all__ = ["Conditions"]


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
