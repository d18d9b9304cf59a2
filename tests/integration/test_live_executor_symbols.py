"""Two symbols through one venue executor against the fake private venues (ccxt unpatched, a real journal).

Each test stands up a fake venue trading its usual symbol and ETHUSDT (spot: both replayed; linear:
ETHUSDT tradable, not replayed), writes a configuration trading both, and checks what differs from one
symbol: one private connection carries both symbols' orders and fills, each booked to its symbol
(Binance numbers trades per symbol, so the two symbols' first trades share an id), open orders are
counted per symbol, reconciliation reports per symbol, the kill switch flattens each symbol, a linear
venue's settings and dead-man's switch cover both.
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from arb.cli import main as cli
from arb.config import PerpetualConfig
from arb.errors import ArbError
from arb.execution.live_executor import LiveExecutor
from arb.execution.orders import LiveOrder, OrderState
from arb.execution.perpetual import apply_perpetual_settings
from arb.execution.reconcile import summarize
from arb.execution.venue_executor import VenueExecutor
from arb.live.kill import kill
from arb.live.trading_session import KIND_MANUAL, trading_session, venue_account
from arb.sim.ledger import OrderStatus, OrderType, Side, SymbolRules, TimeInForce
from arb.sim.options import VenueOptions
from arb.strategy.types import BUY
from tests.support.clocks import OffsetClock
from tests.support.live_rig import (
    BINANCE_LINEAR,
    BINANCE_SPOT,
    BYBIT_LINEAR,
    BYBIT_SPOT,
    SECOND_RULES,
    WAIT_S,
    VenueSpec,
    account,
    each_spec,
    eventually,
    fake_venue,
    load,
    reconciled,
    reconciled_session,
    second_recording,
    set_keys,
    two_symbol_session,
    two_symbol_venue,
    write_two_symbol_config,
)

SPOT = [BINANCE_SPOT, BYBIT_SPOT]
LINEAR = [BINANCE_LINEAR, BYBIT_LINEAR]


spec = each_spec(SPOT)
"""Each spot venue in turn (a test that parametrizes ``spec`` itself runs on those it names: the linear ones)."""


def _rules(spec: VenueSpec, symbol: str) -> SymbolRules:
    return spec.rules if symbol == spec.symbol else SECOND_RULES[spec.id]


def _buy_at_ask(venue: Any, spec: VenueSpec, symbol: str, notional: Decimal = Decimal("30")) -> tuple[Decimal, Decimal]:
    """A buy at ``symbol``'s best ask for about ``notional`` quote (within the level, above the minimums)."""
    rules = _rules(spec, symbol)
    (ask, ask_qty) = venue.book(symbol, 1).asks[0]
    price = Decimal(ask)
    qty = max(rules.min_qty, (notional / price).quantize(rules.step_size))
    return price, min(qty, Decimal(ask_qty))


def _rest_far_below(venue: Any, spec: VenueSpec, symbol: str) -> Any:
    """A good-till-cancelled buy of ``symbol`` placed by hand, priced far below any market: it rests."""
    rules = _rules(spec, symbol)
    price = (rules.min_notional * 4 / rules.min_qty / 100).quantize(rules.tick_size)
    qty = max(rules.min_qty, (rules.min_notional * 2 / price).quantize(rules.step_size))
    return venue.ledger.place(account(venue), symbol=symbol, side=Side.BUY, type=OrderType.LIMIT, qty=qty,
                              price=price, client_id=f"resting-{symbol}")  # fmt: skip


def _ledger_fills(venue: Any, symbol: str) -> dict[str, tuple[Decimal, Decimal, str]]:
    return {venue.exec_id(t): (t.price, t.qty, t.client_id) for t in account(venue).trades if t.symbol == symbol}


def _journal_fills(executor: VenueExecutor, symbol: str) -> dict[str, tuple[Decimal, Decimal, str]]:
    rows = executor.journal.journal.fills(venue=executor.venue, market=executor.market, symbol=symbol)  # type: ignore[attr-defined]
    return {r["trade_id"]: (Decimal(r["price"]), Decimal(r["qty"]), r["client_id"]) for r in rows}


def _one_private_connection(venue: Any) -> bool:
    if hasattr(venue, "user_stream_count"):  # Binance: one WS-API subscription or one listen-key stream
        return bool(venue.user_stream_count() == 1)
    return bool(venue.subscriber_count("order") == 1 and venue.subscriber_count("execution") == 1)


async def _both_bought(executor: VenueExecutor, venue: Any, spec: VenueSpec) -> tuple[LiveOrder, LiveOrder]:
    """Buy each symbol at its ask at once through the executor (counted as the engine counts them)."""
    live = LiveExecutor([executor], symbols=2)
    v = spec.index
    async with asyncio.TaskGroup() as group:
        executor.run_background(group)
        await eventually(venue.user_streams_up, venue)
        orders = []
        for s, symbol in enumerate(executor.symbols):
            price, qty = _buy_at_ask(venue, spec, symbol)
            orders.append(executor.submit(BUY, float(price), float(qty), KIND_MANUAL, 1, executor.clock(), symbol=s))
        live.depart()  # the decision handed over, as the engine ends one
        counts = live.open_counts.ravel().tolist()
        assert len(counts) == 4 and counts[v] == 1 and counts[2 + v] == 1  # per asset 2 * symbol + venue
        await eventually(lambda: all(o.answered for o in orders), executor)
        executor.stop()
    return orders[0], orders[1]


async def test_two_symbols_trade_on_one_private_connection_each_fill_booked_to_its_symbol(
    spec: VenueSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, two_symbols: Path
) -> None:
    async with two_symbol_session(spec, tmp_path, monkeypatch, two_symbols) as (venue, session):
        executor = session.executors[spec.index]
        assert executor.symbols == (spec.symbol, "ETHUSDT")
        first, second = await _both_bought(executor, venue, spec)
        assert _one_private_connection(venue)
        assert (first.symbol, first.symbol_index, second.symbol, second.symbol_index) == (spec.symbol, 0, "ETHUSDT", 1)
        for order in (first, second):
            assert order.state is OrderState.FILLED and order.fills
        assert {o.symbol for o in account(venue).orders} == {spec.symbol, "ETHUSDT"}
        for order in (first, second):
            assert _journal_fills(executor, order.symbol) == _ledger_fills(venue, order.symbol)  # each once
        if spec.venue == "binance":  # trade ids per symbol: the two first fills have the same id, both booked
            assert set(_ledger_fills(venue, spec.symbol)) & set(_ledger_fills(venue, "ETHUSDT"))
        sources = {r["source"] for r in executor.journal.journal.fills()}  # type: ignore[attr-defined]
        assert "stream" in sources or spec.id == "binance-spot"  # Binance spot's FULL reply may come first


async def test_a_silent_user_stream_is_covered_for_every_symbol(
    spec: VenueSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, two_symbols: Path
) -> None:
    async with two_symbol_session(spec, tmp_path, monkeypatch, two_symbols) as (venue, session):
        executor = session.executors[spec.index]
        venue.faults.silence_user_stream()
        first, second = await _both_bought(executor, venue, spec)
        for order in (first, second):
            assert order.state is OrderState.FILLED
            assert _journal_fills(executor, order.symbol) == _ledger_fills(venue, order.symbol)
        sources = {r["source"] for r in executor.journal.journal.fills()}  # type: ignore[attr-defined]
        assert sources == ({"reply"} if spec.id == "binance-spot" else {"rest"})


async def test_reconciliation_reports_per_symbol_and_a_trade_by_hand_stops_only_with_its_symbol_named(
    spec: VenueSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, two_symbols: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    set_keys(monkeypatch, spec)
    async with two_symbol_venue(spec, second_recording(spec, two_symbols)) as venue:
        path = write_two_symbol_config(tmp_path, spec, venue)
        config = load(path)
        async with reconciled_session(config, spec) as (session, first):
            assert (
                first.ok and first.baseline == "set" and [p.symbol for p in first.symbols] == [spec.symbol, "ETHUSDT"]
            )
            baseline = json.loads(session.journal.get_state(f"baseline/{spec.venue}/spot") or "{}")
            assert set(baseline) == {spec.rules.base, "ETH", "USDT"}
            await _both_bought(session.executors[spec.index], venue, spec)
        price, qty = _buy_at_ask(venue, spec, "ETHUSDT")
        venue.ledger.place(account(venue), symbol="ETHUSDT", side=Side.BUY, type=OrderType.LIMIT, qty=qty,
                           price=price, time_in_force=TimeInForce.IOC, client_id="by-hand-eth")  # fmt: skip
        report = await reconciled(config, spec)
        assert not report.ok
        btc, eth = report.symbols
        assert btc.ok and not eth.ok and eth.orphan_fills and not btc.orphan_fills
        assert all(f.symbol == "ETHUSDT" for f in eth.orphan_fills)
        lines = report.describe()
        assert "  ETHUSDT: MISMATCH" in lines and not any(
            line.startswith(f"  {spec.symbol}: MISMATCH") for line in lines
        )
        data = summarize([report])[f"{spec.venue}-spot"]
        assert not data["ok"] and data["symbols"][spec.symbol]["ok"] and not data["symbols"]["ETHUSDT"]["ok"]
        assert data["symbols"]["ETHUSDT"]["orphan_fills"] and not data["symbols"][spec.symbol]["orphan_fills"]
        loop = asyncio.get_running_loop()
        args = ["reconcile", "--config", str(path), "--venue", spec.venue, "--json"]
        assert await loop.run_in_executor(None, cli, args) == 1  # the mismatch holds until a person decides
        out = json.loads(capsys.readouterr().out)
        assert out["symbols"] == [spec.symbol, "ETHUSDT"]
        venue_out = out["venues"][f"{spec.venue}-spot"]
        assert not venue_out["ok"] and "ETHUSDT: MISMATCH; fill " in venue_out["earlier_mismatch"]
        accepted = await reconciled(config, spec, accept_venue_state=True)
        assert accepted.ok and accepted.baseline == "accepted"


async def test_a_symbol_added_later_is_met_for_the_first_time_and_reconciles(
    spec: VenueSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, two_symbols: Path
) -> None:
    set_keys(monkeypatch, spec)
    async with two_symbol_venue(spec, second_recording(spec, two_symbols)) as venue:
        alone = load(write_two_symbol_config(tmp_path / "one", spec, venue, symbols=(spec.symbol,)))
        async with reconciled_session(alone, spec) as (session, first):
            assert first.ok and first.baseline == "set"
            executor = session.executors[spec.index]
            price, qty = _buy_at_ask(venue, spec, spec.symbol)
            async with asyncio.TaskGroup() as group:
                executor.run_background(group)
                order = executor.submit(BUY, float(price), float(qty), KIND_MANUAL, 1, executor.clock())
                await eventually(lambda: order.answered, executor)
                executor.stop()
        both = load(write_two_symbol_config(tmp_path / "two", spec, venue))
        both = both.with_overrides({"live.state_dir": alone.live.state_dir})  # the same journal
        async with reconciled_session(both, spec) as (session, added):
            assert added.ok, added.describe()
            assert added.baseline == "extended: ETHUSDT met for the first time"
            account_now = await venue_account(session, spec.index)  # ETHUSDT's inception is met now too
            assert account_now.position[1] == 0.0 and account_now.inception_base[1] == 20.0
        again = await reconciled(both, spec)
        assert again.ok and again.baseline == "kept"


async def test_kill_flattens_each_symbols_lone_leg_and_cancels_both_symbols_orders(
    spec: VenueSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, two_symbols: Path
) -> None:
    async with two_symbol_session(spec, tmp_path, monkeypatch, two_symbols) as (venue, session):
        executor = session.executors[spec.index]
        await venue_account(session, spec.index)  # the account's starting point
        usdt = account(venue).balance("USDT").total
        bought = await _both_bought(executor, venue, spec)  # a lone leg of each symbol
        # what the engine is seeded with: each symbol's position and cash, the venue's quote shared
        seeded = await venue_account(session, spec.index)
        for s, order in enumerate(bought):
            assert seeded.position[s] == pytest.approx(order.fill_qty - order.base_fee, abs=1e-12)
            assert seeded.cash[s] == pytest.approx(-order.fill_qty * order.fill_price, rel=1e-12)  # fees in the coin
        assert sum(seeded.cash) == pytest.approx(float(account(venue).balance("USDT").total - usdt), rel=1e-12)
        bid = Decimal(venue.book("ETHUSDT", 1).bids[0][0])
        resting = venue.ledger.place(
            account(venue), symbol="ETHUSDT", side=Side.BUY, type=OrderType.LIMIT, qty=Decimal("0.01"),
            price=(bid * Decimal("0.5")).quantize(Decimal("0.01")), client_id="resting-eth",
        )  # fmt: skip
        report = await kill(session, slippage_bps=50.0)
        assert report.flat, report.describe()
        assert resting.status is OrderStatus.CANCELED and report.cancelled == {spec.venue: 1}
        assert set(report.nets_before) == {spec.symbol, "ETHUSDT"} and all(n > 0 for n in report.nets_before.values())
        assert sorted(o.symbol for o in report.orders) == sorted([spec.symbol, "ETHUSDT"])
        assert all(o.side == -1 and o.symbol_index == executor.symbols.index(o.symbol) for o in report.orders)
        for symbol, after in report.nets_after.items():
            assert abs(after) < float(_rules(spec, symbol).min_notional / 1000), (symbol, report.describe())
        lines = report.describe()
        assert any(line.startswith(f"  {spec.venue} ETHUSDT: sell") for line in lines)
        assert any(line.startswith("  ETHUSDT net position") for line in lines)
        assert not venue.ledger.open_orders(account(venue))


@pytest.mark.parametrize("spec", LINEAR, ids=lambda s: s.id)
async def test_a_linear_venue_is_set_for_both_symbols_and_reads_each_symbols_position_and_orders(
    spec: VenueSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, two_symbols: Path
) -> None:
    async with two_symbol_session(spec, tmp_path, monkeypatch, two_symbols) as (venue, session):
        executor = session.executors[spec.index]
        lines = await apply_perpetual_settings(executor, PerpetualConfig(3, "cross"), f"{spec.venue}.toml")
        assert [line.split(":")[0] for line in lines] == [f"{spec.venue} linear {s}" for s in executor.symbols]
        for symbol in executor.symbols:
            assert account(venue).position(symbol).leverage == 3
        if spec.venue == "binance":
            assert all(venue.margin_type("arb", s) == "cross" for s in executor.symbols)
        else:
            assert all(venue.position_mode(s) == "one-way" for s in executor.symbols)
        # each symbol's position and open orders, asked for by symbol
        account(venue).position("ETHUSDT").qty = Decimal("0.5")
        assert await executor.position("ETHUSDT") == Decimal("0.5") and await executor.position() == 0
        resting = [_rest_far_below(venue, spec, symbol) for symbol in executor.symbols]
        assert all(o.status is OrderStatus.NEW for o in resting)
        assert {u.client_id for u in await executor.open_orders()} == {"resting-" + s for s in executor.symbols}
        assert [u.client_id for u in await executor.open_orders("ETHUSDT")] == ["resting-ETHUSDT"]
        assert await executor.cancel_open() == 2
        assert all(o.status is OrderStatus.CANCELED for o in resting)


@pytest.mark.parametrize("spec", LINEAR, ids=lambda s: s.id)
async def test_the_dead_mans_switch_covers_both_symbols(
    spec: VenueSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, two_symbols: Path
) -> None:
    clock = OffsetClock()
    async with two_symbol_session(spec, tmp_path, monkeypatch, two_symbols, options=VenueOptions(clock=clock)) as (
        venue,
        session,
    ):
        executor = session.executors[spec.index]
        resting = [_rest_far_below(venue, spec, symbol) for symbol in executor.symbols]

        def renewed() -> int:
            return sum(1 for r in venue.stats.rest_requests if r.path.endswith("/countdownCancelAll"))

        async with asyncio.TaskGroup() as group:
            executor.run_background(group)
            armed = executor.dead_man.run(group, 5)
            async with asyncio.timeout(WAIT_S):
                if spec.venue == "binance":  # USD-M's countdown is per symbol: renewed for each
                    assert armed == f"armed, 5 s, for {spec.symbol}, ETHUSDT"
                    await venue.wait_until(lambda: renewed() >= 2)  # a round: one per symbol
                else:  # Bybit's disconnect-cancel is the product's: every symbol's
                    assert armed == "armed, 5 s"
                    await venue.wait_until(lambda: venue.subscriber_count(venue.dcp_topic) >= 1)
            executor.stop()
        await executor.exchange.close()  # arb is gone: its private stream closes
        if spec.venue == "bybit":
            async with asyncio.timeout(WAIT_S):
                await venue.wait_until(lambda: venue.subscriber_count(venue.dcp_topic) == 0)
        clock.offset += 3
        await venue.tick()
        assert all(o.status is OrderStatus.NEW for o in resting)
        clock.offset += 3  # past the window: the venue cancels both symbols' orders
        await venue.tick()
        assert all(o.status is OrderStatus.CANCELED for o in resting), [o.status for o in resting]
        if spec.venue == "binance":
            assert {t.symbol for t in venue.countdown_triggers} == set(executor.symbols)


def test_arb_order_takes_a_symbol_of_the_configuration_and_refuses_another_naming_the_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from arb.testing.configs import write_config_files
    from tests.support.two_symbols import ETH

    path = write_config_files(
        tmp_path, arbitrage_overrides={"strategy": {"symbol": None, "symbols": ["BTCUSDT", "ETHUSDT"]},
                                       "symbols": {"ETHUSDT": ETH}},
    )  # fmt: skip
    args = ["order", "--config", str(path), "--venue", "binance", "--side", "buy", "--qty", "0.01", "--price", "3000"]
    assert cli([*args, "--symbol", "XRPUSDT"]) == 2
    err = capsys.readouterr().err
    assert "--symbol" in err and "XRPUSDT" in err and "BTCUSDT, ETHUSDT" in err
    assert cli([*args, "--symbol", "eth-usdt"]) == 2
    assert "--symbol" in capsys.readouterr().err


async def test_a_symbol_the_venue_does_not_list_stops_the_start_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = BINANCE_SPOT
    set_keys(monkeypatch, spec)
    async with fake_venue(spec) as venue:  # BTCUSDT only
        config = load(write_two_symbol_config(tmp_path, spec, venue))
        with pytest.raises(ArbError, match=r"binance spot: the venue lists no market ETHUSDT"):
            async with trading_session(config, [spec.index]):
                pass
        assert account(venue).orders == []


async def test_each_symbols_rules_are_compared_with_its_own_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, two_symbols: Path
) -> None:
    spec = BINANCE_SPOT
    set_keys(monkeypatch, spec)
    async with two_symbol_venue(spec, second_recording(spec, two_symbols)) as venue:
        path = write_two_symbol_config(tmp_path, spec, venue)
        config = load(path)  # as written: both symbols' rules equal the venue's
        async with trading_session(config, [spec.index]) as session:
            assert session.rule_differences == []
        text = path.read_text().replace("tick_size = 0.01\n", "tick_size = 0.1\n", 1)  # [symbols.ETHUSDT.binance]
        path.write_text(text)
        async with trading_session(load(path), [spec.index]) as session:
            (said,) = session.rule_differences
        assert said == "binance spot ETHUSDT: [symbols.ETHUSDT.binance] tick_size is 0.1 in arbitrage.toml, " + (
            "the venue says 0.01"
        )
