"""Helpers shared by the feed and recording integration tests: a driven clock and sleep, the rig that
points a real feed at a fake venue, the live book built from published batches, and the offline
reference it is compared with."""

from __future__ import annotations

import asyncio
import gzip
import itertools
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from arb.book import OrderBook
from arb.config import VenueConfig, load_config
from arb.events import (
    DEPTH_CLEAR_EVENT,
    DEPTH_EVENT,
    DEPTH_SNAPSHOT_EVENT,
    EXCH_EVENT,
    LOCAL_EVENT,
    NS_PER_MS,
    NS_PER_S,
    TRADE_EVENT,
    EventArray,
    event_dtype,
)
from arb.recording.convert import convert_files
from arb.sim import FakeVenue, FaultKind
from arb.testing.configs import local_endpoints, write_config_files
from connectors.common.feed import MarketDataFeed
from connectors.common.feed_parts import FeedBatch
from connectors.common.normalizer import SyncState
from connectors.common.record_files import LineReader, format_line
from tests.support.captures import kind_of, of_kind

TIMEOUT_S = 120.0
"""A guard against a test that hangs, not a timing assertion: a busy 2-core machine (or a first compile of a
normalizer inside the test) has taken a healthy test past 10 s."""
TOP = 25
MINUTE_NS = 60 * NS_PER_S


class ManualClock:
    """A wall clock the test moves by hand (int ns since the epoch)."""

    def __init__(self, start_ns: int = 1_723_161_250 * NS_PER_S) -> None:
        self.now = start_ns

    def __call__(self) -> int:
        return self.now

    def advance(self, ns: int) -> None:
        self.now += ns


class Sleeps:
    """An injected ``sleep``: records every delay asked for (seconds) and returns at once, or when
    ``gate`` is set if a test cleared it. With a ``clock``, the wait moves that clock forward."""

    def __init__(self, clock: ManualClock | None = None) -> None:
        self.delays: list[float] = []
        self.clock = clock
        self.gate = asyncio.Event()
        self.gate.set()
        self._called = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        if self.clock is not None:
            self.clock.advance(round(seconds * NS_PER_S))
        self._called.set()
        await self.gate.wait()
        await asyncio.sleep(0)

    async def wait_calls(self, n: int) -> None:
        while len(self.delays) < n:
            self._called.clear()
            await self._called.wait()


class Waits:
    """An injected sleep: records each wait (seconds) and returns at once."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)
        await asyncio.sleep(0)


def no_backoff() -> Iterator[int]:
    """A reconnect schedule of zeros (the injected sleep records them)."""
    return itertools.repeat(0)


def venue_config(
    tmp_path: Path,
    venue: str,
    ws: list[str],
    rest: str,
    *,
    market: str,
    feed: dict[str, Any] | None = None,
) -> VenueConfig:
    """A loaded venue configuration pointing at a fake venue (``feed`` in TOML spelling, ``*_ms``)."""
    overrides = local_endpoints(ws, rest, market=market)
    if feed:
        overrides["feed"] = feed
    run = {"strategy": {"venues": ["binance", "bybit", *([venue] if venue not in ("binance", "bybit") else [])]}}
    path = write_config_files(tmp_path / "config", arbitrage_overrides=run, **{f"{venue}_overrides": overrides})
    config: VenueConfig = load_config(path).venue(venue)
    return config


@asynccontextmanager
async def running(feed: MarketDataFeed) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``feed`` in a task group; stop it and await it on the way out."""
    async with asyncio.TaskGroup() as tasks:
        task = tasks.create_task(feed.run(), name=f"test-{feed.name}-feed")
        try:
            yield task
        finally:
            feed.stop()


@asynccontextmanager
async def feed_rig(
    tmp_path: Path,
    venue_type: type[FakeVenue],
    feed_type: Any,
    recording: Any,
    *,
    market: str,
    symbols: tuple[str, ...],
    venue_kwargs: dict[str, Any] | None = None,
    feed_config: dict[str, Any] | None = None,
    queue_size: int = 100_000,
    ws: Callable[[Any], list[str]] | None = None,
    rest: Callable[[Any], str] | None = None,
    start: bool = True,
    **feed_kwargs: Any,
) -> AsyncIterator[Rig]:
    """A fake venue of ``venue_type`` replaying ``recording`` and the real feed ``feed_type`` on
    ``symbols`` pointed at it, in a ``Rig``, all bounded by ``TIMEOUT_S``.

    The configuration names the venue's own endpoints, or those ``ws`` and ``rest`` pick from it, and
    ``feed_config`` (TOML spelling). The feed publishes to a queue of ``queue_size`` batches, waits with
    an injected sleep that records its waits (driven by the ``clock`` keyword where that is a
    ``ManualClock``), reports no health; ``feed_kwargs`` go to the feed. Running unless ``start`` is
    false; stopped on the way out."""
    async with asyncio.timeout(TIMEOUT_S), venue_type(recording, market=market, **(venue_kwargs or {})) as venue:
        ws_urls = ws(venue) if ws else venue.ws_urls
        rest_url = rest(venue) if rest else venue.rest_url
        config = venue_config(tmp_path, venue.venue_name, ws_urls, rest_url, market=market, feed=feed_config)
        queue: asyncio.Queue[FeedBatch] = asyncio.Queue(queue_size)
        clock = feed_kwargs.get("clock")
        sleeps = Sleeps(clock if isinstance(clock, ManualClock) else None)
        options: dict[str, Any] = {"queue": queue, "sleep": sleeps, "health_interval_ns": None, **feed_kwargs}
        rig = Rig(venue, feed_type(config, symbols, **options), queue, sleeps, config)
        if not start:
            yield rig
            return
        async with running(rig.feed):
            yield rig


def recording(path: Path, out_dir: Path, stop: asyncio.Event, sleep: Sleeps, **options: Any) -> asyncio.Task[Any]:
    """``record`` of BTCUSDT with the configuration at ``path`` into ``out_dir``, as a task that ends
    once ``stop`` is set: no timed status lines, the feeds waiting through ``sleep`` with no reconnect
    backoff; ``options`` go to ``record``."""
    from arb.live.record import record

    return asyncio.create_task(
        record(
            load_config(path),
            symbols=["BTCUSDT"],
            duration_ns=None,
            out_dir=out_dir,
            status_interval_ns=None,
            stop=stop,
            feed_options={"sleep": sleep, "backoff": no_backoff},
            **options,
        )
    )


def drain(queue: asyncio.Queue[FeedBatch]) -> list[FeedBatch]:
    """Every batch waiting in ``queue``, in order."""
    out = []
    while not queue.empty():
        out.append(queue.get_nowait())
    return out


def sent(venue: FakeVenue) -> int:
    """Frames the venue wrote to all connections so far (data frames, duplicates included)."""
    return sum(c.frames_sent for c in venue.all_connections)


def top(book: OrderBook, levels: int = TOP) -> tuple[bytes, ...]:
    """The best ``levels`` of each side (bid prices, bid sizes, ask prices, ask sizes) as raw float64s."""
    bid_px, bid_qty = book.bids(levels)
    ask_px, ask_qty = book.asks(levels)
    return bid_px.tobytes(), bid_qty.tobytes(), ask_px.tobytes(), ask_qty.tobytes()


_BOOK_KINDS = (DEPTH_EVENT, DEPTH_SNAPSHOT_EVENT, DEPTH_CLEAR_EVENT)


def _runs(rows: EventArray) -> list[tuple[int, int]]:
    # (update id, index of the last row) of each run of book rows sharing ``ival``, in order.
    where = np.flatnonzero(np.isin(kind_of(rows), _BOOK_KINDS))
    out: list[tuple[int, int]] = []
    for i in where.tolist():
        uid = int(rows["ival"][i])
        if out and out[-1][0] == uid:
            out[-1] = (uid, i)
        else:
            out.append((uid, i))
    return out


def reference_books(rows: EventArray, levels: int = TOP) -> dict[int, tuple[bytes, ...]]:
    """Top levels after each depth update id of converted rows (their local side, in local order)."""
    local = rows[(rows["ev"] & LOCAL_EVENT) != 0]
    book = OrderBook()
    out = {}
    start = 0
    for uid, end in _runs(local):
        book.apply(local[start : end + 1])
        start = end + 1
        out[uid] = top(book, levels)
    return out


def trades(rows: EventArray) -> list[tuple[int, int, float, float, int]]:
    """(kind and side, exch_ts, px, qty, trade id) of every trade row (local side of converted rows)."""
    if np.any(rows["ev"] & LOCAL_EVENT):
        rows = rows[(rows["ev"] & LOCAL_EVENT) != 0]
    picked = of_kind(rows, TRADE_EVENT)
    ev = picked["ev"] & ~np.uint64(EXCH_EVENT | LOCAL_EVENT)
    return list(
        zip(
            ev.tolist(),
            picked["exch_ts"].tolist(),
            picked["px"].tolist(),
            picked["qty"].tolist(),
            picked["ival"].tolist(),
            strict=True,
        )
    )


class LiveBook:
    """Applies a feed's batches in order, as a consumer would, and checks each against the reference."""

    def __init__(self, reference: dict[int, tuple[bytes, ...]], levels: int = TOP) -> None:
        self.reference = reference
        self.levels = levels
        self.book = OrderBook()
        self.checked: list[int] = []
        """Update ids at which the live book was compared (and equal)."""
        self.rows: list[EventArray] = []

    def apply(self, batches: list[FeedBatch]) -> None:
        for batch in batches:
            self.rows.append(batch.rows)
            rows = batch.rows
            if batch.state is not SyncState.SYNCED:
                self.book.apply(rows)
                assert self.book.bid_levels == 0 and self.book.ask_levels == 0, (
                    f"book not empty while {batch.state.name} after update id {batch.update_id}"
                )
                continue
            start = 0
            for uid, end in _runs(rows):
                self.book.apply(rows[start : end + 1])
                start = end + 1
                assert uid in self.reference, f"update id {uid} is not in the capture"
                assert top(self.book, self.levels) == self.reference[uid], f"live book differs at update id {uid}"
                self.checked.append(uid)
            self.book.apply(rows[start:])

    @property
    def all_rows(self) -> EventArray:
        return np.concatenate(self.rows) if self.rows else np.zeros(0, event_dtype)


def head_copy(src: Path, dst: Path, lines: int) -> Path:
    """The first ``lines`` lines of a recording as a new gzip file (what a venue with max_frames replays)."""
    with gzip.open(dst, "wb") as out:
        for i, (ts, payload) in enumerate(LineReader(src)):
            if i >= lines:
                break
            out.write(format_line(ts, payload))
    return dst


def converted(path: Path) -> EventArray:
    """The offline conversion of a capture (hftbacktest rows, EXCH/LOCAL flags, local side ordered)."""
    return convert_files([path], include_bbo=False, with_eod=False).rows


@dataclass
class Rig:
    """A fake venue and the real feed pointed at it (any venue)."""

    venue: Any
    feed: Any
    queue: asyncio.Queue[FeedBatch]
    sleeps: Sleeps
    config: VenueConfig

    @property
    def normalizer(self) -> Any:
        return self.feed.normalizers[self.feed.symbols[0]]

    def received(self) -> int:
        """Data frames the feed has read (Bybit replies, acks and pongs, are not data frames)."""
        return sum(n.stats.messages - n.stats.control_messages for n in self.feed.normalizers.values())

    @property
    def synced(self) -> bool:
        return self.normalizer.status.state is SyncState.SYNCED

    async def deliver(self, n: int | None = None, extra: int = 0) -> None:
        """Release ``n`` frames (all when ``None``) and wait until the feed has read every frame sent."""
        if n is None:
            await self.venue.drain()
        else:
            await self.venue.advance(n)
        want = sent(self.venue) + extra
        await self.feed.wait_until(lambda: self.received() >= want)

    async def deliver_until(self, stream: str, index: int) -> None:
        """Release frames up to frame ``index`` of ``stream`` and wait until the feed has read them."""
        await self.venue.advance_until(lambda f: f.stream == stream and f.stream_index == index)
        want = sent(self.venue)
        await self.feed.wait_until(lambda: self.received() >= want)

    async def stale_after_running(
        self, start: Callable[[Rig], Awaitable[None]], frames: int, clock: ManualClock, stale_after_ms: int
    ) -> None:
        """Start the feed (``start``) and release ``frames`` frames, then stall the venue and drive
        ``clock`` through ``stale_after_ms``: the symbol is not stale 1 ns before it, and is at it."""
        await start(self)
        await self.deliver(frames)
        symbol = self.feed.symbols[0]
        self.venue.faults.stall()
        clock.advance(stale_after_ms * NS_PER_MS - 1)
        await self.feed.check_health()
        assert not self.feed.is_stale(symbol)
        clock.advance(1)
        await self.feed.check_health()
        assert self.feed.is_stale(symbol)

    async def renewed(self, clock: ManualClock, advance_ns: int, stream: str) -> None:
        """Drive ``clock`` on by ``advance_ns`` and check the feed's health: it opens a second connection;
        then the venue resumes and the feed subscribes to ``stream`` again."""
        clock.advance(advance_ns)
        await self.feed.check_health()
        await self.venue.wait_for_connections(2)
        self.venue.faults.resume()
        await self.venue.wait_for_subscription(stream)

    async def synced_with_venue(self) -> None:
        """Wait until the book is synced at the venue's own latest update id."""
        symbol = self.feed.symbols[0]
        await self.feed.wait_until(
            lambda: self.synced and self.normalizer.status.update_id == self.venue.book(symbol).update_id
        )


async def recovered_from(
    rig: Rig,
    reference: dict[int, tuple[bytes, ...]],
    fault: str,
    stream: str,
    *,
    at: int,
    through: int,
    start: Callable[[Rig], Awaitable[None]],
    extra: int = 0,
) -> LiveBook:
    """The stream fault ``fault`` injected at frame ``at`` of ``stream``, the feed started (``start``),
    the frames through ``through`` and then the rest released (``extra``: frames the feed reads beyond
    those sent), the book awaited back in sync with the venue after each: the fault happened once.
    Returns the live book of every batch, checked against ``reference``."""
    getattr(rig.venue.faults, fault)(stream, at=at)
    await start(rig)
    await rig.deliver_until(stream, through)
    await rig.synced_with_venue()
    await rig.deliver(extra=extra)
    await rig.synced_with_venue()
    live = LiveBook(reference)
    live.apply(drain(rig.queue))
    assert rig.venue.faults.count(FaultKind(fault)) == 1
    return live


def prefixed_copy(src: Path, dst: Path) -> Path:
    """The archive lines with a collector time prefix (the message's ``ts``), so they convert."""
    with gzip.open(dst, "wb") as out:
        for line in src.read_bytes().splitlines():
            if line.strip():
                out.write(format_line(json.loads(line)["ts"] * NS_PER_MS, line))
    return dst
