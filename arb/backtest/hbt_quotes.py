"""The backtest's resting quotes (the ``maker_taker`` style): what hftbacktest answers about each slot
(:mod:`arb.strategy.quote_slots`: their layout and their states). Compiled helpers of
:func:`arb.backtest.compiled_loop._run_loop`; the parts that call hftbacktest itself are there.

A filled quote's fill is recorded (as a maker fill when hftbacktest says so) and its slot freed, as is
one cancelled; one expired (a post-only order that would have taken) leaves its slot held back
(:func:`arb.strategy.quote_slots.hold_slot`); a quote being cancelled may still fill meanwhile: the fill
is then recorded and the slot freed as for any fill.
"""

from __future__ import annotations

__all__ = ["cancel_sent", "quote_answer", "quote_sent"]

from typing import Any

from hftbacktest.order import CANCELED, EXPIRED, FILLED

from arb._jit import njit
from arb.backtest.hbt_orders import C_CANCELS, C_MAKER_FILLS, C_POST_ONLY_REJECTS, C_QUOTES, fill_row, sent_row
from arb.strategy.quote_slots import Q_OID, Q_PAIR, Q_SENT, Q_STATE, hold_slot
from arb.strategy.types import BUY, INTENT_QUOTE, QUOTE_CANCELING, QUOTE_LIVE, QUOTE_PENDING

# What quote_answer made of hftbacktest's answer.
ANSWER_NONE = 0  # nothing new
ANSWER_STATE = 1  # acknowledged: the quote rests
ANSWER_FILLED = 2  # filled (the fill is recorded, the slot free)
ANSWER_DONE = 3  # cancelled (the slot free) or expired (the slot held back)


@njit(cache=True, internal=True)
def quote_sent(quotes: Any, sent: Any, counters: Any, now: int, it: Any, s: int, a: int, oid: int) -> None:
    """Symbol ``s``'s quote intent ``it`` went to hftbacktest as order ``oid`` on asset ``a`` (the symbol on
    the intent's venue): its slot, and its row in the sent log. ``quotes`` None: a run without quotes
    (never called there; typed so that nothing of it is compiled)."""
    if quotes is None:
        return
    ints, floats = quotes
    i = 0 if it["side"] == BUY else 1
    ints[a, i, Q_OID] = oid
    ints[a, i, Q_PAIR] = it["pair_id"]
    ints[a, i, Q_SENT] = now
    ints[a, i, Q_STATE] = QUOTE_PENDING
    floats[a, i, 0] = it["price"]
    floats[a, i, 1] = it["qty"]
    counters[C_QUOTES] += 1
    sent_row(sent, counters, now, it, 0, s)


@njit(cache=True, internal=True)
def cancel_sent(quotes: Any, sent: Any, counters: Any, now: int, it: Any, s: int, a: int) -> int:
    """Symbol ``s``'s cancel intent ``it`` of the quote on asset ``a``: the order id to cancel (its slot now
    ``QUOTE_CANCELING``, the cancel in the sent log), or 0 when the slot holds no resting quote any more
    (answered meanwhile). ``quotes`` None: a run without quotes (0, nothing compiled)."""
    if quotes is None:
        return 0
    ints = quotes[0]
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
    counters = run.counters
    o = order[0]
    status = o.status
    if status == FILLED:
        fill_row(fills, run, now, order, a, ints[a, i, Q_OID], INTENT_QUOTE, ints[a, i, Q_PAIR])
        counters[C_MAKER_FILLS] += 1
        ints[a, i, Q_OID] = 0
        return ANSWER_FILLED
    if status == EXPIRED:  # a post-only order that would have taken: refused, its side held back
        counters[C_POST_ONLY_REJECTS] += 1
        hold_slot(quotes, a, i, now)
        return ANSWER_DONE
    if status == CANCELED:
        ints[a, i, Q_OID] = 0
        return ANSWER_DONE
    if ints[a, i, Q_STATE] == QUOTE_PENDING and o.req == 0:  # acknowledged (no request in flight)
        ints[a, i, Q_STATE] = QUOTE_LIVE
        floats[a, i, 1] = o.leaves_qty
        return ANSWER_STATE
    return ANSWER_NONE
