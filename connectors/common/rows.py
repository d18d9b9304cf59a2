"""A growable columnar buffer of hftbacktest event rows, built for the normalizers' hot path.

A normalizer appends *segments*: runs of rows that share ``ev``, ``exch_ts``, ``local_ts``,
``order_id`` and ``ival`` (all the bids of one depth message, say) plus their ``(px, qty)`` pairs.
Per segment that is two C-level appends whatever the number of levels (six integers to one
array, the level pairs copied as bytes to another). :meth:`RowSink.take` expands the segments into an
``event_dtype`` array with numpy.

Bulk writers (the compiled recording scanners) instead write rows straight into the sink's *bulk
array*: :meth:`RowSink.reserve` hands it out with room at its end, :meth:`RowSink.commit` records the
rows written. Rows keep the order in which they were appended whichever way they came: reserving
first moves the segments appended so far into the bulk array.

The segments are expanded by one compiled call (made, and Numba imported, at the first expansion); a
sink made with ``compiled=False`` expands them with NumPy instead (the same rows), for a process that
never imports Numba (the Numba-free conversion of a small recording).
"""

from __future__ import annotations

__all__ = ["LevelArray", "RowSink"]

import functools
from array import array
from collections.abc import Callable
from typing import Any

import numpy as np

from arb.events import EventArray, event_dtype

LevelArray = np.ndarray[Any, np.dtype[np.float64]]
"""``(n, 2)`` float64 array of (price, quantity) pairs, as ``connectors.common.levels`` makes."""
_SEGMENT_INTS = 6  # count, ev, exch_ts, local_ts, order_id, ival
_MIN_BULK = 16  # rows: a live frame's bulk array is sized by the frame (it travels on as the rows taken)
_NO_ROWS = np.zeros(0, event_dtype)  # what take() returns when there is nothing (empty: nothing to share)


def _expand(ints: Any, pq: Any, out: Any) -> None:
    # One pass over the segments (count, ev, exch_ts, local_ts, order_id, ival) and the level pairs;
    # a frame's few segments cost one call instead of a dozen numpy calls (the live path's hot spot).
    row = 0
    for k in range(0, ints.shape[0], _SEGMENT_INTS):
        for _ in range(ints[k]):
            r = out[row]
            r["ev"] = ints[k + 1]
            r["exch_ts"] = ints[k + 2]
            r["local_ts"] = ints[k + 3]
            r["order_id"] = ints[k + 4]
            r["ival"] = ints[k + 5]
            r["px"] = pq[2 * row]
            r["qty"] = pq[2 * row + 1]
            row += 1


@functools.cache
def _compiled_expand() -> Callable[[Any, Any, Any], None]:
    # _expand compiled (loaded from Numba's cache), made at the first expansion of a compiled sink.
    from arb._jit import njit

    return njit(cache=True, nogil=True)(_expand)


def _expand_numpy(ints: Any, pq: Any, out: Any) -> None:
    # _expand with NumPy: the same rows, a few array operations whatever the number of segments.
    seg = ints.reshape(-1, _SEGMENT_INTS)
    counts = seg[:, 0]
    for col, name in enumerate(("ev", "exch_ts", "local_ts", "order_id", "ival"), start=1):
        out[name] = np.repeat(seg[:, col], counts)
    out["px"] = pq[0::2]
    out["qty"] = pq[1::2]


class RowSink:
    """Collects event rows; :meth:`take` returns them as one array and empties the sink."""

    __slots__ = ("_bulk", "_compiled", "_fill", "_fvals", "_ints", "_pq", "rows", "taken")

    def __init__(self, *, compiled: bool = True) -> None:
        self._compiled = compiled
        self._ints = array("q")
        self._pq = array("d")
        self._fvals: list[tuple[int, float]] = []  # (row among the segments, fval) of the few rows with one
        self._bulk: EventArray | None = None
        self._fill = 0  # rows of _bulk in use; the segments follow them
        self.rows = 0
        """Rows held now."""
        self.taken = 0
        """Rows handed out by :meth:`take` so far."""

    @property
    def total(self) -> int:
        """Rows ever appended (held and taken)."""
        return self.taken + self.rows

    def levels(self, ev: int, exch_ts: int, local_ts: int, levels: LevelArray, ival: int = 0) -> None:
        """Append one row per ``(px, qty)`` row of ``levels`` (``(n, 2)`` float64, C order), sharing
        ``ev``, timestamps and ``ival``."""
        n = levels.shape[0]
        if n == 0:
            return
        ints = array("q", (n, ev, exch_ts, local_ts, 0, ival))  # raises OverflowError before any change
        self._pq.frombytes(levels.data.cast("B"))
        self._ints.extend(ints)
        self.rows += n

    def one(
        self,
        ev: int,
        exch_ts: int,
        local_ts: int,
        px: float,
        qty: float,
        order_id: int = 0,
        ival: int = 0,
        fval: float = 0.0,
    ) -> None:
        """Append a single row (``OverflowError``, with the sink unchanged, if an integer does not fit int64)."""
        self._ints.extend(array("q", (1, ev, exch_ts, local_ts, order_id, ival)))
        self._pq.extend((px, qty))
        if fval != 0.0:  # NaN too
            self._fvals.append((self.rows - self._fill, fval))
        self.rows += 1

    def reserve(self, free: int) -> tuple[EventArray, int]:
        """The bulk array and the number of its rows in use, with room for at least ``free`` more.

        Write rows after the used ones, then call :meth:`commit`. The array may be replaced by a
        larger one on the next call: do not keep it across calls. Rows appended with :meth:`one` or
        :meth:`levels` before this call are moved into it first, so the order of rows is kept.
        """
        bulk = self._bulk
        fill = self._fill
        segments = self.rows - fill
        need = fill + segments + free
        if bulk is None or bulk.shape[0] < need:
            grown = np.empty(max(need, 2 * (0 if bulk is None else bulk.shape[0]), _MIN_BULK), event_dtype)
            if bulk is not None:
                grown[:fill] = bulk[:fill]
            bulk = self._bulk = grown
        if segments:
            bulk[fill : fill + segments] = self._segments()
            self._ints = array("q")
            self._pq = array("d")
            self._fvals = []
            fill = self._fill = fill + segments
        return bulk, fill

    def commit(self, fill: int) -> None:
        """Record that the bulk array from :meth:`reserve` now has ``fill`` rows in use."""
        if self._bulk is None or not self._fill <= fill <= self._bulk.shape[0] or self.rows != self._fill:
            raise ValueError(f"commit({fill}) does not follow reserve() (in use: {self._fill})")
        self.rows += fill - self._fill
        self._fill = fill

    def extend(self, rows: EventArray) -> None:
        """Append a whole array of ``event_dtype`` rows."""
        n = rows.shape[0]
        if n == 0:
            return
        bulk, fill = self.reserve(n)
        bulk[fill : fill + n] = rows
        self.commit(fill + n)

    def take(self) -> EventArray:
        """Return every row appended since the last call, in order, and empty the sink.

        After bulk writes the result is a view of the first rows of the bulk array (C-contiguous).
        """
        n = self.rows
        bulk = self._bulk
        if bulk is None and n == 0:
            return _NO_ROWS  # the live path takes after every frame, most of which have no rows
        self.taken += n
        if bulk is not None:
            if n != self._fill:
                bulk, _ = self.reserve(0)
            out = bulk[:n]
        else:
            out = self._segments()
        self.clear()
        return out

    def _segments(self) -> EventArray:
        # Expand the segments appended after the bulk rows into an event array.
        n = self.rows - self._fill
        out = np.zeros(n, event_dtype)
        if n:
            expand = _compiled_expand() if self._compiled else _expand_numpy
            expand(np.frombuffer(self._ints, np.int64), np.frombuffer(self._pq, np.float64), out)
            for row, fval in self._fvals:
                out[row]["fval"] = fval
        return out

    def clear(self) -> None:
        """Drop every row held."""
        if self._ints:
            self._ints = array("q")
            self._pq = array("d")
        if self._fvals:
            self._fvals = []
        self._bulk = None
        self._fill = 0
        self.rows = 0
