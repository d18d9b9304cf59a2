"""Reading a run's fills against the book: did any fill take more than a level held, net of what our
earlier fills took from it while it showed the same quantity?

The check rebuilds each venue's book from the session's rows with arb's own book (:class:`arb.book.OrderBook`),
batch by batch in local time, and spreads every fill over the levels at its arrival, best first, as
plain Python: it shares no code with the rule it checks (:mod:`arb.execution.liquidity`).
"""

from __future__ import annotations

__all__ = ["overtaken"]

from typing import Any

import numpy as np

from arb.book import OrderBook
from arb.events import LOCAL_EVENT
from arb.recording.loader import Timeline
from arb.strategy.types import BUY

_EPS = 1e-9


def overtaken(session: Timeline, fills: np.ndarray[Any, Any], symbol: int = 0) -> list[str]:
    """Every fill of ``symbol`` (``FILL_DTYPE`` rows; ``exch_ts`` its arrival at the venue, on the
    session's local clock) that took more than the levels within its price held at its arrival net of
    earlier fills' takes, or whose price is not the average of what it took there; empty when none did."""
    problems: list[str] = []
    for v in range(2):
        a = 2 * symbol + v
        rows = np.concatenate(list(session.parts(a)))
        rows = rows[(rows["ev"] & LOCAL_EVENT) != 0]
        book = OrderBook()
        initial = session.assets[a].initial
        if initial is not None:
            book.apply(initial.rows)
        mine = fills[(fills["venue"] == v) & (fills["symbol"] == symbol)]
        mine = mine[np.lexsort((mine["order_id"], mine["exch_ts"]))]
        taken: dict[tuple[int, float], tuple[float, float]] = {}  # (side, price) -> (shown, taken)
        times = rows["local_ts"]
        cursor = 0
        for fill in mine:
            arrival = int(fill["exch_ts"])
            while cursor < len(rows) and times[cursor] <= arrival:
                end = int(np.searchsorted(times, times[cursor], side="right"))
                book.apply(rows[cursor:end])
                cursor = end
                _forget_changed(book, taken)
            problems += _spread(book, taken, fill)
    return problems


def _shown(book: OrderBook, side: int, price: float) -> float:
    prices, sizes = book.asks() if side == BUY else book.bids()
    hit = np.flatnonzero(prices == price)
    return float(sizes[hit[0]]) if len(hit) else 0.0


def _forget_changed(book: OrderBook, taken: dict[tuple[int, float], tuple[float, float]]) -> None:
    for key, (shown, _) in list(taken.items()):
        if _shown(book, key[0], key[1]) != shown:
            del taken[key]


def _spread(book: OrderBook, taken: dict[tuple[int, float], tuple[float, float]], fill: Any) -> list[str]:
    side = int(fill["side"])
    prices, sizes = book.asks() if side == BUY else book.bids()
    remaining = float(fill["qty"])
    cost = 0.0
    for price, size in zip(prices.tolist(), sizes.tolist(), strict=True):
        if remaining <= _EPS:
            break
        _, before = taken.get((side, price), (size, 0.0))
        here = min(remaining, size - before)
        if here <= _EPS:
            continue
        taken[(side, price)] = (size, before + here)
        cost += here * price
        remaining -= here
    what = f"order {int(fill['order_id'])} {'buy' if side == BUY else 'sell'} {fill['qty']:g} @ {fill['price']:g}"
    if remaining > _EPS:
        return [f"{what}: {remaining:g} more than the book held net of earlier takes"]
    average = cost / float(fill["qty"])
    if abs(average - float(fill["price"])) > 1e-9 * average:
        return [f"{what}: the levels it took average {average:g}"]
    return []
