"""Each symbol's funding interval: a 4-hour symbol beside an 8-hour one in one run, and a change of
interval during a run, through the backtest, the replayed dry run and the reports.

Constructed perp-perp recordings (``arb.testing.scenarios``, the venues' wire formats): both symbols'
books show Bybit's bid 50 bps over Binance's ask from 2 s on, and the first funding time is 4 s in.
BTCUSDT funds every 8 hours, ETHUSDT every 4; each venue's REST answer about the interval (Binance
``fundingInfo``, Bybit ``instruments-info``) is recorded at the start, as the feeds record it.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from arb.backtest.run import run_backtest
from arb.config import AppConfig, load_config
from arb.parity.against_dry_run import replay_engine, run_parity, zero_latency
from arb.testing.configs import write_config_files
from arb.testing.scenarios import Book, Change, Perp, write_scenario

DAY = dt.date(2024, 5, 6)
START_MS = int(dt.datetime.combine(DAY, dt.time(0, 0, 1), tzinfo=dt.UTC).timestamp() * 1000)
HOUR_MS = 3_600_000
FUNDING_MS = 4000
MARK_EVERY_MS = 30_000  # the rollover at 4 s shows in the mark message at 30 s


def _books() -> tuple[Book, Book]:
    return Book(bids={59990.0: 2.0}, asks={60000.0: 2.0}), Book(bids={59995.0: 2.0}, asks={60400.0: 2.0})


def _config(tmp_path: Path, perps: dict[str, dict[str, Perp]], duration_ms: int, changes: list[Change],
            **strategy: Any) -> AppConfig:  # fmt: skip
    # one scenario per symbol (perps: symbol -> venue -> Perp), both symbols traded in one configuration
    for symbol, by_venue in perps.items():
        write_scenario(
            tmp_path / "recordings", DAY, *_books(), list(changes), duration_ms=duration_ms, heartbeat_ms=600_000,
            symbol=symbol, markets=("linear", "linear"), perps=by_venue,
        )  # fmt: skip
    sizes = {"max_order_size": 0.01, "max_position_size": 0.03, "rebalance_threshold": 0.0}
    rules = {"tick_size": 0.1, "lot_size": 0.001, "min_qty": 0.001, "min_notional": 5.0}
    venue = {
        "market": "linear",
        "latency": {"order_entry_ms": 1.0, "order_response_ms": 1.0},
        "account": {"base": 0.0, "quote": 1e5},
        "instrument": {"tick_size": 0.1, "lot_size": 0.001, "min_qty": 0.001, "min_notional": 5.0},
        "fees": {"maker": 0.0002, "taker": 0.0005},
        "feed": {"depth_stream": None},
    }
    path = write_config_files(
        tmp_path, binance_overrides=venue, bybit_overrides=venue,
        arbitrage_overrides={
            "strategy": {"symbol": None, "symbols": list(perps), **sizes, **strategy},
            "symbols": {symbol: {**sizes, "position_limit": 1.0, **{v: rules for v in ("binance", "bybit")}}
                        for symbol in list(perps)[1:]},
            "risk": {"max_notional_per_venue": 1e9, "position_limit": 1.0},
            "backtest": {"recordings": "recordings"},
            "ops": {"enabled": False},
        },
    )  # fmt: skip
    return load_config(path)


def _reopen(*t_ms: int) -> list[Change]:
    # the spread appears at 2 s, and both venues restate their bids at each of t_ms (a decision there);
    # between these the books only move every 10 minutes (heartbeats), each a decision too
    times = (2000, *t_ms)
    return [Change(t, "binance", bids={59990.0: 2.0}) for t in times] + [
        Change(t, "bybit", bids={60300.0: 1.0}) for t in times
    ]


def _perp(interval_ms: int, rate: float, next_rate: float, **more: Any) -> dict[str, Perp]:
    # Binance's long leg pays ``rate`` at 4 s and ``next_rate`` after; Bybit's short leg earns nothing
    binance = Perp(60_000.0, rate, FUNDING_MS, next_rate, MARK_EVERY_MS, interval_ms, **more)
    bybit = Perp(60_300.0, 0.0, FUNDING_MS, 0.0, MARK_EVERY_MS, interval_ms, **more)
    return {"binance": binance, "bybit": bybit}


def _funding_times(funding: np.ndarray, symbol: int, venue: int = 0) -> list[int]:
    # the funding times booked for (symbol, venue), ms after the start
    own = funding[(funding["symbol"] == symbol) & (funding["venue"] == venue)]
    return [int(t) // 1_000_000 - START_MS for t in own["funding_ts"]]


def _first_fill_ms(fills: np.ndarray, symbol: int) -> int | None:
    own = fills[fills["symbol"] == symbol]
    return int(own["exch_ts"].min()) // 1_000_000 - START_MS if len(own) else None


EIGHT, FOUR = 8 * HOUR_MS, 4 * HOUR_MS
# BTCUSDT every 8 h, ETHUSDT every 4 h. A pair clears its costs by about 31 bps (50 of spread, 10 of fees,
# 4 of slippage tolerance, 5 of min_spread_bps). Over the 9-hour horizon the long leg pays 13 bps at each
# funding time until 4 s: BTC's two (4 s, 8 h) leave the pair its edge, ETH's three (4 s, 4 h, 8 h) do
# not; from the rollover on the rate is 2 bps, and ETH's three cost 6: its pair opens then.
TWO_SYMBOLS = {"BTCUSDT": _perp(EIGHT, 0.0013, 0.0002, reported_interval_ms=EIGHT),
               "ETHUSDT": _perp(FOUR, 0.0013, 0.0002, reported_interval_ms=FOUR)}  # fmt: skip
RUN_MS = EIGHT + 11 * 60_000  # the books last move at 8 h 10 min, after the last funding time


def test_a_4_hour_symbol_beside_an_8_hour_one(tmp_path: Path) -> None:
    config = _config(tmp_path, TWO_SYMBOLS, RUN_MS, _reopen(31_000, 32_000), funding_horizon_h=9)
    result = run_backtest(config)
    # the kernel's funding term: the 8-hour symbol's pair opens at 2 s, the 4-hour one's waits for the rate
    # of the next funding time, announced at the rollover (seen at 30 s)
    assert _first_fill_ms(result.fills, 0) == pytest.approx(2000, abs=10)
    assert _first_fill_ms(result.fills, 1) == pytest.approx(31_000, abs=10)
    # the booked payments: each symbol's own funding times, both venues
    for venue in (0, 1):
        assert _funding_times(result.funding, 0, venue) == [FUNDING_MS, FUNDING_MS + EIGHT]
        assert _funding_times(result.funding, 1, venue) == [FUNDING_MS, FUNDING_MS + FOUR, FUNDING_MS + EIGHT]
    for symbol, rates in ((0, [0.0013, 0.0002]), (1, [0.0013, 0.0002, 0.0002])):
        own = result.funding[(result.funding["symbol"] == symbol) & (result.funding["venue"] == 0)]
        assert own["rate"].tolist() == rates
        assert own["payment"].tolist() == pytest.approx((-own["position"] * 60_000.0 * own["rate"]).tolist())
        assert (own["position"][symbol:] > 0.0).all() and (symbol == 0 or own["position"][0] == 0.0)
    # the replayed dry run books the same, and decides the same
    engine = replay_engine(config, result.days)
    booked = engine.log.funding.view()
    assert sorted(booked["funding_ts"].tolist()) == sorted(result.funding["funding_ts"].tolist())
    assert np.sort(booked["payment"]).tolist() == pytest.approx(np.sort(result.funding["payment"]).tolist())
    assert run_parity(zero_latency(config), exact=True).agree


def test_the_reports_show_each_symbols_funding(tmp_path: Path) -> None:
    from arb.cli import main

    config = _config(tmp_path, TWO_SYMBOLS, RUN_MS, _reopen(31_000, 32_000), funding_horizon_h=9)
    out = tmp_path / "report"
    assert main(["backtest", "--config", str(config.path), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    rows = [line.split(",") for line in (out / "funding.csv").read_text().splitlines()[1:]]
    for symbol, times in (("BTCUSDT", 2), ("ETHUSDT", 3)):
        own = [r for r in rows if r[4] == symbol]
        assert len(own) == 2 * times  # both venues at each of the symbol's funding times
        assert summary["symbols"][symbol]["total"]["funding"] == pytest.approx(sum(float(r[8]) for r in own))


def test_a_change_of_interval_during_the_run_is_followed(tmp_path: Path) -> None:
    # The venue says 1 hour at the start and funds at 4 s and 1 h 4 s; from there on, every 4 hours (the
    # next at 5 h 4 s). Over a 7-hour horizon the long leg pays 10 bps at each funding time: seven an
    # hour apart cost more than the pair's 31 bps of edge, and so would four from 5 h 4 s; one does not.
    # The change shows at the rollover (the mark message at 1 h 30 s): the next decision opens the pair
    # (the books' heartbeat at 1 h 10 min). Without the change, no pair ever opens.
    def run(changes: tuple[tuple[int, int], ...], root: Path) -> np.ndarray:
        perp = _perp(HOUR_MS, 0.0010, 0.0010, changes=changes, reported_interval_ms=HOUR_MS)
        config = _config(root, {"BTCUSDT": perp}, 2 * HOUR_MS, _reopen(), funding_horizon_h=7)
        result = run_backtest(config)
        assert run_parity(zero_latency(config), exact=True).agree
        return result.fills

    changed = run(((FUNDING_MS + HOUR_MS, 4 * HOUR_MS),), tmp_path / "changed")
    assert _first_fill_ms(changed, 0) == pytest.approx(70 * 60_000, abs=10)
    assert _first_fill_ms(run((), tmp_path / "hourly"), 0) is None


def test_a_backtest_over_a_funding_history_file_alone_takes_its_spacing(tmp_path: Path) -> None:
    # A recording without the mark-price stream, and arb funding-history's file: the estimate of the coming
    # funding is the file's next funding time, and the interval the spacing of the file's funding times.
    from arb.recording.funding import FundingFile, funding_path, save_funding_file
    from arb.recording.loader import load_timeline
    from arb.recording.replayed_funding import funding_of
    from connectors.common.history import FundingRecord

    config = _config(tmp_path, {"BTCUSDT": {}}, 20 * 60_000, _reopen())
    day_ns = (START_MS - 1000) * 1_000_000
    for venue, hours in (("binance", 4), ("bybit", 8)):
        records = tuple(FundingRecord(day_ns + k * hours * HOUR_MS * 1_000_000, "0.0001") for k in range(24 // hours))
        contents = FundingFile(venue, "BTCUSDT", "test", ((day_ns, day_ns + 24 * HOUR_MS * 1_000_000),), records)
        save_funding_file(funding_path(tmp_path / "recordings", venue, "BTCUSDT"), contents)
    binance, bybit = funding_of(config, load_timeline(config, [DAY]))
    assert binance.est_next.tolist() == [day_ns + FOUR * 1_000_000] and binance.est_interval.tolist() == [
        FOUR * 1_000_000
    ]
    assert bybit.est_next.tolist() == [day_ns + EIGHT * 1_000_000] and bybit.est_interval.tolist() == [
        EIGHT * 1_000_000
    ]
