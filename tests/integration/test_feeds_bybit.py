"""The real Bybit feed against the fake venue on 127.0.0.1, replaying real captures.

The linear capture is the first 50 messages of Bybit's public ``orderbook.500`` archive for XRPUSDT
(one snapshot, 49 deltas); the spot one is the shipped BTCUSDT sample (``orderbook.50`` and trades).
As for Binance, every batch the feed published is checked: while ``SYNCED`` the book equals, at each
update id, the offline conversion of the same capture; otherwise it is empty.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from arb.errors import FeedError
from arb.events import BBO_ASK, BBO_BID, NS_PER_MS, SYNC_LOST_EVENT, EventArray, SyncReason
from arb.recording.convert import convert_files
from arb.sim.bybit.public import FakeBybitVenue
from arb.sim.options import VenueOptions
from connectors.bybit.feed import BybitFeed
from connectors.common.normalizer import SyncState
from tests.support.captures import BYBIT_OB500, RECORDINGS
from tests.support.feed_rig import (
    LiveBook,
    ManualClock,
    Rig,
    drain,
    feed_rig,
    head_copy,
    prefixed_copy,
    recovered_from,
    reference_books,
    running,
    trades,
)

OB500 = "orderbook.500.XRPUSDT"
SPOT_SAMPLE = RECORDINGS / "bybit_spot" / "btcusdt_20240808.gz"
SPOT_FRAMES = 400


def converted_bybit(path: Path, market: str) -> EventArray:
    return convert_files([path], venue="bybit", market=market, with_eod=False).rows


def bybit_rig(
    tmp_path: Path,
    recording: Any = BYBIT_OB500,
    *,
    market: str = "linear",
    symbols: tuple[str, ...] = ("XRPUSDT",),
    depth_stream: str = "orderbook.500",
    feed_config: dict[str, Any] | None = None,
    **rig: Any,
) -> Any:
    """``feed_rig``: a fake Bybit replaying ``recording`` (by default the XRPUSDT linear capture) and
    the real feed subscribed to ``depth_stream``."""
    feed_config = {"depth_stream": depth_stream, **(feed_config or {})}
    return feed_rig(tmp_path, FakeBybitVenue, BybitFeed, recording, market=market, symbols=symbols,
                    feed_config=feed_config, **rig)  # fmt: skip


async def start_synced(rig: Rig, topic: str = OB500, frames: int = 1) -> None:
    await rig.venue.wait_for_subscription(topic)
    await rig.deliver(frames)
    await rig.feed.wait_until(lambda: rig.synced)


def subscribes(rig: Rig, topic: str) -> int:
    """Successful subscriptions to ``topic`` the venue saw."""
    return sum(1 for e in rig.venue.stats.subscriptions if e.op == "subscribe" and e.ok and topic in e.streams)


# -- the book equals the capture's ------------------------------------------------------------------


async def test_linear_live_book_equals_the_offline_conversion_at_every_update_id(tmp_path: Path) -> None:
    reference = reference_books(converted_bybit(prefixed_copy(BYBIT_OB500, tmp_path / "ob500.gz"), "linear"))
    async with bybit_rig(tmp_path) as rig:
        await start_synced(rig)
        await rig.deliver()
        live = LiveBook(reference)
        live.apply(drain(rig.queue))
        assert rig.feed.subscriptions == [OB500, "publicTrade.XRPUSDT", "tickers.XRPUSDT"]
        assert rig.venue.stats.subscriptions[0].streams == tuple(rig.feed.subscriptions)
        stats = rig.normalizer.stats
        assert stats.control_messages == 1 and stats.snapshots == 1 and stats.gaps == 0
    assert live.checked == sorted(reference) and len(live.checked) == 50


async def test_a_derived_orderbook_50_equals_the_top_of_the_capture(tmp_path: Path) -> None:
    reference = reference_books(converted_bybit(prefixed_copy(BYBIT_OB500, tmp_path / "ob500.gz"), "linear"))
    async with bybit_rig(tmp_path, depth_stream="orderbook.50") as rig:
        await start_synced(rig, "orderbook.50.XRPUSDT")
        await rig.deliver()
        live = LiveBook(reference)
        live.apply(drain(rig.queue))
    assert len(live.checked) == 50


async def test_spot_book_trades_and_best_bid_offer_from_orderbook_1(tmp_path: Path) -> None:
    # The file starts with the recorder's subscribe ack, which the venue does not replay as a frame.
    reference_rows = converted_bybit(head_copy(SPOT_SAMPLE, tmp_path / "spot.gz", SPOT_FRAMES + 1), "spot")
    async with bybit_rig(
        tmp_path,
        SPOT_SAMPLE,
        market="spot",
        symbols=("BTCUSDT",),
        depth_stream="orderbook.50",
        venue_kwargs={"options": VenueOptions(max_frames=SPOT_FRAMES)},
    ) as rig:
        assert rig.feed.subscriptions == ["orderbook.50.BTCUSDT", "publicTrade.BTCUSDT", "orderbook.1.BTCUSDT"]
        await start_synced(rig, "orderbook.1.BTCUSDT", frames=5)
        await rig.deliver()
        live = LiveBook(reference_books(reference_rows))
        live.apply(drain(rig.queue))
        assert rig.normalizer.stats.gaps == 0
    rows = live.all_rows
    assert len(trades(rows)) > 100 and trades(rows) == trades(reference_rows)
    bbo = rows[np.isin(rows["ev"], [BBO_BID, BBO_ASK])]
    assert len(bbo) > 50  # best bid/offer from the venue's orderbook.1 snapshots
    assert len(live.checked) > 150


# -- faults -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "gaps", "duplicates", "decode_errors"),
    [("drop", 1, 0, 0), ("duplicate", 0, 1, 0), ("swap", 1, 0, 0), ("malformed", 1, 0, 1)],
)
async def test_stream_faults_resubscribe_for_a_fresh_snapshot_on_the_same_connection(
    tmp_path: Path, fault: str, gaps: int, duplicates: int, decode_errors: int
) -> None:
    reference = reference_books(converted_bybit(prefixed_copy(BYBIT_OB500, tmp_path / "ob500.gz"), "linear"))
    async with bybit_rig(tmp_path) as rig:
        live = await recovered_from(rig, reference, fault, OB500, at=20, through=25, start=start_synced)
        stats = rig.normalizer.stats
        assert (stats.gaps, stats.duplicates, stats.decode_errors) == (gaps, duplicates, decode_errors)
        assert rig.feed.stats.resubscribes == gaps and stats.resyncs == gaps
        assert subscribes(rig, OB500) == 1 + gaps and rig.feed.stats.connects == 1
    assert len(live.checked) >= 50 - 6


async def test_a_closed_socket_reconnects_and_the_new_subscription_resyncs(tmp_path: Path) -> None:
    reference = reference_books(converted_bybit(prefixed_copy(BYBIT_OB500, tmp_path / "ob500.gz"), "linear"))
    async with bybit_rig(tmp_path) as rig:
        rig.venue.faults.close(OB500, at=15, abrupt=True)
        await start_synced(rig)
        await rig.deliver_until(OB500, 15)
        await rig.venue.wait_for_connections(2)
        await rig.venue.wait_for_subscription(OB500)
        await rig.feed.wait_until(lambda: rig.synced)  # the venue's snapshot on subscribing
        await rig.deliver()
        await rig.synced_with_venue()
        live = LiveBook(reference)
        live.apply(drain(rig.queue))
        assert rig.feed.stats.connects == 2 and rig.feed.stats.resubscribes == 0
        assert rig.normalizer.transitions[1].reason is SyncReason.DISCONNECT
    # every id once, the last one before the close twice: the new subscription's snapshot is at that id
    assert len(live.checked) == 51 and len(set(live.checked)) == 50


async def test_a_stalled_feed_is_stale_then_reconnected(tmp_path: Path) -> None:
    clock = ManualClock()
    feed_config = {"stale_after_ms": 1000, "reconnect_after_stale_ms": 3000}
    async with bybit_rig(tmp_path, feed_config=feed_config, clock=clock) as rig:
        await rig.stale_after_running(start_synced, 10, clock, 1000)
        stale = drain(rig.queue)[-1]
        assert stale.stale and stale.state is SyncState.SYNCED and len(stale.rows) == 0
        await rig.renewed(clock, 2000 * NS_PER_MS, OB500)
        await rig.deliver(5)
        await rig.synced_with_venue()
        assert not rig.feed.is_stale("XRPUSDT")
        lost = [b for b in drain(rig.queue) if len(b.rows) and b.rows["ev"][0] == SYNC_LOST_EVENT]
        assert [int(b.rows["ival"][0]) for b in lost] == [SyncReason.STALE]


async def test_a_resubscription_without_snapshot_is_retried_then_the_connection_renewed(tmp_path: Path) -> None:
    clock = ManualClock()
    feed_config = {"stale_after_ms": 1000, "reconnect_after_stale_ms": 60_000}
    async with bybit_rig(tmp_path, feed_config=feed_config, clock=clock, resubscribe_retries=2) as rig:
        rig.venue.faults.drop(OB500, at=12)
        rig.venue.faults.stall(after=13, stream=OB500)  # the gap shows, then nothing (no snapshot either)
        await start_synced(rig)
        await rig.deliver_until(OB500, 13)
        await rig.venue.wait_until(lambda: subscribes(rig, OB500) == 2)
        assert rig.feed.stats.resubscribes == 1
        clock.advance(1000 * NS_PER_MS)
        await rig.feed.check_health()
        await rig.venue.wait_until(lambda: subscribes(rig, OB500) == 3)
        await rig.renewed(clock, 1000 * NS_PER_MS, OB500)  # two tries without a snapshot: a new connection
        await rig.deliver(3)
        await rig.synced_with_venue()
        assert rig.feed.stats.resubscribes == 2 and rig.feed.stats.forced_reconnects == 1


async def test_bybit_pings_are_sent_and_answered(tmp_path: Path) -> None:
    async with bybit_rig(tmp_path, feed_config={"ping_interval_ms": 10}) as rig:
        await rig.venue.wait_for_subscription(OB500)
        await rig.feed.wait_until(lambda: rig.normalizer.stats.control_messages >= 4)  # ack + 3 pongs
        assert rig.venue.stats.control_messages >= 4  # subscribe + 3 pings
        assert rig.venue.stats.ignored_messages == 0


async def test_a_rejected_subscription_is_fatal(tmp_path: Path) -> None:
    async with bybit_rig(tmp_path, symbols=("XRPUSDT", "NOPEUSDT"), start=False) as rig:
        with pytest.raises(FeedError, match="subscribe rejected: error:handler not found") as raised:
            await rig.feed.run()
        assert not raised.value.retryable and rig.feed.stats.connects == 1


async def test_a_refused_endpoint_fails_over(tmp_path: Path) -> None:
    async with bybit_rig(
        tmp_path, venue_kwargs={"options": VenueOptions(endpoints=3)}, feed_config={"failover_after": 1}, start=False
    ) as rig:
        rig.venue.faults.refuse(0, mode="drop")
        rig.venue.faults.refuse(1)
        async with running(rig.feed):
            await start_synced(rig)
            assert [c.endpoint for c in rig.venue.all_connections] == [2]
            assert rig.feed.stats.failovers == 2 and rig.feed.endpoint == 2


async def test_reconnect_delays_follow_the_injected_schedule(tmp_path: Path) -> None:
    schedule = [0.5, 1.0, 2.0]

    def backoff() -> Any:
        return iter(int(s * 1e9) for s in itertools.chain(schedule, itertools.repeat(4.0)))

    async with bybit_rig(
        tmp_path, venue_kwargs={"options": VenueOptions(endpoints=1)}, backoff=backoff, start=False
    ) as rig:
        rig.venue.faults.refuse(0)
        async with running(rig.feed):
            await rig.venue.wait_until(lambda: rig.venue.stats.connections_refused >= 4)
            rig.venue.faults.accept(0)
            await start_synced(rig)
    assert rig.sleeps.delays[:4] == [0.5, 1.0, 2.0, 4.0]
