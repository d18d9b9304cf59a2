"""``arb dry-run --live-data`` end to end against fake venues on 127.0.0.1: the real feeds, the real
kernel and the paper executor. Trades happen, the reports and files appear, Ctrl-C (a real SIGINT)
in the middle loses nothing already filled, and a restart resumes the paper account."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from arb.cli.dry_run import write_dry_run_report
from arb.config import AppConfig, load_config
from arb.execution.paper_account import PaperAccount, read_paper_account
from arb.live.engine import Engine
from arb.live.session_loop import warm_up_kernel
from arb.recording.venues import make_normalizer
from arb.sim.binance.public import FakeBinanceVenue
from arb.sim.bybit.public import FakeBybitVenue
from arb.testing.configs import local_endpoints, write_config_files
from tests.support.live_rig import dry_run_task, paper_pair_config
from tests.support.scenario_days import Book, Change, write_scenario

DAY = dt.date(2024, 5, 6)


START_NS = int(dt.datetime.combine(DAY, dt.time(0, 0, 1), tzinfo=dt.UTC).timestamp() * 1e9)


def _recording(root: Path) -> tuple[Path, Path]:
    # Bybit's bid rises 50 bps above Binance's ask at 2 s and stays: a standing opportunity, taken a
    # pair at a time (cooldown), up to the per-venue band.
    binance = Book(bids={59990.0: 2.0}, asks={60000.0: 2.0})
    bybit = Book(bids={59995.0: 2.0}, asks={60400.0: 2.0})
    changes = [Change(2000, "bybit", bids={60300.0: 1.0})]
    return write_scenario(root / "recordings", DAY, binance, bybit, changes, duration_ms=6000, heartbeat_ms=100)


def _config(tmp_path: Path, binance: FakeBinanceVenue, bybit: FakeBybitVenue) -> AppConfig:
    # a cooldown in wall time here: the SIGINT lands between two pairs
    strategy = {"max_order_size": 0.01, "max_position_size": 0.03, "rebalance_threshold": 0.0, "cooldown_ms": 300}
    return paper_pair_config(tmp_path, binance, bybit, {
        "strategy": strategy,
        "risk": {"stale_after_ms": 60_000, "max_notional_per_venue": 1e9, "position_limit": 1.0},
        "dry_run": {"report_interval_s": 1},
    })  # fmt: skip


def _fills_csv(state: Path) -> list[dict[str, str]]:
    with (state / "fills.csv").open() as f:
        return list(csv.DictReader(f))


async def test_dry_run_against_fake_venues_trades_survives_ctrl_c_and_resumes(tmp_path: Path, charts: None) -> None:
    binance_file, bybit_file = _recording(tmp_path)
    async with (
        FakeBinanceVenue(binance_file, market="spot", tick_size="0.01", lot_size="0.00001") as binance,
        FakeBybitVenue(bybit_file, market="spot") as bybit,
    ):
        config = _config(tmp_path, binance, bybit)
        state = tmp_path / "paper"
        out = io.StringIO()
        console = Console(file=out, width=200)

        # First run: the recording up to 3 s; a real SIGINT once the first pair's legs are filled.
        # Compile (or load from Numba's cache) everything first: on a fresh machine that takes a while,
        # and the timeouts below are about the loopback conversation, not the compiler.
        warm_up_kernel(config)
        Engine(config)
        for venue in config.venues:
            make_normalizer(venue.name, venue.market, config.strategy.symbol)

        account = PaperAccount.open(state, config)
        filled: list[Any] = []

        def on_fill(row: Any) -> None:
            filled.append(row.copy())
            if len(filled) == 2:
                os.kill(os.getpid(), signal.SIGINT)

        run = dry_run_task(config, account, console, on_fill=on_fill)
        try:
            async with asyncio.timeout(60):
                await binance.wait_for_subscription("btcusdt@depth@100ms")
                await bybit.wait_for_subscription("orderbook.50.BTCUSDT")
                part_one = START_NS + 3_000_000_000 + 10_000_000
                await binance.advance_until(part_one)
                await bybit.advance_until(part_one)
                first = await run
        finally:
            run.cancel()
        assert first.interrupted
        # nothing filled is lost: every fill the engine saw is in the journal (and its export, fills.csv)
        account.close()
        rows = _fills_csv(state)
        assert len(rows) == len(filled) == 2
        kept = read_paper_account(state)
        assert kept is not None and len(kept.fills) == 2
        assert {(r["venue"], r["side"]) for r in rows} == {("binance", "buy"), ("bybit", "sell")}
        assert all(r["kind"] == "open" and r["pair_id"] == "1" for r in rows)
        with PaperAccount.open(state, config) as reopened:
            base, quote = reopened.balances()
        assert base == [pytest.approx([1.01, 0.99])]

        report = write_dry_run_report(first, config, [1.0, 1.0], [100_000.0, 100_000.0], tmp_path / "r1",
                                      source="live", console=console)  # fmt: skip
        assert report is not None
        assert {p.name for p in report} == {"summary.json", "trades.csv", "equity.npz", "equity.png", "inventory.csv"}
        summary = json.loads((tmp_path / "r1" / "summary.json").read_text())
        assert summary["pairs"]["pairs"] == 1 and summary["meta"]["interrupted"] is True
        text = out.getvalue()
        assert "fill binance buy" in text and "fill bybit   sell" in text
        assert "positions" in text and "equity" in text and "fills 2" in text

        # Second run: resumes the account (positions, ids) and trades the rest of the band.
        resumed = PaperAccount.open(state, config)
        assert resumed.balances() == (base, quote) and resumed.fills == 2
        done = asyncio.Event()
        stop = asyncio.Event()

        def on_more(row: Any) -> None:
            if resumed.fills >= 6:  # pairs 2 and 3: the band (0.03) is full
                done.set()

        run = dry_run_task(config, resumed, console, on_fill=on_more, stop_event=stop)
        try:
            async with asyncio.timeout(60):
                await binance.wait_for_subscription("btcusdt@depth@100ms")
                await bybit.wait_for_subscription("orderbook.50.BTCUSDT")
                # the rest of the recording at its recorded pace: the market goes on while we trade
                binance.play(1.0)
                bybit.play(1.0)
                await done.wait()
                stop.set()
                second = await run
        finally:
            run.cancel()
        rows = _fills_csv(state)
        assert len(rows) == 6
        assert sorted({int(r["pair_id"]) for r in rows}) == [1, 2, 3]  # ids continue, none reused
        resumed.close()
        with PaperAccount.open(state, config) as final:
            assert final.position == [pytest.approx([0.03, -0.03])]
        assert second.engine.kernel_state[0]["flags"] == 0  # no hedge ever failed


class _Screen(io.StringIO):
    """A console's file that wakes the test when an account line is printed."""

    def __init__(self) -> None:
        super().__init__()
        self.account_line = asyncio.Event()

    def write(self, text: str) -> int:
        if " UTC] account: cash " in text:
            self.account_line.set()
        return super().write(text)


async def test_the_first_account_line_comes_once_both_books_are_synced(tmp_path: Path) -> None:
    # With an hour between account lines, the first still comes as soon as both books are synced.
    binance_file, bybit_file = _recording(tmp_path)
    async with (
        FakeBinanceVenue(binance_file, market="spot", tick_size="0.01", lot_size="0.00001") as binance,
        FakeBybitVenue(bybit_file, market="spot") as bybit,
    ):
        config = load_config(
            write_config_files(
                tmp_path,
                binance_overrides=local_endpoints(binance.ws_urls, binance.rest_url),
                bybit_overrides=local_endpoints(bybit.ws_urls, bybit.rest_url),
                arbitrage_overrides={"dry_run": {"report_interval_s": 3600}},
            )
        )
        warm_up_kernel(config)
        screen = _Screen()
        stop = asyncio.Event()
        account = PaperAccount.open(tmp_path / "paper", config)
        console = Console(file=screen, width=200)
        run = dry_run_task(config, account, console, stop_event=stop)
        try:
            async with asyncio.timeout(60):
                await binance.wait_for_subscription("btcusdt@depth@100ms")
                await bybit.wait_for_subscription("orderbook.50.BTCUSDT")
                before_the_jump = START_NS + 1_000_000_000
                await binance.advance_until(before_the_jump)
                await bybit.advance_until(before_the_jump)
                await screen.account_line.wait()
                stop.set()
                result = await run
        finally:
            run.cancel()
    first = next(line for line in screen.getvalue().splitlines() if " UTC] account: cash " in line)
    assert "positions +0 | +0" in first and "fills 0" in first
    assert result.engine.log.fills.n == 0  # the line came from the sync, not from a fill or the interval
