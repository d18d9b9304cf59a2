"""A venue that goes stale or out of sync mid-run gets no new position until it recovers, in the
backtest and on the live path alike."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from arb.backtest.run import run_backtest
from arb.config import AppConfig, load_config
from arb.parity.against_dry_run import run_live_replay
from arb.strategy.types import INTENT_OPEN
from arb.testing.configs import write_config_files
from tests.support.scenario_days import Book, Change, write_scenario

DAY = dt.date(2024, 4, 2)
START_NS = int(dt.datetime.combine(DAY, dt.time(0, 0, 1), tzinfo=dt.UTC).timestamp() * 1e9)
FEED_NS = 5_000_000


def _config(tmp_path: Path) -> AppConfig:
    latency = {"order_entry_ms": 1.0, "order_response_ms": 1.0, "feed_ms": 0.0}
    venue = {"latency": latency, "account": {"base": 1.0, "quote": 100_000.0}}
    return load_config(
        write_config_files(
            tmp_path,
            binance_overrides=venue,
            bybit_overrides=venue,
            arbitrage_overrides={
                "strategy": {"max_order_size": 0.01, "rebalance_threshold": 0.0, "cooldown_ms": 100_000},
                "risk": {"stale_after_ms": 1000, "max_notional_per_venue": 1e9, "position_limit": 1.0},
                "backtest": {"recordings": "recordings"},
            },
        )
    )


def _books() -> tuple[Book, Book]:
    return (
        Book(bids={59990.0: 2.0}, asks={60000.0: 2.0}),
        Book(bids={59995.0: 2.0}, asks={60005.0: 2.0}),
    )


def _first_open_ms(fills: np.ndarray) -> float:
    opens = fills[fills["kind"] == INTENT_OPEN]
    assert len(opens), "no pair was opened"
    return (int(opens["local_ts"].min()) - START_NS - FEED_NS) / 1e6


def test_stale_venue_gets_no_new_position_until_it_updates_again(tmp_path: Path) -> None:
    binance, bybit = _books()
    # Bybit goes quiet from 1.0 s; at 3.0 s Binance's book drops 50 bps under Bybit's (old) bid.
    # Bybit is stale from 2.0 s (1 s without an update) and speaks again at 6.0 s.
    changes = [
        Change(3000, "binance", bids={59990.0: 0.0, 59690.0: 2.0}, asks={60000.0: 0.0, 59700.0: 0.5}),
        Change(6000, "bybit", bids={59995.0: 2.0}),
    ]
    write_scenario(tmp_path / "recordings", DAY, binance, bybit, changes, silent=(("bybit", 1000, 6000),))
    config = _config(tmp_path)
    for fills in (run_backtest(config).fills, run_live_replay(config, [DAY]).fills.view()):
        first = _first_open_ms(fills)
        assert 6000 <= first < 6100, first  # not at 3.0 s: only once Bybit is fresh again


def test_out_of_sync_venue_gets_no_new_position_until_it_resyncs(tmp_path: Path) -> None:
    binance, bybit = _books()
    # A gap in Bybit's update ids at 2.0 s (the book is cleared and flagged), the opportunity at
    # 3.0 s, and Bybit's fresh snapshot (after the feed resubscribed) at 5.0 s.
    changes = [
        Change(2000, "bybit", bids={59996.0: 1.0}, kind="gap"),
        Change(3000, "binance", bids={59990.0: 0.0, 59690.0: 2.0}, asks={60000.0: 0.0, 59700.0: 0.5}),
        Change(5000, "bybit", bids={59996.0: 1.0}, kind="snapshot"),
    ]
    write_scenario(tmp_path / "recordings", DAY, binance, bybit, changes)
    config = _config(tmp_path)
    result = run_backtest(config)
    assert result.sync_losses["bybit"] == 1
    for fills in (result.fills, run_live_replay(config, [DAY]).fills.view()):
        first = _first_open_ms(fills)
        assert 5000 <= first < 5100, first
