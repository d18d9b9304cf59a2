"""The orders a backtest sent, each with the order id its fills name and the round trip it was given.

The backtest loop logs every intent it sends (``BacktestResult.sent``, ``SENT_DTYPE``) but not the
order id hftbacktest knew it by; its fills carry that id (``FILL_DTYPE.order_id``). The loop numbers
orders 1, 2, ... in the order it handles intents, and every number but a failed submission's leaves one
row in the sent log (a cancel leaves a row and takes no number). So when no submission failed, the
sent rows other than cancels are orders 1, 2, ... in order; :func:`backtest_orders` numbers them so and
keeps the numbers only when every fill agrees with the order it names (venue, symbol, side, kind,
pair), else it leaves them 0 (unknown) and a report says it cannot tell which order a fill came from.

What ``arb report --against`` reads back from ``orders.csv`` (:mod:`arb.reports.files`).
"""

from __future__ import annotations

__all__ = ["ORDER_DTYPE", "backtest_orders"]

from collections.abc import Sequence
from typing import Any, Final

import numpy as np

from arb.backtest.order_latency import assumed_round_trips
from arb.strategy.types import INTENT_CANCEL

ORDER_DTYPE: Final = np.dtype(
    [
        ("ts", "i8"),  # local time the order was sent (the decision's), int64 ns
        ("venue", "i8"),
        ("symbol", "i8"),
        ("side", "i8"),  # 1 buy, -1 sell
        ("price", "f8"),  # the limit price it was sent at
        ("qty", "f8"),  # the quantity asked for
        ("kind", "i8"),
        ("pair_id", "i8"),
        ("order_id", "i8"),  # what its fills name; 0: not known
        ("trip_ns", "i8"),  # the round trip (request to answer) the run gave it, ns; -1: not known
    ]
)
"""One order sent, as a backtest's orders.csv and the live journal's intents both give it."""

_CHECKED: Final = ("venue", "symbol", "side", "kind", "pair_id")


def backtest_orders(sent: np.ndarray[Any, Any], fills: np.ndarray[Any, Any], submit_errors: int,
                    venues: Sequence[Any]) -> np.ndarray[Any, Any]:  # fmt: skip
    """The orders of a backtest's sent log (``SENT_DTYPE``, cancels left out) as :data:`ORDER_DTYPE`:
    numbered as its ``fills`` name them when that is certain (see the module), each with the round
    trip its venue's latency model gave it (``venues``: the run's :class:`arb.config.VenueConfig`, by
    venue number)."""
    rows = sent[sent["kind"] != INTENT_CANCEL]
    out = np.zeros(len(rows), ORDER_DTYPE)
    for name in ("ts", "venue", "symbol", "side", "price", "qty", "kind", "pair_id"):
        out[name] = rows[name]
    if submit_errors == 0 and _numbered_as_filled(out, fills):
        out["order_id"] = np.arange(1, len(out) + 1)
    out["trip_ns"] = -1
    for v, venue in enumerate(venues):
        mine = out["venue"] == v
        if mine.any():
            out["trip_ns"][mine] = assumed_round_trips(venue.latency, venue.name, venue.path, out["ts"][mine])
    return out


def _numbered_as_filled(orders: np.ndarray[Any, Any], fills: np.ndarray[Any, Any]) -> bool:
    # every fill names an order 1..n that is its venue's, symbol's, side's, kind's and pair's
    ids = fills["order_id"]
    if not len(fills):
        return True
    if ids.min() < 1 or ids.max() > len(orders):
        return False
    named = orders[ids - 1]
    return all(bool(np.array_equal(named[field], fills[field])) for field in _CHECKED)
