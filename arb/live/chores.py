"""Work that can wait: done when the event loop has nothing of the market's or of the orders' to do.

``arb live`` keeps one event loop for the market data, the decisions, the orders' answers and fills, and
everything that reports on them. A frame that arrives while the loop prints a fill line or builds a dashboard
snapshot waits for that work to end before it is decided on. What is not on the money path is therefore queued
here (:meth:`Chores.add`) and done by :meth:`Chores.run`, a task of the session, one piece at a time, when the
loop is idle: nothing else ready to run on it (no frame read off a socket and not yet parsed, no order's task
about to write its bytes), and nothing waiting for the engine (``busy()``, the session's: a frame queued, an
answer not yet booked). Between two pieces it yields, so a frame that came during one waits for that piece alone.

Bounded: a piece never waits longer than ``max_delay_ns`` (past it, it is done at the loop's next turn
whether the loop is busy or not: a market that never pauses does not starve the reports), and at most
``max_queued`` wait (one more does the oldest at once). Nothing is dropped: :meth:`Chores.drain` does
whatever is left when the session ends, before its watchers end. Never queue here what must be done
before something else happens (an intent before its order is sent, the account's state a restart resumes
before the journal holds what changed it): only what may be late by ``max_delay_ns`` and lost with the
process at a crash (a terminal line, a snapshot, an ops event).

The loop is idle when its queue of ready callbacks holds nothing but the chores' own turn: read from
CPython's event loop (``_ready``, an implementation detail, looked up once); a loop without it (another
implementation) is taken as idle whenever ``busy()`` says so.
"""

from __future__ import annotations

__all__ = ["MAX_DELAY_NS", "MAX_QUEUED", "Chores"]

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Sized
from typing import Any

log = logging.getLogger(__name__)

MAX_DELAY_NS = 50_000_000
"""How long a piece of work waits for an idle loop at most (ns): then it is done anyway."""
MAX_QUEUED = 4096
"""How many pieces wait at most: one more does the oldest at once."""
_BUSY_POLL_S = 0.0002
"""While the loop is busy, how often the chores look again (s): a timer, not a turn of the loop each time."""


class Chores:
    """Work done when the loop is idle (see the module docstring).

    ``busy()``: True while something waits for the engine (the session says what); ``clock``: ns,
    monotonic, for the pieces' age. :attr:`done`, :attr:`overdue` and :attr:`spent_ns` count what was done."""

    def __init__(
        self,
        busy: Callable[[], bool] = lambda: False,
        *,
        max_delay_ns: int = MAX_DELAY_NS,
        max_queued: int = MAX_QUEUED,
        clock: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        self.busy = busy
        self.max_delay_ns = max_delay_ns
        self.max_queued = max_queued
        self.clock = clock
        self._queue: deque[tuple[int, Callable[..., None], tuple[Any, ...]]] = deque()
        self._queued = asyncio.Event()
        self.done = 0
        """Pieces done so far."""
        self.overdue = 0
        """Pieces done while the loop was busy, because they had waited ``max_delay_ns`` (or the queue was full)."""
        self.spent_ns = 0
        """The pieces' time so far (ns, ``time.perf_counter_ns``): what left the decisions' way."""

    def __len__(self) -> int:
        return len(self._queue)

    def add(self, call: Callable[..., None], *args: Any) -> None:
        """Queue ``call(*args)``; with :attr:`max_queued` waiting already, the oldest is done first, now."""
        if len(self._queue) >= self.max_queued:
            self.overdue += 1
            self._do(self._queue.popleft())
        self._queue.append((self.clock(), call, args))
        self._queued.set()

    async def run(self) -> None:
        """Do the queued pieces, one per turn of the loop, whenever it is idle (a task of the session)."""
        queue = self._queue
        ready: Sized = getattr(asyncio.get_running_loop(), "_ready", ())  # see the module docstring
        while True:
            if not queue:
                self._queued.clear()
                await self._queued.wait()
                continue
            await asyncio.sleep(0)  # one turn of the loop: whatever came (a frame, an answer) goes first
            if not queue:
                continue
            if len(ready) or self.busy():
                if self.clock() - queue[0][0] < self.max_delay_ns:
                    await asyncio.sleep(_BUSY_POLL_S)
                    continue
                self.overdue += 1
            self._do(queue.popleft())

    def drain(self) -> None:
        """Do everything queued, now (the session's end)."""
        while self._queue:
            self._do(self._queue.popleft())

    def _do(self, chore: tuple[int, Callable[..., None], tuple[Any, ...]]) -> None:
        _, call, args = chore
        self.done += 1
        t0 = time.perf_counter_ns()
        try:
            call(*args)
        except Exception:  # a report's failure must not stop the others nor the session
            log.exception("deferred work %r failed", call)
        self.spent_ns += time.perf_counter_ns() - t0
