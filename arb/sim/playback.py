"""The market clock of a simulated venue: frames released by hand or played in time.

:class:`Playback` moves one clock through a recording (:class:`~arb.sim.replay.Replay`) and hands each
frame it releases to one callable (a venue's: it moves its book and writes the frames out). It knows
nothing else of the venue, so a test can drive it alone. The clock is manual (the default; nothing
flows until :meth:`~Playback.advance`, :meth:`~Playback.advance_until` or :meth:`~Playback.drain`), or
timed (:meth:`~Playback.play`, or ``VenueOptions(speed=...)``: ``1.0`` replays the recorded
inter-arrival times, ``10.0`` ten times faster, ``None``/``"max"`` as fast as the sockets take it).
Timed playback can be held at a receive time (:meth:`~Playback.gate`) and moved ahead
(:meth:`~Playback.skip_to`), so a test paces its phases on the venue's own clock.
"""

from __future__ import annotations

__all__ = ["Playback"]

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from arb.sim.options import MANUAL, Speed, speed_factor
from arb.sim.replay import Replay, ReplayFrame
from arb.waiting import cancel_and_wait, wait_set

logger = logging.getLogger(__name__)


class Playback:
    """Releasing ``replay`` on one clock: each frame goes to ``release`` (awaited before the next).

    ``clock``: the venue's wall time in seconds (aligned playback follows it); ``name`` names the
    playback task.
    """

    def __init__(
        self,
        replay: Replay,
        release: Callable[[ReplayFrame], Awaitable[None]],
        *,
        clock: Callable[[], float] = time.time,
        name: str = "venue",
    ) -> None:
        self.replay = replay
        """The recording being released (read its ``symbols`` or look ahead; do not pop it)."""
        self._release = release
        self._clock = clock
        self._name = name
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._gate_ns: int | None = None
        """Timed playback releases no frame received after this (None: no gate)."""
        self._rebase_ns: int | None = None
        """Set by :meth:`skip_to`: timed playback's pace restarts from this receive time, now."""
        self._pace_changed: asyncio.Event | None = None
        """Set when the gate moves or the clock skips, to wake timed playback early (made by :meth:`play`)."""
        self._aligned = False
        """Playback follows the clock (``play(aligned=True)``): no gate."""

    async def _release_next(self) -> bool:
        frame = self.replay.pop()
        if frame is None:
            return False
        await self._release(frame)
        return True

    async def stop(self) -> None:
        """Stop timed playback, if it runs (the venue closing)."""
        await cancel_and_wait(self._task)

    @property
    def position(self) -> int:
        """How many recorded frames have been released."""
        return self.replay.released

    @property
    def exhausted(self) -> bool:
        """True when the whole recording has been released."""
        return self.replay.exhausted

    def peek(self) -> ReplayFrame | None:
        """The next frame to be released (the clock does not move)."""
        return self.replay.peek()

    async def advance(self, n: int = 1) -> int:
        """Release the next ``n`` recorded frames; return how many were released.

        Returns once each frame has been written to every connection subscribed to its stream.
        """
        released = 0
        async with self._lock:
            while released < n and await self._release_next():
                released += 1
        return released

    async def advance_until(self, until: int | Callable[[ReplayFrame], bool]) -> int:
        """Release frames up to a point; return how many were released.

        ``until`` is a local receive time in ns (release every frame with ``local_ts <= until``) or a
        predicate (release frames up to and including the first for which it is true).
        """
        released = 0
        async with self._lock:
            while (frame := self.replay.peek()) is not None:
                if isinstance(until, int) and frame.local_ts > until:
                    break
                await self._release_next()
                released += 1
                if not isinstance(until, int) and until(frame):
                    break
        return released

    async def drain(self) -> int:
        """Release everything left; return how many frames were released."""
        released = 0
        async with self._lock:
            while await self._release_next():
                released += 1
                if released % 256 == 0:
                    await asyncio.sleep(0)
        return released

    def play(
        self, speed: Speed = 1.0, *, aligned: bool = False, origin_ns: int | None = None, gate_ns: int | None = None
    ) -> None:
        """Start timed playback in the background (``1.0`` = recorded pace, ``None``/"max" = flat out).

        ``aligned``: each frame is released when the venue's ``clock`` reaches its recorded receive time
        (at once when that has passed), so a recording made for the present (``write_scenario(...,
        start_ms=...)``) plays at its own times on the venue's clock; needs speed 1.0, and takes no origin
        (the clock is it) and no gate (the clock does not wait). ``origin_ns``: the receive time that is now
        (default: the next frame's), so venues given one origin play on one clock. ``gate_ns``: as
        :meth:`gate`.
        """
        if speed == MANUAL:
            raise ValueError("play() needs a speed; manual mode is the absence of play()")
        if self._task is not None and not self._task.done():
            raise RuntimeError("playback is already running")
        factor = speed_factor(speed)
        if aligned and factor != 1.0:
            raise ValueError("aligned playback runs at the recorded pace (speed 1.0)")
        if aligned and (origin_ns is not None or gate_ns is not None):
            raise ValueError("aligned playback follows the venue's clock: it takes no origin_ns or gate_ns")
        self._pace_changed = asyncio.Event()
        self._aligned = aligned
        self._gate_ns = gate_ns
        run = self._play_aligned() if aligned else self._play(factor, origin_ns)
        self._task = asyncio.create_task(run, name=f"{self._name}-playback")

    def gate(self, gate_ns: int | None) -> None:
        """Timed playback releases no frame received after ``gate_ns`` (None: no gate) until the gate
        moves; the pace goes on from the recorded times, so what was held comes out at once. Not for
        aligned playback, which follows the venue's clock (``RuntimeError``)."""
        if self._aligned:
            raise RuntimeError("aligned playback follows the venue's clock: it has no gate")
        self._gate_ns = gate_ns
        self._pace_moved()

    async def skip_to(self, until_ns: int) -> int:
        """Release every frame received up to ``until_ns`` at once (see :meth:`advance_until`); timed
        playback then goes on at its pace from there. Returns how many frames were released."""
        released = await self.advance_until(until_ns)
        self._rebase_ns = until_ns
        self._pace_moved()
        return released

    def _pace_moved(self) -> None:
        if self._pace_changed is not None:
            self._pace_changed.set()

    async def wait_played(self) -> None:
        """Return when background playback has released the whole recording."""
        if self._task is None:
            raise RuntimeError("no playback running; call play() or pass speed=")
        await asyncio.shield(self._task)

    async def _play(self, speed: float | None, origin_ns: int | None) -> None:
        loop = asyncio.get_running_loop()
        changed = self._pace_changed
        assert changed is not None  # made by play()
        # (receive time, loop time) the pace counts from
        anchor = None if origin_ns is None else (origin_ns, loop.time())
        count = 0
        while (frame := self.replay.peek()) is not None:
            changed.clear()
            if self._rebase_ns is not None:
                anchor, self._rebase_ns = (self._rebase_ns, loop.time()), None
            if self._gate_ns is not None and frame.local_ts > self._gate_ns:
                await changed.wait()
                continue
            if speed is not None:
                if anchor is None:
                    anchor = (frame.local_ts, loop.time())
                due = anchor[1] + (frame.local_ts - anchor[0]) / 1e9 / speed
                if (wait := due - loop.time()) > 0:
                    # the frame's time on the venue's clock, or sooner when the gate moves or the clock skips
                    await wait_set(changed, wait)
                    continue
            position = self.replay.released
            async with self._lock:
                if self.replay.released == position:  # not released meanwhile by a skip or an advance
                    await self._release_next()
                    count += 1
            if count % 64 == 0:  # behind its pace (or flat out) it still lets the venue's requests in
                await asyncio.sleep(0)
        logger.info("%s playback finished after %d frames", self._name, count)

    async def _play_aligned(self) -> None:
        loop = asyncio.get_running_loop()
        offset = loop.time() - self._clock()  # venue clock (s) -> loop time
        count = 0
        while (frame := self.replay.peek()) is not None:
            if (wait := frame.local_ts / 1e9 + offset - loop.time()) > 0:
                await asyncio.sleep(wait)
            async with self._lock:
                await self._release_next()
            count += 1
            if count % 64 == 0:
                await asyncio.sleep(0)
        logger.info("%s playback finished after %d frames", self._name, count)
