"""The guard holds every strategy to each venue's minimum order value (``rules.min_notional``: price x
quantity at the price the order is sent at) as it does to the minimum quantity: a pair with a leg under
it is dropped whole, a quote under it too, each leg counted in ``state.refused`` and nothing sent, whatever
the strategy (``arb/strategy/guard.py``, rule 6; the built-in taker reads the same minimums and never sizes under
them). On a spot venue a
leg past the balance the view shows (quote to buy, fees included; base to sell) is refused the same way."""

from __future__ import annotations

from typing import Any

import msgspec
import numba
import numpy as np

from arb.strategies.taker import TAKER, TakerParams
from arb.strategy import BUY, INTENT_OPEN, INTENT_QUOTE, SELL, Bench, Strategy, rules_for, view

NOW = 1_000_000_000_000


class Legs(msgspec.Struct, frozen=True):
    qty: float = 0.001  # each leg (or the quote), base units
    quote: bool = False  # one quote (a buy on venue 0) instead of a pair


@numba.njit(cache=True)
def legs(view: Any, rules: Any, params: Any, memory: Any, now_ns: int, intents: Any) -> int:
    # A pair at the touch, buy venue 0 and sell venue 1, or one resting buy on venue 0, of params.qty.
    qty = params[0]["qty"]
    if params[0]["quote"]:
        intents[0]["venue"], intents[0]["side"], intents[0]["kind"] = 0, BUY, INTENT_QUOTE
        intents[0]["price"], intents[0]["qty"] = view[0]["bid_px"][0], qty
        return 1
    intents[0]["venue"], intents[0]["side"], intents[0]["price"] = 0, BUY, view[0]["ask_px"][0]
    intents[1]["venue"], intents[1]["side"], intents[1]["price"] = 1, SELL, view[1]["bid_px"][0]
    for k in range(2):
        intents[k]["qty"] = qty
        intents[k]["kind"] = INTENT_OPEN
    return 2


LEGS = Strategy(name="legs", decide=legs, params=Legs, quotes=True, summary="a pair or a quote of a set size")
BOOKS = view(bid=[[(59_995.0, 1.0)], [(60_600.0, 1.0)]], ask=[[(60_000.0, 1.0)], [(60_605.0, 1.0)]])


def _bench(qty: float, min_notional: list[float], quote: bool = False) -> Bench:
    rules = rules_for(2, lot_size=0.00001, pair_lot=0.00001, min_notional=min_notional)
    return Bench(LEGS, rules=rules, params=Legs(qty=qty, quote=quote))


def test_a_pair_with_a_leg_under_a_venues_minimum_value_is_dropped_whole_and_counted() -> None:
    # 0.0001 x 60,600 = 6.06 on venue 1, whose minimum is 10: its leg is refused, and venue 0's with it
    bench = _bench(0.0001, [5.0, 10.0])
    assert len(bench.raw(BOOKS, NOW)) == 2  # the strategy did write the pair
    assert len(bench.decide(BOOKS, NOW)) == 0
    assert int(bench.state[0]["refused"]) == 2 and int(bench.state[0]["pairs"]) == 0


def test_a_pair_at_or_over_each_venues_minimum_value_passes() -> None:
    bench = _bench(0.0002, [10.0, 10.0])  # 12.0 and 12.12
    got = bench.decide(BOOKS, NOW)
    assert [(int(i["venue"]), int(i["side"])) for i in got] == [(0, BUY), (1, SELL)]
    assert int(bench.state[0]["refused"]) == 0 and int(bench.state[0]["pairs"]) == 1


def test_a_quote_under_the_minimum_value_is_refused_and_counted() -> None:
    bench = _bench(0.0001, [10.0, 0.0], quote=True)  # 0.0001 x 59,995 = 6.0 on venue 0
    assert len(bench.decide(BOOKS, NOW)) == 0
    assert int(bench.state[0]["refused"]) == 1 and int(bench.state[0]["quotes"]) == 0
    bench = _bench(0.0002, [10.0, 0.0], quote=True)  # 12.0
    assert [int(i["kind"]) for i in bench.decide(BOOKS, NOW)] == [INTENT_QUOTE]


def _taker(minimum: float) -> Bench:
    # The taker on a 100 bps spread, its size capped at 0.0001 (6 USDT a leg: its own parameter), the venues'
    # minimum value ``minimum`` (arb's rules, which the guard and the taker both read).
    rules = rules_for(2, lot_size=0.00001, pair_lot=0.00001, min_notional=minimum)
    return Bench(TAKER, rules=rules, params=TakerParams(max_order_size=0.0001))


def test_the_built_in_taker_reads_the_minimum_value_from_the_rules_the_guard_holds_it_to() -> None:
    assert len(_taker(0.0).decide(BOOKS, NOW)) == 2  # no minimum: the pair of 0.0001 goes
    bench = _taker(10.0)  # the venues' minimum 10: the taker sizes nothing under it, so nothing is refused
    assert len(bench.decide(BOOKS, NOW)) == 0
    assert int(bench.state[0]["refused"]) == 0 and int(bench.state[0]["pairs"]) == 0


def test_the_price_the_leg_is_sent_at_is_the_one_checked() -> None:
    # a sell's price goes up onto the tick grid and a buy's down before the check: 0.0001 x 99,999.995
    # is under 10 but the sell is sent at 100,000.00, exactly 10
    rules = rules_for(2, lot_size=0.00001, pair_lot=0.00001, min_notional=[0.0, 10.0])
    at = view(bid=[[(59_995.0, 1.0)], [(99_999.995, 1.0)]], ask=[[(60_000.0, 1.0)], [(100_000.5, 1.0)]])
    bench = Bench(LEGS, rules=rules, params=Legs(qty=0.0001))
    got = bench.decide(at, NOW)
    assert [float(i["price"]) for i in got] == [60_000.0, 100_000.0]
    assert int(bench.state[0]["refused"]) == 0
    assert np.isclose(float(got[1]["price"]) * float(got[1]["qty"]), 10.0)


# -- spot balances: a leg past what the view shows is refused the same way ---------------------------------


def _spot(**balances: list[float]) -> tuple[Bench, np.ndarray]:
    rules = rules_for(2, lot_size=0.00001, pair_lot=0.00001, taker_fee=0.001)
    at = view(bid=[[(59_995.0, 1.0)], [(60_600.0, 1.0)]], ask=[[(60_000.0, 1.0)], [(60_605.0, 1.0)]], **balances)
    return Bench(LEGS, rules=rules, params=Legs(qty=0.001)), at


def test_a_spot_buy_past_the_quote_balance_drops_the_pair() -> None:
    # the buy of 0.001 at 60,000 spends 60.06 with the taker fee
    bench, at = _spot(quote_balance=[60.0, 1e6])
    assert len(bench.decide(at, NOW)) == 0
    assert int(bench.state[0]["refused"]) == 2 and int(bench.state[0]["pairs"]) == 0
    bench, at = _spot(quote_balance=[60.1, 1e6])
    assert len(bench.decide(at, NOW)) == 2


def test_a_spot_sell_past_the_base_balance_drops_the_pair() -> None:
    bench, at = _spot(base_balance=[10.0, 0.0009])
    assert len(bench.decide(at, NOW)) == 0
    assert int(bench.state[0]["refused"]) == 2
    bench, at = _spot(base_balance=[10.0, 0.001])
    assert len(bench.decide(at, NOW)) == 2


def test_a_linear_venue_has_no_balance_to_check() -> None:
    rules = rules_for(2, lot_size=0.00001, pair_lot=0.00001)
    at = view(bid=[[(59_995.0, 1.0)], [(60_600.0, 1.0)]], ask=[[(60_000.0, 1.0)], [(60_605.0, 1.0)]],
              base_balance=[0.0, 0.0], quote_balance=[0.0, 0.0])  # fmt: skip
    bench = Bench(LEGS, rules=rules, params=Legs(qty=0.001), linear=True)
    assert len(bench.decide(at, NOW)) == 2


def test_a_spot_quote_past_the_balance_is_refused() -> None:
    rules = rules_for(2, lot_size=0.00001, pair_lot=0.00001, maker_fee=0.0002)
    at = view(bid=[[(59_995.0, 1.0)], [(60_600.0, 1.0)]], ask=[[(60_000.0, 1.0)], [(60_605.0, 1.0)]],
              quote_balance=[59.0, 1e6])  # fmt: skip
    bench = Bench(LEGS, rules=rules, params=Legs(qty=0.001, quote=True))  # 59.995 x 1.0002 on venue 0
    assert len(bench.decide(at, NOW)) == 0
    assert int(bench.state[0]["refused"]) == 1
