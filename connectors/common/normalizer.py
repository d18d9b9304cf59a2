"""The contract every venue normalizer keeps, and the bookkeeping they share.

A normalizer is pure: it takes one raw payload (bytes exactly as the socket or the recording gave
them) plus its local receive time in ns, appends hftbacktest event rows to its :class:`RowSink`, and
records book-sync transitions. It does no I/O and reads no clock, so the live feed and the offline
converter run the very same code. A payload that cannot be decoded is logged with its raw text,
counted and skipped; it is never fatal.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Protocol

from arb.events import CLEAR_ALL, SYNC_LOST_EVENT, SYNC_RESTORED_EVENT, SyncReason
from connectors.common.rows import RowSink

_log = logging.getLogger("connectors")

__all__ = [
    "BadPayloadLog",
    "Normalizer",
    "NormalizerStats",
    "SyncState",
    "SyncStatus",
    "SyncTransition",
    "mark_sync_lost",
    "mark_synced",
]


class SyncState(IntEnum):
    """Where a venue's book stands."""

    WAITING_SNAPSHOT = 0
    """No snapshot applied yet (start-up): diffs are buffered (Binance) or dropped (Bybit)."""
    SYNCED = 1
    """The book is the venue's book: every update id chained since the last snapshot."""
    OUT_OF_SYNC = 2
    """Continuity broke; the book was cleared and waits for a new snapshot."""


@dataclass(frozen=True, slots=True)
class SyncTransition:
    """One change of sync state, reported once, with what caused it."""

    venue: str
    symbol: str
    state: SyncState
    local_ts: int
    reason: SyncReason | None = None
    expected_id: int = 0
    """The update id continuity required (for a gap)."""
    got_id: int = 0
    """The update id that arrived instead."""
    update_id: int = 0
    """The book's update id after the transition (snapshot id, or last good id)."""

    def describe(self) -> str:
        """One log line: venue, symbol, new state and why."""
        text = f"{self.venue} {self.symbol}: book {self.state.name.lower()}"
        if self.reason is SyncReason.GAP:
            text += f" (gap: expected update id {self.expected_id}, got {self.got_id})"
        elif self.reason is not None:
            text += f" ({self.reason.name.lower()})"
        if self.state is SyncState.SYNCED:
            text += f" at update id {self.update_id}"
        return text


@dataclass(slots=True)
class NormalizerStats:
    """Counters a normalizer keeps; the feed's status line and the converter's report print them."""

    messages: int = 0
    depth_messages: int = 0
    trade_messages: int = 0
    bbo_messages: int = 0
    snapshots: int = 0
    control_messages: int = 0
    """Subscription acks, pongs and other replies that carry no market data."""
    decode_errors: int = 0
    unknown_streams: int = 0
    other_symbols: int = 0
    duplicates: int = 0
    """Diffs whose update ids were already applied: dropped, never re-applied."""
    gaps: int = 0
    resyncs: int = 0
    """Snapshots applied after a gap (not counting the first)."""
    buffered: int = 0
    """Diffs held while a snapshot was awaited."""
    dropped_covered: int = 0
    """Buffered diffs the snapshot already contained."""
    dropped_unsynced: int = 0
    """Diffs dropped because the book was out of sync and they could not be buffered."""
    snapshots_too_old: int = 0
    unknown_stream_names: set[str] = field(default_factory=set)

    def as_dict(self) -> dict[str, int]:
        """Counters as a plain dict (for JSON reports)."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__ if name != "unknown_stream_names"}


@dataclass(slots=True)
class SyncStatus:
    """What the view needs to know about a venue's book."""

    state: SyncState = SyncState.WAITING_SNAPSHOT
    update_id: int = 0
    """Last update id applied to the book."""
    last_depth_local_ts: int = 0
    """Local receive time of the last depth message applied."""
    last_depth_exch_ts: int = 0


class Normalizer(Protocol):
    """What the feed and the converter rely on."""

    venue: str
    market: str
    symbol: str
    sink: RowSink
    stats: NormalizerStats
    status: SyncStatus
    transitions: list[SyncTransition]

    def on_message(self, payload: bytes, local_ts: int) -> None:
        """Decode one raw payload received at ``local_ts`` (ns) and append its rows to ``sink``."""

    @property
    def needs_snapshot(self) -> bool:
        """True when the book waits for a snapshot the feed must fetch (REST or resubscribe)."""


class BadPayloadLog:
    """Logs bad payloads with their raw text without letting a flood of them drown the log.

    The first ``burst`` are logged in full (up to ``max_chars``), then one in every ``every``.
    """

    __slots__ = ("burst", "every", "logger", "max_chars", "seen")

    def __init__(self, logger: logging.Logger, burst: int = 20, every: int = 1000, max_chars: int = 4096) -> None:
        self.logger = logger
        self.burst = burst
        self.every = every
        self.max_chars = max_chars
        self.seen = 0

    def __call__(self, what: str, payload: bytes, local_ts: int, error: object) -> None:
        """Log one bad payload (``what`` says which check it failed)."""
        self.seen += 1
        if self.seen <= self.burst or self.seen % self.every == 0:
            raw = payload[: self.max_chars].decode("utf-8", "replace")
            self.logger.warning("%s at local_ts=%d (%s; %d so far): %s", what, local_ts, error, self.seen, raw)


def mark_sync_lost(
    n: Normalizer, reason: SyncReason, exch_ts: int, local_ts: int, expected: int = 0, got: int = 0
) -> SyncTransition:
    """Leave SYNCED: append ``SYNC_LOST_EVENT`` (``ival`` = reason, ``order_id`` = last good update id)
    and ``CLEAR_ALL``, set the status and record the transition. Every venue does this the same way."""
    last_good = n.status.update_id
    n.sink.one(SYNC_LOST_EVENT, exch_ts, local_ts, 0.0, 0.0, order_id=last_good, ival=int(reason))
    n.sink.one(CLEAR_ALL, exch_ts, local_ts, 0.0, 0.0)
    n.status.state = SyncState.OUT_OF_SYNC
    transition = SyncTransition(
        n.venue, n.symbol, SyncState.OUT_OF_SYNC, local_ts, reason, expected_id=expected, got_id=got,
        update_id=last_good,
    )  # fmt: skip
    n.transitions.append(transition)
    return transition


def mark_synced(n: Normalizer, exch_ts: int, local_ts: int, update_id: int) -> SyncTransition:
    """Enter SYNCED: append ``SYNC_RESTORED_EVENT`` (``order_id`` = the update id), set the status and
    record (and log) the transition."""
    n.sink.one(SYNC_RESTORED_EVENT, exch_ts, local_ts, 0.0, 0.0, order_id=update_id)
    n.status.state = SyncState.SYNCED
    transition = SyncTransition(n.venue, n.symbol, SyncState.SYNCED, local_ts, update_id=update_id)
    n.transitions.append(transition)
    _log.info(transition.describe())
    return transition
