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

from arb.config import AppConfig, load_config
from arb.parity.against_dry_run import run_parity, zero_latency
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
