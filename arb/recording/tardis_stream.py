"""One stream of Tardis files (the book's, or the trades'), parsed a buffer at a time for the merge.

:class:`arb.recording.tardis.TardisReader` keeps two: the book's files (``incremental_book_L2``, or
``book_snapshot_25`` / ``_5``, a day each, in day order: the kinds may alternate from one day to the next)
and the trades'. Each inflates its files (:class:`~connectors.common.textfile.TextChunks`), hands the bytes
to the compiled parser of the file's data type (:func:`arb.recording.tardis_rows.parse_rows`,
:func:`arb.recording.tardis_snapshots.parse_snapshot_rows`) and reads in Python the lines they decline;
a line nobody reads is counted bad, with samples.
"""

from __future__ import annotations

__all__ = ["SAMPLES", "Stream"]

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from arb.events import NS_PER_US, event_dtype
from arb.recording.tardis_fields import P_DECLINED, P_FULL, TS_MAX_US
from arb.recording.tardis_rows import K_BID, K_BUY, K_FILE, K_SELL, K_SNAP_BID, K_TRADE, parse_rows
from arb.recording.tardis_snapshots import (
    Levels,
    new_levels,
    parse_snapshot_rows,
    put_levels,
    python_levels,
)
from connectors.common.record_files import sample
from connectors.common.scan import POW10
from connectors.common.textfile import TextChunks

_PARSED = 1 << 16
"""Rows parsed at a time per stream."""
SAMPLES = 3
"""Bad lines kept per file, to show."""


class Stream:
    """One data type's files (``paths``; ``depths``: each file's levels a side when it is a book_snapshot
    file, 0 for the other data types), parsed a buffer at a time into ``event_dtype`` rows of kind ``K_*``
    (with a ``K_FILE`` marker, ``ival`` the file's index from ``first_index``, at the start of each file),
    plus what each file held. ``trades``: the trades layout, else a book's. Amounts are multiplied by
    ``scale`` (base currency per amount)."""

    def __init__(
        self,
        paths: Sequence[Path],
        depths: Sequence[int],
        first_index: int,
        symbol: bytes,
        trades: bool,
        scale: float = 1.0,
    ) -> None:
        self.paths = list(paths)
        self.depths = list(depths)
        self.scale = scale
        self.first_index = first_index
        self.symbol = np.frombuffer(symbol, np.uint8).copy()
        self.trades = trades
        self.rows = np.zeros(_PARSED, event_dtype)
        self.n = 0
        self.at = 0
        self.done = not self.paths
        self.lines = [0] * len(self.paths)
        self.others = [0] * len(self.paths)
        self.bad = [0] * len(self.paths)
        self.bad_samples: list[list[tuple[int, str]]] = [[] for _ in self.paths]
        self.readers: list[TextChunks] = []
        self._file = -1
        self._chunks: Any = None
        self._buf: np.ndarray[Any, Any] = np.zeros(0, np.uint8)
        self._pos = 0
        self._header_left = False
        self._last_local = 0
        self._levels: Levels = new_levels(1)

    @property
    def bytes_read(self) -> int:
        """Compressed bytes read so far, over every file."""
        return sum(r.bytes_read for r in self.readers)

    def close(self) -> None:
        """End the file being read (its inflating thread stops)."""
        if self._chunks is not None:
            self._chunks.close()
            self._chunks = None

    def refill(self) -> None:
        """Parse the next rows into :attr:`rows` (from 0; :attr:`n` of them); sets :attr:`done` at the end of
        the last file."""
        fill = 0
        cap = _PARSED
        while fill < cap:
            if self._pos >= self._buf.shape[0] and not self._next_buffer():
                if not self._next_file():
                    self.done = True
                    break
                rows = self.rows
                rows["ev"][fill] = K_FILE
                rows["ival"][fill] = self.first_index + self._file
                rows["local_ts"][fill] = rows["local_ts"][fill - 1] if fill else self._last_local
                fill += 1
                continue
            if self.depths[self._file]:
                status, self._pos, fill, lines, others = parse_snapshot_rows(
                    self._buf, self._pos, self.rows, fill, self.symbol, POW10, self._levels
                )
            else:
                status, self._pos, fill, lines, others = parse_rows(
                    self._buf, self._pos, self.rows, fill, self.symbol, self.trades, POW10
                )
            self.lines[self._file] += lines
            self.others[self._file] += others
            if status == P_DECLINED:
                fill = self._slow_line(fill)
            elif status == P_FULL:
                break
        if self.scale != 1.0:  # amounts in contracts: base currency, as the venue's normalizer computes it
            qty = self.rows["qty"][:fill]
            qty[self.rows["ev"][:fill] != K_FILE] *= self.scale
        self.n = fill
        self.at = 0
        if fill:
            self._last_local = int(self.rows[fill - 1]["local_ts"])

    def _next_file(self) -> bool:
        self._file += 1
        if self._file >= len(self.paths):
            return False
        reader = TextChunks(self.paths[self._file])
        self.readers.append(reader)
        self._chunks = iter(reader)
        self._header_left = True
        if self.depths[self._file]:  # each file's first row is written whole
            self._levels = new_levels(self.depths[self._file])
        return True

    def _next_buffer(self) -> bool:
        if self._chunks is None:
            return False
        for data in self._chunks:
            buf = np.frombuffer(data, np.uint8)
            pos = 0
            if self._header_left:
                self._header_left = False
                end = bytes(buf[:4096]).find(b"\n")
                pos = buf.shape[0] if end < 0 else end + 1
            if pos < buf.shape[0]:
                self._buf, self._pos = buf, pos
                return True
        self._chunks = None
        return False

    def _slow_line(self, fill: int) -> int:
        # The line at self._pos declined by the compiled parser: Python reads it, or it is counted bad. The
        # parser declines a line only with room for its rows.
        buf = self._buf
        end = self._pos
        while end < buf.shape[0]:  # the line's end, looked for a little at a time (lines are short)
            at = bytes(buf[end : end + 512]).find(b"\n")
            if at >= 0:
                end += at
                break
            end += 512
        end = min(end, buf.shape[0])
        line = bytes(buf[self._pos : end]).rstrip(b"\r")
        self._pos = end + 1
        f = self._file
        self.lines[f] += 1
        symbol = bytes(self.symbol)
        if self.depths[f]:
            read = python_levels(line, symbol, self._levels)
            if isinstance(read, tuple):
                return int(put_levels(self.rows, fill, read[0], read[1], self._levels))
            row: tuple[int, int, int, float, float] | bool | None = read
        else:
            row = _python_row(line, self.trades, symbol)
        if row is None:
            self.bad[f] += 1
            if len(self.bad_samples[f]) < SAMPLES:
                self.bad_samples[f].append((self.lines[f] + 1, sample(line)))
            return fill
        if not isinstance(row, tuple):  # False: another symbol's row
            self.others[f] += 1
            return fill
        kind, exch, local, px, qty = row  # qty: scaled with the buffer's other rows in refill()
        rows = self.rows
        rows["ev"][fill], rows["exch_ts"][fill], rows["local_ts"][fill] = kind, exch, local
        rows["px"][fill], rows["qty"][fill] = px, qty
        rows["order_id"][fill], rows["ival"][fill], rows["fval"][fill] = 0, 0, 0.0
        return fill + 1


def _python_row(line: bytes, trades: bool, symbol: bytes) -> tuple[int, int, int, float, float] | bool | None:
    # One incremental_book_L2 or trades line the compiled parser declined (a number with many digits, say):
    # its row, False for another symbol's, None when it is not a row of this data type.
    fields = line.split(b",")
    if len(fields) != 8:
        return None
    try:
        exch = int(fields[2]) * NS_PER_US
        local = int(fields[3]) * NS_PER_US
        px = float(fields[6])
        qty = float(fields[7])
    except ValueError:
        return None
    if not (0 <= exch < TS_MAX_US * 1000 and 0 <= local < TS_MAX_US * 1000):
        return None
    if trades:
        kind = {b"buy": K_BUY, b"sell": K_SELL}.get(fields[5], K_TRADE)
    else:
        snap = {b"true": True, b"false": False}.get(fields[4])
        side = {b"bid": 0, b"ask": 1}.get(fields[5])
        if snap is None or side is None:
            return None
        kind = (K_SNAP_BID if snap else K_BID) + side
    if fields[1] != symbol:
        return False
    return kind, exch, local, px, qty
