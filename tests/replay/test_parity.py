"""Parity: the same recording through the backtest and through the live path (engine + paper executor).

With zero latency (orders reach the venue at once, every event arrives at its exchange time) both
drivers see the same book when an order arrives, so they must agree exactly: the same kernel calls
with the same views, the same intents, the same fills at the same prices and times.

With the configured latencies both fill a taker order on the book the feed has delivered by its
arrival, by the same rule (arb.execution.liquidity): decisions must agree, and fill prices at least
within the stated tolerance (the slippage tolerance, 2 bps of the price, plus one tick: the width of
the window an IOC limit leaves between the price the kernel saw and its limit); on the sample they are
identical.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from arb.backtest.run import run_backtest
from arb.config import AppConfig, load_config
from arb.parity.against_dry_run import compare, run_live_replay, run_parity, zero_latency
from arb.testing.configs import deep_merge, write_config_files
from arb.testing.scenarios import write_venues
from tests.support.scenario_days import EPISODES_ARBITRAGE, Book, Change, order_latency, scenario_config, write_scenario

DAY = dt.date(2024, 3, 1)


def test_sample_zero_latency_agrees_exactly(sample_config: AppConfig) -> None:
    report = run_parity(zero_latency(sample_config), exact=True)
    assert report.agree, report.describe()
    assert report.intents[0] == report.intents[1] >= 2
    assert report.fills[0] == report.fills[1] == report.intents[0]
    assert report.max_price_diff_bps == 0.0


def test_sample_configured_latency_agrees_within_tolerance(sample_config: AppConfig) -> None:
    report = run_parity(sample_config)
    assert report.first is None, report.describe()  # the same calls, views and intents
    assert report.first_fill is None and report.fills_outside_tolerance == 0, report.describe()
    assert report.price_tolerance_bps == sample_config.execution.slippage_tolerance_bps == 2.0
    assert report.fills[0] == report.fills[1] >= 2
    assert report.max_price_diff_bps == 0.0  # the same book at arrival, the same rule


def _many_opportunities(tmp_path: Path) -> AppConfig:
    # Every 700 ms one venue's book jumps away from the other's and back, alternating directions;
    # sizes are small next to the levels so no order ever needs more than one level.
    binance = Book(bids={59990.0: 2.0, 59980.0: 3.0}, asks={60000.0: 2.0, 60010.0: 3.0})
    bybit = Book(bids={59995.0: 2.0, 59985.0: 3.0}, asks={60005.0: 2.0, 60015.0: 3.0})
    changes = []
    for k in range(14):
        t = 500 + 700 * k
        if k % 2 == 0:  # Bybit bid 45 bps over Binance's ask: buy Binance, sell Bybit
            changes += [Change(t, "bybit", bids={60270.0: 0.5}), Change(t + 300, "bybit", bids={60270.0: 0.0})]
        else:  # Bybit ask 45 bps under Binance's bid: buy Bybit, sell Binance
            changes += [Change(t, "bybit", asks={59720.0: 0.5}), Change(t + 300, "bybit", asks={59720.0: 0.0})]
    write_scenario(tmp_path / "recordings", DAY, binance, bybit, changes, duration_ms=11_000)
    return load_config(scenario_config(tmp_path, EPISODES_ARBITRAGE, latency=order_latency(4.0)))


def test_constructed_many_opportunities_zero_latency_exact(tmp_path: Path) -> None:
    config = _many_opportunities(tmp_path)
    report = run_parity(zero_latency(config), exact=True)
    assert report.agree, report.describe()
    assert report.intents[0] >= 28  # a pair or more per episode, in both directions
    assert report.fills == (report.intents[0], report.intents[0])


def test_constructed_many_opportunities_with_latency_within_tolerance(tmp_path: Path) -> None:
    config = _many_opportunities(tmp_path)
    report = run_parity(config)
    assert report.agree, report.describe()
    assert report.intents[0] >= 28 and report.fills[0] == report.fills[1]
    assert report.max_price_diff_bps <= report.price_tolerance_bps


def _jump(t: int, venue: str, book: Book, side: str, price: float) -> list[Change]:
    # At t the venue's best ``side`` jumps to ``price`` for 300 ms, its whole book with it (the other side
    # moves 10 away, so the venue's own book never crosses), then all comes back
    away = {"bids": (book.asks, 10.0), "asks": (book.bids, -10.0)}
    other, step = away[side]
    moved = {"bids": "asks", "asks": "bids"}[side]
    there = {side: {price: 0.5}, moved: {**{p: 0.0 for p in other}, price + step: 2.0}}
    back = {side: {price: 0.0}, moved: {**other, price + step: 0.0}}
    return [Change(t, venue, **there), Change(t + 300, venue, **back)]


def _three_venues(tmp_path: Path) -> AppConfig:
    # Every 700 ms one or two venues' books jump 45 bps away from the others and back, so that each of the
    # six directions is in turn the best (the venues in the run's order: Binance 0, Bybit 1, OKX 2).
    venues = [
        ("binance", "spot", Book(bids={59990.0: 2.0, 59980.0: 3.0}, asks={60000.0: 2.0, 60010.0: 3.0})),
        ("bybit", "spot", Book(bids={59995.0: 2.0, 59985.0: 3.0}, asks={60005.0: 2.0, 60015.0: 3.0})),
        ("okx", "spot", Book(bids={59992.0: 2.0, 59982.0: 3.0}, asks={60003.0: 2.0, 60013.0: 3.0})),
    ]
    jumps = [
        [("okx", "bids", 60270.0)],  # buy Binance (the lowest ask), sell OKX
        [("bybit", "asks", 59720.0)],  # buy Bybit, sell OKX (the highest bid)
        [("binance", "bids", 60270.0)],  # buy OKX (the lowest ask), sell Binance
        [("okx", "asks", 59720.0)],  # buy OKX, sell Bybit (the highest bid)
        [("bybit", "bids", 60270.0)],  # buy Binance, sell Bybit
        [("bybit", "asks", 59720.0), ("binance", "bids", 59999.0)],  # buy Bybit, sell Binance (now the highest)
    ]
    books = {venue: book for venue, _, book in venues}
    changes = []
    for k, jump in enumerate(jumps):
        t = 500 + 700 * k
        for venue, side, price in jump:
            changes += _jump(t, venue, books[venue], side, price)
    write_venues(tmp_path / "recordings", DAY, venues, changes, duration_ms=500 + 700 * len(jumps) + 500)
    venue = {"account": {"base": 1.0, "quote": 100_000.0}, "latency": order_latency(4.0)}
    arbitrage = deep_merge(EPISODES_ARBITRAGE, {"backtest": {"recordings": "recordings"},
                                                "strategy": {"venues": ["binance", "bybit", "okx"]}})  # fmt: skip
    path = write_config_files(tmp_path, binance_overrides=venue, bybit_overrides=venue, okx_overrides=venue,
                              arbitrage_overrides=arbitrage)  # fmt: skip
    return load_config(path)


def test_three_venues_zero_latency_exact_in_each_of_the_six_directions(tmp_path: Path) -> None:
    config = zero_latency(_three_venues(tmp_path))
    assert config.venue_names == ("binance", "bybit", "okx")
    result = run_backtest(config)
    live = run_live_replay(config, result.days)
    report = compare(config, result, live, exact=True)
    assert report.agree, report.describe()
    assert report.intents[0] >= 12  # a pair or more per episode
    assert report.fills == (report.intents[0], report.intents[0])
    assert report.max_price_diff_bps == 0.0
    # each direction was taken, in the order the episodes open them: (buy venue, sell venue) of each pair
    fills = live.fills.view()
    legs: dict[int, dict[int, int]] = {}
    for f in fills:
        legs.setdefault(int(f["pair_id"]), {})[int(f["side"])] = int(f["venue"])
    directions = [(pair[1], pair[-1]) for _, pair in sorted(legs.items())]
    firsts = list(dict.fromkeys(directions))
    assert firsts == [(0, 2), (1, 2), (2, 0), (2, 1), (0, 1), (1, 0)], directions
