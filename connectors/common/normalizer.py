"""The contract every venue normalizer keeps, and the bookkeeping they share.

A normalizer is pure: it takes one raw payload (bytes exactly as the socket or the recording gave
them) plus its local receive time in ns, appends hftbacktest event rows to its :class:`RowSink`, and
records book-sync transitions. It does no I/O and reads no clock, so the live feed and the offline
converter run the very same code. A payload that cannot be decoded is logged with its raw text,
counted and skipped; it is never fatal.

What a normalizer logs about its input (bad payloads, unknown streams, sync transitions) is for the
live feeds, and never one line per message: a few, then a count. A converter turns it off
(``echo = False``) and prints one summary of the counts and samples at the end instead.
"""

from __future__ import annotations

__all__ = [
    "DECODED_DEPTH",
    "DECODED_GAP",
    "DECODE_ERRORS",
    "BadPayload",
    "BadPayloadLog",
    "BookSync",
    "Normalizer",
    "NormalizerOptions",
    "NormalizerStats",
    "SyncState",
    "SyncStatus",
    "SyncTransition",
    "VenueNormalizer",
    "exchange_ns",
    "mark_sync_lost",
    "mark_synced",
    "note_unknown",
    "warm_up_rows",
]

import logging
from collections.abc import Callable, Sequence
from dataclasses import KW_ONLY, dataclass, field
from enum import IntEnum
from typing import Any, Final, Generic, Protocol, TypedDict, TypeVar

import msgspec
import numpy as np
import numpy.typing as npt

from arb.events import (
    CLEAR_ALL,
    DEPTH_ASK,
    DEPTH_BID,
    NS_PER_MS,
    SNAPSHOT_ASK,
    SNAPSHOT_BID,
    SYNC_LOST_EVENT,
    SYNC_RESTORED_EVENT,
    SyncReason,
)
from connectors.common.funding import PerpState
from connectors.common.levels import parse_levels, parse_levels_plain
from connectors.common.rows import LevelArray, RowSink

_log = logging.getLogger("connectors")

_UNKNOWN_LOGGED = 3
"""Unknown stream names logged by name; the rest are only counted."""
_NO_SYMBOL = np.zeros(0, np.uint8)
_INT64_MAX = (1 << 63) - 1
_SCAN_DONE = 0
"""What a venue's compiled frame scan answers for a frame it settled (each ``fastscan.DONE``)."""
K = TypeVar("K")

DECODE_ERRORS: Final = (msgspec.DecodeError, ValueError, TypeError, IndexError, OverflowError)
"""What decoding a payload that is not what it should be raises: caught, counted, logged (the first few) and
skipped (:meth:`VenueNormalizer.decode`); never fatal."""


class SyncState(IntEnum):
    """Where a venue's book stands."""

    WAITING_SNAPSHOT = 0
    """No snapshot applied yet (start-up): diffs are buffered (Binance) or dropped (Bybit)."""
    SYNCED = 1
    """The book is the venue's book: every update id chained since the last snapshot."""
    OUT_OF_SYNC = 2
    """Continuity broke; the book was cleared and waits for a new snapshot."""


class BookSync:
    """What every venue's order-book synchronisation keeps (the venue's state machine subclasses it):
    where the book stands and the last update id applied to it. No I/O, no rows."""

    __slots__ = ("last_update_id", "state")

    def __init__(self) -> None:
        self.state = SyncState.WAITING_SNAPSHOT
        self.last_update_id = 0

    @property
    def synced(self) -> bool:
        """True while the book is the venue's book."""
        return self.state is SyncState.SYNCED

    def resume(self, last_update_id: int) -> None:
        """Start synced at ``last_update_id`` (from an end-of-day snapshot of the previous file)."""
        self.state = SyncState.SYNCED
        self.last_update_id = last_update_id

    def lose_sync(self) -> None:
        """Mark the book out of sync from outside (disconnect, stale feed)."""
        self.state = SyncState.OUT_OF_SYNC


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
    mark_messages: int = 0
    """Mark-price and funding messages: Binance ``markPriceUpdate``, Bybit tickers carrying mark or
    funding fields (a Bybit ticker counts in ``bbo_messages`` too)."""
    funding_rollovers: int = 0
    """Funding times seen to pass (``FUNDING_SETTLED_EVENT`` rows)."""
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

    def applied(self, update_id: int, local_ts: int, exch_ts: int) -> None:
        """Note a depth message applied to the book: its last update id, its local and exchange times."""
        self.update_id = update_id
        self.last_depth_local_ts = local_ts
        self.last_depth_exch_ts = exch_ts


DECODED_DEPTH: Final = 1
"""In what :meth:`Normalizer.on_message` returns: a depth message of the normalizer's symbol (one of
another symbol on the same socket is not)."""
DECODED_GAP: Final = 2
"""In what :meth:`Normalizer.on_message` returns: its update ids broke the book's continuity (the book
left SYNCED). Plain int bits, not an ``IntFlag``: the feed reads them for every frame, and an ``IntFlag``'s
``&`` costs half a microsecond."""


class Normalizer(Protocol):
    """What the feed and the converter rely on."""

    venue: str
    market: str
    symbol: str
    sink: RowSink
    stats: NormalizerStats
    status: SyncStatus
    transitions: list[SyncTransition]
    echo: bool
    """Log what it meets (live feeds); False leaves it to the caller's summary (converters)."""

    def on_message(self, payload: bytes, local_ts: int) -> int:
        """Decode one raw payload received at ``local_ts`` (ns), append its rows to ``sink``, and say
        what it was (:data:`DECODED_DEPTH`, :data:`DECODED_GAP`, or'ed; 0: neither)."""

    @property
    def needs_snapshot(self) -> bool:
        """True when the book waits for a snapshot the feed must fetch (REST or resubscribe)."""


SAMPLE_CHARS = 120
"""Characters of a bad payload kept in a sample."""


@dataclass(frozen=True, slots=True)
class BadPayload:
    """One bad payload kept as a sample."""

    local_ts: int
    error: str
    raw: str
    """The payload's text, cut to :data:`SAMPLE_CHARS` (marked with ``...`` when cut)."""


@dataclass(slots=True, eq=False)
class BadPayloadLog:
    """Counts bad payloads and keeps the first ``burst`` as samples, without letting a flood drown the log.

    With ``echo`` (the live feeds) it also logs the first ``burst`` with their raw text (up to
    ``max_chars``), then one in every ``every`` with the count so far. Without it, it logs nothing:
    the caller prints one summary from :attr:`seen` and :attr:`samples`.
    """

    logger: logging.Logger
    burst: int = 3
    every: int = 1000
    max_chars: int = 1000
    _: KW_ONLY
    echo: bool = True
    seen: int = field(default=0, init=False)
    samples: list[BadPayload] = field(default_factory=list, init=False)

    def __call__(self, what: str, payload: bytes, local_ts: int, error: object) -> None:
        """Count one bad payload (``what`` says which check it failed); log it if it is one of the first."""
        self.seen += 1
        if len(self.samples) < self.burst:
            text = payload[: SAMPLE_CHARS + 1].decode("utf-8", "replace")
            if len(text) > SAMPLE_CHARS:
                text = text[: SAMPLE_CHARS - 3] + "..."
            self.samples.append(BadPayload(local_ts, str(error), text))
        if self.echo and (self.seen <= self.burst or self.seen % self.every == 0):
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
    if n.echo:
        _log.info(transition.describe())
    return transition


def warm_up_rows() -> None:
    """Load the compiled code every normalizer runs (from Numba's cache, or compile it): the level
    parser and the sink's row expansion. A venue's warm-up adds its frame scan."""
    parse_levels(b'[["1","1"]]')
    sink = RowSink()
    sink.one(0, 0, 0, 0.0, 0.0)
    sink.take()


def note_unknown(n: Normalizer, name: str, logger: logging.Logger, what: str) -> None:
    """Remember an unknown stream or topic ``name``; log the first few names (with ``echo``), never more."""
    names = n.stats.unknown_stream_names
    if name in names:
        return
    names.add(name)
    if n.echo and len(names) <= _UNKNOWN_LOGGED:
        more = " (further unknown names are only counted)" if len(names) == _UNKNOWN_LOGGED else ""
        logger.warning("%s: ignoring unknown %s %r%s", n.venue, what, name, more)


def exchange_ns(time_ms: int, what: str) -> int:
    """An exchange time of ``time_ms`` (ms since the epoch) in ns; ``ValueError`` ``"<what> out of range: <time_ms>"``
    when it is not after the epoch or does not fit an int64 in ns (a malformed message)."""
    exch_ts = time_ms * NS_PER_MS
    if not 0 < exch_ts < _INT64_MAX:
        raise ValueError(f"{what} out of range: {time_ms}")
    return exch_ts


class NormalizerOptions(TypedDict, total=False):
    """The keyword arguments every venue's normalizer takes besides its own (:class:`VenueNormalizer` says what
    each means and its default)."""

    include_bbo: bool
    sink: RowSink | None
    frame_scan: bool
    echo: bool
    compiled: bool


class VenueNormalizer(Generic[K]):
    """What the venues' normalizers (a :class:`Normalizer` each) keep alike: the settings, the sink and
    counters, the symbol they settle on, the stream or topic names they have met (each a kind ``K``, or
    None when unknown), how a payload is routed by that name, the undecodable payloads they log and the
    rows of a book replaced or changed. The venue's class adds its book sync and decoding.

    ``symbol`` ``None`` takes the first symbol seen (messages of others are counted and skipped); ``market``
    ``None`` leaves it to the venue's class to learn. ``include_bbo`` (default off) writes best bid and offer
    rows. ``frame_scan`` (default on) lets :meth:`decode` settle the common frames in one compiled call
    (:meth:`_scan_frame`) before it decodes them with msgspec: the same rows, counters and transitions either way.
    ``echo`` (default on, the live feeds) logs the first few bad payloads, unknown names and every sync
    transition; off (converters), it only counts them (:attr:`stats`, :attr:`bad_payloads`). ``compiled``
    (default on) False: no compiled code at all (see :attr:`compiled`)."""

    venue: str
    names: str
    """What the venue calls the channels a frame names (``"stream"``, ``"topic"``), for messages."""
    prefix: bytes
    """How a frame that names its channel first begins (``b'{"stream":"'``): the name follows, up to a quote."""
    logger: logging.Logger
    """Where the normalizer logs (the venue's module logger)."""
    plain_chunks = False
    """Whether :meth:`on_chunk` works without compiled code too (a converter then hands it whole buffers)."""

    def __init__(
        self,
        symbol: str | None = None,
        market: str | None = None,
        *,
        include_bbo: bool = False,
        sink: RowSink | None = None,
        frame_scan: bool = True,
        echo: bool = True,
        compiled: bool = True,
    ) -> None:
        self.symbol = symbol.upper() if symbol else ""
        self.market = market or ""
        self.include_bbo = include_bbo
        self.compiled = compiled
        """False: no compiled code at all (no frame scan, levels parsed and rows expanded without Numba),
        for a process that converts a small recording without importing Numba; the same rows."""
        self.frame_scan = frame_scan and compiled
        self.sink = sink if sink is not None else RowSink(compiled=compiled)
        self.parse_levels = parse_levels if compiled else parse_levels_plain
        """The level parser the venue's code calls (connectors.common.levels: compiled, or without Numba)."""
        self.stats = NormalizerStats()
        self.status = SyncStatus()
        self.transitions: list[SyncTransition] = []
        self.echo = echo
        self.bad_payloads = BadPayloadLog(self.logger, echo=echo)
        self.perp = PerpState()
        """Mark price and funding as the venue's perpetual streams last said (linear)."""
        self._kinds: dict[bytes, K | None] = {}
        self._clock_offset = 0
        """Exchange minus local time (ns) of the latest message with an exchange time."""
        self._scan_symbol: tuple[str, npt.NDArray[np.uint8]] = ("", _NO_SYMBOL)

    @property
    def needs_snapshot(self) -> bool:
        """True when the feed must get the venue's book afresh (the venue's class says when)."""
        raise NotImplementedError

    def on_message(self, payload: bytes, local_ts: int) -> int:
        """Decode one raw payload received at ``local_ts`` (ns) and say what it was (:data:`DECODED_DEPTH`,
        :data:`DECODED_GAP`)."""
        stats = self.stats
        depth, foreign, gaps = stats.depth_messages, stats.other_symbols, stats.gaps
        self.decode(payload, local_ts)
        did = DECODED_DEPTH if stats.depth_messages != depth and stats.other_symbols == foreign else 0
        return did | DECODED_GAP if stats.gaps != gaps else did

    def decode(self, payload: bytes, local_ts: int) -> None:
        """Decode one raw payload received at ``local_ts`` (ns) and append its rows to ``sink`` (a recording's
        bulk paths call it line by line, with nothing to report).

        A frame that begins with :attr:`prefix` goes by the kind of the name it gives (:meth:`kind_of`, met
        once per name): to the venue's compiled scan (:meth:`_scan_frame`, with ``frame_scan``), else to its
        decoding (:meth:`_dispatch`); one of a name the normalizer does not read is counted in
        ``unknown_streams``. Any other payload goes to :meth:`_on_other`. A payload that does not decode
        (:data:`DECODE_ERRORS`) is counted, logged (the first few) and skipped."""
        self.stats.messages += 1
        try:
            prefix = self.prefix
            if payload.startswith(prefix):
                start = len(prefix)
                name = payload[start : payload.find(b'"', start)]
                try:
                    kind = self._kinds[name]
                except KeyError:
                    kind = self._learn(name)
                if kind is None:
                    self.stats.unknown_streams += 1
                elif not (self.frame_scan and self._scan_frame(kind, name, payload, local_ts)):
                    self._dispatch(kind, payload, local_ts)
            else:
                self._on_other(payload, local_ts)
        except DECODE_ERRORS as exc:
            self._decode_failed(payload, local_ts, exc)

    def kind_of(self, name: str) -> K | None:
        """The kind of stream or topic ``name``; None when the normalizer does not read it."""
        raise NotImplementedError

    def resume(self, last_update_id: int, market: str, symbol: str) -> None:
        """Continue from a synced book whose last update was ``last_update_id`` (the previous day's end
        of a recording), on ``market`` and ``symbol`` (the venue's class does)."""
        raise NotImplementedError

    def saved_state(self) -> str:
        """What this normalizer needs, beyond the book and its update id, to read the next day's recording
        on (a perpetual's contract size, the book as the venue spelled it for its checksum), as JSON that
        :meth:`restore_state` takes back; empty (the default) when it needs nothing. A converter keeps it
        in the day's end-of-day snapshot."""
        return ""

    def restore_state(self, saved: str) -> None:
        """Take back what :meth:`saved_state` gave at the end of the previous day (nothing by default)."""

    def on_lines(self, lines: Sequence[bytes], on_bad_line: Callable[[bytes], None]) -> None:
        """Bulk form of :meth:`on_message` for recordings: each line is ``<19-digit ns> <payload>``, decoded
        as it comes (a venue's class may route the common frames faster); a line without the prefix goes to
        ``on_bad_line``."""
        decode = self.decode
        for line in lines:
            if line[19:20] != b" " or not line[:19].isdigit():
                on_bad_line(line)
                continue
            decode(line[20:], int(line[:19]))

    def on_chunk(self, chunk: bytes | memoryview, on_bad_line: Callable[[bytes], None]) -> int:
        """Bulk form for whole buffers of recorded lines, through a compiled scan; only a venue whose
        recordings say ``bulk_scan`` (:class:`~connectors.common.recordings.RecordingFormat`) has it.
        Returns the number of non-empty lines."""
        raise NotImplementedError

    def lose_sync(self, reason: SyncReason, local_ts: int) -> None:
        """Mark the book out of sync from outside (disconnect, stale); clears it in the rows."""
        sync = self._book_sync()
        if sync is None or not sync.synced:
            return
        sync.lose_sync()
        self._emit_lost(reason, local_ts, 0, 0)

    def _scan_frame(self, kind: K, name: bytes, payload: bytes, local_ts: int) -> bool:
        # Settle a frame of ``kind`` (its channel ``name``) in the venue's compiled scan: True when it did (rows,
        # counters and sync state as its decoding would leave them), False when it declined and nothing changed.
        return False

    def _scan_trades_by(
        self, scan: Callable[..., tuple[int, int, int]], min_trade_bytes: int, payload: bytes, local_ts: int,
        *scan_args: Any,
    ) -> bool:  # fmt: skip
        # One trades frame through the venue's compiled trade scan, ``scan(frame, local_ts, rows, fill, *scan_args)
        # -> (code, fill, exch_ts)``: with its DONE, one row a trade after the ``fill`` passed in and the exchange
        # time of the frame. No frame of n bytes holds more than ``n // min_trade_bytes`` trades (the room
        # reserved). False when the scan declined (nothing changed).
        sink = self.sink
        out, start = sink.reserve(len(payload) // min_trade_bytes + 4)
        code, fill, exch_ts = scan(np.frombuffer(payload, np.uint8), local_ts, out, start, *scan_args)
        if code != _SCAN_DONE:
            return False
        sink.commit(fill)
        self.stats.trade_messages += 1
        if fill > start:
            self._clock_offset = exch_ts - local_ts
        return True

    def _dispatch(self, kind: K, payload: bytes, local_ts: int) -> None:
        # Decode a frame of ``kind`` (the venue's class does).
        raise NotImplementedError

    def _on_other(self, payload: bytes, local_ts: int) -> None:
        # Decode a payload that does not begin with ``prefix``: replies, recorded REST answers, frames spelled
        # another way (the venue's class does; ValueError for one it does not know).
        raise NotImplementedError

    def _named(self, name: str) -> K | None:
        # The kind of the channel a payload spelled another way names (its probe said); one the normalizer does
        # not read is counted and noted (None).
        kind = self.kind_of(name)
        if kind is None:
            self.stats.unknown_streams += 1
            note_unknown(self, name, self.logger, self.names)
        return kind

    def _book_sync(self) -> BookSync | None:
        # The venue's book-sync machine (None while there is none yet).
        raise NotImplementedError

    def _resumed(self, sync: BookSync, last_update_id: int) -> None:
        # Continue synced at ``last_update_id`` (an end-of-day snapshot): the machine and the status.
        sync.resume(last_update_id)
        self.status.state = SyncState.SYNCED
        self.status.update_id = last_update_id

    def _learn(self, name: bytes) -> K | None:
        # Remember the kind of a name met for the first time (an unknown one is noted once).
        text = name.decode("utf-8", "replace")
        kind = self.kind_of(text)
        self._kinds[name] = kind
        if kind is None:
            note_unknown(self, text, self.logger, self.names)
        return kind

    def _accept_symbol(self, symbol: str) -> bool:
        # True for the normalizer's symbol (the first one seen, when none was given); others are counted.
        if symbol == self.symbol:
            return True
        if not self.symbol:
            self.symbol = symbol
            return True
        self.stats.other_symbols += 1
        return False

    def _snapshot_rows(self, exch_ts: int, local_ts: int, bids: LevelArray, asks: LevelArray, uid: int) -> None:
        # The book replaced: CLEAR_ALL, then the levels as SNAPSHOT_BID/SNAPSHOT_ASK, each row with update id ``uid``.
        sink = self.sink
        sink.one(CLEAR_ALL, exch_ts, local_ts, 0.0, 0.0, ival=uid)
        sink.levels(SNAPSHOT_BID, exch_ts, local_ts, bids, uid)
        sink.levels(SNAPSHOT_ASK, exch_ts, local_ts, asks, uid)

    def _depth_rows(self, exch_ts: int, local_ts: int, bids: LevelArray, asks: LevelArray, uid: int) -> None:
        # Levels changed: DEPTH_BID/DEPTH_ASK rows, each with update id ``uid``.
        sink = self.sink
        sink.levels(DEPTH_BID, exch_ts, local_ts, bids, uid)
        sink.levels(DEPTH_ASK, exch_ts, local_ts, asks, uid)

    def _synced(self, was: SyncState, exch_ts: int, local_ts: int, uid: int) -> None:
        # After a book that replaced the one in state ``was``: enter SYNCED at ``uid`` unless it already was
        # (a resync when the book had been lost).
        if was is SyncState.SYNCED:
            return
        if was is SyncState.OUT_OF_SYNC:
            self.stats.resyncs += 1
        mark_synced(self, exch_ts, local_ts, uid)

    def _emit_lost(self, reason: SyncReason, local_ts: int, expected: int, got: int) -> None:
        # Leave SYNCED, stamped with the receive time moved by the latest exchange - local offset.
        mark_sync_lost(self, reason, local_ts + self._clock_offset, local_ts, expected, got)

    def _lost_by_gap(self, local_ts: int, expected: int, got: int) -> None:
        # Update ids broke continuity (``expected`` was due, ``got`` came): count it, leave SYNCED, log it.
        self.stats.gaps += 1
        self._emit_lost(SyncReason.GAP, local_ts, expected, got)
        if self.echo:
            self.logger.warning(self.transitions[-1].describe())

    def _decode_failed(self, payload: bytes, local_ts: int, exc: Exception) -> None:
        self.stats.decode_errors += 1
        self.bad_payloads(f"undecodable {self.venue.capitalize()} payload", payload, local_ts, exc)
