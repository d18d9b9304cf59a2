"""``arb live`` with two symbols end to end: a real ``arb`` process trades BTCUSDT and ETHUSDT against
fake Binance and Bybit at once (public and private, ccxt unpatched, real feeds), one connection per
venue and side carrying both symbols (or, under a cap of streams a connection, one per symbol for the
market data). Both symbols trade; the journal, the report and the venues' own
ledgers agree to the cent symbol by symbol. Then SIGKILL in the middle of trading and a restart:
reconciled symbol by symbol, nothing lost, no order sent twice; and the kill switch flattens each
symbol's lone leg.

Binance numbers orders and trades per symbol (so does its fake): the two symbols' first trades have
the same id on Binance, which the journal and the executor must keep apart.
"""

from __future__ import annotations

import csv
import json
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.support.live_rig import (
    BINANCE_SPOT_ETH_RULES,
    BINANCE_SPOT_RULES,
    BYBIT_SPOT_ETH_RULES,
    BYBIT_SPOT_RULES,
    MarketHold,
    account,
    assert_journal_matches_ledgers,
    assert_journal_settled,
    both_keys,
    ended,
    exited,
    interrupted,
    journal_of,
    live_resumed,
    live_trading,
    spot_pair,
    symbol_tables,
    until,
    write_pair_config,
)
from tests.support.processes import run_arb
from tests.support.scenario_days import STANDING_DAY, Book, Change, write_scenario, write_standing_spread

CENT = Decimal("0.01")
SYMBOLS = ("BTCUSDT", "ETHUSDT")
BASE = {"BTCUSDT": "BTC", "ETHUSDT": "ETH"}
RULES = ((BINANCE_SPOT_RULES, BINANCE_SPOT_ETH_RULES), (BYBIT_SPOT_RULES, BYBIT_SPOT_ETH_RULES))
BALANCES = {"USDT": "100000", "BTC": "1", "ETH": "10"}
ETH_SIZES = {"max_order_size": 0.1, "max_position_size": 0.3, "rebalance_threshold": 0.0, "position_limit": 1.0}
"""Three pairs of 0.1 ETH fill ETHUSDT's band, as three of 0.01 fill BTCUSDT's."""
BAND = {"BTCUSDT": Decimal("0.03"), "ETHUSDT": Decimal("0.3")}


def _scenario(root: Path, eth_at_ms: int) -> tuple[list[Path], list[Path]]:
    # Bybit's bid rises 50 bps above Binance's ask, BTCUSDT's at 2 s, ETHUSDT's at ``eth_at_ms``, and stays
    # there: each taken a pair at a time (cooldown) up to its band.
    btc = write_standing_spread(root, duration_ms=30_000)
    eth = write_scenario(
        root / "recordings",
        STANDING_DAY,
        Book(bids={2999.5: 20.0}, asks={3000.0: 20.0}),
        Book(bids={2999.7: 20.0}, asks={3020.0: 20.0}),
        [Change(eth_at_ms, "bybit", bids={3015.0: 10.0})],
        duration_ms=30_000,
        heartbeat_ms=100,
        symbol="ETHUSDT",
    )
    return [btc[0], eth[0]], [btc[1], eth[1]]


@asynccontextmanager
async def _venues(tmp_path: Path, eth_at_ms: int = 3000, **config: Any) -> AsyncIterator[tuple[Any, Any, Path]]:
    """Both fake venues replaying both symbols, and a configuration trading both on them."""
    binance_files, bybit_files = _scenario(tmp_path, eth_at_ms)
    async with spot_pair(binance_files, bybit_files, balances=BALANCES, rules=RULES) as (binance, bybit):
        tables = {"ETHUSDT": symbol_tables(BINANCE_SPOT_ETH_RULES, BYBIT_SPOT_ETH_RULES, ETH_SIZES)}
        path = write_pair_config(tmp_path, binance, bybit, symbols=tables, **config)
        yield binance, bybit, path


def _trading(config: Path, out: Path, keys: dict[str, str], binance: Any, bybit: Any) -> Any:
    """``arb live`` on both symbols, subscribed, then both recordings played in real time."""
    return live_trading(config, out, keys, binance, bybit, symbols=SYMBOLS)


def _net(venue: Any, symbol: str) -> Decimal:
    """Base arb's account gained in ``symbol`` on ``venue`` by trading: buys less sells less fees in base."""
    trades = [t for t in account(venue).trades if t.symbol == symbol]
    moved = sum((t.qty if t.side.value == "buy" else -t.qty for t in trades), Decimal(0))
    return moved - sum((t.fee for t in trades if t.fee_asset == BASE[symbol]), Decimal(0))


def _book_connections(venue: Any) -> list[list[str]]:
    """The symbols each of the venue's market-data connections carries (sorted)."""
    books = [c for c in venue.all_connections if any("depth" in s or "orderbook" in s for s in c.subscriptions)]
    return sorted(sorted({s.split("@")[0].split(".")[-1].upper() for s in c.subscriptions}) for c in books)


def _trades(venues: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """Each venue's and symbol's trades for arb's account, by the trade id the venue sends."""
    out: dict[tuple[str, str], dict[str, Any]] = {(name, s): {} for name in venues for s in SYMBOLS}
    for name, venue in venues.items():
        for t in account(venue).trades:
            out[name, t.symbol][venue.exec_id(t)] = t
    return out


async def test_arb_live_trades_two_symbols_and_journal_report_and_venues_agree_per_symbol(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = both_keys(monkeypatch)
    async with _venues(tmp_path) as (binance, bybit, config):
        out = tmp_path / "run"
        venues = {"binance": binance, "bybit": bybit}
        async with _trading(config, out, keys, binance, bybit) as process:

            def bands_full() -> bool:
                return all(_net(binance, s) >= BAND[s] * Decimal("0.99") for s in SYMBOLS) and all(
                    -_net(bybit, s) >= BAND[s] * Decimal("0.99") for s in SYMBOLS
                )

            await until(bands_full, process, out, 90, binance, bybit)
            # one market-data and one user-data connection per venue carried both symbols
            streams = [c for c in binance.connections if any("@depth" in s for s in c.subscriptions)]
            assert len(streams) == 1 and binance.user_stream_count() == 1
            assert bybit.subscriber_count("orderbook.50.BTCUSDT") == bybit.subscriber_count("orderbook.50.ETHUSDT")
            assert bybit.subscriber_count("orderbook.50.ETHUSDT") == 1 and bybit.subscriber_count("order") == 1
            stderr = await interrupted(process, out)
        stdout = (out / "stdout").read_text()
        for venue, side in ((binance, "buy"), (bybit, "sell")):
            for symbol in SYMBOLS:
                trades = [t for t in account(venue).trades if t.symbol == symbol]
                assert {t.side.value for t in trades} == {side}
                assert sum(t.qty for t in trades) == BAND[symbol]  # three pairs of each symbol
            assert not venue.ledger.open_orders(account(venue))
        # Binance numbered each symbol's trades from the same first id: two fills, one trade id
        first = {s: min(t.trade_id for t in account(binance).trades if t.symbol == s) for s in SYMBOLS}
        assert first["BTCUSDT"] == first["ETHUSDT"]
        assert_journal_settled(tmp_path, venues)
        report = out / "report"
        _assert_report_matches_ledgers(report, venues)
        summary = json.loads((report / "summary.json").read_text())
        assert summary["meta"]["mode"] == "live"
        assert summary["meta"]["executor"]["orders_per_symbol"] == {"BTCUSDT": 6, "ETHUSDT": 6}
        said = stdout + stderr
        assert "fill binance BTCUSDT buy" in said and "fill bybit   ETHUSDT sell" in said
        for venue, sign in ((binance, -1), (bybit, 1)):  # the quote they share moved by both symbols' trades
            usdt = account(venue).balance("USDT")
            moved = sum(t.qty * t.price for t in account(venue).trades)
            fees = sum(t.fee for t in account(venue).trades if t.fee_asset == "USDT")
            assert usdt.free + usdt.locked == Decimal("100000") + sign * moved - fees


def _assert_report_matches_ledgers(report: Path, venues: dict[str, Any]) -> None:
    with (report / "trades.csv").open() as f:
        rows = list(csv.DictReader(f))
    sign = {"buy": 1, "sell": -1}
    for (venue, symbol), trades in _trades(venues).items():
        mine = [r for r in rows if r["venue"] == venue and r["symbol"] == symbol]
        assert len(mine) == len({t.order_id for t in trades.values()}), (venue, symbol)  # a row per order
        base = sum(Decimal(r["qty"]) * sign[r["side"]] for r in mine)
        quote = sum(Decimal(r["qty"]) * Decimal(r["price"]) * -sign[r["side"]] for r in mine)
        fees = sum(Decimal(r["fee"]) for r in mine)
        ledger_base = sum(t.qty * t.side.sign for t in trades.values())
        ledger_quote = sum(-t.qty * t.price * t.side.sign for t in trades.values())
        ledger_fees = sum(t.fee * (t.price if t.fee_asset == BASE[symbol] else 1) for t in trades.values())
        assert abs(base - ledger_base) < Decimal("1e-9"), (venue, symbol)
        assert abs(quote - ledger_quote) < CENT / 2, (venue, symbol)
        assert abs(fees - ledger_fees) < CENT / 2, (venue, symbol)


async def test_sigkill_mid_run_with_two_symbols_then_a_restart_loses_nothing_and_sends_nothing_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = both_keys(monkeypatch)
    async with _venues(tmp_path) as (binance, bybit, config):
        venues = {"binance": binance, "bybit": bybit}
        first = tmp_path / "first"
        async with _trading(config, first, keys, binance, bybit) as process:
            # ETHUSDT's first fill (BTCUSDT has traded a pair or more by then): the other leg is on its
            # way, answered or not yet sent
            await until(lambda: any(t.symbol == "ETHUSDT" for v in venues.values() for t in account(v).trades),
                         process, first, 60, binance, bybit)  # fmt: skip
            hold = MarketHold(binance, bybit)  # until the restart is up: a busy machine's restart meets the market
            process.kill()
            await process.wait()
        assert process.returncode == -signal.SIGKILL
        second = tmp_path / "second"
        async with live_resumed(config, second, keys, hold, symbols=SYMBOLS) as process:

            def bands_full() -> bool:
                return all(
                    _net(binance, s) >= BAND[s] * Decimal("0.99") and -_net(bybit, s) >= BAND[s] * Decimal("0.99")
                    for s in SYMBOLS
                )

            await until(bands_full, process, second, 60, binance, bybit)
            stderr = await interrupted(process, second)
        assert "reconciled" in stderr and "MISMATCH" not in stderr
        assert_journal_settled(tmp_path, venues)
        for symbol in SYMBOLS:  # each symbol's net position is flat: a leg left naked was hedged after the restart
            assert abs(_net(binance, symbol) + _net(bybit, symbol)) <= BAND[symbol] / 300
        for fake in venues.values():
            assert not fake.ledger.open_orders(account(fake))


async def test_arb_kill_with_two_symbols_flattens_each_symbols_lone_leg(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = both_keys(monkeypatch)
    # past the hedge attempts the next one waits a minute: the exposure is the kill switch's to close
    retry = {"execution": {"hedge_retry_ms": 60_000}}
    # three streams a connection: each symbol's market data on a connection of its own, as in dry-run
    cap = {"max_streams_per_connection": 3}
    async with _venues(tmp_path, eth_at_ms=2000, arbitrage=retry, feed=cap) as (binance, bybit, config):
        venues = {"binance": binance, "bybit": bybit}
        # Both spreads open at once; Bybit refuses each symbol's first sell and its three hedges for lack
        # of balance: both symbols' Binance legs are alone (the halt stops new pairs, not the hedges)
        bybit.faults.order_error(200, 170131, "Insufficient balance.", times=8)
        out = tmp_path / "live"
        async with _trading(config, out, keys, binance, bybit) as process:

            def both_naked() -> bool:
                text = (out / "stderr").read_text()
                return "HALTED" in text and all(_net(binance, s) > 0 for s in SYMBOLS)

            await until(both_naked, process, out, 60, binance)
            for venue in venues.values():
                assert _book_connections(venue) == [["BTCUSDT"], ["ETHUSDT"]]
            rc, said, _ = await run_arb(
                "kill", "--config", str(config), env=keys, cwd=tmp_path, merged=True, forked=True
            )
            assert rc == 0, said
            stderr = ended(out, await exited(process), 0)
        assert "binance BTCUSDT: sell" in stderr and "binance ETHUSDT: sell" in stderr  # each flattened
        assert "BTCUSDT net position" in stderr and "ETHUSDT net position" in stderr
        for symbol in SYMBOLS:
            assert _net(bybit, symbol) == 0
            assert abs(_net(binance, symbol)) < Decimal("0.0001"), symbol
        for fake in venues.values():
            assert not fake.ledger.open_orders(account(fake))
        with journal_of(tmp_path) as journal:
            assert_journal_matches_ledgers(journal, venues)
