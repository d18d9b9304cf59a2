"""What a run records about its books besides fills and equity: when each was out of sync, and its mids
at the run's boundaries.

The drivers (the backtest loop, the live engine) make these while they run; the reports
(:mod:`arb.reports`) read them. Pure data, no I/O: times are int64 ns since the Unix epoch (UTC).
"""

from __future__ import annotations

__all__ = ["NS_PER_DAY", "BoundaryMark", "Span", "Spans", "out_of_sync_spans"]

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from arb.events import NS_PER_S
from arb.formats import iso_ns, jsonable
from arb.results.venues import venue_names

Array = np.ndarray[Any, np.dtype[Any]]
Span = tuple[int, int]
"""``(start_ns, end_ns)``: a span of local time, end exclusive."""
Spans = tuple[Span, ...]

NS_PER_DAY: Final = 86_400 * NS_PER_S


def out_of_sync_spans(
    change_ts: Sequence[int] | Array, synced: Sequence[int | bool] | Array, start_ns: int, end_ns: int
) -> Spans:
    """The spans of ``[start_ns, end_ns)`` during which a venue's book was not synced.

    Args:
        change_ts: Local times (ns) at which the venue's sync state changed, ascending.
        synced: The state from each of those times on (truthy: synced, the book is the venue's).
            Before the first change the book is not synced (no snapshot yet); a driver whose book
            starts synced passes a first change at or before ``start_ns``.
        start_ns: Start of the run, local time (ns).
        end_ns: End of the run, local time (ns).

    Returns:
        Disjoint ``(start_ns, end_ns)`` spans in time order, none empty, all within the run.
    """
    spans: list[Span] = []
    down_since: int | None = start_ns
    for t, state in zip(np.asarray(change_ts).tolist(), np.asarray(synced).tolist(), strict=True):
        t = min(max(int(t), start_ns), end_ns)
        if state and down_since is not None:
            if t > down_since:
                spans.append((down_since, t))
            down_since = None
        elif not state and down_since is None:
            down_since = t
    if down_since is not None and end_ns > down_since:
        spans.append((down_since, end_ns))
    return tuple(spans)


@dataclass(frozen=True)
class BoundaryMark:
    """The books' mids at one instant of a run: what the positions held then are worth. A periodic
    report values what is carried across a period's boundary at these marks, on both sides of it, so
    the periods of a run add up to the run (:func:`arb.reports.valuation.boundary_marks` makes them).

    Attributes:
        at: ``"start"`` (the first sample with every mid known), ``"midnight"`` (a UTC day boundary
            inside the run) or ``"end"`` (the final mids, those ``Figures.final_mid`` values at).
        ts: The instant, int64 ns since the epoch (a midnight: exactly 00:00:00 UTC).
        book_ts: When the mids were taken, int64 ns: for a midnight the last decision before it (the
            books did not change between it and midnight) when the driver recorded it, else the last
            equity sample before midnight; for the start and the end, the sample's time.
        mid: The books' mids, quote per base, shape ``(symbols, venues)`` (venues by number); NaN
            where unknown.
        price: What holdings are valued at: a perpetual's mark price, else the mid; same shape.
    """

    at: str
    ts: int
    book_ts: int
    mid: Array
    price: Array

    def to_dict(self, symbols: Sequence[str], venues: Sequence[str] = ()) -> dict[str, Any]:
        """``{"at", "ts", "time", "book_ts", "mids": {symbol: {venue: mid}}}``, and ``"prices"`` in the
        same shape where a price differs from its mid (a perpetual's mark); unknown values are null.
        ``venues``: the venues' names by number (default: :func:`arb.results.venues.venue_names`)."""
        names = venue_names(np.shape(self.mid)[-1], venues)

        def by_name(values: Array) -> dict[str, dict[str, float | None]]:
            return {
                str(name): {venue: jsonable(float(values[s, v])) for v, venue in enumerate(names)}
                for s, name in enumerate(symbols)
            }

        out: dict[str, Any] = {
            "at": self.at,
            "ts": int(self.ts),
            "time": iso_ns(np.array([self.ts], np.int64))[0],
            "book_ts": int(self.book_ts),
            "mids": by_name(self.mid),
        }
        same = (self.price == self.mid) | (np.isnan(self.price) & np.isnan(self.mid))
        if not same.all():
            out["prices"] = by_name(self.price)
        return out
