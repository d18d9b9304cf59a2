"""A slice of the fault campaign (``benchmarks/fault_campaign.py`` runs all of it): a few seeds that
between them make every fault kind strike, each a real ``arb live`` (in this process) against both
fake venues, with the campaign's invariants asserted: the net position within ``position_limit``,
flat or halted-then-flattened at the end, no order sent twice, the journal equal to both ledgers.

Each scenario awaits its conditions (bounded) and leaves no port or task behind: the venues are
closed by their context managers, arb live by its stop event.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from arb.testing.campaign import FAULTS, VENUES, Fault, run_scenario, scenario

SLICE = {
    Fault.REJECT: 100,  # Bybit refuses eight orders: halted with the Binance leg naked, the kill switch closes it
    Fault.TIMEOUT_PLACED: 2,
    Fault.TIMEOUT_LOST: 3,
    Fault.PARTIAL: 13,
    Fault.STREAM_DROP: 14,
    Fault.STREAM_SILENCE: 6,
    Fault.FEED_STALL: 16,
    Fault.FEED_CLOSE: 17,
}
"""A seed per fault kind (``Fault.NONE`` is every other scenario's baseline)."""


def test_seeds_decide_the_scenario_and_cycle_through_every_fault_on_both_venues() -> None:
    assert scenario(123) == scenario(123) and scenario(123) != scenario(124)
    window = [scenario(seed) for seed in range(40, 40 + 2 * len(FAULTS))]
    assert {(s.fault, s.venue) for s in window} == {(f, v) for f in FAULTS for v in VENUES}
    for s in window:
        assert s.position_limit == s.order_size * 3 / 2
        assert 0 <= s.strike_order <= 2  # every scenario makes at least three orders per venue


@pytest.mark.parametrize("seed", SLICE.values(), ids=[f.value for f in SLICE])
async def test_a_scenario_keeps_the_invariants(seed: int, tmp_path: Path) -> None:
    s = scenario(seed)
    assert s.fault in SLICE and SLICE[s.fault] == seed
    outcome = await run_scenario(s, tmp_path)
    assert outcome.violations == [], f"{s.describe()}\n{outcome.output[-3000:]}"
    assert outcome.pairs >= 1 and outcome.trades >= 2
    assert outcome.max_net <= s.position_limit
    if s.fault in (Fault.TIMEOUT_LOST, Fault.PARTIAL):
        assert outcome.lone_legs >= 1 and outcome.hedged + outcome.unwound >= 1
    if s.fault is Fault.REJECT:
        assert outcome.halted and outcome.killed and "NAKED LEG" in outcome.output
