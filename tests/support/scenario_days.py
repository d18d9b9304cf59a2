"""Constructed two-venue recordings for tests (see arb.testing.scenarios), and the one most tests use."""

from __future__ import annotations

__all__ = [
    "EPISODES_ARBITRAGE",
    "FEED_LATENCY_NS",
    "STANDING_DAY",
    "Book",
    "Change",
    "order_latency",
    "scenario_config",
    "standing_spread_config",
    "write_scenario",
    "write_standing_spread",
]

import datetime as dt
from pathlib import Path
from typing import Any

from arb.testing.configs import deep_merge, write_config_files
from arb.testing.scenarios import FEED_LATENCY_NS, Book, Change, default_start_ms, write_scenario, write_venues

STANDING_DAY = dt.date(2024, 5, 6)
STANDING_START_NS = default_start_ms(STANDING_DAY) * 1_000_000
"""The standing spread's recordings' first receive time (without ``start_ms``)."""

# Pairs of 0.01 BTC up to a band of 1 BTC, 50 ms apart, with no risk limit in the way: a scenario of
# many short opportunities is traded episode after episode.
EPISODES_ARBITRAGE: dict[str, Any] = {
    "strategy": {"max_order_size": 0.01, "max_position_size": 1.0, "rebalance_threshold": 0.0, "cooldown_ms": 50},
    "risk": {"position_limit": 1.0, "max_notional_per_venue": 1e9},
}


def order_latency(entry_ms: float) -> dict[str, float]:
    """A venue's ``latency`` table: orders arrive ``entry_ms`` after they are sent and are answered
    0.75 of that later; the feed keeps its recorded latency."""
    return {"order_entry_ms": entry_ms, "order_response_ms": entry_ms * 0.75, "feed_ms": 0.0}


def write_standing_spread(
    root: Path,
    *,
    changes: list[Change] | None = None,
    duration_ms: int = 6000,
    heartbeat_ms: int = 100,
    start_ms: int | None = None,
    venues: tuple[str, str] = ("binance", "bybit"),
) -> tuple[Path, Path]:
    """The standing spread's recordings, written in ``root``/recordings: Binance around 60,000 and
    Bybit's bid 50 bps above Binance's ask from 2 s on (``changes`` replace the one change that opens
    it), ``duration_ms`` of data on ``STANDING_DAY`` (from ``start_ms``, ms since the epoch, on its UTC
    day when given: a recording of the present), a heartbeat every ``heartbeat_ms``. ``venues``: the
    venue in Binance's place and the one in Bybit's (spot both). Returns their files, in that order."""
    day = STANDING_DAY if start_ms is None else dt.datetime.fromtimestamp(start_ms / 1000, dt.UTC).date()
    first, second = venues
    files = write_venues(
        root / "recordings",
        day,
        [(first, "spot", Book(bids={59990.0: 2.0}, asks={60000.0: 2.0})),
         (second, "spot", Book(bids={59995.0: 2.0}, asks={60400.0: 2.0}))],
        changes if changes is not None else [Change(2000, second, bids={60300.0: 1.0})],
        duration_ms=duration_ms,
        heartbeat_ms=heartbeat_ms,
        start_ms=start_ms,
    )  # fmt: skip
    return files[first], files[second]


def scenario_config(
    folder: Path, arbitrage: dict[str, Any] | None = None, *, latency: dict[str, float] | None = None
) -> Path:
    """The configuration written in ``folder`` that replays the scenario in ``folder``/recordings: both
    venues' accounts hold 1 BTC and 100,000 USDT, their ``latency`` table is ``latency`` where given,
    and ``arbitrage`` merges into the arbitrage settings. Returns the configuration's path."""
    venue: dict[str, Any] = {"account": {"base": 1.0, "quote": 100_000.0}}
    if latency is not None:
        venue["latency"] = latency
    return write_config_files(
        folder,
        binance_overrides=venue,
        bybit_overrides=venue,
        arbitrage_overrides=deep_merge({"backtest": {"recordings": "recordings"}}, arbitrage),
    )


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
    write_standing_spread(tmp_path, changes=changes, duration_ms=duration_ms)
    arbitrage = {
        "strategy": {"max_order_size": 0.01, "max_position_size": 0.03, "rebalance_threshold": 0.0},
        "risk": {"max_notional_per_venue": 1e9, "position_limit": 1.0},
    }
    latency = {"order_entry_ms": 1.0, "order_response_ms": 1.0}
    return scenario_config(tmp_path, deep_merge(arbitrage, arbitrage_overrides), latency=latency)
