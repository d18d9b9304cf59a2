"""Five venues in one run: a backtest, and parity with the dry run's live path at zero latency.

arb has three venue folders; the fourth and fifth venues are twins (:mod:`arb.testing.twins`): Binance's
and Bybit's folders under new names, with books of their own. The run uses the compiled variant every
other run uses (the records' per-venue fields hold ``MAX_VENUES``, docs/architecture.md, "The venue
count"), so nothing compiles for it that a two-venue run has not compiled.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from arb.backtest.run import BacktestResult, run_backtest
from arb.config import AppConfig, load_config
from arb.parity.against_dry_run import compare, run_live_replay, zero_latency
from arb.reports import write_report
from arb.reports.backtest_run import backtest_summary
from arb.testing.configs import deep_merge, write_config_files
from arb.testing.scenarios import write_venues
from arb.testing.twins import twin_venues
from tests.support.scenario_days import EPISODES_ARBITRAGE, Book, Change, order_latency

DAY = dt.date(2024, 3, 1)
VENUES = ("binance", "bybit", "okx", "fourth", "fifth")
TWINS = {"fourth": "binance", "fifth": "bybit"}
BOOKS = {
    "binance": Book(bids={59990.0: 2.0, 59980.0: 3.0}, asks={60000.0: 2.0, 60010.0: 3.0}),
    "bybit": Book(bids={59995.0: 2.0, 59985.0: 3.0}, asks={60005.0: 2.0, 60015.0: 3.0}),
    "okx": Book(bids={59992.0: 2.0, 59982.0: 3.0}, asks={60003.0: 2.0, 60013.0: 3.0}),
    "fourth": Book(bids={59991.0: 2.0, 59981.0: 3.0}, asks={60001.0: 2.0, 60011.0: 3.0}),
    "fifth": Book(bids={59993.0: 2.0, 59983.0: 3.0}, asks={60004.0: 2.0, 60014.0: 3.0}),
}
JUMPS = (
    ("fifth", "bids", 60270.0),  # buy Binance (the lowest ask), sell the fifth
    ("fourth", "asks", 59720.0),  # buy the fourth, sell Bybit (the highest bid)
    ("binance", "bids", 60270.0),  # buy the fourth (the lowest ask then), sell Binance
    ("fifth", "asks", 59720.0),  # buy the fifth, sell Bybit
    ("fourth", "bids", 60270.0),  # buy Binance, sell the fourth
    ("okx", "bids", 60270.0),  # buy Binance, sell OKX
)
"""Every 700 ms one venue's best price jumps 45 bps past the others' for 300 ms: the pair each opens."""


def _jump(t: int, venue: str, side: str, price: float) -> list[Change]:
    # At t the venue's best ``side`` jumps to ``price`` for 300 ms, its whole book with it (the other side
    # moves 10 away, so the venue's own book never crosses), then all comes back
    book = BOOKS[venue]
    other, step = {"bids": (book.asks, 10.0), "asks": (book.bids, -10.0)}[side]
    moved = {"bids": "asks", "asks": "bids"}[side]
    there = {side: {price: 0.5}, moved: {**{p: 0.0 for p in other}, price + step: 2.0}}
    back = {side: {price: 0.0}, moved: {**other, price + step: 0.0}}
    return [Change(t, venue, **there), Change(t + 300, venue, **back)]


@pytest.fixture(scope="module")
def five(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AppConfig, BacktestResult]]:
    """The five-venue run at zero latency and its backtest, the twins in force for the module's tests."""
    tmp_path = tmp_path_factory.mktemp("five")
    with twin_venues(TWINS):
        changes = [c for k, (venue, side, price) in enumerate(JUMPS) for c in _jump(500 + 700 * k, venue, side, price)]
        write_venues(tmp_path / "recordings", DAY, [(v, "spot", BOOKS[v]) for v in VENUES], changes,
                     duration_ms=500 + 700 * len(JUMPS) + 500)  # fmt: skip
        venue = {"account": {"base": 1.0, "quote": 100_000.0}, "latency": order_latency(4.0)}
        arbitrage = deep_merge(EPISODES_ARBITRAGE, {"backtest": {"recordings": "recordings"},
                                                    "strategy": {"venues": list(VENUES)}})  # fmt: skip
        path = write_config_files(tmp_path, arbitrage_overrides=arbitrage, **{f"{v}_overrides": venue for v in VENUES})
        config = zero_latency(load_config(path))
        yield config, run_backtest(config)


def test_five_venues_backtest_opens_a_pair_in_each_episode(five: tuple[AppConfig, BacktestResult]) -> None:
    config, result = five
    assert config.venue_names == VENUES
    fills = result.fills
    legs: dict[int, dict[int, int]] = {}
    for f in fills:
        legs.setdefault(int(f["pair_id"]), {})[int(f["side"])] = int(f["venue"])
    directions = list(dict.fromkeys((pair[1], pair[-1]) for _, pair in sorted(legs.items())))
    assert directions == [(0, 4), (3, 1), (3, 0), (4, 1), (0, 3), (0, 2)], directions


def test_five_venues_report_names_each_venue_and_direction(
    five: tuple[AppConfig, BacktestResult], tmp_path: Path
) -> None:
    # what arb backtest writes of the run: a column per venue and per direction (20 of them)
    config, result = five
    summary, orders = backtest_summary(config, result)
    write_report(tmp_path, summary, result.fills, result.equity, funding=result.funding, orders=orders,
                 transfers=result.transfers)  # fmt: skip
    assert summary.venue_names == VENUES
    header = (tmp_path / "inventory.csv").read_text().splitlines()[0].split(",")
    assert all(f"{name}_position" in header for name in VENUES), header
    assert sum(column.startswith("pairs_left_buy_") for column in header) == 20, header
    traded = {row.split(",")[3] for row in (tmp_path / "trades.csv").read_text().splitlines()[1:]}
    assert traded == set(VENUES), traded


def test_five_venues_zero_latency_parity_is_exact(five: tuple[AppConfig, BacktestResult]) -> None:
    config, result = five
    live = run_live_replay(config, result.days)  # the twins still in force: the fixture holds them
    report = compare(config, result, live, exact=True)
    assert report.agree, report.describe()
    assert report.intents[0] >= 12  # a pair or more per episode
    assert report.fills == (report.intents[0], report.intents[0])
    assert report.max_price_diff_bps == 0.0
