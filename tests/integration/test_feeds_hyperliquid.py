"""The real Hyperliquid feed against the fake Hyperliquid on 127.0.0.1.

No Hyperliquid capture of BTC ships with arb, so the recording is made at test time (:func:`hyperliquid_recording`)
in the documented shapes: whole books of the ``BTC`` perpetual moving at random (seeded) every 200 ms, one of
them stamped before the book it follows (the venue's ``time`` going back), trades and the perpetual's context.
The feed must check ``meta`` before it subscribes (a coin the venue does not list closes the socket), keep the
venue's book through a dropped connection and a stall, and ping the venue.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import random
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from arb.errors import FeedError
from arb.events import (
    CLEAR_ALL,
    DEPTH_ASK,
    DEPTH_BID,
    NS_PER_MS,
    SNAPSHOT_ASK,
    SNAPSHOT_BID,
    SYNC_LOST_EVENT,
    EventArray,
    SyncReason,
)
from arb.sim.hyperliquid.public import FakeHyperliquidVenue
from connectors.common.feed_parts import FeedBatch
from connectors.common.normalizer import SyncState
from connectors.hyperliquid.feed import HyperliquidFeed
from tests.support.feed_rig import TIMEOUT_S, ManualClock, Rig, drain, feed_rig

START_MS = 1_723_161_250_000
BOOKS = 40
BACKWARDS_AT = 25
"""The book stamped 50 ms before the one it follows."""
STREAM = "l2Book:BTC"


def _levels(side: dict[float, float], best_first: bool) -> list[dict[str, Any]]:
    return [{"px": f"{p:.0f}", "sz": f"{q:.5f}", "n": 1} for p, q in sorted(side.items(), reverse=best_first)][:20]


def hyperliquid_recording(path: Path) -> Path:
    """A collector-format recording (``<ns> <json>`` lines, gzip) of the ``BTC`` perpetual: :data:`BOOKS` books
    200 ms apart, each a seeded move of the one before (book :data:`BACKWARDS_AT` stamped 50 ms before the one
    it follows), a trade every fourth and the context every tenth."""
    rng = random.Random(79)
    bids = {60_000.0 - 2 * k: round(rng.uniform(0.1, 2), 5) for k in range(25)}
    asks = {60_002.0 + 2 * k: round(rng.uniform(0.1, 2), 5) for k in range(25)}
    lines: list[tuple[int, dict[str, Any]]] = []
    for k in range(BOOKS):
        t = START_MS + 200 * k
        for _ in range(rng.randint(1, 3)):
            side = rng.choice((bids, asks))
            price = rng.choice(sorted(side)[:22])
            side[price] = 0.0 if rng.random() < 0.3 else round(rng.uniform(0.1, 2), 5)
            side.update({p: q for p, q in side.items() if q > 0})
            for gone in [p for p, q in side.items() if q == 0]:
                del side[gone]
        stamp = t - 250 if k == BACKWARDS_AT else t
        data = {"coin": "BTC", "time": stamp, "levels": [_levels(bids, True), _levels(asks, False)]}
        lines.append((t + 5, {"channel": "l2Book", "data": data}))
        if k % 4 == 1:
            trade = {"coin": "BTC", "side": "B" if k % 8 == 1 else "A", "px": f"{min(asks):.0f}", "sz": "0.01",
                     "time": t + 1, "hash": "0x" + "0" * 64, "tid": 1000 + k, "users": ["0x1", "0x2"]}  # fmt: skip
            lines.append((t + 6, {"channel": "trades", "data": [trade]}))
        if k % 10 == 0:
            mid = f"{(max(bids) + min(asks)) / 2:.1f}"
            ctx = {"funding": "0.0000125", "openInterest": "100.0", "oraclePx": mid, "markPx": mid, "premium": "0.0"}
            lines.append((t + 7, {"channel": "activeAssetCtx", "data": {"coin": "BTC", "ctx": ctx}}))
    with gzip.open(path, "wb") as out:
        for ms, message in lines:
            out.write(f"{ms * NS_PER_MS} {json.dumps(message, separators=(',', ':'))}\n".encode())
    return path


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return hyperliquid_recording(tmp_path_factory.mktemp("hyperliquid") / "btc.gz")


def _rig(tmp_path: Path, recording: Path, **kwargs: Any) -> Any:
    feed = {"ping_interval_ms": 600_000, "stale_after_ms": 1000, "reconnect_after_stale_ms": 3000}
    feed.update(kwargs.pop("feed", {}))
    symbols = kwargs.pop("symbols", ("BTCUSDT",))
    return feed_rig(tmp_path, FakeHyperliquidVenue, HyperliquidFeed, recording, market="linear", symbols=symbols,
                    feed_config=feed, **kwargs)  # fmt: skip


def _consumer_book(batches: list[FeedBatch]) -> tuple[dict[float, float], dict[float, float]]:
    # What a consumer that applies every batch holds (a clear empties it; size 0 removes a level).
    bids: dict[float, float] = {}
    asks: dict[float, float] = {}
    for batch in batches:
        _apply(batch.rows, bids, asks)
    return bids, asks


def _apply(rows: EventArray, bids: dict[float, float], asks: dict[float, float]) -> None:
    for row in rows:
        ev = int(row["ev"])
        if ev == CLEAR_ALL:
            bids.clear()
            asks.clear()
        elif ev in (DEPTH_BID, DEPTH_ASK, SNAPSHOT_BID, SNAPSHOT_ASK):
            side = bids if ev in (DEPTH_BID, SNAPSHOT_BID) else asks
            if row["qty"] == 0:
                side.pop(float(row["px"]), None)
            else:
                side[float(row["px"])] = float(row["qty"])


def _venue_book(rig: Rig) -> tuple[dict[float, float], dict[float, float]]:
    view = rig.venue.book("BTCUSDT")
    return {float(p): float(q) for p, q in view.bids}, {float(p): float(q) for p, q in view.asks}


async def _synced_with_venue(rig: Rig) -> None:
    await rig.feed.wait_until(lambda: rig.synced and rig.normalizer.status.update_id == rig.venue.book("BTC").update_id)


async def test_the_feed_checks_meta_then_subscribes_and_keeps_the_venues_book(tmp_path: Path, recording: Path) -> None:
    async with _rig(tmp_path, recording, feed={"ping_interval_ms": 5}) as rig:
        for stream in ("l2Book:BTC", "trades:BTC", "activeAssetCtx:BTC"):
            await rig.venue.wait_for_subscription(stream)
        assert rig.venue.info_requests[0] == "meta" and rig.feed.meta_checks == 1  # before any subscription
        await rig.deliver()
        await _synced_with_venue(rig)
        # pings go out on their interval and the venue's pongs come back as frames
        await rig.feed.wait_until(lambda: rig.normalizer.stats.control_messages >= 5)
        batches = drain(rig.queue)
    assert _consumer_book(batches) == _venue_book(rig)  # the book the rows build is the venue's, level by level
    normalizer = rig.normalizer
    assert normalizer.time_backwards == 1 and normalizer.stats.decode_errors == 0
    assert normalizer.time_backwards_log.samples[0].raw.startswith('{"channel":"l2Book","data":{"coin":"BTC"')
    assert normalizer.stats.trade_messages == 10 and normalizer.stats.mark_messages == 4
    assert normalizer.stats.snapshots == 1  # one snapshot, then only changes
    assert "l2Book" in rig.venue.info_requests  # the info endpoint's book was asked for too


async def test_a_coin_meta_does_not_list_stops_the_feed_before_it_subscribes(tmp_path: Path, recording: Path) -> None:
    async with _rig(tmp_path, recording, symbols=("BTCUSDT", "KPEPEUSDT"), start=False) as rig:
        with pytest.raises(FeedError, match=r"KPEPEUSDT \(kPEPE\): not a perpetual Hyperliquid lists") as failed:
            await rig.feed.run()
        assert not failed.value.retryable
        assert rig.venue.stats.subscriptions == [] and rig.venue.closed_for_unknown_coin == []
        assert rig.venue.info_requests == ["meta"]


async def test_the_fake_closes_the_socket_on_a_coin_it_does_not_list(tmp_path: Path, recording: Path) -> None:
    # what the meta check spares the feed: a wrong case closes the connection, with its other subscriptions
    async with asyncio.timeout(TIMEOUT_S), FakeHyperliquidVenue(recording) as venue:
        async with connect(venue.ws_urls[0]) as ws:
            await ws.send('{"method":"subscribe","subscription":{"type":"trades","coin":"BTC"}}')
            assert json.loads(await ws.recv())["channel"] == "subscriptionResponse"
            await ws.send('{"method":"subscribe","subscription":{"type":"l2Book","coin":"btc"}}')
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
        assert closed.value.rcvd is None  # no close frame: the client sees 1006
        assert venue.closed_for_unknown_coin == ["btc"] and venue.subscriber_count("trades:BTC") == 0


async def test_a_dropped_connection_loses_the_book_and_the_next_rebuilds_it(tmp_path: Path, recording: Path) -> None:
    async with _rig(tmp_path, recording) as rig:
        rig.venue.faults.close(STREAM, at=10, abrupt=True)
        await rig.venue.wait_for_subscription(STREAM)
        await rig.deliver_until(STREAM, 10)
        await rig.venue.wait_for_connections(2)
        await rig.venue.wait_for_subscription(STREAM)  # the ack comes with the venue's book
        await _synced_with_venue(rig)
        await rig.deliver()
        await _synced_with_venue(rig)
        batches = drain(rig.queue)
    lost = [r for b in batches for r in b.rows if int(r["ev"]) == SYNC_LOST_EVENT]
    assert [int(r["ival"]) for r in lost] == [SyncReason.DISCONNECT]
    assert rig.feed.stats.connects == 2 and rig.normalizer.stats.resyncs == 1
    assert _consumer_book(batches) == _venue_book(rig)


async def test_a_stalled_coin_goes_stale_and_the_connection_is_renewed(tmp_path: Path, recording: Path) -> None:
    clock = ManualClock(START_MS * NS_PER_MS)
    async with _rig(tmp_path, recording, clock=clock) as rig:

        async def subscribed(r: Rig) -> None:
            await r.venue.wait_for_subscription(STREAM)

        await rig.stale_after_running(subscribed, 12, clock, stale_after_ms=1000)
        await rig.renewed(clock, 2000 * NS_PER_MS, STREAM)
        await rig.deliver(8)
        await _synced_with_venue(rig)
        assert not rig.feed.is_stale("BTCUSDT")
        assert rig.feed.stats.forced_reconnects == 1 and rig.normalizer.status.state is SyncState.SYNCED
