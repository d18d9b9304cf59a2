"""The kernel's ``maker_taker`` style on constructed books whose right answer is worked out here.

Every test runs the compiled kernel through the per-decision step's choice of style;
``test_same_answers_without_jit`` runs this module again with ``NUMBA_DISABLE_JIT=1``.
"""

from __future__ import annotations

import numpy as np
import pytest

from arb.strategies.maker_taker import hedge_price, quote_target
from arb.strategy.types import (
    BUY,
    HEDGE_FAILED,
    INTENT_CANCEL,
    INTENT_HEDGE,
    INTENT_QUOTE,
    INTENT_UNWIND,
    MARKET_LINEAR,
    MARKET_SPOT,
    QUOTE_CANCELING,
    QUOTE_HELD,
    QUOTE_LIVE,
    QUOTE_PENDING,
    SELL,
    STYLE_MAKER_TAKER,
    VENUE_OK,
    VENUE_STALE,
    new_intents,
    new_state,
    new_view,
)
from tests.support.builtin_kernel import decide_maker, may_act
from tests.support.captures import rerun_without_jit
from tests.unit.test_kernel import params as kernel_params
from tests.unit.test_kernel import put_levels

NOW = 1_723_161_300_000_000_000
MS = 1_000_000
HOLD = 250 * MS  # [strategy] quote_hold_ms, not its default: the rule reads the hold from the params
# Venue 0 (the maker) quotes from venue 1's book: a 0.01 quote's hedge sells into 60000 x 0.005 then
# 59990, or buys 60010. Costs: 5 bps required + 2 bps maker (venue 0) + 5.5 bps taker (venue 1) + 2 bps
# slippage = 14.5 bps.
BUY_AT = 59903.14  # floor(59990 / 1.00145, 0.01)
SELL_AT = 60097.02  # ceil(60010 * 1.00145, 0.01)


MAKER: dict[str, float | tuple[float, float]] = {
    "style": STYLE_MAKER_TAKER,
    "maker_venues": 1,
    "quote_size": 0.01,
    "quote_tolerance_bps": 1.0,
    "min_quote_life_ns": 100 * MS,
    "quote_hold_ns": HOLD,
    "taker_fee": (0.0005, 0.00055),
    "maker_fee": (0.0002, 0.0002),
    "lot_size": (0.001, 0.001),
    "min_qty": (0.001, 0.001),
    "market": (MARKET_LINEAR, MARKET_LINEAR),
}
"""The maker-taker settings over test_kernel's parameters (5 bps, 2 bps of slippage, 3 hedge attempts),
on two linear venues."""


def params(**over: float | tuple[float, float]) -> np.ndarray:
    return kernel_params(**{**MAKER, **over})


def view(
    *,
    bids0: list[tuple[float, float]] | None = None,
    asks0: list[tuple[float, float]] | None = None,
    bids1: list[tuple[float, float]] | None = None,
    asks1: list[tuple[float, float]] | None = None,
    position: tuple[float, float] = (0.0, 0.0),
) -> np.ndarray:
    v = new_view()
    books = {
        (0, "bid"): bids0 or [(59890.0, 1.0)],
        (0, "ask"): asks0 or [(59910.0, 1.0)],
        (1, "bid"): bids1 or [(60000.0, 0.005), (59990.0, 0.02)],
        (1, "ask"): asks1 or [(60010.0, 0.02)],
    }
    put_levels(v, books)
    v["status"] = VENUE_OK
    v["position"] = position
    v["quote_balance"] = 1e7
    return v


def rest(v: np.ndarray, venue: int, side: int, price: float, qty: float, *, state: int = QUOTE_LIVE,
         sent: int = NOW - 1_000 * MS) -> None:  # fmt: skip
    i = 0 if side == BUY else 1
    v[venue]["quote_state"][i] = state
    v[venue]["quote_px"][i] = price
    v[venue]["quote_qty"][i] = qty
    v[venue]["quote_ns"][i] = sent


def run(v: np.ndarray, p: np.ndarray, state: np.ndarray | None = None, now: int = NOW) -> np.ndarray:
    st = new_state() if state is None else state
    out = new_intents()
    n = decide_maker(v, p, st, now, out)
    return out[:n]


def rows(got: np.ndarray) -> list[tuple[int, int, int, float, float]]:
    return [(int(r["kind"]), int(r["venue"]), int(r["side"]), float(r["price"]), float(r["qty"])) for r in got]


def test_quotes_are_priced_from_the_hedge_venues_book() -> None:
    st = new_state()
    got = run(view(), params(), st)
    assert rows(got) == [
        (INTENT_QUOTE, 0, BUY, pytest.approx(BUY_AT), pytest.approx(0.01)),
        (INTENT_QUOTE, 0, SELL, pytest.approx(SELL_AT), pytest.approx(0.01)),
    ]
    assert list(got["pair_id"]) == [1, 2]
    assert st[0]["quote_pair"][0].tolist() == [1, 2]
    assert (st[0]["next_pair_id"], st[0]["quotes"]) == (3, 2)


def test_a_fill_at_the_quote_clears_the_spread_after_both_fees() -> None:
    p = params()
    got = run(view(), p)
    buy = got[0]
    # bought at the quote (maker fee), sold at the hedge's worst level (taker fee), less the tolerance
    edge_bps = (59990.0 - buy["price"]) / buy["price"] * 1e4 - (0.0002 + 0.00055) * 1e4 - 2.0
    assert 5.0 <= edge_bps < 5.0 + 0.01 / buy["price"] * 1e4 + 1e-6  # as close as the tick allows


def test_a_maker_rebate_moves_the_quote_nearer() -> None:
    p = params()
    p["maker_fee"][0, :2] = (-0.00005, 0.0002)
    got = run(view(asks0=[(59950.0, 1.0)]), p)
    assert got[0]["price"] == pytest.approx(np.floor(59990.0 / 1.0012 / 0.01 + 1e-9) * 0.01)
    assert got[0]["price"] > BUY_AT


def test_a_quote_that_would_cross_is_held_a_tick_behind_the_touch() -> None:
    got = run(view(asks0=[(59900.0, 1.0)], bids0=[(59800.0, 1.0)]), params())
    assert rows(got)[0] == (INTENT_QUOTE, 0, BUY, pytest.approx(59899.99), pytest.approx(0.01))
    got = run(view(bids0=[(60100.0, 1.0)], asks0=[(60200.0, 1.0)]), params())
    assert rows(got)[1] == (INTENT_QUOTE, 0, SELL, pytest.approx(60100.01), pytest.approx(0.01))


def test_size_is_cut_to_what_the_hedge_venue_shows_and_to_the_band() -> None:
    p = params()[0]  # the rules record carries the maker-taker's parameters too
    assert quote_target(view(bids1=[(60000.0, 0.004)]), p, p, 0, BUY, NOW)[1] == pytest.approx(0.004)
    # 0.004 is 240 USDT: above the minimums; 0.00004 would not be
    assert quote_target(view(bids1=[(60000.0, 0.0004)]), p, p, 0, BUY, NOW)[1] == 0.0
    # the position band: venue 0 may hold +10, it holds 9.995 (venue 1 is short, the net flat)
    qty = quote_target(view(position=(9.995, -9.995)), p, p, 0, BUY, NOW)[1]
    assert qty == pytest.approx(0.005)
    assert hedge_price(view(), params()[0], 1, SELL, 0.01) == (59990.0, pytest.approx(0.01))
    assert hedge_price(view(), params()[0], 1, SELL, 0.004) == (60000.0, pytest.approx(0.004))


def test_a_quote_is_sized_on_a_multiple_of_both_venues_lots() -> None:
    # Lots 0.001 (the maker) and 0.0015 (the hedge): on the coarser lot alone a 0.0075 quote stays
    # 0.0075, which the maker venue rounds to 0.007 or refuses. On their least common multiple, 0.003, it
    # is 0.006 on both: the quote and its hedge are one quantity.
    p = params(lot_size=(0.001, 0.0015), min_qty=(0.001, 0.0015), quote_size=0.0075)
    got = run(view(bids1=[(60000.0, 0.02)], asks1=[(60010.0, 0.02)]), p)
    assert [(r["kind"], r["venue"]) for r in got] == [(INTENT_QUOTE, 0), (INTENT_QUOTE, 0)]
    for r in got:
        assert r["qty"] == pytest.approx(0.006)
        for lot in (0.001, 0.0015):
            assert abs(r["qty"] / lot - round(r["qty"] / lot)) < 1e-6


def test_spot_balances_cap_the_quote_and_its_hedge() -> None:
    p = params()
    p["market"][0, :2] = (MARKET_SPOT, MARKET_SPOT)
    v = view()
    v["base_balance"] = (1.0, 0.003)  # venue 1 can sell (hedge a buy quote) 0.003 only
    assert quote_target(v, p[0], p[0], 0, BUY, NOW)[1] == pytest.approx(0.003)
    v["base_balance"] = (0.002, 1.0)  # venue 0 can sell 0.002 (its sell quote)
    assert quote_target(v, p[0], p[0], 0, SELL, NOW)[1] == pytest.approx(0.002)


def test_a_live_quote_within_the_tolerance_stays() -> None:
    v = view()
    rest(v, 0, BUY, BUY_AT + 5.0, 0.01)  # 0.83 bps from its target
    rest(v, 0, SELL, SELL_AT, 0.01)
    assert len(run(v, params())) == 0


def test_a_quote_is_repriced_past_the_tolerance_once_old_enough() -> None:
    v = view(asks0=[(59950.0, 1.0)])
    rest(v, 0, BUY, BUY_AT + 7.0, 0.01, sent=NOW - 50 * MS)  # 1.17 bps away, 50 ms old
    rest(v, 0, SELL, SELL_AT, 0.01)
    assert len(run(v, params())) == 0  # too young to re-price
    st = new_state()
    st[0]["quote_pair"][0] = (7, 8)
    got = run(v, params(), st, now=NOW + 50 * MS)
    assert rows(got) == [(INTENT_CANCEL, 0, BUY, pytest.approx(BUY_AT + 7.0), pytest.approx(0.01))]
    assert got[0]["pair_id"] == 7 and st[0]["cancels"] == 1


def test_a_quote_that_would_cross_or_lost_its_venue_is_cancelled_at_once() -> None:
    v = view(asks0=[(59903.0, 1.0)], bids0=[(59800.0, 1.0)])
    rest(v, 0, BUY, 59903.14, 0.01, sent=NOW)  # the ask came down through it
    rest(v, 0, SELL, SELL_AT, 0.01, sent=NOW)
    assert rows(run(v, params()))[0][:3] == (INTENT_CANCEL, 0, BUY)
    v = view()
    rest(v, 0, BUY, BUY_AT, 0.01, sent=NOW)
    rest(v, 0, SELL, SELL_AT, 0.01, sent=NOW)
    v[1]["status"] = VENUE_STALE  # nowhere to hedge
    assert [r[:3] for r in rows(run(v, params()))] == [(INTENT_CANCEL, 0, BUY), (INTENT_CANCEL, 0, SELL)]
    v[1]["status"] = VENUE_OK
    v[1]["blocked_until_ns"] = NOW + 1  # the executor holds orders back from the hedge venue
    assert len(run(v, params())) == 2


def test_a_slot_waiting_for_an_answer_holds_only_itself() -> None:
    v = view()
    rest(v, 0, BUY, BUY_AT - 50.0, 0.01, state=QUOTE_PENDING)
    got = run(v, params())
    assert rows(got) == [(INTENT_QUOTE, 0, SELL, pytest.approx(SELL_AT), pytest.approx(0.01))]
    v[0]["quote_state"][0] = QUOTE_CANCELING
    assert len(run(v, params())) == 1


def test_a_refused_quote_holds_its_side_until_the_view_shows_why_or_the_hold_passes() -> None:
    # The buy quote at BUY_AT was refused (post-only: it would have taken, the venue's ask had fallen to it
    # or below) 5 ms ago. The view still shows the ask at 59910: the kernel sends the sell quote alone,
    # not the same crossing buy again, even on a book that changed since (a frame older than the refusal).
    refused = NOW - 5 * MS
    v = view()
    rest(v, 0, BUY, BUY_AT, 0.0, state=QUOTE_HELD, sent=refused)
    v[0]["book_local_ts"] = NOW
    assert rows(run(v, params())) == [(INTENT_QUOTE, 0, SELL, pytest.approx(SELL_AT), pytest.approx(0.01))]
    # the view shows the ask at the refused price: it caught up; the buy goes a tick behind that ask
    put_levels(v, {(0, "ask"): [(BUY_AT, 1.0)], (0, "bid"): [(BUY_AT - 1.0, 1.0)]})
    got = rows(run(v, params()))
    assert [r[:3] for r in got] == [(INTENT_QUOTE, 0, BUY), (INTENT_QUOTE, 0, SELL)]
    assert got[0][3] == pytest.approx(BUY_AT - 0.01)
    # or, the view never showing why, once the hold has passed since the refusal
    v = view()
    rest(v, 0, BUY, BUY_AT, 0.0, state=QUOTE_HELD, sent=refused)
    assert [r[2] for r in rows(run(v, params(), now=refused + HOLD - 1))] == [SELL]
    assert [r[2] for r in rows(run(v, params(), now=refused + HOLD))] == [BUY, SELL]
    # a refused sell quote waits for a bid at or above its price
    v = view()
    rest(v, 0, SELL, SELL_AT, 0.0, state=QUOTE_HELD, sent=refused)
    assert [r[2] for r in rows(run(v, params()))] == [BUY]
    put_levels(v, {(0, "bid"): [(SELL_AT, 1.0)], (0, "ask"): [(SELL_AT + 1.0, 1.0)]})
    assert [r[2] for r in rows(run(v, params()))] == [BUY, SELL]


def test_a_held_slot_never_lets_a_side_be_quoted_twice() -> None:
    # Both venues make. Venue 1's buy was refused and its hold is over; venue 0 quoted the buy side since
    # (pending): venue 0 owns the side, and no second buy goes out. While venue 1's hold lasts, venue 0's
    # live buy is still managed (cancelled once it would cross).
    p = params(maker_venues=3)
    v = view()
    rest(v, 1, BUY, 60500.0, 0.0, state=QUOTE_HELD, sent=NOW - HOLD)
    rest(v, 0, BUY, BUY_AT, 0.01, state=QUOTE_PENDING)
    assert [r[2] for r in rows(run(v, p))] == [SELL]
    v[1]["quote_ns"][0] = NOW - MS  # held still: its refused price is below venue 1's ask 60010
    v[1]["quote_px"][0] = 59000.0
    rest(v, 0, BUY, 59910.0, 0.01)  # live, at venue 0's ask: it would cross
    assert (INTENT_CANCEL, 0, BUY) in [r[:3] for r in rows(run(v, p))]


def test_a_maker_fill_is_hedged_at_once_on_the_other_venue() -> None:
    st = new_state()
    run(view(), params(), st)  # quotes sent: pair 1 the buy on venue 0
    v = view(position=(0.006, 0.0))
    rest(v, 0, BUY, BUY_AT, 0.004)
    rest(v, 0, SELL, SELL_AT, 0.01)
    got = run(v, params(), st)
    # the 0.006 bought is sold on venue 1 at its bid less the slippage tolerance, with the quote's pair id
    assert rows(got) == [(INTENT_HEDGE, 1, SELL, pytest.approx(59988.0), pytest.approx(0.006))]
    assert got[0]["pair_id"] == 1
    # unwind mode sells it where it was bought
    st = new_state()
    run(view(), params(), st)
    got = run(v, params(hedge_unwind=1), st)
    assert rows(got)[0][:4] == (INTENT_UNWIND, 0, SELL, pytest.approx(59878.03))  # ceil(59890 x 0.9998, 0.01)


def test_after_a_failed_hedge_every_quote_is_cancelled() -> None:
    st = new_state()
    run(view(), params(), st)
    v = view(position=(0.006, 0.0))
    rest(v, 0, BUY, BUY_AT, 0.004)
    rest(v, 0, SELL, SELL_AT, 0.01)
    run(v, params(), st)  # the first hedge
    v[1]["book_local_ts"] = 5  # a fresher book than the first attempt's
    got = run(v, params(), st, now=NOW + 10 * MS)  # still long: the hedge did not fill
    assert [r[:3] for r in rows(got)] == [(INTENT_CANCEL, 0, BUY), (INTENT_CANCEL, 0, SELL), (INTENT_HEDGE, 1, SELL)]
    assert got[2]["price"] == pytest.approx(59976.0)  # 2 x 2 bps of slippage now: ceil(60000 x 0.9996, 0.1)


def test_an_unanswered_hedge_holds_everything_back() -> None:
    v = view()
    v[1]["open_orders"] = 1
    assert len(run(v, params())) == 0


def test_hedge_failed_cancels_and_sends_no_quote() -> None:
    st = new_state()
    st[0]["flags"] = HEDGE_FAILED
    v = view()
    rest(v, 0, SELL, SELL_AT, 0.01)
    assert rows(run(v, params(), st)) == [(INTENT_CANCEL, 0, SELL, pytest.approx(SELL_AT), pytest.approx(0.01))]


def test_both_venues_quote_but_never_the_same_side_at_once() -> None:
    # Each side goes to the venue whose target sits nearer its own touch. Buy: venue 0's 59903.14 is 2.2
    # bps from its bid 59890; venue 1's, hedged into venue 0's bid (59890 / 1.0014 = 59806.2), 32 bps
    # from its bid 60000. Sell: venue 0's 60097.02 is 31 bps from its ask 59910; venue 1's, hedged on
    # venue 0's ask (59910 x 1.0014 = 59993.9), is held a tick above its bid 60000 (post-only): 60000.1,
    # 1.65 bps from its ask 60010.
    p = params(maker_venues=3)
    got = run(view(), p)
    assert rows(got) == [
        (INTENT_QUOTE, 0, BUY, pytest.approx(BUY_AT), pytest.approx(0.01)),
        (INTENT_QUOTE, 1, SELL, pytest.approx(60000.1), pytest.approx(0.01)),
    ]
    # while venue 0 holds the buy side, venue 1 sends no buy quote even if it became the nearer one
    v = view(bids1=[(60000.0, 0.005), (59990.0, 0.02)], asks0=[(59910.0, 1.0)])
    rest(v, 0, BUY, BUY_AT, 0.01)
    rest(v, 0, SELL, SELL_AT, 0.01)
    assert len(run(v, p)) == 0
    # venue 1 alone may make: it quotes from venue 0's book
    got = run(view(), params(maker_venues=2))
    assert [(r[0], r[1], r[2]) for r in rows(got)] == [(INTENT_QUOTE, 1, BUY), (INTENT_QUOTE, 1, SELL)]
    # buy on 1, hedge by selling 0.01 into venue 0's bid 59890: costs 5 + 2 (maker 1) + 5 (taker 0) + 2 bps
    assert got[0]["price"] == pytest.approx(np.floor(59890.0 / 1.0014 / 0.1 + 1e-9) * 0.1)


def test_may_act_is_always_true_for_quotes() -> None:
    assert may_act(view(), params(), NOW)


def test_same_answers_without_jit() -> None:
    rerun_without_jit(__file__)
