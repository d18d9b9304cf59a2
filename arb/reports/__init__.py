"""Reports: what a run made, and what a day, a week or a month of trading made.

The report of a run (``arb backtest``, ``arb dry-run``, ``arb live``, a sweep's runs)::

    summary = run_summary(config, fills, equity, InitialBalances.from_config(config), meta)
    write_report(out_dir, summary, fills, equity)   # trades.csv, equity.npz, equity.png, inventory.csv, summary.json
    print_summary(summary)

- :mod:`arb.reports.summary`: every figure of a run (:func:`summarize`, :func:`run_summary`);
- :mod:`arb.reports.pnl`: PnL from fills, FIFO holding times, the pairs, the legs;
- :mod:`arb.reports.valuation`: the starting balances, the account's equity series, the marks;
- :mod:`arb.reports.ratios`: Sharpe, Sortino and drawdown of the trading-PnL curve;
- :mod:`arb.reports.files`: the report's files, written atomically and read back exactly;
- :mod:`arb.reports.charts`: equity.png; :mod:`arb.reports.console`: the terminal table.

The periodic reports: ``arb report --period day|week|month`` over a backtest's results, a paper
account or the live journal, as one self-contained HTML file; and the daily report a running session
writes at the UTC day boundary (:func:`write_daily_report`)::

    source = load_source("paper", state_dir=Path("paper"), results=Path("results"))
    report = build_report(source, "week", dt.date(2024, 8, 8))   # the week from Monday 2024-08-05
    write_html(report, Path("week.html"))

- :mod:`arb.reports.periodic` (the entry points), :mod:`arb.reports.sources` (reading a source),
  :mod:`arb.reports.figures` (a period's figures), :mod:`arb.reports.html` (the page),
  :mod:`arb.reports.command` (``arb report``).

``docs/reports.md`` gives the formula of every figure, over a run and over a period.
"""

from __future__ import annotations

__all__ = [
    "PERIODS",
    "SAMPLE_INTERVAL_NS",
    "SOURCES",
    "InitialBalances",
    "Mark",
    "Period",
    "PeriodReport",
    "SourceData",
    "Summary",
    "VenueRow",
    "build_report",
    "compute_period",
    "equity_at",
    "load_backtest",
    "load_live",
    "load_paper",
    "load_source",
    "period_of",
    "print_summary",
    "render_html",
    "run_summary",
    "summarize",
    "write_daily_report",
    "write_html",
    "write_report",
]

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from arb.reports.console import print_summary
    from arb.reports.figures import (
        SAMPLE_INTERVAL_NS,
        Period,
        PeriodReport,
        VenueRow,
        compute_period,
        equity_at,
        period_of,
    )
    from arb.reports.files import write_report
    from arb.reports.html import render_html
    from arb.reports.names import PERIODS, SOURCES
    from arb.reports.periodic import build_report, load_source, write_daily_report, write_html
    from arb.reports.sources import Mark, SourceData, load_backtest, load_live, load_paper
    from arb.reports.summary import Summary, run_summary, summarize
    from arb.reports.valuation import InitialBalances

_HOME = {
    **dict.fromkeys(("PERIODS", "SOURCES"), "arb.reports.names"),
    **dict.fromkeys(("print_summary",), "arb.reports.console"),
    **dict.fromkeys(
        (
            "SAMPLE_INTERVAL_NS",
            "Period",
            "PeriodReport",
            "VenueRow",
            "compute_period",
            "equity_at",
            "period_of",
        ),
        "arb.reports.figures",
    ),
    **dict.fromkeys(("write_report",), "arb.reports.files"),
    **dict.fromkeys(("render_html",), "arb.reports.html"),
    **dict.fromkeys(("build_report", "load_source", "write_daily_report", "write_html"), "arb.reports.periodic"),
    **dict.fromkeys(("Mark", "SourceData", "load_backtest", "load_live", "load_paper"), "arb.reports.sources"),
    **dict.fromkeys(("Summary", "run_summary", "summarize"), "arb.reports.summary"),
    **dict.fromkeys(("InitialBalances",), "arb.reports.valuation"),
}
"""Where each public name lives: the package imports it when first used, so ``arb report --help``
(:mod:`arb.reports.command`, in this package) answers without loading numpy's figures, SQLAlchemy or
matplotlib."""


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(_HOME[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
