"""The risk gate: whole pairs pass or fail together; hedges pass unless impossible; drawdown halts."""

from __future__ import annotations

import numpy as np

from arb.execution.risk import RISK_DTYPE, gate, new_risk_state, update_equity
from arb.strategy.types import BUY, INTENT_HEDGE, INTENT_OPEN, SELL, VENUE_OK, VENUE_STALE, new_intents, new_view


def limits(**over: float) -> np.ndarray:
    lim = np.zeros(1, RISK_DTYPE)
    lim["position_limit"] = over.get("position_limit", 1.0)
    lim["max_notional_per_venue"] = over.get("max_notional_per_venue", 1e9)
    lim["max_open_orders"] = over.get("max_open_orders", 4)
    lim["max_drawdown"] = over.get("max_drawdown", 100.0)
    return lim


def book() -> np.ndarray:
    v = new_view()
    v["status"] = VENUE_OK
    v["bid_px"][:, 0] = 59990.0
    v["ask_px"][:, 0] = 60010.0
    return v


def pair(qty: float = 0.1) -> tuple[np.ndarray, int]:
    out = new_intents()
    out[0] = (0, BUY, 60010.0, qty, INTENT_OPEN, 7, 0)
    out[1] = (1, SELL, 59990.0, qty, INTENT_OPEN, 7, 0)
    return out, 2


def test_a_pair_within_limits_passes_whole() -> None:
    intents, n = pair()
    assert gate(book(), limits(), new_risk_state(), intents, n) == 2


def test_notional_limit_rejects_the_whole_pair() -> None:
    intents, n = pair(0.1)
    state = new_risk_state()
    assert gate(book(), limits(max_notional_per_venue=5000.0), state, intents, n) == 0  # 0.1 x 60000 = 6000
    assert state[0]["rejected_pairs"] == 1


def test_stale_venue_gets_no_opening_order() -> None:
    v = book()
    v[1]["status"] = VENUE_STALE
    intents, n = pair()
    assert gate(v, limits(), new_risk_state(), intents, n) == 0


def test_open_orders_limit() -> None:
    v = book()
    v[0]["open_orders"] = 4
    intents, n = pair()
    assert gate(v, limits(max_open_orders=4), new_risk_state(), intents, n) == 0


def test_reducing_orders_pass_the_notional_and_net_limits() -> None:
    v = book()
    v[0]["position"] = 0.2  # long 0.2 on Binance alone: over both limits below
    intents = new_intents()
    intents[0] = (1, SELL, 59990.0, 0.2, INTENT_HEDGE, 3, 0)
    assert gate(v, limits(position_limit=0.1, max_notional_per_venue=100.0), new_risk_state(), intents, 1) == 1


def test_drawdown_halts_new_pairs_but_not_hedges() -> None:
    lim = limits(max_drawdown=50.0)
    state = new_risk_state()
    update_equity(lim, state, 10_000.0)
    update_equity(lim, state, 9_960.0)
    intents, n = pair()
    assert gate(book(), lim, state, intents, n) == 2
    update_equity(lim, state, 9_950.0)  # 50 below the peak
    assert state[0]["halted"] == 1
    assert gate(book(), lim, state, intents, n) == 0
    hedge = new_intents()
    hedge[0] = (1, SELL, 59990.0, 0.1, INTENT_HEDGE, 3, 0)
    v = book()
    v[0]["position"] = 0.1
    assert gate(v, lim, state, hedge, 1) == 1
    update_equity(lim, state, 10_100.0)  # recovering does not lift the halt
    assert gate(book(), lim, state, intents, n) == 0
