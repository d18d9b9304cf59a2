"""Binance: raw payload + local receive time -> hftbacktest event rows. Pure: no I/O, no clock.

Handles the combined-stream envelope ``{"stream": ..., "data": ...}`` and bare messages, for spot
(``@depth``/``@depth@100ms`` with ``U``/``u``) and USD-M (``@depth@0ms|100ms|250ms|500ms`` with ``pu``),
the REST depth snapshot recorded inline, ``@trade``, ``@aggTrade``, ``@bookTicker`` and USD-M
``@markPrice@1s`` (or ``@markPrice``).

Rows written (``arb.events`` names):

- a snapshot that syncs the book: ``SYNC``-side ``CLEAR_ALL``, then ``SNAPSHOT_BID``/``SNAPSHOT_ASK``
  levels, then the buffered diffs that bridge it (stamped with the snapshot's local time: that is
  when they became usable), then ``SYNC_RESTORED_EVENT``;
- a diff applied to a synced book: ``DEPTH_BID``/``DEPTH_ASK`` levels;

Depth, snapshot and clear rows carry the venue's update id in ``ival`` (the diff's ``u``, the
snapshot's ``lastUpdateId``); hftbacktest ignores ``ival`` on L2 rows, and it lets a book rebuilt
from the rows be checked against ``bookTicker`` at the same id.
- a gap: ``SYNC_LOST_EVENT`` (``ival`` = SyncReason, ``order_id`` = last good update id) and
  ``CLEAR_ALL``: the book is empty, never wrong, until the next snapshot;
- a trade: ``TRADE_BUY``/``TRADE_SELL`` (the taker's side), USD-M non-market trades skipped;
- a bookTicker, only when ``include_bbo``: ``BBO_BID`` and ``BBO_ASK`` (hftbacktest's backtester
  ignores these; the live book uses them);
- a markPriceUpdate: ``MARK_PRICE_EVENT`` and ``FUNDING_RATE_EVENT``, after a
  ``FUNDING_SETTLED_EVENT`` when its next funding time ``T`` moved forward
  (:mod:`connectors.common.funding`). These rare frames (one a second) always take the per-message
  path, in the bulk conversion too.

Exchange time: USD-M depth and trades use ``T`` (transaction time); spot depth uses ``E``; spot
trades ``T``. The spot REST snapshot and spot bookTicker carry no time: the snapshot takes the time
of the diff that bridges it (or the latest exchange time seen), a bookTicker the receive time moved
by the latest observed ``exchange - local`` offset.
"""

from __future__ import annotations

__all__ = ["NORMALIZER", "BinanceNormalizer", "ParsedDiff"]

import functools
import logging
from collections.abc import Callable, Sequence
from typing import Any, Unpack

import msgspec
import numpy as np
import numpy.typing as npt

from arb._jit import entry_point
from arb.events import (
    BBO_ASK,
    BBO_BID,
    CLEAR_ALL,
    NS_PER_MS,
    NS_PER_S,
    SNAPSHOT_ASK,
    SNAPSHOT_BID,
    TRADE_BUY,
    TRADE_SELL,
    empty_events,
)
from connectors.binance.messages import (
    BinanceAggTrade,
    BinanceBookTicker,
    BinanceDepthSnapshot,
    BinanceDepthUpdate,
    BinanceFundingInfo,
    BinanceMarkPrice,
    BinanceProbe,
    BinanceStream,
    BinanceTrade,
)
from connectors.binance.sync import BinanceBookSync, DiffAction, SnapshotOutcome
from connectors.common.funding import parse_decimal, parse_ms
from connectors.common.lazy import lazy_module
from connectors.common.normalizer import (
    DECODE_ERRORS,
    NormalizerOptions,
    SyncState,
    VenueNormalizer,
    exchange_ns,
    mark_synced,
    warm_up_rows,
)
from connectors.common.rows import LevelArray

fastscan = lazy_module("connectors.binance.fastscan")
_bulk = lazy_module("connectors.binance.bulk")
_scan = lazy_module("connectors.common.scan")
log = logging.getLogger(__name__)

VENUE = "binance"
_STREAM_PREFIX = b'{"stream":"'
_SNAPSHOT_PREFIX = b'{"lastUpdateId"'

_depth_env = msgspec.json.Decoder(BinanceStream[BinanceDepthUpdate], strict=False)
_trade_env = msgspec.json.Decoder(BinanceStream[BinanceTrade], strict=False)
_agg_env = msgspec.json.Decoder(BinanceStream[BinanceAggTrade], strict=False)
_bbo_env = msgspec.json.Decoder(BinanceStream[BinanceBookTicker], strict=False)
_mark_env = msgspec.json.Decoder(BinanceStream[BinanceMarkPrice], strict=False)
_any_env = msgspec.json.Decoder(BinanceStream[msgspec.Raw])
_probe = msgspec.json.Decoder(BinanceProbe)
_depth = msgspec.json.Decoder(BinanceDepthUpdate, strict=False)
_trade = msgspec.json.Decoder(BinanceTrade, strict=False)
_agg = msgspec.json.Decoder(BinanceAggTrade, strict=False)
_bbo = msgspec.json.Decoder(BinanceBookTicker, strict=False)
_snapshot = msgspec.json.Decoder(BinanceDepthSnapshot, strict=False)
_mark = msgspec.json.Decoder(BinanceMarkPrice, strict=False)
_funding_info = msgspec.json.Decoder(list[BinanceFundingInfo], strict=False)
_DEFAULT_FUNDING_INTERVAL_NS = 8 * 3_600 * NS_PER_S  # a USD-M symbol fundingInfo does not list

_DEPTH, _TRADE, _AGG, _BBO, _MARK = 0, 1, 2, 3, 4

_BULK_LINES = 64  # a block of fewer lines is read one by one (the bulk read's fixed cost is a few NumPy calls)
_SCAN_ROOM = 1 << 16  # rows reserved in the sink before each scan (it asks for more when it needs it)


def _stream_kind(stream: str) -> int | None:
    # "btcusdt@depth@100ms" -> _DEPTH; None for streams arb does not consume (klines, ...).
    _, _, kind = stream.partition("@")
    if kind == "depth" or kind.startswith("depth@"):
        return _DEPTH
    return {"trade": _TRADE, "aggTrade": _AGG, "bookTicker": _BBO, "markPrice": _MARK, "markPrice@1s": _MARK}.get(kind)


class ParsedDiff:
    """A depth diff with its levels parsed: what the sync machine buffers and the sink emits."""

    __slots__ = (
        "asks",
        "bids",
        "event_time_ms",
        "final_update_id",
        "first_update_id",
        "prev_final_update_id",
        "symbol",
        "transaction_time_ms",
    )

    def __init__(self, wire: BinanceDepthUpdate, bids: LevelArray, asks: LevelArray) -> None:
        self.symbol = wire.symbol
        self.first_update_id = wire.first_update_id
        self.final_update_id = wire.final_update_id
        self.prev_final_update_id = wire.prev_final_update_id
        self.event_time_ms = wire.event_time_ms
        self.transaction_time_ms = wire.transaction_time_ms
        self.bids = bids
        self.asks = asks


@functools.cache
def _warm_up(frame_scan: bool) -> None:
    # Load the compiled code (from Numba's cache, or compile it) when the first normalizer is made,
    # not on the first frame it is handed: the level parser, the row expansion and (when it is
    # used) the frame scan.
    warm_up_rows()
    if not frame_scan:
        return
    _scan_entry(fastscan.scan_frame)(*_scan_args())


def _scan_args() -> tuple[Any, ...]:
    # Values of the types _scan_frame hands fastscan.scan_frame (a frame it declines).
    settings = (_scan.symbol_bytes("X"), _scan.POW10, False, -1, False)
    return np.frombuffer(b"{}", np.uint8), 0, empty_events(1), 0, settings, (False, 0, 0, 0)


@functools.cache
def _scan_entry(scan: Callable[..., Any]) -> Callable[..., Any]:
    # ``scan`` (fastscan.scan_frame, looked up at each frame: a test may put a counter in its place) as its
    # machine code for those types (arb._jit.entry_point), called without Numba's dispatch, which types every
    # argument at every frame. Only _scan_frame calls it, with arguments it checked to be of those types.
    return entry_point(scan, *_scan_args())


class BinanceNormalizer(VenueNormalizer[int]):
    """Normalizer and book-sync state for one Binance symbol.

    ``market`` is ``"spot"`` or ``"linear"`` (USD-M); ``None`` infers it from the first depth diff
    (``pu`` present means USD-M) or snapshot (``T`` present). ``symbol`` ``None`` takes the first
    symbol seen; messages of other symbols are counted and skipped.

    ``frame_scan`` (default on) lets :meth:`on_message` settle the common frames in one compiled
    call (``connectors.binance.fastscan.scan_frame``) before it falls back to decoding them with
    msgspec; rows, counters and transitions are the same either way (off: the reference path).
    ``max_buffered_diffs`` bounds the diffs held while the book waits for a snapshot. The other
    options are every venue's (:class:`~connectors.common.normalizer.VenueNormalizer`).
    """

    venue = VENUE
    names = "stream"
    prefix = _STREAM_PREFIX
    logger = log
    plain_chunks = True

    def __init__(
        self,
        symbol: str | None = None,
        market: str | None = None,
        *,
        max_buffered_diffs: int = 10_000,
        **options: Unpack[NormalizerOptions],
    ) -> None:
        super().__init__(symbol, market, **options)
        if self.compiled:
            _warm_up(self.frame_scan)
        self._max_buffered = max_buffered_diffs
        self._sync: BinanceBookSync[ParsedDiff] | None = None
        if self.market:
            self._make_sync(self.market == "linear")
        self._last_exch_ts = 0
        self._scan_state = np.zeros(fastscan.STATE_SIZE if self.compiled else 0, np.int64)
        self._handlers: tuple[Callable[[bytes, int, bool], None], ...] = (
            self._on_depth_payload,
            self._on_trade_payload,
            self._on_agg_payload,
            self._on_bbo_payload,
            self._on_mark_payload,
        )

    # -- public -----------------------------------------------------------------------------

    @property
    def needs_snapshot(self) -> bool:
        """True when a REST snapshot must be fetched (start-up, after a gap, or one was too old)."""
        return self._sync is None or not self._sync.synced

    @property
    def sync(self) -> BinanceBookSync[ParsedDiff] | None:
        """The sync state machine (None until the market is known)."""
        return self._sync

    def resume(self, last_update_id: int, market: str, symbol: str) -> None:
        """Continue a stream whose book was saved at ``last_update_id`` (end-of-day snapshot)."""
        self.market = market
        self.symbol = symbol.upper()
        self._resumed(self._make_sync(market == "linear"), last_update_id)

    def on_lines(self, lines: Sequence[bytes], on_bad_line: Callable[[bytes], None]) -> None:
        """Bulk form of :meth:`on_message` for recordings: each line is ``<19-digit ns> <payload>``.

        Same rows, same order, same counters as calling :meth:`on_message` line by line; the common
        combined-stream frames (depth, trades, a bookTicker that is not wanted) are routed here
        without the per-call overhead. Lines without the timestamp prefix go to ``on_bad_line``.
        A normalizer without compiled code reads a block of lines in bulk (:mod:`connectors.binance.bulk`:
        array operations, the uncommon lines still one by one here).
        """
        if not self.compiled and len(lines) >= _BULK_LINES:
            _bulk.read_lines(self, lines, functools.partial(self._one_by_one, on_bad_line=on_bad_line))
            return
        self._one_by_one(lines, on_bad_line)

    def _one_by_one(self, lines: Sequence[bytes], on_bad_line: Callable[[bytes], None]) -> None:
        # on_lines, each line through the per-message code (the common frames without its call overhead).
        kinds = self._kinds
        handlers = self._handlers
        decode = self.decode
        skip_bbo = not self.include_bbo
        fast = 0
        skipped_bbo = 0
        for line in lines:
            if line[19:20] != b" " or not line[:19].isdigit():
                on_bad_line(line)
                continue
            if line.startswith(_STREAM_PREFIX, 20):
                end = line.find(b'"', 31)
                kind = kinds.get(line[31:end], -1)
                if kind == _BBO and skip_bbo:
                    skipped_bbo += 1
                    continue
                if kind == _DEPTH or kind == _TRADE:
                    fast += 1
                    payload = line[20:]
                    local_ts = int(line[:19])
                    try:
                        handlers[kind](payload, local_ts, True)
                    except DECODE_ERRORS as exc:
                        self._decode_failed(payload, local_ts, exc)
                    continue
            decode(line[20:], int(line[:19]))
        self.stats.messages += fast + skipped_bbo
        self.stats.bbo_messages += skipped_bbo

    def on_chunk(self, chunk: bytes | memoryview, on_bad_line: Callable[[bytes], None]) -> int:
        """Bulk form of :meth:`on_message` for recordings: ``chunk`` holds whole lines, ``\\n``-separated.

        Each line is ``<19-digit ns> <payload>``; empty lines are skipped, lines without the prefix go
        to ``on_bad_line``. Same rows, same order, same counters and sync transitions as calling
        :meth:`on_message` line by line: a compiled scan (``connectors.binance.fastscan``) settles
        the common frames and writes their rows into the sink's bulk array, and hands every other
        line to :meth:`on_lines`. Returns the number of non-empty lines (good and bad). A normalizer
        without compiled code reads the chunk in bulk with array operations instead
        (:mod:`connectors.binance.bulk`, the uncommon lines one by one), to the same effect.
        """
        if not self.compiled:  # the bulk read without Numba (connectors.binance.bulk)
            read: int = _bulk.read_buffer(self, chunk, functools.partial(self._one_by_one, on_bad_line=on_bad_line))
            return read
        buf = np.frombuffer(chunk, np.uint8)
        end = buf.shape[0]
        state = self._scan_state
        state[:] = 0
        sink = self.sink
        room = _SCAN_ROOM
        lines = 0
        while True:
            if not self._scan_load(state):
                # A value the scan cannot hold in int64: the rest of the chunk goes line by line.
                rest = bytes(buf[int(state[fastscan.S_POS]) :]).split(b"\n")
                rest = [line for line in rest if line]
                self.on_lines(rest, on_bad_line)
                return lines + len(rest)
            out, fill = sink.reserve(room)
            state[fastscan.S_FILL] = fill
            code = fastscan.scan_lines(buf, end, out, state, self._scan_symbol[1], _scan.POW10)
            sink.commit(int(state[fastscan.S_FILL]))
            lines += self._scan_store(state)
            if code == fastscan.DONE:
                return lines
            if code == fastscan.NEEDS_ROOM:
                room = 2 * out.shape[0]
                continue
            start = int(state[fastscan.S_POS])
            stop = int(state[fastscan.S_LINE_END])
            self.on_lines((bytes(buf[start:stop]),), on_bad_line)
            state[fastscan.S_POS] = stop + 1
            room = _SCAN_ROOM

    def _scan_load(self, state: npt.NDArray[np.int64]) -> bool:
        # Copy what the scan reads from the normalizer into its state array; zero its counters.
        # False when a value does not fit an int64 (the scan is then not used).
        sync = self._sync
        last_id = sync.last_update_id if sync is not None else 0
        values = (last_id, self._clock_offset, self._last_exch_ts)
        if any(v < _scan.INT64_MIN or v > _scan.INT64_MAX for v in values):
            return False
        if self._scan_symbol[0] != self.symbol:
            self._scan_symbol = (self.symbol, _scan.symbol_bytes(self.symbol))
        state[fastscan.S_INCLUDE_BBO] = self.include_bbo
        state[fastscan.S_FUTURES] = -1 if sync is None else int(sync.futures)
        state[fastscan.S_EMIT_LINEAR] = self.market == "linear"
        # Only a synced book outside a snapshot bridge is in the steady state the scan may extend.
        state[fastscan.S_STEADY] = sync is not None and sync.state is SyncState.SYNCED and not sync._bridging
        state[fastscan.S_LAST_UPDATE_ID] = last_id
        state[fastscan.S_CLOCK_OFFSET] = self._clock_offset
        state[fastscan.S_LAST_EXCH_TS] = self._last_exch_ts
        state[fastscan.S_MESSAGES : fastscan.STATE_SIZE] = 0
        return True

    def _scan_store(self, state: npt.NDArray[np.int64]) -> int:
        # Copy the scan's effect back into the normalizer; returns the lines it passed.
        (
            messages,
            depth,
            trades,
            bbo,
            other_symbols,
            lines,
            applied,
        ) = state[fastscan.S_MESSAGES : fastscan.STATE_SIZE].tolist()
        if applied:
            sync = self._sync
            assert sync is not None  # the scan applies diffs only to an existing, synced machine
            sync.last_update_id = int(state[fastscan.S_LAST_UPDATE_ID])
            self.status.applied(
                sync.last_update_id, int(state[fastscan.S_DEPTH_LOCAL_TS]), int(state[fastscan.S_DEPTH_EXCH_TS])
            )
        self._clock_offset = int(state[fastscan.S_CLOCK_OFFSET])
        self._last_exch_ts = int(state[fastscan.S_LAST_EXCH_TS])
        stats = self.stats
        stats.messages += messages
        stats.depth_messages += depth
        stats.trade_messages += trades
        stats.bbo_messages += bbo
        stats.other_symbols += other_symbols
        return int(lines)

    def _scan_frame(self, kind: int, name: bytes, payload: bytes, local_ts: int) -> bool:
        # One combined-stream frame (depth, trade, a wanted bookTicker) through fastscan.scan_frame. False
        # when it declined (nothing changed): the per-message code then decodes the frame. A diff is tried
        # only in the steady state (synced, not bridging), where the scan may apply it.
        if not (kind <= _TRADE or (kind == _BBO and self.include_bbo)):
            return False
        sync = self._sync
        if sync is None:
            if kind == _DEPTH:
                return False
            futures, steady, last_id = -1, False, 0
        else:
            steady = sync.state is SyncState.SYNCED and not sync._bridging
            if kind == _DEPTH and not steady:
                return False
            futures, last_id = int(sync.futures), sync.last_update_id
        scan_symbol = self._scan_symbol
        if scan_symbol[0] != self.symbol:
            scan_symbol = self._scan_symbol = (self.symbol, _scan.symbol_bytes(self.symbol))
        symbol = scan_symbol[1]
        offset = self._clock_offset
        exch_ts = self._last_exch_ts
        if not (
            symbol.shape[0]
            and type(local_ts) is int
            and type(offset) is int
            and type(exch_ts) is int
            and 0 <= local_ts < _scan.TS_LIMIT
            and _scan.INT64_MIN <= last_id <= _scan.INT64_MAX
            and _scan.INT64_MIN <= offset <= _scan.INT64_MAX
            and _scan.INT64_MIN <= exch_ts <= _scan.INT64_MAX
        ):
            # The scan declines an unknown symbol; the times must be Python ints within its int64
            # arithmetic (a float or NumPy time, which the per-message code also takes, would make
            # Numba compile a different function).
            return False
        sink = self.sink
        out, fill = sink.reserve(len(payload) // _scan.MIN_LEVEL_BYTES + 4)
        code, what, foreign, fill, last_id, offset, exch_ts = _scan_entry(fastscan.scan_frame)(
            np.frombuffer(payload, np.uint8), local_ts, out, fill,
            (symbol, _scan.POW10, self.include_bbo, futures, self.market == "linear"),
            (steady, last_id, offset, exch_ts),
        )  # fmt: skip
        if code != fastscan.DONE:
            return False
        sink.commit(fill)
        stats = self.stats
        if foreign:
            stats.other_symbols += 1
        if what == fastscan.KIND_DEPTH:
            stats.depth_messages += 1
            if not foreign:
                assert sync is not None  # the scan applies diffs only to an existing, synced machine
                sync.last_update_id = last_id
                self.status.applied(last_id, local_ts, exch_ts)
        elif what == fastscan.KIND_TRADE:
            stats.trade_messages += 1
        else:
            stats.bbo_messages += 1
        self._clock_offset = offset
        self._last_exch_ts = exch_ts
        return True

    # -- routing ----------------------------------------------------------------------------

    def kind_of(self, name: str) -> int | None:
        """The handler index of stream ``name`` (``btcusdt@depth@100ms``...); None for a stream not read."""
        return _stream_kind(name)

    def _dispatch(self, kind: int, payload: bytes, local_ts: int) -> None:
        self._handlers[kind](payload, local_ts, True)

    def _on_other(self, payload: bytes, local_ts: int) -> None:
        # The REST snapshot and fundingInfo recorded inline; bare stream messages, replies and errors: decode
        # a probe, then route by content.
        if payload.startswith(_SNAPSHOT_PREFIX):
            self._on_snapshot(_snapshot.decode(payload), local_ts)
            return
        if payload.startswith(b"["):
            self._on_funding_info(_funding_info.decode(payload))
            return
        probe = _probe.decode(payload)
        if probe.stream is not None and probe.data is not None:
            kind = self._named(probe.stream)
            if kind is not None:
                self._handlers[kind](bytes(probe.data), local_ts, False)
        elif probe.last_update_id is not None:
            self._on_snapshot(_snapshot.decode(payload), local_ts)
        elif probe.e == "depthUpdate":
            self._on_depth_payload(payload, local_ts, False)
        elif probe.e == "trade":
            self._on_trade_payload(payload, local_ts, False)
        elif probe.e == "aggTrade":
            self._on_agg_payload(payload, local_ts, False)
        elif probe.e == "bookTicker" or (probe.e == "" and probe.u is not None and probe.b is not None):
            self._on_bbo_payload(payload, local_ts, False)
        elif probe.e == "markPriceUpdate":
            self._on_mark_payload(payload, local_ts, False)
        elif probe.code is not None:
            self.stats.control_messages += 1
            if self.echo:
                log.warning("binance: error message %s: %s", probe.code, probe.msg)
        elif probe.id is not None:
            self.stats.control_messages += 1
        else:
            raise ValueError("not a Binance message this normalizer knows")

    def _book_sync(self) -> BinanceBookSync[ParsedDiff] | None:
        return self._sync

    def _make_sync(self, futures: bool) -> BinanceBookSync[ParsedDiff]:
        self.market = "linear" if futures else "spot"
        self._sync = BinanceBookSync(futures, self._max_buffered)
        return self._sync

    def _note_clock(self, exch_ts: int, local_ts: int) -> None:
        self._clock_offset = exch_ts - local_ts
        self._last_exch_ts = exch_ts

    # -- depth ------------------------------------------------------------------------------

    def _on_depth_payload(self, payload: bytes, local_ts: int, enveloped: bool) -> None:
        wire = _depth_env.decode(payload).data if enveloped else _depth.decode(payload)
        # Parse the levels before the sync machine sees the ids: a malformed diff must not advance it.
        diff = ParsedDiff(wire, self.parse_levels(wire.bids), self.parse_levels(wire.asks))
        self.stats.depth_messages += 1
        if not self._accept_symbol(diff.symbol):
            return
        sync = self._sync
        if sync is None:
            sync = self._make_sync(diff.prev_final_update_id != -1)
        exch_ms = diff.transaction_time_ms if sync.futures else diff.event_time_ms
        self._note_clock(exch_ms * NS_PER_MS, local_ts)
        action = sync.on_diff(diff)
        if action is DiffAction.APPLY:
            self._emit_diff(diff, local_ts)
            self.status.applied(diff.final_update_id, local_ts, self._last_exch_ts)
        elif action is DiffAction.BUFFER:
            self.stats.buffered += 1
        elif action is DiffAction.DUPLICATE:
            self.stats.duplicates += 1
        elif action is DiffAction.GAP:
            self._lost_by_gap(local_ts, sync.gap_expected, sync.gap_got)
        else:  # COVERED: only seen while bridging a snapshot with an empty buffer
            self.stats.dropped_covered += 1

    def _emit_diff(self, diff: ParsedDiff, local_ts: int) -> None:
        exch_ms = diff.transaction_time_ms if self.market == "linear" else diff.event_time_ms
        self._depth_rows(exch_ms * NS_PER_MS, local_ts, diff.bids, diff.asks, diff.final_update_id)

    def _on_snapshot(self, snap: BinanceDepthSnapshot, local_ts: int) -> None:
        self.stats.snapshots += 1
        sync = self._sync
        if sync is None:
            sync = self._make_sync(snap.transaction_time_ms != 0)
        was = sync.state
        outcome, apply, covered = sync.on_snapshot(snap.last_update_id)
        self.stats.dropped_covered += covered
        if outcome is SnapshotOutcome.TOO_OLD:
            self.stats.snapshots_too_old += 1
            if self.echo:
                log.warning(
                    "binance %s: snapshot %d is older than the buffered stream (first U %d); need a newer one",
                    self.symbol,
                    snap.last_update_id,
                    sync.buffer[0].first_update_id if sync.buffer else -1,
                )
            return
        if snap.transaction_time_ms:
            exch_ts = snap.transaction_time_ms * NS_PER_MS
        elif apply:
            exch_ts = apply[0].event_time_ms * NS_PER_MS
        else:
            exch_ts = self._last_exch_ts or local_ts
        sink = self.sink
        uid = snap.last_update_id
        # Each side parsed as its rows go out (a malformed one fails after the rows before it), so not _snapshot_rows.
        sink.one(CLEAR_ALL, exch_ts, local_ts, 0.0, 0.0, ival=uid)
        sink.levels(SNAPSHOT_BID, exch_ts, local_ts, self.parse_levels(snap.bids), uid)
        sink.levels(SNAPSHOT_ASK, exch_ts, local_ts, self.parse_levels(snap.asks), uid)
        for diff in apply:
            self._emit_diff(diff, local_ts)
        if was is SyncState.OUT_OF_SYNC:
            self.stats.resyncs += 1
        last_id = apply[-1].final_update_id if apply else snap.last_update_id
        self.status.applied(last_id, local_ts, exch_ts)
        if outcome is SnapshotOutcome.GAP_IN_BUFFER:
            # The buffer itself has a hole after the bridge: synced for an instant, lost again.
            self._lost_by_gap(local_ts, sync.gap_expected, sync.gap_got)
            return
        mark_synced(self, exch_ts, local_ts, last_id)

    # -- trades and BBO ---------------------------------------------------------------------

    def _on_trade_payload(self, payload: bytes, local_ts: int, enveloped: bool) -> None:
        trade = _trade_env.decode(payload).data if enveloped else _trade.decode(payload)
        self.stats.trade_messages += 1
        if self._accept_symbol(trade.symbol) and trade.execution_type == "MARKET":
            self._emit_trade(trade, local_ts, trade.trade_id)

    def _on_agg_payload(self, payload: bytes, local_ts: int, enveloped: bool) -> None:
        trade = _agg_env.decode(payload).data if enveloped else _agg.decode(payload)
        self.stats.trade_messages += 1
        if self._accept_symbol(trade.symbol):
            self._emit_trade(trade, local_ts, trade.agg_trade_id)

    def _emit_trade(self, trade: BinanceTrade | BinanceAggTrade, local_ts: int, trade_id: int) -> None:
        # One row by the taker's side, at the trade time T.
        exch_ts = trade.trade_time_ms * NS_PER_MS
        self._note_clock(exch_ts, local_ts)
        ev = TRADE_SELL if trade.buyer_is_maker else TRADE_BUY
        self.sink.one(ev, exch_ts, local_ts, trade.price, trade.qty, ival=trade_id)

    def _on_bbo_payload(self, payload: bytes, local_ts: int, enveloped: bool) -> None:
        self.stats.bbo_messages += 1
        if not self.include_bbo:
            return
        bbo: BinanceBookTicker = _bbo_env.decode(payload).data if enveloped else _bbo.decode(payload)
        if not self._accept_symbol(bbo.symbol):
            return
        if bbo.transaction_time_ms:
            exch_ts = bbo.transaction_time_ms * NS_PER_MS
            self._note_clock(exch_ts, local_ts)
        else:
            exch_ts = local_ts + self._clock_offset
        self.sink.one(BBO_BID, exch_ts, local_ts, bbo.bid_price, bbo.bid_qty, order_id=bbo.update_id)
        self.sink.one(BBO_ASK, exch_ts, local_ts, bbo.ask_price, bbo.ask_qty, order_id=bbo.update_id)

    # -- mark price and funding -------------------------------------------------------------

    def _on_mark_payload(self, payload: bytes, local_ts: int, enveloped: bool) -> None:
        """``{"stream":"btcusdt@markPrice@1s","data":{"e":"markPriceUpdate","E":1562305380000,
        "s":"BTCUSDT","p":"11794.15000000","i":"11784.62659091","P":"11784.25641265",
        "r":"0.00038167","T":1562306400000}}``: exchange time ``E``; every field restated each time."""
        wire: BinanceMarkPrice = _mark_env.decode(payload).data if enveloped else _mark.decode(payload)
        # Every value is parsed before anything changes: a malformed message leaves no trace.
        mark_price = parse_decimal(wire.mark_price)
        index_price = parse_decimal(wire.index_price)
        settle_estimate = parse_decimal(wire.settle_estimate)
        funding_rate = parse_decimal(wire.funding_rate)
        next_funding_ns = parse_ms(wire.next_funding_time_ms)
        exch_ts = exchange_ns(wire.event_time_ms, "event time")
        self.stats.mark_messages += 1
        if not self._accept_symbol(wire.symbol):
            return
        self.stats.funding_rollovers += self.perp.apply(
            self.sink, exch_ts, local_ts, mark_price=mark_price, index_price=index_price,
            settle_estimate=settle_estimate, funding_rate=funding_rate, next_funding_ns=next_funding_ns,
        )  # fmt: skip

    def _on_funding_info(self, entries: list[BinanceFundingInfo]) -> None:
        """USD-M ``GET /fapi/v1/fundingInfo``'s answer, fetched by the feed at each connection and recorded
        in the stream (see :class:`~connectors.binance.messages.BinanceFundingInfo`): the symbol's funding
        interval, 8 hours when the list leaves it out. No rows: the next mark-price row carries it."""
        if not self.symbol:
            return
        hours = next((e.funding_interval_h for e in entries if e.symbol == self.symbol), 0)
        self.perp.set_interval(hours * 3_600 * NS_PER_S if hours > 0 else _DEFAULT_FUNDING_INTERVAL_NS)


NORMALIZER = BinanceNormalizer
"""The venue's normalizer (what :mod:`connectors.registry` finds)."""
