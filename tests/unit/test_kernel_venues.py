"""The kernel, the maker-taker style and the risk gate on three venues: every ordered pair of venues is a
direction, the best one is taken, a lone leg goes to the best of the others, and the limits hold per
venue and account-wide. Books and answers are worked out here; ``test_same_answers_without_jit`` runs
the module again with ``NUMBA_DISABLE_JIT=1``.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from arb.execution import risk
from arb.execution.risk import B_NOTIONAL, B_OPEN_ORDERS, B_POSITION, B_STATUS, new_risk_state, new_symbol_risk_state
from arb.strategy.types import (
    BUY,
    INTENT_HEDGE,
    INTENT_OPEN,
    INTENT_QUOTE,
    INTENT_UNWIND,
    SELL,
    STYLE_MAKER_TAKER,
    VENUE_OK,
    VENUE_STALE,
    new_intents,
    new_state,
    new_view,
)
from tests.support.builtin_kernel import decide, decide_maker, may_act
from tests.support.captures import rerun_without_jit
from tests.unit.test_kernel import NOW, params
from tests.unit.test_risk import limits

MID = 60_000.0
SPREAD = 10.0  # each venue's own book: bid MID - 5, ask MID + 5, unless moved


def three(**over: float | tuple[float, ...]) -> np.ndarray:
    """The kernel's parameters for three venues with one tick, lot and fee (the last as ``over`` says)."""
    values: dict[str, float | tuple[float, ...]] = {
        "taker_fee": (0.001, 0.001, 0.001),
        "tick_size": (0.1, 0.1, 0.1),
        "lot_size": (0.001, 0.001, 0.001),
        "min_qty": (0.001, 0.001, 0.001),
        "min_notional": (5.0, 5.0, 5.0),
        "market": (0, 0, 0),
    }
    values.update(over)
    return params(**values)


def books(shift_bps: tuple[float, float, float], qty: float = 1.0) -> np.ndarray:
    """Three venues' views: venue v's book is the one around ``MID`` moved by ``shift_bps[v]``."""
    v = new_view(3)
    for k, bps in enumerate(shift_bps):
        mid = MID * (1.0 + bps * 1e-4)
        v[k]["bid_px"][0], v[k]["bid_qty"][0] = round(mid - SPREAD / 2, 1), qty
        v[k]["ask_px"][0], v[k]["ask_qty"][0] = round(mid + SPREAD / 2, 1), qty
    v["status"] = VENUE_OK
    v["base_balance"] = 10.0
    v["quote_balance"] = 1e7
    return v


def run(v: np.ndarray, p: np.ndarray, state: np.ndarray | None = None) -> np.ndarray:
    out = new_intents()
    n = decide(v, p, new_state() if state is None else state, NOW, out)
    return out[:n]


@pytest.mark.parametrize(("buy", "sell"), list(itertools.permutations(range(3), 2)))
def test_each_of_the_six_directions_is_taken_when_it_is_the_best(buy: int, sell: int) -> None:
    # the buy venue 40 bps under the middle one, the sell venue 40 over: 80 bps apart, 58 net of fees and
    # slippage; every other direction is at most 40 bps apart, 18 net: worth a pair too, but less
    shift = [0.0, 0.0, 0.0]
    shift[buy], shift[sell] = -40.0, 40.0
    got = run(books((shift[0], shift[1], shift[2])), three())
    assert [(r["venue"], r["side"], r["kind"]) for r in got] == [(buy, BUY, INTENT_OPEN), (sell, SELL, INTENT_OPEN)]
    assert got[0]["qty"] == got[1]["qty"] == pytest.approx(0.5)


def test_a_direction_whose_venue_cannot_take_orders_gives_way_to_the_next_best() -> None:
    v = books((-40.0, 0.0, 40.0))  # 0 -> 2 is the best, 0 -> 1 and 1 -> 2 next
    v[2]["status"] = VENUE_STALE
    got = run(v, three())
    assert [(r["venue"], r["side"]) for r in got] == [(0, BUY), (1, SELL)]
    v[2]["status"] = VENUE_OK
    v[2]["blocked_until_ns"] = NOW + 1  # held back by the executor: as good as stale
    assert [(r["venue"], r["side"]) for r in run(v, three())] == [(0, BUY), (1, SELL)]


def test_a_pair_is_opened_only_between_venues_whose_books_cross_by_enough() -> None:
    v = books((0.0, 0.0, 20.0))  # venue 2's bid 18.3 bps over the others' asks, 22 of cost: nothing
    assert len(run(v, three())) == 0
    assert not may_act(v, three(), NOW)
    v = books((0.0, 0.0, 25.0))  # 23.3 bps: 1.3 net, below 5 (but what leaning back to balance would take)
    assert len(run(v, three())) == 0
    assert may_act(v, three(), NOW)
    v = books((0.0, 0.0, 30.0))  # 28.3 bps: 6.3 net
    assert may_act(v, three(), NOW)
    assert {(r["venue"], r["side"]) for r in run(v, three())} in ({(0, BUY), (2, SELL)}, {(1, BUY), (2, SELL)})


def test_the_fees_of_the_direction_s_own_venues_decide() -> None:
    # venue 1 is richer than venue 2, but its taker fee eats the difference: selling on 2 is better
    v = books((-30.0, 30.0, 25.0))
    got = run(v, three(taker_fee=(0.001, 0.003, 0.001)))
    assert [(r["venue"], r["side"]) for r in got] == [(0, BUY), (2, SELL)]


def held_long_on(v: np.ndarray, venue: int, qty: float) -> np.ndarray:
    """A state whose last pair bought on ``venue``; the view long ``qty`` there alone (its sell leg did not fill)."""
    v[venue]["position"] = qty
    st = new_state()
    st[0]["last_buy_venue"] = venue
    st[0]["last_sell_venue"] = (venue + 1) % 3
    st[0]["last_pair_id"] = 9
    return st


def test_a_lone_leg_is_hedged_on_the_best_of_the_other_venues() -> None:
    for best in (1, 2):
        shift = [0.0, 0.0, 0.0]
        shift[best] = 3.0  # the best bid to sell the long leg into
        v = books((shift[0], shift[1], shift[2]))
        got = run(v, three(), held_long_on(v, 0, 0.2))
        assert [(r["venue"], r["side"], r["kind"], r["pair_id"]) for r in got] == [(best, SELL, INTENT_HEDGE, 9)]
        assert got[0]["qty"] == pytest.approx(0.2)


def test_the_hedge_weighs_each_venue_s_fee_and_passes_over_one_that_cannot_take_it() -> None:
    v = books((0.0, 3.0, 0.0))  # venue 1's bid is 3 bps better ...
    got = run(v, three(taker_fee=(0.001, 0.0015, 0.001)), held_long_on(v, 0, 0.2))
    assert got[0]["venue"] == 2  # ... but 5 bps dearer to take
    v = books((0.0, 3.0, 0.0))
    v[1]["status"] = VENUE_STALE
    got = run(v, three(), held_long_on(v, 0, 0.2))
    assert got[0]["venue"] == 2  # the best cannot take it: the next
    v[2]["status"] = VENUE_STALE
    got = run(v, three(), held_long_on(v, 0, 0.2))
    assert (got[0]["venue"], got[0]["kind"]) == (0, INTENT_UNWIND)  # no other can: unwound where it filled


def test_unwind_mode_reverses_the_leg_where_it_filled_even_with_better_prices_elsewhere() -> None:
    v = books((0.0, 3.0, 3.0))
    got = run(v, three(hedge_unwind=1), held_long_on(v, 0, 0.2))
    assert [(r["venue"], r["side"], r["kind"]) for r in got] == [(0, SELL, INTENT_UNWIND)]


def test_the_net_position_over_every_venue_is_what_is_hedged() -> None:
    v = books((0.0, 0.0, 0.0))
    v["position"] = (0.5, -0.2, -0.2)  # 0.1 long over the three
    st = held_long_on(v, 0, 0.5)
    got = run(v, three(), st)
    assert got[0]["side"] == SELL and got[0]["qty"] == pytest.approx(0.1)
    v["position"] = (0.5, -0.3, -0.2)  # flat
    assert len(run(v, three(), st)) == 0


def test_the_rebalance_rule_weighs_the_imbalance_of_the_direction_s_two_venues() -> None:
    # venue 0 is 0.5 long, venue 2 0.5 short: buying on 0 and selling on 2 would grow their gap
    v = books((-40.0, 0.0, 40.0))
    v["position"] = (0.5, 0.0, -0.5)
    got = run(v, three(rebalance_threshold=1.0))
    assert [(r["venue"], r["side"]) for r in got] != [(0, BUY), (2, SELL)]
    # 0 -> 1 (gap 0.5, room 0.25 a side) and 1 -> 2 (the same) are the next best, capped at the band
    assert got[0]["qty"] == pytest.approx(0.25)
    # and the reverse of the held gap only has to break even
    v = books((40.0, 0.0, -40.0))
    v["position"] = (0.5, 0.0, -0.5)
    got = run(v, three(rebalance_threshold=1.0))
    assert [(r["venue"], r["side"]) for r in got] == [(2, BUY), (0, SELL)]


def test_a_maker_quote_is_priced_against_the_best_hedge_venue() -> None:
    p = three(maker_fee=(0.0, 0.0, 0.0))
    p["style"] = STYLE_MAKER_TAKER
    p["maker_venues"] = 1  # venue 0 quotes
    p["quote_size"] = 0.1
    p["quote_tolerance_bps"] = 1.0
    prices = []
    for hedge_on in (1, 2):
        shift = [0.0, 0.0, 0.0]
        shift[hedge_on] = 15.0  # its bids are where a buy quote's fill would be sold
        v = books((shift[0], shift[1], shift[2]))
        out = new_intents()
        n = decide_maker(v, p, new_state(), NOW, out)
        quotes = [r for r in out[:n] if r["kind"] == INTENT_QUOTE and r["side"] == BUY]
        assert len(quotes) == 1 and quotes[0]["venue"] == 0
        assert quotes[0]["price"] < v[0]["ask_px"][0] - 0.1  # below the touch: priced by the hedge
        prices.append(float(quotes[0]["price"]))
    assert prices[0] == prices[1]  # the same hedge price on either venue: the same quote
    v = books((0.0, 15.0, 10.0))
    out = new_intents()
    n = decide_maker(v, p, new_state(), NOW, out)
    quote = next(r for r in out[:n] if r["side"] == BUY)
    assert quote["price"] == prices[0]  # priced against venue 1's better bids
    v[1]["status"] = VENUE_STALE
    n = decide_maker(v, p, new_state(), NOW, out)
    assert next(r for r in out[:n] if r["side"] == BUY)["price"] < prices[0]  # against venue 2's


def test_a_maker_fill_is_hedged_on_the_best_other_venue() -> None:
    p = three()
    p["style"] = STYLE_MAKER_TAKER
    p["maker_venues"] = 1
    v = books((0.0, 0.0, 4.0))
    st = new_state()
    st[0]["quote_pair"][0, 0] = 5
    st[0]["last_open_kind"] = INTENT_QUOTE  # the symbol's last order opened was a quote
    v[0]["position"] = 0.1  # the buy quote on venue 0 filled
    out = new_intents()
    n = decide_maker(v, p, st, NOW, out)
    assert [(r["venue"], r["side"], r["kind"], r["pair_id"]) for r in out[:n]] == [(2, SELL, INTENT_HEDGE, 5)]


def gate(v: np.ndarray, lim: np.ndarray, legs: list[tuple[int, int, float, int]]) -> tuple[int, int]:
    """The gate on ``legs`` ((venue, side, qty, kind) each) of one symbol over the three venues' view ``v``:
    (how many pass, the breach code of a refusal)."""
    out = new_intents()
    for k, (venue, side, qty, kind) in enumerate(legs):
        out[k] = (venue, side, MID, qty, kind, 7, 0)
    state = new_risk_state()
    n = int(risk.gate(v[None], 0, lim, state, new_symbol_risk_state(1), out, len(legs), NOW))
    return n, int(state[0]["breach"])


def test_the_gate_holds_each_venue_to_its_limits_and_the_symbol_to_its_net_over_all_three() -> None:
    v = books((0.0, 0.0, 0.0))
    pair = [(0, BUY, 0.1, INTENT_OPEN), (2, SELL, 0.1, INTENT_OPEN)]
    assert gate(v, limits(), pair) == (2, 0)
    # the net position is every venue's: 0.95 long on venue 1 leaves room for 0.05 of leg risk
    v["position"] = (0.0, 0.95, 0.0)
    assert gate(v, limits(position_limit=1.0), pair) == (0, B_POSITION)
    v["position"] = (0.0, 0.95, -0.95)
    assert gate(v, limits(position_limit=1.0), pair) == (2, 0)
    # a venue's notional: the third venue's short would reach 0.15 x 60,000 = 9,000
    v["position"] = (0.0, 0.0, -0.05)
    assert gate(v, limits(max_notional_per_venue=8_000.0), pair) == (0, B_NOTIONAL)
    # open orders are counted per venue: two out on venue 2 already, a third is one too many
    v["position"] = 0.0
    v[2]["open_orders"] = 2
    assert gate(v, limits(max_open_orders=2), pair) == (0, B_OPEN_ORDERS)
    v[2]["open_orders"] = 0
    v[1]["open_orders"] = 2  # another venue's orders do not count against venue 2
    assert gate(v, limits(max_open_orders=2), pair) == (2, 0)


def test_a_quote_passes_while_any_other_venue_can_take_its_hedge() -> None:
    v = books((0.0, 0.0, 0.0))
    quote = [(0, BUY, 0.1, INTENT_QUOTE)]
    v[1]["status"] = VENUE_STALE
    assert gate(v, limits(), quote) == (1, 0)  # venue 2 can hedge it
    v[2]["blocked_until_ns"] = NOW + 1
    assert gate(v, limits(), quote) == (0, B_STATUS)  # no venue could


def test_same_answers_without_jit() -> None:
    rerun_without_jit(__file__)
