"""``/healthz`` and ``/readyz`` through a real dry run's life, asked over HTTP as a supervisor asks: the
real feeds against fake venues on 127.0.0.1, the real kernel and the paper executor, the ops server the
run starts per ``[ops]``.

Starting (nothing published yet: neither alive nor ready), alive with both books being built (not
ready), synced (ready), Bybit's stream stalled (alive, not ready: Bybit stale, Binance not named), Bybit
back (ready again), then a pair whose fees at the mids take it past ``[risk] max_drawdown`` (halted: not
ready, alive all the same, and ``arb status`` says so).

The market is paced on the venues' own clock: each plays its recording at the recorded pace, held at a
gate, so the spread that leads to the halt comes only once the earlier phases are seen, however slowly
the machine runs them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import shlex
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from arb.cli import main
from arb.config import AppConfig
from arb.errors import EXIT_NOT_RUNNING
from arb.execution.paper_account import PaperAccount
from arb.live.engine import Engine
from arb.live.session_loop import warm_up_kernel
from arb.ops.snapshot import OpsHub, Snapshot
from arb.ops.watch import Watch
from arb.recording.venues import make_normalizer
from arb.sim.binance.public import FakeBinanceVenue
from arb.sim.bybit.public import FakeBybitVenue
from tests.support.live_rig import dry_run_task, paper_pair_config
from tests.support.scenario_days import Book, Change, write_scenario

DAY = dt.date(2024, 5, 6)
START_NS = int(dt.datetime.combine(DAY, dt.time(0, 0, 1), tzinfo=dt.UTC).timestamp() * 1e9)
SPREAD_MS = 120_000  # Bybit's bid jumps above Binance's ask here: the pair that follows halts the account
WAIT_S = 60.0

Answer = tuple[int, dict[str, Any]]


def _recording(root: Path) -> tuple[Path, Path]:
    binance = Book(bids={59990.0: 2.0}, asks={60000.0: 2.0})
    bybit = Book(bids={59995.0: 2.0}, asks={60400.0: 2.0})
    changes = [Change(SPREAD_MS, "bybit", bids={60300.0: 1.0})]
    return write_scenario(root / "recordings", DAY, binance, bybit, changes, duration_ms=SPREAD_MS + 20_000,
                          heartbeat_ms=100)  # fmt: skip


def _config(tmp_path: Path, binance: FakeBinanceVenue, bybit: FakeBybitVenue) -> AppConfig:
    return paper_pair_config(tmp_path, binance, bybit, {
        "strategy": {"max_order_size": 0.01, "max_position_size": 0.03, "rebalance_threshold": 0.0},
        # a book 1.5 s without an update is stale (wall clock); one pair's fees at the mids (about
        # 1.75 USDT) are past the drawdown limit
        "risk": {"stale_after_ms": 1500, "max_drawdown": 0.5, "max_notional_per_venue": 1e9, "position_limit": 1.0},
        "dry_run": {"report_interval_s": 3600},
        "ops": {"enabled": True, "port": 0, "snapshot_ms": 100, "health_max_age_ms": 10_000},
        "alerts": {"enabled": False},
    })  # fmt: skip


def _get(url: str) -> Answer:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


async def _until(hub: OpsHub, url: str, holds: Callable[[int, dict[str, Any]], bool], what: str) -> Answer:
    """Ask ``url`` until its answer ``holds``: now, then once after each snapshot the run publishes to
    ``hub`` (what the server judges), at most ``WAIT_S``."""
    last: Answer = (0, {})
    try:
        async with asyncio.timeout(WAIT_S):
            while True:
                asked = hub.latest()  # the answer is of this snapshot or a newer one
                last = await asyncio.to_thread(_get, url)
                if holds(*last):
                    return last
                await _published_after(hub, asked)
    except TimeoutError:
        pytest.fail(f"{url} never answered {what}; last: {last}")


async def _published_after(hub: OpsHub, snapshot: Snapshot | None) -> None:
    """Return once ``hub`` holds a snapshot newer than ``snapshot``."""
    await hub.wait_until(lambda: hub.latest() is not snapshot)


def _reasons(body: dict[str, Any]) -> str:
    return " | ".join(body.get("reasons", []))


async def test_health_endpoints_through_a_dry_runs_life_starting_synced_stale_and_halted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    binance_file, bybit_file = _recording(tmp_path)
    async with (
        FakeBinanceVenue(binance_file, market="spot", tick_size="0.01", lot_size="0.00001") as binance,
        FakeBybitVenue(bybit_file, market="spot") as bybit,
    ):
        config = _config(tmp_path, binance, bybit)
        warm_up_kernel(config)  # compiled (or loaded from Numba's cache) before the clock matters
        Engine(config)
        for venue in config.venues:
            make_normalizer(venue.name, venue.market, config.strategy.symbol)
        account = PaperAccount.open(tmp_path / "paper", config)
        urls: list[str] = []
        hubs: list[OpsHub] = []
        at_start: list[tuple[Answer, Answer]] = []

        def on_watch(watch: Watch) -> None:
            assert watch.server is not None, "[ops] enabled on port 0: the run serves the health endpoints"
            urls.append(watch.server.url)
            hubs.append(watch.hub)
            # before the loop runs: nothing published yet (the loop is blocked here, the server is not)
            at_start.append((_get(watch.server.url + "/healthz"), _get(watch.server.url + "/readyz")))

        stop = asyncio.Event()
        console = Console(file=io.StringIO())
        run = dry_run_task(
            config, account, console, stop_event=stop, on_watch=lambda w: on_watch(w) if isinstance(w, Watch) else None
        )
        try:
            async with asyncio.timeout(WAIT_S):
                await binance.wait_for_subscription("btcusdt@depth@100ms")
                await bybit.wait_for_subscription("orderbook.50.BTCUSDT")
            base, hub = urls[0], hubs[0]
            # starting: neither alive nor ready
            (healthz, readyz) = at_start[0]
            assert healthz[0] == readyz[0] == 503 and healthz[1]["status"] == readyz[1]["status"] == "starting"

            # alive (the loop publishes), not ready: no market data yet, both books being built
            code, body = await _until(
                hub, base + "/readyz", lambda c, b: b["status"] == "not ready", "alive, not ready"
            )
            assert code == 503 and body["alive"] and body["mode"] == "dry-run" and body["journal"] == ""
            assert "binance BTCUSDT" in _reasons(body) and "bybit BTCUSDT" in _reasons(body)
            assert (await asyncio.to_thread(_get, base + "/healthz"))[0] == 200

            # the market, at its recorded pace on one clock, held just before the spread opens
            for fake in (binance, bybit):
                fake.play(1.0, origin_ns=START_NS, gate_ns=START_NS + (SPREAD_MS - 1) * 1_000_000)
            # synced: ready
            code, body = await _until(hub, base + "/readyz", lambda c, b: c == 200, "ready")
            assert body["status"] == "ready" and body["reasons"] == []
            assert [(b["venue"], b["state"]) for b in body["books"]] == [("binance", "ok"), ("bybit", "ok")]
            assert all(f["connected"] and f["synced"] and not f["stale"] for f in body["feeds"])

            # Bybit's stream stalls: alive, not ready, Bybit stale and Binance fine
            bybit.faults.stall()
            code, body = await _until(hub, base + "/readyz", lambda c, b: "bybit BTCUSDT: stale" in _reasons(b),
                                      "bybit stale")  # fmt: skip
            assert code == 503 and body["alive"] and "binance" not in _reasons(body)
            assert (await asyncio.to_thread(_get, base + "/healthz"))[0] == 200

            # Bybit back (its book resynced after what the stall lost): ready again
            bybit.faults.resume()
            await _until(hub, base + "/readyz", lambda c, b: c == 200, "ready after bybit came back")

            # the spread opens; the first pair's fees at the mids are past max_drawdown: halted
            for fake in (binance, bybit):
                await fake.skip_to(START_NS + (SPREAD_MS + 500) * 1_000_000)
                fake.gate(START_NS + (SPREAD_MS + 20_000) * 1_000_000)
            code, body = await _until(hub, base + "/readyz", lambda c, b: bool(b.get("halted")), "halted")
            assert code == 503 and body["alive"] and "[risk] max_drawdown" in body["halted"]
            assert f"halted: {body['halted']} (no new pair until a person clears it" in _reasons(body)
            assert (await asyncio.to_thread(_get, base + "/healthz"))[0] == 200  # a halt is no cause to restart

            # arb status says the same for a shell
            assert await asyncio.to_thread(main, ["status", "--url", base]) == 1
            printed = capsys.readouterr().out.splitlines()
            assert printed[0] == f"arb dry-run BTCUSDT at {base}: NOT READY"
            # the paper account's halt alone, in its folder, with the configuration the run was given
            lifts = shlex.join(["arb", "halt", "--paper", "--clear", "--state-dir", str(tmp_path / "paper"),
                                "--config", str(config.path)])  # fmt: skip
            assert f"  - halted: {body['halted']} (no new pair until a person clears it: {lifts})" in printed
            stop.set()
            result = await run
        finally:
            stop.set()
            run.cancel()
    assert result.engine.log.fills.n >= 2 and account.halt == body["halted"]  # kept for the next start
    assert await asyncio.to_thread(main, ["status", "--url", base, "--timeout", "2s"]) == EXIT_NOT_RUNNING  # ended
