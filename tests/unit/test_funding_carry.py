"""The funding carry's decisions on the bench (``arb.strategy.testkit``): scripted views of perpetuals, arb's
guard around the strategy, no venue.

The books stand at 60,000 with a spread of 1 (each leg's walk pays 1/12 bp against its venue's mid), taker
fees are 2 bps a venue, so a carry between two venues costs 2 x (2 + 2) = 8 bps of fees in and out, the
default exit allowance 2 bps and its walk in 1/6 bp: with ``entry_bps`` 2 it enters on an expected
differential of 12.17 bps or more.
"""

from __future__ import annotations

from typing import Any

import msgspec
import numpy as np
import pytest

from arb.strategies.funding_carry import CARRY_MEMORY, CarryParams, FundingCarry, expected_bps
from arb.strategies.taker import _funding_bps
from arb.strategy.seam import params_dtype
from arb.strategy.testkit import Bench, rules_for, view
from arb.strategy.types import BUY, INTENT_HEDGE, INTENT_OPEN, MARKET_LINEAR, MARKET_SPOT, SELL, VENUE_STALE

H = 3_600_000_000_000
NOW = 1_000 * H
FEE = 0.0002


def _rules(n: int = 2, **settings: Any) -> np.ndarray:
    fields = {"taker_fee": FEE, "tick_size": 0.1, "lot_size": 0.001, "pair_lot": 0.001, "max_order_size": 1.0,
              "max_position_size": 1.0, "slippage_bps": 1.0, "market": MARKET_LINEAR, **settings}  # fmt: skip
    return rules_for(n, **fields)


def _bench(n: int = 2, rules: np.ndarray | None = None, **params: float) -> Bench:
    values: dict[str, float] = {"horizon_h": 8.0, "size": 0.1, **params}
    return Bench(FundingCarry, rules=_rules(n) if rules is None else rules, params=CarryParams(**values))


def _view(rates: list[float], position: list[float] | None = None, *, next_in: int = H, interval: int = 8 * H,
          top: float = 1.0, deeper: float = 0.0, **fields: list[Any]) -> np.ndarray:  # fmt: skip
    # n venues at 60,000 +- 0.5, ``top`` at the best level and ``deeper`` at 60,000 +- 5.5; the venues'
    # coming rates, their next funding time ``next_in`` from NOW, every ``interval``
    n = len(rates)
    bids = [[(59_999.5, top), (59_994.5, deeper)] for _ in range(n)]
    asks = [[(60_000.5, top), (60_005.5, deeper)] for _ in range(n)]
    return view(bid=bids, ask=asks, n_venues=n, funding_rate=rates, next_funding_ns=[NOW + next_in] * n,
                funding_interval_ns=[interval] * n, position=position or [0.0] * n, **fields)  # fmt: skip


def _legs(intents: np.ndarray) -> list[tuple[int, int, float]]:
    assert (intents["kind"] == INTENT_OPEN).all()
    return [(int(i["venue"]), int(i["side"]), round(float(i["qty"]), 9)) for i in intents]


def _entered(bench: Bench, at: np.ndarray, now: int = NOW) -> np.ndarray:
    got = bench.decide(at, now)
    assert _legs(got) == [(0, BUY, 0.1), (1, SELL, 0.1)]
    return got


@pytest.mark.parametrize(
    ("rates", "horizon_h", "taker_fee", "enters"),
    [
        ([0.0, 0.00123], 8.0, FEE, True),  # 12.3 bps beats the 12.17 the carry costs and asks
        ([0.0, 0.00120], 8.0, FEE, False),  # 12.0 does not
        ([0.0001, 0.00133], 8.0, FEE, True),  # the long leg pays its rate: 13.3 - 1 = 12.3
        ([0.0001, 0.00130], 8.0, FEE, False),  # 13.0 - 1 = 12.0
        ([0.0, 0.0007], 8.0, FEE, False),  # one funding time within 8 hours: 7 bps
        ([0.0, 0.0007], 16.0, FEE, True),  # two within 16 (in 1 and 9 hours): 14 bps
        ([0.0, 0.00123], 0.5, FEE, False),  # none within half an hour
        ([0.0, 0.00123], 8.0, [FEE, 0.0003], False),  # 1 bp more of fee each way on the short's venue
    ],
)
def test_it_enters_only_when_the_differential_over_the_horizon_beats_the_costs(
    rates: list[float], horizon_h: float, taker_fee: Any, enters: bool
) -> None:
    bench = _bench(rules=_rules(taker_fee=taker_fee), horizon_h=horizon_h)
    at = _view(rates)
    got = bench.decide(at, NOW)
    assert len(got) == (2 if enters else 0)
    assert bench.may_act(at, NOW) or not enters  # the pre-check never skips an entry
    if enters:
        assert _legs(got) == [(0, BUY, 0.1), (1, SELL, 0.1)]
        # each leg one immediate-or-cancel order limited at its level, moved by the 1 bp tolerance
        assert got["price"].tolist() == pytest.approx([60_006.5, 59_993.6])
        assert bench.memory["entries"] == 1 and bench.memory["entry_ns"] == NOW
        assert (bench.memory["long_venue"], bench.memory["short_venue"], bench.memory["held"]) == (0, 1, 0.1)
    else:
        assert bench.memory.tolist() == np.zeros(1, CARRY_MEMORY)[0].tolist()


def test_the_spread_the_entry_walks_counts() -> None:
    # 0.1 wanted, 0.05 at the best levels and the rest 5 further on: each leg pays 0.5 bp against its mid
    # (1/12 on a deep book), so 12.9 bps no longer clear the costs (10 + 1 + 2); 14 do, limited deeper
    thin = _view([0.0, 0.00129], top=0.05, deeper=1.0)
    assert len(_bench().decide(thin, NOW)) == 0
    assert len(_bench().decide(_view([0.0, 0.00129]), NOW)) == 2
    got = _bench().decide(_view([0.0, 0.0014], top=0.05, deeper=1.0), NOW)
    assert _legs(got) == [(0, BUY, 0.1), (1, SELL, 0.1)]
    assert got["price"].tolist() == pytest.approx([60_011.5, 59_988.6])
    # a book that shows less than the size: what both show
    shallow = _bench().decide(_view([0.0, 0.0014], top=0.03), NOW)
    assert _legs(shallow) == [(0, BUY, 0.03), (1, SELL, 0.03)]


@pytest.mark.parametrize(
    ("rates", "market", "legs"),
    [
        ([0.0001, 0.0015, -0.0005], MARKET_LINEAR, [(2, BUY, 0.1), (1, SELL, 0.1)]),  # 15 + 5 bps
        ([0.0001, 0.0015, -0.0005], [MARKET_LINEAR, MARKET_LINEAR, MARKET_SPOT], [(0, BUY, 0.1), (1, SELL, 0.1)]),
        ([0.0005, -0.0015, 0.0], MARKET_LINEAR, [(1, BUY, 0.1), (0, SELL, 0.1)]),  # longs are paid on 1
        ([-0.0020, -0.0005, -0.0012], MARKET_LINEAR, [(0, BUY, 0.1), (1, SELL, 0.1)]),  # 20 earned, 5 paid
    ],
)
def test_it_shorts_where_the_shorts_are_paid_most_and_longs_where_the_longs_pay_least(
    rates: list[float], market: Any, legs: list[tuple[int, int, float]]
) -> None:
    bench = _bench(3, rules=_rules(3, market=market))
    assert _legs(bench.decide(_view(rates), NOW)) == legs
    assert (bench.memory["long_venue"], bench.memory["short_venue"]) == (legs[0][0], legs[1][0])


def test_a_venue_that_cannot_take_orders_is_left_out() -> None:
    rates = [0.0, 0.0015, 0.0]
    stale = _view(rates, status=[0, VENUE_STALE, 0])
    assert len(_bench(3).decide(stale, NOW)) == 0
    blocked = _view(rates, blocked_until_ns=[0, NOW + 1, 0])
    assert len(_bench(3).decide(blocked, NOW)) == 0
    assert len(_bench(3).decide(_view(rates), NOW)) == 2


def test_it_holds_while_the_differential_pays_and_exits_when_it_turns() -> None:
    bench = _bench(exit_bps=1.0)
    _entered(bench, _view([0.0, 0.0015]))
    held = [0.1, -0.1]
    # the rates shrink, the differential stays above the exit threshold: held
    assert len(bench.decide(_view([0.0002, 0.0004], held), NOW + 2 * H)) == 0
    assert bench.memory["held"] == 0.1 and bench.memory["exits"] == 0
    # below it (0.5 bp): the reverse pair for what is held, sell where long, buy where short
    got = bench.decide(_view([0.0002, 0.00025], held), NOW + 3 * H)
    assert _legs(got) == [(1, BUY, 0.1), (0, SELL, 0.1)]
    assert got["price"].tolist() == pytest.approx([60_006.5, 59_993.6])
    assert bench.memory["exits"] == 1 and bench.memory["entries"] == 1


def test_it_exits_what_is_held_when_the_rates_reverse() -> None:
    bench = _bench()
    _entered(bench, _view([0.0, 0.0015]))
    # a partial fill and arb's hedge left 0.07 held: the exit is for that
    got = bench.decide(_view([0.0012, 0.0002], [0.07, -0.07]), NOW + H)
    assert _legs(got) == [(1, BUY, 0.07), (0, SELL, 0.07)]


def test_it_exits_at_the_maximum_holding_time() -> None:
    bench = _bench(max_hold_h=24.0)
    _entered(bench, _view([0.0, 0.0015]))
    paying = _view([0.0, 0.0015], [0.1, -0.1])
    assert len(bench.decide(paying, NOW + 24 * H - 1)) == 0
    assert _legs(bench.decide(paying, NOW + 24 * H)) == [(1, BUY, 0.1), (0, SELL, 0.1)]


def test_the_exit_waits_for_both_venues() -> None:
    bench = _bench()
    _entered(bench, _view([0.0, 0.0015]))
    turned = [0.0012, 0.0002]
    assert len(bench.decide(_view(turned, [0.1, -0.1], status=[VENUE_STALE, 0]), NOW + H)) == 0
    assert len(bench.decide(_view(turned, [0.1, -0.1]), NOW + H + 1)) == 2


def test_nothing_of_its_own_while_a_leg_is_naked_or_an_order_unanswered() -> None:
    bench = _bench()
    _entered(bench, _view([0.0, 0.0015]))
    before = bench.memory.tolist()
    # the buy filled alone: arb's guard hedges it (the strategy is not called: its memory is as it was)
    got = bench.decide(_view([0.0, 0.0015], [0.1, 0.0]), NOW + 1)
    assert len(got) == 1 and int(got[0]["kind"]) == INTENT_HEDGE and int(got[0]["side"]) == SELL
    assert bench.memory.tolist() == before
    # a turn while the leg is still naked sends no exit either, only arb's next hedge
    got = bench.decide(_view([0.0012, 0.0002], [0.1, -0.04], book_local_ts=[1, 1]), NOW + 2)
    assert [int(k) for k in got["kind"]] == [INTENT_HEDGE] and bench.memory.tolist() == before
    assert len(bench.decide(_view([0.0, 0.0015], open_orders=[1, 0]), NOW + 3)) == 0
    assert bench.memory.tolist() == before


@pytest.mark.parametrize(
    ("next_in", "interval", "horizon_h"),
    [(H, 8 * H, 8.0), (H, 8 * H, 24.0), (-3 * H, 8 * H, 8.0), (H, 0, 20.0), (2 * H, 4 * H, 9.0), (H, 8 * H, 0.5)],
)
def test_the_differential_is_the_kernels_funding_term_reversed(next_in: int, interval: int, horizon_h: float) -> None:
    # what the built-in kernel's funding term charges a pair, the carry earns: the same funding times
    # (a passed one rolled on by the interval; none known: the configured one) and the same rates
    rules = _rules(3, funding_interval_ns=[8 * H, 4 * H, 1 * H])
    at = _view([0.0003, 0.0011, -0.0004], next_in=next_in, interval=interval)
    horizon = int(horizon_h * H)
    for long, short in ((0, 1), (1, 0), (2, 1), (0, 2)):
        kernel = _funding_bps(at, rules[0], long, short, NOW, horizon)
        assert expected_bps(at, rules, long, short, NOW, horizon) == pytest.approx(-kernel, abs=1e-12)


def test_may_act_answers_no_only_when_nothing_would_be_sent() -> None:
    for short_rate in np.linspace(-0.002, 0.002, 41):
        for position in ([0.0, 0.0], [0.1, -0.1]):
            at = _view([0.0, float(short_rate)], position)
            bench = _bench()
            if not bench.may_act(at, NOW):
                assert len(bench.decide(at, NOW)) == 0 and position == [0.0, 0.0]


def test_its_parameters_are_a_checked_table() -> None:
    assert params_dtype(CarryParams).names == ("horizon_h", "entry_bps", "exit_bps", "exit_cost_bps",
                                               "max_hold_h", "size")  # fmt: skip
    assert msgspec.convert({"horizon_h": 48, "size": 0.5}, CarryParams) == CarryParams(horizon_h=48.0, size=0.5)
    for table, words in (({"horizon_h": 0.0}, "horizon_h: expected a number above 0"),
                         ({"size": -1.0}, "size: expected a number above 0"),
                         ({"exit_cost_bps": -1.0}, "exit_cost_bps"), ({"max_hold": 1.0}, "max_hold"),
                         ({"entry_bps": "2"}, "entry_bps")):  # fmt: skip
        with pytest.raises(msgspec.ValidationError, match=words):
            msgspec.convert(table, CarryParams)
