"""The resting quotes' slots (the ``maker_taker`` style): one per asset and side, and what the kernel's view
says of them. Both drivers keep their quotes here: the backtest (:mod:`arb.backtest.hbt_quotes`, with
hftbacktest's answers) and the engine of the dry run (:mod:`arb.live.engine`, with the paper venue's).

A slot (``quotes``: ``(ints, floats)``, ``ints[a, i]`` = ``(order id, pair id, sent at, state)`` and
``floats[a, i]`` = ``(price, quantity)`` for asset ``a`` = ``n_venues * symbol + venue``, side ``i``: 0 the buy
quote, 1 the sell quote) holds a post-only order from the moment it is sent until the venue says it is
done: filled, cancelled, or expired (a post-only order that would have taken liquidity when it arrived).
Its state is the view's: ``QUOTE_PENDING`` until the venue acknowledges it, ``QUOTE_LIVE`` while it rests,
``QUOTE_CANCELING`` from the cancel until the answer (it may still fill meanwhile). A slot whose quote the
venue refused (a post-only order that would have taken, or any refusal) holds no order but stays
``QUOTE_HELD`` (:func:`hold_slot`: order id 0, the refused price kept, the time of the refusal): the
kernel leaves its side alone until the view shows a book that price would cross, or ``quote_hold_ns``
(``[strategy] quote_hold_ms``) passed (:mod:`arb.strategies.maker_taker`, rule 5).
"""

from __future__ import annotations

__all__ = ["Q_OID", "Q_PAIR", "Q_SENT", "Q_STATE", "any_quote", "hold_slot", "new_quotes", "quote_views"]

from typing import Any

import numpy as np

from arb._jit import njit
from arb.strategy.types import QUOTE_HELD, QUOTE_NONE

Q_OID = 0
Q_PAIR = 1
Q_SENT = 2
Q_STATE = 3


def new_quotes(n_assets: int) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Empty quote slots for ``n_assets`` assets."""
    return np.zeros((n_assets, 2, 4), np.int64), np.zeros((n_assets, 2, 2))


@njit(cache=True, twin=True)
def any_quote(quotes: Any) -> bool:
    """Whether any slot holds an order (``quotes`` None: a run without quotes, nothing compiled for them)."""
    if quotes is None:
        return False
    ints = quotes[0]
    for a in range(ints.shape[0]):
        for i in range(2):
            if ints[a, i, Q_OID] != 0:
                return True
    return False


@njit(cache=True)
def hold_slot(quotes: Any, a: int, i: int, now: int) -> None:
    """The venue refused the quote of slot (``a``, ``i``), as it said at ``now``: the slot holds no order
    any more, and is held back (``QUOTE_HELD``, the refused price kept) until the kernel finds the hold
    over."""
    ints = quotes[0]
    ints[a, i, Q_OID] = 0
    ints[a, i, Q_SENT] = now
    ints[a, i, Q_STATE] = QUOTE_HELD


@njit(cache=True, twin=True)
def quote_views(views: Any, quotes: Any) -> None:
    """Each slot into its symbol's view (``quote_state``, ``quote_px``, ``quote_qty``, ``quote_ns``); a held
    slot shows ``QUOTE_HELD``, the refused price, no quantity, and when the refusal came. ``quotes`` None:
    a run without quotes (nothing to do; Numba prunes the body for that type, so nothing else compiles)."""
    if quotes is None:
        return
    ints, floats = quotes
    n_venues = views.shape[1]
    for a in range(ints.shape[0]):
        rec = views[a // n_venues][a % n_venues]
        for i in range(2):
            # a slot's state stands while it holds an order, or is held back (no order: hold_slot)
            state = ints[a, i, Q_STATE] if ints[a, i, Q_OID] != 0 or ints[a, i, Q_STATE] == QUOTE_HELD else QUOTE_NONE
            order = state != QUOTE_NONE and state != QUOTE_HELD
            rec["quote_state"][i] = state
            rec["quote_px"][i] = floats[a, i, 0] if state != QUOTE_NONE else np.nan
            rec["quote_qty"][i] = floats[a, i, 1] if order else 0.0
            rec["quote_ns"][i] = ints[a, i, Q_SENT] if state != QUOTE_NONE else 0
