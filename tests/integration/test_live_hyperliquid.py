"""arb's live executor on Hyperliquid through ccxt's ``hyperliquid`` (unpatched), against the fake Hyperliquid
exchange on the testnet (its signatures' ``source`` ``"b"``), pointed at it only by the venue file: an API wallet
(agent) signs, the account's address is the one every query names, and the keys come from the environment.

The book (:func:`tests.sim.test_hyperliquid_exchange.hyperliquid_recording`): bids 60000 x 0.5, 59990 x 1;
asks 60010 x 0.2, 60020 x 0.3, 60030 x 1; its second book crosses a buy resting at 59995 (asks from 59990).
Nothing sleeps: every wait is for a condition, bounded. Each test drives a session's executor in this process
(no ``arb`` process, no kernel compiled): a second or less of CPU each.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from decimal import Decimal as D  # noqa: N817 - short for the literals below
from pathlib import Path
from typing import Any

import pytest

from arb.config import load_config
from arb.errors import EXIT_VENUE_REFUSED, VenueError
from arb.execution.dead_man import DeadMan
from arb.execution.orders import OrderState
from arb.execution.venue_executor import VenueExecutor
from arb.live.trading_session import KIND_MANUAL, TradingSession, trading_session
from arb.sim.hyperliquid.exchange import FakeHyperliquidExchange
from arb.sim.options import VenueOptions
from arb.strategy.types import BUY, SELL
from arb.testing.configs import local_endpoints, write_config_files
from connectors.hyperliquid.private import cloid_of
from tests.sim.test_hyperliquid_exchange import (
    ACCOUNT,
    AGENT_KEY,
    STRANGER,
    STRANGER_KEY,
    hyperliquid_recording,
)
from tests.support.clocks import OffsetClock
from tests.support.live_rig import account, eventually

HL = 1
"""Hyperliquid's number in the run: ``venues = ["binance", "hyperliquid"]``."""
WAIT_S = 60.0
"""A bound on a step that hangs, not on its speed."""


@contextlib.asynccontextmanager
async def _fake(tmp_path: Path, clock: OffsetClock | None = None, *, ctx_every: int = 0,
                frames: int = 1) -> AsyncIterator[FakeHyperliquidExchange]:  # fmt: skip
    # The fake on the testnet: account "arb" at ACCOUNT (100,000 USDC), the agent AGENT approved by it, its first
    # ``frames`` frames released (``ctx_every``: an activeAssetCtx after every so many books)
    recording = hyperliquid_recording(tmp_path / "btc.gz", ctx_every=ctx_every)
    options = VenueOptions(clock=clock or OffsetClock())
    async with asyncio.timeout(WAIT_S), FakeHyperliquidExchange(recording, options=options, network="testnet") as fake:
        fake.add_account("arb", address=ACCOUNT, balances={"USDC": "100000"})
        fake.signers.approve_agent(ACCOUNT, _address(AGENT_KEY))
        await fake.advance(frames)
        yield fake


def _address(key: str) -> str:
    from eth_account import Account

    return str(Account.from_key(key).address).lower()


def _config(folder: Path, fake: FakeHyperliquidExchange, monkeypatch: pytest.MonkeyPatch, *, key: str = AGENT_KEY,
            address: str = ACCOUNT, timeout_ms: int = 2000, grace_ms: int = 300) -> Any:  # fmt: skip
    # The venue file as shipped, its testnet pointed at the fake; the keys in the variables it names
    monkeypatch.setenv("HYPERLIQUID_API_ACCOUNT_ADDRESS", address)
    monkeypatch.setenv("HYPERLIQUID_API_PRIVATE_KEY", key)
    endpoints = local_endpoints(fake.ws_urls[0], fake.rest_url, market="linear", network="testnet",
                                ws_private=fake.private_ws_url)  # fmt: skip
    live = {"unknown_check_interval_ms": 50, "unknown_checks": 3, "unknown_grace_ms": grace_ms,
            "fill_check_after_ms": 300, "request_timeout_ms": timeout_ms}  # fmt: skip
    path = write_config_files(
        folder,
        arbitrage_overrides={"strategy": {"venues": ["binance", "hyperliquid"], "symbol": "BTCUSDT"}, "live": live},
        hyperliquid_overrides={**endpoints, "account": {"base": 0.0, "quote": 100000.0}},
    )
    return load_config(path)


@contextlib.asynccontextmanager
async def _session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: OffsetClock | None = None,
                   **keys: Any) -> AsyncIterator[tuple[FakeHyperliquidExchange, TradingSession]]:  # fmt: skip
    async with _fake(tmp_path, clock) as fake:
        config = _config(tmp_path, fake, monkeypatch, **keys)
        async with trading_session(config, [HL]) as session:
            yield fake, session


async def _answered(executor: VenueExecutor, side: int, price: str, qty: str, *, quote: bool = False) -> Any:
    # One manual order (a post-only quote with ``quote``), once the venue answered it (a quote: resting or done)
    now = executor.clock()
    if quote:
        order = executor.submit_quote(side, float(price), float(qty), 1, now)  # type: ignore[attr-defined]
    else:
        order = executor.submit(side, float(price), float(qty), KIND_MANUAL, 1, now)
    await eventually(lambda: order.answered or order.state is OrderState.ACCEPTED, executor)
    return order


def _fills(executor: VenueExecutor) -> dict[str, tuple[D, D]]:
    rows = executor.journal.journal.fills(venue=executor.venue, market=executor.market)  # type: ignore[attr-defined]
    return {r["trade_id"]: (D(r["price"]), D(r["qty"])) for r in rows}


async def test_a_session_starts_on_the_agents_key_and_reconciles_the_accounts_balance_position_and_orders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with _session(tmp_path, monkeypatch) as (_, session):
        executor = session.executors[HL]
        assert executor.markets[0].ccxt_symbol == "BTC/USDC:USDC" and executor.quote_asset == "USDC"
        assert executor.exchange.options["sandboxMode"] is True  # signed for the testnet
        (report,) = await session.reconcile()
        assert report.venue == "hyperliquid" and not report.earlier_mismatch
        assert await executor.balances() == {"USDC": D("100000")}  # read by the account's address, not the agent's
        assert await executor.position_and_entry() == (D(0), D(0))
        assert await executor.open_orders() == []
        (fees,) = await executor.account_fees()
        assert (fees.maker, fees.taker) == (D("0.00015"), D("0.00045"))
        lines = await executor.adapter.perpetual_account(executor, "cross", "hyperliquid.toml")
        (budget,) = lines
        assert budget.startswith("address budget: ") and "of 10000 requests used (volume traded $0.00)" in budget


async def _streams_up(fake: FakeHyperliquidExchange) -> None:
    # ccxt pro subscribed to the account's orderUpdates and userFills (by its address, not the agent's)
    await eventually(
        lambda: (
            fake.subscriber_count(f"orderUpdates:{ACCOUNT}") == 1 and fake.subscriber_count(f"userFills:{ACCOUNT}") == 1
        ),
        fake,
    )


async def test_an_ioc_takes_two_levels_and_each_fill_is_booked_once_from_the_stream_and_the_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with _session(tmp_path, monkeypatch) as (fake, session):
        executor = session.executors[HL]
        async with asyncio.TaskGroup() as group:
            executor.run_background(group)
            await _streams_up(fake)
            order = await _answered(executor, BUY, "60020", "0.3")
            await eventually(lambda: len(_fills(executor)) == 2 and order.state.terminal, executor)
            for row in await executor.adapter.trades_since(executor, "BTCUSDT", 0):  # a gap's sweep: nothing new
                executor.on_trade_message(row, "rest")
            missed = await _answered(executor, BUY, "59000", "0.001")  # below every ask: takes nothing
            executor.stop()
        # the venue answers an IOC that took nothing with an error, not an expiry: a refusal with its type
        assert missed.state is OrderState.REJECTED and missed.rejection.code == "IocCancel" and not missed.fills
        assert order.state is OrderState.FILLED and order.filled == D("0.3")
        sent = account(fake).orders[0]
        assert fake.orders.cloid(sent) == cloid_of(order.client_id)  # arb's client id as a 128-bit cloid
        assert _fills(executor) == {str(t.trade_id): (t.price, t.qty) for t in account(fake).trades}
        assert sorted(_fills(executor).values()) == [(D("60010"), D("0.2")), (D("60020"), D("0.1"))]
        assert executor.counters["duplicate_fills"] >= 2 and executor.counters["unknown"] == 0
        assert await executor.position_and_entry() == (D("0.3"), (D("60010") * 2 + D("60020")) / 3)


async def test_a_post_only_quote_rests_fills_as_a_maker_another_is_cancelled_and_one_that_would_take_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with _session(tmp_path, monkeypatch) as (fake, session):
        executor = session.executors[HL]
        async with asyncio.TaskGroup() as group:
            executor.run_background(group)
            await _streams_up(fake)
            resting = await _answered(executor, BUY, "59995", "0.001", quote=True)
            far = await _answered(executor, BUY, "59000", "0.001", quote=True)
            taker = await _answered(executor, SELL, "59000", "0.001", quote=True)  # below the bid: would take
            assert (resting.state, far.state) == (OrderState.ACCEPTED, OrderState.ACCEPTED)
            assert taker.state is OrderState.REJECTED and taker.rejection.code == "BadAloPx"
            assert executor.cancel_quote(far.order_id, executor.clock())  # type: ignore[attr-defined]
            await fake.advance(1)  # the next book's asks cross 59995
            await eventually(lambda: resting.state is OrderState.FILLED and far.state.terminal, executor)
            await eventually(lambda: len(_fills(executor)) == 1, executor)
            executor.stop()
        assert far.state is OrderState.CANCELED and far.filled == 0
        ((trade_id, (price, qty)),) = _fills(executor).items()
        (trade,) = account(fake).trades
        assert (trade_id, price, qty, trade.is_maker) == (str(trade.trade_id), D("59995"), D("0.001"), True)
        assert executor.counters["post_only_rejects"] == 1
        assert [fake.orders.cloid(o) for o in account(fake).orders] == [cloid_of(o.client_id) for o in (resting, far)]


@pytest.mark.parametrize("fault", ["held", "dropped"])
async def test_an_order_whose_answer_is_lost_is_found_by_its_cloid_and_never_sent_again(
    fault: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The IOC fills, its answer is held past the client's timeout (or its connection dropped) and the private
    # stream is silent: only orderStatus by its cloid can say what became of it, and userFills what it filled
    async with _session(tmp_path, monkeypatch, timeout_ms=300) as (fake, session):
        executor = session.executors[HL]
        async with asyncio.TaskGroup() as group:
            executor.run_background(group)
            await _streams_up(fake)
            fake.faults.silence_user_stream()
            if fault == "held":
                fake.faults.order_timeout(processed=True)
            else:
                fake.faults.order_drop(processed=True)
            order = await _answered(executor, BUY, "60020", "0.3")
            await eventually(lambda: len(_fills(executor)) == 2, executor)
            executor.stop()
            fake.faults.release_orders()
        assert order.state is OrderState.FILLED and order.filled == D("0.3")
        assert executor.counters["unknown"] == 1 and executor.counters["resolved"] == 1
        (sent,) = account(fake).orders  # never sent again
        assert fake.orders.cloid(sent) == cloid_of(order.client_id)
        assert _fills(executor) == {str(t.trade_id): (t.price, t.qty) for t in account(fake).trades}
        row = executor.journal.journal.intent(order.client_id)  # type: ignore[attr-defined]
        assert row["state"] == "filled"


async def test_an_order_a_session_left_unanswered_is_booked_from_the_stream_after_a_restart_never_as_no_orders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The venue holds the IOC's request, not acted on, past the client's timeout: the session ends knowing only
    # that it was sent (as a killed one would). The next session on the same journal takes it over and asks; its
    # queries are held while the venue acts on the order, so its fills and state come on the stream alone, naming
    # nothing of arb's but the cloid (a digest of the client id, which the new session never sent): each fill is
    # booked once, to that order. A grace of a minute: the order cannot be declared not found meanwhile.
    async with _fake(tmp_path) as fake:
        fake.faults.order_timeout(processed=False)
        config = _config(tmp_path, fake, monkeypatch, timeout_ms=1000, grace_ms=60_000)
        async with trading_session(config, [HL]) as first:  # no stream, no resolver: its answer alone would tell
            executor = first.executors[HL]
            sent = executor.submit(BUY, 60020.0, 0.3, KIND_MANUAL, 1, executor.clock())
            await eventually(lambda: sent.state is OrderState.UNKNOWN, executor)
        assert not account(fake).orders  # held before the venue's book: nothing placed yet
        config = _config(tmp_path, fake, monkeypatch, grace_ms=60_000)  # the same journal
        async with trading_session(config, [HL]) as second:
            executor = second.executors[HL]
            async with asyncio.TaskGroup() as group:
                executor.run_background(group)
                await _streams_up(fake)
                fake.faults.rest_hold()
                reconciling = asyncio.create_task(second.reconcile())
                await eventually(lambda: sent.client_id in executor.orders, executor)  # taken over from the journal
                fake.faults.release_orders()  # the venue acts now; its answer goes to the first session's client
                order = executor.orders[sent.client_id]
                await eventually(lambda: order.state is OrderState.FILLED and len(_fills(executor)) == 2, executor)
                fake.faults.rest_release()
                (report,) = await reconciling
                executor.stop()
            rows = executor.journal.journal.fills(venue="hyperliquid")  # type: ignore[attr-defined]
            intent = executor.journal.journal.intent(sent.client_id)  # type: ignore[attr-defined]
            booked = _fills(executor)
        assert report.ok and not report.orphan_fills and report.resolved == [f"{sent.client_id}: filled"]
        assert order.filled == D("0.3") and intent["state"] == "filled"
        assert [(r["client_id"], r["source"]) for r in rows] == [(sent.client_id, "stream")] * 2  # to it, none orphan
        assert not executor.orphan_fills and executor.counters["orphans_attached"] == 0
        assert booked == {str(t.trade_id): (t.price, t.qty) for t in account(fake).trades}
        (placed,) = account(fake).orders  # sent once, by the first session
        assert fake.orders.cloid(placed) == cloid_of(sent.client_id)


async def test_the_dead_mans_switch_is_armed_renewed_fires_and_is_unset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = OffsetClock()
    async with _session(tmp_path, monkeypatch, clock) as (fake, session):
        executor = session.executors[HL]
        switch = DeadMan(executor)
        assert await switch.arm(10) == "armed, 10 s"
        first = fake.orders.schedules["arb"]
        assert abs(first - (clock() * 1000 + 10_000)) < 2_000  # now + the window, by ccxt's nonce
        keeper = asyncio.create_task(executor.adapter.keep_dead_man(executor, executor.markets, 10, armed=False))
        try:
            await eventually(lambda: fake.orders.schedules["arb"] > first, fake)  # renewed
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
        async with asyncio.TaskGroup() as group:
            executor.run_background(group)
            quote = await _answered(executor, BUY, "59000", "0.001", quote=True)
            clock.advance(11)  # no renewal for longer than the window
            await fake.tick()
            await eventually(lambda: quote.state.terminal, executor)
            executor.stop()
        assert quote.state is OrderState.CANCELED and fake.schedule_triggers
        clock.advance(-11)  # the venue's clock back beside ccxt's nonces (real time)
        assert await switch.arm(10) == "armed, 10 s"
        assert await switch.disarm(10) == "disarmed" and "arb" not in fake.orders.schedules


async def test_a_key_the_account_never_approved_is_refused_as_the_credentials_naming_the_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with _session(tmp_path, monkeypatch, key=STRANGER_KEY) as (fake, session):
        executor = session.executors[HL]
        assert await executor.balances() == {"USDC": D("100000")}  # a query names the account: no key needed
        with pytest.raises(VenueError) as refused:
            await DeadMan(executor).arm(10)  # the first signed action
        error = refused.value
        assert error.code == "UnknownSigner" and error.exit_code == EXIT_VENUE_REFUSED  # exit 3: a person fixes it
        assert f"User or API Wallet {STRANGER} does not exist." in str(error)
        assert "HYPERLIQUID_API_ACCOUNT_ADDRESS and HYPERLIQUID_API_PRIVATE_KEY" in error.check
        assert STRANGER_KEY.removeprefix("0x") not in str(error) + error.check
        assert "arb" not in fake.orders.schedules


async def test_cancel_all_cancels_every_open_order_by_its_oid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # arb kill's second step (and a clean stop's): the account's open orders listed, each cancelled
    async with _session(tmp_path, monkeypatch) as (fake, session):
        executor = session.executors[HL]
        async with asyncio.TaskGroup() as group:
            executor.run_background(group)
            quotes = [await _answered(executor, BUY, price, "0.001", quote=True) for price in ("59000", "58000")]
            listed = await executor.open_orders()
            assert sorted(u.client_id for u in listed) == sorted(q.client_id for q in quotes)
            assert await executor.cancel_open() == 2
            await eventually(lambda: all(q.state.terminal for q in quotes), executor)
            executor.stop()
        assert await executor.open_orders() == [] and not fake.ledger.open_orders(account(fake))
        assert all(q.state is OrderState.CANCELED for q in quotes)


async def test_an_hours_funding_on_the_held_position_is_read_from_user_funding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = OffsetClock()
    async with (
        _fake(tmp_path, clock, ctx_every=1, frames=2) as fake,  # the first book and its hour's rate
        trading_session(_config(tmp_path, fake, monkeypatch), [HL]) as session,
    ):
        executor = session.executors[HL]
        async with asyncio.TaskGroup() as group:
            executor.run_background(group)
            await _answered(executor, BUY, "60010", "0.2")
            executor.stop()
        clock.advance(3600.0)
        await fake.advance(2)  # the next hour's context: the position held at the hour pays
        (paid,) = account(fake).fundings
        (payment,) = await executor.adapter.funding_income(executor, "BTCUSDT", 0)
    assert payment.payment == paid.payment == -(D("0.2") * D("60005.0") * D("0.0000125")).quantize(D("1e-8"))
    assert (payment.symbol, payment.asset, payment.ts_ms) == ("BTCUSDT", "USDC", paid.funding_ms)
