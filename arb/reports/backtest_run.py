"""A backtest's result as its report: the summary and the orders' rows, built once for every caller
(``arb backtest``, the notebook entry :func:`arb.notebook.backtest`), so the terminal, the files and a
notebook show the same figures."""

from __future__ import annotations

__all__ = ["backtest_meta", "backtest_summary"]

from typing import TYPE_CHECKING, Any

import numpy as np

from arb.config import AppConfig
from arb.reports.sent_orders import backtest_orders
from arb.reports.summary import Summary, run_summary
from arb.reports.valuation import InitialBalances

if TYPE_CHECKING:
    from arb.backtest.run import BacktestResult


def backtest_meta(config: AppConfig, result: BacktestResult) -> dict[str, Any]:
    """The run's meta data as summary.json keeps it: the configuration, the strategy and its parameters, the
    data range, the counters, the kernel's and the gate's figures."""
    meta = {
        "mode": "backtest",
        "config": config.to_dict(),
        "strategy": result.strategy,
        "days": len(result.days),
        "dates": [f"{d:%Y-%m-%d}" for d in result.days],
        "duration_s": (result.end_ns - result.start_ns) / 1e9,
        "start_ns": result.start_ns,
        "end_ns": result.end_ns,
        "local_shift_ns": result.local_shift_ns,
        "rows": result.rows,
        "sync_losses": result.sync_losses,
        "counters": result.counters,
        "kernel_state": result.kernel_state,
        "risk_state": result.risk_state,
        "wall_s": round(result.wall_s, 3),
    }
    if len(result.symbols) > 1:  # each symbol's kernel and gate (the fields above are the first symbol's)
        meta |= {"kernel_states": result.kernel_states, "symbol_risk": result.symbol_risk}
    return meta


def backtest_summary(config: AppConfig, result: BacktestResult) -> tuple[Summary, np.ndarray[Any, Any]]:
    """Every figure of the run (:func:`arb.reports.summary.run_summary`) and the orders it sent as
    orders.csv's rows (:func:`arb.reports.sent_orders.backtest_orders`)."""
    initial = InitialBalances.of_symbols(result.initial_base_by_symbol or [result.initial_base], result.initial_quote)
    summary = run_summary(
        config,
        result.fills,
        result.equity,
        initial,
        backtest_meta(config, result),
        out_of_sync=result.out_of_sync_by_symbol or [result.out_of_sync],
        sent=result.sent,
        kernel_flags=[state.get("flags", 0) for state in result.kernel_states] or [result.kernel_state.get("flags", 0)],
        funding=result.funding,
        day_marks=result.day_marks,
        calls=result.calls,
        inventory=result.inventory,
        transfers=result.transfers,
    )
    orders = backtest_orders(result.sent, result.fills, result.counters["submit_errors"], config.venues)
    return summary, orders
