"""Market data first, never on a stale account: ``arb live``'s session loop (the engine, the live executor's
answer hand-over, the executor timer, the chores) as ``arb.live.trading`` wires it, on a driven clock.

- a fill that arrived between two frames is booked before the second frame's decision on its symbol;
- a frame received before an answer is decided before the answer is booked, even when the answer woke the
  loop first (the engine books it at the answer's time, after), and when the task that read the answer
  decides both (the frames waiting first, each on the account as it was when it came);
- what only reports on a fill (a fill listener: a terminal line) runs after the decisions, from the
  chores, never before the money is booked; what keeps the account (``fill_kept``: the risk gate's
  memory) runs at once, with the booking.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from arb.config import load_config
from arb.events import DEPTH_ASK, DEPTH_BID, EXCH_EVENT, LOCAL_EVENT, EventArray, empty_events
from arb.execution.live_executor import LiveExecutor
from arb.execution.paper import OrderStatus
from arb.live.chores import Chores
from arb.live.engine import Engine
from arb.live.session_loop import SessionLoop, queued, taking
from arb.live.trading_session import KIND_MANUAL
from arb.strategy.types import BUY, SELL
from arb.testing.configs import write_config_files
from connectors.common.normalizer import SyncState
from connectors.common.orders import OrderState

MS = 1_000_000
T0 = 1_700_000_000_000 * MS
BINANCE, BYBIT = 0, 1
QTY = 0.01


class _Clock:
    """The session's wall clock, driven by the test (int ns)."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


class _Frames:
    """A session watcher that notes every arrival the engine took: its local time and Binance's position in
    the kernel's view as the engine decided on it; and, in ``seen``, when it took it."""

    def __init__(self, seen: list[tuple[str, int]]) -> None:
        self.taken: list[tuple[int, float]] = []
        self.seen = seen
        self.came = asyncio.Event()

    def begin(self, start: Any) -> list[str]:
        return []

    def halt(self, reason: str) -> None:
        pass

    def after_batch(self, engine: Engine, t0_perf_ns: int, now: int, sent_before: int, recv_perf_ns: int = 0,
                    venue: int = -1) -> None:  # fmt: skip
        self.taken.append((now, float(engine.views[0][BINANCE]["position"])))
        self.seen.append(("frame", now))
        self.came.set()

    def tick(self, now: int) -> None:
        pass

    async def run(self) -> None:
        pass

    def end(self, now: int | None) -> None:
        pass

    async def until(self, ts: int) -> None:
        while not any(t == ts for t, _ in self.taken):
            self.came.clear()
            await self.came.wait()

    def position(self, ts: int) -> float:
        """Binance's position the decision at the arrival of local time ``ts`` saw."""
        return next(position for t, position in self.taken if t == ts)


class _Heard:
    """A fill listener (what a terminal line is): notes in ``seen`` when it heard one."""

    def __init__(self, seen: list[tuple[str, int]]) -> None:
        self.seen = seen
        self.came = asyncio.Event()

    def __call__(self, row: Any) -> None:
        self.seen.append(("fill", int(row["order_id"])))
        self.came.set()

    async def until(self, order_id: int) -> None:
        while ("fill", order_id) not in self.seen:
            self.came.clear()
            await self.came.wait()


def _venue(index: int) -> SimpleNamespace:
    # A venue executor as the live executor drives one: nothing in flight, its callbacks set by LiveExecutor
    guard = SimpleNamespace(on_block=None)
    return SimpleNamespace(index=index, in_flight=[], markets=(0,), guard=guard, blocked_until_ns=0,
                           departures=None, on_done=None, on_quote=None, on_change=None)  # fmt: skip


def _pair_done(executor: Any, order_id: int, respond_ts: int) -> None:
    # Two orders placed by hand (arb order: no pair of the kernel's), a buy of QTY on Binance (``order_id``)
    # and a sell of QTY on Bybit (``order_id + 1``), both filled and done at ``respond_ts``, as the venue
    # executors report them to the live executor: a position on each venue, none overall (nothing to hedge)
    for venue, side in ((BINANCE, BUY), (BYBIT, SELL)):
        done = SimpleNamespace(
            order_id=order_id + venue, venue=venue, symbol_index=0, side=side, kind=KIND_MANUAL, pair_id=0,
            state=OrderState.FILLED, status=OrderStatus.FILLED, price=60_000.0, qty=QTY, fill_qty=QTY,
            fill_price=60_000.0, fee=0.06, base_fee=0.0, sent_ts=T0, arrive_ts=respond_ts, respond_ts=respond_ts,
        )  # fmt: skip
        executor.venues[venue].on_done(done)


@dataclass(frozen=True, slots=True)
class _Frame:
    """One venue's book frame as a live feed queues it (the fields of ``FeedBatch`` the session reads)."""

    venue: int
    rows: EventArray
    local_ts: int
    state: SyncState = SyncState.SYNCED
    stale: bool = False
    symbol: str = "BTCUSDT"
    recv_perf_ns: int = 0


def _book(venue: int, ts: int, bid: float, ask: float) -> _Frame:
    rows = empty_events(2)
    rows[0] = (EXCH_EVENT | LOCAL_EVENT | DEPTH_BID, ts, ts, bid, 1.0, 0, 0, 0.0)
    rows[1] = (EXCH_EVENT | LOCAL_EVENT | DEPTH_ASK, ts, ts, ask, 1.0, 0, 0, 0.0)
    return _Frame(venue, rows, ts)


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    sections = {"risk": {"stale_after_ms": 60_000}}
    config = load_config(write_config_files(tmp_path, arbitrage_overrides=sections))
    venues: list[Any] = [_venue(BINANCE), _venue(BYBIT)]
    return Engine(config, executor=LiveExecutor(venues, symbols=1, n_venues=2))


@dataclass
class _Rig:
    """``arb live``'s session loop around ``engine`` on a driven clock, wired as :mod:`arb.live.trading` wires
    it (the feeds' queue, its backlog and take; with ``chores``, what reports waiting for an idle loop)."""

    engine: Engine
    clock: _Clock
    frames: _Frames
    wake: asyncio.Event
    queue: asyncio.Queue[Any]
    session: SessionLoop

    @property
    def executor(self) -> Any:
        return self.engine.executor

    async def started(self) -> None:
        """The two venues' first books (no spread between them: the kernel never trades), decided on."""
        self.queue.put_nowait(_book(BINANCE, T0, 59_990.0, 60_000.0))
        self.queue.put_nowait(_book(BYBIT, T0, 59_995.0, 60_005.0))
        await self.frames.until(T0)


def _rig(engine: Engine, seen: list[tuple[str, int]], *, take: bool = True, chores: bool = False) -> _Rig:
    clock, frames, wake = _Clock(), _Frames(seen), asyncio.Event()
    executor: Any = engine.executor
    executor.on_ready = wake.set
    queue: asyncio.Queue[Any] = asyncio.Queue()
    later = None
    if chores:
        later = Chores(lambda: bool(queue.qsize()) or executor.next_event_ts() is not None, clock=clock)
        engine.later = later.add
    session = SessionLoop(engine, [frames], clock=clock, start_ns=T0, chores=later, backlog=queue.qsize,
                          take=taking(queue) if take else None)  # fmt: skip
    return _Rig(engine, clock, frames, wake, queue, session)


async def _drive(rig: _Rig, scenario: Callable[[], Awaitable[None]]) -> None:
    """Run the session with ``scenario`` beside it (60 s at most: a failure's bound), then stop it; raises
    what the session or the scenario failed with."""
    stop = asyncio.Event()
    run = asyncio.create_task(rig.session.run(queued(rig.queue), stop, wake=rig.wake))
    told = asyncio.create_task(scenario())
    await asyncio.wait((run, told), timeout=60, return_when=asyncio.FIRST_COMPLETED)
    stop.set()
    told.cancel()
    await run
    assert told.done() and not told.cancelled()
    told.result()


async def test_a_fill_between_two_frames_is_booked_before_the_next_decision_and_reported_after(
    engine: Engine,
) -> None:
    seen: list[tuple[str, int]] = []  # what the engine took and what the fill listener heard, in order
    rig, heard = _rig(engine, seen, chores=True), _Heard(seen)
    clock, frames, queue, executor = rig.clock, rig.frames, rig.queue, rig.executor
    engine.listeners.fill.append(heard)
    engine.listeners.fill_kept.append(lambda row: seen.append(("kept", int(row["order_id"]))))  # risk memory's

    async def scenario() -> None:
        await rig.started()
        assert frames.position(T0) == 0.0

        # 1. an order is done (filled) at +1 ms, the next frame is received at +2 ms: both wait for the loop
        clock.now = T0 + 1 * MS
        _pair_done(executor, 1, clock.now)
        clock.now = T0 + 2 * MS
        queue.put_nowait(_book(BINANCE, clock.now, 59_991.0, 60_000.0))
        await frames.until(T0 + 2 * MS)
        assert frames.position(T0 + 2 * MS) == pytest.approx(QTY)  # decided on the account with the fill
        await heard.until(1)
        assert seen.index(("fill", 1)) > seen.index(("frame", T0 + 2 * MS))  # its listener after that decision
        assert seen.index(("kept", 1)) < seen.index(("frame", T0 + 2 * MS))  # what keeps the account: before

        # 2. a frame received at +3 ms, an order done at +4 ms, the answer waking the loop first: the frame
        # is decided on the account as it was when it came, then the answer is booked
        clock.now = T0 + 4 * MS
        _pair_done(executor, 3, clock.now)
        queue.put_nowait(_book(BINANCE, T0 + 3 * MS, 59_992.0, 60_000.0))
        await frames.until(T0 + 3 * MS)
        assert frames.position(T0 + 3 * MS) == pytest.approx(QTY)
        await heard.until(4)
        assert seen.index(("fill", 3)) > seen.index(("frame", T0 + 3 * MS))
        # booked after, at its own time, and the engine decided on it there
        assert float(engine.position[0, BINANCE]) == pytest.approx(2 * QTY)
        assert float(engine.views[0][BINANCE]["position"]) == pytest.approx(2 * QTY)

    await _drive(rig, scenario)


async def test_an_answer_is_decided_at_once_by_the_task_that_read_it_after_the_frames_before_it(
    engine: Engine,
) -> None:
    # SessionLoop.answer_now, as a venue executor calls it after the message that ended an order, wired as
    # arb.live.trading wires it (backlog and take on the feeds' queue): the engine books the answer (and
    # decides at it) there and then, before the loop runs anything else; a frame received before it and
    # still queued is decided first, in the same call, on the account as it was when the frame came.
    rig = _rig(engine, [])
    clock, frames, queue, executor, session = rig.clock, rig.frames, rig.queue, rig.executor, rig.session

    async def scenario() -> None:
        await rig.started()
        # 1. nothing waits for the engine: booked inside the call, no turn of the loop between
        clock.now = T0 + 1 * MS
        _pair_done(executor, 1, clock.now)
        session.answer_now()
        assert float(engine.position[0, BINANCE]) == pytest.approx(QTY)
        assert executor.next_event_ts() is None
        # 2. two frames received at +2 and +2.5 ms wait in the queue, an order is done at +3 ms: inside the
        # call, the frames are decided in order on the account without the answer, then the answer is booked
        queue.put_nowait(_book(BINANCE, T0 + 2 * MS, 59_991.0, 60_000.0))
        queue.put_nowait(_book(BYBIT, T0 + 5 * MS // 2, 59_996.0, 60_005.0))
        clock.now = T0 + 3 * MS
        _pair_done(executor, 3, clock.now)
        batches = session.batches
        session.answer_now()
        assert queue.empty() and session.batches == batches + 2
        assert [t for t, _ in frames.taken[-2:]] == [T0 + 2 * MS, T0 + 5 * MS // 2]
        assert frames.position(T0 + 2 * MS) == pytest.approx(QTY)
        assert frames.position(T0 + 5 * MS // 2) == pytest.approx(QTY)
        assert float(engine.position[0, BINANCE]) == pytest.approx(2 * QTY)
        assert float(engine.views[0][BINANCE]["position"]) == pytest.approx(2 * QTY)  # decided at it
        assert executor.next_event_ts() is None
        assert session.last_ns == T0 + 3 * MS

    await _drive(rig, scenario)
    # the session is over: an answer now is nobody's to decide (the stop books what is left)
    queue.put_nowait(_book(BINANCE, clock.now + MS, 59_992.0, 60_000.0))
    _pair_done(executor, 5, clock.now + 2 * MS)
    session.answer_now()
    assert float(engine.position[0, BINANCE]) == pytest.approx(2 * QTY)
    assert queue.qsize() == 1


async def test_a_waiting_frame_whose_decision_sent_orders_ends_what_answer_now_decides(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The orders a decision sent leave before anything else: answer_now stops at that frame, the frames after
    # it stay queued for the engine and the answer is booked after them (here, by the engine's next frame).
    rig = _rig(engine, [])
    clock, frames, queue, executor, session = rig.clock, rig.frames, rig.queue, rig.executor, rig.session

    async def scenario() -> None:
        await rig.started()
        queue.put_nowait(_book(BINANCE, T0 + 2 * MS, 59_991.0, 60_000.0))
        queue.put_nowait(_book(BYBIT, T0 + 5 * MS // 2, 59_996.0, 60_005.0))
        clock.now = T0 + 3 * MS
        _pair_done(executor, 1, clock.now)
        taken: list[int] = []
        real = session._take_arrival

        def sending(*arrival: Any) -> bool:  # the frame's decision as one that sent orders
            taken.append(arrival[0])
            real(*arrival)
            return True

        monkeypatch.setattr(session, "_take_arrival", sending)
        session.answer_now()
        monkeypatch.undo()
        assert taken == [T0 + 2 * MS] and queue.qsize() == 1
        assert float(engine.position[0, BINANCE]) == 0.0  # not booked behind that frame's orders
        await frames.until(T0 + 5 * MS // 2)  # the engine's task takes the next frame, on the same account
        assert frames.position(T0 + 5 * MS // 2) == 0.0
        while executor.next_event_ts() is not None:  # then the answer, at its own time
            await asyncio.sleep(0)
        assert float(engine.position[0, BINANCE]) == pytest.approx(QTY)

    await _drive(rig, scenario)


async def test_without_take_an_answer_behind_waiting_frames_is_left_to_the_engine(engine: Engine) -> None:
    # A session given only how many arrivals wait (no way to take them): with a frame received before the
    # answer still queued, answer_now leaves the answer to the engine, which decides that frame first.
    rig = _rig(engine, [], take=False)
    clock, frames, queue, executor, session = rig.clock, rig.frames, rig.queue, rig.executor, rig.session

    async def scenario() -> None:
        await rig.started()
        queue.put_nowait(_book(BINANCE, T0 + 2 * MS, 59_991.0, 60_000.0))
        clock.now = T0 + 3 * MS
        _pair_done(executor, 1, clock.now)
        session.answer_now()
        assert float(engine.position[0, BINANCE]) == 0.0
        await frames.until(T0 + 2 * MS)
        assert frames.position(T0 + 2 * MS) == 0.0
        while executor.next_event_ts() is not None:  # the executor timer's turn, on the answer's wake
            await asyncio.sleep(0)
        assert float(engine.position[0, BINANCE]) == pytest.approx(QTY)

    await _drive(rig, scenario)


async def test_what_the_engine_raises_in_answer_now_ends_the_session_not_the_reading_task(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig = _rig(engine, [])
    rig.queue.put_nowait(_book(BINANCE, T0, 59_990.0, 60_000.0))
    run = asyncio.create_task(rig.session.run(queued(rig.queue), asyncio.Event(), wake=rig.wake))
    await rig.frames.until(T0)

    def broken(now: int) -> None:
        raise RuntimeError("a defect in the engine")

    monkeypatch.setattr(engine, "advance", broken)
    rig.clock.now = T0 + MS
    _pair_done(rig.executor, 1, rig.clock.now)
    rig.session.answer_now()  # returns: the reading task goes on
    with pytest.raises(ExceptionGroup) as raised:
        async with asyncio.timeout(60):  # a failure's bound
            await run
    assert [str(e) for e in raised.value.exceptions] == ["a defect in the engine"]
