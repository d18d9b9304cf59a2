"""The funding carry backtested on a generated perpetual tape with funding (``arb.testing.scenarios``: Binance
USD-M and Bybit linear in their own wire formats, each with its mark-price and funding stream).

Both books stand at 60,000 +- 0.5 and both marks at 60,000 for 9 s. Both venues fund every 2 s: Bybit at
2, 4, 6 and 8 s, at 0.12 % throughout (its shorts are paid); Binance at 1, 3 and 5 s at 0.01 %, then at
7 s at 0.15 %. With fees of 2 bps a venue (8 bps in and out), 1 bp allowed for the exit and 0.5 bp asked
over the costs, over a horizon of 4 s (two funding times of each venue once its interval is known; one
before, as the configured interval is 8 hours):

- at the start the carry expects 12 - 1 = 11 bps: it buys 0.01 on Binance and sells 0.01 on Bybit;
- it holds through Binance's fundings at 1, 3 and 5 s (the long pays 0.01 x 60,000 x 0.0001 = 0.06 each)
  and Bybit's at 2 and 4 s (the short earns 0.01 x 60,000 x 0.0012 = 0.72 each): 1.26 in all;
- once Binance announces 0.15 % (at 5 s) the held pair expects 2 x 12 - 2 x 15 = -6 bps: it exits before
  Bybit's funding at 6 s; the reverse pair's +6 bps do not pay its costs, so it stays flat.

The books restate themselves every 90 ms, never at a funding time: each venue announces a funding time's
successor as it passes, 5 ms later here (the feed latency), and a decision in between would roll the passed
time on by the venue's interval, still the configured 8 hours on a venue that has not funded yet in the run,
which on a tape of 2-second intervals leaves no funding within the horizon.

Until the configuration names a strategy (``[strategy] kernel``), the backtest's Loop is bound to the
carry here with the seam's public pieces (:func:`arb.strategy.seam.bind`); the parity with the dry run
needs the engine to take it too, so it runs once the configuration can name it.
"""

from __future__ import annotations

import datetime as dt
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from arb.backtest.hbt_orders import C_CALLS, C_EQUITY, C_FILLS, C_FUNDING, C_SENT
from arb.backtest.run import Loop, Schedule, build_hbt, run_backtest
from arb.config import AppConfig, StrategyConfig, load_config
from arb.config.fields import spec_by_key
from arb.parity.against_dry_run import run_parity, zero_latency
from arb.recording.loader import load_timeline, plan_days
from arb.recording.replayed_funding import funding_of
from arb.strategies.funding_carry import CarryParams, FundingCarry
from arb.strategy.seam import bind
from arb.strategy.types import BUY, SELL, decision_dtype, equity_dtype, narrow_venues
from arb.testing.configs import write_config_files
from arb.testing.scenarios import Book, Perp, write_scenario

DAY = dt.date(2024, 5, 6)
START_MS = int(dt.datetime.combine(DAY, dt.time(0, 0, 1), tzinfo=dt.UTC).timestamp() * 1000)
DURATION_MS = 9000
MARK = 60_000.0
PERPS = {
    "binance": Perp(mark=MARK, rate=0.0001, funding_ms=5000, next_rate=0.0015, interval_ms=2000),
    "bybit": Perp(mark=MARK, rate=0.0012, funding_ms=2000, next_rate=0.0012, interval_ms=2000),
}
PARAMS = CarryParams(horizon_h=4000 / 3_600_000, entry_bps=0.5, exit_bps=0.0, exit_cost_bps=1.0, max_hold_h=1.0,
                     size=0.01)  # fmt: skip
SIZE = 0.01
TAKER = 0.0002
NAMED = spec_by_key(StrategyConfig, "kernel") is not None
"""Whether a configuration can name a strategy (``[strategy] kernel``, ``[strategy.params]``)."""


def _config(tmp_path: Path, *, named: bool = False) -> AppConfig:
    write_scenario(
        tmp_path / "recordings", DAY, Book(bids={59_999.5: 2.0}, asks={60_000.5: 2.0}),
        Book(bids={59_999.5: 2.0}, asks={60_000.5: 2.0}), [], duration_ms=DURATION_MS, heartbeat_ms=90,
        markets=("linear", "linear"), perps=PERPS,
    )  # fmt: skip
    venue = {
        "market": "linear",
        "latency": {"order_entry_ms": 1.0, "order_response_ms": 1.0},
        "account": {"base": 0.0, "quote": 1e5},
        "instrument": {"tick_size": 0.1, "lot_size": 0.001, "min_qty": 0.001, "min_notional": 5.0},
        "fees": {"maker": 0.0002, "taker": TAKER},
        "feed": {"depth_stream": None},
    }
    strategy: dict[str, Any] = {"max_order_size": 0.05, "max_position_size": 0.05, "rebalance_threshold": 0.0}
    if named:
        strategy["kernel"] = "arb.strategies.funding_carry:FundingCarry"
        strategy["style"] = None  # the shipped file's built-in style, left out
        strategy["params"] = {name: getattr(PARAMS, name) for name in PARAMS.__struct_fields__}
    path = write_config_files(
        tmp_path, binance_overrides=venue, bybit_overrides=venue,
        arbitrage_overrides={
            "strategy": strategy,
            "execution": {"slippage_tolerance_bps": 1.0},
            "risk": {"max_notional_per_venue": 1e9, "position_limit": 1.0},
            "backtest": {"recordings": "recordings"},
        },
    )  # fmt: skip
    return load_config(path)


def _carry_backtest(config: AppConfig) -> Any:
    # The backtest of ``config`` with every symbol's strategy the carry (PARAMS), through the public pieces
    # arb.backtest.run.run_session uses: the loop's records bound to the carry instead of the built-in.
    days = plan_days(config, None, None)
    session = load_timeline(config, days)
    loop = Loop(config, session, Schedule.of(session), funding_of(config, session))
    loop.bound = bind([FundingCarry] * loop.n_symbols, loop.rules, [PARAMS] * loop.n_symbols)
    hbt = build_hbt(config, session)
    try:
        hbt.elapse(1)  # as run_session: hftbacktest's clock starts at the first event after a first step
        assert loop.run(hbt, session.end_ns) == 1
    finally:
        hbt.close()
    c = loop.counters
    return types.SimpleNamespace(
        fills=loop.fills[: c[C_FILLS]].copy(), funding=loop.funding[: c[C_FUNDING]].copy(),
        # the loop's logs hold a column per venue of the records' capacity: the run's, as run_session keeps them
        calls=narrow_venues(loop.calls[: c[C_CALLS]], decision_dtype(len(config.venues))),
        sent=loop.sent[: c[C_SENT]].copy(),
        equity=narrow_venues(loop.equity[: c[C_EQUITY]], equity_dtype(len(config.venues))),
        memory=loop.bound.memory[0].copy(), state=loop.kernel_state[0].copy(),
        days=days, end_ns=session.end_ns,
    )  # fmt: skip


def _tape_fundings(venue: str) -> list[tuple[int, float]]:
    # (funding time ns, rate) of every funding time the tape's venue announces and passes within it
    schedule = PERPS[venue].schedule(START_MS)
    return [(t * 1_000_000, float(rate)) for t, rate in schedule.fundings(START_MS + 1, START_MS + DURATION_MS - 1)]


def _position_at(fills: np.ndarray, venue: int, funding_ns: int) -> float:
    # what the venue held at its funding time, from the fills it made by then
    own = fills[(fills["venue"] == venue) & (fills["exch_ts"] <= funding_ns)]
    return float(np.sum(own["side"] * own["qty"]))


@pytest.fixture(scope="module")
def carry(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return _carry_backtest(_config(tmp_path_factory.mktemp("carry")))


def test_it_enters_holds_through_the_fundings_and_exits_when_the_differential_turns(carry: Any) -> None:
    fills = carry.fills
    legs = sorted((int(f["pair_id"]), int(f["venue"]), int(f["side"]), round(float(f["qty"]), 9), float(f["price"]))
                  for f in fills)  # fmt: skip
    assert legs == [(1, 0, BUY, SIZE, 60_000.5), (1, 1, SELL, SIZE, 59_999.5),  # in: long Binance, short Bybit
                    (2, 0, SELL, SIZE, 59_999.5), (2, 1, BUY, SIZE, 60_000.5)]  # out: the reverse pair  # fmt: skip
    ms = (fills["exch_ts"] // 1_000_000 - START_MS).tolist()
    assert ms[0] == ms[1] < 1000  # before the first funding time
    assert 5000 < ms[2] == ms[3] < 6000  # after Binance announced its turn, before Bybit's next funding
    assert fills["pair_id"].tolist() == [1, 1, 2, 2]
    assert [(int(i["venue"]), int(i["side"])) for i in carry.sent] == [(0, BUY), (1, SELL), (1, BUY), (0, SELL)]
    memory = carry.memory
    assert (memory["entries"], memory["exits"], memory["long_venue"], memory["short_venue"]) == (1, 1, 0, 1)
    assert memory["entry_ns"] == carry.sent["ts"][0] and len(carry.sent) == 4
    assert int(carry.state["refused"]) == 0 and int(carry.state["hedges"]) == 0


def test_every_funding_payment_is_booked_and_reconciles_with_the_venues_rates(carry: Any) -> None:
    funding, fills = carry.funding, carry.fills
    for v, venue in enumerate(("binance", "bybit")):
        rows = funding[funding["venue"] == v]
        tape = _tape_fundings(venue)
        # each funding time of the tape booked once, at the rate the venue announced for it and its mark
        assert [(int(r["funding_ts"]), float(r["rate"])) for r in rows] == tape
        assert rows["mark"].tolist() == [MARK] * len(tape)
        for r in rows:
            held = _position_at(fills, v, int(r["funding_ts"]))
            assert float(r["position"]) == pytest.approx(held, abs=1e-12)
            assert float(r["payment"]) == pytest.approx(-held * MARK * float(r["rate"]), abs=1e-12)
        implied = sum(-_position_at(fills, v, t) * MARK * rate for t, rate in tape)
        assert float(np.sum(rows["payment"])) == pytest.approx(implied, abs=1e-12)
    # held through five of them: Binance's long paid 0.06 three times, Bybit's short earned 0.72 twice
    paid = [(int(r["venue"]), (int(r["funding_ts"]) // 1_000_000 - START_MS), round(float(r["payment"]), 9))
            for r in funding if r["payment"] != 0.0]  # fmt: skip
    assert paid == [(0, 1000, -0.06), (1, 2000, 0.72), (0, 3000, -0.06), (1, 4000, 0.72), (0, 5000, -0.06)]
    assert len(funding) == 8  # and the three after it, on nothing held
    # the account: 0.02 lost to the spreads, 4 x 0.12 of fees, 1.26 of funding
    last = carry.equity[-1]
    assert last["position"].tolist() == [0.0, 0.0]
    assert float(np.sum(last["equity_venue"])) == pytest.approx(2e5 - 0.02 - 0.48 + 1.26, abs=1e-9)


@pytest.mark.skipif(not NAMED, reason="needs [strategy] kernel: the dry run's engine cannot be given a strategy yet")
def test_named_in_the_configuration_it_backtests_the_same_and_agrees_with_the_dry_run_at_zero_latency(
    carry: Any, tmp_path: Path
) -> None:
    config = _config(tmp_path, named=True)
    result = run_backtest(config)
    assert result.fills.tolist() == carry.fills.tolist()
    assert result.funding.tolist() == carry.funding.tolist()
    report = run_parity(zero_latency(config), exact=True)
    assert report.agree, report.describe()
    assert report.intents == (4, 4) and report.fills == (4, 4)
