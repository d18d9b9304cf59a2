"""Mark price and funding through the real feeds against the fake venues on 127.0.0.1.

The fakes replay the real linear captures (Binance USD-M BTCUSDT, Bybit's XRPUSDT ob500 archive) and
announce a funding schedule whose funding time falls inside the replayed span, in the venues' own
formats (Binance ``<symbol>@markPrice@1s``, Bybit ``tickers.<SYMBOL>`` snapshot then deltas). The
feeds must subscribe to those streams (Bybit: the one ``tickers`` subscription it already has for
the best bid/offer), publish the rows, show the funding time passing once with the rate announced
for it, and record the frames so that converting the recording gives the rows the live path gave.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np

from arb.events import (
    BBO_BID,
    FUNDING_RATE_EVENT,
    FUNDING_SETTLED_EVENT,
    MARK_PRICE_EVENT,
    NS_PER_MS,
    EventArray,
)
from arb.recording.convert import convert_files
from arb.recording.recorder import Recorder
from arb.sim.binance.public import FakeBinanceVenue
from arb.sim.bybit.public import FakeBybitVenue
from arb.sim.funding import HOUR_MS, FundingSchedule
from arb.sim.options import VenueOptions
from arb.testing.configs import local_endpoints, write_config_files
from arb.testing.scenarios import Book, Perp, write_scenario
from connectors.binance.feed import BinanceFeed
from connectors.bybit.feed import BybitFeed
from connectors.common.feed_parts import FeedBatch
from connectors.common.record_files import LineReader
from tests.support.captures import BYBIT_OB500, RECORDINGS, USDM_BTC, kind_of, local_side, of_kind, perp_rows
from tests.support.feed_rig import TIMEOUT_S, Sleeps, drain, feed_rig, recording, running, sent, venue_config

USDM_FRAMES = 3000
RATES = ("0.00010000", "0.00012500")
MARK_STREAM = "btcusdt@markPrice@1s"
TICKERS = "tickers.XRPUSDT"
BYBIT_SAMPLE = RECORDINGS / "bybit_spot" / "btcusdt_20240808.gz"


def _first_ms(path: Path, key: bytes) -> int:
    # The exchange time (ms) of the first frame of a capture: Binance "E", Bybit "ts".
    for _, payload in LineReader(path) if path.suffix == ".gz" else _archive(path):
        at = payload.find(key)
        if at >= 0:
            return int(payload[at + len(key) : at + len(key) + 13])
    raise AssertionError("no exchange time")


def _archive(path: Path) -> list[tuple[int, bytes]]:
    return [(0, line) for line in path.read_bytes().splitlines() if line.strip()]


def _published(batches: list[FeedBatch]) -> EventArray:
    return np.concatenate([b.rows for b in batches]) if batches else np.zeros(0)


def _check_funding(rows: EventArray, funding_ms: int, schedule: FundingSchedule) -> None:
    kinds = kind_of(rows)
    settled = rows[kinds == FUNDING_SETTLED_EVENT]
    assert len(settled) == 1
    assert int(settled["ival"][0]) == funding_ms * NS_PER_MS
    assert float(settled["px"][0]) == float(schedule.rate(funding_ms))  # the rate announced for it
    assert int(settled["exch_ts"][0]) >= funding_ms * NS_PER_MS
    funding = rows[kinds == FUNDING_RATE_EVENT]
    before = funding[funding["exch_ts"] < funding_ms * NS_PER_MS]
    after = funding[funding["exch_ts"] >= funding_ms * NS_PER_MS]
    assert len(before) and len(after)
    following = schedule.next_funding_ms(funding_ms)
    assert set(before["ival"].tolist()) == {funding_ms * NS_PER_MS}
    assert set(after["ival"].tolist()) == {following * NS_PER_MS}
    assert set(after["px"].tolist()) == {float(schedule.rate(following))}
    # the funding interval: what the venue's REST answer said (once it came), then what the rollover showed
    assert set(before["order_id"].tolist()) <= {0, schedule.interval_at(funding_ms - 1) * NS_PER_MS}
    assert set(after["order_id"].tolist()) == {(following - funding_ms) * NS_PER_MS}
    marks = rows[kinds == MARK_PRICE_EVENT]
    assert len(marks) and bool(np.all(marks["px"] > 0)) and np.array_equal(marks["px"], marks["qty"])


async def test_binance_usdm_feed_receives_records_and_converts_the_mark_price_stream(tmp_path: Path) -> None:
    first = _first_ms(USDM_BTC, b'"E":')
    funding_ms = (first // 1000 + 5) * 1000  # 5 s into the replayed 11 s
    # every 8 hours until then, every 4 from then on (fundingInfo lists the symbol at 4 hours)
    schedule = FundingSchedule(funding_ms - 8 * HOUR_MS, RATES, changes=((funding_ms, 4 * HOUR_MS),))
    recorder = Recorder(tmp_path / "rec")
    queue: asyncio.Queue[FeedBatch] = asyncio.Queue(100_000)
    async with (
        asyncio.timeout(TIMEOUT_S),
        FakeBinanceVenue(
            USDM_BTC, market="linear", options=VenueOptions(max_frames=USDM_FRAMES, funding={"BTCUSDT": schedule})
        ) as venue,
    ):
        config = venue_config(
            tmp_path, "binance", venue.ws_urls, venue.rest_url, market="linear", feed={"depth_stream": "depth@0ms"}
        )
        feed = BinanceFeed(config, ["BTCUSDT"], queue=queue, recorder=recorder, sleep=Sleeps(), health_interval_ns=None)
        async with running(feed):
            await venue.wait_for_subscription(MARK_STREAM)
            await venue.drain()
            await feed.wait_until(lambda: feed.stats.frames >= sent(venue))
        stream_frames = sum(c.frames_sent_by_stream[MARK_STREAM] for c in venue.all_connections)
    recorder.close()
    assert venue.stats.subscriptions[0].streams == (
        "btcusdt@depth@0ms", "btcusdt@trade", "btcusdt@bookTicker", MARK_STREAM,
    )  # fmt: skip
    live = perp_rows(_published(drain(queue)))
    assert 8 <= stream_frames == int((live["ev"] == MARK_PRICE_EVENT).sum())
    _check_funding(live, funding_ms, schedule)
    stats = feed.normalizers["BTCUSDT"].stats
    assert stats.mark_messages == stream_frames and stats.funding_rollovers == 1 and stats.decode_errors == 0
    [path] = recorder.paths
    assert sum(MARK_STREAM.encode() in p[:40] for _, p in LineReader(path)) == stream_frames
    recorded = convert_files([path], venue="binance", market="linear", local_offset_ns=0, with_eod=False).rows
    # the offline rows are the live ones
    assert perp_rows(local_side(recorded, published=True)).tobytes() == live.tobytes()


def _bybit_linear_rig(tmp_path: Path, schedule: FundingSchedule, **rig: Any) -> Any:
    """``feed_rig``: a fake Bybit serving the XRPUSDT linear capture (its funding on ``schedule``) and
    the real feed on its ``orderbook.500`` stream; ``rig`` goes to ``feed_rig``."""
    venue_kwargs = {"options": VenueOptions(funding={"XRPUSDT": schedule})}
    feed_config = {"depth_stream": "orderbook.500"}
    return feed_rig(tmp_path, FakeBybitVenue, BybitFeed, BYBIT_OB500, market="linear", symbols=("XRPUSDT",),
                    venue_kwargs=venue_kwargs, feed_config=feed_config, **rig)  # fmt: skip


async def test_bybit_linear_feed_takes_mark_price_and_funding_from_its_one_tickers_subscription(
    tmp_path: Path,
) -> None:
    first = _first_ms(BYBIT_OB500, b'"ts":')
    funding_ms = first + 2_000  # 2 s into the archive's 4.8 s
    schedule = FundingSchedule(funding_ms, RATES, interval_ms=4 * 3_600_000)
    recorder = Recorder(tmp_path / "rec")
    async with _bybit_linear_rig(tmp_path, schedule, recorder=recorder) as rig:
        venue, feed, queue = rig.venue, rig.feed, rig.queue
        await venue.wait_for_subscription(TICKERS)
        await venue.drain()
        await feed.wait_until(lambda: feed.stats.frames >= sent(venue) + 1)  # and the subscribe ack
        ticker_frames = sum(c.frames_sent_by_stream[TICKERS] for c in venue.all_connections)
    recorder.close()
    subscribed = [t for e in venue.stats.subscriptions for t in e.streams]
    assert subscribed.count(TICKERS) == 1 and feed.subscriptions.count(TICKERS) == 1
    rows = _published(drain(queue))
    live = perp_rows(rows)
    _check_funding(live, funding_ms, schedule)
    assert int((rows["ev"] == BBO_BID).sum()) >= 1  # the same tickers still give the best bid/offer
    stats = feed.normalizers["XRPUSDT"].stats
    # every ticker frame is read (a BBO message); those that moved the mark or funding are mark messages
    assert 10 <= ticker_frames == stats.bbo_messages and stats.mark_messages >= 3 and stats.funding_rollovers == 1
    [path] = recorder.paths
    recorded = convert_files([path], venue="bybit", market="linear", local_offset_ns=0, with_eod=False).rows
    assert perp_rows(local_side(recorded, published=True)).tobytes() == live.tobytes()


async def test_bybit_linear_feed_subscribes_tickers_for_funding_even_without_best_bid_offer(tmp_path: Path) -> None:
    first = _first_ms(BYBIT_OB500, b'"ts":')
    schedule = FundingSchedule(first + 2_000, RATES)
    async with _bybit_linear_rig(tmp_path, schedule, start=False, include_bbo=False) as rig:
        venue, feed, queue = rig.venue, rig.feed, rig.queue
        assert feed.subscriptions == ["orderbook.500.XRPUSDT", "publicTrade.XRPUSDT", TICKERS]
        async with running(feed):
            await venue.wait_for_subscription(TICKERS)
            await venue.drain()
            await feed.wait_until(lambda: feed.stats.frames >= sent(venue) + 1)
    rows = _published(drain(queue))
    assert int((rows["ev"] == BBO_BID).sum()) == 0 and int((rows["ev"] == FUNDING_SETTLED_EVENT).sum()) == 1


async def test_arb_record_on_linear_markets_records_both_mark_price_streams(tmp_path: Path) -> None:
    # Binance: the USD-M capture; Bybit: the shipped BTCUSDT sample served as linear (the order-book
    # and trade messages are the same on both markets). Both cover 23:54:14 on 2024-08-08.
    binance_first = _first_ms(USDM_BTC, b'"E":')
    bybit_first = _first_ms(BYBIT_SAMPLE, b'"ts":')
    binance_schedule = FundingSchedule((binance_first // 1000 + 3) * 1000, RATES)
    bybit_schedule = FundingSchedule(bybit_first + 3_000, RATES)
    stop = asyncio.Event()
    async with (
        asyncio.timeout(TIMEOUT_S),
        FakeBinanceVenue(
            USDM_BTC, market="linear", options=VenueOptions(max_frames=1500, funding={"BTCUSDT": binance_schedule})
        ) as binance,
        FakeBybitVenue(
            BYBIT_SAMPLE, market="linear", options=VenueOptions(max_frames=150, funding={"BTCUSDT": bybit_schedule})
        ) as bybit,
    ):
        path = write_config_files(
            tmp_path / "config",
            binance_overrides={
                **local_endpoints(binance.ws_urls, binance.rest_url, market="linear"),
                "feed": {"depth_stream": "depth@0ms"},
            },
            bybit_overrides=local_endpoints(bybit.ws_urls, bybit.rest_url, market="linear"),
        )
        task = recording(path, tmp_path / "out", stop, Sleeps())
        await binance.wait_for_subscription(MARK_STREAM)
        await bybit.wait_for_subscription("tickers.BTCUSDT")
        await asyncio.gather(binance.drain(), bybit.drain())
        await binance.wait_for_rest_requests(2)  # fundingInfo and the depth snapshot
        stop.set()
        report = await task
    files = {p.parent.name: p for p in report.files}
    assert sorted(files) == ["binance_linear", "bybit_linear"]
    for folder, venue in (("binance_linear", "binance"), ("bybit_linear", "bybit")):
        rows = convert_files([files[folder]], venue=venue, market="linear", with_eod=False).rows
        kinds = kind_of(local_side(rows))
        assert int((kinds == MARK_PRICE_EVENT).sum()) >= 2, folder
        assert int((kinds == FUNDING_SETTLED_EVENT).sum()) == 1, folder


async def test_a_bybit_feed_that_subscribes_after_the_recorded_tickers_snapshot_still_sees_the_funding_pass(
    tmp_path: Path,
) -> None:
    # A recorded tickers stream (snapshot, then deltas of the mark and, at the funding time, of the next
    # funding): a client that subscribes late gets the venue's snapshot of it first, as Bybit sends one,
    # so it knows the funding time the rollover delta moves on from.
    perp = Perp(mark=60_300.0, rate=0.0003, funding_ms=3000, next_rate=-0.0001)
    _, bybit_file = write_scenario(
        tmp_path / "rec", dt.date(2024, 5, 6), Book(bids={59990.0: 2.0}, asks={60000.0: 2.0}),
        Book(bids={60290.0: 2.0}, asks={60300.0: 2.0}), [], duration_ms=5000, heartbeat_ms=500,
        markets=("linear", "linear"), perps={"bybit": perp},
    )  # fmt: skip
    queue: asyncio.Queue[FeedBatch] = asyncio.Queue(100_000)
    async with asyncio.timeout(TIMEOUT_S), FakeBybitVenue(bybit_file, market="linear") as venue:
        await venue.advance_until(lambda frame: frame.stream == "tickers.BTCUSDT" and frame.stream_index == 1)
        config = venue_config(tmp_path, "bybit", venue.ws_urls, venue.rest_url, market="linear")
        feed = BybitFeed(config, ["BTCUSDT"], queue=queue, sleep=Sleeps(), health_interval_ns=None)
        async with running(feed):
            await venue.wait_for_subscription("tickers.BTCUSDT")
            await venue.drain()
            await feed.wait_until(lambda: feed.stats.frames >= sent(venue))
    rows = _published(drain(queue))
    settled = of_kind(rows, FUNDING_SETTLED_EVENT)
    start_ms = int(dt.datetime(2024, 5, 6, 0, 0, 1, tzinfo=dt.UTC).timestamp() * 1000)
    assert settled["ival"].tolist() == [(start_ms + 3000) * NS_PER_MS]
    assert settled["px"].tolist() == [0.0003] and settled["qty"].tolist() == [60_300.0]  # rate, mark
