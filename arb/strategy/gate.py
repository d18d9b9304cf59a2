"""The risk gate's compiled checks: limits that hold whatever the kernel asks for, in every mode.

The backtest's Numba loop and the live engine (dry run and ``arb live``) call :func:`update_equity`
and :func:`gate` with the same arguments at every decision, so one compiled gate stops the same
things everywhere. With several symbols there is one gate for the account: ``views`` holds every
symbol's view of every venue (``views[s]``, what the kernel of symbol ``s`` reads), ``limits`` one
row per symbol, ``state`` the account's record and ``symbol_state`` one record per symbol. It works on
whole pairs: if any leg of a pair would break a limit, every intent of that pair is dropped, so the
gate itself can never create a naked leg. Hedges and unwinds only ever
reduce exposure; they pass unless their venue has too many unanswered orders. The ``maker_taker``
style's quotes are opening orders judged one at a time at their worst case: every buy quote of the
symbol (resting or new) filling before any hedge, or every sell quote; its cancels always pass. Resting
quotes count as open orders of their venue. A maker pair counts for the pair limits
(``max_pairs_per_day``, ``min_pair_interval_ns``) when the first hedge of its fill passes (the hedge
carries the quote's pair id; a retry of it is the same pair), and the quotes are then held to them.

Limits (``[risk]``; every one added after the first four is off at 0). Per symbol: the venue
status, ``position_limit``, ``max_notional_per_venue``, ``max_pair_loss``, ``max_pairs_per_day``,
``min_pair_interval_ns``, ``max_imbalance_hold_ns``; every other one holds for the whole account.

- a venue that is stale or out of sync gets no opening order, and one the executor holds orders back
  from (``blocked_until_ns``: a rate limit or a ban) gets no order at all, hedges included;
- ``position_limit``: the symbol's net position across venues stays within it whatever fills: a pair is
  judged by its worst case of leg risk, the net position if its buys or its sells filled alone;
- ``max_notional_per_venue``: the symbol's position value on each venue stays within it;
- ``max_open_orders``: a venue never has more than this many unanswered orders (every symbol's);
- ``max_drawdown``: once net PnL (equity minus the starting balances at today's prices: the
  starting coins' own price moves are not the strategy's losses) falls this far below its peak,
  trading halts;
- ``max_daily_loss`` (quote) and ``max_daily_loss_fraction`` (of the account's equity at the day's
  start): net PnL lost since the day began (``daily_reset_hour_utc``) halts new pairs until the
  next day begins;
- ``max_pair_loss``: a pair that lost more than this, from the moment it was sent until the position
  was flat again with nothing unanswered, halts trading;
- ``max_pairs_per_day``: at most this many pairs in any 24 hours;
- ``min_pair_interval_ns``: at least this long between two pairs;
- ``max_imbalance_hold_ns``: a net position (beyond ``dust``, the coarser lot) held this long halts
  new pairs (the kernel keeps closing it);
- ``max_capital_use``: each venue's position value (every symbol's) stays within this fraction of
  the venue's equity;
- ``max_unknown_orders``: more orders of unknown outcome on a venue than this (the live executors
  report them; 0 by default: pause until they are resolved) holds new pairs back;
- ``max_symbol_share``: no symbol's position value (every venue) above this fraction of the
  account's equity;
- ``max_total_notional``: every symbol's position value on every venue together stays within it;
- margin (a linear venue, always on): the initial margin of the venue's positions after the pair
  (every symbol's value over the ``[perpetual]`` leverage) stays within the venue's equity;
- ``min_liquidation_distance``: a linear venue's position after the pair keeps its estimated
  liquidation price at least this fraction of its price away (:func:`liquidation_distance`).

A quantity is valued at the mid of the symbol's view (its book as the symbol last decided); the margin
checks value a linear position at its mark price where the venue's stream gave one.

The gate's records (:data:`~arb.strategy.records.RISK_DTYPE`, ``RISK_STATE_DTYPE``,
``SYMBOL_RISK_DTYPE``) are in :mod:`arb.strategy.records`; its configuration, figures and words (what
a breach says) in :mod:`arb.execution.risk`. The code sits beside the kernel because the per-decision
step (:mod:`arb.strategy.step`) runs both in one compiled call. Every entry point that reads the other
symbols' state takes separate per-symbol arrays (``views``, ``limits``, ``symbol_state``), or records per
symbol holding them as fields (:mod:`arb.strategy.records`' accessors): the same body reads either.
"""

from __future__ import annotations

__all__ = [
    "ACCOUNT",
    "B_CAPITAL",
    "B_DAILY_LOSS",
    "B_DAILY_LOSS_FRACTION",
    "B_HALTED",
    "B_LIQUIDATION",
    "B_MARGIN",
    "B_NONE",
    "B_NOTIONAL",
    "B_OPEN_ORDERS",
    "B_PAIRS_PER_DAY",
    "B_PAIR_INTERVAL",
    "B_POSITION",
    "B_STATUS",
    "B_SYMBOL_SHARE",
    "B_TOTAL_NOTIONAL",
    "B_UNKNOWN",
    "E_DRAWDOWN",
    "E_IMBALANCE",
    "E_PAIR_LOSS",
    "H_DRAWDOWN",
    "H_EXTERNAL",
    "H_IMBALANCE",
    "H_NONE",
    "H_PAIR_LOSS",
    "NS_PER_DAY",
    "NS_PER_HOUR",
    "N_EVENTS",
    "follow_pnl",
    "gate",
    "gate_symbol",
    "liquidation_distance",
    "position_at",
    "update_equity",
    "value_px",
]

from typing import Any

import numpy as np

import arb._jit as nb  # numba.njit, compiled once per argument types, not per constant (arb/_jit.py)
from arb._alloc import empty, zeros
from arb.strategy.legs import net_position, unanswered
from arb.strategy.records import EVENTS_KEPT, N_BREACHES, limits_row, pnl_row, risk_row, view_row
from arb.strategy.types import (
    INTENT_CANCEL,
    INTENT_HEDGE,
    INTENT_OPEN,
    INTENT_QUOTE,
    INTENT_UNWIND,
    QUOTE_HELD,
    QUOTE_NONE,
    VENUE_OK,
)

NS_PER_HOUR = 3_600_000_000_000
NS_PER_DAY = 24 * NS_PER_HOUR

# Why a pair (or a hedge) was refused: index into ``refused`` and the value of ``breach``.
B_NONE = 0
B_STATUS = 1
B_POSITION = 2
B_NOTIONAL = 3
B_OPEN_ORDERS = 4
B_HALTED = 5
B_DAILY_LOSS = 6
B_PAIRS_PER_DAY = 7
B_PAIR_INTERVAL = 8
B_CAPITAL = 9
B_UNKNOWN = 10
B_DAILY_LOSS_FRACTION = 11
B_SYMBOL_SHARE = 12
B_TOTAL_NOTIONAL = 13
B_MARGIN = 14
B_LIQUIDATION = 15
assert N_BREACHES == 16  # the refusal codes above
# Events that are not refusals (in the event ring only): a halt tripping.
E_DRAWDOWN = 16
E_PAIR_LOSS = 17
E_IMBALANCE = 18
N_EVENTS = 19
ACCOUNT = -1
"""The symbol of an event that concerns the whole account (drawdown, daily loss, unknown orders)."""
# Why trading is halted (``halted``).
H_NONE = 0
H_DRAWDOWN = 1
H_PAIR_LOSS = 2
H_IMBALANCE = 3
H_EXTERNAL = 4
HALT_REASONS = ("", "max_drawdown", "max_pair_loss", "max_imbalance_hold_ms", "halt kept from outside")


@nb.njit(cache=True, nogil=True, twin=True)
def value_px(mark: Any, last_mid: Any, s: int, v: int) -> float:
    """What a unit of symbol ``s`` held on venue ``v`` is worth: the venue's mark price (a perpetual's,
    once its stream gave one; NaN otherwise), else the book's last mid. Both arrays by (symbol, venue)."""
    m = mark[s, v]
    return float(m if m == m else last_mid[s, v])


@nb.njit(cache=True, nogil=True, twin=True)
def position_at(fills: Any, n: int, s: int, v: int, at_ns: int, position: float) -> float:
    """Symbol ``s``'s position on venue ``v`` at the venue's time ``at_ns`` (a funding time), from its
    ``position`` now: ``position`` less the fills the venue made after ``at_ns`` (``fills[:n]``,
    ``FILL_DTYPE`` in the order they became known; a fill known locally by ``at_ns`` was made by then,
    so the scan stops there). What a venue charges funding on is the position it held at the time."""
    k = n - 1
    while k >= 0 and fills[k]["local_ts"] > at_ns:
        row = fills[k]
        if row["symbol"] == s and row["venue"] == v and row["exch_ts"] > at_ns:
            position -= row["side"] * row["qty"]
        k -= 1
    return position


@nb.njit(cache=True, internal=True, nogil=True)
def _mid(view: Any, v: int) -> float:
    return float(0.5 * (view[v]["bid_px"][0] + view[v]["ask_px"][0]))


@nb.njit(cache=True, internal=True, nogil=True)
def _venue_equity(views: Any, v: int) -> float:
    # The account's equity on venue v: its quote plus every symbol's holdings there at the mids; NaN
    # while a symbol's book has no mid.
    equity = float(view_row(views, 0)[v]["quote_balance"])
    for s in range(views.shape[0]):
        view = view_row(views, s)
        mid = _mid(view, v)
        if not (mid > 0.0):
            return np.nan
        equity += view[v]["base_balance"] * mid
    return equity


@nb.njit(cache=True, internal=True, nogil=True)
def _account_equity(views: Any) -> float:
    # The account's equity over every venue (NaN while a book has no mid).
    equity = _venue_equity(views, 0)
    for v in range(1, view_row(views, 0).shape[0]):
        equity = equity + _venue_equity(views, v)
    return equity


@nb.njit(cache=True, internal=True, nogil=True)
def _hedge_venue(view: Any, v: int, now: int) -> tuple[bool, int]:
    # Whether a venue other than v can take the hedge of a quote resting on v (synced, fresh, not held
    # back); when none can, the status of the last one looked at.
    status = VENUE_OK
    for o in range(view.shape[0]):
        if o == v:
            continue
        status = view[o]["status"]
        if status == VENUE_OK and now >= view[o]["blocked_until_ns"]:
            return True, VENUE_OK
    return False, status


@nb.njit(cache=True, nogil=True, twin=True)
def liquidation_distance(position: float, px: float, equity: float, maintenance_rate: float) -> float:
    """How far the price may move against ``position`` (signed, base units, valued at ``px``) before
    the venue liquidates it, as a fraction of ``px``: the price at which ``equity`` (the margin backing
    it: cross, the venue's equity less the other positions' maintenance margin; isolated, the
    position's own margin) plus the move's loss equals the maintenance margin (``maintenance_rate`` x
    value). Long: ``(q px - E) / (q (1 - m))``; short: ``(E + |q| px) / (|q| (1 + m))``. 1.0 when the
    position cannot be liquidated (long, with equity at least its value) or is flat."""
    if position == 0.0 or not (px > 0.0):
        return 1.0
    if position > 0.0:
        liq = (position * px - equity) / (position * (1.0 - maintenance_rate))
        return 1.0 if liq <= 0.0 else float((px - liq) / px)
    size = -position
    liq = (equity + size * px) / (size * (1.0 + maintenance_rate))
    return float((liq - px) / px)


@nb.njit(cache=True, internal=True, nogil=True)
def _margin_px(views: Any, s: int, v: int) -> float:
    # What the venue values symbol s's position at: its mark price where known, else the mid.
    view = view_row(views, s)
    m = view[v]["mark_px"]
    return float(m if m > 0.0 else _mid(view, v))


@nb.njit(cache=True, internal=True, nogil=True)
def _check_margin(views: Any, s: int, v: int, position: float, lim: Any, st: Any) -> None:
    # A linear venue after a pair leaves symbol s at ``position`` there: its initial margin (every
    # symbol's) within the venue's equity, and (when asked) the liquidation estimate far enough.
    leverage = lim["leverage"][v]
    rate = lim["maintenance_rate"][v]
    equity = _venue_equity(views, v)
    px = _margin_px(views, s, v)
    if not (equity > 0.0) or not (px > 0.0):
        _refuse(st, B_MARGIN, np.inf, equity if equity == equity else 0.0)
        return
    used = abs(position) * px / leverage
    others_maintenance = 0.0
    for o in range(views.shape[0]):
        held = view_row(views, o)[v]["position"]
        if o == s or held == 0.0:
            continue
        pxo = _margin_px(views, o, v)
        if pxo > 0.0:
            used += abs(held) * pxo / leverage
            others_maintenance += rate * abs(held) * pxo
    if used > equity:
        _refuse(st, B_MARGIN, used, equity)
    wanted = lim["min_liquidation_distance"]
    if wanted > 0.0:
        backing = abs(position) * px / leverage if lim["isolated"][v] == 1 else equity - others_maintenance
        distance = liquidation_distance(position, px, backing, rate)
        if distance < wanted:
            _refuse(st, B_LIQUIDATION, distance, wanted)


@nb.njit(cache=True, nogil=True, twin=True)
def _value(views: Any, s: int, v: int, position: float) -> float:
    # |position| of symbol s on venue v at its mid (0 while it has none).
    mid = _mid(view_row(views, s), v)
    return abs(position) * mid if mid > 0.0 else 0.0


@nb.njit(cache=True, nogil=True, twin=True)
def _event(st: Any, code: int, now: int, value: float, limit: float, symbol: int) -> None:
    # One event into the ring.
    k = st["ev_count"] % EVENTS_KEPT
    st["ev_code"][k] = code
    st["ev_ts"][k] = now
    st["ev_value"][k] = value
    st["ev_limit"][k] = limit
    st["ev_symbol"][k] = symbol
    st["ev_count"] += 1


@nb.njit(cache=True, internal=True, nogil=True)
def _episode(symbol_state: Any, code: int) -> None:
    # Every symbol's refusals that follow belong to the episode of ``code`` (a halt, a pause).
    for s in range(symbol_state.shape[0]):
        risk_row(symbol_state, s)["ev_last"] = code


@nb.njit(cache=True, internal=True, nogil=True)
def _halt(
    st: Any, symbol_state: Any, reason: int, code: int, now: int, value: float, limit: float, symbol: int
) -> None:
    # Halt for ``reason`` (H_*) unless already halted; the event says which limit and figure.
    if st["halted"] != H_NONE:
        return
    st["halted"] = reason
    _event(st, code, now, value, limit, symbol)
    _episode(symbol_state, B_HALTED)


@nb.njit(cache=True, nogil=True, twin=True)
def update_equity(limits: Any, state: Any, symbol_state: Any, pnl: float, pnl_sym: Any, views: Any, now: int) -> None:
    """Follow net PnL at ``now``: the account's (``pnl``: the drawdown peak, the risk day) and each
    symbol's (``pnl_sym[s]``: its last pair's PnL, judged whenever none of its orders is unanswered:
    marked at the mids while a leg is open, realised once flat), how long each symbol's net position
    has been off flat, and the venues' unknown orders (``state.unknown``, set by the driver); halt or
    pause where a limit says so, writing an event when it trips. ``views``: every symbol's view;
    ``limits``/``symbol_state``: a row per symbol; ``state``: the account's record (one-element array)."""
    follow_pnl(limits, state[0], symbol_state, pnl, pnl_sym, views, now)


@nb.njit(cache=True, internal=True, nogil=True)
def follow_pnl(limits: Any, st: Any, symbol_state: Any, pnl: float, pnl_sym: Any, views: Any, now: int) -> None:
    """:func:`update_equity` on the account's gate record ``st``; ``limits``, ``symbol_state``, ``pnl_sym``
    and ``views`` are per-symbol arrays (or records per symbol holding them as fields)."""
    lim = limits_row(limits, 0)
    if pnl > st["peak_equity"]:
        st["peak_equity"] = pnl
    if st["peak_equity"] - pnl >= lim["max_drawdown"]:
        _halt(st, symbol_state, H_DRAWDOWN, E_DRAWDOWN, now, st["peak_equity"] - pnl, lim["max_drawdown"], ACCOUNT)
    st["last_pnl"] = pnl
    day = (now - lim["daily_reset_ns"]) // NS_PER_DAY
    if day != st["day"]:
        st["day"] = day
        st["day_start_pnl"] = pnl
        st["day_start_equity"] = _account_equity(views)
        st["day_halted"] = 0
        for s in range(symbol_state.shape[0]):
            sst = risk_row(symbol_state, s)
            if sst["ev_last"] == B_DAILY_LOSS or sst["ev_last"] == B_DAILY_LOSS_FRACTION:
                sst["ev_last"] = 0
    lost = st["day_start_pnl"] - pnl
    if st["day_halted"] == 0:
        start_equity = st["day_start_equity"]
        fraction = lim["max_daily_loss_fraction"]
        code = 0
        if lim["max_daily_loss"] > 0.0 and lost >= lim["max_daily_loss"]:
            code = B_DAILY_LOSS
            _event(st, code, now, lost, lim["max_daily_loss"], ACCOUNT)
        elif fraction > 0.0 and np.isfinite(start_equity) and start_equity > 0.0 and lost >= fraction * start_equity:
            code = B_DAILY_LOSS_FRACTION
            _event(st, code, now, lost / start_equity, fraction, ACCOUNT)
        if code != 0:
            st["day_halted"] = code
            if st["halted"] == H_NONE:
                _episode(symbol_state, code)
    for s in range(symbol_state.shape[0]):
        _follow_symbol(limits_row(limits, s), st, symbol_state, s, pnl_row(pnl_sym, s), view_row(views, s), now)
    worst = 0
    for v in range(view_row(views, 0).shape[0]):
        worst = max(worst, st["unknown"][v])
    if worst > lim["max_unknown_orders"]:
        if st["unknown_paused"] == 0:
            st["unknown_paused"] = 1
            _event(st, B_UNKNOWN, now, worst, lim["max_unknown_orders"], ACCOUNT)
            if st["halted"] == H_NONE and st["day_halted"] == 0:
                _episode(symbol_state, B_UNKNOWN)
    else:
        st["unknown_paused"] = 0


@nb.njit(cache=True, internal=True, nogil=True)
def _follow_symbol(lim: Any, st: Any, symbol_state: Any, s: int, pnl: float, view: Any, now: int) -> None:
    # One symbol's imbalance hold and pair loss (``pnl``: its trading PnL).
    sst = risk_row(symbol_state, s)
    sst["last_pnl"] = pnl
    net = abs(net_position(view))
    quiet = not unanswered(view)
    hold = lim["max_imbalance_hold_ns"]
    if net <= lim["dust"]:
        # an imbalance that ended after the limit was held too long, even if no decision fell inside it
        if sst["imbalance_since"] != 0 and 0 < hold <= now - sst["imbalance_since"]:
            _halt(st, symbol_state, H_IMBALANCE, E_IMBALANCE, now, (now - sst["imbalance_since"]) / 1e6, hold / 1e6, s)
        sst["imbalance_since"] = 0
        if sst["pair_open"] == 1 and quiet:
            sst["pair_open"] = 0
            if lim["max_pair_loss"] > 0.0 and sst["pair_start_pnl"] - pnl > lim["max_pair_loss"]:
                _halt(
                    st,
                    symbol_state,
                    H_PAIR_LOSS,
                    E_PAIR_LOSS,
                    now,
                    sst["pair_start_pnl"] - pnl,
                    lim["max_pair_loss"],
                    s,
                )
    elif sst["imbalance_since"] == 0:
        sst["imbalance_since"] = now
    elif 0 < hold <= now - sst["imbalance_since"]:
        _halt(st, symbol_state, H_IMBALANCE, E_IMBALANCE, now, (now - sst["imbalance_since"]) / 1e6, hold / 1e6, s)
    if (
        sst["pair_open"] == 1
        and quiet
        and lim["max_pair_loss"] > 0.0
        and sst["pair_start_pnl"] - pnl > lim["max_pair_loss"]
    ):
        # a leg held open with nothing unanswered: its loss at the mid counts already
        _halt(st, symbol_state, H_PAIR_LOSS, E_PAIR_LOSS, now, sst["pair_start_pnl"] - pnl, lim["max_pair_loss"], s)


@nb.njit(cache=True, nogil=True, twin=True)
def _refuse(st: Any, code: int, value: float, limit: float) -> None:
    if st["breach"] == 0:  # the first limit found is the one reported
        st["breach"] = code
        st["breach_value"] = value
        st["breach_limit"] = limit


@nb.njit(cache=True, nogil=True, twin=True)
def gate(views: Any, s: int, limits: Any, state: Any, symbol_state: Any, intents: Any, n: int, now: int) -> int:
    """Drop symbol ``s``'s intents that break a limit (whole pairs at a time); return how many pass.

    ``views``: every symbol's view (``views[s]`` is the one the kernel decided on); ``limits``: a row
    per symbol; ``state``: the account's record (one-element array); ``symbol_state``: a record per symbol.
    ``now``: local time, ns. A refusal is counted under its limit (``refused``, the account's and the
    symbol's); the first of a run of refusals by one limit is also written to the event ring.

    A decision with quotes or cancels (the ``maker_taker`` style's, or a strategy's that quotes) is gated a
    part at a time: a cancel always passes (it only takes risk away), a quote is an opening order on its
    own, judged at its worst case with the quotes already resting, a hedge or unwind on its own, and the
    legs of a pair (``INTENT_OPEN``) together, whole or not at all, as in a decision without quotes;
    the intents that pass are moved to the front, in their order.
    """
    maker = False
    legs = 0
    for k in range(n):
        if intents[k]["kind"] == INTENT_QUOTE or intents[k]["kind"] == INTENT_CANCEL:
            maker = True
        elif intents[k]["kind"] == INTENT_OPEN:
            legs += 1
    if not maker:
        return gate_symbol(views, s, limits[s], state[0], symbol_state[s], intents, n, now)
    pair = False  # the pair's legs pass, judged together
    if legs > 0:
        together = empty(legs, intents.dtype)
        j = 0
        for k in range(n):
            if intents[k]["kind"] == INTENT_OPEN:
                together[j] = intents[k]
                j += 1
        pair = gate_symbol(views, s, limits[s], state[0], symbol_state[s], together, legs, now) == legs
    kept = 0
    for k in range(n):
        kind = intents[k]["kind"]
        if kind == INTENT_OPEN:
            ok = pair
        else:
            ok = kind == INTENT_CANCEL
            if not ok:
                ok = gate_symbol(views, s, limits[s], state[0], symbol_state[s], intents[k : k + 1], 1, now) == 1
        if ok:
            if kept != k:
                intents[kept] = intents[k]
            kept += 1
    return kept


@nb.njit(cache=True, internal=True, nogil=True)
def _tally(intents: Any, n: int, delta: Any, up: Any, down: Any, orders: Any) -> tuple[bool, bool, bool, float, float]:
    # Step 1, the intents: per venue what they add (delta; up and down, the buys' and the sells') and how
    # many orders; whether they open (pairs: a taker pair; quoting: a quote), and what the buys and the
    # sells move the net position together (longer, shorter <= 0).
    opening = False
    pairs = False  # a taker pair (counted by the pair limits); a quote opens no pair until it fills
    quoting = False  # a quote is sent or rests: worst cases count the resting quotes
    longer = 0.0  # what the intents that buy add to the net position, together
    shorter = 0.0  # what the intents that sell take from it (<= 0)
    for k in range(n):
        v = intents[k]["venue"]
        signed = intents[k]["side"] * intents[k]["qty"]
        delta[v] += signed
        if signed > 0.0:
            longer += signed
            up[v] += signed
        else:
            shorter += signed
            down[v] += signed
        orders[v] += 1
        if intents[k]["kind"] == INTENT_OPEN:
            opening = True
            pairs = True
        elif intents[k]["kind"] == INTENT_QUOTE:
            opening = True
            quoting = True
    return opening, pairs, quoting, longer, shorter


@nb.njit(cache=True, internal=True, nogil=True)
def _resting_quotes(
    views: Any, s: int, up: Any, down: Any, resting: Any, quoting: bool, longer: float, shorter: float
) -> tuple[bool, float, float]:
    # Step 2, the quotes resting: per venue how many (every symbol's, into resting), and symbol s's added
    # to its worst cases (up, down, longer, shorter); quoting once symbol s has one.
    view = view_row(views, s)
    for v in range(view.shape[0]):
        for o in range(views.shape[0]):
            for i in range(2):
                qstate = view_row(views, o)[v]["quote_state"][i]
                if qstate != QUOTE_NONE and qstate != QUOTE_HELD:  # a held slot has no order
                    resting[v] += 1
                    if o == s:
                        quoting = True
                        left = view[v]["quote_qty"][i]
                        if i == 0:
                            up[v] += left
                            longer += left
                        else:
                            down[v] -= left
                            shorter -= left
    return quoting, longer, shorter


@nb.njit(cache=True, internal=True, nogil=True)
def _moved(view: Any, delta: Any, up: Any, down: Any, quoting: bool) -> Any:
    # Step 3: each venue's position if the intents fill (quoting: the worse of all buys, all sells).
    n_venues = view.shape[0]
    moved = zeros(n_venues, np.float64)
    for v in range(n_venues):
        moved[v] = view[v]["position"] + delta[v]
        if quoting:
            hi = view[v]["position"] + up[v]
            lo = view[v]["position"] + down[v]
            moved[v] = hi if abs(hi) >= abs(lo) else lo
    return moved


@nb.njit(cache=True, internal=True, nogil=True)
def _check_orders(views: Any, s: int, v: int, lim: Any, st: Any, orders: int, resting: int, now: int) -> None:
    # Check 1, any order on venue v: its unanswered orders (every symbol's) and whether the executor
    # holds orders back from it.
    open_orders = resting
    for o in range(views.shape[0]):
        open_orders += view_row(views, o)[v]["open_orders"]
    if open_orders + orders > lim["max_open_orders"]:
        _refuse(st, B_OPEN_ORDERS, open_orders + orders, lim["max_open_orders"])
    if now < view_row(views, s)[v]["blocked_until_ns"]:  # the executor would refuse it unsent: no order, hedge or not
        _refuse(st, B_STATUS, -1.0, VENUE_OK)


@nb.njit(cache=True, internal=True, nogil=True)
def _check_venue(views: Any, s: int, v: int, lim: Any, st: Any, moved: float, quoting: bool, now: int) -> None:
    # Check 2, an opening order on venue v (its position ``moved`` after it): the venue's status (and
    # quoting, its hedge venue's), the notional, the capital use, the margin, the unknown orders.
    view = view_row(views, s)
    if view[v]["status"] != VENUE_OK:
        _refuse(st, B_STATUS, view[v]["status"], VENUE_OK)
    if quoting:
        hedged, status = _hedge_venue(view, v, now)
        if not hedged:
            _refuse(st, B_STATUS, status, VENUE_OK)  # its fills could not be hedged
    mid = _mid(view, v)
    before = abs(view[v]["position"])
    after = abs(moved)
    if mid > 0.0 and after > before and after * mid > lim["max_notional_per_venue"]:
        _refuse(st, B_NOTIONAL, after * mid, lim["max_notional_per_venue"])
    if lim["max_capital_use"] > 0.0 and mid > 0.0 and after > before:
        equity = _venue_equity(views, v)
        used = 0.0
        for o in range(views.shape[0]):
            if o != s:
                used += _value(views, o, v, view_row(views, o)[v]["position"])
        used += after * mid
        if not (equity > 0.0) or used > lim["max_capital_use"] * equity:
            _refuse(st, B_CAPITAL, used / equity if equity > 0.0 else np.inf, lim["max_capital_use"])
    if lim["leverage"][v] > 0.0 and after > before:
        _check_margin(views, s, v, moved, lim, st)
    if st["unknown"][v] > lim["max_unknown_orders"]:
        _refuse(st, B_UNKNOWN, st["unknown"][v], lim["max_unknown_orders"])


@nb.njit(cache=True, internal=True, nogil=True)
def _check_account(views: Any, s: int, lim: Any, st: Any, moved: Any) -> None:
    # Check 3, an opening decision: the symbol's share of the account's equity, every symbol's notional.
    if not (lim["max_symbol_share"] > 0.0 or lim["max_total_notional"] > 0.0):
        return
    view = view_row(views, s)
    mine_before = 0.0
    mine_after = 0.0
    others = 0.0
    for v in range(view.shape[0]):
        mine_before += _value(views, s, v, view[v]["position"])
        mine_after += _value(views, s, v, moved[v])
        for o in range(views.shape[0]):
            if o != s:
                others += _value(views, o, v, view_row(views, o)[v]["position"])
    if mine_after > mine_before:
        if lim["max_symbol_share"] > 0.0:
            equity = _account_equity(views)
            if not (equity > 0.0) or mine_after > lim["max_symbol_share"] * equity:
                share = mine_after / equity if equity > 0.0 else np.inf
                _refuse(st, B_SYMBOL_SHARE, share, lim["max_symbol_share"])
        if lim["max_total_notional"] > 0.0 and others + mine_after > lim["max_total_notional"]:
            _refuse(st, B_TOTAL_NOTIONAL, others + mine_after, lim["max_total_notional"])


@nb.njit(cache=True, internal=True, nogil=True)
def _check_symbol(view: Any, lim: Any, st: Any, sst: Any, longer: float, shorter: float, now: int) -> None:
    # Check 4, an opening decision: the leg risk, the halts, the pace of pairs.
    # Leg risk: any leg may fill alone (the other rejected, expired or partly filled), so the net
    # position can end anywhere between the sells filling alone and the buys filling alone.
    net = net_position(view)
    worst = max(abs(net + longer), abs(net + shorter))
    if worst > lim["position_limit"] and worst > abs(net):
        _refuse(st, B_POSITION, worst, lim["position_limit"])
    if st["halted"] != H_NONE:
        _refuse(st, B_HALTED, st["halted"], 0.0)
    elif st["day_halted"] == B_DAILY_LOSS:
        _refuse(st, B_DAILY_LOSS, st["day_start_pnl"] - st["last_pnl"], lim["max_daily_loss"])
    elif st["day_halted"] == B_DAILY_LOSS_FRACTION:
        lost = (st["day_start_pnl"] - st["last_pnl"]) / st["day_start_equity"]
        _refuse(st, B_DAILY_LOSS_FRACTION, lost, lim["max_daily_loss_fraction"])
    if lim["min_pair_interval_ns"] > 0 and sst["pair_count"] > 0:
        since = now - sst["last_pair_ns"]
        if since < lim["min_pair_interval_ns"]:
            _refuse(st, B_PAIR_INTERVAL, since / 1e6, lim["min_pair_interval_ns"] / 1e6)
    if lim["max_pairs_per_day"] > 0:
        recent = 0
        kept = min(sst["pair_count"], sst["pair_times"].shape[0])
        for i in range(kept):
            if now - sst["pair_times"][i] < NS_PER_DAY:
                recent += 1
        if recent >= lim["max_pairs_per_day"]:
            _refuse(st, B_PAIRS_PER_DAY, recent, lim["max_pairs_per_day"])


@nb.njit(cache=True, internal=True, nogil=True)
def _count_pair(sst: Any, intents: Any, n: int, opening: bool, pairs: bool, now: int) -> None:
    # Passed: a pair that went out is counted (a maker pair when its fill's first hedge passes).
    if not opening:  # a maker pair counts when its fill's first hedge passes (a retry is the same pair)
        for k in range(n):
            kind = intents[k]["kind"]
            if (kind == INTENT_HEDGE or kind == INTENT_UNWIND) and intents[k]["pair_id"] != sst["last_pair_id"]:
                pairs = True
    if pairs:
        sst["last_pair_id"] = intents[0]["pair_id"]
        sst["pair_times"][sst["pair_count"] % sst["pair_times"].shape[0]] = now
        sst["pair_count"] += 1
        sst["last_pair_ns"] = now
        sst["ev_last"] = 0  # a pair went out: the next refusal starts a new episode
        if sst["pair_open"] == 0:
            sst["pair_open"] = 1
            sst["pair_start_pnl"] = sst["last_pnl"]


@nb.njit(cache=True, internal=True, nogil=True)
def _count_refusal(st: Any, sst: Any, s: int, opening: bool, now: int) -> None:
    # Refused: counted under its limit (the account's and the symbol's), the first of a run of
    # refusals by one limit written to the event ring.
    code = st["breach"]
    st["breach_symbol"] = s
    st["refused"][code] += 1
    sst["refused"][code] += 1
    if code != sst["ev_last"]:
        sst["ev_last"] = code
        _event(st, code, now, st["breach_value"], st["breach_limit"], s)
    if opening:
        st["rejected_pairs"] += 1
        sst["rejected_pairs"] += 1
    else:
        st["rejected_hedges"] += 1
        sst["rejected_hedges"] += 1


@nb.njit(cache=True, internal=True, nogil=True)
def gate_symbol(views: Any, s: int, lim: Any, st: Any, sst: Any, intents: Any, n: int, now: int) -> int:
    """:func:`gate` on records: symbol ``s``'s limits ``lim`` and gate state ``sst``, the account's gate
    state ``st``; ``views`` every symbol's view (or records per symbol holding it as a field)."""
    view = view_row(views, s)
    n_venues = view.shape[0]
    delta = zeros(n_venues, np.float64)
    up = zeros(n_venues, np.float64)  # per venue: what the buys (intents and resting quotes) could add to the position
    down = zeros(n_venues, np.float64)  # and what the sells could take from it (<= 0)
    orders = zeros(n_venues, np.int64)
    opening, pairs, quoting, longer, shorter = _tally(intents, n, delta, up, down, orders)
    if n == 0:
        return 0
    resting = zeros(n_venues, np.int64)  # quotes sent and not yet done, per venue, every symbol's
    quoting, longer, shorter = _resting_quotes(views, s, up, down, resting, quoting, longer, shorter)
    moved = _moved(view, delta, up, down, quoting)
    st["breach"] = 0
    for v in range(n_venues):
        if orders[v] == 0:
            continue
        _check_orders(views, s, v, lim, st, orders[v], resting[v], now)
        if opening:
            _check_venue(views, s, v, lim, st, moved[v], quoting, now)
    if opening:
        _check_account(views, s, lim, st, moved)
        _check_symbol(view, lim, st, sst, longer, shorter, now)
    if st["breach"] == 0:
        _count_pair(sst, intents, n, opening, pairs, now)
        return n
    _count_refusal(st, sst, s, opening, now)
    return 0
