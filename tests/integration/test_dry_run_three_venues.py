"""``arb dry-run --live-data`` on three venues end to end: the fake public Binance, Bybit and OKX on
127.0.0.1, the real feeds (OKX's ``books`` chained by ``seqId`` and checksummed), the real kernel weighing
the six directions, and the paper executor.

The scenario opens two spreads against OKX, one after the other: first OKX's bid stands 50 bps above the
others' asks (buy on Binance, the cheapest ask; sell on OKX), then, once that is gone, OKX's ask stands 50
bps under the others' bids (buy on OKX, sell on Bybit, the best bid, until Bybit's band is full; then sell
on Binance, the next best, until OKX's is). Three of the six directions are taken, a pair at a time up to
the bands; the fills, the paper account's positions per venue, the terminal's account line and the run's
``/metrics`` all name the three venues.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import datetime as dt
import io
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from arb.config import AppConfig
from arb.execution.paper_account import PaperAccount
from arb.live.session_loop import warm_up_kernel
from arb.ops.server import OpsServer
from arb.ops.watch import Watch
from arb.sim.binance.public import FakeBinanceVenue
from arb.sim.bybit.public import FakeBybitVenue
from arb.sim.okx.public import FakeOkxVenue
from arb.testing.scenarios import Book, Change, write_venues
from tests.support.live_rig import dry_run_task, paper_venues_config

DAY = dt.date(2024, 5, 6)
START_NS = int(dt.datetime.combine(DAY, dt.time(0, 0, 1), tzinfo=dt.UTC).timestamp() * 1e9)
STREAMS = {"binance": "btcusdt@depth@100ms", "bybit": "orderbook.50.BTCUSDT", "okx": "books:BTC-USDT"}
SIZE, BAND = 0.01, 0.02
"""Each leg's size and the band a venue's position may reach: two pairs from flat."""


def _recordings(root: Path) -> dict[str, Path]:
    # OKX's bid 50 bps over the best ask from 1 s to 2 s; OKX's ask 50 bps under the best bid from 2.5 s
    # to 3.5 s. Binance's ask is the lowest of the other two, Bybit's bid the highest.
    venues = [
        ("binance", "spot", Book(bids={59990.0: 2.0}, asks={60000.0: 2.0})),
        ("bybit", "spot", Book(bids={59995.0: 2.0}, asks={60005.0: 2.0})),
        ("okx", "spot", Book(bids={59992.0: 2.0, 59991.5: 1.0}, asks={60003.0: 2.0, 60004.0: 1.0})),
    ]
    changes = [
        Change(1000, "okx", bids={60300.0: 1.0}),
        Change(2000, "okx", bids={60300.0: 0.0}),
        Change(2500, "okx", asks={59700.0: 1.0}),
        Change(3500, "okx", asks={59700.0: 0.0}),
    ]
    return write_venues(root / "recordings", DAY, venues, changes, duration_ms=4000, heartbeat_ms=100)


class _Screen(io.StringIO):
    """A console's file that keeps every account line printed; ``synced`` is set at the first."""

    def __init__(self) -> None:
        super().__init__()
        self.account_lines: list[str] = []
        self.synced = asyncio.Event()

    def write(self, text: str) -> int:
        self.account_lines += [line for line in text.splitlines() if " UTC] account: cash " in line]
        if self.account_lines:
            self.synced.set()
        return super().write(text)


async def _notify(condition: asyncio.Condition) -> None:
    async with condition:
        condition.notify_all()


def _config(tmp_path: Path, fakes: dict[str, Any]) -> AppConfig:
    strategy = {"max_order_size": SIZE, "max_position_size": BAND, "rebalance_threshold": 0.0, "cooldown_ms": 0}
    # the fakes stand still while the pairs are taken: no feed may go stale meanwhile, however busy the machine
    feed = {"feed": {"stale_after_ms": 600_000, "reconnect_after_stale_ms": 1_200_000}}
    return paper_venues_config(tmp_path, fakes, {
        "strategy": strategy,
        "risk": {"stale_after_ms": 600_000, "max_notional_per_venue": 1e9, "position_limit": 1.0},
        "dry_run": {"report_interval_s": 3600},  # the first line once synced, the last at the stop
        "ops": {"enabled": True, "port": 0},
    }, venue=feed)  # fmt: skip


def _metric_by_venue(body: str, name: str) -> dict[str, float]:
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[str, float] = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            if sample.name == name:
                venue = sample.labels["venue"]
                out[venue] = out.get(venue, 0.0) + sample.value
    return out


async def test_a_dry_run_on_three_venues_takes_both_spreads_against_okx(tmp_path: Path) -> None:
    paths = _recordings(tmp_path)
    async with contextlib.AsyncExitStack() as stack:
        fakes: dict[str, Any] = {
            "binance": await stack.enter_async_context(
                FakeBinanceVenue(paths["binance"], market="spot", tick_size="0.01", lot_size="0.00001")
            ),
            "bybit": await stack.enter_async_context(FakeBybitVenue(paths["bybit"], market="spot")),
            "okx": await stack.enter_async_context(FakeOkxVenue(paths["okx"], market="spot")),
        }
        config = _config(tmp_path, fakes)
        assert config.venue_names == ("binance", "bybit", "okx")
        warm_up_kernel(config)  # compiled (or loaded from Numba's cache) before the conversation's timeouts
        account = PaperAccount.open(tmp_path / "paper", config)
        screen = _Screen()
        console = Console(file=screen, width=200)
        servers: list[OpsServer] = []

        def on_watch(watch: Any) -> None:
            if isinstance(watch, Watch) and watch.server is not None:
                servers.append(watch.server)
                watch.server = None  # stopped by the test, after the last scrape

        fills: list[Any] = []
        filled = asyncio.Condition()

        def on_fill(row: Any) -> None:
            fills.append(row.copy())
            asyncio.get_running_loop().create_task(_notify(filled))

        async def release(ms: int, wanted_fills: int) -> None:
            # every venue's recording up to ``ms`` after its start, then await the fills expected by then
            for fake in fakes.values():
                await fake.advance_until(START_NS + (ms + 10) * 1_000_000)  # its lines are stamped 5 ms later
            async with filled:
                await filled.wait_for(lambda: len(fills) >= wanted_fills)

        stop = asyncio.Event()
        run = dry_run_task(config, account, console, on_fill=on_fill, stop_event=stop, on_watch=on_watch)
        try:
            async with asyncio.timeout(120):  # a bound on a hang: every wait below is on a condition
                for name, fake in fakes.items():
                    await fake.wait_for_subscription(STREAMS[name])
                await release(500, 0)
                await screen.synced.wait()  # the first account line: every book is synced
                # Each pair is taken on the first change after the one before it filled, and the fakes
                # stand still between changes: one heartbeat at a time, each awaited by its pair's fills.
                await release(1000, 2)  # OKX's bid over the others' asks: buy Binance, sell OKX
                await release(1100, 4)  # the band is full
                await release(2500, 6)  # OKX's bid gone, its ask under the others' bids: buy OKX, sell Bybit
                await release(2600, 8)  # Bybit's band is full (OKX is back where it started)
                await release(2700, 10)  # buy OKX, sell Binance, the next best bid
                await release(2800, 12)  # OKX's band is full: nothing more can be taken
                stop.set()
                result = await run
            body = _scrape(servers[0])  # the last snapshot, published as the run stopped
        except TimeoutError:
            legs = [(int(f["pair_id"]), config.venue_names[int(f["venue"])], int(f["side"]), float(f["price"]),
                     int(f["kind"])) for f in fills]  # fmt: skip
            pytest.fail(f"fills {legs}; the terminal said:\n{screen.getvalue()[-3000:]}")
        finally:
            run.cancel()
            for server in servers:
                server.stop()

    with (tmp_path / "paper" / "fills.csv").open() as f:
        rows = list(csv.DictReader(f))
    legs = [(r["pair_id"], r["venue"], r["side"]) for r in rows]
    assert sorted(legs) == [
        ("1", "binance", "buy"), ("1", "okx", "sell"), ("2", "binance", "buy"), ("2", "okx", "sell"),
        ("3", "bybit", "sell"), ("3", "okx", "buy"), ("4", "bybit", "sell"), ("4", "okx", "buy"),
        ("5", "binance", "sell"), ("5", "okx", "buy"), ("6", "binance", "sell"), ("6", "okx", "buy"),
    ]  # fmt: skip
    assert all(r["kind"] == "open" for r in rows)
    prices = {(r["venue"], r["side"]): float(r["price"]) for r in rows}
    assert prices == {("binance", "buy"): 60000.0, ("okx", "sell"): 60300.0, ("okx", "buy"): 59700.0,
                      ("bybit", "sell"): 59995.0, ("binance", "sell"): 59990.0}  # fmt: skip
    assert result.engine.kernel_state[0]["flags"] == 0  # no leg was left alone
    account.close()
    with PaperAccount.open(tmp_path / "paper", config) as final:
        assert final.position == [pytest.approx([0.0, -BAND, BAND])]
        base, _ = final.balances()
    assert base == [pytest.approx([1.0, 1.0 - BAND, 1.0 + BAND])]

    # the terminal's account line and the run's metrics name every venue
    last = screen.account_lines[-1]
    assert "positions +0 | -0.02 | +0.02" in last and "fills 12" in last, last
    assert "buy okx sell binance 0 (okx position)" in last and "buy bybit sell okx 4" in last, last
    assert set(_metric_by_venue(body, "arb_position")) == {"binance", "bybit", "okx"}
    assert _metric_by_venue(body, "arb_position") == {
        "binance": pytest.approx(0.0), "bybit": pytest.approx(-BAND), "okx": pytest.approx(BAND),
    }  # fmt: skip
    assert _metric_by_venue(body, "arb_fills_total") == {"binance": 4.0, "bybit": 2.0, "okx": 6.0}


def _scrape(server: OpsServer) -> str:
    with urllib.request.urlopen(server.url + "/metrics", timeout=60) as response:  # a bound on a hang
        body: str = response.read().decode()
    return body
