"""The live executor (ccxt, unpatched) against the fake private venues, with a real journal.

Each test stands up a fake venue on loopback, writes a configuration pointing at it (keys from the
environment, as in production), opens a TradingSession and trades through VenueExecutor. The venue's
ledger is the truth the journal is compared with. No test sleeps: each awaits a condition, bounded.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from arb.execution.orders import OrderState
from arb.execution.venue_executor import VenueExecutor
from arb.live.trading_session import KIND_MANUAL, trading_session
from arb.sim.faults import FaultKind
from arb.sim.ledger import OrderStatus
from arb.strategy.types import BUY, SELL
from tests.support.clocks import OffsetClock
from tests.support.live_rig import (
    BINANCE_LINEAR,
    BINANCE_SPOT,
    BYBIT_LINEAR,
    BYBIT_SPOT,
    EVERY_SPEC,
    OKX_LINEAR,
    OKX_SPOT,
    VenueSpec,
    account,
    answered_order,
    at_ask,
    best,
    create_requests,
    each_spec,
    eventually,
    fake_venue,
    ledger_id,
    load,
    set_keys,
    venue_and_executor,
    venue_and_session,
    write_live_config,
)

spec = each_spec(EVERY_SPEC)
"""Each venue-market in turn: every test here runs on all six."""


WRONG_SECRET_CODE = {"binance": -1022, "bybit": 10004, "okx": 50113}
"""What each venue answers a request signed with the wrong secret."""


def _journal_fills(executor: VenueExecutor) -> dict[str, tuple[Decimal, Decimal]]:
    rows = executor.journal.journal.fills(venue=executor.venue, market=executor.market)  # type: ignore[attr-defined]
    return {r["trade_id"]: (Decimal(r["price"]), Decimal(r["qty"])) for r in rows}


async def test_full_ioc_fill_is_journaled_once_and_equals_the_venues_ledger(
    spec: VenueSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with venue_and_session(spec, tmp_path, monkeypatch) as (venue, session):
        assert session.rule_differences == []
        executor = session.executors[spec.index]
        ask, qty = at_ask(venue, spec, Decimal("0.5"))
        order = await answered_order(executor, BUY, ask, qty)
        assert order.state is OrderState.FILLED and order.filled == qty
        assert executor.counters["unknown"] == 0 and executor.counters["duplicate_fills"] >= 0
        (ledger_order,) = account(venue).orders
        assert ledger_order.client_id == ledger_id(venue, order.client_id) and ledger_order.status is OrderStatus.FILLED
        ledger = {venue.exec_id(t): (t.price, t.qty) for t in ledger_order.trades}
        assert _journal_fills(executor) == ledger
        row = executor.journal.journal.intent(order.client_id)  # type: ignore[attr-defined]
        assert row["state"] == "filled" and row["written_ns"] > row["intent_ns"] and row["done_ns"] > 0
        assert row["price"] == order.price_text and row["qty"] == order.qty_text


async def test_the_partial_fill_fault_fills_a_share_of_the_order_and_expires_the_rest(
    spec: VenueSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with venue_and_executor(spec, tmp_path, monkeypatch) as (venue, executor):
        ask, half = at_ask(venue, spec, Decimal("0.5"))
        _, tenth = at_ask(venue, spec, Decimal("0.1"))
        qty = half * 2  # the best ask could fill it all
        venue.faults.order_partial("0.3")
        order = await answered_order(executor, BUY, ask, qty)
        share = (qty * Decimal("0.3")).quantize(spec.rules.step_size, rounding="ROUND_DOWN")
        assert order.state is OrderState.EXPIRED and order.filled == share
        (ledger_order,) = account(venue).orders
        assert ledger_order.status is OrderStatus.EXPIRED and ledger_order.executed_qty == share
        assert sum(q for _, q in _journal_fills(executor).values()) == share
        assert venue.faults.count(FaultKind.ORDER_PARTIAL) == 1
        again = await answered_order(executor, BUY, ask, tenth)
        assert again.state is OrderState.FILLED  # the fault was for one order only


async def test_partial_ioc_fill_books_what_filled_and_expires(
    spec: VenueSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with venue_and_executor(spec, tmp_path, monkeypatch) as (venue, executor):
        bid, bid_qty, _, _ = best(venue, spec)
        qty = bid_qty + spec.rules.step_size * 1000  # more than the best bid holds: the rest expires
        order = await answered_order(executor, SELL, bid, qty)
        assert order.state is OrderState.EXPIRED and order.filled == bid_qty
        assert order.status == "filled" and order.fill_qty == float(bid_qty)
        (ledger_order,) = account(venue).orders
        assert ledger_order.executed_qty == bid_qty
        assert sum(q for _, q in _journal_fills(executor).values()) == bid_qty


async def test_timeout_leaves_the_order_unknown_then_a_query_resolves_it_with_no_second_order(
    spec: VenueSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with venue_and_executor(spec, tmp_path, monkeypatch, live={"request_timeout_ms": 300}) as (venue, executor):
        ask, qty = at_ask(venue, spec, Decimal("0.25"))
        venue.faults.order_timeout(processed=True)
        async with asyncio.TaskGroup() as group:
            executor.run_background(group)
            order = executor.submit(BUY, float(ask), float(qty), KIND_MANUAL, 1, executor.clock())
            await eventually(lambda: executor.counters["unknown"] == 1, executor)
            await eventually(lambda: order.answered, executor)
            executor.stop()
        assert order.state is OrderState.FILLED and order.filled == qty
        assert len(account(venue).orders) == 1  # never sent again
        assert venue.faults.count(FaultKind.ORDER_TIMEOUT) == 1
        events = [e["kind"] for e in executor.journal.journal.order_events(order.client_id)]  # type: ignore[attr-defined]
        assert "unknown" in events and events[-1] == "done"
        assert len(create_requests(venue)) <= 1  # the held one may never have been logged as answered
        venue.faults.release_orders()


async def test_a_wrong_secret_is_refused_and_nothing_trades(
    spec: VenueSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_keys(monkeypatch, spec, secret="not-the-secret")
    async with fake_venue(spec) as venue:
        config = load(write_live_config(tmp_path, spec, venue))
        async with trading_session(config, [spec.index]) as session:
            executor = session.executors[spec.index]
            ask, qty = at_ask(venue, spec, Decimal("0.5"))
            order = await answered_order(executor, BUY, ask, qty)
            assert order.state is OrderState.REJECTED and order.rejection is not None
            assert order.rejection.code == WRONG_SECRET_CODE[spec.venue]
            assert account(venue).orders == []


@pytest.mark.parametrize(
    ("spec", "shift", "code"),
    [(BINANCE_SPOT, {"qty": Decimal("0.00001")}, -1013), (BINANCE_SPOT, {"balance": True}, -2010),
     (BINANCE_LINEAR, {"notional": True}, -4164), (BINANCE_LINEAR, {"balance": True}, -2019),
     (BYBIT_SPOT, {"qty": Decimal("0.00001")}, 170136), (BYBIT_SPOT, {"balance": True}, 170131),
     (BYBIT_LINEAR, {"notional": True}, 110094), (BYBIT_LINEAR, {"balance": True}, 110007),
     (OKX_SPOT, {"qty": Decimal("0.000001")}, 51020), (OKX_SPOT, {"balance": True}, 51008),
     (OKX_LINEAR, {"balance": True}, 51008)],
    ids=["binance-spot-notional", "binance-spot-balance", "binance-linear-notional", "binance-linear-margin",
         "bybit-spot-qty-min", "bybit-spot-balance", "bybit-linear-notional", "bybit-linear-margin",
         "okx-spot-qty-min", "okx-spot-balance", "okx-linear-margin"],
)  # fmt: skip
async def test_rejections_carry_the_venues_code(
    spec: VenueSpec, shift: dict[str, Any], code: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with venue_and_executor(spec, tmp_path, monkeypatch) as (venue, executor):
        _, _, ask, _ = best(venue, spec)
        if "qty" in shift:
            qty = shift["qty"]
        elif "balance" in shift:
            leverage = 1 if spec.market == "spot" else 10  # the fakes' default leverage
            qty = (Decimal(spec.balances["USDT"]) * leverage / ask * 2).quantize(spec.rules.step_size)
        else:
            qty = spec.rules.min_qty
        order = await answered_order(executor, BUY, ask, qty)
        assert order.state is OrderState.REJECTED and order.rejection is not None
        assert order.rejection.code == code
        row = executor.journal.journal.intent(order.client_id)  # type: ignore[attr-defined]
        assert row["state"] == "rejected" and row["reject_code"] == str(code)


# -- faults -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "on_ledger"),
    [
        ("drop-processed", 1),
        ("drop-unprocessed", 0),
        ("5xx-processed", 1),
        ("system-error-processed", 1),
    ],
)
async def test_unknown_outcomes_are_found_out_by_query_never_by_resending(
    spec: VenueSpec, fault: str, on_ledger: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with venue_and_executor(spec, tmp_path, monkeypatch) as (venue, executor):
        ask, qty = at_ask(venue, spec, Decimal("0.5"))
        if fault.startswith("drop"):
            venue.faults.order_drop(processed=fault == "drop-processed")
        elif fault == "5xx-processed":
            venue.faults.order_error(502, processed=True)
        elif spec.venue == "binance":  # "Send status unknown; execution status unknown"
            venue.faults.order_error(503, -1007, processed=True)
        elif spec.venue == "okx":  # the order's own timeout, its sCode inside an HTTP 200
            venue.faults.order_error(200, 51149, "Order timed out, please try again later.", processed=True)
        else:
            venue.faults.order_error(200, 10016, "Internal system error.", processed=True)
        order = await answered_order(executor, BUY, ask, qty)
        assert executor.counters["unknown"] == 1
        assert len(account(venue).orders) == on_ledger  # the request went out once, or not at all
        if on_ledger:
            assert order.state is OrderState.FILLED and order.filled == qty
        else:
            assert order.state is OrderState.REJECTED and order.rejection is not None
            assert order.rejection.code == "not-found" and executor.counters["not_found"] == 1


async def test_an_order_the_venue_shows_late_is_not_declared_missing(
    spec: VenueSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = {"unknown_checks": 3, "request_timeout_ms": 1000}  # the answer is held: the timeout comes first
    async with venue_and_executor(spec, tmp_path, monkeypatch, live=live) as (venue, executor):
        ask, qty = at_ask(venue, spec, Decimal("0.5"))
        venue.faults.order_timeout(processed=True)
        venue.faults.hide_orders(queries=2)  # the first two queries answer "no such order"
        venue.faults.silence_user_stream()  # and the stream says nothing either
        order = await answered_order(executor, BUY, ask, qty)
        assert order.state is OrderState.FILLED and len(account(venue).orders) == 1
        assert executor.counters["not_found"] == 0
        venue.faults.release_orders()


async def test_a_silent_user_stream_is_covered_by_the_rest_sweep(
    spec: VenueSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with venue_and_executor(spec, tmp_path, monkeypatch) as (venue, executor):
        ask, qty = at_ask(venue, spec, Decimal("0.5"))
        venue.faults.silence_user_stream()
        order = await answered_order(executor, BUY, ask, qty)
        sources = {r["source"] for r in executor.journal.journal.fills()}  # type: ignore[attr-defined]
        if spec.id == "binance-spot":  # a FULL answer carries the fills: nothing was left to sweep
            assert order.state is OrderState.FILLED and sources == {"reply"}
        else:
            assert order.state is OrderState.FILLED and executor.counters["sweeps"] >= 1
            assert sources == {"rest"}


async def test_a_dropped_user_stream_reconnects_and_sweeps(
    spec: VenueSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with venue_and_executor(spec, tmp_path, monkeypatch) as (venue, executor):
        async with asyncio.TaskGroup() as group:
            executor.run_background(group)
            await eventually(venue.user_streams_up, venue)
            venue.faults.silence_user_stream()
            ask, qty = at_ask(venue, spec, Decimal("0.5"))
            order = executor.submit(BUY, float(ask), float(qty), KIND_MANUAL, 1, executor.clock())
            await venue.wait_until(lambda: len(account(venue).orders) == 1)
            assert await venue.drop_user_streams() >= 1
            venue.faults.resume_user_stream()
            await eventually(lambda: executor.stream_reconnects >= 1 and order.answered, executor)
            executor.stop()
        assert order.state is OrderState.FILLED
        assert len(_journal_fills(executor)) == len(account(venue).orders[0].trades)


async def test_rate_limit_and_ban_stop_new_orders_locally(
    spec: VenueSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with venue_and_executor(spec, tmp_path, monkeypatch) as (venue, executor):
        ask, qty = at_ask(venue, spec, Decimal("0.25"))
        venue.ban(600)
        if spec.venue == "okx":
            await _busy_okx(venue, executor, ask, qty)
            return
        first = await answered_order(executor, BUY, ask, qty)
        assert first.state is OrderState.REJECTED and executor.guard.banned
        second = await answered_order(executor, BUY, ask, qty)
        assert second.rejection is not None and second.rejection.code == "local"
        assert "BANNED" in second.rejection.message
        assert len(create_requests(venue)) == 1  # the second never left
        row = executor.journal.journal.intent(second.client_id)  # type: ignore[attr-defined]
        assert row["state"] == "rejected" and row["reject_code"] == "local" and row["written_ns"] == 0
        assert account(venue).orders == []


async def _busy_okx(venue: Any, executor: VenueExecutor, ask: Decimal, qty: Decimal) -> None:
    # OKX answers every request of a banned client "50013 Systems are busy" (HTTP 429), a code that leaves an
    # order's fate unknown: the order is asked after (while the venue says busy, again and again), never sent
    # again, and a new order is refused locally, the venue held
    async with asyncio.TaskGroup() as group:
        executor.run_background(group)
        first = executor.submit(BUY, float(ask), float(qty), KIND_MANUAL, 1, executor.clock())
        await eventually(lambda: executor.counters["unknown"] == 1, executor)
        second = executor.submit(BUY, float(ask), float(qty), KIND_MANUAL, 1, executor.clock())
        await eventually(lambda: second.answered, executor)
        executor.stop()
    assert first.state is OrderState.UNKNOWN and executor.guard.rate_limited >= 1
    assert second.rejection is not None and second.rejection.code == "local"
    assert "rate limited (50013" in second.rejection.message
    assert len(create_requests(venue)) == 1 and account(venue).orders == []


async def test_keeping_the_order_path_warm_signs_creates_and_sends_none(
    spec: VenueSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # [live] warm_interval_ms: the create is built and signed again and again while trading; nothing of
    # it is written, journaled or counted, and the venue sees no order
    async with venue_and_session(spec, tmp_path, monkeypatch, live={"warm_interval_ms": 1}) as (venue, session):
        executor = session.executors[spec.index]
        async with asyncio.TaskGroup() as group:
            executor.run_background(group)
            await eventually(lambda: executor.warmed >= 5, executor)
            executor.stop()
        lane = executor.rest_lane
        assert lane is not None and lane.written == 0
        assert account(venue).orders == [] and executor.orders == {} and executor.counters["sent"] == 0
        assert executor.journal.journal.intents() == []  # type: ignore[attr-defined]


async def test_a_client_id_the_journal_holds_is_never_sent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = BYBIT_SPOT
    set_keys(monkeypatch, spec)
    async with fake_venue(spec) as venue:
        config = load(write_live_config(tmp_path, spec, venue))
        async with trading_session(config, [spec.index], run_id="fixed") as session:
            executor = session.executors[spec.index]
            ask, qty = at_ask(venue, spec, Decimal("0.25"))
            first = await answered_order(executor, BUY, ask, qty)
        async with trading_session(config, [spec.index], run_id="fixed") as session:  # the same ids again
            executor = session.executors[spec.index]
            again = await answered_order(executor, BUY, ask, qty)
        assert again.client_id == first.client_id and again.state is OrderState.REJECTED
        assert again.rejection is not None and again.rejection.code == "local"
        assert len(account(venue).orders) == 1


async def test_a_runs_first_order_asks_the_journal_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # whether the journal holds the run's ids is asked when the executor starts: the first order's submit
    # (intent into the log, create signed) runs no SQL, as every later one
    import sqlalchemy as sa

    spec = BYBIT_SPOT
    async with venue_and_executor(spec, tmp_path, monkeypatch) as (venue, executor):
        statements: list[str] = []
        engine = executor.journal.journal.engine  # type: ignore[attr-defined]
        sa.event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        ask, qty = at_ask(venue, spec, Decimal("0.25"))
        async with asyncio.TaskGroup() as group:
            executor.run_background(group)
            order = executor.submit(BUY, float(ask), float(qty), KIND_MANUAL, 1, executor.clock())
            assert statements == [] and order.client_id in executor.orders
            await eventually(lambda: order.answered, executor)
            executor.stop()
        assert len(account(venue).orders) == 1


async def test_a_fee_paid_in_a_third_coin_is_journaled_as_charged_and_said_not_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Binance spot with its fee discount coin on: the venue charges the fee in BNB, neither the base nor
    # the quote. The journal keeps it as charged; the engine's PnL cannot value it yet, and says so.
    from arb.sim import VenueOptions

    options = VenueOptions(fee_coin=("BNB", Decimal("500")))
    async with venue_and_executor(BINANCE_SPOT, tmp_path, monkeypatch, options=options) as (venue, executor):
        ask, qty = at_ask(venue, BINANCE_SPOT, Decimal("0.5"))
        order = await answered_order(executor, BUY, ask, qty)
        assert order.state is OrderState.FILLED
        (trade,) = account(venue).orders[0].trades
        assert trade.fee_asset == "BNB" and trade.fee > 0
        rows = executor.journal.journal.fills(venue=executor.venue, market=executor.market)  # type: ignore[attr-defined]
        assert [(r["fee_asset"], Decimal(r["fee"])) for r in rows] == [("BNB", trade.fee)]
        assert executor.counters["unvalued_fees"] == 1
        said = [r.getMessage() for r in caplog.records if getattr(r, "event", "") == "unvalued_fee"]
        assert len(said) == 1 and f"{trade.fee.normalize():f} BNB" in said[0] and order.client_id in said[0]


async def test_a_usdm_listen_key_that_expires_reopens_the_user_stream_with_a_new_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Binance sends listenKeyExpired and then nothing more on that connection, which it leaves open; ccxt
    # drops the event. arb reopens the stream with a new key, and the fills after it arrive there.
    from arb.sim.options import VenueOptions

    clock = OffsetClock()
    spec = BINANCE_LINEAR
    async with venue_and_executor(spec, tmp_path, monkeypatch, options=VenueOptions(clock=clock)) as (venue, executor):

        def keys() -> int:
            return sum(1 for r in venue.stats.rest_requests if r.method == "POST" and r.path == "/fapi/v1/listenKey")

        async with asyncio.TaskGroup() as group:
            executor.run_background(group)
            await eventually(venue.user_streams_up, venue)
            assert keys() == 1 and executor.stream_reconnects == 0
            clock.offset = 3_601.0  # an hour on, and nothing renewed the key: it expires
            await venue.tick()
            clock.offset = 0.0
            (expired,) = [m.connection for m in venue.user_stream_log if m.event == "listenKeyExpired"]
            await eventually(lambda: executor.stream_reconnects >= 1 and keys() == 2 and venue.user_streams_up(),
                             executor, venue)  # fmt: skip
            ask, qty = at_ask(venue, spec, Decimal("0.25"))
            order = executor.submit(BUY, float(ask), float(qty), KIND_MANUAL, 1, executor.clock())
            await eventually(lambda: order.answered, executor)
            executor.stop()
        (ledger_order,) = account(venue).orders
        assert order.state is OrderState.FILLED and order.filled == ledger_order.executed_qty
        reports = [m for m in venue.user_stream_log if m.event == "ORDER_TRADE_UPDATE" and m.sent]
        assert reports and all(m.connection != expired for m in reports)  # on the new stream
