"""The kernel's funding term on constructed perpetual books whose answer is worked out here.

Both venues are linear; fees 10 bps a leg and a 2 bps slippage tolerance, so a pair must clear 22 bps
of raw spread plus ``min_spread_bps`` (5). The term is off unless a test sets it (the shipped
sample's intents with it off are checked in tests/replay/test_funding_term.py).
"""

from __future__ import annotations

import numpy as np
import pytest

from arb.strategy.types import BUY, MARKET_LINEAR, MARKET_SPOT, SELL
from tests.support.builtin_kernel import may_act
from tests.unit.test_kernel import NOW, params, run, view

HOUR = 3_600_000_000_000
SECOND = 1_000_000_000


def perp_params(**over: float) -> np.ndarray:
    p = params(**over)
    p["market"][0, :2] = (MARKET_LINEAR, MARKET_LINEAR)
    p["funding_interval_ns"][0, :2] = (8 * HOUR, 8 * HOUR)
    return p


def funded(v: np.ndarray, rates: tuple[float, float], next_in: tuple[int, int]) -> np.ndarray:
    v["funding_rate"] = rates
    v["next_funding_ns"] = (NOW + next_in[0], NOW + next_in[1])
    return v


def wide() -> np.ndarray:
    # buy Binance at 60000, sell Bybit at 60200: 33.3 bps, 11.3 net of costs, 6.3 over min_spread_bps
    return view([(60000.0, 1.0)], [(60200.0, 1.0)])


def narrow() -> np.ndarray:
    # 60000 / 60150: 25 bps, 3 net of costs: short of min_spread_bps by 2
    return view([(60000.0, 1.0)], [(60150.0, 1.0)])


def test_off_by_default_the_rates_change_nothing() -> None:
    v = funded(wide(), (0.01, -0.01), (HOUR, HOUR))  # ruinous funding, but nobody asked
    assert len(run(v, perp_params())) == 2
    assert len(run(funded(narrow(), (-0.01, 0.01), (HOUR, HOUR)), perp_params())) == 0


def test_a_pair_whose_legs_would_pay_more_than_its_edge_is_not_opened() -> None:
    # long Binance pays 5 bps at its funding in 1 h; short Bybit at -2 bps pays 2: 7 bps > 6.3 over
    v = funded(wide(), (0.0005, -0.0002), (HOUR, HOUR))
    assert len(run(v, perp_params(funding_horizon_ns=8 * HOUR))) == 0
    # the same rates with the funding beyond the horizon: the pair goes out
    assert len(run(v, perp_params(funding_horizon_ns=HOUR // 2))) == 2


def test_may_act_never_skips_a_pair_the_funding_term_allows() -> None:
    # 2 bps raw: 20 net of costs below zero; earning 25 bps of funding makes it a pair (min_spread 0)
    v = funded(view([(60000.0, 1.0)], [(60012.0, 1.0)]), (-0.002, 0.0005), (HOUR, HOUR))
    p = perp_params(funding_horizon_ns=8 * HOUR, min_spread_bps=0.0)
    assert len(run(v, p)) == 2 and may_act(v, p, NOW)
    assert not may_act(v, perp_params(min_spread_bps=0.0), NOW)  # without the term: nothing to do


def test_a_pair_whose_legs_earn_funding_needs_less_spread() -> None:
    # 3 bps net is short of 5; the long earns 5 bps and the short 2 at the coming funding: -7 bps
    v = funded(narrow(), (-0.0005, 0.0002), (HOUR, HOUR))
    p = perp_params(funding_horizon_ns=8 * HOUR)
    got = run(v, p)
    assert [(r["venue"], r["side"]) for r in got] == [(0, BUY), (1, SELL)]
    assert may_act(v, p, NOW)  # the driver's shortcut must not skip what the kernel would do


@pytest.mark.parametrize(("horizon_h", "fundings", "trades"), [(8, 1, True), (17, 3, True), (25, 4, False)])
def test_every_funding_time_in_the_horizon_counts(horizon_h: int, fundings: int, trades: bool) -> None:
    # the long pays 2 bps at 1 h, 9 h, 17 h, 25 h ...: 11.3 net clears 5 + 2 x fundings up to 3 of them
    v = funded(wide(), (0.0002, 0.0), (HOUR, HOUR))
    assert 5 + 2 * fundings <= 11.3 if trades else 5 + 2 * fundings > 11.3
    assert (len(run(v, perp_params(funding_horizon_ns=horizon_h * HOUR))) == 2) is trades


def test_a_funding_time_passed_without_news_rolls_on_by_the_interval() -> None:
    # the venue's next funding time is an hour old: the next one is 7 h away, inside an 8 h horizon
    v = funded(wide(), (0.0007, 0.0), (-HOUR, -HOUR))
    assert len(run(v, perp_params(funding_horizon_ns=8 * HOUR))) == 0
    assert len(run(v, perp_params(funding_horizon_ns=6 * HOUR))) == 2


def test_each_venue_counts_its_own_symbols_interval_from_the_view() -> None:
    # the long pays 3 bps at 1 h, then every 8 h (the configured interval): two fundings in 10 h, 6 bps
    # within the 6.3 over; the venue says this symbol funds every 4 h: 1 h, 5 h, 9 h, 9 bps: no pair
    v = funded(wide(), (0.0003, 0.0), (HOUR, HOUR))
    p = perp_params(funding_horizon_ns=10 * HOUR)
    assert len(run(v, p)) == 2
    v["funding_interval_ns"] = (4 * HOUR, 8 * HOUR)
    assert len(run(v, p)) == 0
    v["funding_interval_ns"] = (8 * HOUR, 4 * HOUR)  # the short leg's schedule does not change what the long pays
    assert len(run(v, p)) == 2
    # a funding time passed without news rolls on by the view's interval: an hour ago, so 3 h from now
    # at 4 h (inside a 6 h horizon: 7 bps, no pair), 7 h from now at the configured 8 h (a pair)
    v = funded(wide(), (0.0007, 0.0), (-HOUR, -HOUR))
    assert len(run(v, perp_params(funding_horizon_ns=6 * HOUR))) == 2
    v["funding_interval_ns"] = (4 * HOUR, 0)
    assert len(run(v, perp_params(funding_horizon_ns=6 * HOUR))) == 0


def test_a_spot_leg_has_no_funding() -> None:
    v = funded(wide(), (0.0007, 0.0), (HOUR, HOUR))
    p = perp_params(funding_horizon_ns=8 * HOUR)
    p["market"][0, :2] = (MARKET_SPOT, MARKET_LINEAR)  # spot-perp: Binance spot's "rate" is not a cost
    assert len(run(v, p)) == 2


def held(rates: tuple[float, float], next_in: int, *, ask1: float = 60020.0) -> np.ndarray:
    # long 0.5 on Binance, short 0.5 on Bybit (flat net, imbalance 1.0); Binance's bid 60100, Bybit's
    # ask ask1: buying back Bybit and selling Binance at 60020 / 60100 is 13.3 bps, -8.7 net of costs
    v = view([(60400.0, 2.0)], [(59700.0, 2.0)], bids0=[(60100.0, 2.0)], asks1=[(ask1, 2.0)])
    v["position"] = (0.5, -0.5)
    return funded(v, rates, (next_in, next_in))


def test_close_before_an_adverse_funding_time() -> None:
    # Binance's long pays 10 bps a minute from now: closing at -8.7 bps loses less than it saves
    p = perp_params(close_before_funding_ns=300 * SECOND, max_order_size=1.0)
    got = run(held((0.001, 0.0), 60 * SECOND), p)
    assert [(r["venue"], r["side"], r["qty"]) for r in got] == [(1, BUY, 0.5), (0, SELL, 0.5)]  # to flat
    assert may_act(held((0.001, 0.0), 60 * SECOND), p, NOW)
    # a loss larger than the payment is not taken: 60040 makes it -12 bps against 10 saved
    assert len(run(held((0.001, 0.0), 60 * SECOND, ask1=60040.0), p)) == 0
    # nor before the window opens, nor when the held imbalance earns
    assert len(run(held((0.001, 0.0), 600 * SECOND), p)) == 0
    assert len(run(held((-0.001, 0.0), 60 * SECOND), p)) == 0
    # and without the rule the imbalance is simply held
    assert len(run(held((0.001, 0.0), 60 * SECOND), perp_params(max_order_size=1.0))) == 0


def test_inside_the_window_no_pair_grows_an_imbalance_that_pays() -> None:
    # Binance's ask 60000 under Bybit's bid 60200 (a good pair that buys Binance: grows the long that pays)
    v = view([(60000.0, 2.0)], [(60200.0, 2.0)], bids0=[(59990.0, 2.0)], asks1=[(60300.0, 2.0)])
    v["position"] = (0.5, -0.5)
    funded(v, (0.001, 0.0), (60 * SECOND, 60 * SECOND))
    assert len(run(v, perp_params())) == 2
    assert len(run(v, perp_params(close_before_funding_ns=300 * SECOND))) == 0
