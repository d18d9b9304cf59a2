"""arb.report: every figure against hand-worked answers, the files it writes, and atomic writes."""

from __future__ import annotations

import csv
import io
import json
import math
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rich.console import Console

from arb.cli import main
from arb.config import load_config
from arb.events import NS_PER_S
from arb.reports import files as report_files
from arb.reports.console import print_summary
from arb.reports.files import (
    EQUITY_NPZ,
    EQUITY_PNG,
    SUMMARY_JSON,
    TRADES_CSV,
    TRADES_HEADER,
    pnl_from_trades_csv,
    read_equity_npz,
    read_trades_csv,
    write_report,
)
from arb.reports.inventory import INVENTORY_CSV
from arb.reports.pnl import fifo_holding, pnl_from_fills
from arb.reports.ratios import RiskFigures
from arb.reports.summary import SCHEMA_VERSION, Summary, summarize
from arb.reports.valuation import InitialBalances
from arb.strategy.types import BUY, FILL_DTYPE, INTENT_HEDGE, INTENT_OPEN, INTENT_UNWIND, SELL, equity_dtype
from arb.testing.configs import write_config_files
from tests.support.captures import ROOT
from tests.support.venues import BINANCE, BYBIT

T0 = 1_723_075_200 * NS_PER_S  # 2024-08-08T00:00:00Z
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MINUTE = 60.0
TEN_DAYS = 10 * 86_400.0  # four steps of it make a curve long enough for the ratios to be shown
INITIAL = InitialBalances(base=(0.05, 0.05), quote=(10_000.0, 10_000.0))
FINAL_MID = (60_000.0, 60_000.0)


def ns(seconds: float) -> int:
    return T0 + round(seconds * NS_PER_S)


def make_fills(*rows: tuple[float, int, int, float, float, float, int, int, int]) -> np.ndarray:
    """Rows of (t seconds, venue, side, price, qty, fee, pair_id, kind, order_id); exch_ts 5 ms earlier."""
    out = np.zeros(len(rows), FILL_DTYPE)
    for i, (t, venue, side, price, qty, fee, pair_id, kind, order_id) in enumerate(rows):
        out[i] = (ns(t), ns(t) - 5_000_000, venue, side, price, qty, fee, pair_id, kind, order_id, 0)
    return out


def driver_equity(
    fills: np.ndarray, initial: InitialBalances, times: list[float], mids: list[tuple[float, float]]
) -> np.ndarray:
    """Equity samples as a driver books them: each venue's balances after the fills known at the sample."""
    out = np.zeros(len(times), equity_dtype(2))
    for i, (t, mid) in enumerate(zip(times, mids, strict=True)):
        for v in (BINANCE, BYBIT):
            base, quote = initial.base[v], initial.quote[v]
            for f in fills:
                if f["venue"] == v and f["local_ts"] <= ns(t):
                    base += f["side"] * f["qty"]
                    quote += -f["side"] * f["price"] * f["qty"] - f["fee"]
            out["equity_venue"][i, v] = quote + base * mid[v]
            out["position"][i, v] = base - initial.base[v]
        out["ts"][i] = ns(t)
        out["equity"][i] = out["equity_venue"][i].sum()
        out["mid"][i] = mid
    return out


def scenario() -> tuple[np.ndarray, np.ndarray]:
    """Four pairs, worked by hand in the tests below (final mid 60,000 on both venues).

    1. opens both legs: buy 0.01 @ 60,000 on Binance (fee 0.6), sell 0.01 @ 60,030 on Bybit (fee
       0.6003): 5 bps captured, PnL 0.3 - 1.2003 = -0.9003 (a loser).
    2. only the Binance sell (0.02 @ 60,100, fee 0.1202) fills; a hedge buys 0.02 @ 60,050 on Bybit
       (fee 0.1201): PnL 2 - 1 - 0.2403 = 0.7597 (a winner).
    3. only the Bybit buy (0.01 @ 60,010, fee 0.06001) fills; it is unwound by a sell @ 59,990 (fee
       0.05999): PnL -0.2 - 0.12 = -0.32 (a loser).
    4. one Binance buy order fills in two parts (0.01 @ 59,990, fee 0.005999; 0.02 @ 59,995, fee 0.011999),
       the Bybit sell 0.03 @ 60,020 (no fee): PnL 0.8 - 0.017998 = 0.782002 (a winner).
    """
    fills = make_fills(
        (1.0, BINANCE, BUY, 60_000.0, 0.01, 0.6, 1, INTENT_OPEN, 11),
        (1.0, BYBIT, SELL, 60_030.0, 0.01, 0.6003, 1, INTENT_OPEN, 12),
        (2.0, BINANCE, SELL, 60_100.0, 0.02, 0.1202, 2, INTENT_OPEN, 21),
        (3.0, BYBIT, BUY, 60_050.0, 0.02, 0.1201, 2, INTENT_HEDGE, 23),
        (4.0, BYBIT, BUY, 60_010.0, 0.01, 0.06001, 3, INTENT_OPEN, 32),
        (6.0, BYBIT, SELL, 59_990.0, 0.01, 0.05999, 3, INTENT_UNWIND, 33),
        (7.0, BINANCE, BUY, 59_990.0, 0.01, 0.005999, 4, INTENT_OPEN, 41),
        (7.0, BYBIT, SELL, 60_020.0, 0.03, 0.0, 4, INTENT_OPEN, 42),
        (7.5, BINANCE, BUY, 59_995.0, 0.02, 0.011999, 4, INTENT_OPEN, 41),
    )
    times = [float(t) for t in range(11)]
    mids = [(60_000.0 + 7 * math.sin(t), 60_004.0 + 5 * math.cos(t)) for t in times[:-1]] + [FINAL_MID]
    return fills, driver_equity(fills, INITIAL, times, mids)


def scenario_summary(**meta: Any) -> Summary:
    fills, equity = scenario()
    return summarize(fills, equity, INITIAL, {"mode": "backtest", **meta})


# --- PnL ------------------------------------------------------------------------------------------


def test_pnl_from_equity_and_from_fills_agree_with_the_hand_answer() -> None:
    s = scenario_summary()
    assert s.total.pnl == pytest.approx(0.321402, abs=1e-9)
    assert s.total.pnl_from_fills == pytest.approx(0.321402, abs=1e-9)
    assert s.pnl_consistent
    # Binance: cash -600 + 1202 - 599.9 - 1199.9 = -1197.8, fees 0.738198, +0.02 base at 60,000
    binance, bybit = s.venues
    assert binance.name == "binance" and bybit.name == "bybit"
    assert binance.pnl_from_fills == pytest.approx(1200 - 1197.8 - 0.738198, abs=1e-9)
    assert binance.pnl == pytest.approx(binance.pnl_from_fills, abs=1e-9)
    # Bybit: cash 600.3 - 1201 - 600.1 + 599.9 + 1800.6 = 1199.7, fees 0.8404, -0.02 base at 60,000
    assert bybit.pnl_from_fills == pytest.approx(1199.7 - 0.8404 - 1200, abs=1e-9)
    assert bybit.pnl == pytest.approx(bybit.pnl_from_fills, abs=1e-9)


def test_the_worked_example_of_the_brief() -> None:
    fills = make_fills(
        (1.0, BINANCE, BUY, 60_000.0, 0.01, 0.6, 1, INTENT_OPEN, 1),
        (1.0, BYBIT, SELL, 60_030.0, 0.01, 0.6003, 1, INTENT_OPEN, 2),
    )
    equity = driver_equity(fills, INITIAL, [0.0, 2.0], [(60_015.0, 60_015.0)] * 2)
    s = summarize(fills, equity, INITIAL, {})
    assert s.total.pnl == pytest.approx(0.3 - 0.6 - 0.6003, abs=1e-9)
    assert s.total.pnl_from_fills == pytest.approx(-0.9003, abs=1e-9)
    assert s.pairs.spread_bps == pytest.approx(5.0, abs=1e-9)
    assert s.pairs.spread_net_bps == pytest.approx(5.0 - 1.2003 / 600 * 1e4, abs=1e-9)  # -15.005
    assert s.pairs.win_rate == 0.0


def test_an_inconsistent_run_shows_both_figures() -> None:
    fills, equity = scenario()
    equity["equity"][-1] += 1.0  # the driver's books are off by one quote
    s = summarize(fills, equity, INITIAL, {})
    assert s.total.pnl == pytest.approx(1.321402, abs=1e-9)
    assert s.total.pnl_from_fills == pytest.approx(0.321402, abs=1e-9)
    assert not s.pnl_consistent


def test_fees_volume_notional_fills_and_balances() -> None:
    s = scenario_summary()
    binance, bybit = s.venues
    assert binance.fees == pytest.approx(0.6 + 0.1202 + 0.005999 + 0.011999)
    assert bybit.fees == pytest.approx(0.6003 + 0.1201 + 0.06001 + 0.05999)
    assert s.total.fees == pytest.approx(binance.fees + bybit.fees)
    assert (binance.volume, bybit.volume, s.total.volume) == pytest.approx((0.06, 0.08, 0.14))
    assert binance.notional == pytest.approx(600 + 1202 + 599.9 + 1199.9)
    assert bybit.notional == pytest.approx(600.3 + 1201 + 600.1 + 599.9 + 1800.6)
    assert (binance.fills, bybit.fills, s.total.fills) == (4, 5, 9)
    assert (binance.hedge_fills, bybit.hedge_fills, s.total.hedge_fills) == (0, 1, 1)
    assert (binance.unwind_fills, bybit.unwind_fills, s.total.unwind_fills) == (0, 1, 1)
    assert (binance.position, bybit.position, s.total.position) == pytest.approx((0.02, -0.02, 0.0))
    assert (binance.base_balance, bybit.base_balance) == pytest.approx((0.07, 0.03))
    assert binance.quote_balance == pytest.approx(10_000 - 1197.8 - 0.738198)
    assert bybit.quote_balance == pytest.approx(10_000 + 1199.7 - 0.8404)
    assert (binance.final_mid, bybit.final_mid, s.total.final_mid) == (60_000.0, 60_000.0, None)


# --- pairs ----------------------------------------------------------------------------------------


def test_pair_counts() -> None:
    p = scenario_summary().pairs
    assert p.pairs == 4
    assert p.legs_filled == 6  # pair 4's Binance order filled in two parts: one leg
    assert p.pairs_matched == 2  # pairs 1 and 4
    assert p.pairs_hedged == 2  # pair 2 (hedge) and pair 3 (unwind)
    assert p.fills_outside_pairs == 0


def test_captured_spread_gross_and_net_of_fees() -> None:
    p = scenario_summary().pairs
    # pair 1: 5 bps gross; fees 0.6 / 0.01 + 0.6003 / 0.01 per unit = 20.005 bps of 60,000
    net1 = 5.0 - (0.6 / 0.01 + 0.6003 / 0.01) / 60_000 * 1e4
    # pair 4: buy VWAP over both parts, sell at 60,020, fees only on the buy
    vwap = (0.01 * 59_990 + 0.02 * 59_995) / 0.03
    gross4 = (60_020 - vwap) / vwap * 1e4
    net4 = gross4 - (0.017998 / 0.03) / vwap * 1e4
    assert p.spread_bps == pytest.approx((5.0 + gross4) / 2, abs=1e-9)
    assert p.spread_net_bps == pytest.approx((net1 + net4) / 2, abs=1e-9)


def test_win_rate_counts_hedges_and_unwinds_in_the_pair() -> None:
    p = scenario_summary().pairs
    assert p.pairs_won == 2 and p.win_rate == 0.5  # pairs 2 and 4
    assert p.pair_pnl_mean == pytest.approx((-0.9003 + 0.7597 - 0.32 + 0.782002) / 4, abs=1e-9)


def test_a_lone_leg_left_open_is_valued_at_the_final_mid() -> None:
    # bought 0.01 @ 60,000 (fee 0.06), the other leg never filled, no hedge: worth 0.01 x 60,010 at the end
    fills = make_fills((1.0, BINANCE, BUY, 60_000.0, 0.01, 0.06, 7, INTENT_OPEN, 1))
    equity = driver_equity(fills, INITIAL, [0.0, 5.0], [(60_000.0, 60_000.0), (60_010.0, 60_012.0)])
    s = summarize(fills, equity, INITIAL, {})
    assert s.pairs.pair_pnl_mean == pytest.approx(0.1 - 0.06, abs=1e-9)
    assert s.pairs.win_rate == 1.0
    assert s.pairs.spread_bps is None and s.pairs.spread_net_bps is None  # one side only
    assert s.pairs.pairs_matched == 0 and s.pairs.pairs_hedged == 0
    assert s.total.pnl == pytest.approx(0.04, abs=1e-9) and s.pnl_consistent
    assert s.total.open_qty == pytest.approx(0.01) and s.total.holding_time_s is None


def test_fills_without_an_open_fill_are_counted_apart() -> None:
    fills = make_fills(
        (1.0, BINANCE, BUY, 60_000.0, 0.01, 0.0, 1, INTENT_OPEN, 1),
        (2.0, BYBIT, SELL, 60_000.0, 0.01, 0.0, 99, INTENT_HEDGE, 2),
    )
    equity = driver_equity(fills, INITIAL, [0.0, 3.0], [FINAL_MID] * 2)
    s = summarize(fills, equity, INITIAL, {})
    assert s.pairs.pairs == 1 and s.pairs.fills_outside_pairs == 1 and s.pairs.pairs_hedged == 0
    assert s.total.hedge_fills == 1


def test_no_fills_gives_zeros_and_undefined_means() -> None:
    fills = np.zeros(0, FILL_DTYPE)
    equity = driver_equity(fills, INITIAL, [0.0, 1.0], [FINAL_MID] * 2)
    s = summarize(fills, equity, INITIAL, {"mode": "dry-run"})
    assert s.total.pnl == 0.0 and s.total.pnl_from_fills == 0.0 and s.pnl_consistent
    assert s.total.fills == 0 and s.total.fees == 0.0 and s.total.holding_time_s is None
    p = s.pairs
    assert (p.pairs, p.legs_filled, p.pairs_matched, p.pairs_hedged, p.pairs_won) == (0, 0, 0, 0, 0)
    assert p.spread_bps is None and p.win_rate is None and p.pair_pnl_mean is None


# --- holding time ---------------------------------------------------------------------------------


def test_fifo_holding_time_with_a_flip_through_zero() -> None:
    # buy 1 @ 0 s, buy 1 @ 10 s, sell 1.5 @ 20 s (closes 1 held 20 s, 0.5 held 10 s),
    # sell 1 @ 40 s (closes 0.5 held 30 s, opens a 0.5 short), buy 0.25 @ 50 s (closes 0.25 held 10 s)
    fills = make_fills(
        (0.0, BINANCE, BUY, 100.0, 1.0, 0.0, 1, INTENT_OPEN, 1),
        (10.0, BINANCE, BUY, 100.0, 1.0, 0.0, 2, INTENT_OPEN, 2),
        (20.0, BINANCE, SELL, 100.0, 1.5, 0.0, 3, INTENT_OPEN, 3),
        (40.0, BINANCE, SELL, 100.0, 1.0, 0.0, 4, INTENT_OPEN, 4),
        (50.0, BINANCE, BUY, 100.0, 0.25, 0.0, 5, INTENT_OPEN, 5),
    )
    equity = driver_equity(fills, INITIAL, [0.0, 60.0], [(100.0, 100.0)] * 2)
    binance = summarize(fills, equity, INITIAL, {}).venues[BINANCE]
    assert binance.closed_qty == pytest.approx(2.25)
    assert binance.holding_time_s == pytest.approx((20 + 5 + 15 + 2.5) / 2.25)
    assert binance.open_qty == pytest.approx(0.25)
    assert binance.position == pytest.approx(-0.25)


def test_fifo_holding_time_per_venue_and_total_in_the_scenario() -> None:
    s = scenario_summary()
    binance, bybit = s.venues
    # Binance: long 0.01 @ 1 closed @ 2 (1 s); short 0.01 @ 2 closed @ 7 (5 s); long 0.02 @ 7.5 left open
    assert binance.holding_time_s == pytest.approx((0.01 * 1 + 0.01 * 5) / 0.02)
    assert binance.open_qty == pytest.approx(0.02)
    # Bybit: short 0.01 @ 1 closed @ 3 (2 s); long 0.01 @ 3 closed @ 6 (3 s); long 0.01 @ 4 closed @ 7
    # (3 s); short 0.02 @ 7 left open
    assert bybit.holding_time_s == pytest.approx((0.01 * 2 + 0.01 * 3 + 0.01 * 3) / 0.03)
    assert bybit.open_qty == pytest.approx(0.02)
    assert s.total.holding_time_s == pytest.approx(0.14 / 0.05)
    assert s.total.open_qty == pytest.approx(0.04) and s.total.closed_qty == pytest.approx(0.05)


def test_fifo_matches_a_unit_lot_oracle_on_random_fills() -> None:
    rng = random.Random(7)
    for _ in range(50):
        times = sorted(rng.uniform(0, 1000) for _ in range(40))
        signed = [rng.choice((-1, 1)) * rng.randint(1, 5) for _ in times]
        # oracle: every fill is split into unit lots; a lot of the other sign closes the oldest unit
        queue: list[tuple[float, int]] = []
        weighted, closed = 0.0, 0
        for t, q in zip(times, signed, strict=True):
            for _ in range(abs(q)):
                sign = 1 if q > 0 else -1
                if queue and queue[0][1] != sign:
                    weighted += t - queue.pop(0)[0]
                    closed += 1
                else:
                    queue.append((t, sign))
        ts = np.array([ns(t) for t in times], dtype=np.int64)
        got_weighted, got_closed, got_open = fifo_holding(ts, np.array(signed, dtype=np.float64))
        assert got_closed == closed and got_open == len(queue)
        assert got_weighted / NS_PER_S == pytest.approx(weighted, rel=1e-9, abs=1e-6)


# --- the equity curve -----------------------------------------------------------------------------


def curve(values: list[float], *, step: float = MINUTE) -> np.ndarray:
    equity = np.zeros(len(values), equity_dtype(2))
    equity["ts"] = [ns(i * step) for i in range(len(values))]
    equity["equity"] = values
    equity["equity_venue"] = np.array(values)[:, None] / 2
    equity["mid"] = FINAL_MID
    return equity


FLAT = InitialBalances(base=(0.0, 0.0), quote=(500.0, 500.0))  # equity 1,000 at any mid


def risk_of(values: list[float], **kw: float) -> RiskFigures:
    return summarize(np.zeros(0, FILL_DTYPE), curve(values, **kw), FLAT, {}).risk


def test_sharpe_sortino_and_drawdown_on_a_hand_made_curve() -> None:
    r = risk_of([1000.0, 1001.0, 1000.5, 1002.0, 1001.0], step=TEN_DAYS)
    # returns per 1,000 of capital: +1, -0.5, +1.5, -1 (x 1e-3); one sample every ten days
    per_year = 36.5
    mean, var = 0.25e-3, 4.25 / 3 * 1e-6  # sample variance: (0.75² + 0.75² + 1.25² + 1.25²) / 3
    downside = math.sqrt((0.5**2 + 1.0**2) / 4) * 1e-3
    assert r.samples == 5 and r.sample_interval_s == TEN_DAYS and r.span_s == 4 * TEN_DAYS
    assert r.initial_equity == 1000.0 and r.final_equity == 1001.0
    assert r.sharpe == pytest.approx(mean / math.sqrt(var) * math.sqrt(per_year), rel=1e-9)
    assert r.sortino == pytest.approx(mean / downside * math.sqrt(per_year), rel=1e-9)
    assert r.sharpe_defined and r.sortino_defined and r.ratios_defined and r.ratios_meaningful
    assert r.ratios_note == ""
    assert r.sharpe_stderr == pytest.approx(math.sqrt((1 + mean**2 / var / 2) / 4 * per_year), rel=1e-9)
    assert r.max_drawdown == pytest.approx(1.0)  # 1002 -> 1001
    assert r.max_drawdown_frac == pytest.approx(max(0.5 / 1001, 1.0 / 1002))


def test_the_ratios_scale_with_the_sample_interval() -> None:
    values = [1000.0, 1001.0, 1000.5, 1002.0, 1001.0]
    ten, forty = risk_of(values, step=TEN_DAYS).sharpe, risk_of(values, step=4 * TEN_DAYS).sharpe
    assert ten is not None and forty is not None and ten == pytest.approx(forty * 2, rel=1e-9)


@pytest.mark.parametrize(
    ("values", "note"),
    [
        ([1000.0], "1 equity samples"),
        ([1000.0, 1001.0], "2 equity samples"),
        ([1000.0, 1000.0, 1000.0, 1000.0], "zero variance"),
        ([1000.0, 1000.1, 1000.2, 1000.3], "zero variance"),  # equal steps up to float noise
    ],
)
def test_degenerate_curves_give_no_ratios_and_say_why(values: list[float], note: str) -> None:
    r = risk_of(values, step=TEN_DAYS * 10)
    assert (r.sharpe, r.sortino, r.sharpe_stderr) == (None, None, None)
    assert not r.sharpe_defined and not r.sortino_defined and not r.ratios_defined
    assert note in r.ratios_note


def test_a_curve_that_never_loses_has_a_sharpe_but_no_sortino() -> None:
    r = risk_of([1000.0, 1001.0, 1003.0, 1003.5], step=TEN_DAYS)
    assert r.sharpe is not None and r.sharpe > 0 and r.sharpe_defined
    assert r.sortino is None and not r.sortino_defined and not r.ratios_defined
    assert "no sample lost money" in r.ratios_note
    assert r.max_drawdown == 0.0 and r.max_drawdown_frac == 0.0


def test_samples_with_unknown_equity_or_mid_are_skipped() -> None:
    equity = curve([1000.0, math.nan, 999.0, 1002.0])
    equity["mid"][-1, BYBIT] = math.nan  # Bybit's book was out of sync at the last sample
    equity["mid"][-2, BYBIT] = 61_000.0
    s = summarize(np.zeros(0, FILL_DTYPE), equity, FLAT, {})
    assert s.risk.samples == 3 and s.risk.max_drawdown == pytest.approx(1.0)
    assert s.venues[BYBIT].final_mid == 61_000.0  # the last finite mid


def test_holdings_revaluation_explains_equity_moves_of_the_starting_base() -> None:
    fills = np.zeros(0, FILL_DTYPE)
    equity = driver_equity(fills, INITIAL, [0.0, 1.0], [(60_000.0, 60_000.0), (61_000.0, 60_500.0)])
    s = summarize(fills, equity, INITIAL, {})
    assert s.total.pnl == pytest.approx(0.0, abs=1e-9)  # no trade, no trading PnL
    assert s.risk.holdings_revaluation == pytest.approx(0.05 * 1000 + 0.05 * 500)
    assert s.risk.final_equity - s.risk.initial_equity == pytest.approx(s.risk.holdings_revaluation)


# --- inputs ---------------------------------------------------------------------------------------


def test_bad_inputs_are_refused_with_a_reason() -> None:
    fills, equity = scenario()
    with pytest.raises(ValueError, match="no sample"):
        summarize(fills, equity[:0], INITIAL, {})
    bad = fills.copy()
    bad["venue"][3] = 2
    with pytest.raises(ValueError, match=r"venue must be one of .* row 3 has 2"):
        summarize(bad, equity, INITIAL, {})
    with pytest.raises(ValueError, match="missing"):
        summarize(np.zeros(1, [("price", "f8")]), equity, INITIAL, {})
    with pytest.raises(ValueError, match="expected 2 finite numbers"):
        InitialBalances(base=(0.0,), quote=(1.0, 1.0))  # type: ignore[arg-type]


def test_initial_balances_from_the_config(tmp_path: Path) -> None:
    path = write_config_files(
        tmp_path,
        binance_overrides={"account": {"base": 0.5, "quote": 2000.0}},
        bybit_overrides={"account": {"base": 0.25, "quote": 3000.0}},
    )
    assert InitialBalances.from_config(load_config(path)) == InitialBalances(base=(0.5, 0.25), quote=(2000.0, 3000.0))


# --- files ----------------------------------------------------------------------------------------


def no_nan(text: str) -> Any:
    def refuse(constant: str) -> None:
        raise AssertionError(f"summary.json holds {constant}")

    return json.loads(text, parse_constant=refuse)


def test_write_report_writes_its_files(tmp_path: Path, charts: None) -> None:
    fills, equity = scenario()
    s = summarize(fills, equity, INITIAL, {"mode": "backtest"})
    paths = write_report(tmp_path / "out", s, fills, equity)
    names = (TRADES_CSV, EQUITY_NPZ, EQUITY_PNG, INVENTORY_CSV, SUMMARY_JSON)
    assert paths == [tmp_path / "out" / name for name in names]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(names)
    png = (tmp_path / "out" / EQUITY_PNG).read_bytes()
    assert png.startswith(PNG_MAGIC) and len(png) > 10_000
    # the samples are kept as they were, for the periodic reports' drawdown
    kept = read_equity_npz(tmp_path / "out" / EQUITY_NPZ)
    assert kept.dtype == equity_dtype(2) and np.array_equal(kept, equity)
    assert len(read_equity_npz(tmp_path / "nothing" / EQUITY_NPZ)) == 0  # an older report: none
    (tmp_path / "bad.npz").write_bytes(b"not an archive")
    with pytest.raises(ValueError, match="not an equity file of a report"):
        read_equity_npz(tmp_path / "bad.npz")


def test_arb_charts_0_leaves_equity_png_out_and_a_bad_value_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fills, equity = scenario()
    s = summarize(fills, equity, INITIAL, {"mode": "backtest"})
    out = tmp_path / "out"
    monkeypatch.setenv("ARB_CHARTS", "1")
    assert EQUITY_PNG in [p.name for p in write_report(out, s, fills, equity)]
    monkeypatch.setenv("ARB_CHARTS", "0")
    paths = write_report(out, s, fills, equity)  # into the same folder: the older equity.png goes
    names = (TRADES_CSV, EQUITY_NPZ, INVENTORY_CSV, SUMMARY_JSON)
    assert paths == [out / name for name in names]
    assert sorted(p.name for p in out.iterdir()) == sorted(names)
    assert write_report(tmp_path / "drawn", s, fills, equity, draw=True)[2].name == EQUITY_PNG  # asked for
    monkeypatch.setenv("ARB_CHARTS", "no")
    assert main(["check"]) == 2
    assert "ARB_CHARTS: expected 0 (no equity.png) or 1, got 'no'" in capsys.readouterr().err


def test_summary_json_round_trips_without_nan(tmp_path: Path) -> None:
    config = load_config(write_config_files(tmp_path / "config"))
    meta = {
        "mode": "backtest",
        "config": config.to_dict(),
        "start_ns": np.int64(ns(0)),
        "end_ns": ns(10),
        "days": 10 / 86_400,
        "sync_losses": np.array([1, 0]),
        "wall_s": math.nan,
        "recordings": tmp_path / "recordings",
    }
    fills, equity = scenario()
    s = summarize(fills, equity[:2], INITIAL, meta)  # two samples: ratios undefined, must still be JSON
    write_report(tmp_path / "out", s, fills, equity[:2])
    data = no_nan((tmp_path / "out" / SUMMARY_JSON).read_text())
    assert data == json.loads(json.dumps(s.to_dict()))
    assert data["schema"] == SCHEMA_VERSION
    assert data["meta"]["config"] == json.loads(json.dumps(config.to_dict()))
    assert data["meta"]["start_ns"] == ns(0) and isinstance(data["meta"]["start_ns"], int)
    assert data["meta"]["sync_losses"] == [1, 0] and data["meta"]["wall_s"] is None
    assert data["meta"]["recordings"] == str(tmp_path / "recordings")
    assert data["total"]["fills"] == 9 and isinstance(data["total"]["fills"], int)
    assert data["venues"]["bybit"]["hedge_fills"] == 1
    assert data["pairs"]["pairs"] == 4 and data["risk"]["ratios_defined"] is False
    assert data["initial"] == {"base": [0.05, 0.05], "quote": [10_000.0, 10_000.0]}


def test_undefined_figures_are_null_in_json(tmp_path: Path, charts: None) -> None:
    fills = np.zeros(0, FILL_DTYPE)
    equity = curve([1000.0])
    s = summarize(fills, equity, FLAT, {})
    write_report(tmp_path, s, fills, equity)
    data = no_nan((tmp_path / SUMMARY_JSON).read_text())
    assert data["pairs"]["spread_bps"] is None and data["pairs"]["win_rate"] is None
    assert data["total"]["holding_time_s"] is None and data["risk"]["sample_interval_s"] is None
    assert data["risk"]["sharpe"] is None and data["risk"]["ratios_defined"] is False
    assert (tmp_path / EQUITY_PNG).read_bytes().startswith(PNG_MAGIC)


def test_trades_csv_names_and_times(tmp_path: Path) -> None:
    fills, equity = scenario()
    write_report(tmp_path, summarize(fills, equity, INITIAL, {}), fills, equity, symbols=["BTCUSDT"])
    with (tmp_path / TRADES_CSV).open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == TRADES_HEADER
    assert rows[0] == {
        "time": "2024-08-08T00:00:01.000000000Z",
        "local_ts": str(ns(1)),
        "exch_time": "2024-08-08T00:00:00.995000000Z",
        "venue": "binance",
        "side": "buy",
        "price": "60000.0",
        "qty": "0.01",
        "fee": "0.6",
        "pair_id": "1",
        "kind": "open",
        "order_id": "11",
        "symbol": "BTCUSDT",
    }
    assert [r["kind"] for r in rows] == ["open"] * 3 + ["hedge", "open", "unwind"] + ["open"] * 3
    assert [r["venue"] for r in rows[:2]] == ["binance", "bybit"] and rows[1]["side"] == "sell"


def test_trades_csv_reads_back_exactly(tmp_path: Path) -> None:
    fills, equity = scenario()
    fills["price"][0] = 60_000.123456789012  # full float precision survives
    fills["local_ts"][0] += 7  # and nanoseconds
    fills["symbol"][1] = 1  # another symbol's fill, named in the file and numbered back by name
    write_report(tmp_path, summarize(fills, equity, INITIAL, {}), fills, equity, symbols=["BTCUSDT", "ETHUSDT"])
    back = read_trades_csv(tmp_path / TRADES_CSV, ["BTCUSDT", "ETHUSDT"])
    assert back.dtype == FILL_DTYPE and np.array_equal(back, fills)
    old = tmp_path / "old.csv"  # written before the symbol column: one symbol's
    lines = (tmp_path / TRADES_CSV).read_text().splitlines()
    old.write_text("\n".join(line.rsplit(",", 1)[0] for line in lines) + "\n")
    assert np.array_equal(read_trades_csv(old)["symbol"], np.zeros(len(fills), np.int64))


def _recomputing_sketches() -> list[str]:
    # the Python blocks of docs/reports.md's "Recomputing the PnL from trades.csv", as a user pastes them
    text = (ROOT / "docs" / "reports.md").read_text()
    section = text[text.index("### Recomputing the PnL from trades.csv") :]
    section = section[: section.index("\n## ")]
    return re.findall(r"```python\n(.*?)```", section, re.DOTALL)


def test_pnl_recomputed_from_trades_csv_matches_the_summary_to_the_cent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fills, equity = scenario()
    s = summarize(fills, equity, INITIAL, {})
    # where arb backtest writes its report by default, beside an older one the sketch must not read
    older, run = tmp_path / "results" / "backtest-20240808-101500", tmp_path / "results" / "backtest-20240809-090000"
    write_report(older, summarize(fills[:0], equity, INITIAL, {}), fills[:0], equity)
    write_report(run, s, fills, equity)
    final_mid = [v.final_mid for v in s.venues]
    assert pnl_from_trades_csv(run / TRADES_CSV, final_mid) == pytest.approx(s.total.pnl, abs=0.005)
    # the same by hand, as docs/reports.md tells a user to do it: its sketch, run as pasted from the
    # project folder (before: it opened results/summary.json, where no report is, FileNotFoundError)
    by_hand, several = _recomputing_sketches()
    monkeypatch.chdir(tmp_path)
    exec(compile(by_hand, "docs/reports.md", "exec"), {})  # the doc's own code
    assert capsys.readouterr().out.split() == ["0.32", "0.32"]  # by hand, then summary.json's total.pnl
    assert round(s.total.pnl, 2) == round(s.total.pnl_from_fills, 2) == 0.32
    assert 'run / "trades.csv"' in several and "results/" not in several  # the folder the sketch found


def test_pnl_from_fills_needs_a_mid_only_where_the_position_changed() -> None:
    fills = make_fills((1.0, BYBIT, BUY, 100.0, 1.0, 0.5, 1, INTENT_OPEN, 1))
    assert pnl_from_fills(fills, (math.nan, 101.0)) == pytest.approx(0.5)
    assert pnl_from_fills(fills, (None, 101.0)) == pytest.approx(0.5)  # summary.json's null
    assert pnl_from_fills(fills, (100.0, math.nan)) is None


def test_read_trades_csv_refuses_another_file(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="expected the header"):
        read_trades_csv(path)
    path.write_text(",".join(TRADES_HEADER) + "\n" + "x," * 10 + "\n")
    with pytest.raises(ValueError, match="line 2"):
        read_trades_csv(path)


# --- atomic writes --------------------------------------------------------------------------------


def test_an_error_midway_through_trades_csv_leaves_the_old_file(tmp_path: Path, monkeypatch) -> None:
    fills, equity = scenario()
    s = summarize(fills, equity, INITIAL, {})
    (tmp_path / TRADES_CSV).write_text("the previous report\n")
    real_row = report_files._csv_row
    calls = []

    def failing_row(*args: Any) -> list[str]:
        calls.append(1)
        if len(calls) == 5:
            raise OSError("disk full")
        return real_row(*args)

    monkeypatch.setattr(report_files, "_csv_row", failing_row)
    with pytest.raises(OSError, match="disk full"):
        write_report(tmp_path, s, fills, equity)
    assert (tmp_path / TRADES_CSV).read_text() == "the previous report\n"
    assert [p.name for p in tmp_path.iterdir()] == [TRADES_CSV]  # no temporary file, nothing else


def test_ctrl_c_while_saving_the_plot_leaves_no_partial_png(tmp_path: Path, monkeypatch, charts: None) -> None:
    from matplotlib.figure import Figure

    fills, equity = scenario()
    s = summarize(fills, equity, INITIAL, {})

    def interrupted(self: Figure, f: io.BufferedWriter, **kwargs: Any) -> None:
        f.write(PNG_MAGIC + b"half an image")
        raise KeyboardInterrupt

    monkeypatch.setattr(Figure, "savefig", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_report(tmp_path, s, fills, equity)
    assert sorted(p.name for p in tmp_path.iterdir()) == [EQUITY_NPZ, TRADES_CSV]  # written before; no png, no summary


# --- the terminal table ---------------------------------------------------------------------------


def test_print_summary_shows_the_figures_per_venue() -> None:
    out = io.StringIO()
    print_summary(scenario_summary(), Console(file=out, width=140))
    text = out.getvalue()
    assert "arb backtest" in text
    for heading in ("Total", "Binance", "Bybit", "net PnL, equity", "win rate", "Sharpe", "max drawdown"):
        assert heading in text
    assert "0.3214" in text and "50.00%" in text
    assert "disagree" not in text


def test_print_summary_warns_about_an_inconsistent_run_and_undefined_ratios() -> None:
    fills, equity = scenario()
    equity["equity"][-1] += 1.0
    out = io.StringIO()
    print_summary(summarize(fills, equity[-2:], INITIAL, {}), Console(file=out, width=140))
    text = out.getvalue()
    assert "disagree" in text and "ratios need at least 3" in text and "n/a" in text
