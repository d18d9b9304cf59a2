"""Hyperliquid as the third venue of a backtest: a constructed day of the three perpetuals (Binance USD-M, Bybit
linear and Hyperliquid's BTC, each in its own wire format, Hyperliquid's books whole in every message), converted
by each venue's normalizer and traded by the kernel. Hyperliquid's bid jumps above the others' asks, later its
ask under their bids: the backtest takes each, on the venues the prices say. The day starts 1.5 s before 01:00
UTC, so Hyperliquid's hourly funding settles on the short the first jump left there.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from arb.backtest.run import BacktestResult, run_backtest
from arb.config import AppConfig, load_config
from arb.events import EVENT_KIND_MASK, FUNDING_RATE_EVENT, LOCAL_EVENT, MARK_PRICE_EVENT, NS_PER_S
from arb.parity.against_dry_run import run_parity, zero_latency
from arb.recording.convert import convert_files
from arb.testing.configs import deep_merge, write_config_files
from arb.testing.scenarios import Book, Change, Perp, write_venues
from tests.replay.test_funding import perp_config
from tests.support.scenario_days import EPISODES_ARBITRAGE, order_latency
from tests.support.shared import made_once

DAY = dt.date(2024, 5, 6)
HOUR_MS = 3_600_000
START_MS = int(dt.datetime(2024, 5, 6, 0, 59, 58, 500_000, tzinfo=dt.UTC).timestamp() * 1000)
FUNDING_MS = START_MS - START_MS % HOUR_MS + HOUR_MS  # 01:00:00 UTC, 1.5 s in
VENUES = ("binance", "bybit", "hyperliquid")
BOOKS = {
    "binance": Book(bids={59990.0: 2.0}, asks={60000.0: 2.0}),
    "bybit": Book(bids={59995.0: 2.0}, asks={60005.0: 2.0}),
    "hyperliquid": Book(bids={59992.0: 2.0, 59991.0: 1.0}, asks={60003.0: 2.0, 60004.0: 1.0}),
}
PERPS = {v: Perp(mark=60_000.0, rate=0.0001, funding_ms=HOUR_MS, next_rate=0.0001) for v in VENUES}
"""Binance's and Bybit's next funding an hour after the start (none in the day); Hyperliquid's is on the hour."""
CHANGES = [
    # Hyperliquid's bid jumps over the others' asks, its asks moving above it (its own book never crosses): sell
    # Hyperliquid, buy Binance (the lowest ask); then all comes back
    Change(1000, "hyperliquid", bids={60300.0: 0.01}, asks={60003.0: 0.0, 60004.0: 0.0, 60310.0: 2.0}),
    Change(1300, "hyperliquid", bids={60300.0: 0.0}, asks={60003.0: 2.0, 60004.0: 1.0, 60310.0: 0.0}),
    # its ask under the others' bids, its bids below it: buy Hyperliquid, sell Bybit (the highest bid)
    Change(2000, "hyperliquid", asks={59700.0: 0.01}, bids={59992.0: 0.0, 59991.0: 0.0, 59690.0: 2.0}),
    Change(2300, "hyperliquid", asks={59700.0: 0.0}, bids={59992.0: 2.0, 59991.0: 1.0, 59690.0: 0.0}),
]


@pytest.fixture(scope="module")
def three(tmp_path_factory: pytest.TempPathFactory) -> tuple[AppConfig, BacktestResult, dict[str, Path]]:
    """The three-venue day and its backtest, once for the module; the perpetuals' backtest loop compiled (or
    loaded from Numba's cache) once for the run's workers, as the funding tests share it."""
    made_once(tmp_path_factory, "perp-loop", lambda folder: run_backtest(perp_config(folder)))
    tmp_path = tmp_path_factory.mktemp("hyperliquid-third")
    paths = write_venues(tmp_path / "recordings", DAY, [(v, "linear", BOOKS[v]) for v in VENUES], CHANGES,
                         duration_ms=3000, heartbeat_ms=100, perps=PERPS, start_ms=START_MS)  # fmt: skip
    venue = {"account": {"base": 0.0, "quote": 100_000.0}, "latency": order_latency(1.0), "market": "linear",
             "instrument": {"tick_size": 0.1, "lot_size": 0.001, "min_qty": 0.001, "min_notional": 5.0},
             "feed": {"depth_stream": None}}  # fmt: skip
    arbitrage = deep_merge(EPISODES_ARBITRAGE, {"backtest": {"recordings": "recordings"},
                                                "strategy": {"venues": list(VENUES)}})  # fmt: skip
    path = write_config_files(tmp_path, arbitrage_overrides=arbitrage, **{f"{v}_overrides": venue for v in VENUES})
    config = load_config(path)
    return config, run_backtest(config), paths


def test_hyperliquid_is_a_third_venue_the_backtest_trades_both_ways(
    three: tuple[AppConfig, BacktestResult, dict[str, Path]],
) -> None:
    config, result, _ = three
    assert config.venue_names == VENUES
    legs: dict[int, dict[int, str]] = {}
    for fill in result.fills:
        legs.setdefault(int(fill["pair_id"]), {})[int(fill["side"])] = VENUES[int(fill["venue"])]
    directions = {(pair[1], pair[-1]) for pair in legs.values()}  # (bought on, sold on)
    assert directions == {("binance", "hyperliquid"), ("hyperliquid", "bybit")}, legs
    on_hyperliquid = [
        (int(f["side"]), float(f["price"])) for f in result.fills if VENUES[int(f["venue"])] == "hyperliquid"
    ]
    # each episode's first pair takes the level that jumped (0.01 BTC); the next pair's Hyperliquid leg finds it
    # taken and is hedged at the book that is left
    assert (-1, 60300.0) in on_hyperliquid and (1, 59700.0) in on_hyperliquid


def test_hyperliquids_day_converts_with_its_hourly_funding(
    three: tuple[AppConfig, BacktestResult, dict[str, Path]],
) -> None:
    _, _, paths = three
    result = convert_files([paths["hyperliquid"]])
    assert (result.venue, result.market, result.symbol) == ("hyperliquid", "linear", "BTCUSDT")
    assert result.stats.snapshots == 1 and result.stats.gaps == 0 and result.eod.synced
    rows = result.rows[(result.rows["ev"] & LOCAL_EVENT) != 0]
    kinds = rows["ev"] & EVENT_KIND_MASK
    funding = rows[kinds == FUNDING_RATE_EVENT]
    assert len(rows[kinds == MARK_PRICE_EVENT]) == len(funding) > 0
    assert set(funding["order_id"].tolist()) == {3600 * NS_PER_S}  # hourly, whatever the others' interval
    assert all(int(f["ival"]) % (3600 * NS_PER_S) == 0 for f in funding)  # on the hour


def test_hyperliquids_hourly_funding_settles_on_the_position_held_at_the_hour(
    three: tuple[AppConfig, BacktestResult, dict[str, Path]],
) -> None:
    _, result, _ = three
    (row,) = result.funding  # Hyperliquid's, on the hour; the others' funding time is an hour after the start
    assert VENUES[int(row["venue"])] == "hyperliquid" and int(row["funding_ts"]) == FUNDING_MS * 1_000_000
    assert float(row["rate"]) == 0.0001 and float(row["mark"]) == 60_000.0
    assert float(row["position"]) < 0  # the short the first jump left
    assert float(row["payment"]) == pytest.approx(-float(row["position"]) * 60_000.0 * 0.0001)


def test_parity_holds_with_hyperliquid_at_zero_latency(
    three: tuple[AppConfig, BacktestResult, dict[str, Path]],
) -> None:
    # the dry run's live path replays the same three days and decides, fills and funds exactly as the backtest
    config, _, _ = three
    report = run_parity(zero_latency(config), exact=True)
    assert report.agree, report.describe()
