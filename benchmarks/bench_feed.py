"""Live-feed speed: a real capture through feed + normalizer + recorder on loopback, flat out.

The fake venue replays the capture as fast as the socket takes it (``play("max")``) to the real feed,
which stamps each frame, records it (gzip, to a temporary folder), normalizes it and publishes the
rows on a bounded queue that a consumer task drains. Printed, per venue:

- messages/s through the whole pipeline, beside the same replay to a bare ``websockets`` client
  that only receives (what the venue and loopback deliver: the ceiling for any client);
- per message, from the feed's own timing hook: ``normalize`` = ``on_message`` + ``sink.take()``,
  and ``receipt->rows`` = from the frame's receive stamp to its rows (recording included), p50 and
  p99 (and p99.9, max), for depth messages and for all; ``recording`` = the recorder's ``write``
  for the same frames (it deflates a 16 KiB block inline whenever one fills); ``receipt->rows, no
  recording`` = the same replay to a feed without a recorder; beside the same normalizer on the same
  payloads offline (no socket, no event loop);
- the recorder alone: lines/s and MB/s of gzip output for the capture, and how many times the
  capture's own recorded message rate that is (the headroom for several full-rate symbols).

Targets: p99 of ``normalize`` and of ``receipt->rows`` under 50 us per depth message. The figures go
to docs/feeds.md and docs/performance.md; nothing asserts on them.

    python benchmarks/bench_feed.py [--venue binance|bybit|both] [--binance-file PATH ...] [--bybit-file PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from machine import run_benchmark
from websockets.asyncio.client import connect

from arb.config import load_config
from arb.recording.recorder import Recorder
from arb.recording.venues import make_normalizer
from arb.sim.binance.public import FakeBinanceVenue
from arb.sim.binance.symbols import BinanceMarket
from arb.sim.bybit.public import FakeBybitVenue
from arb.sim.options import VenueOptions
from arb.testing.configs import local_endpoints, write_config_files
from connectors.binance.feed import BinanceFeed
from connectors.bybit.feed import BybitFeed
from connectors.common.feed import MarketDataFeed
from connectors.common.feed_parts import FeedBatch
from connectors.common.record_files import LineReader

ROOT = Path(__file__).resolve().parent.parent
BINANCE_FILES = (
    ROOT / "recordings" / "binance_spot" / "btcusdt_20240808.gz",  # spot depth@100ms, the default stream
    ROOT / "tests" / "fixtures" / "binance_usdm_btcusdt_20240808.gz",  # USD-M depth@0ms: the heaviest
)
BYBIT_FILE = ROOT / "recordings" / "bybit_spot" / "btcusdt_20240808.gz"
QUEUE_SIZE = 4096


class TimedRecorder(Recorder):
    """A Recorder that keeps how long each ``write`` (the part before the rows) and each ``settle``
    (after the rows are published) took (ns), in call order."""

    def __init__(self, out_dir: Path) -> None:
        super().__init__(out_dir)
        self.write_ns: list[int] = []
        self.settle_ns: list[int] = []

    def write(
        self, venue: str, market: str, symbol: str, local_ts: int, payload: bytes, *, settle: bool = True
    ) -> None:
        started = time.perf_counter_ns()
        super().write(venue, market, symbol, local_ts, payload, settle=settle)
        self.write_ns.append(time.perf_counter_ns() - started)

    def settle(self) -> None:
        started = time.perf_counter_ns()
        super().settle()
        self.settle_ns.append(time.perf_counter_ns() - started)


class Timings:
    """Collects the feed's per-frame timing hook into arrays (ns)."""

    def __init__(self) -> None:
        self.depth: list[bool] = []
        self.to_rows: list[int] = []
        self.normalize: list[int] = []

    def __call__(self, is_depth: bool, receipt_to_rows_ns: int, normalize_ns: int) -> None:
        self.depth.append(is_depth)
        self.to_rows.append(receipt_to_rows_ns)
        self.normalize.append(normalize_ns)


def _pct(values: Any) -> str:
    a = np.asarray(values, dtype=np.float64) / 1000.0
    if not len(a):
        return "n/a"
    p50, p99, p999 = np.percentile(a, [50, 99, 99.9])
    return f"p50 {p50:7.1f}  p99 {p99:7.1f}  p99.9 {p999:7.1f}  max {a.max():8.1f} us  (n={len(a):,})"


def _capture(path: Path) -> tuple[list[tuple[int, bytes]], float]:
    lines = list(LineReader(path))
    span_s = (lines[-1][0] - lines[0][0]) / 1e9 if len(lines) > 1 else 1.0
    return lines, span_s


async def _consume(queue: asyncio.Queue[FeedBatch]) -> None:
    while True:
        await queue.get()


def _make_venue(venue: str, path: Path) -> FakeBinanceVenue | FakeBybitVenue:
    if venue == "binance":
        market: BinanceMarket = "linear" if "usdm" in path.name or "linear" in str(path) else "spot"
        return FakeBinanceVenue(path, market=market, options=VenueOptions(ping_interval=None))
    return FakeBybitVenue(path, market="spot" if "spot" in str(path) else "linear")


def _depth_stream(venue: str, market: str, path: Path) -> str:
    if venue == "binance":
        return "depth@0ms" if market == "linear" else "depth@100ms"
    for _, payload in LineReader(path):
        if payload.startswith(b'{"topic":"orderbook.'):
            return b".".join(payload[10:40].split(b".")[:2]).decode()
    return "orderbook.50"


async def _run_feed(venue_name: str, path: Path, folder: Path, *, record: bool = True) -> dict[str, Any]:
    async with _make_venue(venue_name, path) as venue:
        market = venue.market
        symbol = sorted(venue.symbols)[0]
        overrides = local_endpoints(venue.ws_urls, venue.rest_url, market=market)
        overrides["feed"] = {"depth_stream": _depth_stream(venue_name, market, path), "stale_after_ms": 60_000}
        overrides["feed"]["reconnect_after_stale_ms"] = 120_000
        key = f"{venue_name}_overrides"
        config = getattr(load_config(write_config_files(folder / "config", **{key: overrides})), venue_name)
        queue: asyncio.Queue[FeedBatch] = asyncio.Queue(QUEUE_SIZE)
        timings = Timings()
        recorder = TimedRecorder(folder / "rec") if record else None
        cls: type[MarketDataFeed] = BinanceFeed if venue_name == "binance" else BybitFeed
        feed = cls(config, [symbol], queue=queue, recorder=recorder, timing_hook=timings, health_interval_ns=None)
        async with asyncio.TaskGroup() as tasks:
            run = tasks.create_task(feed.run())
            consumer = tasks.create_task(_consume(queue))
            await venue.wait_until(lambda: venue.stats.connections_accepted >= 1 and bool(venue.connections))
            await venue.wait_until(lambda: bool(venue.connections[0].subscriptions))
            started = time.perf_counter()
            venue.play("max")
            await venue.wait_played()
            want = sum(c.frames_sent for c in venue.all_connections)
            normalizer = feed.normalizers[symbol]
            await feed.wait_until(lambda: normalizer.stats.messages - normalizer.stats.control_messages >= want)
            elapsed = time.perf_counter() - started
            state = normalizer.status.state.name
            feed.stop()
            await run
            consumer.cancel()
        if recorder is not None:
            recorder.close()
        return {
            "symbol": symbol,
            "market": market,
            "frames": feed.stats.frames,
            "elapsed": elapsed,
            "timings": timings,
            "recorded_bytes": recorder.bytes_written if recorder is not None else 0,
            "write_ns": recorder.write_ns if recorder is not None else [],
            "settle_ns": recorder.settle_ns if recorder is not None else [],
            "overflows": feed.stats.overflows,
            "gaps": feed.gaps,
            "synced": state,
        }


async def _run_bare_client(venue_name: str, path: Path) -> tuple[int, float]:
    # The same replay to a client that only receives: the ceiling set by the venue and loopback.
    async with _make_venue(venue_name, path) as venue:
        symbol = sorted(venue.symbols)[0]
        market = venue.market
        if venue_name == "binance":
            depth = _depth_stream(venue_name, market, path)
            s = symbol.lower()
            url = f"{venue.ws_urls[0]}?streams={s}@{depth}/{s}@trade/{s}@bookTicker"
        else:
            url = venue.ws_urls[0]
        async with connect(url, compression=None, max_size=16 << 20, max_queue=256) as ws:
            if venue_name == "bybit":
                depth = _depth_stream(venue_name, market, path)
                topics = [f"{depth}.{symbol}", f"publicTrade.{symbol}"]
                await ws.send('{"op":"subscribe","args":["' + '","'.join(topics) + '"],"req_id":"1"}')
                await ws.recv()
            await venue.wait_until(lambda: bool(venue.connections and venue.connections[0].subscriptions))
            received = 0
            want: int | None = None
            done = asyncio.Event()

            async def reader() -> None:
                nonlocal received
                while True:
                    await ws.recv(decode=False)
                    received += 1
                    if want is not None and received >= want:
                        done.set()

            started = time.perf_counter()
            async with asyncio.TaskGroup() as tasks:
                reading = tasks.create_task(reader())
                venue.play("max")
                await venue.wait_played()
                want = sum(c.frames_sent for c in venue.all_connections)
                if received >= want:
                    done.set()
                await done.wait()
                elapsed = time.perf_counter() - started
                reading.cancel()
            return want, elapsed


def _offline(venue_name: str, market: str, symbol: str, lines: list[tuple[int, bytes]]) -> tuple[list[int], list[int]]:
    # The normalizer alone on the same payloads: on_message + take per message, no socket.
    normalizer = make_normalizer(venue_name, market, symbol, include_bbo=True)
    perf = time.perf_counter_ns
    depth_ns: list[int] = []
    all_ns: list[int] = []
    stats = normalizer.stats
    for local_ts, payload in lines:
        before = stats.depth_messages
        t0 = perf()
        normalizer.on_message(payload, local_ts)
        if normalizer.sink.rows:
            normalizer.sink.take()
        dt = perf() - t0
        all_ns.append(dt)
        if stats.depth_messages != before:
            depth_ns.append(dt)
    return depth_ns, all_ns


def _recorder_alone(lines: list[tuple[int, bytes]], folder: Path) -> tuple[float, int, int]:
    with Recorder(folder) as recorder:
        started = time.perf_counter()
        for local_ts, payload in lines:
            recorder.write("bench", "x", "sym", local_ts, payload)
        recorder.flush()
        elapsed = time.perf_counter() - started
    return elapsed, recorder.stats.line_bytes, recorder.bytes_written


def _bench(venue_name: str, path: Path) -> None:
    lines, span_s = _capture(path)
    with tempfile.TemporaryDirectory(prefix="arb-bench-feed-") as tmp:
        folder = Path(tmp)
        asyncio.run(_run_feed(venue_name, path, folder / "warm"))  # compile and warm up
        result = asyncio.run(_run_feed(venue_name, path, folder / "run"))
        unrecorded = asyncio.run(_run_feed(venue_name, path, folder / "bare", record=False))
        bare_frames, bare_s = asyncio.run(_run_bare_client(venue_name, path))
        rec_s, line_bytes, gz_bytes = _recorder_alone(lines, folder / "rec-alone")
    t: Timings = result["timings"]
    depth = np.asarray(t.depth)
    to_rows = np.asarray(t.to_rows)
    normalize = np.asarray(t.normalize)
    offline_depth, offline_all = _offline(venue_name, result["market"], result["symbol"], lines)
    offline_depth, offline_all = _offline(venue_name, result["market"], result["symbol"], lines)  # warm
    frames, elapsed = result["frames"], result["elapsed"]
    print(f"== {venue_name} {result['market']} {result['symbol']}: {path.name} ({len(lines):,} lines, {span_s:.0f} s)")
    print(
        f"  feed+normalizer+recorder+queue   {frames / elapsed:>10,.0f} msg/s  ({frames:,} frames in {elapsed:.2f} s)"
    )
    bare_rate = bare_frames / bare_s
    print(f"  reference: bare websockets client {bare_rate:>10,.0f} msg/s  ({bare_frames:,} frames in {bare_s:.2f} s)")
    print(f"  normalize, depth     {_pct(normalize[depth])}")
    print(f"  normalize, all       {_pct(normalize)}")
    print(f"  receipt->rows, depth {_pct(to_rows[depth])}")
    print(f"  receipt->rows, all   {_pct(to_rows)}")
    writes = np.asarray(result["write_ns"])
    if len(writes) == len(depth):  # one write per timed frame, in the same order
        print(f"  recorder.write (before the rows), depth {_pct(writes[depth])}")
    settles = np.asarray(result["settle_ns"])
    if len(settles):
        print(f"  recorder.settle (after the rows), all   {_pct(settles)}")
    u: Timings = unrecorded["timings"]
    u_depth = np.asarray(u.depth)
    u_rows = np.asarray(u.to_rows)
    print(f"  receipt->rows, no recording, depth {_pct(u_rows[u_depth])}")
    print(f"  receipt->rows, no recording, all   {_pct(u_rows)}")
    print(f"  reference: offline normalizer, depth {_pct(offline_depth)}")
    print(f"  reference: offline normalizer, all   {_pct(offline_all)}")
    capture_rate = len(lines) / span_s
    print(
        f"  recorder alone: {len(lines) / rec_s:,.0f} lines/s, {line_bytes / rec_s / 1e6:.1f} MB/s in, "
        f"{gz_bytes / 1e6:.2f} MB gzip ({line_bytes / max(gz_bytes, 1):.1f}x); the capture ran at "
        f"{capture_rate:,.0f} msg/s: {len(lines) / rec_s / capture_rate:,.0f}x headroom"
    )
    for what, values in (
        ("normalize", normalize[depth]),
        ("receipt->rows", to_rows[depth]),
        ("receipt->rows, no recording,", u_rows[u_depth]),
    ):
        p99 = float(np.percentile(values, 99)) / 1000.0 if len(values) else float("nan")
        verdict = "met" if p99 < 50 else "MISSED"
        print(f"  target p99 {what} < 50 us per depth message: {p99:.1f} us ({verdict})")
    print(f"  final state {result['synced']}, gaps {result['gaps']}, queue overflows {result['overflows']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--venue", choices=("binance", "bybit", "both"), default="both")
    parser.add_argument("--binance-file", type=Path, action="append", help="repeatable (default: spot and USD-M)")
    parser.add_argument("--bybit-file", type=Path, default=BYBIT_FILE)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.venue in ("binance", "both"):
        for path in args.binance_file or BINANCE_FILES:
            _bench("binance", path)
    if args.venue in ("bybit", "both"):
        _bench("bybit", args.bybit_file)


if __name__ == "__main__":
    run_benchmark(main)
