"""The risk gate: limits that hold whatever the kernel asks for, in every mode.

The backtest's Numba loop and the live engine (dry run and ``arb live``) call :func:`update_equity`
and :func:`gate` with the same arguments at every decision, so one compiled gate stops the same
things everywhere. It works on whole pairs: if any leg of a pair would break a limit, every intent of
that pair is dropped, so the gate itself can never create a naked leg. Hedges and unwinds only ever
reduce exposure; they pass unless their venue has too many unanswered orders.

Limits (``[risk]``; every one added after the first four is off at 0):

- a venue that is stale or out of sync gets no opening order;
- ``position_limit``: the net position across venues stays within it;
- ``max_notional_per_venue``: each venue's position value stays within it;
- ``max_open_orders``: a venue never has more than this many unanswered orders;
- ``max_drawdown``: once trading PnL (equity minus the starting balances at today's prices: the
  starting coins' own price moves are not the strategy's losses) falls this far below its peak,
  trading halts;
- ``max_daily_loss`` (quote) and ``max_daily_loss_fraction`` (of the account's equity at the day's
  start): trading PnL lost since the day began (``daily_reset_hour_utc``) halts new pairs until the
  next day begins;
- ``max_pair_loss``: a pair that lost more than this, from the moment it was sent until the position
  was flat again with nothing unanswered, halts trading;
- ``max_pairs_per_day``: at most this many pairs in any 24 hours;
- ``min_pair_interval_ns``: at least this long between two pairs;
- ``max_imbalance_hold_ns``: a net position (beyond ``dust``, the coarser lot) held this long halts
  new pairs (the kernel keeps closing it);
- ``max_capital_use``: each venue's position value stays within this fraction of the venue's equity;
- ``max_unknown_orders``: more orders of unknown outcome on a venue than this (the live executors
  report them; 0 by default: pause until they are resolved) holds new pairs back.

A halt (``halted`` != 0: drawdown, pair loss, imbalance held, or one set from outside: the kill
switch, a failed hedge, a halt kept from an earlier run) holds until a person clears it; the drivers
keep it across restarts. Each refusal is counted per limit (``refused``) and the last one's limit and
figure are kept (``breach``, ``breach_value``, ``breach_limit``) for the drivers to log.
"""

from __future__ import annotations

from typing import Any

import numba as nb
import numpy as np

from arb.config import RiskConfig
from arb.strategy.types import INTENT_OPEN, VENUE_OK

__all__ = [
    "BREACH_NAMES",
    "HALT_REASONS",
    "H_EXTERNAL",
    "RISK_DTYPE",
    "RISK_STATE_DTYPE",
    "breach_text",
    "gate",
    "make_limits",
    "new_risk_state",
    "risk_figures",
    "update_equity",
]

NS_PER_HOUR = 3_600_000_000_000
NS_PER_DAY = 24 * NS_PER_HOUR
MAX_PAIRS_TRACKED = 4096
"""``max_pairs_per_day`` above this is refused by the configuration check."""

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
N_BREACHES = 11

BREACH_NAMES = (
    ("", ""),
    ("venue not usable (stale or out of sync)", "stale_after_ms"),
    ("net position", "position_limit"),
    ("position value on one venue", "max_notional_per_venue"),
    ("unanswered orders on one venue", "max_open_orders"),
    ("trading halted", "halt"),
    ("daily loss", "max_daily_loss"),
    ("pairs in 24 hours", "max_pairs_per_day"),
    ("time since the last pair (ms)", "min_pair_interval_ms"),
    ("capital in positions on one venue (fraction of its equity)", "max_capital_use"),
    ("orders of unknown outcome on one venue", "max_unknown_orders"),
)
"""Per breach code: what was measured, and the ``[risk]`` key of the limit."""

# Why trading is halted (``halted``).
H_NONE = 0
H_DRAWDOWN = 1
H_PAIR_LOSS = 2
H_IMBALANCE = 3
H_EXTERNAL = 4
HALT_REASONS = ("", "max_drawdown", "max_pair_loss", "max_imbalance_hold_ms", "halt kept from outside")

RISK_DTYPE = np.dtype(
    [
        ("position_limit", "f8"),  # |position0 + position1|, base units
        ("max_notional_per_venue", "f8"),  # |position| x mid per venue, quote
        ("max_open_orders", "i8"),  # per venue
        ("max_drawdown", "f8"),  # quote currency below the trading-PnL peak
        ("max_daily_loss", "f8"),  # quote; 0 = off
        ("max_daily_loss_fraction", "f8"),  # of the account's equity at the day's start; 0 = off
        ("daily_reset_ns", "i8"),  # the day begins this long after 00:00 UTC
        ("max_pair_loss", "f8"),  # quote; 0 = off
        ("max_pairs_per_day", "i8"),  # 0 = off
        ("min_pair_interval_ns", "i8"),  # 0 = off
        ("max_imbalance_hold_ns", "i8"),  # 0 = off
        ("dust", "f8"),  # a net position below this is flat (the coarser lot)
        ("max_capital_use", "f8"),  # fraction of a venue's equity; 0 = off
        ("max_unknown_orders", "i8"),  # per venue
    ],
    align=True,
)

RISK_STATE_DTYPE = np.dtype(
    [
        ("peak_equity", "f8"),
        ("halted", "i8"),  # H_* (0: not halted)
        ("rejected_pairs", "i8"),
        ("rejected_hedges", "i8"),
        ("day", "i8"),  # the current risk day's number (-1 before the first sample)
        ("day_start_pnl", "f8"),  # trading PnL when the day began
        ("day_start_equity", "f8"),  # the account's equity when the day began
        ("day_halted", "i8"),  # 1 while the daily loss limit holds new pairs back
        ("imbalance_since", "i8"),  # when the net position left flat (0: flat)
        ("pair_open", "i8"),  # 1 while the last pair's PnL is being measured
        ("pair_start_pnl", "f8"),
        ("last_pnl", "f8"),
        ("last_pair_ns", "i8"),  # when the gate last let a pair through
        ("pair_count", "i8"),  # pairs let through in all (ring index below)
        ("pair_times", "i8", (MAX_PAIRS_TRACKED,)),
        ("unknown", "i8", (2,)),  # orders of unknown outcome per venue (the live drivers set it)
        ("breach", "i8"),  # the last refusal's B_* code
        ("breach_value", "f8"),
        ("breach_limit", "f8"),
        ("refused", "i8", (N_BREACHES,)),  # refusals per B_* code
    ],
    align=True,
)


def make_limits(risk: RiskConfig, dust: float = 0.0) -> np.ndarray[Any, np.dtype[Any]]:
    """The gate's limits from ``[risk]``; ``dust``: the net position that counts as flat."""
    limits = np.zeros(1, RISK_DTYPE)
    lim = limits[0]
    lim["position_limit"] = risk.position_limit
    lim["max_notional_per_venue"] = risk.max_notional_per_venue
    lim["max_open_orders"] = risk.max_open_orders
    lim["max_drawdown"] = risk.max_drawdown
    lim["max_daily_loss"] = risk.max_daily_loss
    lim["max_daily_loss_fraction"] = risk.max_daily_loss_fraction
    lim["daily_reset_ns"] = risk.daily_reset_hour_utc * NS_PER_HOUR
    lim["max_pair_loss"] = risk.max_pair_loss
    lim["max_pairs_per_day"] = risk.max_pairs_per_day
    lim["min_pair_interval_ns"] = risk.min_pair_interval_ns
    lim["max_imbalance_hold_ns"] = risk.max_imbalance_hold_ns
    lim["dust"] = dust
    lim["max_capital_use"] = risk.max_capital_use
    lim["max_unknown_orders"] = risk.max_unknown_orders
    return limits


def new_risk_state(halted: int = H_NONE) -> np.ndarray[Any, np.dtype[Any]]:
    """A fresh gate state (no peak yet); ``halted``: a halt carried over from an earlier run."""
    state = np.zeros(1, RISK_STATE_DTYPE)
    state["peak_equity"] = -np.inf
    state["day"] = -1
    state["halted"] = halted
    return state


def risk_figures(st: Any) -> dict[str, Any]:
    """The gate state's figures for a report: its scalars, and the refusals per ``[risk]`` key."""
    figures: dict[str, Any] = {
        name: float(st[name]) for name in RISK_STATE_DTYPE.names or () if RISK_STATE_DTYPE[name].shape == ()
    }
    figures["halt_reason"] = HALT_REASONS[int(st["halted"])]
    figures["refused"] = {BREACH_NAMES[code][1]: int(st["refused"][code]) for code in range(1, N_BREACHES)}
    return figures


def breach_text(limits: Any, state: Any) -> str:
    """The last refusal in words: what, the figure, the limit and its ``[risk]`` key."""
    st = state[0]
    code = int(st["breach"])
    what, key = BREACH_NAMES[code]
    if code == B_HALTED:
        return f"trading halted ({HALT_REASONS[int(st['halted'])] or 'daily loss'}): no new pair until cleared"
    return f"{what} {float(st['breach_value']):.8g} against {float(st['breach_limit']):.8g} ([risk] {key})"


@nb.njit(cache=True, nogil=True)
def _mid(view: Any, v: int) -> float:
    return float(0.5 * (view[v]["bid_px"][0] + view[v]["ask_px"][0]))


@nb.njit(cache=True, nogil=True)
def _venue_equity(view: Any, v: int) -> float:
    mid = _mid(view, v)
    if not (mid > 0.0):
        return np.nan
    return float(view[v]["quote_balance"] + view[v]["base_balance"] * mid)


@nb.njit(cache=True, nogil=True)
def update_equity(limits: Any, state: Any, pnl: float, view: Any, now: int) -> None:
    """Follow trading PnL (``pnl``) at ``now``: the drawdown peak, the risk day, the last pair's PnL
    and how long the net position has been off flat; halt where a limit says so."""
    lim = limits[0]
    st = state[0]
    if pnl > st["peak_equity"]:
        st["peak_equity"] = pnl
    if st["peak_equity"] - pnl >= lim["max_drawdown"] and st["halted"] == 0:
        st["halted"] = 1  # H_DRAWDOWN
    st["last_pnl"] = pnl
    day = (now - lim["daily_reset_ns"]) // 86_400_000_000_000
    if day != st["day"]:
        st["day"] = day
        st["day_start_pnl"] = pnl
        st["day_start_equity"] = _venue_equity(view, 0) + _venue_equity(view, 1)
        st["day_halted"] = 0
    lost = st["day_start_pnl"] - pnl
    if lim["max_daily_loss"] > 0.0 and lost >= lim["max_daily_loss"]:
        st["day_halted"] = 1
    start_equity = st["day_start_equity"]
    fraction = lim["max_daily_loss_fraction"]
    if fraction > 0.0 and np.isfinite(start_equity) and lost >= fraction * start_equity:
        st["day_halted"] = 1
    net = abs(view[0]["position"] + view[1]["position"])
    quiet = view[0]["open_orders"] == 0 and view[1]["open_orders"] == 0
    if net <= lim["dust"]:
        st["imbalance_since"] = 0
        if st["pair_open"] == 1 and quiet:
            st["pair_open"] = 0
            if lim["max_pair_loss"] > 0.0 and st["pair_start_pnl"] - pnl > lim["max_pair_loss"] and st["halted"] == 0:
                st["halted"] = 2  # H_PAIR_LOSS
    elif st["imbalance_since"] == 0:
        st["imbalance_since"] = now
    elif 0 < lim["max_imbalance_hold_ns"] <= now - st["imbalance_since"] and st["halted"] == 0:
        st["halted"] = 3  # H_IMBALANCE


@nb.njit(cache=True, nogil=True)
def _refuse(st: Any, code: int, value: float, limit: float) -> None:
    if st["breach"] == 0:  # the first limit found is the one reported
        st["breach"] = code
        st["breach_value"] = value
        st["breach_limit"] = limit


@nb.njit(cache=True, nogil=True)
def gate(view: Any, limits: Any, state: Any, intents: Any, n: int, now: int) -> int:
    """Drop the intents that break a limit (whole pairs at a time); compact the rest; return their count."""
    lim = limits[0]
    st = state[0]
    delta = np.zeros(2)
    orders = np.zeros(2, np.int64)
    opening = False
    for k in range(n):
        v = intents[k]["venue"]
        delta[v] += intents[k]["side"] * intents[k]["qty"]
        orders[v] += 1
        if intents[k]["kind"] == INTENT_OPEN:
            opening = True
    if n == 0:
        return 0
    st["breach"] = 0
    for v in range(2):
        if orders[v] == 0:
            continue
        if view[v]["open_orders"] + orders[v] > lim["max_open_orders"]:
            _refuse(st, 4, view[v]["open_orders"] + orders[v], lim["max_open_orders"])
        if not opening:
            continue
        if view[v]["status"] != VENUE_OK:
            _refuse(st, 1, view[v]["status"], VENUE_OK)
        mid = _mid(view, v)
        before = abs(view[v]["position"])
        after = abs(view[v]["position"] + delta[v])
        if mid > 0.0 and after > before and after * mid > lim["max_notional_per_venue"]:
            _refuse(st, 3, after * mid, lim["max_notional_per_venue"])
        if lim["max_capital_use"] > 0.0 and mid > 0.0 and after > before:
            equity = _venue_equity(view, v)
            if not (equity > 0.0) or after * mid > lim["max_capital_use"] * equity:
                _refuse(st, 9, after * mid / equity if equity > 0.0 else np.inf, lim["max_capital_use"])
        if st["unknown"][v] > lim["max_unknown_orders"]:
            _refuse(st, 10, st["unknown"][v], lim["max_unknown_orders"])
    if opening:
        net_before = abs(view[0]["position"] + view[1]["position"])
        net_after = abs(view[0]["position"] + view[1]["position"] + delta[0] + delta[1])
        if net_after > lim["position_limit"] and net_after > net_before:
            _refuse(st, 2, net_after, lim["position_limit"])
        if st["halted"] != 0 or st["day_halted"] != 0:
            if st["day_halted"] != 0 and st["halted"] == 0:
                _refuse(st, 6, st["day_start_pnl"] - st["last_pnl"], lim["max_daily_loss"])
            else:
                _refuse(st, 5, st["halted"], 0.0)
        if lim["min_pair_interval_ns"] > 0 and st["pair_count"] > 0:
            since = now - st["last_pair_ns"]
            if since < lim["min_pair_interval_ns"]:
                _refuse(st, 8, since / 1e6, lim["min_pair_interval_ns"] / 1e6)
        if lim["max_pairs_per_day"] > 0:
            recent = 0
            kept = min(st["pair_count"], st["pair_times"].shape[0])
            for i in range(kept):
                if now - st["pair_times"][i] < 86_400_000_000_000:
                    recent += 1
            if recent >= lim["max_pairs_per_day"]:
                _refuse(st, 7, recent, lim["max_pairs_per_day"])
    if st["breach"] == 0:
        if opening:
            st["pair_times"][st["pair_count"] % st["pair_times"].shape[0]] = now
            st["pair_count"] += 1
            st["last_pair_ns"] = now
            if st["pair_open"] == 0:
                st["pair_open"] = 1
                st["pair_start_pnl"] = st["last_pnl"]
        return n
    st["refused"][st["breach"]] += 1
    if opening:
        st["rejected_pairs"] += 1
    else:
        st["rejected_hedges"] += 1
    return 0
