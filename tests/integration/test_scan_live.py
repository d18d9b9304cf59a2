"""``arb scan --live`` end to end: the fake public Binance, Bybit and OKX on 127.0.0.1, three symbols each, the
venues' real feeds (one connection per venue), the live scan's window, and its ranking.

The books (prices of one decimal, as the scenarios write them) plant two spreads and nothing else: on ETHUSDT
OKX's bid stands 50 bps over Binance's ask (buy Binance, sell OKX: 30 bps after both 10 bps taker fees, 3 ETH
deep), on BTCUSDT Bybit's bid 30 bps over OKX's ask (10 bps net, 0.1 BTC deep); every other (symbol, ordered
pair) is below the fees. The feeds' clock is the
test's: it moves only when the test releases the recordings, so the figures are exact and a venue goes stale
only when the test moves the clock past ``stale_after`` without releasing its frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import io
import json
import math
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from arb.config import AppConfig, load_config
from arb.events import NS_PER_MS, NS_PER_S
from arb.scan.live import LiveScan, Ranking, run_live, scan_live, warm_up
from arb.scan.live_board import Board, ranking_table
from arb.sim.binance.public import FakeBinanceVenue
from arb.sim.bybit.public import FakeBybitVenue
from arb.sim.okx.public import FakeOkxVenue
from arb.testing.configs import local_endpoints, write_config_files
from arb.testing.scenarios import Book, write_venues
from arb.waiting import Conditions

DAY = dt.date(2024, 5, 6)
START_NS = int(dt.datetime.combine(DAY, dt.time(0, 0, 1), tzinfo=dt.UTC).timestamp()) * NS_PER_S
VENUES = ("binance", "bybit", "okx")
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
BOOKS = {
    "BTCUSDT": {
        "binance": Book(bids={60080.0: 1.0}, asks={60100.0: 1.0}),
        "bybit": Book(bids={60180.0: 0.1, 60000.0: 1.0}, asks={60190.0: 1.0}),
        "okx": Book(bids={59990.0: 1.0}, asks={60000.0: 0.1, 60300.0: 1.0}),
    },
    "ETHUSDT": {
        "binance": Book(bids={2999.0: 5.0}, asks={3000.0: 4.0, 3020.0: 5.0}),
        "bybit": Book(bids={3002.0: 5.0}, asks={3012.0: 5.0}),
        "okx": Book(bids={3015.0: 3.0, 2990.0: 5.0}, asks={3016.0: 5.0}),
    },
    "SOLUSDT": {
        "binance": Book(bids={149.9: 50.0}, asks={150.0: 50.0}),
        "bybit": Book(bids={149.8: 50.0}, asks={150.1: 50.0}),
        "okx": Book(bids={149.9: 50.0}, asks={150.2: 50.0}),
    },
}
FEE = 0.001
BEST = ("ETHUSDT", "binance", "okx")
SECOND = ("BTCUSDT", "okx", "bybit")
BEST_EDGE = 3 * (3015.0 * (1 - FEE) - 3000.0 * (1 + FEE))
SECOND_EDGE = 0.1 * (60180.0 * (1 - FEE) - 60000.0 * (1 + FEE))
STREAMS = {"binance": "{s}@depth@100ms", "bybit": "orderbook.50.{S}", "okx": "books:{base}-USDT"}


class _Clock:
    """The feeds' clock (int ns): set by the test, one microsecond later at every reading so that no two
    frames share a receive time."""

    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        self.now += 1_000
        return self.now


def _recordings(root: Path) -> dict[str, list[Path]]:
    # One session per symbol on each venue, 10 s long with a heartbeat every 100 ms.
    sessions: dict[str, list[Path]] = {v: [] for v in VENUES}
    for symbol, books in BOOKS.items():
        paths = write_venues(root, DAY, [(v, "spot", books[v]) for v in VENUES], [], duration_ms=10_000,
                             heartbeat_ms=100, symbol=symbol)  # fmt: skip
        for v in VENUES:
            sessions[v].append(paths[v])
    return sessions


def _config(tmp_path: Path, fakes: dict[str, Any], *, ops: bool = True) -> AppConfig:
    own = {"latency": {"order_entry_ms": 1.0, "order_response_ms": 1.0}, "fees": {"maker": FEE, "taker": FEE}}
    overrides = {f"{name}_overrides": {**own, **local_endpoints(fake.ws_urls, fake.rest_url)}
                 for name, fake in fakes.items()}  # fmt: skip
    arbitrage = {"strategy": {"venues": list(fakes)}, "ops": {"enabled": ops, "port": 0}}
    return load_config(write_config_files(tmp_path, arbitrage_overrides=arbitrage, **overrides))


def _stream(venue: str, symbol: str) -> str:
    return STREAMS[venue].format(s=symbol.lower(), S=symbol, base=symbol.removesuffix("USDT"))


def _get_page(url: str) -> tuple[str, dict[str, Any]]:
    # The ops server's scan page and its newest ranking (a blocking client, on a thread of its own).
    with (
        urllib.request.urlopen(url, timeout=10) as page,
        urllib.request.urlopen(url + "api/v1/scan", timeout=10) as api,
    ):
        return page.read().decode(), json.loads(api.read())


def _row(ranking: Ranking, key: tuple[str, str, str]) -> dict[str, Any]:
    (row,) = [r for r in ranking.rows if (r["symbol"], r["buy_venue"], r["sell_venue"]) == key]
    return row


async def test_the_live_scan_ranks_the_planted_spreads_and_reports_a_silent_venue_stale(tmp_path: Path) -> None:
    warm_up()  # compiled (or loaded from Numba's cache) before the conversation's timeouts
    sessions = _recordings(tmp_path / "recordings")
    clock = _Clock(START_NS)
    rankings: list[Ranking] = []
    refreshed = Conditions()
    scans: list[LiveScan] = []
    rows_seen: list[list[dict[str, Any]]] = []

    def on_ranking(ranking: Ranking) -> None:
        rankings.append(ranking)
        refreshed.notify()

    async def ranking_where(predicate: Any) -> Ranking:
        await refreshed.wait_until(lambda: bool(rankings) and predicate(rankings[-1]))
        return rankings[-1]

    async with contextlib.AsyncExitStack() as stack:
        fakes: dict[str, Any] = {
            "binance": await stack.enter_async_context(FakeBinanceVenue(sessions["binance"], market="spot")),
            "bybit": await stack.enter_async_context(FakeBybitVenue(sessions["bybit"], market="spot")),
            "okx": await stack.enter_async_context(FakeOkxVenue(sessions["okx"], market="spot")),
        }
        config = _config(tmp_path / "config", fakes)

        async def release(ms: int, venues: tuple[str, ...] = VENUES) -> None:
            # each venue's recordings up to ``ms`` after their start, received at the clock's ``ms``
            clock.now = max(clock.now, START_NS + ms * NS_PER_MS)
            for v in venues:
                await fakes[v].advance_until(START_NS + (ms + 10) * NS_PER_MS)  # lines are stamped 5 ms later

        stop = asyncio.Event()
        run = asyncio.create_task(scan_live(
            config, VENUES, SYMBOLS, threshold_bps=0.0, latency_ns=None, window_ns=60 * NS_PER_S,
            refresh_ns=20 * NS_PER_MS, duration_ns=None, depth_levels=5, size_base=1.0, on_rows=rows_seen.append,
            on_ranking=on_ranking, stop=stop, clock=clock, on_scan=scans.append,
        ))  # fmt: skip
        try:
            async with asyncio.timeout(120):  # a bound on a hang: every wait below is on a condition
                for v, fake in fakes.items():
                    for s in SYMBOLS:
                        await fake.wait_for_subscription(_stream(v, s))
                scan = scans[0]
                await release(100)
                await scan.wait_until(lambda: all(lane.status == "live" for lane in scan.lanes.values()))
                for ms in range(200, 1100, 100):
                    await release(ms)
                mark = clock.now
                ranked = await ranking_where(lambda r: r.end_ns > mark)

                # the silent venue: the clock passes OKX's stale_after while only the others send
                clock.now += 3 * NS_PER_S
                await release(1100, ("binance", "bybit"))

                def okx_stale(r: Ranking) -> bool:
                    return all(state == ("stale" if v == "okx" else "live") for (v, _), state in r.states.items())

                stale = await ranking_where(okx_stale)
                clock.now += NS_PER_S  # a second more, OKX still silent
                await release(1200, ("binance", "bybit"))
                mark = clock.now
                later = await ranking_where(lambda r: r.end_ns > mark and okx_stale(r))
                page, answer = await asyncio.to_thread(_get_page, scan.ops_url)
            stop.set()
            result = await run
        except TimeoutError:
            states = {k: (lane.status, lane.top) for k, lane in scans[0].lanes.items()} if scans else {}
            pytest.fail(f"{len(rankings)} refreshes; the venues' states: {states}")
        finally:
            run.cancel()
        for fake in fakes.values():
            await fake.wait_until(lambda fake=fake: not fake.connections)  # every connection closed by the scan
            assert len(fake.all_connections) == 1  # one connection carried the three symbols
        assert asyncio.all_tasks() == {asyncio.current_task()}  # every task of the scan awaited

    # the ranking, as planted: the two spreads first, exact to the depth they cross
    assert [(r["symbol"], r["buy_venue"], r["sell_venue"]) for r in ranked.rows[:2]] == [BEST, SECOND]
    assert len(ranked.rows) == 3 * 6
    best, second = ranked.rows[:2]
    assert best["episodes"] == 1 and best["crossable_base"] == pytest.approx(3.0)
    assert best["crossable_quote"] == pytest.approx(9000.0)
    assert best["edge_quote"] == pytest.approx(BEST_EDGE)
    assert best["capturable_quote_at_latency"] == pytest.approx(BEST_EDGE)
    # one order of 1 ETH takes a third of the 3 ETH crossable; BTC's 0.1 is under one order of 1
    assert best["size_base"] == 1.0
    assert best["capturable_quote_at_size"] == pytest.approx(BEST_EDGE / 3)
    assert second["capturable_quote_at_size"] == pytest.approx(SECOND_EDGE)
    assert best["net_bps_now"] == pytest.approx((3015 * (1 - FEE) - 3000 * (1 + FEE)) / 3000 * 1e4)
    assert best["share_above"] == 1.0 and best["latency_ms"] == 2.0 and best["seconds"] > 0.8
    assert second["edge_quote"] == pytest.approx(SECOND_EDGE) and second["crossable_base"] == pytest.approx(0.1)
    for row in ranked.rows[2:]:
        assert row["episodes"] == 0 and row["capturable_quote_at_latency"] == 0.0, str(row)
        assert row["share_above"] == 0.0 and row["edge_quote"] == 0.0
        assert row["net_bps_max"] < 0.0 and row["seconds"] > 0.8
        assert row["buy_state"] == row["sell_state"] == "live"
    assert rows_seen and all(len(rows) == 18 for rows in rows_seen)

    # OKX stopped sending: every row it is in says so, and its current edge is unknown, not a zero
    for row in stale.rows:
        with_okx = "okx" in (row["buy_venue"], row["sell_venue"])
        assert (row["buy_state"], row["sell_state"]) == (
            "stale" if row["buy_venue"] == "okx" else "live",
            "stale" if row["sell_venue"] == "okx" else "live",
        )
        assert math.isnan(row["net_bps_now"]) == with_okx, row
    held = _row(stale, BEST)
    assert held["episodes"] == 1 and held["edge_quote"] == pytest.approx(BEST_EDGE)  # the window keeps what it saw
    # its time counts until the feed calls it stale (a quiet book is not a wrong one), not a moment after
    assert _row(later, BEST)["seconds"] == held["seconds"]
    both_live = ("ETHUSDT", "binance", "bybit")
    assert _row(later, both_live)["seconds"] > _row(stale, both_live)["seconds"] + 0.9
    screen = io.StringIO()
    board = Board(VENUES, SYMBOLS, window_ns=60 * NS_PER_S, threshold_bps=0.0, console=Console(file=screen, width=300))
    assert board.plain  # not a terminal: plain lines
    board.show(stale)
    lines = screen.getvalue().splitlines()
    assert "now stale" in lines[1] and "[okx stale]" in lines[1], lines[1]
    assert lines[-1].startswith("not live: okx BTCUSDT stale")
    table = Console(file=io.StringIO(), width=300, record=True)
    table.print(ranking_table(stale, VENUES, 0.0))
    assert "okx stale" in table.export_text()

    # the ops server's page shows the same ranking, OKX's state in place of its edge (null, never 0)
    assert "/api/v1/scan" in page and "<table>" in page
    shown = answer["ranking"]
    assert [(r["symbol"], r["buy_venue"], r["sell_venue"]) for r in shown["rows"][:2]] == [BEST, SECOND]
    assert all(r["net_bps_now"] is None for r in shown["rows"] if "okx" in (r["buy_venue"], r["sell_venue"]))
    assert {(s["venue"], s["state"]) for s in shown["states"]} == {
        ("binance", "live"),
        ("bybit", "live"),
        ("okx", "stale"),
    }

    # the end: the last refresh after the feeds stopped, nothing left unsaid
    assert result.problems == [] and result.last is not None and result.refreshes == len(rankings)


async def test_run_live_ends_at_its_duration_and_exits_1_when_a_venue_sent_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sessions = _recordings(tmp_path / "recordings")
    rows_seen: list[list[dict[str, Any]]] = []
    async with (
        FakeBinanceVenue(sessions["binance"][:1], market="spot") as binance,
        FakeBybitVenue(sessions["bybit"][:1], market="spot") as bybit,
    ):
        config = _config(tmp_path / "config", {"binance": binance, "bybit": bybit}, ops=False)
        # the command's own loop on a thread (as `arb scan --live -q` runs it); the fakes release nothing
        rc = await asyncio.to_thread(
            run_live, config, ["binance", "bybit"], ["BTCUSDT"], threshold_bps=0.0, latency_ns=None,
            window_ns=60 * NS_PER_S, refresh_ns=50 * NS_PER_MS, duration_ns=300 * NS_PER_MS,
            on_rows=rows_seen.append, quiet=True,
        )  # fmt: skip
        for fake in (binance, bybit):
            await fake.wait_until(lambda fake=fake: not fake.connections)
    assert rc == 1  # no venue sent market data: said, not hidden
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("arb scan --live binance bybit: 2 pairs")
    assert rows_seen and all(len(rows) == 2 for rows in rows_seen)
    last = rows_seen[-1]
    assert all(math.isnan(r["edge_quote"]) and r["seconds"] == 0.0 for r in last)  # nothing known: no figure
    assert {r["buy_state"] for r in last} <= {"no data", "syncing"}
    assert out[-1].startswith("not live: binance BTCUSDT")
