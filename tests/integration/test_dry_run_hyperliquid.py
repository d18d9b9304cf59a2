"""``arb dry-run --live-data`` with Hyperliquid: the fake public Binance (spot) and the fake Hyperliquid (its BTC
perpetual) on 127.0.0.1, the real feeds (Hyperliquid's ``meta`` first, its whole books as changes), the real
kernel and the paper executor. Hyperliquid's bid jumps 50 bps over Binance's ask: the run buys Binance's spot and
sells Hyperliquid's perpetual, and the paper account holds the short there.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from arb.config import AppConfig, load_config
from arb.execution.paper_account import PaperAccount
from arb.live.session_loop import warm_up_kernel
from arb.sim.binance.public import FakeBinanceVenue
from arb.sim.hyperliquid.public import FakeHyperliquidVenue
from arb.testing.configs import deep_merge, local_endpoints, write_config_files
from arb.testing.scenarios import Book, Change, Perp, write_venues
from tests.support.live_rig import dry_run_task

DAY = dt.date(2024, 5, 6)
START_NS = int(dt.datetime.combine(DAY, dt.time(0, 0, 1), tzinfo=dt.UTC).timestamp() * 1e9)
SIZE = 0.01


def _recordings(root: Path) -> dict[str, Path]:
    venues = [
        ("binance", "spot", Book(bids={59990.0: 2.0}, asks={60000.0: 2.0})),
        ("hyperliquid", "linear", Book(bids={59992.0: 2.0}, asks={60003.0: 2.0})),
    ]
    changes = [Change(1000, "hyperliquid", bids={60300.0: 0.5}, asks={60003.0: 0.0, 60310.0: 2.0})]
    perp = Perp(mark=60_000.0, rate=0.0000125, funding_ms=3_600_000, next_rate=0.0000125)
    return write_venues(root / "recordings", DAY, venues, changes, duration_ms=2000, heartbeat_ms=100,
                        perps={"hyperliquid": perp})  # fmt: skip


def _config(tmp_path: Path, binance: Any, hyperliquid: Any) -> AppConfig:
    common = {"latency": {"order_entry_ms": 1.0, "order_response_ms": 1.0},
              "feed": {"stale_after_ms": 600_000, "reconnect_after_stale_ms": 1_200_000}}  # fmt: skip
    arbitrage = {
        "strategy": {"venues": ["binance", "hyperliquid"], "max_order_size": SIZE, "max_position_size": SIZE,
                     "rebalance_threshold": 0.0, "cooldown_ms": 0},
        "risk": {"stale_after_ms": 600_000, "max_notional_per_venue": 1e9, "position_limit": 1.0},
        "dry_run": {"report_interval_s": 3600},
    }  # fmt: skip
    path = write_config_files(
        tmp_path / "config",
        arbitrage_overrides=arbitrage,
        binance_overrides=deep_merge(common, {"account": {"base": 1.0, "quote": 1e5},
                                              **local_endpoints(binance.ws_urls, binance.rest_url)}),
        hyperliquid_overrides=deep_merge(common, {"account": {"base": 0.0, "quote": 1e5},
                                                  **local_endpoints(hyperliquid.ws_urls, hyperliquid.rest_url,
                                                                    market="linear")}),
    )  # fmt: skip
    return load_config(path)


async def test_a_dry_run_sells_hyperliquids_jumped_bid_against_binance_spot(tmp_path: Path) -> None:
    paths = _recordings(tmp_path)
    async with contextlib.AsyncExitStack() as stack:
        binance = await stack.enter_async_context(
            FakeBinanceVenue(paths["binance"], market="spot", tick_size="0.01", lot_size="0.00001")
        )
        hyperliquid = await stack.enter_async_context(FakeHyperliquidVenue(paths["hyperliquid"]))
        config = _config(tmp_path, binance, hyperliquid)
        warm_up_kernel(config)  # compiled (or loaded from Numba's cache) before the feeds' timeouts
        account = PaperAccount.open(tmp_path / "paper", config)
        fills: list[Any] = []
        filled = asyncio.Event()

        def on_fill(row: Any) -> None:
            fills.append(row.copy())
            if len(fills) >= 2:
                filled.set()

        stop = asyncio.Event()
        run = dry_run_task(config, account, Console(quiet=True), on_fill=on_fill, stop_event=stop)
        try:
            async with asyncio.timeout(120):  # a bound on a hang: every wait below is on a condition
                await binance.wait_for_subscription("btcusdt@depth@100ms")
                await hyperliquid.wait_for_subscription("l2Book:BTC")
                for fake in (binance, hyperliquid):
                    await fake.advance_until(START_NS + 510 * 1_000_000)
                for fake in (binance, hyperliquid):
                    await fake.advance_until(START_NS + 1010 * 1_000_000)  # the jump
                await filled.wait()
                stop.set()
                await run
        finally:
            run.cancel()
    legs = {(config.venue_names[int(f["venue"])], int(f["side"]), float(f["price"])) for f in fills}
    assert legs == {("binance", 1, 60000.0), ("hyperliquid", -1, 60300.0)}
    account.close()
    with PaperAccount.open(tmp_path / "paper", config) as final:
        assert final.position == [pytest.approx([SIZE, -SIZE])]  # bought spot, the perpetual short
        base, _ = final.balances()
    assert base == [pytest.approx([1.0 + SIZE, -SIZE])]  # a linear venue's base is its position
