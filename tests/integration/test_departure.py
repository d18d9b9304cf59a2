"""A decision's orders leave together, and arb's written time is the socket write's: the live executor
against fake Binance and Bybit spot (real clients, loopback)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from arb.config import load_config
from arb.execution.wire_trace import WireTrace
from arb.live.trading_session import KIND_MANUAL, trading_session
from arb.strategy.types import BUY, SELL
from arb.testing.pair_rig import account, spot_pair, write_pair_config
from tests.support.live_rig import WAIT_S, both_books_up, both_keys, standing_recordings


@contextlib.asynccontextmanager
async def pair_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, order_entry: str = "rest", settings: Any = ()
) -> AsyncIterator[tuple[Any, Any, Any]]:
    """Fake Binance and Bybit spot with their books up, and a trading session of both pointed at them."""
    both_keys(monkeypatch)
    async with spot_pair(*standing_recordings(tmp_path)) as (binance, bybit):
        await both_books_up(binance, bybit, WAIT_S)
        config = load_config(write_pair_config(tmp_path, binance, bybit, order_entry=order_entry), settings=settings)
        async with trading_session(config, [0, 1]) as session:
            yield binance, bybit, session


async def test_a_decisions_orders_over_the_order_websockets_are_written_back_to_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both legs of a pair handed over (as the engine does: one submit each, then depart): neither is written
    # while the decision is being handed over, both are by the time depart returns, before the event loop
    # ran anything else (no leg waits for the other's task); then each is answered as any order
    async with pair_session(tmp_path, monkeypatch, order_entry="websocket") as (binance, bybit, session):
        live = session.live_executor()
        sockets = []
        for v in (0, 1):
            entry = session.executors[v].order_entry
            assert entry is not None and entry.ready
            sockets.append(entry.socket)
        before = [s.written for s in sockets]
        now = session.executors[0].clock()
        low = float(binance.book("BTCUSDT", 1).bids[0][0]) * 0.9  # IOC orders away from the books: expired
        high = float(bybit.book("BTCUSDT", 1).asks[0][0]) * 1.1
        legs = [
            live.submit(0, BUY, low, 0.001, KIND_MANUAL, 1, now),
            live.submit(1, SELL, high, 0.001, KIND_MANUAL, 1, now),
        ]
        assert [s.written for s in sockets] == before  # built and signed, not written yet
        live.depart()
        assert [s.written for s in sockets] == [n + 1 for n in before]  # both handed to their sockets
        async with asyncio.TaskGroup() as group, asyncio.timeout(WAIT_S):
            for executor in session.executors.values():  # the user streams say how each order ended
                executor.run_background(group)
            for v, order in enumerate(legs):
                await session.executors[v].wait_until(lambda order=order: order.answered)
            for executor in session.executors.values():
                executor.stop()
        for order in legs:
            assert order.state.value == "expired" and 0 < order.intent_ns <= order.written_ns < order.ack_ns
        journal = session.journal.journal
        rows = {r["client_id"]: r for r in journal.intents()}
        for order in legs:  # the decision's event is journaled with each leg
            assert rows[order.client_id]["tick_ns"] == now
        assert journal.pair_latencies()["leg_gap"]["n"] == 1


async def _legs_answered(session: Any, legs: list[Any]) -> None:
    async with asyncio.TaskGroup() as group, asyncio.timeout(WAIT_S):
        for executor in session.executors.values():  # the user streams say how each order ended
            executor.run_background(group)
        for order in legs:
            await session.executors[order.venue].wait_until(lambda order=order: order.answered)
        for executor in session.executors.values():
            executor.stop()


async def test_a_decisions_rest_creates_leave_on_the_rest_lanes_back_to_back_and_answer_as_ccxts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # By REST (the shipped order entry), both legs of a pair are written by depart, in the step that decided
    # them, on each venue's keep-alive connections; the answers are read as ccxt's fetch reads them (the
    # orders end as the user streams say, the journal as the venues' ledgers)
    async with pair_session(tmp_path, monkeypatch) as (binance, bybit, session):
        live = session.live_executor()
        lanes = [session.executors[v].rest_lane for v in (0, 1)]
        assert all(lane is not None and lane.ready_count == lane.size == 2 for lane in lanes)
        now = session.executors[0].clock()
        low = float(binance.book("BTCUSDT", 1).bids[0][0]) * 0.9  # IOC orders away from the books: expired
        high = float(bybit.book("BTCUSDT", 1).asks[0][0]) * 1.1
        legs = [
            live.submit(0, BUY, low, 0.001, KIND_MANUAL, 1, now),
            live.submit(1, SELL, high, 0.001, KIND_MANUAL, 1, now),
        ]
        assert [lane.written for lane in lanes if lane] == [0, 0]  # built and signed, not written yet
        live.depart()
        assert [lane.written for lane in lanes if lane] == [1, 1]  # both on the wire, no task has run
        await _legs_answered(session, legs)
        for order in legs:
            assert order.state.value == "expired" and 0 < order.intent_ns <= order.written_ns < order.ack_ns
        ledgers = [{o.client_id: o.status.value for o in account(fake).orders} for fake in (binance, bybit)]
        assert [ledger[order.client_id] for ledger, order in zip(ledgers, legs, strict=True)] == ["expired"] * 2


async def test_a_create_that_finds_no_idle_rest_connection_goes_through_ccxt_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One connection and two orders in one decision on Binance: the first is written on the lane, the
    # second (nothing of it left this process) by ccxt's client; each reaches the venue once
    async with pair_session(tmp_path, monkeypatch, settings=[("binance.rest_connections", 1)]) as (binance, _, session):
        live = session.live_executor()
        lane = session.executors[0].rest_lane
        assert lane is not None and lane.size == 1
        now = session.executors[0].clock()
        low = float(binance.book("BTCUSDT", 1).bids[0][0]) * 0.9
        legs = [live.submit(0, BUY, low, 0.001, KIND_MANUAL, 1, now) for _ in range(2)]
        live.depart()
        assert (lane.written, lane.no_idle) == (1, 1)
        await _legs_answered(session, legs)
        assert all(order.state.value == "expired" and order.written_ns for order in legs)
        sent = [o.client_id for o in account(binance).orders]
        assert sorted(sent) == sorted(order.client_id for order in legs)  # each once


async def test_without_rest_connections_creates_go_through_ccxts_client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # rest_connections = 0: no lane is opened; the signed create leaves from its order's task, once
    async with pair_session(tmp_path, monkeypatch, settings=[("binance.rest_connections", 0)]) as (binance, _, session):
        assert session.executors[0].rest_lane is None and session.executors[1].rest_lane is not None
        live = session.live_executor()
        low = float(binance.book("BTCUSDT", 1).bids[0][0]) * 0.9
        leg = live.submit(0, BUY, low, 0.001, KIND_MANUAL, 1, session.executors[0].clock())
        live.depart()
        await _legs_answered(session, [leg])
        assert leg.state.value == "expired" and leg.written_ns > leg.intent_ns
        assert [o.client_id for o in account(binance).orders] == [leg.client_id]


async def test_the_written_time_of_a_request_is_taken_at_its_write_not_after_what_else_was_ready() -> None:
    # a request's bytes written in the task's step; something else already ready moves the clock on: the
    # written time is the write's, not that of a callback run after the other work
    async def ok(_request: web.Request) -> web.Response:
        return web.json_response({})

    app = web.Application()
    app.router.add_get("/", ok)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    now = [1_000]
    trace = WireTrace(lambda: now[0])
    try:
        session = trace.session()
        async with session.get(f"http://127.0.0.1:{port}/") as response:  # the connection, pooled
            await response.read()

        def later() -> None:
            now[0] = 2_000

        with WireTrace.recording() as rec:
            asyncio.get_running_loop().call_soon(later)  # ready before the request's step writes
            async with session.get(f"http://127.0.0.1:{port}/") as response:
                await response.read()
        assert now[0] == 2_000 and rec.written_ns == 1_000
    finally:
        await trace.close()
        await runner.cleanup()
