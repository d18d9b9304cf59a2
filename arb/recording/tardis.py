"""Tardis.dev's CSV datasets -> hftbacktest event rows, a buffer at a time.

Tardis.dev publishes, per exchange, data type, UTC day and symbol, one gzip CSV
(``https://datasets.tardis.dev/v1/{exchange}/{data_type}/{YYYY}/{MM}/{DD}/{SYMBOL}.csv.gz``). arb reads
these of its data types (times are microseconds since the epoch, UTC; ``timestamp`` is the exchange's,
``local_timestamp`` Tardis's receive time):

- ``incremental_book_L2``: ``exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount``,
  one price level a row; ``amount`` is the level's new size (0 deletes it); rows sharing a
  ``local_timestamp`` came in one message; a run of ``is_snapshot=true`` rows that follows a
  non-snapshot row (or starts the file) is a whole book that replaces the previous one (each day starts
  with one; Tardis inserts one after each reconnection of its own collector). Rows before a file's
  first snapshot are updates buffered before it: Tardis says to skip them. There are no update ids:
  a message lost between Tardis and the exchange is invisible, except that Tardis resnapshots after
  reconnecting;
- ``book_snapshot_25`` and ``book_snapshot_5`` (a day's book in place of ``incremental_book_L2``):
  ``exchange,symbol,timestamp,local_timestamp,asks[0].price,asks[0].amount,bids[0].price,bids[0].amount,
  ...`` to index 24 (4), each row the top 25 (5) levels a side after a change among them (empty fields:
  fewer levels); read as :mod:`arb.recording.tardis_snapshots` says: the first row a snapshot, each later
  row only the levels that changed, so that the book holds each row's levels and nothing deeper;
- ``trades``: ``exchange,symbol,timestamp,local_timestamp,id,side,price,amount`` (``side`` the taker's:
  ``buy``, ``sell``, or ``unknown``);
- ``derivative_ticker`` (perpetuals): ``exchange,symbol,timestamp,local_timestamp,funding_timestamp,
  funding_rate,predicted_funding_rate,open_interest,last_price,index_price,mark_price``, each row the
  whole state after a change (empty: unknown); ``funding_timestamp`` is the next funding time.

Rows written (``arb.events`` names), as the venues' own normalizers write them from the live streams:

- a snapshot: ``CLEAR_ALL``, then ``SNAPSHOT_BID``/``SNAPSHOT_ASK`` per level of positive size; when it
  ends (at the next non-snapshot row), ``SYNC_RESTORED_EVENT`` if the book was not synced. A snapshot
  with a side empty is a finding; a crossed one (best bid >= best ask) is a finding too, and the book is
  cleared and out of sync (``SYNC_LOST_EVENT`` with ``SyncReason.CROSSED``) until the next snapshot;
- an update on a synced book: ``DEPTH_BID``/``DEPTH_ASK`` (size 0 deletes the level);
- updates before a file's first snapshot are skipped and counted; if the book was synced (the previous
  day's end), it is cleared and out of sync (``SyncReason.DISCONNECT``) from the first of them until the
  snapshot;
- a trade: ``TRADE_BUY``/``TRADE_SELL`` (``unknown``: ``TRADE_EVENT`` with no side, as hftbacktest's
  converter writes it);
- a derivative ticker row: ``MARK_PRICE_EVENT``/``FUNDING_RATE_EVENT``, after ``FUNDING_SETTLED_EVENT``
  when the funding time moved forward, through the same :class:`~connectors.common.funding.PerpState`
  the live normalizers use.

Symbols and amounts are the venue's own as Tardis copies them: the venue's
:class:`~connectors.common.tardis.TardisNames` (:func:`names`) gives the name the rows carry for arb's
symbol and the base currency per ``amount`` (1 for most; a contract's value where a market's amounts are
contracts), by which book and trade amounts are multiplied as they are parsed (``size x factor`` in
float64, as the venues' own normalizers turn contracts into base).

Times become int64 ns (microseconds x 1000). The data types of a day are merged by ``local_timestamp``;
on equal times the ticker's rows come first, then trades, then the book (hftbacktest's converter takes
trade files before depth files for the same reason: a depth update caused by a trade must not reduce a
queue position before the trade does). The CSV is parsed by compiled code (numbers are read exactly as
Python's ``float`` reads them); a line it declines is parsed by Python, and a line nobody can parse is
counted, shown in the findings and skipped.
"""

from __future__ import annotations

__all__ = [
    "BOOK",
    "BOOK_TYPES",
    "HEADERS",
    "SNAPSHOT_5",
    "SNAPSHOT_25",
    "SNAPSHOT_DEPTHS",
    "TICKER",
    "TRADES",
    "TardisFile",
    "TardisReader",
    "exchange_of",
    "exchanges",
    "inspect",
    "names",
]

import contextlib
import csv
import io
import logging
import math
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from arb.catalog import venue_catalog
from arb.events import (
    NS_PER_US,
    EventArray,
    SyncReason,
)
from arb.recording.tardis_rows import (
    C_BACKWARDS,
    C_BAD_VALUE,
    C_CROSSED_SNAP,
    C_EMPTY_SNAP,
    C_FIRST_BACKWARDS,
    C_FIRST_CROSSED,
    C_FIRST_EMPTY,
    C_FIRST_PRE,
    C_MESSAGES,
    C_NO_SIDE,
    C_PRE_SNAPSHOT,
    C_RESNAP_1,
    C_RESNAP_2,
    C_RESNAP_3,
    C_ROWS,
    C_SIZE,
    C_SNAPSHOTS,
    C_TRADES,
    C_UNSYNCED,
    E_DONE,
    E_NEED_BOOK,
    E_NEED_TRADES,
    S_FRESH,
    S_LAST_BOOK_KIND,
    S_LAST_BOOK_LOCAL,
    S_LAST_DEPTH_EXCH,
    S_LAST_DEPTH_LOCAL,
    S_SIZE,
    S_SYNCED,
    S_TRANS,
    TRANS_CAP,
    U_BOOK_AT,
    U_PERP_AT,
    U_SIZE,
    U_TRADES_AT,
    emit,
)
from arb.recording.tardis_snapshots import snapshot_header
from arb.recording.tardis_stream import SAMPLES, Stream
from connectors.common.findings import FileFindings, ProgressFn, at_time
from connectors.common.funding import PerpState
from connectors.common.normalizer import (
    BadPayloadLog,
    NormalizerStats,
    SyncState,
    SyncStatus,
    SyncTransition,
)
from connectors.common.record_files import sample
from connectors.common.rows import RowSink
from connectors.common.tardis import TardisNames
from connectors.common.textfile import TextChunks, head
from connectors.registry import venue as venue_connector

log = logging.getLogger(__name__)

BOOK = "incremental_book_L2"
SNAPSHOT_25 = "book_snapshot_25"
SNAPSHOT_5 = "book_snapshot_5"
TRADES = "trades"
TICKER = "derivative_ticker"
BOOK_TYPES = (BOOK, SNAPSHOT_25, SNAPSHOT_5)
"""The data types that hold a day's book, in the order a day's book is taken from them when several are there
(:mod:`arb.recording.sources`): the full book's updates, then the top 25 levels, then the top 5."""
SNAPSHOT_DEPTHS = {SNAPSHOT_25: 25, SNAPSHOT_5: 5}
"""Levels a side of each book_snapshot data type."""
HEADERS: dict[str, bytes] = {
    BOOK: b"exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount",
    SNAPSHOT_25: snapshot_header(25),
    SNAPSHOT_5: snapshot_header(5),
    TRADES: b"exchange,symbol,timestamp,local_timestamp,id,side,price,amount",
    TICKER: b"exchange,symbol,timestamp,local_timestamp,funding_timestamp,funding_rate,predicted_funding_rate,"
    b"open_interest,last_price,index_price,mark_price",
}
"""The header line of each data type arb reads, exactly as Tardis writes it."""


def exchanges() -> dict[str, tuple[str, str]]:
    """Tardis's exchange id -> arb's (venue, market), from every venue's facts (``[tardis]`` of its
    ``venue.toml``)."""
    return {
        exchange: (facts.name, market)
        for facts in venue_catalog().values()
        for market, exchange in facts.tardis.items()
    }


def names(venue: str) -> TardisNames:
    """How ``venue``'s Tardis datasets name and size its instruments (its connector's ``tardis.py``, or arb's
    symbols in base currency)."""
    return venue_connector(venue).tardis


def exchange_of(venue: str, market: str) -> str:
    """Tardis's exchange id for arb's ``venue`` and ``market`` (``KeyError`` for another pair)."""
    for exchange, pair in exchanges().items():
        if pair == (venue, market):
            return exchange
    raise KeyError(f"no Tardis exchange for {venue} {market}")


@dataclass(frozen=True, slots=True)
class TardisFile:
    """What one Tardis CSV holds, from its header and first row."""

    path: Path
    data_type: str
    exchange: str
    """Tardis's exchange id of the first row ("" when the file has no row)."""
    symbol: str
    """The symbol of the first row ("" when the file has no row)."""


def inspect(path: str | Path) -> TardisFile | None:
    """The data type, exchange and symbol of a Tardis CSV (gzip or plain), or None when its first line is
    not the header of a data type arb reads."""
    path = Path(path)
    head = _first_lines(path, 2)
    if not head:
        return None
    data_type = next((name for name, header in HEADERS.items() if head[0] == header), None)
    if data_type is None:
        return None
    fields = head[1].split(b",", 2) if len(head) > 1 else []
    exchange = fields[0].decode("utf-8", "replace") if len(fields) > 1 else ""
    symbol = fields[1].decode("utf-8", "replace") if len(fields) > 1 else ""
    return TardisFile(path, data_type, exchange, symbol)


def _first_lines(path: Path, n: int) -> list[bytes]:
    lines = head(path, 1 << 14).split(b"\n")[:n]
    return [line.rstrip(b"\r") for line in lines if line]


# -- the reader ----------------------------------------------------------------------------------------

_OUT_ROOM = 1 << 16
"""Rows reserved in the sink before each merge step (without chunks)."""
_CHUNK_SLACK = 1 << 16
_CHUNKS_AHEAD = 1
"""Chunks of rows the reading thread may hold ready beyond the one the converter is working on."""
_DONE = object()


class TardisReader:
    """Reads one venue's Tardis files of one symbol (the book's, of any of :data:`BOOK_TYPES`, the trades',
    the ticker's; one or several UTC days each, in day order) into event rows, for
    :mod:`arb.recording.convert`: it offers what the converter uses of a normalizer (``sink``, ``stats``,
    ``status``, ``transitions``, ``perp``, :meth:`resume`) and reads the files itself (:meth:`feed`).
    ``symbol`` is arb's; the rows kept are those of its Tardis name (:func:`names`)."""

    def __init__(self, venue: str, market: str, symbol: str, files: Sequence[TardisFile]) -> None:
        self.venue = venue
        self.market = market
        self.symbol = symbol.upper()
        self.files = list(files)
        self.sink = RowSink()
        self.stats = NormalizerStats()
        self.status = SyncStatus()
        self.transitions: list[SyncTransition] = []
        self.perp = PerpState()
        self.bad_payloads = BadPayloadLog(log, echo=False)
        self.names = names(venue)

    @property
    def dataset_symbol(self) -> str:
        """The symbol as the Tardis rows spell it (``ValueError`` when the venue cannot spell it)."""
        return self.names.symbol(self.symbol, self.market)

    def resume(self, last_update_id: int, market: str, symbol: str) -> None:
        """Start from the previous day's synced end-of-day book (a Tardis day replaces it with its own
        first snapshot)."""
        self.market = market
        self.symbol = symbol.upper()
        self.status.state = SyncState.SYNCED
        self.status.update_id = last_update_id

    def feed(
        self, progress: ProgressFn | None, on_rows: Callable[[EventArray], None] | None, chunk_rows: int
    ) -> list[FileFindings]:
        """Read the book, trade and ticker files, merged in time order by the compiled reader (on a thread
        of its own when ``on_rows`` takes chunks); the contract: :data:`~arb.recording.imports.ImportReader`."""
        books = [f for f in self.files if f.data_type in BOOK_TYPES]  # in day order, whichever kind each is
        by_type = {t: [f for f in self.files if f.data_type == t] for t in (TRADES, TICKER)}
        order = books + by_type[TRADES] + by_type[TICKER]
        sym = self.dataset_symbol.encode()
        scale = self.names.base_per_amount(self.symbol, self.market)
        depths = [SNAPSHOT_DEPTHS.get(f.data_type, 0) for f in books]
        book = Stream([f.path for f in books], depths, 0, sym, trades=False, scale=scale)
        trades = Stream([f.path for f in by_type[TRADES]], [0] * len(by_type[TRADES]), len(books), sym, trades=True,
                        scale=scale)  # fmt: skip
        perp_rows, ticker_findings = self._tickers(by_type[TICKER])
        n_files = len(order)
        counters = np.zeros((max(n_files, 1), C_SIZE), np.int64)
        state = np.zeros(S_SIZE, np.int64)
        state[S_SYNCED] = 1 if self.status.state is SyncState.SYNCED else 0
        state[S_FRESH] = 1
        state[S_LAST_BOOK_KIND] = -1
        state[S_LAST_BOOK_LOCAL] = np.iinfo(np.int64).min
        fstate = np.zeros(2, np.float64)
        trans = np.zeros((TRANS_CAP, 3), np.int64)
        book_state = (state, fstate, counters, trans)
        cursor = np.zeros(U_SIZE, np.int64)
        total = sum(f.path.stat().st_size for f in order)
        sink = self.sink
        room = chunk_rows + _CHUNK_SLACK if on_rows is not None else _OUT_ROOM
        stop = threading.Event()

        def produce(hand: Callable[[EventArray], None] | None) -> None:
            # Parse and merge every row into the sink; hand it over whenever chunk_rows are held.
            pi = 0
            try:
                while not stop.is_set():
                    out, fill = sink.reserve(room)
                    cursor[:] = (book.at, book.n, book.done, trades.at, trades.n, trades.done, pi, len(perp_rows))
                    fill, why = emit((book.rows, trades.rows, perp_rows), cursor, book_state, out, fill)
                    sink.commit(fill)
                    book.at, trades.at, pi = int(cursor[U_BOOK_AT]), int(cursor[U_TRADES_AT]), int(cursor[U_PERP_AT])
                    self._drain(state, trans)
                    if hand is not None and sink.rows >= chunk_rows:
                        hand(sink.take())
                    if why == E_NEED_BOOK:
                        book.refill()
                    elif why == E_NEED_TRADES:
                        trades.refill()
                    elif why == E_DONE:
                        break
                    if progress is not None and hand is None:
                        progress(book.bytes_read + trades.bytes_read, total)
            finally:
                for reader in book.readers + trades.readers:
                    reader.close()
                for stream in (book, trades):
                    stream.close()

        if on_rows is None:
            produce(None)
        else:
            # Chunks: the reading (inflate, parse, merge: compiled, GIL released) runs on a thread of its own
            # while this one hands each chunk on (the converter's order correction, book and writing).
            chunks: queue.Queue[Any] = queue.Queue(maxsize=_CHUNKS_AHEAD)

            def run() -> None:
                try:
                    produce(lambda rows: _offer(chunks, rows, stop))
                    _offer(chunks, _DONE, stop)
                except BaseException as exc:  # noqa: BLE001 - handed to the converting thread, raised there
                    _offer(chunks, exc, stop)

            thread = threading.Thread(target=run, name="arb-tardis-read", daemon=True)
            thread.start()
            try:
                while (item := chunks.get()) is not _DONE:
                    if isinstance(item, BaseException):
                        raise item
                    on_rows(item)
                    if progress is not None:
                        progress(book.bytes_read + trades.bytes_read, total)
            finally:
                stop.set()
                while thread.is_alive():
                    with contextlib.suppress(queue.Empty):
                        chunks.get(timeout=0.05)
                thread.join()
        self.status.last_depth_local_ts = int(state[S_LAST_DEPTH_LOCAL])
        self.status.last_depth_exch_ts = int(state[S_LAST_DEPTH_EXCH])
        if on_rows is not None and sink.rows:
            on_rows(sink.take())
        found: list[FileFindings] = []
        for k, f in enumerate(order):
            if f.data_type == TICKER:
                found.append(ticker_findings[f.path])
                continue
            stream = book if f.data_type in BOOK_TYPES else trades
            j = k - stream.first_index
            found.append(self._findings(f, stream, j, counters[k]))
        self._count(counters, len(books), len(by_type[TRADES]))
        return [found[order.index(f)] for f in self.files]

    def _drain(self, state: np.ndarray[Any, Any], trans: np.ndarray[Any, Any]) -> None:
        # The sync transitions the compiled merge recorded, as SyncTransition objects.
        for k in range(int(state[S_TRANS])):
            synced, local, reason = (int(x) for x in trans[k])
            new = SyncState.SYNCED if synced else SyncState.OUT_OF_SYNC
            why = None if synced else SyncReason(reason)
            self.transitions.append(SyncTransition(self.venue, self.symbol, new, local, why))
        state[S_TRANS] = 0
        if state[S_SYNCED]:
            self.status.state = SyncState.SYNCED
        elif self.transitions:
            self.status.state = SyncState.OUT_OF_SYNC

    def _count(self, counters: np.ndarray[Any, Any], nb: int, nt: int) -> None:
        book_c = counters[:nb].sum(axis=0) if nb else np.zeros(C_SIZE, np.int64)
        trade_c = counters[nb : nb + nt].sum(axis=0)
        stats = self.stats
        stats.depth_messages += int(book_c[C_MESSAGES])
        stats.snapshots += int(book_c[C_SNAPSHOTS])
        stats.dropped_unsynced += int(book_c[C_UNSYNCED] + book_c[C_PRE_SNAPSHOT])
        stats.trade_messages += int(trade_c[C_TRADES])
        stats.resyncs += sum(
            1
            for before, after in zip(self.transitions, self.transitions[1:], strict=False)
            if before.state is SyncState.OUT_OF_SYNC and after.state is SyncState.SYNCED
        )
        stats.messages = stats.depth_messages + stats.trade_messages + stats.mark_messages

    def _findings(self, f: TardisFile, stream: Stream, j: int, c: np.ndarray[Any, Any]) -> FileFindings:
        reader = stream.readers[j] if j < len(stream.readers) else None
        path = str(f.path)
        found = FileFindings(path=path, size=f.path.stat().st_size, lines=stream.lines[j])
        found.messages = int(c[C_MESSAGES] if f.data_type in BOOK_TYPES else c[C_TRADES])
        found.other_symbols = stream.others[j]
        # a book_snapshot line is usable when it was read (one that changed nothing writes no row)
        read = stream.lines[j] - stream.others[j] - stream.bad[j]
        found.usable = read if f.data_type in SNAPSHOT_DEPTHS else int(c[C_ROWS])
        if reader is not None:
            found.truncated = reader.truncated
            found.lost_tail_bytes = reader.lost_tail_bytes
            found.download_problems(reader.damage, reader.truncated, f"; {found.lines:,} complete rows before the end")
        what = f.data_type
        if found.lines == 0 and not found.problems:
            found.fatal = f"{path}: no rows after the header (an empty Tardis {what} file)"
        elif found.lines and found.usable == 0 and found.other_symbols:
            found.fatal = f"{path}: no {self.dataset_symbol} rows ({found.other_symbols:,} rows of other symbols)"
        bad = stream.bad[j]
        if bad:
            text = found.bad_rows(bad, stream.bad_samples[j], what)
            if bad * 2 > max(found.lines, 1):
                found.fatal = text + " (is this the file it says it is?)"
            else:
                found.problems.append(text)
        if f.data_type in BOOK_TYPES:
            found.notes += _book_notes(path, c, f.data_type in SNAPSHOT_DEPTHS)
        elif c[C_NO_SIDE]:
            found.notes.append(
                f"{path}: {int(c[C_NO_SIDE]):,} trades without a taker side (Tardis's 'unknown'): written without one"
            )
        if c[C_BACKWARDS]:
            found.notes.append(
                f"{path}: local_timestamp goes back {int(c[C_BACKWARDS]):,} times (first at "
                f"{at_time(int(c[C_FIRST_BACKWARDS]))}); the rows are put in time order"
            )
        if c[C_BAD_VALUE]:
            what = "levels" if f.data_type in SNAPSHOT_DEPTHS else "rows"
            found.notes.append(f"{path}: {int(c[C_BAD_VALUE]):,} {what} with a negative or non-finite value skipped")
        return found

    def _tickers(self, files: Sequence[TardisFile]) -> tuple[EventArray, dict[Path, FileFindings]]:
        # Every derivative_ticker row of the day(s) through PerpState, in file order: the ready rows.
        sink = RowSink()
        found: dict[Path, FileFindings] = {}
        dataset_symbol = self.dataset_symbol if files else ""
        for f in files:
            size = f.path.stat().st_size
            ff = FileFindings(path=str(f.path), size=size)
            reader = TextChunks(f.path)
            text = b"".join(bytes(c) for c in reader)
            ff.download_problems(reader.damage, reader.truncated)
            rows = csv.reader(io.StringIO(text.decode("utf-8", "replace")))
            header = next(rows, None)
            bad: list[tuple[int, str]] = []
            n_bad = 0
            for line, fields in enumerate(rows, start=2):
                if not fields:
                    continue
                ff.lines += 1
                if len(fields) != 11:
                    n_bad += 1
                    if len(bad) < SAMPLES:
                        bad.append((line, sample(",".join(fields))))
                    continue
                if fields[1] != dataset_symbol:
                    ff.other_symbols += 1
                    continue
                try:
                    self._ticker_row(sink, fields)
                except ValueError:
                    n_bad += 1
                    if len(bad) < SAMPLES:
                        bad.append((line, sample(",".join(fields))))
                    continue
                ff.usable += 1
                ff.messages += 1
            if header is None or ff.lines == 0:
                ff.fatal = ff.fatal or f"{f.path}: no rows after the header (an empty Tardis derivative_ticker file)"
            if n_bad:
                ff.problems.append(ff.bad_rows(n_bad, bad, "derivative_ticker"))
            found[f.path] = ff
        rows_out = sink.take()
        order = np.argsort(rows_out["local_ts"], kind="stable")  # the files are in time order; to be sure
        return np.ascontiguousarray(rows_out[order]), found

    def _ticker_row(self, sink: RowSink, fields: list[str]) -> None:
        # One derivative_ticker row: the whole state after a change (empty: not known).
        exch = int(fields[2]) * NS_PER_US
        local = int(fields[3]) * NS_PER_US
        funding_ts = int(fields[4]) * NS_PER_US if fields[4] else None
        rate = _decimal(fields[5])
        index = _decimal(fields[9])
        mark = _decimal(fields[10])
        if mark is None and index is None and rate is None and funding_ts is None:
            return
        before = self.perp.rollovers
        self.stats.mark_messages += 1
        self.perp.apply(
            sink, exch, local, mark_price=mark, index_price=index, funding_rate=rate, next_funding_ns=funding_ts
        )
        self.stats.funding_rollovers += self.perp.rollovers - before


def _offer(chunks: queue.Queue[Any], item: Any, stop: threading.Event) -> None:
    # Queue an item for the converting thread, giving up once it stopped listening.
    while not stop.is_set():
        try:
            chunks.put(item, timeout=0.05)
            return
        except queue.Full:
            continue


def _decimal(text: str) -> float | None:
    if not text:
        return None
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {text!r}")
    return value


def _book_notes(path: str, c: np.ndarray[Any, Any], snapshots: bool) -> list[str]:
    # What the book's rows showed, worded for the findings (``snapshots``: of a book_snapshot file, whose
    # first row, and each after a crossed one, is a snapshot).
    notes = []
    if c[C_PRE_SNAPSHOT]:
        notes.append(
            f"{path}: skipped {int(c[C_PRE_SNAPSHOT]):,} update rows before the file's first snapshot (from "
            f"{at_time(int(c[C_FIRST_PRE]))}), as Tardis advises: they were buffered before the exchange's snapshot"
        )
    resnaps = [int(c[k]) for k in (C_RESNAP_1, C_RESNAP_2, C_RESNAP_3) if c[k]]
    more = int(c[C_SNAPSHOTS]) - 1 - len(resnaps)
    if resnaps:
        times = ", ".join(at_time(t) for t in resnaps) + (f" and {more} more" if more > 0 else "")
        notes.append(
            f"{path}: Tardis inserted {int(c[C_SNAPSHOTS]) - 1} snapshots after the first (at {times}): its "
            "collector reconnected there, and updates may be missing just before each (Tardis's data has no "
            "update ids: a gap shows nowhere else)"
        )
    what = "rows written whole (the first, and each after a crossed one)" if snapshots else "snapshots"
    if c[C_EMPTY_SNAP]:
        notes.append(
            f"{path}: {int(c[C_EMPTY_SNAP])} {what} left a side of the book empty (first at "
            f"{at_time(int(c[C_FIRST_EMPTY]))})"
        )
    if c[C_CROSSED_SNAP]:
        until = "the next row" if snapshots else "the next snapshot"
        notes.append(
            f"{path}: {int(c[C_CROSSED_SNAP])} {'rows' if snapshots else 'snapshots'} were crossed (best bid >= "
            f"best ask; first at {at_time(int(c[C_FIRST_CROSSED]))}): the book is out of sync from each until {until}"
        )
    return notes  # snapshot rows of size 0 (Tardis merges the updates buffered before a snapshot) are normal
