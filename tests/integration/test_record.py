"""Recording: the recorder's files, a round trip through the fake venues, and ``arb record`` itself.

The round trip records what the real feed received from the fake venue replaying a real capture,
converts that recording with ``convert_files`` and compares it with the conversion of the capture
itself: the same book at every update id and the same trades. (The venue serves the REST snapshot
from its own book, so the rows around the snapshot need not be byte-equal; the books must be.)
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from arb.cli.record import add_parser
from arb.command_line import parse_duration
from arb.config import AppConfig, load_config
from arb.errors import FeedError, RecordingError
from arb.events import NS_PER_MS, NS_PER_S
from arb.live.record import record
from arb.recording.convert import convert_files
from arb.recording.recorder import Recorder, recording_path
from arb.sim.binance.public import FakeBinanceVenue
from arb.sim.bybit.public import FakeBybitVenue
from arb.sim.options import VenueOptions
from arb.testing.configs import local_endpoints, write_config_files
from connectors.binance.feed import BinanceFeed
from connectors.bybit.feed import BybitFeed
from connectors.common.record_files import LineReader, format_line
from tests.integration.test_feeds_bybit import SPOT_SAMPLE
from tests.support.captures import BYBIT_OB500, ROOT, SPOT_BTC_HEAD
from tests.support.feed_rig import (
    TIMEOUT_S,
    Sleeps,
    no_backoff,
    prefixed_copy,
    reference_books,
    running,
    sent,
    trades,
    venue_config,
)

DAY_NS = 86_400 * NS_PER_S
MIDNIGHT = 1_723_161_600 * NS_PER_S  # 2024-08-09 00:00:00 UTC
ALL_LEVELS = 100_000


def lines_of(path: Path) -> tuple[list[tuple[int, bytes]], Any]:
    reader = LineReader(path)
    return list(reader), reader.report


class Ticks:
    """A monotonic clock for the recorder's flush interval, moved by hand (int ns)."""

    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


# -- the recorder -----------------------------------------------------------------------------------


def test_files_are_per_venue_market_symbol_and_utc_day_of_the_receive_time(tmp_path: Path) -> None:
    frames = [
        ("binance", "spot", "BTCUSDT", MIDNIGHT - 2, b'{"stream":"btcusdt@trade","data":{"t":1}}'),
        ("bybit", "linear", "BTCUSDT", MIDNIGHT - 1, b'{"topic":"publicTrade.BTCUSDT","data":[]}'),
        ("binance", "spot", "BTCUSDT", MIDNIGHT, b'{"stream":"btcusdt@trade","data":{"t":2}}'),
        ("binance", "spot", "ETHUSDT", MIDNIGHT + 5, b'{"lastUpdateId":1,"bids":[],"asks":[]}'),
        ("binance", "spot", "BTCUSDT", MIDNIGHT + DAY_NS - 1, b'{"stream":"btcusdt@trade","data":{"t":3}}'),
    ]
    with Recorder(tmp_path) as recorder:
        for frame in frames:
            recorder.write(*frame)
    names = sorted(str(p.relative_to(tmp_path)) for p in recorder.paths)
    assert names == [
        "binance_spot/btcusdt_20240808.gz",
        "binance_spot/btcusdt_20240809.gz",
        "binance_spot/ethusdt_20240809.gz",
        "bybit_linear/btcusdt_20240808.gz",
    ]
    read, report = lines_of(tmp_path / "binance_spot" / "btcusdt_20240809.gz")
    assert read == [(MIDNIGHT, frames[2][4]), (MIDNIGHT + DAY_NS - 1, frames[4][4])]
    assert not report.truncated and report.bad_lines == 0
    assert recorder.stats.lines == 5 and recorder.stats.files_opened == 4
    assert recorder.bytes_written == sum(p.stat().st_size for p in recorder.paths)
    assert recording_path(tmp_path, "bybit", "linear", "XRPUSDT", MIDNIGHT).name == "xrpusdt_20240809.gz"


def test_lines_reach_the_disk_within_the_flush_interval_and_stay_readable(tmp_path: Path) -> None:
    ticks = Ticks()
    recorder = Recorder(tmp_path, monotonic=ticks)
    path = recording_path(tmp_path, "binance", "spot", "BTCUSDT", MIDNIGHT)
    payloads = [b'{"stream":"btcusdt@trade","data":{"t":%d}}' % i for i in range(5)]
    for i, payload in enumerate(payloads[:3]):
        recorder.write("binance", "spot", "BTCUSDT", MIDNIGHT + i, payload)
    assert lines_of(path)[0] == []  # buffered for less than a second
    ticks.now = NS_PER_S
    recorder.write("binance", "spot", "BTCUSDT", MIDNIGHT + 3, payloads[3])  # a second passed: flushed
    read, report = lines_of(path)  # the file is still open, as after a crash
    assert [p for _, p in read] == payloads[:4]
    assert report.truncated and report.lost_tail_bytes == 0
    recorder.write("binance", "spot", "BTCUSDT", MIDNIGHT + 4, payloads[4])
    recorder.flush()
    assert [p for _, p in lines_of(path)[0]] == payloads
    recorder.close()
    recorder.close()
    read, report = lines_of(path)
    assert [p for _, p in read] == payloads and not report.truncated
    with pytest.raises(RecordingError, match="closed"):
        recorder.write("binance", "spot", "BTCUSDT", MIDNIGHT, b"{}")


def test_a_second_session_appends_a_gzip_member(tmp_path: Path) -> None:
    for n in range(2):
        with Recorder(tmp_path) as recorder:
            recorder.write("bybit", "spot", "BTCUSDT", MIDNIGHT + n, b'{"op":"pong","n":%d}' % n)
    path = recorder.paths[0]
    assert [p for _, p in lines_of(path)[0]] == [b'{"op":"pong","n":0}', b'{"op":"pong","n":1}']
    assert gzip.decompress(path.read_bytes()).count(b"\n") == 2


def test_a_folder_that_cannot_be_written_is_a_recording_error(tmp_path: Path) -> None:
    blocker = tmp_path / "binance_spot"
    blocker.write_text("not a folder")
    with Recorder(tmp_path) as recorder, pytest.raises(RecordingError, match=r"binance_spot.*cannot write"):
        recorder.write("binance", "spot", "BTCUSDT", MIDNIGHT, b"{}")


def test_the_files_are_standard_gzip_whatever_the_flushes(tmp_path: Path) -> None:
    lines = list(LineReader(SPOT_BTC_HEAD))
    with Recorder(tmp_path, block_bytes=4096) as recorder:
        for i, (ts, payload) in enumerate(lines):
            recorder.write("binance", "spot", "BTCUSDT", ts, payload)
            if i % 700 == 0:
                recorder.flush()
    [path] = recorder.paths
    assert gzip.decompress(path.read_bytes()) == b"".join(format_line(ts, p) for ts, p in lines)
    assert list(LineReader(path)) == lines


# -- round trips through the real feeds -------------------------------------------------------------


async def test_binance_round_trip_loses_nothing(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "rec")
    async with asyncio.timeout(TIMEOUT_S), FakeBinanceVenue(SPOT_BTC_HEAD) as venue:
        config = venue_config(tmp_path, "binance", venue.ws_urls, venue.rest_url, market="spot")
        feed = BinanceFeed(config, ["BTCUSDT"], recorder=recorder, sleep=Sleeps(), health_interval_ns=None)
        async with running(feed):
            await venue.wait_for_subscription("btcusdt@depth@100ms")
            await venue.advance(3)
            await feed.wait_until(lambda: feed.normalizers["BTCUSDT"].stats.snapshots == 1)
            await venue.drain()
            await feed.wait_until(lambda: feed.stats.frames >= sent(venue))
    recorder.close()
    [path] = recorder.paths
    assert path.parent.name == "binance_spot" and path.name.startswith("btcusdt_")
    assert sum(1 for _ in LineReader(path)) == 3000  # 2999 frames and the REST snapshot
    recorded = convert_files([path], with_eod=False).rows
    source = convert_files([SPOT_BTC_HEAD], with_eod=False).rows
    assert reference_books(recorded, ALL_LEVELS) == reference_books(source, ALL_LEVELS)
    assert trades(recorded) == trades(source)


async def test_bybit_round_trip_loses_nothing(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "rec")
    async with asyncio.timeout(TIMEOUT_S), FakeBybitVenue(BYBIT_OB500, market="linear") as venue:
        config = venue_config(
            tmp_path, "bybit", venue.ws_urls, venue.rest_url, market="linear", feed={"depth_stream": "orderbook.500"}
        )
        feed = BybitFeed(config, ["XRPUSDT"], recorder=recorder, sleep=Sleeps(), health_interval_ns=None)
        normalizer = feed.normalizers["XRPUSDT"]
        async with running(feed):
            await venue.wait_for_subscription("orderbook.500.XRPUSDT")
            await venue.drain()
            await feed.wait_until(lambda: normalizer.stats.depth_messages >= 50)
    recorder.close()
    [path] = recorder.paths
    assert path.parent.name == "bybit_linear"
    read = [p for _, p in LineReader(path)]
    assert len(read) == 51 and b'"op":"subscribe"' in read[0]  # the ack, then every frame as sent
    assert read[1:] == [line for line in BYBIT_OB500.read_bytes().splitlines() if line.strip()]
    recorded = convert_files([path], venue="bybit", market="linear", with_eod=False).rows
    source = convert_files([prefixed_copy(BYBIT_OB500, tmp_path / "src.gz")], venue="bybit", with_eod=False).rows
    assert reference_books(recorded, ALL_LEVELS) == reference_books(source, ALL_LEVELS)


# -- arb record -------------------------------------------------------------------------------------


@asynccontextmanager
async def two_venues(tmp_path: Path, bybit_symbols: tuple[str, ...] = ()) -> AsyncIterator[tuple[Any, Any, Path]]:
    """A fake Binance (spot BTCUSDT capture) and Bybit (spot BTCUSDT sample) and a config for both."""
    async with (
        FakeBinanceVenue(SPOT_BTC_HEAD, options=VenueOptions(max_frames=1500)) as binance,
        FakeBybitVenue(
            SPOT_SAMPLE, market="spot", symbols=bybit_symbols, options=VenueOptions(max_frames=600)
        ) as bybit,
    ):
        path = write_config_files(
            tmp_path / "config",
            binance_overrides=local_endpoints(binance.ws_urls, binance.rest_url),
            bybit_overrides=local_endpoints(bybit.ws_urls, bybit.rest_url),
        )
        yield binance, bybit, path


async def test_record_writes_both_venues_prints_status_and_stops_cleanly(tmp_path: Path) -> None:
    statuses: list[str] = []
    got_status = asyncio.Event()

    def status(line: str) -> None:
        statuses.append(line)
        if "msg/s" in line:
            got_status.set()

    stop = asyncio.Event()
    async with asyncio.timeout(TIMEOUT_S), two_venues(tmp_path) as (binance, bybit, path):
        config: AppConfig = load_config(path)
        task = asyncio.create_task(
            record(
                config,
                symbols=["btcusdt"],
                duration_ns=None,
                out_dir=tmp_path / "out",
                status_interval_ns=20 * NS_PER_MS,
                status=status,
                stop=stop,
                feed_options={"sleep": Sleeps(), "backoff": no_backoff},
            )
        )
        await binance.wait_for_subscription("btcusdt@depth@100ms")
        await bybit.wait_for_subscription("orderbook.50.BTCUSDT")
        await asyncio.gather(binance.drain(), bybit.drain())
        await binance.wait_for_rest_requests(1)
        await got_status.wait()
        stop.set()
        report = await task
    assert sorted(p.parent.name for p in report.files) == ["binance_spot", "bybit_spot"]
    assert all(p.name.startswith("btcusdt_") and p.parent.parent == tmp_path / "out" for p in report.files)
    assert report.interrupted
    for file in report.files:
        read, reader_report = lines_of(file)
        assert read and not reader_report.truncated  # closed cleanly
    assert report.lines == sum(1 for f in report.files for _ in LineReader(f))
    by_venue = {v.venue: v for v in report.venues}
    assert by_venue["binance"].messages > 0 and by_venue["bybit"].messages > 0
    assert by_venue["binance"].snapshots == 1 and by_venue["binance"].gaps == 0
    # the banner names each venue's network and URLs, then the status lines follow
    assert statuses[0].startswith("recording BTCUSDT into ")
    assert (
        statuses[1]
        == f"  binance spot: market data from local ({binance.ws_urls[0]}, REST {binance.rest_url}); no orders"
    )
    assert statuses[2] == f"  bybit spot: market data from local ({bybit.ws_urls[0]}, REST {bybit.rest_url}); no orders"
    ticks = [line for line in statuses if "msg/s" in line]
    assert "binance" in ticks[0] and "bybit" in ticks[0]
    summary = report.summary()
    assert "recording stopped" in summary and "binance spot BTCUSDT" in summary


async def test_record_raises_a_fatal_feed_error_after_closing_every_file(tmp_path: Path) -> None:
    async with asyncio.timeout(TIMEOUT_S), two_venues(tmp_path) as (binance, _, path):
        config = load_config(path)
        task = asyncio.create_task(
            record(
                config,
                symbols=["BTCUSDT", "ETHUSDT"],  # the fake Bybit knows no ETHUSDT: subscription rejected
                duration_ns=None,
                out_dir=tmp_path / "out",
                status_interval_ns=None,
                feed_options={"sleep": Sleeps()},
            )
        )
        with pytest.raises(FeedError, match="subscribe rejected") as raised:
            await task
        assert not raised.value.retryable
        await binance.wait_for_disconnects(1)
    for file in (tmp_path / "out").rglob("*.gz"):
        assert not lines_of(file)[1].truncated


async def test_record_stops_after_the_duration(tmp_path: Path) -> None:
    async with asyncio.timeout(TIMEOUT_S), two_venues(tmp_path) as (_, _, path):
        report = await record(
            load_config(path),
            symbols=["BTCUSDT"],
            duration_ns=50 * NS_PER_MS,
            out_dir=tmp_path / "out",
            status_interval_ns=None,
        )
    assert not report.interrupted and report.elapsed_ns >= 50 * NS_PER_MS


def test_durations_and_arguments() -> None:
    assert parse_duration("10m") == 600 * NS_PER_S
    assert parse_duration("1.5h") == 5400 * NS_PER_S
    assert parse_duration("90") == parse_duration("90s") == 90 * NS_PER_S
    assert parse_duration("250ms") == 250 * NS_PER_MS
    for bad in ("", "10x", "-1s", "0s", "m"):
        with pytest.raises(ValueError, match="duration"):
            parse_duration(bad)
    parser = argparse.ArgumentParser(prog="arb")
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["record", "--symbols", "BTCUSDT", "ETHUSDT", "--duration", "10m", "--out", "x"])
    assert (args.symbols, args.duration, args.out, args.config) == (
        ["BTCUSDT", "ETHUSDT"],
        600 * NS_PER_S,
        Path("x"),
        None,
    )
    assert args.run.__name__ == "main"
    with pytest.raises(SystemExit):
        parser.parse_args(["record", "--duration", "soon"])


async def test_sigterm_flushes_and_closes_every_file_and_exits_0(tmp_path: Path) -> None:
    async with asyncio.timeout(3 * TIMEOUT_S), two_venues(tmp_path) as (binance, bybit, path):
        out = tmp_path / "out"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "arb.cli",
            "record",
            "--config",
            str(path),
            "--out",
            str(out),
            "--status-every",
            "1h",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            cwd=tmp_path,
        )
        try:
            await binance.wait_for_subscription("btcusdt@depth@100ms")
            await bybit.wait_for_subscription("orderbook.50.BTCUSDT")
            await binance.advance(20)
            await bybit.advance(20)
            await binance.wait_for_rest_requests(1)  # it read the first diff and asked for the snapshot
            process.send_signal(signal.SIGTERM)
            stdout, stderr = await process.communicate()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert process.returncode == 0, stderr.decode()
    assert b"recording stopped" in stdout and b"SIGTERM" in stderr
    files = sorted(out.rglob("*.gz"))
    assert [f.parent.name for f in files] == ["binance_spot", "bybit_spot"]
    for file in files:
        read, report = lines_of(file)
        assert read and not report.truncated
    binance_lines = [p for _, p in LineReader(files[0])]
    assert binance_lines[0].startswith(b'{"stream":"btcusdt@depth@100ms"')


def test_symbols_are_grouped_into_as_few_connections_as_the_limits_allow() -> None:
    from connectors.common.feed_parts import connection_groups

    streams = {"AUSDT": ["a1", "a2", "a3"], "BUSDT": ["b1", "b2", "b3"], "CUSDT": ["c1", "c2", "c3"]}
    names = list(streams)
    assert connection_groups(names, streams.__getitem__, 1024, None) == [names]
    assert connection_groups(names, streams.__getitem__, 6, None) == [["AUSDT", "BUSDT"], ["CUSDT"]]
    assert connection_groups(names, streams.__getitem__, 2, None) == [[n] for n in names]  # never split a symbol
    assert connection_groups(names, streams.__getitem__, 1024, 9) == [["AUSDT"], ["BUSDT"], ["CUSDT"]]  # 3 x "a1/"


async def test_record_opens_another_connection_when_the_symbols_do_not_fit_one(
    tmp_path: Path, two_symbols: Path
) -> None:
    """Two symbols, a cap of three streams a connection: each venue opens one connection per symbol, each
    subscribed to its own symbol's streams only, and both symbols are recorded from both venues."""
    binance_files = [SPOT_BTC_HEAD, ROOT / "tests" / "fixtures" / "binance_spot_ethusdt_20240808_head2000.gz"]
    bybit_files = [two_symbols / "bybit_spot" / f"{s}_20240808.gz" for s in ("btcusdt", "ethusdt")]
    cap = {"feed": {"max_streams_per_connection": 3}}
    async with (
        asyncio.timeout(TIMEOUT_S),
        FakeBinanceVenue(binance_files, options=VenueOptions(max_frames=1500)) as binance,
        FakeBybitVenue(bybit_files, market="spot", options=VenueOptions(max_frames=1200)) as bybit,
    ):
        path = write_config_files(
            tmp_path / "config",
            binance_overrides={**local_endpoints(binance.ws_urls, binance.rest_url), **cap},
            bybit_overrides={**local_endpoints(bybit.ws_urls, bybit.rest_url), **cap},
        )
        stop = asyncio.Event()
        task = asyncio.create_task(
            record(load_config(path), symbols=["BTCUSDT", "ETHUSDT"], duration_ns=None, out_dir=tmp_path / "out",
                   status_interval_ns=None, stop=stop, feed_options={"sleep": Sleeps(), "backoff": no_backoff})
        )  # fmt: skip
        for stream in ("btcusdt@depth@100ms", "ethusdt@depth@100ms"):
            await binance.wait_for_subscription(stream)
        for topic in ("orderbook.50.BTCUSDT", "orderbook.50.ETHUSDT"):
            await bybit.wait_for_subscription(topic)
        await asyncio.gather(binance.drain(), bybit.drain())
        await binance.wait_for_rest_requests(2)  # a snapshot for each symbol's book
        stop.set()
        report = await task
        for venue in (binance, bybit):
            assert len(venue.all_connections) == 2
            owners = [{s.split("@")[0].split(".")[-1].upper() for s in c.subscriptions} for c in venue.all_connections]
            assert sorted(map(sorted, owners)) == [["BTCUSDT"], ["ETHUSDT"]]
    for venue in ("binance_spot", "bybit_spot"):  # one file per symbol (of today: the recorder's clock)
        assert sorted(p.name.split("_")[0] for p in report.files if p.parent.name == venue) == ["btcusdt", "ethusdt"]
    assert len(report.venues) == 4 and all(v.messages > 0 for v in report.venues)


async def test_record_on_the_shipped_networks_reads_the_data_network_never_the_orders_one(tmp_path: Path) -> None:
    # the shipped venue files' networks (orders: testnet, market data: mainnet), each network's table
    # pointed at its own fake venue: the recording reads mainnet's, testnet's is never dialled
    async with (
        asyncio.timeout(TIMEOUT_S),
        two_venues(tmp_path) as (binance, bybit, _),
        FakeBinanceVenue(SPOT_BTC_HEAD, options=VenueOptions(max_frames=10)) as binance_testnet,
        FakeBybitVenue(SPOT_SAMPLE, market="spot", options=VenueOptions(max_frames=10)) as bybit_testnet,
    ):

        def tables(real: Any, testnet: Any) -> dict[str, Any]:
            return {"endpoints": {"spot": {"mainnet": {"ws": real.ws_urls, "rest": real.rest_url},
                                           "testnet": {"ws": testnet.ws_urls, "rest": testnet.rest_url}}}}  # fmt: skip

        path = write_config_files(tmp_path / "shipped", binance_overrides=tables(binance, binance_testnet),
                                  bybit_overrides=tables(bybit, bybit_testnet))  # fmt: skip
        config = load_config(path)
        assert [(v.network, v.data_network) for v in config.venues] == [("testnet", "mainnet")] * 2
        statuses: list[str] = []
        stop = asyncio.Event()
        task = asyncio.create_task(
            record(config, symbols=["BTCUSDT"], duration_ns=None, out_dir=tmp_path / "out", status_interval_ns=None,
                   status=statuses.append, stop=stop, feed_options={"sleep": Sleeps(), "backoff": no_backoff})
        )  # fmt: skip
        await binance.wait_for_subscription("btcusdt@depth@100ms")
        await bybit.wait_for_subscription("orderbook.50.BTCUSDT")
        stop.set()
        await task
    assert binance_testnet.stats.connections_accepted == bybit_testnet.stats.connections_accepted == 0
    assert binance_testnet.stats.rest_requests == []
    assert (
        statuses[1]
        == f"  binance spot: market data from mainnet ({binance.ws_urls[0]}, REST {binance.rest_url}); no orders"
    )
    assert (
        statuses[2] == f"  bybit spot: market data from mainnet ({bybit.ws_urls[0]}, REST {bybit.rest_url}); no orders"
    )
