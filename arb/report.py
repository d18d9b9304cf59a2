"""The run report's old module: every name it had, re-exported from where it lives now. Import from
there; this module goes once every caller has moved.

Where each name went:

- :mod:`arb.reports.summary`: ``SCHEMA_VERSION``, ``Figures``, ``Summary``, ``SymbolSummary``,
  ``summarize``, ``run_summary``.
- :mod:`arb.reports.pnl`: ``PNL_TOLERANCE``, ``PairFigures``, ``LegFigures``, ``pnl_from_fills``,
  ``leg_figures``, ``run_leg_figures``, ``symbol_leg_figures``, ``combined_leg_figures``.
- :mod:`arb.reports.valuation`: ``InitialBalances``, ``AccountEquity``, ``account_equity``,
  ``boundary_marks``, ``unit_value``, ``value_prices``.
- :mod:`arb.reports.risk`: ``MIN_RATIO_SPAN_S``, ``SECONDS_PER_YEAR``, ``RiskFigures``.
- :mod:`arb.reports.files`: ``SUMMARY_JSON``, ``TRADES_CSV``, ``FUNDING_CSV``, ``EQUITY_NPZ``,
  ``EQUITY_PNG``, ``TRADES_HEADER``, ``FUNDING_HEADER``, ``write_report``, ``read_trades_csv``,
  ``read_equity_npz``, ``read_funding_csv``, ``pnl_from_trades_csv``.
- :mod:`arb.reports.charts`: ``ChartData``, ``SymbolChart``, ``chart_data``, ``equity_figure``,
  ``fill_spread_bps``, ``fill_stack_levels``.
- :mod:`arb.reports.console`: ``print_summary``.
- :mod:`arb.reports.common`: ``QTY_EPS``.
- :mod:`arb.runtime.marks` (what the drivers make): ``NS_PER_DAY``, ``Span``, ``Spans``,
  ``BoundaryMark``, ``out_of_sync_spans``.
- :mod:`arb.runtime.pairs` (the dry run's account line counts them too): ``pair_pnl``, ``pairs_won``,
  ``pairs_text``.
"""

from __future__ import annotations

from arb.reports.charts import ChartData, SymbolChart, chart_data, equity_figure, fill_spread_bps, fill_stack_levels
from arb.reports.common import QTY_EPS
from arb.reports.console import print_summary
from arb.reports.files import (
    EQUITY_NPZ,
    EQUITY_PNG,
    FUNDING_CSV,
    FUNDING_HEADER,
    SUMMARY_JSON,
    TRADES_CSV,
    TRADES_HEADER,
    pnl_from_trades_csv,
    read_equity_npz,
    read_funding_csv,
    read_trades_csv,
    write_report,
)
from arb.reports.pnl import (
    PNL_TOLERANCE,
    LegFigures,
    PairFigures,
    combined_leg_figures,
    leg_figures,
    pnl_from_fills,
    run_leg_figures,
    symbol_leg_figures,
)
from arb.reports.risk import MIN_RATIO_SPAN_S, SECONDS_PER_YEAR, RiskFigures
from arb.reports.summary import SCHEMA_VERSION, Figures, Summary, SymbolSummary, run_summary, summarize
from arb.reports.valuation import (
    AccountEquity,
    InitialBalances,
    account_equity,
    boundary_marks,
    unit_value,
    value_prices,
)
from arb.runtime.marks import NS_PER_DAY, BoundaryMark, Span, Spans, out_of_sync_spans
from arb.runtime.pairs import pair_pnl, pairs_text, pairs_won

__all__ = [
    "EQUITY_NPZ",
    "EQUITY_PNG",
    "FUNDING_CSV",
    "FUNDING_HEADER",
    "MIN_RATIO_SPAN_S",
    "NS_PER_DAY",
    "PNL_TOLERANCE",
    "QTY_EPS",
    "SCHEMA_VERSION",
    "SECONDS_PER_YEAR",
    "SUMMARY_JSON",
    "TRADES_CSV",
    "TRADES_HEADER",
    "AccountEquity",
    "BoundaryMark",
    "ChartData",
    "Figures",
    "InitialBalances",
    "LegFigures",
    "PairFigures",
    "RiskFigures",
    "Span",
    "Spans",
    "Summary",
    "SymbolChart",
    "SymbolSummary",
    "account_equity",
    "boundary_marks",
    "chart_data",
    "combined_leg_figures",
    "equity_figure",
    "fill_spread_bps",
    "fill_stack_levels",
    "leg_figures",
    "out_of_sync_spans",
    "pair_pnl",
    "pairs_text",
    "pairs_won",
    "pnl_from_fills",
    "pnl_from_trades_csv",
    "print_summary",
    "read_equity_npz",
    "read_funding_csv",
    "read_trades_csv",
    "run_leg_figures",
    "run_summary",
    "summarize",
    "symbol_leg_figures",
    "unit_value",
    "value_prices",
    "write_report",
]
