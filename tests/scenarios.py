"""Constructed two-venue recordings for tests (see arb.testing.scenarios), and the one most tests use."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from arb.testing.configs import deep_merge, write_config_files
from arb.testing.scenarios import FEED_LATENCY_NS, Book, Change, write_scenario

__all__ = ["FEED_LATENCY_NS", "STANDING_DAY", "Book", "Change", "standing_spread_config", "write_scenario"]

STANDING_DAY = dt.date(2024, 5, 6)


def standing_spread_config(
    tmp_path: Path,
    *,
    changes: list[Change] | None = None,
    arbitrage_overrides: dict[str, Any] | None = None,
    duration_ms: int = 6000,
) -> Path:
    """A recording where Bybit's bid stands 50 bps above Binance's ask from 2 s on (``duration_ms`` of
    data on ``STANDING_DAY``, a heartbeat every 100 ms), and a configuration that trades it: pairs of
    0.01 BTC until the band (0.03) is full, orders answered in 1 ms each way. ``changes`` replace the
    one change that opens the spread; ``arbitrage_overrides`` merge into the configuration's."""
    write_scenario(
        tmp_path / "recordings",
        STANDING_DAY,
        Book(bids={59990.0: 2.0}, asks={60000.0: 2.0}),
        Book(bids={59995.0: 2.0}, asks={60400.0: 2.0}),
        changes if changes is not None else [Change(2000, "bybit", bids={60300.0: 1.0})],
        duration_ms=duration_ms,
        heartbeat_ms=100,
    )
    venue = {"latency": {"order_entry_ms": 1.0, "order_response_ms": 1.0}, "account": {"base": 1.0, "quote": 1e5}}
    arbitrage = {
        "strategy": {"max_order_size": 0.01, "max_position_size": 0.03, "rebalance_threshold": 0.0},
        "risk": {"max_notional_per_venue": 1e9, "position_limit": 1.0},
        "backtest": {"recordings": "recordings"},
    }
    return write_config_files(
        tmp_path,
        binance_overrides=venue,
        bybit_overrides=venue,
        arbitrage_overrides=deep_merge(arbitrage, arbitrage_overrides),
    )
