"""``arb record`` of OKX through the fake venue's faults: whatever the venue does (a gap, a duplicate, a
garbled frame, a closed socket, a refused handshake, no WebSocket snapshot, a stall), the feed resyncs, the
recording is written in the collector format and converts with arb's own OKX normalizer into a book that
ends where the venue's did.

The recording replayed is the one the OKX feed tests build from OKX's documented book (spot ``BTC-USDT``,
seeded updates chained by ``seqId``, each with its checksum); a run needs two venues, so Bybit's spot
sample plays beside it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from arb.config import AppConfig, load_config
from arb.events import BUY_EVENT
from arb.live.record import RecordReport, record
from arb.live.session_loop import SessionStart
from arb.recording.convert import convert_files
from arb.sim.bybit.public import FakeBybitVenue
from arb.sim.okx.public import FakeOkxVenue
from arb.sim.options import VenueOptions
from arb.testing.configs import local_endpoints, write_config_files
from connectors.common.feed import MarketDataFeed
from connectors.common.normalizer import SyncState
from tests.integration.test_feeds_bybit import SPOT_SAMPLE
from tests.integration.test_feeds_okx import SPOT, okx_recording
from tests.support.feed_rig import TIMEOUT_S, ManualClock, Sleeps, no_backoff

STREAM = f"books:{SPOT}"


class FeedsWatcher:
    """A watcher of the recording that keeps its feeds (a :class:`~arb.live.session_loop.SessionWatcher`); the
    Hyperliquid recording's test watches with it too."""

    def __init__(self) -> None:
        self.feeds: dict[str, MarketDataFeed] = {}
        self.begun = asyncio.Event()

    def begin(self, start: SessionStart) -> list[str]:
        self.feeds = {feed.name: feed for feed in start.feeds}
        self.begun.set()
        return []

    def halt(self, reason: str) -> None:
        pass

    def after_batch(self, *args: Any, **kwargs: Any) -> None:
        pass

    def tick(self, now: int) -> None:
        pass

    async def run(self) -> None:
        pass

    def end(self, now: int | None) -> None:
        pass

    def record(
        self, config: AppConfig, out_dir: Path, stop: asyncio.Event, **options: Any
    ) -> asyncio.Task[RecordReport]:
        """Start :func:`~arb.live.record.record` of BTCUSDT into ``out_dir`` until ``stop``, with this watcher, no
        status lines, the feed tests' sleeps and no backoff (``options``: record()'s other keywords)."""
        return asyncio.create_task(
            record(config, symbols=["BTCUSDT"], duration_ns=None, out_dir=out_dir, status_interval_ns=None, stop=stop,
                   feed_options={"sleep": Sleeps(), "backoff": no_backoff}, watchers=[self], **options)
        )  # fmt: skip

    async def began(self, task: asyncio.Task[RecordReport], venue: str) -> MarketDataFeed:
        """``venue``'s feed once ``task`` (:meth:`record`) began, or the error it failed with before."""
        await asyncio.wait([task, asyncio.ensure_future(self.begun.wait())], return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            task.result()  # record() failed before it began: its error
        return self.feeds[venue]


def assert_the_venues_book(rows: Any, final: Any) -> None:
    """The book ``rows`` (converted from the recording) leave is the venue's ``final`` one, level by level."""
    bids = sorted(((float(p), float(q)) for p, q in final.bids), reverse=True)
    asks = sorted((float(p), float(q)) for p, q in final.asks)
    book_bids = sorted(((float(r["px"]), float(r["qty"])) for r in rows if r["ev"] & BUY_EVENT), reverse=True)
    book_asks = sorted((float(r["px"]), float(r["qty"])) for r in rows if not r["ev"] & BUY_EVENT)
    assert (book_bids, book_asks) == (bids, asks)


def _gap(venue: FakeOkxVenue) -> None:
    venue.faults.drop(STREAM, at=20)


def _duplicate(venue: FakeOkxVenue) -> None:
    venue.faults.duplicate(STREAM, at=20)


def _garbage(venue: FakeOkxVenue) -> None:
    venue.faults.malformed(STREAM, at=20)


def _close(venue: FakeOkxVenue) -> None:
    venue.faults.close(STREAM, at=15, abrupt=True)


def _refused(venue: FakeOkxVenue) -> None:
    venue.faults.refuse(0)


def _none(venue: FakeOkxVenue) -> None:
    pass


# fault, the fake's keywords, what the recording's conversion counts: (gaps, duplicates, snapshots), and the
# feed's (connections, resyncs): a resync is a book the feed lost and rebuilt from a WebSocket snapshot; without
# those (OKX from 2026 on) the feed rebuilds it from GET /api/v5/market/books, which the recording keeps too
FAULTS: dict[str, tuple[Callable[[FakeOkxVenue], None], dict[str, Any], tuple[int, int, int], tuple[int, int]]] = {
    "gap": (_gap, {}, (1, 0, 2), (1, 1)),
    "duplicate": (_duplicate, {}, (0, 1, 1), (1, 0)),
    "garbage": (_garbage, {}, (1, 0, 2), (1, 1)),
    "close": (_close, {}, (0, 0, 2), (2, 1)),
    "refused handshake": (_refused, {"options": VenueOptions(endpoints=2)}, (0, 0, 1), (1, 0)),
    "no websocket snapshot": (_gap, {"ws_snapshots": False}, (1, 0, 2), (1, 1)),
}


async def _record(
    tmp_path: Path,
    apply: Callable[[FakeOkxVenue], None],
    venue_kwargs: dict[str, Any],
    clock: ManualClock | None = None,
) -> tuple[RecordReport, Any, Any]:
    path = okx_recording(tmp_path / "okx.gz", inst=SPOT)
    async with (
        asyncio.timeout(TIMEOUT_S),
        FakeBybitVenue(SPOT_SAMPLE, market="spot", options=VenueOptions(max_frames=40)) as bybit,
        FakeOkxVenue(path, market="spot", checksums="real", **venue_kwargs) as okx,
    ):
        feed = {"failover_after": 1, "stale_after_ms": 1000, "reconnect_after_stale_ms": 3000}
        config = load_config(write_config_files(
            tmp_path / "config",
            bybit_overrides=local_endpoints(bybit.ws_urls, bybit.rest_url),
            okx_overrides={**local_endpoints(okx.ws_urls, okx.rest_url), "feed": feed},
            arbitrage_overrides={"strategy": {"venues": ["bybit", "okx"]}},
        ))  # fmt: skip
        apply(okx)
        watcher = FeedsWatcher()
        stop = asyncio.Event()
        task = watcher.record(config, tmp_path / "out", stop, **({} if clock is None else {"clock": clock}))
        try:
            feed_ = await watcher.began(task, "okx")
            normalizer = feed_.normalizers["BTCUSDT"]
            await okx.wait_for_subscription(STREAM)
            if clock is not None:  # a stall: the feed is stale, then reconnects and resyncs
                await okx.advance_until(lambda f: f.stream == STREAM and f.stream_index == 8)
                okx.faults.stall()
                clock.advance(3000 * 1_000_000)
                await feed_.check_health()
                await okx.wait_for_connections(2)
                okx.faults.resume()
                await okx.wait_for_subscription(STREAM)

            def at_the_venues() -> bool:
                synced = normalizer.status.state is SyncState.SYNCED
                return synced and normalizer.status.update_id == okx.book("BTCUSDT").update_id

            if clock is None:  # synced before any fault
                await okx.advance_until(lambda f: f.stream == STREAM and f.stream_index == 8)
                await feed_.wait_until(at_the_venues)
            await okx.drain()
            await feed_.wait_until(at_the_venues)
            final = okx.book("BTCUSDT")
            stats = (feed_.stats.connects, normalizer.stats.resyncs)
        finally:
            stop.set()
        report = await task
    return report, final, stats


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_okx_recorded_through_a_fault_converts_to_the_venues_book(tmp_path: Path, fault: str) -> None:
    apply, venue_kwargs, (gaps, duplicates, snapshots), feed = FAULTS[fault]
    report, final, connects_resyncs = await _record(tmp_path, apply, venue_kwargs)
    assert connects_resyncs == feed
    garbled = 1 if fault == "garbage" else 0  # the recorder keeps the frame as it came
    _check_recording(tmp_path, report, final, gaps, duplicates, snapshots, garbled)


async def test_okx_recorded_through_a_stall_converts_to_the_venues_book(tmp_path: Path) -> None:
    clock = ManualClock()
    report, final, (connects, resyncs) = await _record(tmp_path, _none, {}, clock)
    assert (connects, resyncs) == (2, 1)  # stale, then a new connection and its subscription's snapshot
    _check_recording(tmp_path, report, final, 0, 0, 2)


def _check_recording(
    tmp_path: Path, report: RecordReport, final: Any, gaps: int, duplicates: int, snapshots: int, garbled: int = 0
) -> None:
    files = [p for p in report.files if p.parent.name == "okx_spot"]
    assert len(files) == 1 and files[0].name.startswith("btcusdt_")
    result = convert_files(files)
    stats = result.stats
    assert (stats.gaps, stats.duplicates, stats.snapshots) == (gaps, duplicates, snapshots), stats
    assert result.eod.synced and stats.depth_messages > 0 and stats.decode_errors == garbled
    assert_the_venues_book(result.eod.rows, final)
