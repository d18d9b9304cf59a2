"""A slice of the fault campaign (``benchmarks/fault_campaign.py`` runs all of it): a seed per fault kind, taker
and maker, most of them faulting Hyperliquid (the newest venue, on its perpetuals beside another venue's spot),
each a real ``arb live`` (in this process) against two of the fake venues, with the campaign's invariants
asserted: the net position within ``position_limit`` (resting quotes at their worst), flat or
halted-then-flattened at the end, no order sent twice, the journal equal to both ledgers, every quote's fill
hedged once, no flatten larger than the position, nothing sent to a rate-limited or banned venue inside its
window but what the rule allows.

Each scenario awaits its conditions (bounded) and leaves no port or task behind: the venues are
closed by their context managers, arb live by its stop event.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from arb.testing.campaign import KINDS, VENUES, Fault, run_scenario, scenario
from arb.testing.campaign_kinds import MAKER, TAKER

SLICE = {
    (TAKER, Fault.REJECT): 295,  # Hyperliquid refuses eight (PerpMargin in a 200): halted, the Binance leg closed
    (TAKER, Fault.TIMEOUT_PLACED): 65,  # OKX drops the connection of a create it placed, beside Bybit
    (TAKER, Fault.TIMEOUT_LOST): 45,  # Hyperliquid answers 503: the order never exists
    (TAKER, Fault.PARTIAL): 46,  # Hyperliquid fills a quarter
    (TAKER, Fault.STREAM_DROP): 26,  # Bybit beside OKX
    (TAKER, Fault.STREAM_SILENCE): 69,  # OKX beside Hyperliquid
    (TAKER, Fault.FEED_STALL): 70,  # OKX beside Hyperliquid
    (TAKER, Fault.FEED_CLOSE): 50,  # Hyperliquid's books resynced after the close
    (TAKER, Fault.LATE_FILL): 51,  # Hyperliquid takes a leg after arb declared it not found (its cloid free again)
    (TAKER, Fault.SWEPT_FIRST): 10,  # Binance: the sweep reads a leg's trades before its venue id is known
    (TAKER, Fault.RATE_LIMIT): 11,  # Binance bans the IP for 2 s at its third order: nothing goes there meanwhile
    (TAKER, Fault.KILL_LATE): 54,  # Hyperliquid: halted; the kill switch's flatten is answered late and found out
    (MAKER, Fault.CANCEL_RACE): 14,  # Binance, hedged on Hyperliquid: a quarter of the quote fills after the cancel
    (MAKER, Fault.CANCEL_UNKNOWN): 57,  # Hyperliquid: the sell quote filled before its cancel came (CancelMissing)
    (MAKER, Fault.PARTIAL_REPRICE): 58,  # Hyperliquid: half fills, then the rest as the cancel is held
    (MAKER, Fault.POST_ONLY_REJECT): 59,  # Hyperliquid: the re-priced sell quote would take: refused (BadAloPx)
    (MAKER, Fault.STREAM_SILENCE): 60,  # Hyperliquid: the buy quote's fills are found by query
    (MAKER, Fault.SWEPT_FIRST): 19,  # Binance: the re-priced quote's fill swept before its order is known
    (MAKER, Fault.RATE_LIMIT): 62,  # Hyperliquid answers the re-priced quote 429 (Retry-After 2 s): one cancel at most
}
"""A seed per fault kind of each style (``Fault.NONE`` is every other scenario's baseline)."""


def test_seeds_decide_the_scenario_and_cycle_through_every_fault_of_both_styles_on_every_venue() -> None:
    assert scenario(123) == scenario(123) and scenario(123) != scenario(124)
    window = [scenario(seed) for seed in range(40, 40 + len(VENUES) * len(KINDS))]
    assert {(s.style, s.fault, s.venue) for s in window} == {(st, f, v) for st, f in KINDS for v in VENUES}
    assert VENUES == ("binance", "bybit", "hyperliquid", "okx")
    assert {frozenset(s.pair) for s in window} == {frozenset(p) for p in itertools.combinations(VENUES, 2)}
    makers = {f for st, f in KINDS if st == MAKER}
    assert {Fault.CANCEL_RACE, Fault.CANCEL_UNKNOWN, Fault.PARTIAL_REPRICE, Fault.POST_ONLY_REJECT} < makers
    assert {Fault.NONE, Fault.STREAM_SILENCE, Fault.SWEPT_FIRST, Fault.RATE_LIMIT} < makers
    assert {Fault.RATE_LIMIT, Fault.KILL_LATE} < {f for st, f in KINDS if st == TAKER}
    for s in window:
        assert s.position_limit == s.order_size * 3 / 2
        assert 0 <= s.strike_order <= 2  # every taker scenario makes at least three orders per venue
        assert s.maker == (s.style == MAKER) and s.hedge_venue == s.other != s.venue
        assert s.pair == tuple(sorted((s.venue, s.other), key=VENUES.index)) and s.rich in s.pair


@pytest.mark.wall_clock  # the venues play the market in real time; faults strike and end on the clock
@pytest.mark.parametrize("seed", SLICE.values(), ids=[f"{style}-{fault.value}" for style, fault in SLICE])
async def test_a_scenario_keeps_the_invariants(seed: int, tmp_path: Path) -> None:
    s = scenario(seed)
    assert SLICE[(s.style, s.fault)] == seed
    outcome = await run_scenario(s, tmp_path)
    assert outcome.violations == [], f"{s.describe()}\n{outcome.output[-3000:]}"
    assert outcome.trades >= 2
    assert outcome.max_net <= outcome.max_worst <= s.position_limit
    if s.fault is Fault.RATE_LIMIT:
        assert outcome.limits_read == 1, outcome  # the limit struck, arb read it, and the venue's log was counted
    if s.maker:
        assert outcome.quotes >= 2 and outcome.maker_fills >= 1 and outcome.hedged >= 1
        assert {
            Fault.CANCEL_UNKNOWN: outcome.cancel_misses >= 1,
            Fault.PARTIAL_REPRICE: outcome.maker_fills >= 3,  # the first quote in two fills, then the second
            Fault.POST_ONLY_REJECT: outcome.post_only_rejects >= 1,
            Fault.STREAM_SILENCE: outcome.fills_by_query >= 1,
            Fault.SWEPT_FIRST: outcome.fills_by_query >= 1,
        }.get(s.fault, True), outcome
        return
    assert outcome.pairs >= 1
    if s.fault in (Fault.TIMEOUT_LOST, Fault.PARTIAL):
        assert outcome.lone_legs >= 1 and outcome.hedged + outcome.unwound >= 1
    if s.fault in (Fault.REJECT, Fault.KILL_LATE):
        assert outcome.halted and outcome.killed and "NAKED LEG" in outcome.output
    if s.fault is Fault.KILL_LATE:
        assert outcome.late_flattens >= 1, outcome  # the flatten's answer was held: found out by query
