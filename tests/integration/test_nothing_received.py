"""``arb record`` and ``arb dry-run --live-data`` say when they got nothing: a venue that never
connected (here: a closed port on 127.0.0.1) or a run that recorded no line exits non-zero naming
the venue and why; the reconnect counter counts attempts; the start banner names the network and
the URLs in use."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from arb.cli import main
from arb.sim.binance.public import FakeBinanceVenue
from arb.sim.options import VenueOptions
from arb.testing.configs import local_endpoints, write_config_files
from connectors.binance.feed import BinanceFeed
from tests.support.captures import SPOT_BTC_HEAD
from tests.support.feed_rig import TIMEOUT_S, Sleeps, no_backoff, recording, running, venue_config


def _closed_port() -> int:
    # A port on 127.0.0.1 that nothing listens on: every connection attempt is refused.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def _refused(market: str = "spot") -> dict[str, object]:
    port = _closed_port()
    return local_endpoints(f"ws://127.0.0.1:{port}/stream", f"http://127.0.0.1:{port}", market=market)


async def test_the_reconnect_counter_counts_attempts_that_never_connected(tmp_path: Path) -> None:
    port = _closed_port()
    url = f"ws://127.0.0.1:{port}/stream"
    config = venue_config(tmp_path, "binance", [url], f"http://127.0.0.1:{port}", market="spot")
    sleeps = Sleeps()
    sleeps.gate.clear()  # each backoff waits for the test
    feed = BinanceFeed(config, ["BTCUSDT"], sleep=sleeps, backoff=no_backoff, health_interval_ns=None)
    async with asyncio.timeout(TIMEOUT_S), running(feed):
        for n in (1, 2, 3):
            await sleeps.wait_calls(n)
            assert (feed.stats.attempts, feed.stats.reconnects, feed.stats.connects) == (n, n - 1, 0)
            sleeps.gate.set()
            sleeps.gate.clear()
        why = feed.silence()
    assert why is not None and why.startswith(f"binance spot never connected (3 attempts; last: {url}: ")
    assert "refused" in why.lower() or "connect call failed" in why.lower()


async def test_record_names_the_venue_that_never_connected(tmp_path: Path) -> None:
    sleeps = Sleeps()
    sleeps.gate.clear()  # Bybit's first backoff waits until the end of the test
    stop = asyncio.Event()
    lines: list[str] = []
    async with (
        asyncio.timeout(TIMEOUT_S),
        FakeBinanceVenue(SPOT_BTC_HEAD, options=VenueOptions(max_frames=200)) as binance,
    ):
        bybit = _refused()
        path = write_config_files(
            tmp_path / "config",
            binance_overrides=local_endpoints(binance.ws_urls, binance.rest_url),
            bybit_overrides=bybit,
        )
        task = recording(path, tmp_path / "out", stop, sleeps, status=lines.append)
        await binance.wait_for_subscription("btcusdt@depth@100ms")
        await binance.drain()
        await binance.wait_for_rest_requests(1)
        await sleeps.wait_calls(1)  # Bybit was refused once
        stop.set()
        report = await task
    assert report.lines > 0
    [problem] = report.problems()
    endpoints = bybit["endpoints"]["spot"]["local"]  # type: ignore[index]
    assert problem.startswith(f"bybit spot never connected (1 attempt; last: {endpoints['ws'][0]}: ")
    assert f"  bybit spot: market data from local ({endpoints['ws'][0]}, REST {endpoints['rest']}); no orders" in lines


def test_arb_record_that_recorded_nothing_exits_1_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config_files(tmp_path / "config", binance_overrides=_refused(), bybit_overrides=_refused())
    code = main(["record", "--config", str(path), "--out", str(tmp_path / "out"), "--duration", "0.2s"])
    out, err = capsys.readouterr()
    assert code == 1
    [line] = err.strip().splitlines()[-1:]
    assert line.startswith("arb record: binance spot never connected (")
    assert "; bybit spot never connected (" in line and line.endswith("; no line was recorded")
    assert "spot: market data from local (ws://127.0.0.1:" in out  # the banner said where it tried
    assert not list((tmp_path / "out").rglob("*.gz"))


def test_a_live_dry_run_whose_venues_never_connected_exits_1_naming_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    binance, bybit = _refused(), _refused()
    path = write_config_files(tmp_path / "config", binance_overrides=binance, bybit_overrides=bybit)
    argv = ["dry-run", "--live-data", "--config", str(path), "--duration", "0.2s"]
    code = main([*argv, "--state-dir", str(tmp_path / "paper"), "--out", str(tmp_path / "report")])
    err = capsys.readouterr().err
    assert code == 1
    for venue, overrides in (("binance", binance), ("bybit", bybit)):
        endpoints = overrides["endpoints"]["spot"]["local"]  # type: ignore[index]
        # the banner: network and URLs in use
        assert (
            f"{venue} spot: market data from local ({endpoints['ws'][0]}, REST {endpoints['rest']}); no orders" in err
        )
        assert f"arb dry-run: {venue} spot never connected (" in err
    assert "no market data reached every venue's book" in err
    assert not (tmp_path / "report").exists()
    # the account line at the end: no price reached the books, so no equity (before: the 0.05 BTC each
    # venue holds valued at 0, "equity 10,000.00")
    (line,) = [line for line in err.splitlines() if " UTC] " in line]
    assert "cash 5,000.00 | 5,000.00 USDT  holdings 0.05 | 0.05 BTC" in line
    assert "equity ?" in line and "equity 10,000.00" not in line
