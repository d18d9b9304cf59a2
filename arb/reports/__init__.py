"""Periodic reports: ``arb report --period day|week|month`` over a backtest's results, a paper
account or the live journal, as one self-contained HTML file; and the daily report a running session
writes at the UTC day boundary (:func:`write_daily_report`).

    source = load_source("paper", state_dir=Path("paper"), results=Path("results"))
    report = build_report(source, "week", dt.date(2024, 8, 8))   # the week from Monday 2024-08-05
    write_html(report, Path("week.html"))

``docs/reports.md`` ("Periodic reports") says how each figure is computed over a period.
"""

from arb.reports.command import add_parser, build_report, load_source, write_daily_report, write_html
from arb.reports.figures import (
    PERIODS,
    SAMPLE_INTERVAL_NS,
    Period,
    PeriodReport,
    VenueRow,
    compute_period,
    equity_at,
    period_of,
)
from arb.reports.html import render_html
from arb.reports.sources import SOURCES, Mark, SourceData, load_backtest, load_live, load_paper

__all__ = [
    "PERIODS",
    "SAMPLE_INTERVAL_NS",
    "SOURCES",
    "Mark",
    "Period",
    "PeriodReport",
    "SourceData",
    "VenueRow",
    "add_parser",
    "build_report",
    "compute_period",
    "equity_at",
    "load_backtest",
    "load_live",
    "load_paper",
    "load_source",
    "period_of",
    "render_html",
    "write_daily_report",
    "write_html",
]
