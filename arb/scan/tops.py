"""A venue's top of book at every change, and its depth at chosen moments, from its event rows.

The scan keeps far less than a conversion: of a day's rows it keeps one record per message that changed
the best bid or ask (price or quantity), and, in a second look, the best levels of each side at the few
moments it asks for (the episodes' starts). The books apply the rows as :mod:`arb.book`'s does (the backtest's
and the live path's): the top's keeps exact only the best levels it reads (:mod:`arb.scan.nearbook`), the
depth's is :mod:`arb.book`'s own, brought to each moment a run of rows at a time.

A message is the rows of one receive time (``local_ts``): the top is read after the whole message, never
between two of its rows (a message that moves several levels passes through states the venue never
showed). Until the venue's book is synced (``SYNC_RESTORED_EVENT``) and after it loses sync
(``SYNC_LOST_EVENT``) the top is unknown: a record with NaN prices says so, and the pair measures skip
that time.

The rows are the day's as ``arb convert`` reads them (:func:`scan_rows`), the same rows in the same order, but
read for less where the venue has a scan read (``connectors/<venue>/scan_read.py``: one compiled pass over each
buffer of recorded lines, the venue's normalizer only for the lines it leaves) and handed to the book as they
come, on the reading thread, without the conversion's chunks, copies and second thread. The top's book runs
without Numba's reference counts (``_nrt=False``: nothing in it allocates), which on a deep book cost as much as
the book's own work.

Times are int64 ns; prices and quantities as the rows carry them (quote per base unit, base units).
"""

from __future__ import annotations

__all__ = [
    "SCAN_CHUNK_ROWS",
    "DayOptions",
    "DepthAt",
    "RowsReceiver",
    "Tops",
    "TopsReader",
    "read_tops",
    "scan_read_of",
    "scan_rows",
    "tops_dtype",
]

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict, Unpack

import numpy as np

from arb._jit import njit
from arb.book import OrderBook, apply_rows_final, book_top
from arb.events import EVENT_KIND_MASK, SYNC_LOST_EVENT, SYNC_RESTORED_EVENT, EventArray
from arb.recording.read_rows import RowsReceiver, read_rows
from arb.scan.nearbook import NearBook, apply_message
from connectors.common.findings import Findings
from connectors.common.scan_pass import ScanRead
from connectors.registry import venue as venue_connector

tops_dtype = np.dtype(
    [("local_ts", "i8"), ("exch_ts", "i8"), ("bid_px", "f8"), ("bid_qty", "f8"), ("ask_px", "f8"), ("ask_qty", "f8")]
)
"""One top-of-book record: the receive and venue times of the message that left it, the best bid and ask
(NaN prices: unknown, the book not synced or a side empty)."""

SCAN_CHUNK_ROWS = 131_072
"""Rows a day read by its normalizer (:func:`scan_rows` without a scan read) hands over at a time (8 MB)."""
_SCAN_READ = "scan_read"
"""A venue's module of its scan read (:func:`scan_read_of`)."""


_SYNCED = 0
_HAS_GROUP = 1
_GROUP_TS = 2
_GROUP_EXCH = 3
_LAST_TS = 4
_STATE = 5
"""The reader's carried state (int64): synced, a message pending, its local and exchange times, the latest
receive time read."""


@njit(cache=True, nogil=True, inline="always")
def _top_changed(book: Any, synced: int, last: Any, out: Any, n: int, local_ts: int, exch_ts: int) -> int:
    # Append the book's top to out[n] when it differs from the last record (NaN when not synced); returns n.
    bid_keys, bid_qtys, ask_keys, ask_qtys, _, _, counts, _ = book
    bp = np.nan
    bq = 0.0
    ap = np.nan
    aq = 0.0
    if synced and counts[0] > 0 and counts[1] > 0:
        bp = bid_keys[counts[0] - 1]
        bq = bid_qtys[counts[0] - 1]
        ap = -ask_keys[counts[1] - 1]
        aq = ask_qtys[counts[1] - 1]
    same = (bp == last[0] or (np.isnan(bp) and np.isnan(last[0]))) and bq == last[1]
    same = same and (ap == last[2] or (np.isnan(ap) and np.isnan(last[2]))) and aq == last[3]
    if same:
        return n
    out[n]["local_ts"] = local_ts
    out[n]["exch_ts"] = exch_ts
    out[n]["bid_px"] = bp
    out[n]["bid_qty"] = bq
    out[n]["ask_px"] = ap
    out[n]["ask_qty"] = aq
    last[0] = bp
    last[1] = bq
    last[2] = ap
    last[3] = aq
    return n + 1


@njit(cache=True, nogil=True, inline="always")
def _message_end(rows: Any, i: int, state: Any) -> int:
    # The end of the message (rows of one receive time) that rows[i] begins; its sync events set the state.
    ts = rows[i]["local_ts"]
    j = i
    while j < rows.shape[0] and rows[j]["local_ts"] == ts:
        kind = rows[j]["ev"] & EVENT_KIND_MASK
        if kind == SYNC_LOST_EVENT:
            state[_SYNCED] = 0
        elif kind == SYNC_RESTORED_EVENT:
            state[_SYNCED] = 1
        j += 1
    return j


@njit(cache=True, nogil=True, _nrt=False)
def _read_tops(book: Any, rows: Any, start: int, state: Any, last: Any, out: Any) -> tuple[int, int]:
    # Apply rows[start:] a message at a time (runs of one side's levels merged, as arb.scan.nearbook does),
    # recording the top after each message into out; returns (rows applied up to, records). Stops early (a
    # side's arrays full) so the caller grows the book and calls again from the returned row. A message cut
    # by the chunk's end is finished by the next call (state: the pending message's times).
    n = 0
    i = start
    while i < rows.shape[0]:
        ts = rows[i]["local_ts"]
        state[_LAST_TS] = max(state[_LAST_TS], ts)
        if state[_HAS_GROUP] and ts != state[_GROUP_TS]:
            n = _top_changed(book, state[_SYNCED], last, out, n, state[_GROUP_TS], state[_GROUP_EXCH])
            state[_HAS_GROUP] = 0
        synced = state[_SYNCED]
        j = _message_end(rows, i, state)
        if apply_message(book, rows, i, j):  # no room: nothing applied; again once the book has grown
            state[_SYNCED] = synced
            return i, n
        if not state[_HAS_GROUP]:
            state[_HAS_GROUP] = 1
            state[_GROUP_TS] = ts
            state[_GROUP_EXCH] = rows[i]["exch_ts"]
        i = j
    return i, n


@njit(cache=True, nogil=True)
def _flush(book: Any, state: Any, last: Any, out: Any) -> int:
    # The last message's top (the end of the input); 0 or 1 record.
    if not state[_HAS_GROUP]:
        return 0
    state[_HAS_GROUP] = 0
    return _top_changed(book, state[_SYNCED], last, out, 0, state[_GROUP_TS], state[_GROUP_EXCH])


@njit(cache=True, nogil=True)
def _depth_at(book: Any, rows: Any, start: int, state: Any, times: Any, k: int, levels: Any) -> tuple[int, int]:
    # Apply rows[start:] up to each of times[k:] in turn (the rows received at or before it), the whole run at
    # once (arb.book.apply_rows_final: the same book at its end, far cheaper on a deep book than row by row),
    # then write the book's best levels to levels[k] (bid px, bid qty, ask px, ask qty rows; NaN when not
    # synced). Returns (rows applied up to, next k); stops early when the book is full (grow it, call again).
    n = rows.shape[0]
    while start < n:
        end = start
        limit = times[k] if k < times.shape[0] else np.iinfo(np.int64).max
        while end < n and rows[end]["local_ts"] <= limit:
            end += 1
        if apply_rows_final(book, rows[:end], start) < end:
            return start, k  # full: the run again from its start (absolute levels: twice changes nothing)
        for r in range(start, end):
            kind = rows[r]["ev"] & EVENT_KIND_MASK
            if kind == SYNC_LOST_EVENT:
                state[_SYNCED] = 0
            elif kind == SYNC_RESTORED_EVENT:
                state[_SYNCED] = 1
        start = end
        if end < n:  # times[k] has passed
            _write_levels(book, state[_SYNCED], levels[k], levels.shape[2])
            k += 1
    return start, k


@njit(cache=True, nogil=True)
def _write_levels(book: Any, synced: int, out: Any, depth: int) -> None:
    # The book's (arb.book's arrays) best ``depth`` levels into out's four rows, NaN when not synced.
    book_top(book, depth, (out[0], out[1], out[2], out[3]))
    if not synced:
        out[0, :] = np.nan
        out[1, :] = 0.0
        out[2, :] = np.nan
        out[3, :] = 0.0


@dataclass(frozen=True, slots=True)
class Tops:
    """A venue's top of book over a span: ``records`` (:data:`tops_dtype`, by receive time) from ``start_ns``
    (the first record's time) to ``end_ns`` (the last row received), ns."""

    records: np.ndarray[Any, Any]
    end_ns: int

    @property
    def start_ns(self) -> int:
        """The first record's receive time (0 without records)."""
        return int(self.records["local_ts"][0]) if len(self.records) else 0

    def since(self, start_ns: int) -> Tops:
        """The top from ``start_ns`` on: the record in force then restamped at ``start_ns``, and the later ones."""
        t = self.records["local_ts"]
        first = int(np.searchsorted(t, start_ns, side="right")) - 1
        if first < 0:
            return Tops(self.records[t >= start_ns].copy(), self.end_ns)
        kept = self.records[first:].copy()
        kept["local_ts"][0] = max(int(kept["local_ts"][0]), start_ns)
        return Tops(kept, self.end_ns)


class TopsReader:
    """Reads a venue's rows, in receive order, chunk after chunk (:meth:`add`), into its :class:`Tops`."""

    def __init__(self) -> None:
        self._book = NearBook(1, 64)
        self._state = np.zeros(_STATE, np.int64)
        self._last = np.full(4, np.nan)
        self._parts: list[np.ndarray[Any, Any]] = []

    def add(self, rows: EventArray) -> None:
        """Apply a chunk of rows, keeping the top after each message that changed it."""
        if not len(rows):
            return
        rows = np.ascontiguousarray(rows)
        out = np.empty(len(rows), tops_dtype)
        start = 0
        while True:
            start, n = _read_tops(self._book.arrays, rows, start, self._state, self._last, out)
            if n:
                self._parts.append(out[:n].copy())
            if start >= len(rows):
                break
            self._book.grow()

    def finish(self) -> Tops:
        """The top at every change of what was added (the last message's included)."""
        out = np.empty(1, tops_dtype)
        if _flush(self._book.arrays, self._state, self._last, out):
            self._parts.append(out)
        records = np.concatenate(self._parts) if self._parts else np.empty(0, tops_dtype)
        return Tops(records, int(self._state[_LAST_TS]))


class DepthAt:
    """Reads a venue's rows again (:meth:`add`) and keeps its best ``levels`` a side at each of ``times_ns``
    (sorted receive times: the book after every message received at or before each)."""

    def __init__(self, times_ns: np.ndarray[Any, Any], levels: int) -> None:
        self.times = np.ascontiguousarray(times_ns, np.int64)
        self.levels = np.full((len(self.times), 4, levels), np.nan)
        self.levels[:, 1, :] = 0.0
        self.levels[:, 3, :] = 0.0
        self._book = OrderBook()
        self._state = np.zeros(_STATE, np.int64)
        self._k = 0

    def add(self, rows: EventArray) -> None:
        """Apply a chunk of rows, writing the levels of every time the chunk passes."""
        if not len(rows) or self._k >= len(self.times):
            return
        rows = np.ascontiguousarray(rows)
        start = 0
        while True:
            start, self._k = _depth_at(self._book.arrays, rows, start, self._state, self.times, self._k, self.levels)
            if start >= len(rows):
                return
            self._book.grow()

    def finish(self) -> np.ndarray[Any, Any]:
        """``(len(times), 4, levels)``: bid prices, bid quantities, ask prices, ask quantities, best first
        (NaN price and 0 quantity where a side has fewer levels or the book was not synced)."""
        while self._k < len(self.times):
            _write_levels(self._book.arrays, self._state[_SYNCED], self.levels[self._k], self.levels.shape[2])
            self._k += 1
        return self.levels


@functools.cache
def scan_read_of(venue: str) -> ScanRead | None:
    """The venue's scan read: ``SCAN_READ`` of its ``scan_read.py`` (``connectors/<venue>/``, found through
    :mod:`connectors.registry`), loaded, which reads a buffer of recorded lines into its normalizer's sink: the
    rows and counts the normalizer's own ``on_lines`` gives, for less (each venue's module says how). None for a
    venue without one: its normalizer reads the day as a conversion does."""
    name = f"connectors.{venue}.{_SCAN_READ}"
    try:
        module = venue_connector(venue).module(_SCAN_READ)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        return None
    read: ScanRead = module.SCAN_READ
    read.warm_up()
    return read


def scan_rows(
    inputs: Sequence[Path],
    receiver: RowsReceiver,
    *,
    venue: str,
    market: str,
    symbol: str,
    fmt: str | None = None,
    feed_latency_ns: int | None = None,
    allow_damaged: bool = False,
    scan_read: bool = True,
) -> Findings:
    """A venue's day (``inputs``: one venue, market and symbol; consecutive recording files of one session in time
    order, or one day's files of another source ``fmt``) read into its event rows, handed to ``receiver()``'s
    function chunk after chunk in receive order (a view the reading reuses: copy what is kept); returns what
    reading found. The rows and the findings are those of :func:`~arb.recording.read_rows.read_rows`: the rows
    ``arb convert`` converts, before its corrections of time and order.

    ``scan_read``: a recording of a venue that has a scan read (:func:`scan_read_of`) is read with it, its rows
    handed over after each buffer of lines; else (and always with False) with the venue's normalizer as a
    conversion reads it, in chunks of :data:`SCAN_CHUNK_ROWS`. Raises :class:`~arb.errors.RecordingError` as
    ``read_rows`` does.
    """
    read = scan_read_of(venue) if scan_read else None
    return read_rows(
        inputs, receiver, venue=venue, market=market, symbol=symbol, fmt=fmt, feed_latency_ns=feed_latency_ns,
        chunk_rows=SCAN_CHUNK_ROWS, allow_damaged=allow_damaged, read_chunk=None if read is None else read.read_chunk,
    )  # fmt: skip


class DayOptions(TypedDict, total=False):
    """How :func:`scan_rows` reads a day, as :func:`read_tops` passes it on."""

    fmt: str | None
    feed_latency_ns: int | None
    allow_damaged: bool
    scan_read: bool


def read_tops(
    inputs: Sequence[Path], rows: RowsReceiver | None = None, *, venue: str, market: str, symbol: str,
    **options: Unpack[DayOptions],
) -> tuple[Tops, Findings]:  # fmt: skip
    """A venue's day read into its :class:`Tops` (:func:`scan_rows`: ``inputs`` and the keywords as it takes them),
    and what reading found. ``rows()`` makes a receiver of the same rows (each read's, as :func:`scan_rows` makes
    them), chunk by chunk, each valid only during the call: a receiver copies what it keeps."""
    books: list[TopsReader] = []

    def receiver() -> Callable[[EventArray], None]:
        book = TopsReader()
        books.append(book)
        keep = rows() if rows is not None else None

        def take(chunk: EventArray) -> None:
            book.add(chunk)
            if keep is not None:
                keep(chunk)

        return take

    findings = scan_rows(inputs, receiver, venue=venue, market=market, symbol=symbol, **options)
    return books[-1].finish(), findings
