"""OKX API v5: raw payload + local receive time -> hftbacktest event rows. Pure: no I/O, no clock.

Handles the public pushes ``books`` (``books-l2-tbt`` and ``books50-l2-tbt`` have the same form),
``trades``, ``mark-price`` and ``funding-rate``; the REST answers a feed records in the stream
(``GET /api/v5/market/books``, the snapshot that rebuilds a book when the WebSocket sends none,
``GET /api/v5/public/instruments``, each swap's contract value, and ``GET /api/v5/public/funding-rate``, the
swap's funding at connect, read as a ``funding-rate`` push); and the venue's replies (``pong``, subscribe
acks, errors, notices), which are counted and otherwise ignored.

Rows written (``arb.events`` names):

- a WebSocket snapshot, or a REST snapshot that bridges the buffered stream: ``CLEAR_ALL``,
  ``SNAPSHOT_BID``/``SNAPSHOT_ASK`` levels (then, for a REST snapshot, the buffered updates that follow
  it, stamped with its receive time) and ``SYNC_RESTORED_EVENT`` when the book was not synced before;
- an update on a synced book: ``DEPTH_BID``/``DEPTH_ASK`` levels. Book rows carry the message's
  ``seqId`` in ``ival`` (0 in history without sequence ids);
- a gap in the ``prevSeqId``/``seqId`` chain (``SyncReason.GAP``, ``order_id`` = the last good ``seqId``),
  or a non-zero ``checksum`` that the book of wire strings does not reproduce (``SyncReason.CHECKSUM``):
  ``SYNC_LOST_EVENT`` with that reason in ``ival``, and ``CLEAR_ALL``; updates are buffered until a
  snapshot rebuilds the book;
- each trade: ``TRADE_BUY``/``TRADE_SELL`` by the taker's side, ``ival`` the ``tradeId``;
- ``mark-price``: ``MARK_PRICE_EVENT`` (no index price: NaN); ``funding-rate``: ``FUNDING_RATE_EVENT``
  with ``fundingRate`` for the settlement at ``fundingTime`` and the interval
  ``nextFundingTime - fundingTime``, after a ``FUNDING_SETTLED_EVENT`` when ``fundingTime`` moved
  forward (:mod:`connectors.common.funding`), as Bybit linear's tickers give them; the REST funding-rate
  answer gives the same rows as a push of its entries.

Sizes: book and trade sizes of a swap are contracts; rows carry base currency, contracts x ``ctVal`` x
``ctMult`` from the instruments answer (or ``contract_value=``). A swap message that arrives before the
contract value is known cannot be converted: it is counted as undecodable and skipped. Prices are
quote per base, as sent. The contract value and the book's strings are carried from one day's file to the
next through the end-of-day snapshot (:meth:`OkxNormalizer.saved_state`).

Exchange time: ``ts`` of the book, trade, mark price or funding message.

``frame_scan`` (default on) lets :meth:`~OkxNormalizer.on_message` settle the common frames in one
compiled call (:mod:`connectors.okx.fastscan`: a ``books`` update that chains on a synced book, with its
checksum checked, and ``trades``) before it falls back to decoding them with msgspec; rows, counters and
transitions are the same either way (off: the reference path).
"""

from __future__ import annotations

__all__ = ["NORMALIZER", "ChecksumStats", "OkxNormalizer", "ParsedUpdate"]

import functools
import json
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Unpack

import msgspec
import numpy as np

from arb._jit import entry_point
from arb.events import NS_PER_MS, TRADE_BUY, TRADE_SELL, SyncReason, empty_events
from connectors.common.funding import parse_decimal, parse_ms
from connectors.common.normalizer import NormalizerOptions, SyncState, VenueNormalizer, exchange_ns, warm_up_rows
from connectors.common.rows import LevelArray
from connectors.common.scan import INT64_MAX, INT64_MIN, MIN_LEVEL_BYTES, TS_LIMIT, symbol_bytes
from connectors.okx import fastscan
from connectors.okx.checksum import LevelBook, SideInput, read_side
from connectors.okx.messages import (
    OkxBookData,
    OkxBookMessage,
    OkxEvent,
    OkxFundingRate,
    OkxFundingRateMessage,
    OkxFundingRates,
    OkxInstruments,
    OkxMarkPriceMessage,
    OkxProbe,
    OkxRestBooks,
    OkxRestProbe,
    OkxTradeMessage,
)
from connectors.okx.sync import OkxBookSync, SnapshotOutcome, UpdateAction
from connectors.okx.urls import inst_id, symbol_of

log = logging.getLogger(__name__)

VENUE = "okx"
_ARG_PREFIX = b'{"arg":{"channel":"'
_ARG_START = len(_ARG_PREFIX)
_PONG = b"pong"

_books = msgspec.json.Decoder(OkxBookMessage, strict=False)
_trades = msgspec.json.Decoder(OkxTradeMessage, strict=False)
_marks = msgspec.json.Decoder(OkxMarkPriceMessage, strict=False)
_fundings = msgspec.json.Decoder(OkxFundingRateMessage, strict=False)
_event = msgspec.json.Decoder(OkxEvent, strict=False)
_probe = msgspec.json.Decoder(OkxProbe, strict=False)
_rest_probe = msgspec.json.Decoder(OkxRestProbe, strict=False)
_rest_books = msgspec.json.Decoder(OkxRestBooks, strict=False)
_instruments = msgspec.json.Decoder(OkxInstruments, strict=False)
_funding_rates = msgspec.json.Decoder(OkxFundingRates, strict=False)

_BOOK, _TRADE, _MARK, _FUNDING = 0, 1, 2, 3
_CHANNELS = {
    "books": _BOOK,
    "books-l2-tbt": _BOOK,
    "books50-l2-tbt": _BOOK,
    "trades": _TRADE,
    "mark-price": _MARK,
    "funding-rate": _FUNDING,
}
_MIN_TRADE_BYTES = 40  # '{"instId":"X","px":"0","sz":"0","side":"buy","ts":"0"}': nor more than n // 40 trades
_InstBytes = np.ndarray[Any, np.dtype[np.uint8]]
_NO_INST: tuple[str, str, _InstBytes | None, bytes] = ("", "", None, b"")


@dataclass(slots=True)
class ChecksumStats:
    """What the normalizer did with the books' ``checksum`` fields."""

    verified: int = 0
    """Non-zero checksums the book reproduced."""
    mismatches: int = 0
    """Non-zero checksums it did not (each one a lost book)."""
    unverified: int = 0
    """Non-zero checksums met while the book of wire strings was unknown (after resuming a day)."""
    absent: int = 0
    """Book messages with checksum 0: OKX sends 0 since June 2026."""


class ParsedUpdate:
    """A book update with its levels parsed: what the sync machine buffers and the sink emits (``bids``,
    ``asks``: the rows' levels; ``book_bids``, ``book_asks``: the same levels for the book of wire strings)."""

    __slots__ = ("asks", "bids", "book_asks", "book_bids", "checksum", "prev_seq_id", "seq_id", "ts_ms")

    def __init__(
        self, data: OkxBookData, bids: tuple[LevelArray, SideInput], asks: tuple[LevelArray, SideInput]
    ) -> None:
        self.prev_seq_id = data.prev_seq_id
        self.seq_id = data.seq_id
        self.ts_ms = data.ts_ms
        self.checksum = data.checksum
        self.bids, self.book_bids = bids
        self.asks, self.book_asks = asks


@functools.cache
def _warm_up(frame_scan: bool) -> None:
    # Load the compiled code (from Numba's cache, or compile it) when the first normalizer is made, not
    # on the first frame it is handed: the row expansion, the book's and (when it is used) the frame scans.
    warm_up_rows()
    book = LevelBook()
    book.reset([["1", "1"]], [["2", "1"]])
    book.checksum()
    if not frame_scan:
        return
    frame, rows = np.frombuffer(b"{}", np.uint8), empty_events(1)
    _book_entry(fastscan.scan_book)(frame, 0, rows, *book.state, 0, 1.0)
    _trades_entry(fastscan.scan_trades)(frame, 0, rows, 0, symbol_bytes("X"), 1.0)


# fastscan.scan_book and scan_trades (looked up at each frame: a test may put a counter in their place) as
# their machine code for the types _scan_book and _scan_trades hand them (arb._jit.entry_point), called
# without Numba's dispatch, which types every argument at every frame. Only those two call them, with
# arguments they checked to be of these types.


@functools.cache
def _book_entry(scan: Callable[..., Any]) -> Callable[..., Any]:
    return entry_point(scan, np.frombuffer(b"{}", np.uint8), 0, empty_events(1), *LevelBook().state, 0, 1.0)


@functools.cache
def _trades_entry(scan: Callable[..., Any]) -> Callable[..., Any]:
    return entry_point(scan, np.frombuffer(b"{}", np.uint8), 0, empty_events(1), 0, symbol_bytes("X"), 1.0)


class OkxNormalizer(VenueNormalizer[int]):
    """Normalizer and book-sync state for one OKX instrument (arb's ``symbol`` in ``market``).

    ``market`` is ``"spot"`` or ``"linear"`` (the ``-SWAP`` perpetual); ``None`` infers it from the first
    instrument id seen. ``symbol`` is arb's (``"BTCUSDT"``); ``None`` takes the first one seen.
    ``contract_value``: base currency per contract of the swap, when known beforehand (otherwise the
    instruments answer in the stream says it). ``max_buffered_updates`` bounds the updates held while
    the book waits for a REST snapshot. The other options are every venue's
    (:class:`~connectors.common.normalizer.VenueNormalizer`).
    """

    venue = VENUE
    names = "channel"
    prefix = _ARG_PREFIX
    logger = log

    def __init__(
        self,
        symbol: str | None = None,
        market: str | None = None,
        *,
        contract_value: float | None = None,
        max_buffered_updates: int = 10_000,
        **options: Unpack[NormalizerOptions],
    ) -> None:
        super().__init__(symbol, market, **options)
        if self.compiled:
            _warm_up(self.frame_scan)
        self.sync: OkxBookSync[ParsedUpdate] = OkxBookSync(max_buffered_updates)
        self.levels = LevelBook()
        """The book as OKX spelled it, for the checksum."""
        self.checksums = ChecksumStats()
        self.contract_value = contract_value if contract_value is not None else (1.0 if market == "spot" else None)
        """Base currency per contract (1 on spot); None until a swap's instruments answer says it."""
        self.ws_snapshots = 0
        """Book snapshots the WebSocket sent (those of REST are in ``stats.snapshots`` too)."""
        self.rest_snapshots = 0
        """REST snapshots that synced the book."""
        self.rest_unusable = 0
        """REST books that could not be bridged: no ``seqId``, or an empty answer."""
        self._scan_inst: tuple[str, str, _InstBytes | None, bytes] = _NO_INST
        """(symbol, market, instrument id as bytes or None, what follows the channel's name in its arg)
        for the frame scans."""

    @property
    def needs_snapshot(self) -> bool:
        """True while the book waits for a snapshot (WebSocket or REST)."""
        return not self.sync.synced

    @property
    def inst_id(self) -> str:
        """OKX's instrument id of the normalizer's symbol (``""`` while the symbol or market is unknown)."""
        if not self.symbol or self.market not in ("spot", "linear"):
            return ""
        return inst_id(self.symbol, self.market)

    def resume(self, last_update_id: int, market: str, symbol: str) -> None:
        """Continue a stream whose book was saved at ``seqId`` ``last_update_id`` (end-of-day snapshot).
        Without :meth:`restore_state` the wire strings are unknown: checksums are checked again from the
        next snapshot on (counted in ``checksums.unverified`` until then)."""
        self.market = market
        self.symbol = symbol.upper()
        if market == "spot":
            self.contract_value = 1.0
        self._resumed(self.sync, last_update_id)
        self.sync.sequenced = last_update_id != 0
        self.levels.clear()

    def saved_state(self) -> str:
        """The swap's contract value and, while the book is synced and spelled, OKX's strings of its
        levels (what the checksum is computed over), as JSON: a converter keeps them in the day's
        end-of-day snapshot so the next day reads its swap frames and checks its checksums from the first
        update on (the instruments answer comes once per connection, not once per file)."""
        state: dict[str, object] = {}
        if self.contract_value is not None:
            state["contract_value"] = self.contract_value
        if self.sync.synced and self.levels.known:
            state["bids"] = self.levels.bids(self.levels.depth[0])
            state["asks"] = self.levels.asks(self.levels.depth[1])
        return json.dumps(state, separators=(",", ":")) if state else ""

    def restore_state(self, saved: str) -> None:
        """Take back :meth:`saved_state` after :meth:`resume`; a state that does not parse is a damaged
        snapshot (``ValueError``)."""
        if not saved:
            return
        state = json.loads(saved)
        if not isinstance(state, dict):
            raise ValueError(f"okx saved state: expected an object, got {saved[:80]!r}")
        value = state.get("contract_value")
        if value is not None:
            if not isinstance(value, int | float) or value <= 0:
                raise ValueError(f"okx saved state: contract_value {value!r} is not a positive number")
            self.contract_value = float(value)
        bids, asks = state.get("bids"), state.get("asks")
        if self.sync.synced and isinstance(bids, list) and isinstance(asks, list):
            for level in (*bids, *asks):
                if not (isinstance(level, list) and len(level) >= 2 and all(isinstance(t, str) for t in level)):
                    raise ValueError(f"okx saved state: a level is not [price, size] strings: {level!r}")
            self.levels.reset(bids, asks)

    def lose_sync(self, reason: SyncReason, local_ts: int) -> None:
        """Mark the book out of sync from outside (disconnect, stale); clears it in the rows."""
        if self.sync.synced:
            self.levels.clear()
        super().lose_sync(reason, local_ts)

    def _scan_frame(self, kind: int, name: bytes, payload: bytes, local_ts: int) -> bool:
        # A books or a trades frame through its compiled scan; False when it declined (nothing changed).
        if kind == _BOOK:
            return self._scan_book(payload, name, local_ts)
        return kind == _TRADE and self._scan_trades(payload, local_ts)

    def _scan_settings(self) -> tuple[_InstBytes, bytes, float] | None:
        # What the frame scans compare and scale with: (inst id bytes, the arg's tail after the channel's
        # name, contract value); None when the symbol, the market or the contract value is unknown (the
        # per-message code learns them).
        scale = self.contract_value
        cached = self._scan_inst
        if cached[0] != self.symbol or cached[1] != self.market:
            raw = None
            if self.symbol and self.market in ("spot", "linear"):
                try:
                    inst = inst_id(self.symbol, self.market)
                except ValueError:
                    inst = ""
                if inst and symbol_of(inst) == self.symbol and symbol_bytes(inst).shape[0]:
                    raw = symbol_bytes(inst)
            tail = b'","instId":"' + raw.tobytes() + b'"},' if raw is not None else b""
            cached = self._scan_inst = (self.symbol, self.market, raw, tail)
        if cached[2] is None or scale is None:
            return None
        return cached[2], cached[3], float(scale)  # an int would compile the scans once more

    def _scan_book(self, payload: bytes, name: bytes, local_ts: int) -> bool:
        # One books frame through fastscan.scan_book. False when it declined: the per-message code then
        # decodes the frame (after a MISMATCH the book holds the update, which that code applies again).
        sync = self.sync
        if sync.state is not SyncState.SYNCED or not sync.sequenced or sync.bridging:
            return False
        found = self._scan_settings()
        last = sync.last_update_id
        if not (
            found is not None
            and payload.startswith(found[1], _ARG_START + len(name))  # the instrument's arg, exactly
            and type(local_ts) is int
            and type(last) is int
            and 0 <= local_ts < TS_LIMIT
            and INT64_MIN <= last <= INT64_MAX
        ):
            # Values outside the scan's int64 arithmetic (a float or NumPy time, which the per-message
            # code also takes, would make Numba compile another function).
            return False
        sink = self.sink
        out, fill = sink.reserve(len(payload) // MIN_LEVEL_BYTES + 4)
        keys, ints, text = self.levels.state
        code, rows, seq, exch_ts, outcome = _book_entry(fastscan.scan_book)(
            np.frombuffer(payload, np.uint8), local_ts, out[fill:], keys, ints, text, last, found[2]
        )
        if code != fastscan.DONE:
            return False
        sink.commit(fill + rows)
        self.stats.depth_messages += 1
        self._clock_offset = exch_ts - local_ts
        sync.last_update_id = seq
        checksums = self.checksums
        if outcome == fastscan.VERIFIED:
            checksums.verified += 1
        elif outcome == fastscan.ABSENT:
            checksums.absent += 1
        else:
            checksums.unverified += 1
        self.status.applied(seq, local_ts, exch_ts)
        return True

    def _scan_trades(self, payload: bytes, local_ts: int) -> bool:
        # One trades frame through fastscan.scan_trades; False when it declined (nothing changed).
        found = self._scan_settings()
        if found is None or not (type(local_ts) is int and 0 <= local_ts < TS_LIMIT):
            return False
        inst, _, scale = found
        scan = _trades_entry(fastscan.scan_trades)
        return self._scan_trades_by(scan, _MIN_TRADE_BYTES, payload, local_ts, inst, scale)

    def kind_of(self, name: str) -> int | None:
        """The kind of channel ``name`` (``books``, ``trades``...); None for a channel not read."""
        return _CHANNELS.get(name)

    # -- routing ----------------------------------------------------------------------------------

    def _book_sync(self) -> OkxBookSync[ParsedUpdate]:
        return self.sync

    def _dispatch(self, kind: int, payload: bytes, local_ts: int) -> None:
        if kind == _BOOK:
            self._on_book(_books.decode(payload), local_ts)
        elif kind == _TRADE:
            self._on_trades(_trades.decode(payload), local_ts)
        elif kind == _MARK:
            self._on_mark(_marks.decode(payload), local_ts)
        else:
            self._on_funding(_fundings.decode(payload), local_ts)

    def _on_other(self, payload: bytes, local_ts: int) -> None:
        # Pongs, events, REST answers recorded in the stream, and pushes spelled another way (whitespace).
        if payload == _PONG:
            self.stats.control_messages += 1
            return
        if payload.startswith(b'{"code"'):
            self._on_rest(payload, local_ts)
            return
        probe = _probe.decode(payload)
        if probe.arg is not None and probe.event is None:
            kind = self._named(probe.arg.channel)
            if kind is not None:
                self._dispatch(kind, payload, local_ts)
        elif probe.event is not None:
            self._on_event(_event.decode(payload))
        elif probe.code is not None:
            self._on_rest(payload, local_ts)
        else:
            raise ValueError("not an OKX v5 message this normalizer knows")

    def _on_event(self, event: OkxEvent) -> None:
        """A reply or notice, e.g. ``{"event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"},
        "connId":"a4d3ae55"}``: counted; errors and notices are logged (``echo``)."""
        self.stats.control_messages += 1
        if self.echo and event.event in ("error", "notice"):
            log.warning("okx: %s %s: %s", event.event, event.code, event.msg)

    def _on_rest(self, payload: bytes, local_ts: int) -> None:
        probe = _rest_probe.decode(payload)
        if str(probe.code) != "0":
            raise ValueError(f"a REST answer with code {probe.code}")
        if probe.data and len(probe.data[0].asks):
            self._on_rest_book(_rest_books.decode(payload), local_ts)
        elif probe.data and probe.data[0].funding_time is not None:
            self._on_rest_funding(_funding_rates.decode(payload), local_ts)
        elif probe.data and probe.data[0].inst_type is not None:
            self._on_instruments(_instruments.decode(payload))
        else:
            raise ValueError("an OKX REST answer this normalizer does not read")

    def _on_instruments(self, answer: OkxInstruments) -> None:
        """``GET /api/v5/public/instruments?instType=SWAP&instId=BTC-USDT-SWAP``'s answer, fetched by the
        feed before it subscribes and recorded in the stream: the swap's contract value, e.g.
        ``{"code":"0","msg":"","data":[{"instType":"SWAP","instId":"BTC-USDT-SWAP","ctVal":"0.01",
        "ctMult":"1","ctValCcy":"BTC","ctType":"linear","lotSz":"0.01","minSz":"0.01","tickSz":"0.1",
        ...}]}``. No rows."""
        if not self.market or not self.symbol:  # a converter not told them: the answer's instrument says
            kinds = {"linear": ("SWAP",), "spot": ("SPOT",)}.get(self.market or "", ("SPOT", "SWAP"))
            found = next((e for e in answer.data if e.inst_type in kinds), None)
            if found is not None:
                self.market = self.market or ("linear" if found.inst_type == "SWAP" else "spot")
                self.symbol = self.symbol or symbol_of(found.inst_id)
        wanted = self.inst_id
        entry = next((e for e in answer.data if e.inst_id == wanted), None)
        if entry is None:
            return
        if entry.inst_type != "SWAP":
            self.contract_value = 1.0
            return
        value = float(entry.ct_val) * (float(entry.ct_mult) if entry.ct_mult else 1.0)
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{wanted}: contract value {entry.ct_val!r} x {entry.ct_mult!r} is not positive")
        self.contract_value = value

    def _scale(self, instrument: str) -> float:
        # Base currency per size unit of ``instrument``'s messages (learning the market from the id).
        if not self.market:
            self.market = "linear" if instrument.endswith("-SWAP") else "spot"
            if self.market == "spot" and self.contract_value is None:
                self.contract_value = 1.0
        value = self.contract_value
        if value is None:
            raise ValueError(f"{instrument}: contract value unknown (no instruments answer before it)")
        return value

    # -- order book -------------------------------------------------------------------------------

    def _on_book(self, msg: OkxBookMessage, local_ts: int) -> None:
        """``books``, e.g. ``{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{
        "asks":[["8476.98","415","0","13"]],"bids":[],"ts":"1597026383085","checksum":0,
        "prevSeqId":123456,"seqId":123457}]}``."""
        self.stats.depth_messages += 1
        instrument = msg.arg.inst_id
        if not self._accept_symbol(symbol_of(instrument)):
            return
        scale = self._scale(instrument)
        for data in msg.data:
            bids, asks = read_side(data.bids, -1.0, scale), read_side(data.asks, 1.0, scale)
            exch_ts = exchange_ns(data.ts_ms, "ts")
            self._clock_offset = exch_ts - local_ts
            if msg.action == "snapshot":
                self._on_ws_snapshot(data, bids, asks, local_ts)
            else:
                self._on_update(ParsedUpdate(data, bids, asks), local_ts)

    def _on_ws_snapshot(
        self, data: OkxBookData, bids_in: tuple[LevelArray, SideInput], asks_in: tuple[LevelArray, SideInput],
        local_ts: int,
    ) -> None:  # fmt: skip
        self.stats.snapshots += 1
        self.ws_snapshots += 1
        (bids, book_bids), (asks, book_asks) = bids_in, asks_in
        levels = self.levels
        levels.reset_sides(book_bids, book_asks)
        if data.checksum == 0:
            self.checksums.absent += 1
        elif levels.checksum() != data.checksum:
            # The snapshot is not the book OKX checksummed: no book from it.
            self.checksums.mismatches += 1
            self._checksum_failed(data.seq_id, data.checksum, local_ts, shown=self.status.state is SyncState.SYNCED)
            return
        else:
            self.checksums.verified += 1
        was = self.sync.state
        self.sync.on_snapshot(data.seq_id)
        self._emit_snapshot(data.ts_ms * NS_PER_MS, local_ts, bids, asks, data.seq_id or 0)
        self._synced(was, data.ts_ms * NS_PER_MS, local_ts, data.seq_id or 0)

    def _on_update(self, update: ParsedUpdate, local_ts: int) -> None:
        sync = self.sync
        action = sync.on_update(update)
        if action is UpdateAction.APPLY:
            self._apply(update, local_ts)
        elif action is UpdateAction.BUFFER:
            self.stats.buffered += 1
        elif action is UpdateAction.DUPLICATE:
            self.stats.duplicates += 1
        elif action is UpdateAction.GAP:
            self.levels.clear()
            self._lost_by_gap(local_ts, sync.gap_expected, sync.gap_got)
        elif action is UpdateAction.COVERED:
            self.stats.dropped_covered += 1
        else:
            self.stats.dropped_unsynced += 1

    def _apply(self, update: ParsedUpdate, local_ts: int) -> bool:
        # Apply an update the chain accepted: the wire strings first, the checksum, then the rows.
        # False when its checksum failed (the book is then lost).
        levels = self.levels
        if levels.known:
            levels.apply_sides(update.book_bids, update.book_asks)
        if update.checksum == 0:
            self.checksums.absent += 1
        elif not levels.known:
            self.checksums.unverified += 1
        elif levels.checksum() != update.checksum:
            self.checksums.mismatches += 1
            self._checksum_failed(update.seq_id, update.checksum, local_ts, shown=True)
            return False
        else:
            self.checksums.verified += 1
        exch_ts = update.ts_ms * NS_PER_MS
        uid = update.seq_id if update.seq_id is not None else 0
        self._depth_rows(exch_ts, local_ts, update.bids, update.asks, uid)
        self.status.applied(uid, local_ts, exch_ts)
        return True

    def _checksum_failed(self, seq_id: int | None, expected: int, local_ts: int, *, shown: bool) -> None:
        # A checksum the book did not reproduce: the book is lost like on a gap (the feed rebuilds it).
        # ``shown``: book rows went out since the last clear (a synced book, or a REST snapshot's rows).
        computed = self.levels.checksum()
        self.levels.clear()
        self.sync.lose_sync()
        self.stats.gaps += 1
        if self.echo:
            log.warning(
                "okx %s: checksum mismatch at seqId %s: OKX says %d, the book gives %d",
                self.symbol, seq_id, expected, computed,
            )  # fmt: skip
        if shown:
            self._emit_lost(SyncReason.CHECKSUM, local_ts, 0, 0)

    def _emit_snapshot(self, exch_ts: int, local_ts: int, bids: LevelArray, asks: LevelArray, uid: int) -> None:
        self._snapshot_rows(exch_ts, local_ts, bids, asks, uid)
        self.status.applied(uid, local_ts, exch_ts)

    def _on_rest_book(self, answer: OkxRestBooks, local_ts: int) -> None:
        """``GET /api/v5/market/books?instId=BTC-USDT&sz=400``'s answer, fetched by the feed when the
        WebSocket brought no snapshot and recorded in the stream, e.g. ``{"code":"0","msg":"","data":[{
        "asks":[["41006.8","0.60038921","0","1"]],"bids":[["41006.3","0.30178218","0","2"]],
        "ts":"1629966436396","seqId":9876}]}``: bridged to the buffered updates by ``seqId``."""
        self.stats.snapshots += 1
        book = answer.data[0] if answer.data else None
        if book is None or book.seq_id is None:
            self.rest_unusable += 1
            if self.echo:
                log.warning("okx %s: a REST order book without seqId cannot be bridged to the stream", self.symbol)
            return
        sync = self.sync
        if sync.synced:
            self.stats.dropped_covered += 1  # the WebSocket's snapshot came first
            return
        scale = self.contract_value
        if scale is None:
            raise ValueError(f"{self.inst_id}: contract value unknown (no instruments answer before it)")
        (bids, book_bids), (asks, book_asks) = read_side(book.bids, -1.0, scale), read_side(book.asks, 1.0, scale)
        was = sync.state
        outcome, apply, covered = sync.on_rest_snapshot(book.seq_id)
        self.stats.dropped_covered += covered
        if outcome is SnapshotOutcome.TOO_OLD:
            self.stats.snapshots_too_old += 1
            if self.echo:
                first = sync.buffer[0].prev_seq_id if sync.buffer else None
                log.warning(
                    "okx %s: REST book at seqId %d is older than the buffered stream (first prevSeqId %s)",
                    self.symbol, book.seq_id, first,
                )  # fmt: skip
            return
        exch_ts = book.ts_ms * NS_PER_MS
        self.levels.reset_sides(book_bids, book_asks)
        self._emit_snapshot(exch_ts, local_ts, bids, asks, book.seq_id)
        for update in apply:
            if not self._apply(update, local_ts):
                return
        if outcome is SnapshotOutcome.GAP_IN_BUFFER:
            self.levels.clear()
            self._lost_by_gap(local_ts, sync.gap_expected, sync.gap_got)
            return
        self.rest_snapshots += 1
        self._synced(was, exch_ts, local_ts, self.status.update_id)

    # -- trades, mark price, funding ----------------------------------------------------------------

    def _on_trades(self, msg: OkxTradeMessage, local_ts: int) -> None:
        """``trades``: one row per entry at its ``ts``, the size in base currency, ``ival`` the
        ``tradeId`` (the last of the ``count`` fills it aggregates)."""
        self.stats.trade_messages += 1
        sink = self.sink
        for trade in msg.data:
            if not self._accept_symbol(symbol_of(trade.inst_id)):
                continue
            qty = trade.sz * self._scale(trade.inst_id)
            exch_ts = trade.ts_ms * NS_PER_MS
            ev = TRADE_BUY if trade.side == "buy" else TRADE_SELL
            trade_id = int(trade.trade_id) if trade.trade_id.isdigit() and len(trade.trade_id) < 19 else 0
            sink.one(ev, exch_ts, local_ts, trade.px, qty, ival=trade_id)
            self._clock_offset = exch_ts - local_ts

    def _on_mark(self, msg: OkxMarkPriceMessage, local_ts: int) -> None:
        """``mark-price``, e.g. ``{"arg":{"channel":"mark-price","instId":"BTC-USDT-SWAP"},"data":[{
        "instType":"SWAP","instId":"BTC-USDT-SWAP","markPx":"42310.6","ts":"1630049139746"}]}``."""
        parsed = [(parse_decimal(m.mark_px), m.ts_ms * NS_PER_MS, m.inst_id) for m in msg.data]
        for _, exch_ts, _ in parsed:  # every value is checked before anything changes
            if not 0 < exch_ts < INT64_MAX:
                raise ValueError(f"ts out of range: {exch_ts}")
        self.stats.mark_messages += 1
        for mark_price, exch_ts, instrument in parsed:
            if not self._accept_symbol(symbol_of(instrument)):
                continue
            self.stats.funding_rollovers += self.perp.apply(self.sink, exch_ts, local_ts, mark_price=mark_price)

    def _on_funding(self, msg: OkxFundingRateMessage, local_ts: int) -> None:
        """``funding-rate`` (see :class:`~connectors.okx.messages.OkxFundingRateMessage`): the rate of the
        settlement at ``fundingTime``, which is arb's next funding time; the interval is
        ``nextFundingTime - fundingTime``."""
        self._funding_entries(msg.data, local_ts)

    def _on_rest_funding(self, answer: OkxFundingRates, local_ts: int) -> None:
        """``GET /api/v5/public/funding-rate?instId=BTC-USDT-SWAP``'s answer, fetched by the feed on each
        connection and recorded in the stream (see :class:`~connectors.okx.messages.OkxFundingRates`): its
        entries read as a ``funding-rate`` push's, so a start just before a funding time knows that funding's
        rate before the channel's next push (every 30 to 90 s) and books it when the push shows it passed."""
        self._funding_entries(answer.data, local_ts)

    def _funding_entries(self, entries: Sequence[OkxFundingRate], local_ts: int) -> None:
        # The rows of funding-rate entries, a push's or the REST answer's.
        parsed = []
        for f in entries:  # every value is parsed before anything changes
            rate, funding_ns = parse_decimal(f.funding_rate), parse_ms(f.funding_time_ms)
            after_ns = parse_ms(f.next_funding_time_ms)
            exch_ts = exchange_ns(f.ts_ms, "ts")
            interval = after_ns - funding_ns if after_ns and funding_ns and after_ns > funding_ns else 0
            parsed.append((f.inst_id, rate, funding_ns, interval, exch_ts))
        self.stats.mark_messages += 1
        for instrument, rate, funding_ns, interval, exch_ts in parsed:
            if not self._accept_symbol(symbol_of(instrument)):
                continue
            perp = self.perp
            perp.set_interval(interval)
            self.stats.funding_rollovers += perp.apply(
                self.sink, exch_ts, local_ts, funding_rate=rate, next_funding_ns=funding_ns
            )
            perp.set_interval(interval)  # a rollover row carries the spacing it saw; the state keeps OKX's


NORMALIZER = OkxNormalizer
"""The venue's normalizer (what :mod:`connectors.registry` finds)."""
