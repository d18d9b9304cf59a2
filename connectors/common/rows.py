"""A growable columnar buffer of hftbacktest event rows, built for the normalizers' hot path.

A normalizer appends *segments*: runs of rows that share ``ev``, ``exch_ts``, ``local_ts``,
``order_id`` and ``ival`` (all the bids of one depth message, say) plus their ``(px, qty)`` pairs.
Per segment that is two C-level appends whatever the number of levels (six integers to one
array, the level pairs copied as bytes to another). :meth:`RowSink.take` expands the segments into an
``event_dtype`` array with numpy.
"""

from __future__ import annotations

from array import array
from typing import Any

import numpy as np

from arb.events import EventArray, event_dtype

__all__ = ["LevelArray", "RowSink"]

LevelArray = np.ndarray[Any, np.dtype[np.float64]]
"""``(n, 2)`` float64 array of (price, quantity) pairs, as ``connectors.common.levels`` makes."""
_SEGMENT_INTS = 6  # count, ev, exch_ts, local_ts, order_id, ival


class RowSink:
    """Collects event rows; :meth:`take` returns them as one array and empties the sink."""

    __slots__ = ("_ints", "_pq", "rows", "taken")

    def __init__(self) -> None:
        self._ints = array("q")
        self._pq = array("d")
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
        self._pq.frombytes(levels.data.cast("B"))
        self._ints.extend((n, ev, exch_ts, local_ts, 0, ival))
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
        self._ints.extend((1, ev, exch_ts, local_ts, order_id, ival))
        self._pq.extend((px, qty))
        self.rows += 1

    def take(self) -> EventArray:
        """Return every row appended since the last call, in order, and empty the sink."""
        n = self.rows
        self.taken += n
        out = np.zeros(n, event_dtype)
        if n:
            seg = np.frombuffer(self._ints, np.int64).reshape(-1, _SEGMENT_INTS)
            counts = seg[:, 0]
            out["ev"] = np.repeat(seg[:, 1], counts)
            out["exch_ts"] = np.repeat(seg[:, 2], counts)
            out["local_ts"] = np.repeat(seg[:, 3], counts)
            out["order_id"] = np.repeat(seg[:, 4], counts)
            out["ival"] = np.repeat(seg[:, 5], counts)
            pq = np.frombuffer(self._pq, np.float64).reshape(n, 2)
            out["px"] = pq[:, 0]
            out["qty"] = pq[:, 1]
        self.clear()
        return out

    def clear(self) -> None:
        """Drop every row held."""
        self._ints = array("q")
        self._pq = array("d")
        self.rows = 0
