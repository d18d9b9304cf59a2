"""``arb dry-run --live-data`` on four venues, as a real ``arb`` process: the fake public Binance, Bybit and OKX
(spot) and the fake Hyperliquid (its BTC perpetual) on 127.0.0.1, each serving its own messages (Binance's
diffs over its REST snapshot, Bybit's and OKX's chained books, Hyperliquid's ``meta`` then whole books), the
real feeds, the kernel weighing the twelve directions, and the paper account.

Each venue's band is one leg (``max_position_size`` = ``max_order_size``), so the planted books say which pairs
are taken, one at a time: Hyperliquid's bid 50 bps over the others' asks (buy Binance, the lowest ask; sell
Hyperliquid); then OKX's ask 50 bps under the others' bids, for good (buy OKX, sell Bybit, the highest bid: not
Hyperliquid, whose short is full); then Hyperliquid's ask as low (buy Hyperliquid, sell Binance, the highest bid
with room, twice: Binance's long to its short while Hyperliquid's short turns long). Four pairs, three of them
on Hyperliquid. No decision depends on the order in which the process reads two venues' sockets: each
change is taken against books that stand still. The paper account the process leaves holds what they say.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest

from arb.config import AppConfig, load_config
from arb.execution.paper_account import PaperAccount
from arb.sim.binance.public import FakeBinanceVenue
from arb.sim.bybit.public import FakeBybitVenue
from arb.sim.hyperliquid.public import FakeHyperliquidVenue
from arb.sim.okx.public import FakeOkxVenue
from arb.testing.configs import deep_merge, local_endpoints, write_config_files
from arb.testing.scenarios import Book, Change, Perp, write_venues
from tests.support.live_rig import ArbProcess, arb_process, interrupted, until

DAY = dt.date(2024, 5, 6)
START_NS = int(dt.datetime.combine(DAY, dt.time(0, 0, 1), tzinfo=dt.UTC).timestamp() * 1e9)
VENUES = ("binance", "bybit", "okx", "hyperliquid")
STREAMS = {"binance": "btcusdt@depth@100ms", "bybit": "orderbook.50.BTCUSDT", "okx": "books:BTC-USDT",
           "hyperliquid": "l2Book:BTC"}  # fmt: skip
SIZE = 0.01
"""Each leg's size and the band a venue's position may reach: one pair fills a venue's band."""


def _recordings(root: Path) -> dict[str, Path]:
    # Nothing crosses at the start (Binance's ask the lowest, Bybit's bid the highest); each jump moves the
    # venue's other side away with it, so that its own book never crosses.
    venues = [
        ("binance", "spot", Book(bids={59990.0: 2.0}, asks={60000.0: 2.0})),
        ("bybit", "spot", Book(bids={59995.0: 2.0}, asks={60005.0: 2.0})),
        ("okx", "spot", Book(bids={59992.0: 2.0, 59991.5: 1.0}, asks={60003.0: 2.0, 60004.0: 1.0})),
        ("hyperliquid", "linear", Book(bids={59993.0: 2.0, 59991.0: 1.0}, asks={60002.0: 2.0, 60004.0: 1.0})),
    ]
    changes = [
        Change(1000, "hyperliquid", bids={60300.0: 0.5}, asks={60002.0: 0.0, 60004.0: 0.0, 60310.0: 2.0}),
        Change(1500, "hyperliquid", bids={60300.0: 0.0}, asks={60002.0: 2.0, 60004.0: 1.0, 60310.0: 0.0}),
        Change(2000, "okx", asks={59700.0: 1.0}, bids={59992.0: 0.0, 59991.5: 0.0, 59690.0: 2.0}),
        Change(3000, "hyperliquid", asks={59700.0: 1.0}, bids={59993.0: 0.0, 59991.0: 0.0, 59690.0: 2.0}),
    ]
    perp = Perp(mark=60_000.0, rate=0.0000125, funding_ms=3_600_000, next_rate=0.0000125)
    return write_venues(root / "recordings", DAY, venues, changes, duration_ms=4000, heartbeat_ms=100,
                        perps={"hyperliquid": perp})  # fmt: skip


def _config(folder: Path, fakes: dict[str, Any]) -> Path:
    # every venue's endpoints at its fake, orders answered in 1 ms each way; the fakes stand still while the
    # pairs are taken: no feed may go stale meanwhile, however busy the machine
    common = {"latency": {"order_entry_ms": 1.0, "order_response_ms": 1.0},
              "feed": {"stale_after_ms": 600_000, "reconnect_after_stale_ms": 1_200_000}}  # fmt: skip
    overrides = {}
    for name, fake in fakes.items():
        market = "linear" if name == "hyperliquid" else "spot"
        account = {"base": 0.0 if market == "linear" else 1.0, "quote": 1e5}  # a linear venue's base: its position
        own = {"account": account, **local_endpoints(fake.ws_urls, fake.rest_url, market=market)}
        overrides[f"{name}_overrides"] = deep_merge(common, own)
    arbitrage = {
        "strategy": {"venues": list(VENUES), "max_order_size": SIZE, "max_position_size": SIZE,
                     "rebalance_threshold": 0.0, "cooldown_ms": 0},
        "risk": {"stale_after_ms": 600_000, "max_notional_per_venue": 1e9, "position_limit": 1.0},
        "dry_run": {"report_interval_s": 3600},  # the first account line once synced, the last at the stop
    }  # fmt: skip
    return write_config_files(folder, arbitrage_overrides=arbitrage, **overrides)


def _said(out: Path) -> str:
    return (out / "stdout").read_text() + (out / "stderr").read_text()


def _fills(out: Path) -> int:
    # the fill lines the dry run printed so far ("fill okx         buy  0.01 @ 59700 fee ... (pair 2, open)")
    return len(re.findall(r"^fill ", _said(out), re.MULTILINE))


async def test_a_dry_run_on_four_venues_takes_the_pairs_the_books_plant_hyperliquid_in_three(tmp_path: Path) -> None:
    paths = _recordings(tmp_path)
    async with contextlib.AsyncExitStack() as stack:
        fakes: dict[str, Any] = {
            "binance": await stack.enter_async_context(
                FakeBinanceVenue(paths["binance"], market="spot", tick_size="0.01", lot_size="0.00001")
            ),
            "bybit": await stack.enter_async_context(FakeBybitVenue(paths["bybit"], market="spot")),
            "okx": await stack.enter_async_context(FakeOkxVenue(paths["okx"], market="spot")),
            "hyperliquid": await stack.enter_async_context(FakeHyperliquidVenue(paths["hyperliquid"])),
        }
        config_path = _config(tmp_path / "config", fakes)
        paper, out = tmp_path / "paper", tmp_path / "run"
        args = ["dry-run", "--live-data", "--config", str(config_path), "--state-dir", str(paper)]
        process: ArbProcess = await stack.enter_async_context(arb_process(out, {}, *args))

        async def release(ms: int, wanted_fills: int) -> None:
            # every venue's recording up to ``ms`` after its start, then await the fills expected by then
            for fake in fakes.values():
                await fake.advance_until(START_NS + (ms + 10) * 1_000_000)  # its lines are stamped 5 ms later
            await until(lambda: _fills(out) >= wanted_fills, process, out, 60, *fakes.values())

        def subscribed() -> bool:
            return all(fakes[name].subscriber_count(stream) >= 1 for name, stream in STREAMS.items())

        await until(subscribed, process, out, 60, *fakes.values())
        await release(500, 0)
        await until(lambda: " UTC] account: cash " in _said(out), process, out, 60)  # every book is synced
        # each pair is taken on the change that plants it, or on the next line after the one before it filled:
        # the fakes stand still between releases, each awaited by its pairs' fills
        await release(1000, 2)  # Hyperliquid's bid over the others' asks: buy Binance, sell Hyperliquid
        await release(2000, 4)  # OKX's ask under the others' bids: buy OKX, sell Bybit
        await release(3000, 6)  # Hyperliquid's ask as low: buy Hyperliquid, sell Binance (both back to flat)
        await release(3100, 8)  # again, to the other end of both bands
        await interrupted(process, out)  # exit 130, no traceback

    with (paper / "fills.csv").open() as f:
        rows = list(csv.DictReader(f))
    legs = [(int(r["pair_id"]), r["venue"], r["side"], float(r["price"])) for r in rows]
    assert sorted(legs) == [
        (1, "binance", "buy", 60000.0), (1, "hyperliquid", "sell", 60300.0),
        (2, "bybit", "sell", 59995.0), (2, "okx", "buy", 59700.0),
        (3, "binance", "sell", 59990.0), (3, "hyperliquid", "buy", 59700.0),
        (4, "binance", "sell", 59990.0), (4, "hyperliquid", "buy", 59700.0),
    ], _said(out)[-3000:]  # fmt: skip
    assert all(r["kind"] == "open" for r in rows)
    last = [line for line in _said(out).splitlines() if " UTC] account: cash " in line][-1]  # printed at the stop
    assert "positions -0.01 | -0.01 | +0.01 | +0.01" in last and "fills 8" in last, last
    config: AppConfig = load_config(config_path)
    with PaperAccount.open(paper, config) as account:
        assert account.position == [pytest.approx([-SIZE, -SIZE, SIZE, SIZE])]
        base, _ = account.balances()
    assert base == [pytest.approx([1.0 - SIZE, 1.0 - SIZE, 1.0 + SIZE, SIZE])]  # Hyperliquid's base: its position
