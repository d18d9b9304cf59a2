"""The backtest loop's perpetuals at a decision point (:func:`perp_step`): the funding settlements due
booked into the cash, each asset's mark price and the venue's funding estimate as they stood then."""

from __future__ import annotations

__all__ = ["has_perp", "perp_step"]  # compiled internals of arb.backtest.compiled_loop

from typing import Any

import numpy as np

from arb._jit import njit
from arb.backtest.hbt_orders import C_FILLS, C_FUNDING
from arb.backtest.transfers import moved_quote
from arb.execution.risk import position_at


@njit(cache=True, internal=True)
def has_perp(perp: Any) -> bool:
    # Whether the run has any funding settlement, mark price or estimate (a Marks: none).
    if len(perp) == 2:
        return False
    return bool(perp.fund_off[-1] > 0 or perp.mark_off[-1] > 0 or perp.est_off[-1] > 0)


@njit(cache=True, internal=True)
def _book_funding(now: int, a: int, views: Any, run: Any, cash: Any, perp: Any, outs: Any) -> bool:
    # Asset a's funding settlements due by now booked into its cash and ``funding``; True when one was.
    fund_ts, fund_off, fund_time, fund_rate, fund_mark = (
        perp.fund_ts,
        perp.fund_off,
        perp.fund_time,
        perp.fund_rate,
        perp.fund_mark,
    )
    cursor, mark_ts, mark_px, mark_off, paid = perp.cursor, perp.mark_ts, perp.mark_px, perp.mark_off, perp.paid
    counters, last_mid = run.counters, run.last_mid
    fills, funding = outs.fills, outs.funding
    n_venues = views.shape[1]
    s = a // n_venues
    v = a % n_venues
    booked = False
    lo, hi = fund_off[a], fund_off[a + 1]
    while lo + cursor[a] < hi and fund_ts[lo + cursor[a]] <= now:
        k = lo + cursor[a]
        cursor[a] += 1
        px = fund_mark[k]
        if not (px > 0.0):
            m0, m1 = mark_off[a], mark_off[a + 1]
            j = np.searchsorted(mark_ts[m0:m1], fund_ts[k], side="left") - 1
            px = mark_px[m0 + j] if j >= 0 else last_mid[s, v]
        # the position the venue held at its funding time (not fills it made after)
        position = position_at(fills, counters[C_FILLS], s, v, fund_time[k], views[s][v]["position"])
        payment = -position * px * fund_rate[k] if position != 0.0 else 0.0
        paid[s, v] += payment
        cash[s, v] += payment
        n = counters[C_FUNDING]
        row = funding[n]
        row["ts"] = fund_ts[k]
        row["funding_ts"] = fund_time[k]
        row["venue"] = v
        row["symbol"] = s
        row["rate"] = fund_rate[k]
        row["mark"] = px
        row["position"] = position
        row["payment"] = payment
        counters[C_FUNDING] = n + 1
        booked = True
    return booked


@njit(cache=True, internal=True)
def _marks_now(now: int, a: int, views: Any, perp: Any) -> None:
    # Asset a's mark price, and the venue's funding estimate and interval, as they stood at now.
    mark_ts, mark_px, mark_off, mark = perp.mark_ts, perp.mark_px, perp.mark_off, perp.mark
    est_ts, est_rate, est_next, est_off, est_interval = (
        perp.est_ts,
        perp.est_rate,
        perp.est_next,
        perp.est_off,
        perp.est_interval,
    )
    n_venues = views.shape[1]
    s = a // n_venues
    v = a % n_venues
    m0, m1 = mark_off[a], mark_off[a + 1]
    if m1 > m0:
        j = np.searchsorted(mark_ts[m0:m1], now, side="right") - 1
        if j >= 0:
            mark[s, v] = mark_px[m0 + j]
            views[s][v]["mark_px"] = mark_px[m0 + j]
    e0, e1 = est_off[a], est_off[a + 1]
    if e1 > e0:
        j = np.searchsorted(est_ts[e0:e1], now, side="right") - 1
        if j >= 0:
            views[s][v]["funding_rate"] = est_rate[e0 + j]
            views[s][v]["next_funding_ns"] = est_next[e0 + j]
            views[s][v]["funding_interval_ns"] = est_interval[e0 + j]


@njit(cache=True, internal=True)
def perp_step(now: int, views: Any, run: Any, account: Any, perp: Any, outs: Any) -> None:
    # At a decision point, before anything is valued: each perpetual's mark price now, and the funding
    # settlements due by now booked (the live engine books one when its row arrives, before it decides
    # at that time): the position pays position x price x rate, the price the settlement's mark, else
    # the venue's last mark before it, else the book's last mid. The view gets the mark price and the
    # venue's estimate of the coming funding and the symbol's funding interval as they stood at ``now`` (what
    # the kernel's funding term reads). ``perp`` a Marks (no settlement, mark or estimate in the run):
    # nothing, and Numba prunes the rest for that type, so a run without them does not compile it.
    if len(perp) == 2:
        return
    cash = account.cash
    init_quote = run.settings[0]["init_quote"]
    n_venues = views.shape[1]
    booked = False
    for a in range(perp.cursor.shape[0]):
        if _book_funding(now, a, views, run, cash, perp, outs):
            booked = True
        _marks_now(now, a, views, perp)
    if booked:  # every view's quote balance: the venue's, every symbol's cash on it, what transfers moved
        for v in range(n_venues):
            quote = init_quote[v] + moved_quote(run.inventory, v)
            for o in range(views.shape[0]):
                quote = quote + cash[o, v]
            for o in range(views.shape[0]):
                views[o][v]["quote_balance"] = quote
