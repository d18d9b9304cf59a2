"""The real Binance feed against the fake venue on 127.0.0.1, replaying real captures (tests/fixtures).

Every test checks the one promise of the feed on every batch it published: while a batch says
``SYNCED``, the book built by applying every batch so far equals, at each depth update id, the book of
the offline conversion of the same capture (``convert_files``) at that id; while it says anything else,
that book is empty. Faults are injected by the venue; time is driven (an injected clock, an injected
sleep that records what it was asked to wait); nothing sleeps to wait, every await is bounded.

The helpers (``Rig``, ``LiveBook``, ``Sleeps``, ``ManualClock``...) live in ``feed_helpers``.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from arb.errors import FeedError
from arb.events import (
    NS_PER_MS,
    NS_PER_S,
    SYNC_LOST_EVENT,
    SyncReason,
)
from arb.sim.binance.public import FakeBinanceVenue
from arb.sim.options import VenueOptions
from connectors.binance.feed import BinanceFeed
from connectors.common.normalizer import SyncState
from tests.support.captures import SPOT_BTC_HEAD, SPOT_ETH_HEAD, USDM_BTC
from tests.support.feed_rig import (
    LiveBook,
    ManualClock,
    Rig,
    converted,
    drain,
    feed_rig,
    head_copy,
    recovered_from,
    reference_books,
    running,
    sent,
    trades,
)

DEPTH = "btcusdt@depth@100ms"
USDM_DEPTH = "btcusdt@depth@0ms"
USDM_FRAMES = 3000


def binance_rig(
    tmp_path: Path,
    recording: Any = SPOT_BTC_HEAD,
    *,
    market: str = "spot",
    symbols: tuple[str, ...] = ("BTCUSDT",),
    **rig: Any,
) -> Any:
    """``feed_rig``: a fake Binance replaying ``recording`` (by default BTCUSDT spot) and the real feed."""
    return feed_rig(tmp_path, FakeBinanceVenue, BinanceFeed, recording, market=market, symbols=symbols, **rig)


def usdm_rig(tmp_path: Path) -> Any:
    """``binance_rig`` on the USD-M capture: its first ``USDM_FRAMES`` frames, the 0 ms depth stream."""
    venue_kwargs = {"options": VenueOptions(max_frames=USDM_FRAMES)}
    return binance_rig(
        tmp_path, USDM_BTC, market="linear", venue_kwargs=venue_kwargs, feed_config={"depth_stream": "depth@0ms"}
    )


async def start_synced(rig: Rig, stream: str = DEPTH, frames: int = 3) -> None:
    """Wait for the subscription, release a few frames and wait for the first snapshot to sync the book."""
    await rig.venue.wait_for_subscription(stream)
    await rig.venue.advance(frames)
    await rig.feed.wait_until(lambda: rig.synced)


# -- the book equals the capture's ------------------------------------------------------------------


async def test_spot_live_book_equals_the_offline_conversion_at_every_update_id(tmp_path: Path) -> None:
    reference_rows = converted(SPOT_BTC_HEAD)
    async with binance_rig(tmp_path) as rig:
        await start_synced(rig)
        await rig.deliver()
        live = LiveBook(reference_books(reference_rows))
        live.apply(drain(rig.queue))
        stats = rig.normalizer.stats
        assert rig.feed.stats.frames == 2999 and rig.feed.stats.snapshot_requests == 1
        assert stats.gaps == 0 and stats.decode_errors == 0 and stats.snapshots == 1
    # Every diff from the bridging one on (281 diffs, the first two covered by the snapshot) was compared.
    assert len(live.checked) == 1 + 279 and len(set(live.checked)) == len(live.checked)
    assert trades(live.all_rows) == trades(reference_rows)
    assert rig.feed.stats.disconnects == 1 and not rig.feed.connected


async def test_usdm_live_book_equals_the_offline_conversion_at_every_update_id(tmp_path: Path) -> None:
    reference_rows = converted(head_copy(USDM_BTC, tmp_path / "usdm.gz", USDM_FRAMES))
    async with usdm_rig(tmp_path) as rig:
        await start_synced(rig, USDM_DEPTH, frames=30)
        await rig.deliver()
        live = LiveBook(reference_books(reference_rows))
        live.apply(drain(rig.queue))
        request = rig.venue.stats.rest_requests[0]
        assert request.path == "/fapi/v1/depth" and request.params == {"symbol": "BTCUSDT", "limit": "1000"}
        assert request.weight == 20 and rig.feed.used_weight == 20
    depth_ids = set(reference_books(reference_rows))
    assert len(live.checked) > 150 and set(live.checked) <= depth_ids
    assert trades(live.all_rows) == trades(reference_rows)


async def test_two_symbols_on_one_connection_each_equal_their_capture(tmp_path: Path) -> None:
    btc = reference_books(converted(SPOT_BTC_HEAD))
    eth = reference_books(converted(SPOT_ETH_HEAD))
    async with binance_rig(tmp_path, [SPOT_BTC_HEAD, SPOT_ETH_HEAD], symbols=("BTCUSDT", "ETHUSDT")) as rig:
        await rig.venue.wait_for_subscription("ethusdt@depth@100ms")
        streams = "/".join(f"{s}@depth@100ms/{s}@trade/{s}@bookTicker" for s in ("btcusdt", "ethusdt"))
        assert [c.path for c in rig.venue.all_connections] == [f"/stream?streams={streams}"]
        await rig.venue.advance(40)
        normalizers = rig.feed.normalizers
        await rig.feed.wait_until(lambda: all(n.status.state is SyncState.SYNCED for n in normalizers.values()))
        await rig.deliver()
        batches = drain(rig.queue)
    for symbol, reference, depth_messages in (("BTCUSDT", btc, 281), ("ETHUSDT", eth, 192)):
        live = LiveBook(reference)
        live.apply([b for b in batches if b.symbol == symbol])
        assert len(live.checked) >= depth_messages - 5
    assert rig.feed.stats.snapshot_requests == 2 and rig.feed.gaps == 0


# -- faults on the stream ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "gaps", "duplicates", "decode_errors"),
    [
        ("drop", 1, 0, 0),
        ("duplicate", 0, 1, 0),
        ("swap", 1, 0, 0),
        ("delay", 1, 0, 0),
        ("malformed", 1, 0, 1),
        # A copy of the next diff under another stream name: the payload says BTCUSDT, so it is applied
        # early and the original is then a duplicate. The book never leaves the venue's.
        ("unknown_stream", 0, 1, 0),
    ],
)
async def test_stream_faults_are_detected_and_resynced_on_the_same_connection(
    tmp_path: Path, fault: str, gaps: int, duplicates: int, decode_errors: int
) -> None:
    reference = reference_books(converted(SPOT_BTC_HEAD))
    async with binance_rig(tmp_path) as rig:
        extra = 1 if fault == "unknown_stream" else 0
        live = await recovered_from(rig, reference, fault, DEPTH, at=100, through=110, start=start_synced, extra=extra)
        stats = rig.normalizer.stats
        assert (stats.gaps, stats.duplicates, stats.decode_errors) == (gaps, duplicates, decode_errors)
        assert stats.resyncs == gaps
        assert rig.feed.stats.snapshot_requests == 1 + gaps
        assert rig.feed.stats.connects == 1, "a gap is resynced without dropping the connection"
    lost = [b for b in live.rows if len(b) and np.any(b["ev"] == SYNC_LOST_EVENT)]
    assert len(lost) == gaps
    assert len(live.checked) >= 270


async def test_a_closed_socket_reconnects_and_resyncs(tmp_path: Path) -> None:
    reference = reference_books(converted(SPOT_BTC_HEAD))
    async with binance_rig(tmp_path) as rig:
        rig.venue.faults.close(DEPTH, at=80, code=1001, reason="going away")
        rig.venue.faults.close(DEPTH, at=160, abrupt=True)
        await start_synced(rig)
        await rig.venue.advance_until(lambda f: f.stream == DEPTH and f.stream_index == 80)
        await rig.venue.wait_for_connections(2)
        await rig.venue.wait_for_subscription(DEPTH)
        await rig.deliver_until(DEPTH, 100)
        await rig.synced_with_venue()
        await rig.venue.advance_until(lambda f: f.stream == DEPTH and f.stream_index == 160)
        await rig.venue.wait_for_connections(3)
        await rig.venue.wait_for_subscription(DEPTH)
        await rig.deliver()
        await rig.synced_with_venue()
        live = LiveBook(reference)
        live.apply(drain(rig.queue))
        transitions = rig.normalizer.transitions
        assert [c.close_code for c in rig.venue.all_connections[:2]] == [1001, 1006]
        assert rig.feed.stats.connects == 3 and rig.feed.stats.failovers == 0
    lost = [t.reason for t in transitions if t.state is SyncState.OUT_OF_SYNC]
    assert lost == [SyncReason.DISCONNECT] * 3  # two closes, and the stop
    assert rig.normalizer.stats.gaps == 0
    # a good session resets the schedule: each reconnect waited the first delay of a fresh one
    assert len(rig.sleeps.delays) == 2 and all(0 < d <= 0.25 for d in rig.sleeps.delays)
    assert len(live.checked) > 120


@pytest.mark.parametrize("mode", ["503", "drop"])
async def test_a_refused_endpoint_fails_over_to_the_next(tmp_path: Path, mode: str) -> None:
    async with binance_rig(
        tmp_path,
        venue_kwargs={"options": VenueOptions(endpoints=2)},
        feed_config={"failover_after": 2},
        rest=lambda venue: venue.base_urls[1],
        start=False,
    ) as rig:
        rig.venue.faults.refuse(0, mode=mode)
        async with running(rig.feed):
            await start_synced(rig)
            await rig.deliver(200)
            assert [c.endpoint for c in rig.venue.all_connections] == [1]
            assert rig.venue.stats.connections_refused == 2
            assert rig.feed.stats.failed_attempts == 2 and rig.feed.stats.failovers == 1
            assert rig.feed.endpoint == 1 and rig.feed.url == rig.venue.ws_urls[1]
    assert len(rig.sleeps.delays) == 2


async def test_a_stalled_feed_is_stale_at_stale_after_and_reconnects_at_reconnect_after_stale(
    tmp_path: Path,
) -> None:
    reference = reference_books(converted(SPOT_BTC_HEAD))
    clock = ManualClock()
    feed_config = {"stale_after_ms": 2000, "reconnect_after_stale_ms": 5000}
    async with binance_rig(tmp_path, feed_config=feed_config, clock=clock) as rig:
        await rig.stale_after_running(start_synced, 60, clock, 2000)
        assert rig.feed.stats.stale_events == 1
        await rig.feed.check_health()  # logged and published once
        batches = drain(rig.queue)
        assert batches[-1].stale and batches[-1].state is SyncState.SYNCED and len(batches[-1].rows) == 0
        assert not any(b.stale for b in batches[:-1])
        await rig.venue.advance(30)  # withheld by the stall: the feed sees nothing
        clock.advance(3000 * NS_PER_MS - 1)
        await rig.feed.check_health()
        assert rig.feed.connected
        await rig.renewed(clock, 1, DEPTH)
        await rig.deliver_until(DEPTH, 30)
        await rig.synced_with_venue()
        assert not rig.feed.is_stale("BTCUSDT")
        batches += drain(rig.queue)
        live = LiveBook(reference)
        live.apply(batches)
        reasons = [t.reason for t in rig.normalizer.transitions if t.state is SyncState.OUT_OF_SYNC]
        assert reasons == [SyncReason.STALE]
        assert rig.feed.stats.forced_reconnects == 1 and rig.feed.stats.connects == 2
    lost = np.concatenate(live.rows)
    lost = lost[lost["ev"] == SYNC_LOST_EVENT]
    assert lost["ival"][0] == SyncReason.STALE


async def test_a_quiet_symbol_gets_its_snapshot_stale_after_connecting(tmp_path: Path) -> None:
    # No diff arrives: the feed does not wait for one forever; later diffs bridge the snapshot.
    reference = reference_books(converted(SPOT_BTC_HEAD))
    clock = ManualClock()
    async with binance_rig(tmp_path, feed_config={"stale_after_ms": 2000}, clock=clock) as rig:
        await rig.feed.wait_until(lambda: rig.feed.connected)
        clock.advance(2000 * NS_PER_MS - 1)
        await rig.feed.check_health()
        assert rig.feed.stats.snapshot_requests == 0
        clock.advance(1)
        await rig.feed.check_health()
        await rig.feed.wait_until(lambda: rig.synced)
        assert rig.venue.stats.rest_requests[0].clock_position == 0
        await rig.deliver()
        live = LiveBook(reference)
        live.apply(drain(rig.queue))
        assert rig.feed.stats.snapshot_requests == 1 and rig.normalizer.stats.gaps == 0
    assert len(live.checked) == 1 + 279


async def test_read_timeout_reconnects_a_silent_connection(tmp_path: Path) -> None:
    clock = ManualClock()
    feed_config = {"read_timeout_ms": 4000, "stale_after_ms": 2000, "reconnect_after_stale_ms": 10_000}
    async with binance_rig(tmp_path, feed_config=feed_config, clock=clock) as rig:
        await start_synced(rig)
        clock.advance(4000 * NS_PER_MS)
        await rig.feed.check_health()
        await rig.venue.wait_for_connections(2)
        assert rig.feed.stats.forced_reconnects == 1
        assert rig.normalizer.transitions[-1].reason is SyncReason.DISCONNECT


async def test_binance_pings_are_answered_and_the_feed_pings_too(tmp_path: Path) -> None:
    async with binance_rig(
        tmp_path,
        venue_kwargs={"options": VenueOptions(ping_interval=0.02, pong_timeout=5.0)},
        feed_config={"ping_interval_ms": 20},
    ) as rig:
        await rig.venue.wait_for_connections(1)
        conn = rig.venue.all_connections[0]
        await rig.venue.wait_until(lambda: conn.pongs_received >= 3 and conn.pings_answered >= 2)
        assert conn.open


# -- the REST snapshot ------------------------------------------------------------------------------


async def test_http_429_waits_retry_after_then_syncs(tmp_path: Path) -> None:
    reference = reference_books(converted(SPOT_BTC_HEAD))
    async with binance_rig(tmp_path) as rig:
        rig.venue.faults.rest_error(429, retry_after=7)
        await start_synced(rig)
        await rig.deliver()
        LiveBook(reference).apply(drain(rig.queue))
        assert rig.sleeps.delays == [7.0]
        assert rig.feed.stats.rate_limit_waits == 1 and rig.feed.stats.snapshot_requests == 2
        assert [r.status for r in rig.venue.stats.rest_requests] == [429, 200]


async def test_http_418_stops_the_feed(tmp_path: Path) -> None:
    async with binance_rig(tmp_path, start=False) as rig:
        rig.venue.faults.rest_error(418, retry_after=120, times=5)
        task = asyncio.create_task(rig.feed.run())
        await rig.venue.wait_for_subscription(DEPTH)
        await rig.venue.advance(2)
        with pytest.raises(FeedError, match="HTTP 418") as raised:
            await task
        assert not raised.value.retryable
        assert len(rig.venue.stats.rest_requests) == 1, "no request after a ban"
        assert not rig.synced and not rig.feed.connected
        await rig.venue.wait_for_disconnects(1)


async def test_other_4xx_is_fatal(tmp_path: Path) -> None:
    async with binance_rig(tmp_path, start=False) as rig:
        rig.venue.faults.rest_error(400, code=-1121, msg="Invalid symbol.")
        task = asyncio.create_task(rig.feed.run())
        await rig.venue.wait_for_subscription(DEPTH)
        await rig.venue.advance(2)
        with pytest.raises(FeedError, match=r"HTTP 400.*Invalid symbol"):
            await task


@pytest.mark.parametrize("kind", ["500", "502-html", "malformed"])
async def test_server_errors_and_bad_bodies_are_retried_with_backoff(tmp_path: Path, kind: str) -> None:
    reference = reference_books(converted(SPOT_BTC_HEAD))
    async with binance_rig(tmp_path) as rig:
        faults = rig.venue.faults
        if kind == "500":
            faults.rest_error(500, times=2)
        elif kind == "502-html":
            faults.rest_error(502, body=b"<html><body><h1>502 Bad Gateway</h1></body></html>", times=2)
        else:
            faults.rest_malformed(times=2)
        await start_synced(rig)
        await rig.deliver()
        LiveBook(reference).apply(drain(rig.queue))
        assert rig.feed.stats.snapshot_failures == 2 and rig.feed.stats.connects == 1
        assert len(rig.sleeps.delays) == 2 and all(0 < d <= 0.5 for d in rig.sleeps.delays)
        assert [r.status for r in rig.venue.stats.rest_requests] == [int(kind[:3]) if kind[0] == "5" else 200] * 2 + [
            200
        ]
        if kind == "malformed":
            assert rig.normalizer.stats.decode_errors == 2


async def test_a_rest_transport_error_is_retried_without_dropping_the_socket(tmp_path: Path) -> None:
    async with binance_rig(tmp_path) as rig:
        await rig.venue.wait_for_subscription(DEPTH)
        rig.venue.faults.refuse(0, mode="drop")  # REST and WebSocket share the port; the socket stays open
        rig.sleeps.gate.clear()
        await rig.venue.advance(3)
        await rig.sleeps.wait_calls(1)
        assert rig.feed.stats.snapshot_failures == 1 and not rig.synced
        rig.venue.faults.accept(0)
        rig.sleeps.gate.set()
        await rig.feed.wait_until(lambda: rig.synced)
        assert rig.feed.stats.connects == 1 and rig.feed.stats.snapshot_requests == 2


async def test_a_snapshot_older_than_the_buffered_diffs_is_fetched_again(tmp_path: Path) -> None:
    # USD-M capture: the REST snapshot (line 55, lastUpdateId ...852948) is bridged by diff 4 (line 42).
    # Drop diff 4 and hold the request until diff 5 is buffered: the snapshot the venue serves (the
    # recorded one, since its clock is still before line 55) is then older than the buffered stream.
    reference_rows = converted(head_copy(USDM_BTC, tmp_path / "usdm.gz", USDM_FRAMES))
    async with usdm_rig(tmp_path) as rig:
        venue = rig.venue
        venue.faults.drop(USDM_DEPTH, at=4)
        venue.faults.rest_hold()
        await venue.wait_for_subscription(USDM_DEPTH)
        await venue.advance(1)
        await venue.wait_for_rest_held(1)
        await rig.deliver(53)  # up to line 54: diffs 1-3 and 5 buffered, 4 dropped
        rig.sleeps.gate.clear()
        venue.faults.rest_release()
        await rig.sleeps.wait_calls(1)  # the feed waits to ask again
        assert rig.normalizer.stats.snapshots_too_old == 1 and not rig.synced
        await rig.deliver(10)  # past the recorded snapshot: the venue serves its own, newer book
        rig.sleeps.gate.set()
        await rig.synced_with_venue()
        await rig.deliver()
        live = LiveBook(reference_books(reference_rows))
        live.apply(drain(rig.queue))
        assert rig.feed.stats.snapshot_requests == 2 and rig.feed.stats.snapshot_failures == 1
        assert len(live.checked) > 150


async def test_request_weight_is_respected_across_resyncs(tmp_path: Path) -> None:
    # Spot depth at limit 1000 weighs 50; with 100 allowed per minute the third snapshot of the
    # minute waits for the next one (the clock is 10 s into a minute: a 50 s wait).
    clock = ManualClock(1_723_161_240 * NS_PER_S + 10 * NS_PER_S)
    async with binance_rig(
        tmp_path,
        venue_kwargs={"options": VenueOptions(clock=lambda: clock.now / NS_PER_S)},
        clock=clock,
        weight_limit=100,
    ) as rig:
        rig.venue.faults.drop(DEPTH, at=50)
        rig.venue.faults.drop(DEPTH, at=100)
        await start_synced(rig)
        await rig.deliver_until(DEPTH, 60)
        await rig.synced_with_venue()
        assert rig.sleeps.delays == [] and rig.feed.used_weight == 100
        await rig.deliver_until(DEPTH, 110)
        await rig.synced_with_venue()
        assert [r.weight for r in rig.venue.stats.rest_requests] == [50, 50, 50]
        assert rig.sleeps.delays == [50.0] and rig.feed.stats.rate_limit_waits == 1
        assert rig.feed.used_weight == 50  # the venue's header after the wait: a new minute


# -- the consumer queue -----------------------------------------------------------------------------


async def test_a_full_queue_marks_the_book_out_of_sync_and_it_resyncs_once_drained(tmp_path: Path) -> None:
    reference = reference_books(converted(SPOT_BTC_HEAD))
    async with binance_rig(tmp_path, queue_size=8) as rig:
        live = LiveBook(reference)
        await start_synced(rig)
        live.apply(drain(rig.queue))
        await rig.deliver(400)  # the consumer is not reading: the queue fills
        # the reader never waits for the consumer: it reads every frame sent (``deliver`` counts the REST
        # snapshot among what was read, so it may return one frame early)
        await rig.feed.wait_until(lambda: rig.feed.stats.frames == sent(rig.venue))
        assert rig.feed.stats.overflows == 1 and rig.feed.stats.dropped_batches > 300
        assert rig.normalizer.status.state is SyncState.OUT_OF_SYNC
        assert rig.feed.stats.snapshot_requests == 1, "no resync while the consumer is behind"
        assert rig.queue.full()
        live.apply(drain(rig.queue))
        await rig.feed.check_health()  # the consumer caught up: the feed says so and resyncs
        recovery = rig.queue.get_nowait()
        assert recovery.state is not SyncState.SYNCED
        assert recovery.rows["ev"].tolist()[0] == SYNC_LOST_EVENT
        assert recovery.rows["ival"][0] == SyncReason.BUFFER_OVERFLOW
        live.apply([recovery])
        await rig.feed.wait_until(lambda: rig.synced)
        live.apply(drain(rig.queue))
        for _ in range(40):  # a consumer that keeps up
            await rig.deliver(4)
            live.apply(drain(rig.queue))
        assert rig.feed.stats.snapshot_requests == 2 and rig.feed.stats.overflows == 1
    assert len(live.checked) > 10


async def test_stop_closes_the_connection_and_run_returns(tmp_path: Path) -> None:
    async with binance_rig(tmp_path, start=False) as rig:
        task = asyncio.create_task(rig.feed.run())
        await start_synced(rig)
        rig.feed.stop()
        rig.feed.stop()
        assert await task is None
        await rig.venue.wait_for_disconnects(1)
        assert rig.venue.all_connections[0].close_code == 1000
        last = drain(rig.queue)[-1]
        assert last.state is SyncState.OUT_OF_SYNC and last.rows["ival"][0] == SyncReason.DISCONNECT


async def test_frames_are_stamped_with_the_injected_clock(tmp_path: Path) -> None:
    clock = ManualClock()
    async with binance_rig(tmp_path, clock=clock) as rig:
        await start_synced(rig)
        batches = drain(rig.queue)
        assert batches and {b.local_ts for b in batches} == {clock.now}
        assert all(int(t) == clock.now for b in batches for t in b.rows["local_ts"])
        assert all(0 < b.recv_perf_ns <= time.perf_counter_ns() for b in batches)
