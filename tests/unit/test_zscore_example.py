"""The newcomer's example (``examples/strategies/zscore.py``) on a scripted tape, through arb's guard as the
drivers run it (:class:`arb.strategy.testkit.Bench`): nothing during the warm-up, in at the entry band
(the rich venue sold, the cheap one bought, on the far side of each book with the slippage allowed),
nothing while a pair is held and the basis stays out, out at the exit band with the pair held the other
way round, and the mean and variance weighted by time."""

from __future__ import annotations

import math

import msgspec
import numpy as np
import pytest

from arb.strategy.testkit import Bench, rules_for, view
from arb.strategy.types import BUY, INTENT_OPEN, SELL, VENUE_STALE
from examples.strategies.zscore import ZScore, ZScoreParams

MID = 10_000.0  # venue 0's mid; venue 1's is MID moved by the basis (1 bps: 1.0)
STEP_NS = 100_000_000  # a book change every 100 ms
PARAMS = ZScoreParams(half_life_s=5.0, warmup=100, entry_z=2.5, exit_z=0.5, size=0.001)


def books(basis_bps: float, position: tuple[float, float] = (0.0, 0.0), **fields: list[float]) -> np.ndarray:
    """Both venues' books, one unit wide around their mids, venue 1's ``basis_bps`` over venue 0's."""
    mid1 = MID * (1.0 + basis_bps * 1e-4)
    return view(
        bid=[[(MID - 0.5, 1.0)], [(mid1 - 0.5, 1.0)]],
        ask=[[(MID + 0.5, 1.0)], [(mid1 + 0.5, 1.0)]],
        position=list(position),
        **fields,
    )


def warmed(samples: int = PARAMS.warmup) -> tuple[Bench, int]:
    """A bench past its warm-up on a basis swinging between +1 and -1 bps (mean about 0, deviation about
    1), and the time of its next step."""
    bench = Bench(ZScore, rules=rules_for(2, slippage_bps=1.0, tick_size=0.01), params=PARAMS)
    got = bench.tape((k * STEP_NS, books(1.0 if k % 2 else -1.0)) for k in range(samples))
    assert got == []
    return bench, samples * STEP_NS


def legs(intents: np.ndarray) -> list[tuple[int, int, float, float]]:
    assert all(int(i["kind"]) == INTENT_OPEN for i in intents)
    return [(int(i["venue"]), int(i["side"]), round(float(i["qty"]), 8), round(float(i["price"]), 2)) for i in intents]


def test_nothing_during_the_warm_up_however_far_the_basis_goes() -> None:
    tape = [(k * STEP_NS, books(40.0 if k in (60, 61, 99) else (1.0 if k % 2 else -1.0))) for k in range(100)]
    bench = Bench(ZScore, rules=rules_for(2), params=PARAMS)
    assert bench.tape(tape) == []
    assert int(bench.memory["samples"]) == 100
    assert int(bench.memory["entries"]) == 0
    # the same tape with a warm-up of 50 samples: in at the first jump, at 6 s
    shorter = Bench(ZScore, rules=rules_for(2), params=msgspec.structs.replace(PARAMS, warmup=50))
    got = shorter.tape(tape)
    assert [(now, legs(intents)[1][:2]) for now, intents in got][:1] == [(60 * STEP_NS, (1, SELL))]


def test_in_at_the_entry_band_selling_the_rich_venue_and_buying_the_cheap_one() -> None:
    bench, now = warmed()
    got = bench.decide(books(10.0), now)
    # buy venue 0 at its ask plus 1 bps (10000.5 x 1.0001 = 10001.50005: onto the tick, down), sell venue 1
    # at its bid less 1 bps (10009.5 x 0.9999 = 10008.49905: onto the tick, up); one pair of 0.001
    assert legs(got) == [(0, BUY, 0.001, 10001.50), (1, SELL, 0.001, 10008.50)]
    assert len({int(i["pair_id"]) for i in got}) == 1
    assert int(bench.memory["entries"]) == 1


def test_in_the_other_way_when_venue_1_is_cheap() -> None:
    bench, now = warmed()
    got = bench.decide(books(-10.0), now)
    # venue 1's ask 9990.5 x 1.0001 = 9991.49905 (down to 9991.49); venue 0's bid 9999.5 x 0.9999 = 9998.50005 (up)
    assert legs(got) == [(1, BUY, 0.001, 9991.49), (0, SELL, 0.001, 9998.51)]


def test_not_in_just_inside_the_entry_band() -> None:
    bench, now = warmed()
    mean, sd = float(bench.memory["mean"]), math.sqrt(float(bench.memory["var"]))
    assert len(bench.decide(books(mean + 2.4 * sd), now)) == 0
    assert len(bench.decide(books(mean + 3.0 * sd), now + STEP_NS)) == 2


def test_out_at_the_exit_band_with_the_pair_held_the_other_way_round() -> None:
    bench, now = warmed()
    assert len(bench.decide(books(10.0), now)) == 2
    held = (0.001, -0.001)  # both legs filled: long venue 0, short venue 1
    # the basis stays out: neither a second pair nor the way out
    for k in range(1, 20):
        assert len(bench.decide(books(10.0, held), now + k * STEP_NS)) == 0
    # it comes back under its (risen) mean: z <= exit_z, out
    got = bench.decide(books(0.0, held), now + 20 * STEP_NS)
    assert legs(got) == [(1, BUY, 0.001, 10001.50), (0, SELL, 0.001, 9998.51)]
    assert int(bench.memory["exits"]) == 1
    # flat again and the basis near its mean: nothing
    assert len(bench.decide(books(0.0), now + 21 * STEP_NS)) == 0


def test_dust_a_venue_would_not_take_is_flat_and_the_next_pair_goes_in() -> None:
    # a round trip on live spot venues leaves the buys' fees (paid in the coin) as dust: 0.00001 BTC each
    # way, 0.1 USDT at 10,000, below both venues' minimum value of 5 USDT
    rules = rules_for(2, slippage_bps=1.0, tick_size=0.01, lot_size=0.00001, min_notional=5.0)
    bench = Bench(ZScore, rules=rules, params=PARAMS)
    assert bench.tape((k * STEP_NS, books(1.0 if k % 2 else -1.0)) for k in range(PARAMS.warmup)) == []
    now = PARAMS.warmup * STEP_NS
    assert len(bench.decide(books(10.0, (0.00001, -0.00001)), now)) == 2  # in again, as if flat
    # a position a venue would take is no dust: held, and not a second pair while the basis stays out
    assert len(bench.decide(books(10.0, (0.001, -0.001)), now + STEP_NS)) == 0


def test_out_of_a_pair_held_the_other_way() -> None:
    bench, now = warmed()
    assert legs(bench.decide(books(-10.0), now))[0][:2] == (1, BUY)
    held = (-0.001, 0.001)
    assert len(bench.decide(books(-10.0, held), now + STEP_NS)) == 0
    got = bench.decide(books(0.0, held), now + 2 * STEP_NS)
    assert [leg[:3] for leg in legs(got)] == [(0, BUY, 0.001), (1, SELL, 0.001)]


def test_the_mean_and_variance_forget_half_in_one_half_life() -> None:
    bench = Bench(ZScore, rules=rules_for(2), params=PARAMS)
    bench.decide(books(0.0), 0)
    bench.decide(books(8.0), 5_000_000_000)  # one half-life later: weight 1/2 on the new sample
    assert float(bench.memory["mean"]) == pytest.approx(4.0, abs=1e-9)
    assert float(bench.memory["var"]) == pytest.approx(0.5 * (0.0 + 0.5 * 64.0), abs=1e-9)
    bench.decide(books(8.0), 5_000_000_000)  # no time passed: no weight at all
    assert float(bench.memory["mean"]) == pytest.approx(4.0, abs=1e-9)
    assert int(bench.memory["samples"]) == 3


def test_a_stale_book_is_no_sample_and_a_pair_a_venue_would_refuse_is_not_written() -> None:
    bench, now = warmed()
    samples = int(bench.memory["samples"])
    assert len(bench.decide(books(10.0, status=[0, VENUE_STALE]), now)) == 0
    assert int(bench.memory["samples"]) == samples
    # venue 1 (the rich one, to sell) holds less than a leg: the pair is not written at all
    assert len(bench.raw(books(10.0, base_balance=[10.0, 0.0005]), now + STEP_NS)) == 0
    assert len(bench.raw(books(10.0), now + STEP_NS)) == 2
    # a leg of 0.001 at 10,000 is worth 10: below a minimum order value of 11, no pair
    bench.rules[0]["min_notional"][:2] = 11.0
    assert len(bench.raw(books(10.0), now + STEP_NS)) == 0
    bench.rules[0]["min_notional"][:2] = 9.0
    assert len(bench.raw(books(10.0), now + STEP_NS)) == 2
