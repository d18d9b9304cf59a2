"""Perpetuals: funding settled on held positions, the same in the backtest and the paper account.

A constructed recording on two perpetuals (Binance USD-M and Bybit linear, the venues' real wire
formats, ``arb.testing.scenarios``): from 2 s on Bybit's bid stands 50 bps over Binance's ask, so the
kernel buys Binance and sells Bybit, 0.01 BTC a pair, until its band (0.03) is full; both venues'
streams announce a funding time 4 s in, Binance at 0.01 % and Bybit at 0.03 %, with the mark prices
60,000 and 60,300. At the funding time the long 0.03 on Binance pays 0.03 x 60,000 x 0.0001 = 0.18
and the short 0.03 on Bybit earns 0.03 x 60,300 x 0.0003 = 0.5427, each booked as its own line.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rich.console import Console

from arb.backtest.run import run_backtest
from arb.config import AppConfig, load_config
from arb.execution.paper_account import PaperAccount
from arb.live.dry_run import dry_run_replay
from arb.parity.against_dry_run import replay_engine, run_parity, zero_latency
from arb.testing.configs import write_config_files
from arb.testing.scenarios import Book, Change, Perp, write_scenario
from tests.support.captures import report_data
from tests.support.shared import made_once

DAY = dt.date(2024, 5, 6)
FUNDING_MS = 4000
BINANCE = Perp(mark=60_000.0, rate=0.0001, funding_ms=FUNDING_MS, next_rate=0.0002)
BYBIT = Perp(mark=60_300.0, rate=0.0003, funding_ms=FUNDING_MS, next_rate=-0.0001)
EXPECTED = {0: -0.03 * 60_000.0 * 0.0001, 1: 0.03 * 60_300.0 * 0.0003}  # by venue, quote
START_MS = int(dt.datetime.combine(DAY, dt.time(0, 0, 1), tzinfo=dt.UTC).timestamp() * 1000)


def perp_config(
    tmp_path: Path,
    *,
    changes: list[Change] | None = None,
    perps: dict[str, Perp] | None = None,
    markets: tuple[str, str] = ("linear", "linear"),
    **arbitrage: Any,
) -> AppConfig:
    """The scenario above (or ``changes`` to the books, ``perps`` for the linear venues' mark and
    funding, ``markets`` per venue) and its configuration; ``arbitrage``: more arbitrage.toml tables."""
    perps = {"binance": BINANCE, "bybit": BYBIT} if perps is None else perps
    write_scenario(
        tmp_path / "recordings", DAY,
        Book(bids={59990.0: 2.0}, asks={60000.0: 2.0}), Book(bids={59995.0: 2.0}, asks={60400.0: 2.0}),
        changes or [Change(2000, "bybit", bids={60300.0: 1.0})], duration_ms=6000, heartbeat_ms=100,
        markets=markets, perps={v: p for v, p in perps.items() if markets[("binance", "bybit").index(v)] == "linear"},
    )  # fmt: skip
    venues = []
    for market in markets:
        venue: dict[str, Any] = {
            "market": market,
            "latency": {"order_entry_ms": 1.0, "order_response_ms": 1.0},
            "account": {"base": 0.0 if market == "linear" else 1.0, "quote": 1e5},
            "instrument": {"tick_size": 0.1, "lot_size": 0.001, "min_qty": 0.001, "min_notional": 5.0},
            "fees": {"maker": 0.0002, "taker": 0.0005},
            "feed": {"depth_stream": None},  # the venue's default for its market
        }
        venues.append(venue)
    path = write_config_files(
        tmp_path, binance_overrides=venues[0], bybit_overrides=venues[1],
        arbitrage_overrides={
            "strategy": {"max_order_size": 0.01, "max_position_size": 0.03, "rebalance_threshold": 0.0},
            "risk": {"max_notional_per_venue": 1e9, "position_limit": 1.0},
            "backtest": {"recordings": "recordings"},
            **arbitrage,
        },
    )  # fmt: skip
    return load_config(path)


@pytest.fixture(scope="module")
def perp_loop(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The backtest loop of perpetuals (a variant of its own, with the funding tape), compiled into Numba's
    cache once for the run's workers, under a lock (``tests/support/shared.py``): a worker whose first
    perpetual backtest comes while another compiles it waits, then loads it, instead of compiling it too."""
    made_once(tmp_path_factory, "perp-loop", lambda folder: run_backtest(perp_config(folder)))


pytestmark = pytest.mark.usefixtures("perp_loop")


def _payments(rows: np.ndarray) -> dict[int, float]:
    return {int(r["venue"]): float(r["payment"]) for r in rows}


def test_the_backtest_books_each_settlement_on_the_position_held(tmp_path: Path) -> None:
    config = perp_config(tmp_path)
    result = run_backtest(config)
    funding = result.funding
    assert len(funding) == 2
    assert _payments(funding) == pytest.approx(EXPECTED, abs=1e-12)
    assert (funding["funding_ts"] == (START_MS + FUNDING_MS) * 1_000_000).all()
    assert funding["rate"].tolist() == [0.0001, 0.0003] and funding["mark"].tolist() == [60_000.0, 60_300.0]
    assert funding["position"].tolist() == [0.03, -0.03]
    # the equity counts it: the account's last sample is its cash, funding included, and the positions
    # valued at the mark prices
    last = result.equity[-1]
    fills = result.fills
    for v, perp in ((0, BINANCE), (1, BYBIT)):
        own = fills[fills["venue"] == v]
        cash = -np.sum(own["side"] * own["price"] * own["qty"]) - np.sum(own["fee"]) + EXPECTED[v]
        assert last["equity_venue"][v] == pytest.approx(1e5 + cash + last["position"][v] * perp.mark, abs=1e-9)


def test_the_paper_account_books_the_same_payments_and_keeps_them(tmp_path: Path) -> None:
    config = perp_config(tmp_path)
    backtest = run_backtest(config)
    engine = replay_engine(config, backtest.days)
    assert _payments(engine.log.funding.view()) == _payments(backtest.funding)
    assert engine.log.funding.view()["ts"].tolist() == backtest.funding["ts"].tolist()  # booked at one time
    account = PaperAccount.open(tmp_path / "paper", config)
    result = asyncio.run(dry_run_replay(config, account=account, console=Console(quiet=True), speed=None))
    assert result.engine.funding[0].tolist() == pytest.approx([EXPECTED[0], EXPECTED[1]], abs=1e-12)
    again = PaperAccount.open(tmp_path / "paper", config)
    assert again.funding[0] == pytest.approx([EXPECTED[0], EXPECTED[1]], abs=1e-12)
    lines = (tmp_path / "paper" / "funding.csv").read_text().splitlines()
    assert lines[0] == "local_ts,funding_ts,venue,symbol,rate,mark,position,payment" and len(lines) == 3
    assert {line.split(",")[2] for line in lines[1:]} == {"binance", "bybit"}


def test_parity_holds_with_funding(tmp_path: Path) -> None:
    report = run_parity(zero_latency(perp_config(tmp_path)), exact=True)
    assert report.agree, report.describe()


def test_the_report_shows_trading_pnl_fees_and_funding_per_venue(tmp_path: Path) -> None:
    from arb.cli import main
    from arb.reports.files import pnl_from_trades_csv

    config = perp_config(tmp_path)
    out = tmp_path / "report"
    assert main(["backtest", "--config", str(config.path), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["pnl_consistent"]
    venues = summary["venues"]
    assert venues["binance"]["funding"] == pytest.approx(EXPECTED[0], abs=1e-12)
    assert venues["bybit"]["funding"] == pytest.approx(EXPECTED[1], abs=1e-12)
    assert summary["total"]["funding"] == pytest.approx(EXPECTED[0] + EXPECTED[1], abs=1e-12)
    for column in (venues["binance"], venues["bybit"], summary["total"]):
        assert column["pnl"] == pytest.approx(column["trading_pnl"] - column["fees"] + column["funding"], abs=1e-9)
    # funding.csv: one line per payment; the PnL recomputed from trades.csv counts it
    lines = (out / "funding.csv").read_text().splitlines()
    assert lines[0] == "time,local_ts,funding_time,venue,symbol,rate,mark,position,payment" and len(lines) == 3
    assert [line.split(",")[3] for line in lines[1:]] == ["binance", "bybit"]
    mids = [venues[name]["final_mid"] for name in ("binance", "bybit")]
    assert mids == [BINANCE.mark, BYBIT.mark]  # the positions are valued at the mark prices
    assert pnl_from_trades_csv(out / "trades.csv", mids) == pytest.approx(summary["total"]["pnl"], abs=0.01)


def test_arb_report_counts_the_funding_of_a_backtest_and_of_a_paper_account(tmp_path: Path) -> None:

    from arb.cli import main

    config = perp_config(tmp_path)
    out, state, runs = tmp_path / "report", tmp_path / "paper", tmp_path / "runs"
    assert main(["backtest", "--config", str(config.path), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    page = tmp_path / "day.html"
    assert main(["report", "--source", "backtest", "--results", str(out), "--date", f"{DAY}", "--out", str(page)]) == 0
    figures = report_data(page)
    assert figures["pnl"] == pytest.approx(summary["total"]["pnl"], abs=0.01)
    assert figures["funding"] == pytest.approx(EXPECTED[0] + EXPECTED[1], abs=1e-9)
    assert figures["venues"]["binance"]["funding"] == pytest.approx(EXPECTED[0], abs=1e-9)
    assert "funding (USDT)" in page.read_text(encoding="utf-8")
    # the paper account's funding.csv, read by the same report
    run = ["dry-run", "--config", str(config.path), "--speed", "max", "--state-dir", str(state)]
    assert main([*run, "--out", str(runs / "r1")]) == 0
    paper = json.loads((runs / "r1" / "summary.json").read_text())
    assert paper["total"]["funding"] == pytest.approx(EXPECTED[0] + EXPECTED[1], abs=1e-9)
    report = ["report", "--config", str(config.path), "--source", "paper", "--state-dir", str(state)]
    assert main([*report, "--results", str(runs), "--date", f"{DAY}", "--out", str(page)]) == 0
    figures = report_data(page)
    assert figures["pnl"] == pytest.approx(paper["total"]["pnl"], abs=0.01)
    assert figures["venues"]["bybit"]["funding"] == pytest.approx(EXPECTED[1], abs=1e-9)


def test_the_watch_shows_the_margin_the_perpetual_positions_use(tmp_path: Path) -> None:
    from arb.ops.watch import Watch

    config = perp_config(tmp_path, ops={"enabled": False})
    engine = replay_engine(config, run_backtest(config).days)
    watch = Watch(config, "dry-run")
    watch.attach(engine)
    now = int(engine.log.equity.view()["ts"][-1])
    snapshot = watch._snapshot(engine, now, ())
    [margin] = [limit for limit in snapshot.limits if limit.key == "leverage"]
    # 0.03 BTC at the marks on each venue, at leverage 1, over each venue's equity (about 100,000)
    binance = 0.03 * BINANCE.mark / (1e5 + float(engine.cash[0, 0]) + 0.03 * BINANCE.mark)
    bybit = 0.03 * BYBIT.mark / (1e5 + float(engine.cash[0, 1]) - 0.03 * BYBIT.mark)
    assert margin.limit == 1.0 and margin.value == pytest.approx(max(binance, bybit))
