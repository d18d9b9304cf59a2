"""The market-data feed's types and helpers: what a batch carries, its counters and options, the
reconnect schedule, the one rule that classifies a feed's failures, how symbols share connections.

:mod:`connectors.common.feed` holds the feed itself (see its docstring for the frame path, the queue
contract and the failures) and re-exports every name here.
"""

from __future__ import annotations

__all__ = [
    "BackoffSchedule",
    "Clock",
    "FeedBatch",
    "FeedNormalizer",
    "FeedOptions",
    "FeedStats",
    "RawSink",
    "Sleep",
    "SymbolState",
    "TimingHook",
    "connection_groups",
    "exponential_backoff",
    "feed_error",
]

import asyncio
import random
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, TypedDict

import aiohttp
from websockets.exceptions import (
    ConnectionClosed,
    InvalidHandshake,
    InvalidProxy,
    InvalidStatus,
    InvalidURI,
)

from arb.errors import ArbError, FeedError
from arb.events import EventArray, SyncReason
from connectors.common.normalizer import Normalizer, SyncState

Clock = Callable[[], int]
"""Wall-clock time in int ns since the Unix epoch (``time.time_ns``)."""
Sleep = Callable[[float], Awaitable[None]]
"""Wait for a number of seconds (``asyncio.sleep``): reconnect delays, REST retries, Retry-After."""
BackoffSchedule = Callable[[], Iterator[int]]
"""Makes a fresh iterator of reconnect delays in ns; the feed takes a new one after a good session."""
TimingHook = Callable[[bool, int, int], None]
"""Called per frame with ``(is_depth, receipt_to_rows_ns, normalize_ns)``: the time from the frame's
receipt to its rows (recording included) and the time of ``on_message`` + ``sink.take()`` alone."""
_RETRYABLE_HTTP = frozenset({408, 425, 429, 500, 502, 503, 504})


class RawSink(Protocol):
    """Where raw frames go before parsing (``arb.recording.recorder.Recorder`` is one)."""

    def write(
        self, venue: str, market: str, symbol: str, local_ts: int, payload: bytes, *, settle: bool = True
    ) -> None:
        """Store ``payload`` (bytes as received) received at ``local_ts`` ns for one venue/market/symbol;
        with ``settle=False`` only buffer it (the slow part waits for :meth:`settle`)."""

    def settle(self) -> None:
        """Do the compression and flushing the buffered frames call for."""


class FeedNormalizer(Normalizer, Protocol):
    """The normalizer contract plus what a feed needs on top: marking the book lost from outside."""

    def lose_sync(self, reason: SyncReason, local_ts: int) -> None:
        """Mark the book out of sync (disconnect, stale, overflow); emits the clear rows if it was synced."""


@dataclass(frozen=True, slots=True)
class FeedBatch:
    """The rows of one frame (or one status change) of one venue and symbol; see the module docstring."""

    venue: int
    symbol: str
    rows: EventArray
    local_ts: int
    state: SyncState
    stale: bool
    update_id: int
    recv_perf_ns: int


@dataclass(slots=True)
class FeedStats:
    """Counters of one feed (the normalizers keep the per-message ones: gaps, duplicates, ...)."""

    frames: int = 0
    """WebSocket messages received (REST snapshot bodies not included)."""
    bytes_received: int = 0
    """Payload bytes of those messages."""
    attempts: int = 0
    """Connection attempts, whether they connected or not."""
    connects: int = 0
    """Connections established."""
    failed_attempts: int = 0
    """Connection attempts that failed before the handshake completed."""
    disconnects: int = 0
    failovers: int = 0
    """Moves to the next ``endpoints.ws`` URL."""
    forced_reconnects: int = 0
    """Connections the feed closed itself (stale, read timeout, no usable snapshot)."""
    stale_events: int = 0
    """Times a symbol became stale."""
    snapshot_requests: int = 0
    """REST snapshot requests sent (Binance)."""
    snapshot_failures: int = 0
    """REST snapshots that failed (HTTP error, transport error) or did not sync the book."""
    rate_limit_waits: int = 0
    """Waits for the request weight to free up, or for a 429's Retry-After (Binance)."""
    resubscribes: int = 0
    """Book resubscriptions after a gap (Bybit)."""
    overflows: int = 0
    """Times the consumer queue was full."""
    dropped_batches: int = 0
    """Batches not published because the queue was full or recovering."""

    @property
    def reconnects(self) -> int:
        """Connection attempts after the first, whether they connected or not: a venue that refuses
        every attempt shows them all, not 0."""
        return max(0, self.attempts - 1)


def exponential_backoff(
    initial_ns: int,
    max_ns: int,
    *,
    factor: float = 2.0,
    jitter: float = 0.5,
    rng: random.Random | None = None,
) -> BackoffSchedule:
    """A reconnect schedule: delay ``k`` is ``min(max_ns, initial_ns * factor**k)`` scaled by a uniform
    factor in ``[1 - jitter, 1]`` (so many clients do not reconnect in step). Delays are int ns."""
    if not 0.0 <= jitter <= 1.0:
        raise ValueError(f"jitter must be within [0, 1], got {jitter}")
    source = rng if rng is not None else random.Random()

    def schedule() -> Iterator[int]:
        delay = float(initial_ns)
        while True:
            yield int(min(delay, max_ns) * (1.0 - jitter * source.random()))
            delay = min(delay * factor, float(max_ns))

    return schedule


def feed_error(venue: str, exc: BaseException) -> FeedError | None:
    """What ``exc`` means for a feed: a :class:`FeedError` whose ``retryable`` is the decision, or
    ``None`` when it is no feed failure at all (a bug, a cancellation) and must propagate unchanged.

    This is the only place that classifies failures; callers ask :func:`arb.errors.is_retryable`.
    """
    if isinstance(exc, FeedError):
        return exc
    if isinstance(exc, ArbError):
        return FeedError(venue, str(exc), retryable=False)
    if isinstance(exc, ConnectionClosed):
        code = exc.rcvd.code if exc.rcvd is not None else 1006
        reason = exc.rcvd.reason if exc.rcvd is not None else "no close frame"
        return FeedError(venue, f"connection closed (code {code}: {reason or 'no reason'})")
    if isinstance(exc, InvalidURI | InvalidProxy):
        return FeedError(venue, f"bad endpoint: {exc}", retryable=False)
    if isinstance(exc, InvalidStatus):
        status = exc.response.status_code
        retryable = status in _RETRYABLE_HTTP or status >= 500
        return FeedError(venue, f"WebSocket upgrade refused with HTTP {status}", retryable=retryable)
    if isinstance(exc, InvalidHandshake):
        return FeedError(venue, f"WebSocket handshake failed: {exc}")
    if isinstance(exc, aiohttp.ClientError | TimeoutError | OSError):
        return FeedError(venue, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    return None


class SymbolState:
    """Per-symbol state of a feed (for the venue subclasses): its normalizer, staleness and what was
    last published about it."""

    __slots__ = (
        "last_depth_rx_ns",
        "normalizer",
        "sent_stale",
        "sent_state",
        "stale",
        "stale_since_ns",
        "symbol",
    )

    def __init__(self, symbol: str, normalizer: FeedNormalizer) -> None:
        self.symbol = symbol
        self.normalizer = normalizer
        self.last_depth_rx_ns = 0
        self.stale = False
        self.stale_since_ns = 0
        self.sent_state = normalizer.status.state
        self.sent_stale = False


class FeedOptions(TypedDict, total=False):
    """The keyword options every feed takes (see :class:`MarketDataFeed`)."""

    queue: asyncio.Queue[FeedBatch] | None
    recorder: RawSink | None
    clock: Clock
    sleep: Sleep
    backoff: BackoffSchedule | None
    include_bbo: bool
    health_interval_ns: int | None
    timing_hook: TimingHook | None
    venue_id: int


def connection_groups(
    symbols: Sequence[str], streams: Callable[[str], Sequence[str]], max_streams: int, max_chars: int | None
) -> list[list[str]]:
    """``symbols`` in order, cut into the fewest runs whose streams number at most ``max_streams`` and,
    joined with ``/``, take at most ``max_chars`` characters (None: no such limit). A symbol whose own
    streams exceed a limit gets a connection of its own."""
    groups: list[list[str]] = []
    count = chars = 0
    for symbol in symbols:
        own = streams(symbol)
        size = sum(len(name) + 1 for name in own)
        fits = count + len(own) <= max_streams and (max_chars is None or chars + size <= max_chars)
        if not groups or not fits:
            groups.append([])
            count = chars = 0
        groups[-1].append(symbol)
        count += len(own)
        chars += size
    return groups
