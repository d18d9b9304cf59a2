"""The one session loop: market data into the engine, executor events on time, snapshots to the watchers.

The dry run (:mod:`arb.live.dry_run`, paper executor) and ``arb live`` (:mod:`arb.live.trading`,
live executors) are set-ups around one :class:`SessionLoop`: they build the engine and its account, then
hand the loop a source of batches and their watchers. Everything runs in one ``asyncio.TaskGroup``:

- **engine**: each arrival from the source (one local time's batches) goes into
  :meth:`Engine.on_batches <arb.live.engine.Engine.on_batches>`, then to every watcher's
  ``after_batch``. A source is the venues' live feeds through a bounded queue (:func:`queued`) or a
  recording replayed at a pace (:func:`paced`);
- **executor timer** (live sources): executor events between batches on the wall clock (a paper order
  arriving, a live order's answer waking the loop), then every watcher's ``tick``;
- **stop**: the stop event (set by SIGINT and SIGTERM, or by the set-up), or a wall-clock duration;
- **chores** (``arb live``): what reports on an answer or a fill, the watchers' ticks and what their
  ``after_batch`` need not do at once, done when the loop is idle (:mod:`arb.live.chores`); market data
  first: while frames wait for the engine, the executor timer leaves the orders' answers to the engine,
  which books each before the first frame received after it, never after;
- the set-up's own tasks (the feeds, the executors' streams, ...) and each watcher's ``run``.

Watchers are objects the command hands down (the ops :class:`~arb.ops.watch.Watch`, the terminal lines
of :mod:`arb.ops.terminal`): the loop knows them by :class:`SessionWatcher` only, so the runtime imports
nothing above it. A watcher reads; it never slows the loop (no I/O on it).
"""

from __future__ import annotations

__all__ = [
    "YIELD_EVERY",
    "Arrival",
    "SessionLoop",
    "SessionResult",
    "SessionStart",
    "SessionWatcher",
    "handle_signals",
    "paced",
    "queued",
    "taking",
    "warm_up_kernel",
]

import asyncio
import contextlib
import gc
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from arb.errors import ArbError
from arb.waiting import wait_set

if TYPE_CHECKING:
    from rich.console import Console

    from arb.config import AppConfig
    from arb.live.chores import Chores
    from arb.live.engine import Engine

Arrival = tuple[int, Sequence[Any], int, int]
"""What a source yields: (local time ns, that time's batches, when the frame was read off the socket as
``time.perf_counter_ns()`` or 0 in a replay, its venue or -1)."""

YIELD_EVERY = 256
"""A source that never has to wait (a replay as fast as possible, or one behind its pace) still yields
to the event loop every this many arrivals: Ctrl-C, the watchers and the other tasks get their turn."""

_IDLE_S = 0.05  # the executor timer's longest sleep: the watchers' ticks between batches


@dataclass(frozen=True, slots=True)
class SessionStart:
    """What a watcher is told as a session starts (:meth:`SessionWatcher.begin`)."""

    clock: Callable[[], int]
    """The session's clock, int ns: data time in a replay (the last batch's local time), wall time live."""
    data: str = "live"
    """Where the market data comes from: ``"live"`` (the venues' streams) or ``"replay"`` (a recording)."""
    engine: Engine | None = None
    """The engine (None while only recording)."""
    feeds: tuple[Any, ...] = ()
    """The live market-data feeds (none in a replay)."""
    journal_health: Callable[[], str] | None = None
    """The live journal's state (cheap, called on the loop)."""
    kill_switch: Callable[[], None] | None = None
    """Pulls ``arb live``'s kill switch; safe to call from another thread."""
    recorded_bytes: Callable[[], int] | None = None
    """Bytes a recording has written so far (``arb record``)."""
    later: Callable[..., None] | None = None
    """``later(call, *args)`` does ``call(*args)`` when the loop is idle (``arb live``'s
    :meth:`Chores.add <arb.live.chores.Chores.add>`): where a watcher puts what its ``after_batch`` need not
    do at once (a snapshot, a terminal line). None: no such place (a watcher does it at once)."""


class SessionWatcher(Protocol):
    """What the session loop calls on a watcher, all on the loop: each call must be quick (no I/O)."""

    def begin(self, start: SessionStart) -> list[str]:
        """The session starts (the engine is built, nothing has arrived): returns lines for the banner."""

    def halt(self, reason: str) -> None:
        """Trading is halted from the start (a halt kept by the account), or by the set-up (the kill switch)."""

    def after_batch(
        self, engine: Engine, t0_perf_ns: int, now: int, sent_before: int, recv_perf_ns: int = 0, venue: int = -1
    ) -> None:
        """One arrival went through ``engine`` at local time ``now``: ``t0_perf_ns`` is
        ``time.perf_counter_ns()`` before, ``sent_before`` ``engine.log.sent.total`` before,
        ``recv_perf_ns`` when its frame was read (0 in a replay) and ``venue`` its venue (-1: several)."""

    def tick(self, now: int) -> None:
        """Time passed without an arrival (live sources: at least every 50 ms)."""

    async def run(self) -> None:
        """A task beside the loop for as long as the session runs (it may return at once)."""

    def end(self, now: int | None) -> None:
        """The session is over: ``now`` is its last time, or None when it failed (release, say nothing more)."""


def warm_up_kernel(config: AppConfig) -> None:
    """Compile (or load from Numba's cache) the run's strategies before any market data arrives."""
    from arb.strategy.rules import rules_of
    from arb.strategy.selection import bind_config

    bind_config(config, rules_of(config))


@contextlib.contextmanager
def handle_signals(
    on_signal: Callable[[signal.Signals], None], signals: Iterable[signal.Signals] = (signal.SIGINT, signal.SIGTERM)
) -> Iterator[list[int]]:
    """While inside, ``signals`` (default SIGINT and SIGTERM: a clean stop) call ``on_signal(sig)`` on the
    running loop instead of their default action; yields the signals received, first first (a command
    exits 130 after a Ctrl-C). Where the loop cannot take signals (not the main thread), nothing changes."""
    loop = asyncio.get_running_loop()
    installed = []
    received: list[int] = []

    def handler(sig: signal.Signals) -> None:
        received.append(int(sig))
        on_signal(sig)

    for sig in signals:
        try:
            loop.add_signal_handler(sig, handler, sig)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no signals here
            pass
    try:
        yield received
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


async def paced(
    groups: Iterable[tuple[int, Sequence[Any]]],
    speed: float | None,
    stop_event: asyncio.Event,
    *,
    duration_ns: int | None = None,
    monotonic: Callable[[], float] = time.monotonic,
) -> AsyncIterator[Arrival]:
    """A replay's (local time, batches) groups as arrivals, at ``speed`` times real time (None: as fast as
    possible), ending after ``duration_ns`` of data time. While behind its pace or unpaced it yields to the
    event loop every :data:`YIELD_EVERY` arrivals; a wait for the pace ends early when ``stop_event`` is set."""
    first: int | None = None
    wall0 = monotonic()
    for n, (ts, group) in enumerate(groups):
        if first is None:
            first = ts
        if duration_ns is not None and ts - first > duration_ns:
            return
        delay = (ts - first) / 1e9 / speed - (monotonic() - wall0) if speed is not None else 0.0
        if delay > 0:
            await wait_set(stop_event, delay)
        elif n % YIELD_EVERY == 0:
            await asyncio.sleep(0)  # behind or unpaced: let Ctrl-C and the other tasks in
        yield ts, group, 0, -1


async def queued(queue: asyncio.Queue[Any]) -> AsyncIterator[Arrival]:
    """The live feeds' batches as they come off their queue, one arrival each."""
    while True:
        yield _arrival(await queue.get())


def taking(queue: asyncio.Queue[Any]) -> Callable[[], Arrival | None]:
    """The next arrival waiting on the live feeds' ``queue``, taken off it now (None: none waits): what
    :meth:`SessionLoop.answer_now` decides before an answer (the ``take`` of :class:`SessionLoop`)."""

    def take() -> Arrival | None:
        return None if queue.empty() else _arrival(queue.get_nowait())

    return take


def _arrival(batch: Any) -> Arrival:
    return batch.local_ts, (batch,), batch.recv_perf_ns, batch.venue


@dataclass(slots=True)
class SessionResult:
    """What every session (a dry run, ``arb live``) leaves behind for its report: the engine, the span of
    data time it ran over (int ns), its batches, whether Ctrl-C or a signal ended it, its wall time."""

    engine: Engine
    start_ns: int
    end_ns: int
    batches: int
    interrupted: bool
    wall_s: float
    stop_signal: int | None = None
    """The signal that stopped the session (``signal.SIGINT`` for Ctrl-C), None when it ended otherwise."""
    watchers: tuple[SessionWatcher, ...] = ()
    """The watchers the session published to (the ops watch keeps the last snapshots and events)."""


class _SessionOverError(Exception):
    """Raised by the stop task, or the engine task at the end of its source, to end the task group."""


class SessionLoop:
    """The loop of one session around ``engine`` (see the module docstring).

    ``clock``: the wall clock of a live source (int ns); None for a replay, whose clock is data time,
    the last arrival's local time (``start_ns`` before the first). After :meth:`run`: ``batches``
    applied, ``first_ns`` the first arrival's time (None without one), ``last_ns`` the last time the
    engine moved to, ``interrupted`` when the stop event ended it, ``stop_signal`` the signal that
    asked for the stop (``signal.SIGINT`` for Ctrl-C) or None.

    ``gc_interval_ns`` (a live source's; 0: Python's own thresholds): the garbage collector collects on
    this timer instead of when allocations cross its thresholds, which a decision's own allocations did,
    inside the decision (see :meth:`_collect`).

    ``chores`` (``arb live``): work that can wait (:mod:`arb.live.chores`), done by a task of the session
    when the loop is idle; the watchers' ticks between batches go there, and whatever is left is done at
    :meth:`end`, before the watchers end. ``backlog()`` (a live source's): how many arrivals wait for the
    engine; while any does, the executor timer leaves the orders' answers to the engine, which books each
    before the first arrival received after it (:meth:`Engine.advance <arb.live.engine.Engine.advance>`):
    a frame is decided on the state it arrived in, never behind the booking of an answer that came later.
    ``take()`` (with ``backlog``, :func:`taking`): the next of those arrivals, taken off the source's queue,
    so that :meth:`answer_now` can decide them first and then the answer, in the task that read it.
    """

    def __init__(
        self,
        engine: Engine,
        watchers: Sequence[SessionWatcher] = (),
        *,
        clock: Callable[[], int] | None = None,
        start_ns: int = 0,
        gc_interval_ns: int = 0,
        chores: Chores | None = None,
        backlog: Callable[[], int] | None = None,
        take: Callable[[], Arrival | None] | None = None,
    ) -> None:
        self.engine = engine
        self.gc_interval_ns = gc_interval_ns
        self.chores = chores
        self.backlog = backlog
        self.take = take
        self._drained = asyncio.Event()  # set when the engine has taken every arrival waiting for it
        self._departing = False  # the engine's task awaits its decision's orders' writes (see _consume)
        self._stop: asyncio.Event | None = None  # while run() runs: its stop event
        self._running: asyncio.Event | None = None  # while run() runs: the executor timer's wake (answer_now)
        self._failed: BaseException | None = None  # what the engine raised in answer_now, for the timer to raise
        self.watchers = tuple(watchers)
        self.wall_clock = clock
        self.batches = 0
        self.first_ns: int | None = None
        self.last_ns = start_ns
        self.interrupted = False
        self.stop_signal: int | None = None

    def now(self) -> int:
        """The session's clock: the wall clock given one, else data time."""
        return self.wall_clock() if self.wall_clock is not None else self.last_ns

    def begin(
        self,
        start: SessionStart,
        console: Console,
        *,
        halt: str = "",
        on_watch: Callable[[Any], None] | None = None,
    ) -> None:
        """Tell every watcher the session starts (their banner lines go to ``console``), then the halt
        the account keeps, if any; then ``on_watch(watcher)`` for each (tests, benchmarks)."""
        for watcher in self.watchers:
            for line in watcher.begin(start):
                console.print(line, highlight=False, soft_wrap=True, markup=False)  # plain text: "[ops]" is no style
        if halt:
            self.halt(halt)
        if on_watch is not None:
            for watcher in self.watchers:
                on_watch(watcher)

    def halt(self, reason: str) -> None:
        """Tell every watcher trading is halted (``reason``)."""
        for watcher in self.watchers:
            watcher.halt(reason)

    def end(self, now: int | None) -> None:
        """Tell every watcher the session is over (``now``: its last time; None: it failed), the last
        begun first: the terminal's last line is printed before the ops watch stops. The work still waiting
        in :attr:`chores` is done first (when the session failed too: a fill's line is never lost)."""
        if self.chores is not None:
            self.chores.drain()
        for watcher in reversed(self.watchers):
            watcher.end(now)

    def answer_now(self) -> None:
        """An order's end was just applied (by the task that read it: the user stream's, a create's): book it
        and decide at it now, in that task, not after whatever else the loop has ready (the executor timer's
        turn comes after the next message's parse, 0.1-0.3 ms). Only while :meth:`run` runs. Arrivals
        waiting for the engine were received before the answer was applied: with ``take``, they are decided
        here first, in order, as the engine's task would (market data first: each on the account as it was
        when it came), then the answer; without it, or when one of their decisions sent orders (they go out
        before anything else), or while the engine's task waits for its last decision's orders to be
        written, the answer is left to the engine, which books it before the first arrival received after
        it. What the engine raises here ends the session from the executor timer's task."""
        wake, stop, clock = self._running, self._stop, self.wall_clock
        if wake is None or stop is None or clock is None or stop.is_set() or self._failed or self._departing:
            return
        try:
            if self.backlog is not None and self.backlog():
                if self.take is None:
                    return
                sent = False
                while not sent and (arrival := self.take()) is not None:
                    sent = self._take_arrival(*arrival)
                if not self.backlog():
                    self._drained.set()  # the executor timer's turn again, as after the engine's task's
                if sent:
                    return  # its orders leave first; the answer is booked after them (the timer, the next frame)
            now = clock()
            due = self.engine.executor.next_event_ts()
            if due is None or due > now:
                return
            self.engine.advance(now + 1)
            self.engine.settle(now)
        except Exception as error:  # noqa: BLE001 - not the reading task's: the timer raises it
            self._failed = error
            wake.set()
            return
        self.last_ns = max(self.last_ns, now)

    async def run(
        self,
        source: AsyncIterator[Arrival],
        stop_event: asyncio.Event,
        *,
        duration_ns: int | None = None,
        wake: asyncio.Event | None = None,
        start_tasks: Callable[[asyncio.TaskGroup], None] | None = None,
        on_signal: Callable[[signal.Signals], None] | None = None,
    ) -> None:
        """Run until ``source`` ends, ``stop_event`` is set (SIGINT and SIGTERM set it, after calling
        ``on_signal(sig)``) or ``duration_ns`` of wall time passed. A live source (a loop with a wall
        clock) gets the executor timer; ``wake``, set by a live executor when an answer is ready, wakes
        it at once. ``start_tasks(group)`` starts the set-up's own tasks in the session's task group.

        Raises the first :class:`~arb.errors.ArbError` a task failed with (a feed refused for good, a
        venue error), after cancelling the other tasks."""

        def stop(sig: signal.Signals) -> None:
            if on_signal is not None:
                on_signal(sig)
            stop_event.set()

        if self.wall_clock is not None:
            # What the set-up made (the compiled kernel, the clients, the venues' markets) lives as long as the
            # run: kept out of the collector's generations, a full collection no longer walks it all (on a
            # 2-core machine: 0.1-0.2 s each, with orders waiting behind it; the young ones ~0.2 ms)
            gc.collect()
            gc.freeze()
        collect_on_timer = self.wall_clock is not None and self.gc_interval_ns > 0
        if collect_on_timer:
            gc.disable()
        with handle_signals(stop) as received:
            try:
                async with asyncio.TaskGroup() as group:
                    if start_tasks is not None:
                        start_tasks(group)
                    group.create_task(self._consume(source, stop_event), name="engine")
                    if self.wall_clock is not None:
                        group.create_task(self._timer(self.wall_clock, wake), name="executor-timer")
                        self._running, self._stop = wake, stop_event
                    group.create_task(_stop_when(stop_event, duration_ns), name="stop")
                    if collect_on_timer:
                        group.create_task(self._collect(self.gc_interval_ns / 1e9), name="gc")
                    if self.chores is not None:
                        group.create_task(self.chores.run(), name="chores")
                    for watcher in self.watchers:
                        group.create_task(watcher.run(), name=f"watch-{type(watcher).__name__}")
            except* _SessionOverError:
                pass
            except* ArbError as failed:  # a feed failed for good (refused subscription, ban): say which
                raise failed.exceptions[0] from None
            finally:
                self._running = self._stop = None
                if collect_on_timer:
                    gc.enable()
        self.interrupted = stop_event.is_set()
        self.stop_signal = received[0] if received else None

    @staticmethod
    async def _collect(interval_s: float) -> None:
        # The young generation every interval, the middle one every tenth, the old one every thousandth (the
        # default thresholds' ratios): pauses between frames (gen-1 up to 0.5 ms in 30 s runs, 2.2 ms once in the
        # first seconds after start-up), never triggered by a decision's allocations in the middle of it
        n = 0
        while True:
            await asyncio.sleep(interval_s)  # the pace, not a wait for a condition
            n += 1
            gc.collect(2 if n % 1000 == 0 else 1 if n % 10 == 0 else 0)

    async def _consume(self, source: AsyncIterator[Arrival], stop_event: asyncio.Event) -> None:
        engine, backlog = self.engine, self.backlog
        # A live executor's orders go out in tasks of their own: after a decision that sent any, the loop
        # lets them onto the wire before it takes the next frame (a backlog of frames would hold them back)
        async with contextlib.aclosing(source):  # type: ignore[type-var]  # an async generator
            async for ts, group, recv_perf_ns, venue in source:
                if stop_event.is_set():
                    break
                if self._take_arrival(ts, group, recv_perf_ns, venue):
                    self._departing = True
                    try:
                        await engine.executor.departed()
                    finally:
                        self._departing = False
                if backlog is not None and not backlog():
                    self._drained.set()  # the executor timer's turn again (see _timer)
        raise _SessionOverError

    def _take_arrival(self, ts: int, group: Sequence[Any], recv_perf_ns: int, venue: int) -> bool:
        # One arrival into the engine and to the watchers (the engine's task, or answer_now before an
        # answer); True when its decision sent orders
        engine = self.engine
        if self.first_ns is None:
            self.first_ns = ts
        self.last_ns = ts
        sent_before, t0 = engine.log.sent.total, time.perf_counter_ns()
        engine.on_batches(ts, group)
        for watcher in self.watchers:
            watcher.after_batch(engine, t0, ts, sent_before, recv_perf_ns, venue)
        self.batches += 1
        return engine.log.sent.total != sent_before

    async def _timer(self, clock: Callable[[], int], wake: asyncio.Event | None) -> None:
        # Executor events between batches on the wall clock (a paper order arriving or answered, a live
        # order's answer), the engine deciding at each; the watchers' ticks while the market is quiet.
        engine, executor, watchers = self.engine, self.engine.executor, self.watchers
        chores, backlog = self.chores, self.backlog
        while True:
            if self._failed is not None:
                raise self._failed
            now = clock()
            due = executor.next_event_ts()
            if due is not None and due <= now:
                if backlog is not None and backlog():
                    # market data first: the engine books the answer before the first frame received after it
                    self._drained.clear()
                    await self._drained.wait()
                    continue
                engine.advance(now + 1)
                engine.settle(now)
                self.last_ns = max(self.last_ns, now)
            for watcher in watchers:
                if chores is None:
                    watcher.tick(now)
                else:
                    chores.add(watcher.tick, now)
            due = executor.next_event_ts()
            wait = _IDLE_S if due is None else min(_IDLE_S, max(0.0, (due - clock()) / 1e9))
            if wake is None:
                await asyncio.sleep(wait)
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await wake.wait()
            wake.clear()


async def _stop_when(stop_event: asyncio.Event, duration_ns: int | None) -> None:
    if duration_ns is None:
        await stop_event.wait()
    else:
        await wait_set(stop_event, duration_ns / 1e9)
    raise _SessionOverError
