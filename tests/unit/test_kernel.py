"""The spread kernel on constructed books whose right answer is worked out here.

Every test runs the compiled kernel; ``test_same_answers_without_jit`` runs this whole module again
in a subprocess with ``NUMBA_DISABLE_JIT=1`` (the kernel as plain Python must decide the same).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from arb.strategy.rules import common_lot
from arb.strategy.types import (
    BUY,
    HEDGE_FAILED,
    INTENT_HEDGE,
    INTENT_OPEN,
    INTENT_UNWIND,
    MARKET_LINEAR,
    MARKET_SPOT,
    RULES_DTYPE,
    SELL,
    VENUE_OK,
    VENUE_OUT_OF_SYNC,
    VENUE_STALE,
    new_intents,
    new_state,
    new_view,
)
from tests.support.builtin_kernel import decide
from tests.support.captures import rerun_without_jit

NOW = 1_723_161_300_000_000_000


def params(**over: float | tuple[float, float]) -> np.ndarray:
    """The kernel's parameters: the values below, each replaced by ``over``'s where it names it (one
    number for both venues, or ``(venue 0, venue 1)``)."""
    p = np.zeros(1, RULES_DTYPE)
    values: dict[str, float | tuple[float, float]] = {
        "min_spread_bps": 5.0,
        "slippage_bps": 2.0,
        "max_order_size": 0.5,
        "max_position_size": 10.0,
        "position_limit": 10.0,
        "rebalance_threshold": 0.0,
        "book_levels": 5,
        "cooldown_ns": 0,
        "hedge_unwind": 0,
        "max_hedge_attempts": 3,
        "hedge_retry_ns": 1_000_000_000,
        "stop_loss_bps": 50.0,
        "taker_fee": (0.001, 0.001),
        "tick_size": (0.01, 0.1),
        "lot_size": (0.00001, 0.000001),
        "min_qty": (0.00001, 0.000001),
        "min_notional": (5.0, 5.0),
        "market": (MARKET_SPOT, MARKET_SPOT),
    }
    values.update(over)
    n = max(len(value) for value in values.values() if isinstance(value, tuple))  # the venues given
    for key, value in values.items():
        if RULES_DTYPE[key].shape and isinstance(value, tuple):
            p[key][0, : len(value)] = value
        else:
            p[key] = value
    if "pair_lot" not in over:  # as the configuration's parameters have it (arb.strategy.rules)
        p["pair_lot"] = common_lot(*p["lot_size"][0, :n])
    return p


def put_levels(v: np.ndarray, books: dict[tuple[int, str], list[tuple[float, float]]]) -> None:
    """Write each ``(venue, "bid" | "ask")``'s levels, best first, into the view ``v``."""
    for (venue, side), levels in books.items():
        for k, (px, qty) in enumerate(levels):
            v[venue][f"{side}_px"][k] = px
            v[venue][f"{side}_qty"][k] = qty


def view(
    asks0: list[tuple[float, float]],
    bids1: list[tuple[float, float]],
    *,
    bids0: list[tuple[float, float]] | None = None,
    asks1: list[tuple[float, float]] | None = None,
    base: tuple[float, float] = (10.0, 10.0),
    quote: tuple[float, float] = (1e7, 1e7),
) -> np.ndarray:
    v = new_view()
    books = {
        (0, "ask"): asks0,
        (1, "bid"): bids1,
        (0, "bid"): bids0 or [(59990.0, 1.0)],
        (1, "ask"): asks1 or [(60300.0, 1.0)],
    }
    put_levels(v, books)
    v["status"] = VENUE_OK
    v["base_balance"] = base
    v["quote_balance"] = quote
    return v


def run(v: np.ndarray, p: np.ndarray, state: np.ndarray | None = None, now: int = NOW) -> np.ndarray:
    st = new_state() if state is None else state
    out = new_intents()
    n = decide(v, p, st, now, out)
    return out[:n]


def on_grid(x: float, step: float) -> bool:
    return abs(x / step - round(x / step)) < 1e-6


def test_one_level_opportunity_buys_cheap_sells_rich() -> None:
    # 200 on 60000 is 33.3 bps; minus 20 bps of fees and 2 of slippage leaves 11.3 >= 5.
    got = run(view([(60000.0, 1.0)], [(60200.0, 1.0)]), params())
    assert len(got) == 2
    buy, sell = got[0], got[1]
    assert (buy["venue"], buy["side"], buy["qty"], buy["kind"]) == (0, BUY, 0.5, INTENT_OPEN)
    assert (sell["venue"], sell["side"], sell["qty"], sell["kind"]) == (1, SELL, 0.5, INTENT_OPEN)
    # limits: the level moved by the 2 bps tolerance, rounded inside the tolerance
    assert buy["price"] == pytest.approx(60012.00)  # floor(60000 * 1.0002, 0.01)
    assert sell["price"] == pytest.approx(60188.0)  # ceil(60200 * 0.9998 = 60187.96, 0.1)
    assert buy["pair_id"] == sell["pair_id"] == 1


def test_no_trade_below_the_threshold() -> None:
    # 160 on 60000 = 26.7 bps - 22 = 4.7 < 5
    assert len(run(view([(60000.0, 1.0)], [(60160.0, 1.0)]), params())) == 0
    # and exactly enough: 27 bps + a hair
    assert len(run(view([(60000.0, 1.0)], [(60162.1, 1.0)]), params())) == 2


def test_size_walks_several_levels_while_the_marginal_spread_pays() -> None:
    asks0 = [(60000.0, 0.1), (60010.0, 0.2), (60100.0, 5.0)]
    bids1 = [(60200.0, 0.15), (60150.0, 0.3), (60050.0, 1.0)]
    got = run(view(asks0, bids1), params())
    # step 1: 60000 x 60200 (11.3 bps net) takes 0.1; step 2: 60010 x 60200 (9.7) takes 0.05;
    # step 3: 60010 x 60150 is 1.3 bps net: stop. 0.15 in all.
    buys = [(r["level"], r["qty"]) for r in got if r["side"] == BUY]
    sells = [(r["level"], r["qty"]) for r in got if r["side"] == SELL]
    assert buys == [(0, pytest.approx(0.1)), (1, pytest.approx(0.05))]
    assert sells == [(0, pytest.approx(0.15))]
    # each child's limit stays within its own level (+ tolerance): none can take more than shown
    assert got[0]["price"] == pytest.approx(60012.0) and got[1]["price"] == pytest.approx(60022.0)


def test_reverse_direction_buys_on_bybit() -> None:
    v = view([(60400.0, 1.0)], [(59900.0, 1.0)], bids0=[(60300.0, 0.2)], asks1=[(60050.0, 0.3)])
    got = run(v, params())
    assert [(r["venue"], r["side"], r["qty"]) for r in got] == [(1, BUY, 0.2), (0, SELL, 0.2)]
    assert on_grid(got[0]["price"], 0.1) and on_grid(got[1]["price"], 0.01)


def test_spot_sell_is_capped_by_base_held_and_buy_by_quote_held() -> None:
    got = run(view([(60000.0, 1.0)], [(60200.0, 1.0)], base=(10.0, 0.03)), params())
    assert got[0]["qty"] == pytest.approx(0.03)
    got = run(view([(60000.0, 1.0)], [(60200.0, 1.0)], quote=(1000.0, 1e7)), params())
    # 1000 / (60000 x 1.0002 x 1.001) = 0.0166467... -> 0.01664 on the 1e-5 grid (the pair's lot)
    assert got[0]["qty"] == pytest.approx(0.01664)
    assert got[0]["qty"] * got[0]["price"] * 1.001 <= 1000.0


def test_linear_sell_venue_may_go_short() -> None:
    p = params()
    p["market"][0, :2] = (MARKET_SPOT, MARKET_LINEAR)
    got = run(view([(60000.0, 1.0)], [(60200.0, 1.0)], base=(10.0, 0.0)), p)
    assert got[1]["side"] == SELL and got[1]["qty"] == pytest.approx(0.5)
    # ... within its position band
    v = view([(60000.0, 1.0)], [(60200.0, 1.0)], base=(10.0, 0.0))
    v[1]["position"] = -9.8
    v[0]["position"] = 9.8
    p["rebalance_threshold"] = 0.0
    got = run(v, p)
    assert got[0]["qty"] == pytest.approx(0.2)


def test_levels_below_minimum_notional_or_qty_are_not_taken() -> None:
    # 0.00005 BTC x 60000 = 3 USDT < 5 USDT minimum notional
    assert len(run(view([(60000.0, 0.00005)], [(60200.0, 1.0)]), params())) == 0
    # a first level that is fine, then a dust level: the walk stops before the dust
    got = run(view([(60000.0, 0.01), (60001.0, 0.00002)], [(60200.0, 1.0)]), params())
    assert sum(r["qty"] for r in got if r["side"] == BUY) == pytest.approx(0.01)


@pytest.mark.parametrize("status", [VENUE_STALE, VENUE_OUT_OF_SYNC])
def test_no_new_risk_on_a_stale_or_unsynced_venue(status: int) -> None:
    for venue in (0, 1):
        v = view([(60000.0, 1.0)], [(60200.0, 1.0)])
        v[venue]["status"] = status
        assert len(run(v, params())) == 0


def test_waits_while_orders_are_unanswered() -> None:
    v = view([(60000.0, 1.0)], [(60200.0, 1.0)])
    v[1]["open_orders"] = 1
    assert len(run(v, params())) == 0


def test_empty_books_do_nothing() -> None:
    v = new_view()
    v["status"] = VENUE_OK
    v["base_balance"] = 1.0
    v["quote_balance"] = 1e6
    assert len(run(v, params())) == 0


def test_a_lone_leg_is_hedged_on_the_other_venue() -> None:
    v = view([(60000.0, 1.0)], [(60200.0, 1.0)])
    state = new_state()
    run(v, params(), state)  # pair 1: buy on 0, sell on 1
    v[0]["position"] = 0.5  # only the buy filled
    v[0]["base_balance"] += 0.5
    got = run(v, params(), state)
    assert len(got) == 1
    hedge = got[0]
    assert (hedge["venue"], hedge["side"], hedge["kind"], hedge["pair_id"]) == (1, SELL, INTENT_HEDGE, 1)
    assert hedge["qty"] == pytest.approx(0.5)
    # 2 bps x (1 + 0 attempts) below the best bid, on the 0.1 grid
    assert hedge["price"] == pytest.approx(math.ceil(60200 * (1 - 2e-4) / 0.1 - 1e-9) * 0.1)


def test_unwind_mode_reverses_the_leg_where_it_filled() -> None:
    v = view([(60000.0, 1.0)], [(60200.0, 1.0)])
    state = new_state()
    run(v, params(hedge_unwind=1), state)
    v[0]["position"] = 0.5
    got = run(v, params(hedge_unwind=1), state)
    assert (got[0]["venue"], got[0]["side"], got[0]["kind"]) == (0, SELL, INTENT_UNWIND)


def test_hedge_falls_back_to_the_other_venue_when_the_first_is_stale() -> None:
    v = view([(60000.0, 1.0)], [(60200.0, 1.0)])
    state = new_state()
    run(v, params(), state)
    v[0]["position"] = 0.5
    v[1]["status"] = VENUE_STALE
    got = run(v, params(), state)
    assert (got[0]["venue"], got[0]["side"], got[0]["kind"]) == (0, SELL, INTENT_UNWIND)
    v[0]["status"] = VENUE_OUT_OF_SYNC  # neither can take it: wait
    assert len(run(v, params(), state)) == 0


def test_a_hedge_goes_to_the_other_venue_while_the_executor_holds_orders_back_from_the_first() -> None:
    # The lone leg's other venue answered a rate limit (Binance -1008): the executor refuses orders there
    # until blocked_until_ns. The hedge must not be spent on it: the leg is unwound where it filled.
    v = view([(60000.0, 1.0)], [(60200.0, 1.0)])
    state = new_state()
    run(v, params(), state)  # pair 1: buy on 0, sell on 1
    v[1]["position"] = -0.5  # only the sell filled; venue 0 refused the buy with a rate limit
    v[0]["blocked_until_ns"] = NOW + 60_000_000_000
    got = run(v, params(), state)
    assert len(got) == 1
    assert (got[0]["venue"], got[0]["side"], got[0]["kind"]) == (1, BUY, INTENT_UNWIND)
    assert got[0]["qty"] == pytest.approx(0.5) and state[0]["hedge_attempts"] == 1
    v[1]["blocked_until_ns"] = NOW + 60_000_000_000  # both held back: wait, spend no attempt
    v[1]["book_local_ts"] = NOW + 1
    assert len(run(v, params(), state, NOW + 1)) == 0 and state[0]["hedge_attempts"] == 1
    v[0]["blocked_until_ns"] = NOW + 2  # the block on venue 0 ends: the hedge goes there
    got = run(v, params(), state, NOW + 2)
    assert (got[0]["venue"], got[0]["side"], got[0]["kind"]) == (0, BUY, INTENT_HEDGE)


def test_no_pair_opens_while_the_executor_holds_orders_back_from_a_venue() -> None:
    v = view([(60000.0, 1.0)], [(60200.0, 1.0)])
    v[0]["blocked_until_ns"] = NOW + 1
    assert len(run(v, params(), now=NOW)) == 0  # its leg would be refused unsent: a lone leg for sure
    assert len(run(v, params(), now=NOW + 1)) == 2  # the block has ended


def test_hedge_retries_widen_the_limit_and_flag_after_max_attempts() -> None:
    v = view([(60000.0, 1.0)], [(60200.0, 1.0)])
    state = new_state()
    p = params(max_hedge_attempts=2)
    run(v, p, state)
    v[0]["position"] = 0.5

    def fresh(now: int) -> np.ndarray:  # a decision on books updated at ``now``
        v["book_local_ts"] = now
        return run(v, p, state, now)

    a, b = (fresh(NOW + k)[0] for k in range(2))  # within the attempts: at each fresh book
    assert (a["venue"], b["venue"]) == (1, 1) and a["price"] > b["price"]  # 2, 4 bps under the bid
    assert not state[0]["flags"] & HEDGE_FAILED
    # past them: an alert, and attempts paced at hedge_retry_ns, alternating venues
    assert len(fresh(NOW + 2)) == 0
    assert state[0]["flags"] & HEDGE_FAILED
    second = NOW + 1 + 1_000_000_000
    c = fresh(second)[0]
    assert (c["venue"], c["kind"]) == (0, INTENT_UNWIND)  # the venue that has not refused yet
    assert len(fresh(second + 999_999_999)) == 0
    d = fresh(second + 1_000_000_000)[0]
    assert d["venue"] == 1 and d["price"] < b["price"]
    assert state[0]["hedges"] == 4
    v[0]["position"] = 0.0  # closed at last: still no new pair until a person clears the flag
    assert len(run(v, p, state, second + 5_000_000_000)) == 0
    state[0]["flags"] = 0
    assert len(run(v, p, state, second + 5_000_000_000)) == 2


def test_a_hedge_retry_waits_for_a_fresher_book_on_its_venue() -> None:
    # The first hedge expired (our own fill took the level this view still shows): deciding again on
    # the same book would spend the next attempt on it; a book update there lets the retry go.
    v = view([(60000.0, 1.0)], [(60200.0, 1.0)])
    v["book_local_ts"] = NOW - 5
    state = new_state()
    p = params(max_hedge_attempts=3)
    v[0]["position"] = 0.5
    assert len(run(v, p, state, NOW)) == 1  # the first attempt goes at once
    assert len(run(v, p, state, NOW + 1)) == 0  # the same book: wait
    assert len(run(v, p, state, NOW + 2)) == 0
    v[0]["book_local_ts"] = NOW + 3  # the other venue's book is not the one to trade on
    assert len(run(v, p, state, NOW + 3)) == 0
    assert state[0]["hedge_attempts"] == 1 and not state[0]["flags"] & HEDGE_FAILED
    v[1]["book_local_ts"] = NOW + 4
    retry = run(v, p, state, NOW + 4)
    assert len(retry) == 1 and retry[0]["venue"] == 1 and state[0]["hedge_attempts"] == 2


def test_a_hedge_retry_on_a_stale_venue_goes_to_the_other_at_once() -> None:
    v = view([(60000.0, 1.0)], [(60200.0, 1.0)])
    state = new_state()
    v[0]["position"] = 0.5
    assert run(v, params(), state)[0]["venue"] == 1
    v[1]["status"] = VENUE_STALE  # the venue of the last attempt went quiet: no fresher book will come
    got = run(v, params(), state, NOW + 1)
    assert len(got) == 1 and got[0]["venue"] == 0 and state[0]["hedge_attempts"] == 2


def test_a_hedge_never_goes_past_the_stop_loss() -> None:
    v = view([(60000.0, 1.0)], [(60200.0, 1.0)])
    state = new_state()
    p = params(slippage_bps=20.0, stop_loss_bps=30.0)
    v[0]["position"] = 0.5
    for attempts in (2, 5, 6):  # within the attempts, and past them on either venue
        state[0]["hedge_attempts"] = attempts
        state[0]["last_hedge_ns"] = 0
        got = run(v, p, state)
        bid = v[got[0]["venue"]]["bid_px"][0]
        assert got[0]["price"] >= bid * (1 - 30e-4) - 0.1


def test_dust_exposure_below_every_minimum_counts_as_flat() -> None:
    v = view([(60000.0, 1.0)], [(60200.0, 1.0)])
    v[0]["position"] = 0.00005  # 3 USDT: neither venue would take it
    got = run(v, params())
    assert len(got) == 2 and got[0]["kind"] == INTENT_OPEN


def test_rebalance_blocks_growing_and_relaxes_shrinking() -> None:
    p = params(rebalance_threshold=0.2)
    # I = pos0 - pos1 = 0.2: at the threshold. Direction 0 (buy on 0) would grow it: refused.
    v = view([(60000.0, 1.0)], [(60200.0, 1.0)])
    v[0]["position"], v[1]["position"] = 0.1, -0.1
    assert len(run(v, p)) == 0
    # Direction 1 (buy on 1, sell on 0) at only 2 bps net (< 5 minimum) is taken: it shrinks I.
    v = view([(60400.0, 1.0)], [(59000.0, 1.0)], bids0=[(60145.0, 1.0)], asks1=[(60000.0, 1.0)])
    v[0]["position"], v[1]["position"] = 0.1, -0.1
    got = run(v, p)
    assert [(r["venue"], r["side"]) for r in got] == [(1, BUY), (0, SELL)]
    # ... but not when balanced: then the minimum spread applies
    v[0]["position"], v[1]["position"] = 0.0, 0.0
    assert len(run(v, p)) == 0


def test_a_pair_stops_at_the_band_edge() -> None:
    # balanced, threshold 0.2: a pair changes I by 2q, so at most 0.1 now
    got = run(view([(60000.0, 1.0)], [(60200.0, 1.0)]), params(rebalance_threshold=0.2))
    assert got[0]["qty"] == pytest.approx(0.1)


def test_per_venue_position_band() -> None:
    v = view([(60000.0, 1.0)], [(60200.0, 1.0)])
    v[0]["position"], v[1]["position"] = 9.9, -9.9
    assert run(v, params())[0]["qty"] == pytest.approx(0.1)


def test_cooldown_between_pairs() -> None:
    v = view([(60000.0, 1.0)], [(60200.0, 1.0)])
    state = new_state()
    p = params(cooldown_ns=1_000_000_000)
    assert len(run(v, p, state, NOW)) == 2
    assert len(run(v, p, state, NOW + 999_999_999)) == 0
    got = run(v, p, state, NOW + 1_000_000_000)
    assert len(got) == 2 and got[0]["pair_id"] == 2


def test_prices_and_quantities_on_each_venues_grid() -> None:
    asks0 = [(60000.01, 0.123456), (60000.02, 0.2)]
    bids1 = [(60300.1, 0.0777777)]
    got = run(view(asks0, bids1), params())
    for r in got:
        tick = 0.01 if r["venue"] == 0 else 0.1
        assert on_grid(r["price"], tick)
        assert on_grid(r["qty"], 0.00001)  # a lot both take (the coarser one divides by the finer)
    assert sum(r["qty"] for r in got if r["side"] == BUY) == pytest.approx(
        sum(r["qty"] for r in got if r["side"] == SELL)
    )


def test_the_pair_lot_is_the_exact_least_common_multiple_of_the_decimal_lots() -> None:
    assert common_lot(0.001, 0.0015) == 0.003  # max() would say 0.0015, not a multiple of 0.001
    assert common_lot(0.00001, 0.000001) == 0.00001  # the shipped BTCUSDT lots: the coarser one
    assert common_lot(0.1, 0.25) == 0.5 and common_lot(0.0007, 0.0011) == 0.0077  # no float residue
    with pytest.raises(ValueError, match="positive lots"):
        common_lot(0.001, 0.0)


def test_lots_that_do_not_divide_each_other_size_on_their_least_common_multiple() -> None:
    # Lots 0.001 and 0.0015: the coarser one, 0.0015, is not a multiple of 0.001 (0.0015 / 0.001 = 1.5),
    # so a pair sized on it would be rounded by the first venue and leave a lone leg. Their least common
    # multiple is 0.003: 0.0077 on both books makes a pair of 0.006 on each venue.
    p = params(lot_size=(0.001, 0.0015), min_qty=(0.001, 0.0015))
    assert p[0]["pair_lot"] == pytest.approx(0.003)
    got = run(view([(60000.0, 0.0077)], [(60200.0, 0.0077)]), p)
    assert [(r["venue"], r["side"]) for r in got] == [(0, BUY), (1, SELL)]
    for r in got:
        assert r["qty"] == pytest.approx(0.006)
        assert on_grid(r["qty"], 0.001) and on_grid(r["qty"], 0.0015)


def test_same_answers_without_jit() -> None:
    rerun_without_jit(__file__)
