"""A generated tape whose basis stays one-sided, for the inventory tests and docs/inventory.md.

Bybit's bid keeps jumping 45 bps over Binance's ask (buy on Binance, sell on Bybit: 23 bps net of both
0.10 % taker fees and the 2 bps slippage tolerance), 250 ms at a time every 500 ms; every third time
Bybit's ask dips 24 bps under Binance's bid instead (the way back: 2 bps net, short of
``min_spread_bps`` = 5). Each venue starts with 0.05 BTC and 100,000 USDT; pairs are 0.01 BTC, 50 ms
apart at least; orders take 1 ms to arrive. 12 s of data on 2024-03-04.
"""

from __future__ import annotations

__all__ = ["ONE_SIDED_DAY", "write_one_sided"]

import datetime as dt
from pathlib import Path
from typing import Any

from arb.catalog import default_venues
from arb.testing.configs import write_config_files
from arb.testing.scenarios import Book, Change, write_scenario

ONE_SIDED_DAY = dt.date(2024, 3, 4)
_DURATION_MS = 12_000


def write_one_sided(
    folder: Path, strategy: dict[str, Any] | None = None, backtest: dict[str, Any] | None = None
) -> Path:
    """Write the tape in ``folder``/recordings and its configuration in ``folder``; ``strategy`` and
    ``backtest`` merge into those sections (TOML spelling: ``{"inventory_skew_bps": 4.0}``). Returns
    the path of ``arbitrage.toml``."""
    cheap, rich = default_venues()  # the default run's two: the rich one's bid keeps jumping over the other's ask
    changes = []
    for k in range(22):
        t = 400 + 500 * k
        if k % 3 == 2:  # the way back: the rich venue's ask 24 bps under the cheap one's bid
            changes += [Change(t, rich, asks={59846.0: 0.5}), Change(t + 250, rich, asks={59846.0: 0.0})]
        else:  # the usual way: the rich venue's bid 45 bps over the cheap one's ask
            changes += [Change(t, rich, bids={60270.0: 0.5}), Change(t + 250, rich, bids={60270.0: 0.0})]
    first = Book(bids={59990.0: 2.0, 59980.0: 3.0}, asks={60000.0: 2.0, 60010.0: 3.0})
    second = Book(bids={59995.0: 2.0, 59985.0: 3.0}, asks={60005.0: 2.0, 60015.0: 3.0})
    write_scenario(folder / "recordings", ONE_SIDED_DAY, first, second, changes, duration_ms=_DURATION_MS)
    venue = {
        "account": {"base": 0.05, "quote": 100_000.0},
        "latency": {"order_entry_ms": 1.0, "order_response_ms": 0.75, "feed_ms": 0.0},
    }
    settings: dict[str, Any] = {
        "strategy": {"max_order_size": 0.01, "max_position_size": 1.0, "rebalance_threshold": 0.0, "cooldown_ms": 50,
                     **(strategy or {})},
        "risk": {"position_limit": 1.0, "max_notional_per_venue": 1e9},
        "backtest": {"recordings": "recordings", "out": "results", **(backtest or {})},
    }  # fmt: skip
    overrides = {f"{name}_overrides": venue for name in (cheap, rich)}
    return write_config_files(folder, arbitrage_overrides=settings, **overrides)
