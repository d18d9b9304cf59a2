"""The run's risk figures: Sharpe and Sortino ratios and the drawdown of the trading-PnL curve.

The curve is each equity sample minus the starting balances valued at that sample's mids, so the
market moving the coins one started with is neither a return nor a drawdown. Money in quote
currency, times in int64 ns unless a name ends in ``_s``.
"""

from __future__ import annotations

__all__ = [
    "DAYS_PER_YEAR",
    "MIN_RATIO_SPAN_S",
    "SECONDS_PER_YEAR",
    "RiskFigures",
    "account_risk_figures",
    "held_values",
    "risk_figures",
]

import math
from dataclasses import dataclass
from typing import Final

import numpy as np

from arb.events import NS_PER_S
from arb.reports.common import Array, JsonFigures, duration_text, first_finite, none_to_nan
from arb.reports.valuation import AccountEquity, InitialBalances

DAYS_PER_YEAR: Final = 365

SECONDS_PER_YEAR: Final = DAYS_PER_YEAR * 86_400

MIN_RATIO_SPAN_S: Final = 30 * 86_400
"""Shortest span of equity samples, seconds (30 days), on which the annualised Sharpe and Sortino
ratios are shown. An annualised ratio estimated from T years of returns has a standard error of about
``1 / sqrt(T)`` whatever the sampling interval (Lo 2002, i.i.d. returns): ±3.5 at 30 days, ±19 at one
day, ±220 at 11 minutes, where a figure like 162 says nothing. A month also covers every hour of the
day and day of the week the market trades. On a shorter span both are None, with the reason in
``ratios_note`` and the standard error in ``sharpe_stderr``."""


@dataclass(frozen=True, slots=True)
class RiskFigures(JsonFigures):
    """Figures of the trading-PnL curve: each equity sample minus the starting balances valued at that
    sample's mids (samples with finite equity and mids only). Holding the starting coins is the
    benchmark, so a market move of the inventory one started with is neither a return nor a drawdown.

    Attributes:
        samples: Equity samples used.
        sample_interval_s: Median time between samples, seconds; None with fewer than 2 samples.
        initial_equity: Starting balances valued at the first known mid, quote currency: the capital
            that returns are measured against.
        final_equity: ``equity`` of the last sample, quote currency.
        holdings_revaluation: Starting base valued at the final mid minus at the first mid, quote
            currency: ``final_equity - initial_equity == pnl + holdings_revaluation``.
        span_s: Time from the first to the last sample used, seconds (0 with fewer than 2).
        sharpe: Annualised Sharpe ratio (365-day year) of the per-sample returns, each the change of
            trading PnL over ``initial_equity``; None when undefined or not meaningful.
        sortino: Annualised Sortino ratio (downside deviation against 0); None when undefined or not
            meaningful.
        sharpe_defined: False with fewer than 3 samples, zero variance or no positive initial equity.
        sortino_defined: False in the same cases and when no sample lost money.
        ratios_defined: ``sharpe_defined and sortino_defined``.
        ratios_meaningful: ``span_s >= MIN_RATIO_SPAN_S``: only then are ``sharpe`` and ``sortino``
            given (a ratio annualised from minutes is noise, see :data:`MIN_RATIO_SPAN_S`).
        sharpe_stderr: Approximate standard error of the annualised Sharpe ratio,
            ``sqrt((1 + s**2 / 2) / returns) * sqrt(samples_per_year)`` with ``s`` the per-sample
            ratio (Lo 2002, i.i.d. returns), whether or not the span is long enough; None when the
            Sharpe ratio is undefined.
        ratios_note: Why a ratio is undefined or not meaningful ("" when both are given).
        max_drawdown: Largest fall of trading PnL below its running peak, quote currency (>= 0).
        max_drawdown_frac: That fall as a fraction of the capital at the peak (``initial_equity`` plus
            the peak PnL), >= 0.
    """

    samples: int
    sample_interval_s: float | None
    initial_equity: float | None
    final_equity: float | None
    holdings_revaluation: float | None
    span_s: float
    sharpe: float | None
    sortino: float | None
    sharpe_defined: bool
    sortino_defined: bool
    ratios_defined: bool
    ratios_meaningful: bool
    sharpe_stderr: float | None
    ratios_note: str
    max_drawdown: float
    max_drawdown_frac: float


def risk_figures(equity: Array, initial: InitialBalances, final_mid: Array) -> RiskFigures:
    # The curve is trading PnL: equity minus the starting balances valued at the same sample's mids,
    # so the market moving the coins one started with is neither a return nor a drawdown.
    held = np.array([none_to_nan(initial.equity(m)) for m in equity["mid"]], dtype=float)
    first_mid = first_finite(equity["mid"])
    return _curve_figures(equity["ts"], equity["equity"], held, initial.equity(first_mid), initial.equity(final_mid))


def account_risk_figures(
    series: AccountEquity, initial: InitialBalances, first_mids: Array, final_mids: Array
) -> RiskFigures:
    # The account's curve with several symbols: the account series minus every symbol's part of the
    # starting balances at that symbol's mids of the sample.
    held = held_values(series.mid, initial)
    return _curve_figures(series.ts, series.equity, held, initial.equity(first_mids), initial.equity(final_mids))


def held_values(mid: Array, initial: InitialBalances) -> Array:
    # The starting balances at each sample's mids (``mid``: samples x symbols x venues), NaN where a
    # base held has no mid: InitialBalances.equity over a whole series.
    held: Array = np.zeros(len(mid))
    for s in range(initial.n_symbols):
        part = initial.symbol(s)
        for v in range(part.n_venues):
            base = part.base[v]
            value = np.zeros(len(mid)) if base == 0 else base * mid[:, s, v]
            held = held + (part.quote[v] + value)
    return held


def _curve_figures(
    ts: Array, equity: Array, held: Array, initial_equity: float | None, final_value: float | None
) -> RiskFigures:
    # RiskFigures of the trading-PnL curve ``equity - held`` (samples where both are finite);
    # ``initial_equity``: the starting balances at the first mids, ``final_value`` at the final ones.
    finite = np.isfinite(equity) & np.isfinite(held)
    ts, eq = ts[finite], equity[finite] - held[finite]
    first_value = initial_equity
    revaluation = None if final_value is None or first_value is None else final_value - first_value
    interval_ns = float(np.median(np.diff(ts))) if len(ts) >= 2 else None

    max_dd, max_dd_frac = 0.0, 0.0
    if len(eq):
        peak = np.maximum.accumulate(eq)
        drawdown = peak - eq
        max_dd = float(drawdown.max())
        capital = (initial_equity or 0.0) + peak
        with np.errstate(divide="ignore", invalid="ignore"):
            max_dd_frac = float(np.where(capital > 0, drawdown / capital, 0.0).max())

    span_s = float(ts[-1] - ts[0]) / NS_PER_S if len(ts) >= 2 else 0.0
    sharpe, sortino, stderr = 0.0, 0.0, None
    sharpe_note, sortino_note = "", ""
    if len(eq) < 3:
        sharpe_note = f"{len(eq)} equity samples, ratios need at least 3"
    elif interval_ns is None or interval_ns <= 0:
        sharpe_note = "the equity samples share one timestamp"
    elif initial_equity is None or initial_equity <= 0:
        sharpe_note = "the initial equity is not positive"
    else:
        returns = np.diff(eq) / initial_equity
        annual = math.sqrt(SECONDS_PER_YEAR * NS_PER_S / interval_ns)
        mean = float(np.mean(returns))
        deviation = float(np.std(returns, ddof=1))
        downside = math.sqrt(float(np.mean(np.minimum(returns, 0.0) ** 2)))
        if deviation <= 1e-9 * float(np.abs(returns).max()):  # equal returns, up to float noise
            sharpe_note = "the returns have zero variance"
        else:
            per_sample = mean / deviation
            sharpe = per_sample * annual
            stderr = math.sqrt((1 + per_sample**2 / 2) / len(returns)) * annual
            if downside > 0:
                sortino = mean / downside * annual
            else:
                sortino_note = "no sample lost money, Sortino undefined"
    if sharpe_note:  # whatever stops Sharpe stops Sortino too
        sortino_note = sharpe_note
    meaningful = span_s >= MIN_RATIO_SPAN_S
    note = sortino_note  # it repeats sharpe_note when that is set
    if not meaningful and not sharpe_note:
        note = (
            f"not meaningful on {duration_text(span_s)} of samples: annualised ratios need "
            f"{duration_text(MIN_RATIO_SPAN_S)} (their standard error here is about ±{stderr:,.0f})"
        )
    return RiskFigures(
        samples=len(eq),
        sample_interval_s=None if interval_ns is None else interval_ns / NS_PER_S,
        initial_equity=initial_equity,
        final_equity=float(equity[finite][-1]) if len(eq) else None,
        holdings_revaluation=revaluation,
        span_s=span_s,
        sharpe=sharpe if meaningful and not sharpe_note else None,
        sortino=sortino if meaningful and not sortino_note else None,
        sharpe_defined=not sharpe_note,
        sortino_defined=not sortino_note,
        ratios_defined=not sharpe_note and not sortino_note,
        ratios_meaningful=meaningful,
        sharpe_stderr=stderr,
        ratios_note=note,
        max_drawdown=max_dd,
        max_drawdown_frac=max_dd_frac,
    )
