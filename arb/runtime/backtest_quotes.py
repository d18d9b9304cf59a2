"""The backtest's resting quotes (the ``maker_taker`` style): one slot per asset and side, what hftbacktest
answers about each, and what the kernel's view says of them. Compiled helpers of
:func:`arb.runtime.backtest_loop._run_loop`; the parts that call hftbacktest itself are there.

A slot (``quotes``: ``(ints, floats)``, ``ints[a, i]`` = ``(order id, pair id, sent at, state)`` and
``floats[a, i]`` = ``(price, quantity)`` for asset ``a``, side ``i``: 0 the buy quote, 1 the sell quote)
holds a post-only order from the moment it is sent until hftbacktest says it is done: filled (its fill is
recorded, as a maker fill when hftbacktest says so), cancelled, or expired (a post-only order that would
have taken liquidity when it arrived). Its state is the view's: ``QUOTE_PENDING`` until hftbacktest
acknowledges it, ``QUOTE_LIVE`` while it rests, ``QUOTE_CANCELING`` from the cancel until the answer (it
may still fill meanwhile: the fill is then recorded and the slot freed as for any fill).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hftbacktest.order import CANCELED, EXPIRED, FILLED

from arb._jit import njit
from arb.runtime.backtest_orders import C_CANCELS, C_MAKER_FILLS, C_POST_ONLY_REJECTS, C_QUOTES, fill_row, sent_row
from arb.strategy.types import BUY, INTENT_QUOTE, QUOTE_CANCELING, QUOTE_LIVE, QUOTE_NONE, QUOTE_PENDING

__all__ = [
    "Q_OID",
    "Q_PAIR",
    "Q_SENT",
    "Q_STATE",
    "any_quote",
    "cancel_sent",
    "new_quotes",
    "quote_answer",
    "quote_sent",
    "quote_views",
]  # fmt: skip

Q_OID = 0
Q_PAIR = 1
Q_SENT = 2
Q_STATE = 3

# What quote_answer made of hftbacktest's answer.
ANSWER_NONE = 0  # nothing new
ANSWER_STATE = 1  # acknowledged: the quote rests
ANSWER_FILLED = 2  # filled (the fill is recorded, the slot free)
ANSWER_DONE = 3  # cancelled or expired (the slot free)


def new_quotes(n_assets: int) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Empty quote slots for ``n_assets`` assets."""
    return np.zeros((n_assets, 2, 4), np.int64), np.zeros((n_assets, 2, 2))


@njit(cache=True)
def any_quote(quotes: Any) -> bool:
    """Whether any slot holds an order."""
    ints = quotes[0]
    for a in range(ints.shape[0]):
        for i in range(2):
            if ints[a, i, Q_OID] != 0:
                return True
    return False


@njit(cache=True)
def quote_views(views: Any, quotes: Any) -> None:
    """Each slot into its symbol's view (``quote_state``, ``quote_px``, ``quote_qty``, ``quote_ns``)."""
    ints, floats = quotes
    for a in range(ints.shape[0]):
        rec = views[a // 2][a % 2]
        for i in range(2):
            state = ints[a, i, Q_STATE] if ints[a, i, Q_OID] != 0 else QUOTE_NONE
            rec["quote_state"][i] = state
            rec["quote_px"][i] = floats[a, i, 0] if state != QUOTE_NONE else np.nan
            rec["quote_qty"][i] = floats[a, i, 1] if state != QUOTE_NONE else 0.0
            rec["quote_ns"][i] = ints[a, i, Q_SENT] if state != QUOTE_NONE else 0


@njit(cache=True)
def quote_sent(quotes: Any, sent: Any, counters: Any, now: int, it: Any, s: int, oid: int) -> None:
    """Symbol ``s``'s quote intent ``it`` went to hftbacktest as order ``oid``: its slot, and its row in the
    sent log."""
    ints, floats = quotes
    a = 2 * s + it["venue"]
    i = 0 if it["side"] == BUY else 1
    ints[a, i, Q_OID] = oid
    ints[a, i, Q_PAIR] = it["pair_id"]
    ints[a, i, Q_SENT] = now
    ints[a, i, Q_STATE] = QUOTE_PENDING
    floats[a, i, 0] = it["price"]
    floats[a, i, 1] = it["qty"]
    counters[C_QUOTES] += 1
    sent_row(sent, counters, now, it, 0, s)


@njit(cache=True)
def cancel_sent(quotes: Any, sent: Any, counters: Any, now: int, it: Any, s: int) -> int:
    """Symbol ``s``'s cancel intent ``it``: the order id to cancel (its slot now ``QUOTE_CANCELING``, the
    cancel in the sent log), or 0 when the slot holds no resting quote any more (answered meanwhile)."""
    ints = quotes[0]
    a = 2 * s + it["venue"]
    i = 0 if it["side"] == BUY else 1
    oid: int = ints[a, i, Q_OID]
    if oid == 0 or ints[a, i, Q_STATE] != QUOTE_LIVE:
        return 0
    ints[a, i, Q_STATE] = QUOTE_CANCELING
    counters[C_CANCELS] += 1
    sent_row(sent, counters, now, it, 0, s)
    return oid


@njit(cache=True)
def quote_answer(fills: Any, run: Any, now: int, order: Any, quotes: Any, a: int, i: int) -> int:
    """hftbacktest's order (one ``order_dtype`` record) for the quote in slot (``a``, ``i``): record its fill
    and free the slot when it is done, mark it live once acknowledged. Returns an ``ANSWER_*`` code.

    Quotes run on hftbacktest's no-partial-fill exchange: a quote fills whole once the queue ahead of it
    is gone, so a fill is the whole quote."""
    ints, floats = quotes
    counters = run[1]
    o = order[0]
    status = o.status
    if status == FILLED:
        fill_row(fills, run, now, order, a, ints[a, i, Q_OID], INTENT_QUOTE, ints[a, i, Q_PAIR])
        counters[C_MAKER_FILLS] += 1
        ints[a, i, Q_OID] = 0
        return ANSWER_FILLED
    if status == CANCELED or status == EXPIRED:
        if status == EXPIRED:
            counters[C_POST_ONLY_REJECTS] += 1
        ints[a, i, Q_OID] = 0
        return ANSWER_DONE
    if ints[a, i, Q_STATE] == QUOTE_PENDING and o.req == 0:  # acknowledged (no request in flight)
        ints[a, i, Q_STATE] = QUOTE_LIVE
        floats[a, i, 1] = o.leaves_qty
        return ANSWER_STATE
    return ANSWER_NONE
