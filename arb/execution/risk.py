"""The risk gate: limits that hold whatever the kernel asks for, in every mode.

The backtest's Numba loop and the live driver call :func:`gate` on the kernel's intents before
anything is sent. It works on whole pairs: if any leg of a pair would break a limit, every intent
of that pair is dropped, so the gate itself can never create a naked leg. Hedges and unwinds only
ever reduce exposure; they pass unless their venue cannot take orders at all.

Limits (from ``[risk]``): a venue that is stale or out of sync gets no opening order; the net
position across venues stays within ``position_limit``; each venue's position value stays within
``max_notional_per_venue``; a venue never has more than ``max_open_orders`` unanswered; once trading
PnL (equity minus the starting balances at today's prices: the starting coins' own price moves are
not the strategy's losses) falls ``max_drawdown`` below its peak, trading halts (only hedges and
unwinds go out) until restart.
"""

from __future__ import annotations

from typing import Any

import numba as nb
import numpy as np

from arb.config import RiskConfig
from arb.strategy.types import INTENT_OPEN, VENUE_OK

__all__ = ["RISK_DTYPE", "RISK_STATE_DTYPE", "gate", "make_limits", "new_risk_state", "update_equity"]

RISK_DTYPE = np.dtype(
    [
        ("position_limit", "f8"),  # |position0 + position1|, base units
        ("max_notional_per_venue", "f8"),  # |position| x mid per venue, quote
        ("max_open_orders", "i8"),  # per venue
        ("max_drawdown", "f8"),  # quote currency below the equity peak
    ],
    align=True,
)

RISK_STATE_DTYPE = np.dtype(
    [
        ("peak_equity", "f8"),
        ("halted", "i8"),  # 1 once the drawdown limit was hit
        ("rejected_pairs", "i8"),
        ("rejected_hedges", "i8"),
    ],
    align=True,
)


def make_limits(risk: RiskConfig) -> np.ndarray[Any, np.dtype[Any]]:
    """The gate's limits from ``[risk]``."""
    limits = np.zeros(1, RISK_DTYPE)
    limits["position_limit"] = risk.position_limit
    limits["max_notional_per_venue"] = risk.max_notional_per_venue
    limits["max_open_orders"] = risk.max_open_orders
    limits["max_drawdown"] = risk.max_drawdown
    return limits


def new_risk_state() -> np.ndarray[Any, np.dtype[Any]]:
    """A fresh gate state (no peak yet, not halted)."""
    state = np.zeros(1, RISK_STATE_DTYPE)
    state["peak_equity"] = -np.inf
    return state


@nb.njit(cache=True, nogil=True)
def update_equity(limits: Any, state: Any, equity: float) -> None:
    """Track the peak of ``equity`` (the drivers pass trading PnL); halt ``max_drawdown`` below it."""
    st = state[0]
    if equity > st["peak_equity"]:
        st["peak_equity"] = equity
    if st["peak_equity"] - equity >= limits[0]["max_drawdown"]:
        st["halted"] = 1


@nb.njit(cache=True, nogil=True)
def gate(view: Any, limits: Any, state: Any, intents: Any, n: int) -> int:
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
    ok = True
    for v in range(2):
        if orders[v] == 0:
            continue
        if view[v]["open_orders"] + orders[v] > lim["max_open_orders"]:
            ok = False
        if opening:
            if view[v]["status"] != VENUE_OK:
                ok = False
            mid = 0.5 * (view[v]["bid_px"][0] + view[v]["ask_px"][0])
            after = abs(view[v]["position"] + delta[v])
            if mid > 0.0 and after > abs(view[v]["position"]) and after * mid > lim["max_notional_per_venue"]:
                ok = False
    if opening:
        net_before = abs(view[0]["position"] + view[1]["position"])
        net_after = abs(view[0]["position"] + view[1]["position"] + delta[0] + delta[1])
        if net_after > lim["position_limit"] and net_after > net_before:
            ok = False
        if st["halted"] == 1:
            ok = False
    if ok:
        return n
    if opening:
        st["rejected_pairs"] += 1
    else:
        st["rejected_hedges"] += 1
    return 0
