"""The risk gate on the ``maker_taker`` style's intents: cancels always pass, each quote is judged alone at
its worst case with the quotes already resting, resting quotes count as open orders."""

from __future__ import annotations

import numpy as np

from arb.execution.risk import new_risk_state
from arb.strategy.types import (
    BUY,
    INTENT_CANCEL,
    INTENT_HEDGE,
    INTENT_QUOTE,
    QUOTE_HELD,
    QUOTE_LIVE,
    SELL,
    VENUE_STALE,
    new_intents,
)
from tests.unit.test_risk import NOW, book, gate, limits, pair, sym


def intents(*rows: tuple[int, int, float, float, int]) -> tuple[np.ndarray, int]:
    """(venue, side, price, qty, kind) rows as intents, and their count."""
    out = new_intents()
    for k, (venue, side, price, qty, kind) in enumerate(rows):
        out[k] = (venue, side, price, qty, kind, 10 + k, 0)
    return out, len(rows)


def resting(view: np.ndarray, venue: int, side: int, qty: float) -> None:
    i = 0 if side == BUY else 1
    view[venue]["quote_state"][i] = QUOTE_LIVE
    view[venue]["quote_px"][i] = 59980.0 if side == BUY else 60020.0
    view[venue]["quote_qty"][i] = qty


def test_a_quote_within_limits_passes() -> None:
    out, n = intents((0, BUY, 59980.0, 0.5, INTENT_QUOTE))
    assert gate(book(), limits(position_limit=1.0), new_risk_state(), out, n, NOW) == 1


def test_a_quote_is_judged_with_the_quotes_already_resting_on_its_side() -> None:
    view = book()
    resting(view, 1, BUY, 0.6)  # another buy quote rests: both could fill before any hedge
    out, n = intents((0, BUY, 59980.0, 0.5, INTENT_QUOTE))
    state = new_risk_state()
    assert gate(view, limits(position_limit=1.0), state, out, n, NOW) == 0
    assert state[0]["refused"].sum() == 1
    # a sell quote resting does not add to a buy's worst case
    view = book()
    resting(view, 1, SELL, 0.6)
    assert gate(view, limits(position_limit=1.0), new_risk_state(), out, n, NOW) == 1


def test_resting_quotes_count_toward_notional_and_open_orders() -> None:
    view = book()
    resting(view, 0, BUY, 0.5)  # 0.5 x 60000 = 30,000 may still be bought on venue 0
    out, n = intents((0, SELL, 60020.0, 0.1, INTENT_QUOTE))
    # the sell quote does not grow venue 0's worst case (+0.5 long): it passes the notional limit
    assert gate(view, limits(max_notional_per_venue=35_000.0), new_risk_state(), out, n, NOW) == 1
    out, n = intents((1, BUY, 59900.0, 0.1, INTENT_QUOTE))
    view[1]["quote_state"] = (QUOTE_LIVE, QUOTE_LIVE)
    view[1]["quote_qty"] = (0.0, 0.0)
    view[0]["quote_state"][1] = QUOTE_LIVE
    # venue 1 holds two resting quotes: one more order is past max_open_orders = 2
    assert gate(view, limits(max_open_orders=2, position_limit=10.0), new_risk_state(), out, n, NOW) == 0
    out, n = intents((0, BUY, 59980.0, 0.2, INTENT_QUOTE))
    view = book()
    resting(view, 0, BUY, 0.5)  # (the quote being re-sent is already cancelled in practice; here both count)
    assert gate(view, limits(max_notional_per_venue=35_000.0, position_limit=10.0), new_risk_state(), out, n, NOW) == 0


def test_a_held_slot_is_no_order() -> None:
    # Venue 1's two slots are held back after refusals: no order rests there, so a quote on it passes
    # max_open_orders = 2 (as it would with two live quotes it would not).
    view = book()
    view[1]["quote_state"] = (QUOTE_HELD, QUOTE_HELD)
    out, n = intents((1, BUY, 59900.0, 0.1, INTENT_QUOTE))
    assert gate(view, limits(max_open_orders=2, position_limit=10.0), new_risk_state(), out, n, NOW) == 1
    view[1]["quote_state"] = (QUOTE_LIVE, QUOTE_LIVE)
    assert gate(view, limits(max_open_orders=2, position_limit=10.0), new_risk_state(), out, n, NOW) == 0


def test_cancels_always_pass_and_a_refused_quote_drops_only_itself() -> None:
    view = book()
    resting(view, 0, SELL, 0.1)
    out, n = intents(
        (0, SELL, 60020.0, 0.1, INTENT_CANCEL),
        (0, BUY, 59980.0, 5.0, INTENT_QUOTE),  # past the position limit
        (1, SELL, 60030.0, 0.1, INTENT_QUOTE),
    )
    kept = gate(view, limits(position_limit=1.0), new_risk_state(), out, n, NOW)
    assert kept == 2
    assert [(int(r["kind"]), int(r["venue"]), int(r["side"])) for r in out[:kept]] == [
        (INTENT_CANCEL, 0, SELL),
        (INTENT_QUOTE, 1, SELL),
    ]
    assert list(out[:kept]["pair_id"]) == [10, 12]
    # a halt refuses every quote; the cancel still goes out
    state = new_risk_state()
    state[0]["halted"] = 1
    out, n = intents((0, SELL, 60020.0, 0.1, INTENT_CANCEL), (1, SELL, 60030.0, 0.1, INTENT_QUOTE))
    assert gate(view, limits(), state, out, n, NOW) == 1
    assert out[0]["kind"] == INTENT_CANCEL


def test_a_quote_needs_its_hedge_venue_able_to_take_orders() -> None:
    view = book()
    view[1]["status"] = VENUE_STALE
    out, n = intents((0, BUY, 59980.0, 0.1, INTENT_QUOTE))
    assert gate(view, limits(), new_risk_state(), out, n, NOW) == 0
    view = book()
    view[1]["blocked_until_ns"] = NOW + 1
    assert gate(view, limits(), new_risk_state(), out, n, NOW) == 0
    # a maker fill's hedge passes as hedges do (the quote's venue stale or not)
    view = book()
    view[0]["status"] = VENUE_STALE
    out, n = intents((0, SELL, 60020.0, 0.1, INTENT_CANCEL), (1, SELL, 59990.0, 0.1, INTENT_HEDGE))
    assert gate(view, limits(), new_risk_state(), out, n, NOW) == 2


def test_quotes_do_not_count_as_pairs() -> None:
    state = new_risk_state()
    out, n = intents((0, BUY, 59980.0, 0.1, INTENT_QUOTE))
    assert gate(book(), limits(max_pairs_per_day=1), state, out, n, NOW) == 1
    assert gate(book(), limits(max_pairs_per_day=1), state, out, n, NOW + 1) == 1


def test_a_maker_pair_counts_once_at_its_first_hedge() -> None:
    state = new_risk_state()
    lim = limits(max_pairs_per_day=1)
    hedge, n = intents((1, SELL, 59990.0, 0.1, INTENT_HEDGE))
    hedge["pair_id"] = 5
    assert gate(book(), lim, state, hedge, n, NOW) == 1  # pair 5's fill hedged: one pair today
    assert gate(book(), lim, state, hedge, n, NOW + 1) == 1  # its retry is the same pair
    quote, n = intents((0, BUY, 59980.0, 0.1, INTENT_QUOTE))
    assert gate(book(), lim, state, quote, n, NOW + 2) == 0  # the day's pair is spent: no new quote
    assert sym(state)[0]["pair_count"] == 1


def test_a_taker_pairs_hedge_is_not_a_second_pair() -> None:
    state = new_risk_state()
    lim = limits(max_pairs_per_day=2)
    opened, n = pair(pair_id=9)
    assert gate(book(), lim, state, opened, n, NOW) == 2
    hedge, n = intents((1, SELL, 59990.0, 0.1, INTENT_HEDGE))
    hedge["pair_id"] = 9
    assert gate(book(), lim, state, hedge, n, NOW + 1) == 1
    assert sym(state)[0]["pair_count"] == 1
