"""A growable columnar buffer of hftbacktest event rows, built for the normalizers' hot path.

A normalizer appends *segments*: runs of rows that share ``ev``, ``exch_ts``, ``local_ts``,
``order_id`` and ``ival`` (all the bids of one depth message, say) plus their ``(px, qty)`` pairs.
Per message that is a handful of appends whatever the number of levels; the per-level work happens
in C (``array.extend`` over the decoded level tuples). :meth:`RowSink.take` expands the segments
into an ``event_dtype`` array with numpy.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from itertools import chain

import numpy as np

from arb.events import EventArray, event_dtype

__all__ = ["RowSink"]

_flatten = chain.from_iterable


class RowSink:
    """Collects event rows; :meth:`take` returns them as one array and empties the sink."""

    __slots__ = ("_counts", "_ev", "_exch_ts", "_ival", "_local_ts", "_order_id", "_pq", "rows")

    def __init__(self) -> None:
        self._counts = array("q")
        self._ev = array("Q")
        self._exch_ts = array("q")
        self._local_ts = array("q")
        self._order_id = array("Q")
        self._ival = array("q")
        self._pq = array("d")
        self.rows = 0
        """Rows held now."""

    def levels(
        self,
        ev: int,
        exch_ts: int,
        local_ts: int,
        levels: Iterable[tuple[float, float]],
        n: int,
        ival: int = 0,
    ) -> None:
        """Append ``n`` rows, one per ``(px, qty)`` level, sharing ``ev``, timestamps and ``ival``."""
        if n == 0:
            return
        self._counts.append(n)
        self._ev.append(ev)
        self._exch_ts.append(exch_ts)
        self._local_ts.append(local_ts)
        self._order_id.append(0)
        self._ival.append(ival)
        self._pq.extend(_flatten(levels))
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
    ) -> None:
        """Append a single row."""
        self._counts.append(1)
        self._ev.append(ev)
        self._exch_ts.append(exch_ts)
        self._local_ts.append(local_ts)
        self._order_id.append(order_id)
        self._ival.append(ival)
        self._pq.append(px)
        self._pq.append(qty)
        self.rows += 1

    def take(self) -> EventArray:
        """Return every row appended since the last call, in order, and empty the sink."""
        n = self.rows
        out = np.zeros(n, event_dtype)
        if n:
            counts = np.frombuffer(self._counts, np.int64)
            out["ev"] = np.repeat(np.frombuffer(self._ev, np.uint64), counts)
            out["exch_ts"] = np.repeat(np.frombuffer(self._exch_ts, np.int64), counts)
            out["local_ts"] = np.repeat(np.frombuffer(self._local_ts, np.int64), counts)
            out["order_id"] = np.repeat(np.frombuffer(self._order_id, np.uint64), counts)
            out["ival"] = np.repeat(np.frombuffer(self._ival, np.int64), counts)
            pq = np.frombuffer(self._pq, np.float64).reshape(n, 2)
            out["px"] = pq[:, 0]
            out["qty"] = pq[:, 1]
        self.clear()
        return out

    def clear(self) -> None:
        """Drop every row held."""
        for name in ("_counts", "_ev", "_exch_ts", "_local_ts", "_order_id", "_ival", "_pq"):
            setattr(self, name, array(getattr(self, name).typecode))
        self.rows = 0
