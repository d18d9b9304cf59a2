"""The results report shared by ``arb backtest`` and ``arb dry-run``: figures, files and a table.

A driver records two arrays while it runs (see :mod:`arb.strategy.types`): ``fills`` (``FILL_DTYPE``,
one row per fill) and ``equity`` (``EQUITY_DTYPE``, one sample per fixed interval of local time). At
the end it calls::

    summary = summarize(fills, equity, InitialBalances.from_config(config), meta)
    write_report(out_dir, summary, fills, equity)   # summary.json, trades.csv, equity.png
    print_summary(summary)

Units: prices and money in quote currency (USDT), quantities in base units (BTC), times in int64
nanoseconds since the Unix epoch (UTC) unless a name ends in ``_s`` (seconds), spreads in basis
points (``_bps``), fractions as plain floats (``0.25`` = 25 %). Figures that cannot be computed (a
mean over nothing, a value at an unknown mid) are ``None``, written ``null`` in JSON; never NaN.

``docs/reports.md`` gives the formula of every figure and how to recompute PnL from trades.csv.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import os
import tempfile
import zipfile
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import UTC
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, BinaryIO, Final

import numpy as np
from rich.console import Console
from rich.table import Table

from arb.events import ASSET_NAMES, BINANCE, BYBIT, NS_PER_S
from arb.strategy.types import (
    BUY,
    EQUITY_DTYPE,
    FILL_DTYPE,
    FUNDING_DTYPE,
    INTENT_HEDGE,
    INTENT_OPEN,
    INTENT_UNWIND,
    SELL,
    SENT_DTYPE,
)

if TYPE_CHECKING:
    from arb.config import AppConfig

__all__ = [
    "EQUITY_NPZ",
    "EQUITY_PNG",
    "FUNDING_CSV",
    "FUNDING_HEADER",
    "MIN_RATIO_SPAN_S",
    "NS_PER_DAY",
    "PNL_TOLERANCE",
    "SCHEMA_VERSION",
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

Array = np.ndarray[Any, np.dtype[Any]]
Span = tuple[int, int]
"""``(start_ns, end_ns)``: a span of local time, end exclusive."""
Spans = tuple[Span, ...]

SUMMARY_JSON: Final = "summary.json"
TRADES_CSV: Final = "trades.csv"
FUNDING_CSV: Final = "funding.csv"
EQUITY_PNG: Final = "equity.png"
EQUITY_NPZ: Final = "equity.npz"
"""The run's equity samples at full resolution (``EQUITY_DTYPE`` rows under the name ``equity``,
compressed NumPy): what a periodic report of the run measures drawdown and ratios on."""
NS_PER_DAY: Final = 86_400 * NS_PER_S
FUNDING_HEADER: Final = ("time", "local_ts", "funding_time", "venue", "symbol", "rate", "mark", "position", "payment")
"""funding.csv (perpetuals): one row per funding payment booked: when (ISO and int64 ns), the venue's
funding time it settles (ISO), venue, symbol, rate, the price the position was valued at, the position
(base units) and the payment (quote: > 0 received)."""
SCHEMA_VERSION: Final = 2
"""``schema`` in summary.json; raised when a figure changes meaning or a key is removed."""

TRADES_HEADER: Final = (
    "time",  # local_ts as ISO-8601 UTC with nanoseconds, e.g. 2024-08-08T00:00:01.250000000Z
    "local_ts",  # the same instant, int64 ns since the epoch
    "exch_time",  # exch_ts as ISO-8601 UTC with nanoseconds
    "venue",  # binance / bybit
    "side",  # buy / sell
    "price",  # quote per base, full float precision
    "qty",  # base units, full float precision
    "fee",  # quote currency, full float precision (negative for a rebate)
    "pair_id",
    "kind",  # open / hedge / unwind
    "order_id",
    "symbol",  # the symbol traded, e.g. BTCUSDT
)
"""Columns of trades.csv, in order (files written before arb traded several symbols end at ``order_id``)."""

PNL_TOLERANCE: Final = 0.01
"""``pnl`` and ``pnl_from_fills`` agree when they differ by at most this much, quote currency (a cent)."""

DAYS_PER_YEAR: Final = 365
SECONDS_PER_YEAR: Final = DAYS_PER_YEAR * 86_400
MIN_RATIO_SPAN_S: Final = 30 * 86_400
"""Shortest span of equity samples, seconds (30 days), on which the annualised Sharpe and Sortino
ratios are shown. An annualised ratio estimated from T years of returns has a standard error of about
``1 / sqrt(T)`` whatever the sampling interval (Lo 2002, i.i.d. returns): ±3.5 at 30 days, ±19 at one
day, ±220 at 11 minutes, where a figure like 162 says nothing. A month also covers every hour of the
day and day of the week the market trades. On a shorter span both are None, with the reason in
``ratios_note`` and the standard error in ``sharpe_stderr``."""
QTY_EPS: Final = 1e-12
"""Base quantities this small are float dust, not inventory (lot sizes are 1e-8 and up)."""

_SIDE_NAMES: Final = {BUY: "buy", SELL: "sell"}
_KIND_NAMES: Final = {INTENT_OPEN: "open", INTENT_HEDGE: "hedge", INTENT_UNWIND: "unwind"}
_VENUES: Final = (BINANCE, BYBIT)


# --------------------------------------------------------------------------------------------------
# Inputs and results


@dataclass(frozen=True, slots=True)
class InitialBalances:
    """Starting balances per venue, indexed by asset number (``[0]`` Binance, ``[1]`` Bybit).

    Attributes:
        base: Base-asset holdings at the start, base units (0 on a linear market); with several
            symbols, the first symbol's.
        quote: Quote balance (spot) or cash (linear) at the start, quote currency: each venue's one
            balance, shared by every symbol.
        bases: Every symbol's starting base per venue, in ``[strategy] symbols`` order, each in its own
            base units (``bases[0] == base``); ``(base,)`` with one symbol. Build it with
            :meth:`of_symbols`.
    """

    base: tuple[float, float]
    quote: tuple[float, float]
    bases: tuple[tuple[float, float], ...] = ()

    def __post_init__(self) -> None:
        for name in ("base", "quote"):
            values = tuple(float(v) for v in getattr(self, name))
            if len(values) != len(_VENUES) or not all(math.isfinite(v) for v in values):
                raise ValueError(f"InitialBalances.{name}: expected two finite numbers (Binance, Bybit), got {values}")
            object.__setattr__(self, name, values)
        bases = tuple(tuple(float(v) for v in pair) for pair in self.bases) or (self.base,)
        for s, pair in enumerate(bases):
            if len(pair) != len(_VENUES) or not all(math.isfinite(v) for v in pair):
                raise ValueError(
                    f"InitialBalances.bases[{s}]: expected two finite numbers (Binance, Bybit), got {pair}"
                )
        if bases[0] != self.base:
            raise ValueError(f"InitialBalances.bases[0] {bases[0]} is not base {self.base}: the first symbol's")
        object.__setattr__(self, "bases", bases)

    @classmethod
    def of_symbols(cls, bases: Sequence[Sequence[float]] | Array, quote: Sequence[float]) -> InitialBalances:
        """Every symbol's starting base per venue (one ``(binance, bybit)`` per symbol) and the venues' quote."""
        rows = [(float(pair[0]), float(pair[1])) for pair in bases]
        if not rows:
            raise ValueError("InitialBalances.of_symbols: expected the base of at least one symbol")
        return cls(rows[0], (float(quote[0]), float(quote[1])), tuple(rows))

    @classmethod
    def from_config(cls, config: AppConfig) -> InitialBalances:
        """The ``[account]`` tables of both venue files (every symbol's base: its own, see ``config.symbols``)."""
        binance, bybit = config.venues
        quote = (binance.account.quote, bybit.account.quote)
        if len(config.symbols) > 1:
            return cls.of_symbols([sym.base for sym in config.symbols], quote)
        return cls(base=(binance.account.base, bybit.account.base), quote=quote)

    @property
    def n_symbols(self) -> int:
        """How many symbols the balances describe."""
        return len(self.bases)

    def symbol(self, s: int) -> InitialBalances:
        """Symbol ``s``'s part of the account, as its equity rows hold it: its own starting base, and the
        venues' starting quote for the first symbol (0 for the others), so the parts add up to the account."""
        quote = self.quote if s == 0 else (0.0, 0.0)
        return InitialBalances(self.bases[s], quote)

    def equity(self, mid: Sequence[float] | Array) -> float | None:
        """Total value of the starting balances at ``mid`` (quote per base, per venue; with several
        symbols one row of mids per symbol); None if unknown."""
        mids = np.asarray(mid, dtype=np.float64)
        if mids.ndim == 2:
            return _sum_or_none(self.symbol(s).equity(mids[s]) for s in range(self.n_symbols))
        return _sum_or_none(self.venue_equity(v, mid[v]) for v in _VENUES)

    def venue_equity(self, venue: int, mid: float) -> float | None:
        """Value of one venue's starting balances at ``mid``, quote currency; None if ``mid`` is needed and unknown."""
        value = _value_at(self.base[venue], mid)
        return None if value is None else self.quote[venue] + value

    def to_dict(self) -> dict[str, Any]:
        """``{"base": [b0, b1], "quote": [q0, q1]}``; with several symbols also ``"bases"``, one pair per symbol."""
        out: dict[str, Any] = {"base": list(self.base), "quote": list(self.quote)}
        if self.n_symbols > 1:
            out["bases"] = [list(pair) for pair in self.bases]
        return out


@dataclass(frozen=True, slots=True)
class Figures:
    """Figures of one venue, or of both together (``name == "total"``): of the account, or of one symbol.

    With several symbols the account's base quantities (``volume``, ``closed_qty``, ``open_qty``,
    ``position``, ``base_balance``) are None: units of different coins do not add up; each symbol's
    figures (:class:`SymbolSummary`) have them.

    Attributes:
        name: ``"binance"``, ``"bybit"`` or ``"total"``.
        pnl: Net PnL from the equity samples: final equity minus the starting balances valued at the
            final mid, quote currency. None when a needed mid or equity is unknown.
        pnl_from_fills: Net PnL from the fills (and funding payments) alone: cash flow minus fees plus
            funding plus the position change valued at the final price (a perpetual's mark, else the
            mid), quote currency. Agrees with ``pnl`` for a consistent run.
        trading_pnl: What the trades made before fees and funding: ``pnl + fees - funding``, quote
            currency (None with ``pnl``). Net PnL is trading PnL minus fees plus funding.
        fees: Sum of fees, quote currency (rebates count negative).
        funding: Funding payments of perpetual positions, quote currency: > 0 received, < 0 paid
            (0 on spot).
        volume: Traded quantity, base units.
        notional: Traded value (price x quantity), quote currency.
        fills: Number of fills.
        hedge_fills: Fills of INTENT_HEDGE orders.
        unwind_fills: Fills of INTENT_UNWIND orders.
        holding_time_s: Quantity-weighted mean time between a FIFO lot's opening fill and the fill that
            closed it, seconds. None when no quantity was closed. With several symbols the account's
            pools every symbol's, each weighted by its closed quantity valued at its final mid.
        closed_qty: Quantity matched buy against sell by FIFO, base units.
        open_qty: Quantity still open at the end (absolute, summed over venues for the total), base units.
        position: Base bought minus sold, base units (the total is the net exposure across venues).
        base_balance: Starting base plus ``position``, base units.
        quote_balance: Starting quote plus cash flow minus fees, quote currency.
        final_mid: Mid used to value inventory, quote per base; None for the total or when unknown.
        out_of_sync_s: Time the venue's book was not synced during the run, seconds (the wait for the
            first snapshot included); for the total, the time at least one venue was not (the union).
        out_of_sync_spans: Number of separate spans of that time.
    """

    name: str
    pnl: float | None
    pnl_from_fills: float | None
    fees: float
    volume: float | None
    notional: float
    fills: int
    hedge_fills: int
    unwind_fills: int
    holding_time_s: float | None
    closed_qty: float | None
    open_qty: float | None
    position: float | None
    base_balance: float | None
    quote_balance: float
    final_mid: float | None
    out_of_sync_s: float
    out_of_sync_spans: int
    funding: float = 0.0
    trading_pnl: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The figures as JSON-safe data (None for undefined)."""
        return _dataclass_dict(self)


@dataclass(frozen=True, slots=True)
class PairFigures:
    """Figures of the arbitrage pairs (a pair = the fills sharing one ``pair_id``).

    Attributes:
        pairs: Distinct pair ids with at least one INTENT_OPEN fill.
        legs_filled: Distinct (venue, order_id) among the OPEN fills: legs that filled at least partly.
        pairs_matched: Pairs whose OPEN buy and OPEN sell quantities are both positive and equal.
        pairs_hedged: Pairs with at least one HEDGE or UNWIND fill.
        fills_outside_pairs: Fills whose pair id has no OPEN fill (counted nowhere else among the pairs).
        spread_bps: Mean over pairs with both OPEN sides filled of (sell VWAP - buy VWAP) / buy VWAP,
            bps; None when no pair has both sides.
        spread_net_bps: The same minus the OPEN fees per unit of each side, in bps of the buy VWAP.
        pairs_won: Pairs whose PnL (:func:`pair_pnl` at the final mid) is > 0: the definition the dry
            run's account line uses too.
        win_rate: ``pairs_won / pairs``; None without pairs.
        pair_pnl_mean: Mean realised PnL per pair, quote currency; None without pairs.
    """

    pairs: int
    legs_filled: int
    pairs_matched: int
    pairs_hedged: int
    fills_outside_pairs: int
    spread_bps: float | None
    spread_net_bps: float | None
    pairs_won: int
    win_rate: float | None
    pair_pnl_mean: float | None

    def to_dict(self) -> dict[str, Any]:
        """The figures as JSON-safe data (None for undefined)."""
        return _dataclass_dict(self)


@dataclass(frozen=True, slots=True)
class RiskFigures:
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

    def to_dict(self) -> dict[str, Any]:
        """The figures as JSON-safe data (None for undefined)."""
        return _dataclass_dict(self)


@dataclass(frozen=True, slots=True)
class LegFigures:
    """Leg risk: the legs the leg-fault model hit (``[leg_faults]``), the lone legs that followed and
    what they cost. Built by :func:`leg_figures` from the fills and the intents sent.

    Attributes:
        rejected: Orders the leg-fault model rejected.
        partial: Orders it let fill only in part.
        late: Orders it delayed.
        lone_legs: Pairs whose opening fills left one side bigger than the other (a leg rejected,
            partly filled, late and missed, or simply not filled): each a lone leg for the kernel.
        hedged: Lone-leg pairs that ended flat, closed last by a hedge (on the venue that missed).
        unwound: Lone-leg pairs that ended flat, closed last by an unwind (where the leg filled).
        open_at_end: Lone-leg pairs still exposed at the end (more than ``dust``).
        given_up: Lone-leg pairs whose ``max_hedge_attempts`` hedge or unwind orders did not close them
            (more were sent, or the leg is still open):
            the kernel raised ``HEDGE_FAILED`` on them (and kept trying; no new pair meanwhile).
        hedge_orders: Hedge and unwind orders sent.
        hedge_failed: The kernel's ``HEDGE_FAILED`` flag at the end of the run.
        exposure: Per venue (asset order), the base the lone-leg pairs still open at the end hold
            there, base units: the naked leg.
        pairs_faulted: Pairs (as in :class:`PairFigures`) with at least one opening leg faulted.
        pairs_clean: The other pairs.
        pnl_faulted: Sum of :func:`pair_pnl` over the faulted pairs, quote currency.
        pnl_clean: The same over the clean pairs.
        pnl_faulted_mean: Mean PnL of a faulted pair; None without one (or at an unknown mid).
        pnl_clean_mean: Mean PnL of a clean pair; None without one.
        pnl_lone_legs: Sum of :func:`pair_pnl` over the lone-leg pairs, hedges and unwinds included.
        cost: What the faults cost: ``(pnl_clean_mean - pnl_faulted_mean) * pairs_faulted``, the PnL
            the faulted pairs fell short of a clean pair's; None when either mean is None.
    """

    rejected: int
    partial: int
    late: int
    lone_legs: int
    hedged: int
    unwound: int
    open_at_end: int
    given_up: int
    hedge_orders: int
    hedge_failed: bool
    exposure: tuple[float, float]
    pairs_faulted: int
    pairs_clean: int
    pnl_faulted: float
    pnl_clean: float
    pnl_faulted_mean: float | None
    pnl_clean_mean: float | None
    pnl_lone_legs: float
    cost: float | None

    @property
    def any(self) -> bool:
        """True when a leg was faulted or a lone leg happened (the table shows the section then)."""
        return bool(self.rejected or self.partial or self.late or self.lone_legs or self.hedge_orders)

    def to_dict(self) -> dict[str, Any]:
        """The figures as JSON-safe data (None for undefined)."""
        return _dataclass_dict(self)


@dataclass(frozen=True)
class SymbolSummary:
    """One symbol's part of a run with several symbols (``Summary.symbols``): its fills valued at its
    own mids, its part of the equity rows. Its PnL, fees, notional and fills add up over the symbols to
    the account's; its quantities are in its own base units.

    Attributes:
        name: The symbol (``"ETHUSDT"``).
        total: Both venues together (``position``: the symbol's net exposure across venues).
        venues: Per venue, in asset order.
        pairs: Its arbitrage pairs.
        initial: Its part of the starting balances (:meth:`InitialBalances.symbol`: its base, and the
            venues' quote only for the first symbol).
        pnl_consistent: ``|total.pnl - total.pnl_from_fills| <= PNL_TOLERANCE``.
        out_of_sync: Per venue, the spans its book was not synced.
        legs: Its leg-risk figures, when the driver gave the intents it sent.
    """

    name: str
    total: Figures
    venues: tuple[Figures, Figures]
    pairs: PairFigures
    initial: InitialBalances
    pnl_consistent: bool
    out_of_sync: tuple[Spans, Spans] = ((), ())
    legs: LegFigures | None = None

    def to_dict(self) -> dict[str, Any]:
        """What summary.json holds under ``symbols.<name>``."""
        return {
            "pnl_consistent": self.pnl_consistent,
            "total": self.total.to_dict(),
            "venues": {f.name: f.to_dict() for f in self.venues},
            "out_of_sync": {
                f.name: [list(span) for span in spans] for f, spans in zip(self.venues, self.out_of_sync, strict=True)
            },
            "pairs": self.pairs.to_dict(),
            **({"legs": self.legs.to_dict()} if self.legs is not None else {}),
            "initial_base": list(self.initial.base),
        }


@dataclass(frozen=True)
class BoundaryMark:
    """The books' mids at one instant of a run: what the positions held then are worth. A periodic
    report values what is carried across a period's boundary at these marks, on both sides of it, so
    the periods of a run add up to the run (:func:`boundary_marks` makes them).

    Attributes:
        at: ``"start"`` (the first sample with every mid known), ``"midnight"`` (a UTC day boundary
            inside the run) or ``"end"`` (the final mids, those ``Figures.final_mid`` values at).
        ts: The instant, int64 ns since the epoch (a midnight: exactly 00:00:00 UTC).
        book_ts: When the mids were taken, int64 ns: for a midnight the last decision before it (the
            books did not change between it and midnight) when the driver recorded it, else the last
            equity sample before midnight; for the start and the end, the sample's time.
        mid: The books' mids, quote per base, shape ``(symbols, 2)`` (venues in asset order); NaN
            where unknown.
        price: What holdings are valued at: a perpetual's mark price, else the mid; same shape.
    """

    at: str
    ts: int
    book_ts: int
    mid: Array
    price: Array

    def to_dict(self, symbols: Sequence[str]) -> dict[str, Any]:
        """``{"at", "ts", "time", "book_ts", "mids": {symbol: {venue: mid}}}``, and ``"prices"`` in the
        same shape where a price differs from its mid (a perpetual's mark); unknown values are null."""

        def by_name(values: Array) -> dict[str, dict[str, float | None]]:
            return {
                str(name): {ASSET_NAMES[v]: _jsonable(float(values[s, v])) for v in _VENUES}
                for s, name in enumerate(symbols)
            }

        out: dict[str, Any] = {
            "at": self.at,
            "ts": int(self.ts),
            "time": _iso_ns(np.array([self.ts], np.int64))[0],
            "book_ts": int(self.book_ts),
            "mids": by_name(self.mid),
        }
        same = (self.price == self.mid) | (np.isnan(self.price) & np.isnan(self.mid))
        if not same.all():
            out["prices"] = by_name(self.price)
        return out


@dataclass(frozen=True)
class Summary:
    """Everything the report says about a run. Built by :func:`summarize`.

    Attributes:
        total: Both venues together.
        venues: Per venue, in asset order (``venues[0]`` Binance, ``venues[1]`` Bybit).
        pairs: Arbitrage-pair figures.
        risk: Equity-curve figures.
        initial: The starting balances.
        pnl_consistent: ``|total.pnl - total.pnl_from_fills| <= PNL_TOLERANCE`` (False if either is None),
            and the same for every symbol.
        meta: The driver's meta data (config, data range, mode, counters), made JSON-safe.
        out_of_sync: Per venue, the spans ``(start_ns, end_ns)`` of local time its book was not synced
            (with several symbols: any of its books).
        legs: Leg-risk figures, when the driver gave the intents it sent (:func:`leg_figures`); with
            several symbols their sum (:func:`combined_leg_figures`).
        symbols: With several symbols, each one's figures in ``[strategy] symbols`` order (empty with
            one: the account's figures are its own). ``total``, ``venues``, ``pairs`` and ``risk`` are
            then the account's: every symbol's equity rows of a time summed, every fill valued at its
            own symbol's mid.
        marks: The books' mids at the run's start, at each UTC midnight inside it and at its end
            (:func:`boundary_marks`; :func:`run_summary` fills them, :func:`summarize` does not).
    """

    total: Figures
    venues: tuple[Figures, Figures]
    pairs: PairFigures
    risk: RiskFigures
    initial: InitialBalances
    pnl_consistent: bool
    meta: Mapping[str, Any]
    out_of_sync: tuple[Spans, Spans] = ((), ())
    legs: LegFigures | None = None
    symbols: tuple[SymbolSummary, ...] = ()
    marks: tuple[BoundaryMark, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """What summary.json holds: JSON-safe (no NaN, ints as ints), keys in a stable order; with
        several symbols a ``symbols`` section (:meth:`SymbolSummary.to_dict` by name); with marks a
        ``marks`` list (:meth:`BoundaryMark.to_dict`, symbols by name)."""
        names = [sym.name for sym in self.symbols] or list(_symbol_names((), self.meta, 1))
        return {
            "schema": SCHEMA_VERSION,
            "pnl_consistent": self.pnl_consistent,
            "total": self.total.to_dict(),
            "venues": {f.name: f.to_dict() for f in self.venues},
            "out_of_sync": {
                f.name: [list(span) for span in spans] for f, spans in zip(self.venues, self.out_of_sync, strict=True)
            },
            "pairs": self.pairs.to_dict(),
            **({"legs": self.legs.to_dict()} if self.legs is not None else {}),
            "risk": self.risk.to_dict(),
            **({"symbols": {sym.name: sym.to_dict() for sym in self.symbols}} if self.symbols else {}),
            "initial": self.initial.to_dict(),
            **({"marks": [mark.to_dict(names) for mark in self.marks]} if self.marks else {}),
            "meta": _jsonable(self.meta),
        }


# --------------------------------------------------------------------------------------------------
# Figures


def summarize(
    fills: Array,
    equity: Array,
    initial: InitialBalances,
    meta: Mapping[str, Any],
    *,
    out_of_sync: Sequence[Iterable[Span]] = ((), ()),
    legs: LegFigures | None = None,
    symbols: Sequence[str] = (),
    symbol_out_of_sync: Sequence[Sequence[Iterable[Span]]] = (),
    symbol_legs: Sequence[LegFigures | None] = (),
    funding: Array | None = None,
) -> Summary:
    """Compute every figure of the report.

    With one symbol (``initial.n_symbols == 1``) the figures are that symbol's and the account's at
    once. With several, ``total``, ``venues``, ``pairs`` and ``risk`` are the account's, from the
    account series (:func:`account_equity`: every symbol's rows of a time summed) and every fill valued
    at its own symbol's final mid, and ``Summary.symbols`` holds each symbol's figures, from its own
    fills and equity rows and :meth:`InitialBalances.symbol`.

    Args:
        fills: ``FILL_DTYPE`` rows, one per fill (any order; FIFO matching sorts them by ``local_ts``).
        equity: ``EQUITY_DTYPE`` samples in time order (with several symbols, one row per symbol at
            each sample time). The last sample must come after the last fill: its ``equity`` is the
            final equity and its ``mid`` values the inventory (a venue whose last mid is NaN falls back
            to its last finite mid).
        initial: Starting balances per venue (and per symbol: :meth:`InitialBalances.of_symbols`).
        meta: Stored as is in summary.json (config, data range, mode, driver counters); numpy scalars,
            paths, tuples and dataclasses are converted, NaN becomes null, anything else its ``str``.
        out_of_sync: Per venue (Binance, Bybit), the spans of local time its book was not synced,
            within the run (:func:`out_of_sync_spans` makes them from a driver's sync changes). With
            several symbols, give ``symbol_out_of_sync`` instead (what is given here is added to the
            account's spans).
        legs: Leg-risk figures (:func:`leg_figures`), stored as they are.
        symbols: With several symbols, their names in number order (default: the ``strategy.symbols``
            of the configuration in ``meta``, else their numbers).
        symbol_out_of_sync: With several symbols, per symbol, per venue, its book's spans.
        symbol_legs: With several symbols, per symbol, its leg-risk figures.
        funding: ``FUNDING_DTYPE`` rows: every funding payment booked (perpetuals); None or empty:
            none. Each venue's (and symbol's) ``funding`` is their sum; ``pnl_from_fills`` counts them.

    Returns:
        A frozen :class:`Summary`.

    Raises:
        ValueError: ``fills`` or ``equity`` lacks a field of its dtype, a fill's venue is not 0/1 or its
            side not BUY/SELL, ``equity`` has no sample (of a symbol), or a row names a symbol that
            ``initial`` does not have.
    """
    _require_fields(fills, FILL_DTYPE, "fills")
    _require_fields(equity, EQUITY_DTYPE, "equity")
    _require_values(fills, "venue", _VENUES)
    _require_values(fills, "side", (BUY, SELL))
    if len(equity) == 0:
        raise ValueError("equity holds no sample: the driver records one at the start and one after the last fill")
    if len(out_of_sync) != len(_VENUES):
        raise ValueError(f"out_of_sync: expected the spans of two venues (Binance, Bybit), got {len(out_of_sync)}")
    fills = fills[np.argsort(fills["local_ts"], kind="stable")]
    paid = np.zeros(0, FUNDING_DTYPE) if funding is None else funding
    _require_fields(paid, FUNDING_DTYPE, "funding")
    if initial.n_symbols > 1:
        return _summarize_symbols(
            fills, equity, initial, meta, out_of_sync, legs, symbols, symbol_out_of_sync, symbol_legs, paid
        )
    final_mid = _last_finite(value_prices(equity))
    spans = (_merged(out_of_sync[BINANCE]), _merged(out_of_sync[BYBIT]))
    total, venues = _figures(fills, equity, initial, final_mid, spans, paid)
    return Summary(
        total=total,
        venues=venues,
        pairs=_pair_figures(fills, final_mid),
        risk=_risk_figures(equity, initial, final_mid),
        initial=initial,
        pnl_consistent=_consistent(total),
        meta=MappingProxyType(_jsonable(dict(meta))),
        out_of_sync=spans,
        legs=legs,
    )


def _figures(
    fills: Array,
    equity: Array,
    initial: InitialBalances,
    final_mid: Array,
    spans: tuple[Spans, Spans],
    funding: Array,
) -> tuple[Figures, tuple[Figures, Figures]]:
    # one symbol's (or a one-symbol account's) total and per-venue figures
    venues = tuple(
        _venue_figures(v, fills, equity, initial, final_mid, spans[v], funding[funding["venue"] == v]) for v in _VENUES
    )
    assert len(venues) == 2  # one per asset number
    total = _total_figures(venues, fills, equity, initial, final_mid, _merged(spans[0] + spans[1]))
    return total, (venues[0], venues[1])


def value_prices(equity: Array) -> Array:
    """What each sample's holdings were valued at, per venue: ``EQUITY_DTYPE``'s ``price`` (a
    perpetual's mark price, else the mid) where it was written, else the ``mid``."""
    price: Array = np.where(equity["price"] > 0.0, equity["price"], equity["mid"])
    return price


def _trading(pnl: float | None, fees: float, funding: float) -> float | None:
    return None if pnl is None else pnl + fees - funding


def _consistent(total: Figures) -> bool:
    return bool(
        total.pnl is not None
        and total.pnl_from_fills is not None
        and abs(total.pnl - total.pnl_from_fills) <= PNL_TOLERANCE
    )


def _symbol_names(symbols: Sequence[str], meta: Mapping[str, Any], n: int) -> tuple[str, ...]:
    # the names given, else the configuration's in meta, else the numbers
    names = tuple(symbols) or tuple((meta.get("config") or {}).get("strategy", {}).get("symbols") or ())
    if len(names) != n:
        if symbols:
            raise ValueError(f"symbols: expected the names of {n} symbols, got {list(symbols)}")
        names = tuple(str(s) for s in range(n))
    return tuple(str(name) for name in names)


def _summarize_symbols(
    fills: Array,
    equity: Array,
    initial: InitialBalances,
    meta: Mapping[str, Any],
    out_of_sync: Sequence[Iterable[Span]],
    legs: LegFigures | None,
    symbols: Sequence[str],
    symbol_out_of_sync: Sequence[Sequence[Iterable[Span]]],
    symbol_legs: Sequence[LegFigures | None],
    funding: Array,
) -> Summary:
    # Every symbol's figures from its own rows, then the account's from the account series and the
    # fills valued at their own symbol's mid (see summarize).
    n = initial.n_symbols
    names = _symbol_names(symbols, meta, n)
    numbers = tuple(range(n))
    _require_values(fills, "symbol", numbers)
    _require_values(equity, "symbol", numbers, "equity")
    if symbol_out_of_sync and len(symbol_out_of_sync) != n:
        raise ValueError(f"symbol_out_of_sync: expected the spans of {n} symbols, got {len(symbol_out_of_sync)}")
    parts: list[SymbolSummary] = []
    final_mids = np.full((n, len(_VENUES)), np.nan)
    first_mids = np.full((n, len(_VENUES)), np.nan)
    for s in numbers:
        own_fills, own_equity = fills[fills["symbol"] == s], equity[equity["symbol"] == s]
        if len(own_equity) == 0:
            raise ValueError(f"equity holds no sample of {names[s]}: the driver records one row per symbol")
        given = symbol_out_of_sync[s] if symbol_out_of_sync else ((), ())
        spans = (_merged(given[BINANCE]), _merged(given[BYBIT]))
        final_mids[s], first_mids[s] = _last_finite(value_prices(own_equity)), _first_finite(own_equity["mid"])
        part = initial.symbol(s)
        total, venues = _figures(own_fills, own_equity, part, final_mids[s], spans, funding[funding["symbol"] == s])
        parts.append(SymbolSummary(
            name=names[s], total=total, venues=venues, pairs=_pair_figures(own_fills, final_mids[s]), initial=part,
            pnl_consistent=_consistent(total), out_of_sync=spans,
            legs=symbol_legs[s] if s < len(symbol_legs) else None,
        ))  # fmt: skip
    series = account_equity(equity, n)
    weights = [unit_value(final_mids[s]) for s in numbers]
    venue_spans = tuple(
        _merged([*out_of_sync[v], *(span for part in parts for span in part.out_of_sync[v])]) for v in _VENUES
    )
    account_venues = tuple(
        _account_figures(
            ASSET_NAMES[v],
            [part.venues[v] for part in parts],
            weights,
            float(series.equity_venue[-1, v]),
            _sum_or_none(initial.symbol(s).venue_equity(v, float(final_mids[s, v])) for s in numbers),
            venue_spans[v],
        )
        for v in _VENUES
    )
    total = _account_figures(
        "total",
        [part.total for part in parts],
        weights,
        float(series.equity[-1]),
        initial.equity(final_mids),
        _merged(venue_spans[BINANCE] + venue_spans[BYBIT]),
    )
    return Summary(
        total=total,
        venues=(account_venues[0], account_venues[1]),
        pairs=_pair_figures(fills, final_mids),
        risk=_account_risk_figures(series, initial, first_mids, final_mids),
        initial=initial,
        pnl_consistent=_consistent(total) and all(part.pnl_consistent for part in parts),
        meta=MappingProxyType(_jsonable(dict(meta))),
        out_of_sync=(venue_spans[BINANCE], venue_spans[BYBIT]),
        legs=legs,
        symbols=tuple(parts),
    )


def unit_value(mids: Sequence[float | None] | Array) -> float:
    """What one unit of a symbol's base is worth when quantities of several symbols are pooled (the
    account's holding time): the mean of its finite mids per venue (``mids``, None or NaN where
    unknown), quote currency; NaN when none is known."""
    values = np.array([math.nan if m is None else float(m) for m in mids])
    finite = values[np.isfinite(values)]
    return float(np.mean(finite)) if len(finite) else math.nan


def _account_figures(
    name: str,
    parts: Sequence[Figures],
    weights: Sequence[float],
    final_equity: float,
    start: float | None,
    spans: Spans,
) -> Figures:
    # The account's column from every symbol's same column: money and counts add up, base quantities
    # do not (None); holding time pools the symbols' closed quantities valued at their final mids.
    weighted, closed = 0.0, 0.0
    for part, weight in zip(parts, weights, strict=True):
        if part.holding_time_s is None or not part.closed_qty:
            continue
        weighted += part.holding_time_s * part.closed_qty * weight
        closed += part.closed_qty * weight
    holding = weighted / closed if closed > 0 and math.isfinite(closed) else None
    pnl = None if start is None or not math.isfinite(final_equity) else final_equity - start
    fees, funding = math.fsum(f.fees for f in parts), math.fsum(f.funding for f in parts)
    return Figures(
        name=name,
        pnl=pnl,
        pnl_from_fills=_sum_or_none(f.pnl_from_fills for f in parts),
        trading_pnl=_trading(pnl, fees, funding),
        funding=funding,
        fees=fees,
        volume=None,
        notional=math.fsum(f.notional for f in parts),
        fills=sum(f.fills for f in parts),
        hedge_fills=sum(f.hedge_fills for f in parts),
        unwind_fills=sum(f.unwind_fills for f in parts),
        holding_time_s=holding,
        closed_qty=None,
        open_qty=None,
        position=None,
        base_balance=None,
        quote_balance=math.fsum(f.quote_balance for f in parts),
        final_mid=None,
        out_of_sync_s=_spans_s(spans),
        out_of_sync_spans=len(spans),
    )


@dataclass(frozen=True, slots=True)
class AccountEquity:
    """The account's equity series: every symbol's equity rows of one sample time summed.

    Attributes:
        ts: Time of each sample, int64 ns (local).
        equity: The account's equity at each sample, quote currency (NaN where a symbol's is unknown).
        equity_venue: Per venue (columns in asset order), the account's equity there, quote currency.
        mid: Each symbol's mids at each sample, shape ``(samples, symbols, 2)`` (a symbol without a row
            at a sample keeps its last row's).
    """

    ts: Array
    equity: Array
    equity_venue: Array
    mid: Array


def account_equity(equity: Array, n_symbols: int | None = None) -> AccountEquity:
    """The account series of ``equity`` (``EQUITY_DTYPE``, one row per symbol per sample time, in time
    order): a sample is the rows sharing a time, symbols ascending; each symbol counts with its latest
    row at or before the sample (NaN before its first). With one symbol, each row is a sample.

    ``n_symbols``: how many symbols (default: the highest ``symbol`` in ``equity`` plus one).
    """
    n = int(n_symbols if n_symbols is not None else (int(equity["symbol"].max()) + 1 if len(equity) else 1))
    ts, symbol = equity["ts"], equity["symbol"]
    starts = np.ones(len(equity), dtype=bool)
    starts[1:] = (ts[1:] != ts[:-1]) | (symbol[1:] <= symbol[:-1])
    first = np.flatnonzero(starts)
    last = np.append(first[1:], len(equity)) - 1  # each sample's last row
    total: Array = np.zeros(len(first))
    venue: Array = np.zeros((len(first), len(_VENUES)))
    mid = np.full((len(first), n, len(_VENUES)), np.nan)
    for s in range(n):
        rows = np.flatnonzero(symbol == s)
        at = np.searchsorted(rows, last, side="right") - 1  # the symbol's latest row in each sample
        seen = at >= 0
        pick = rows[np.maximum(at, 0)] if len(rows) else np.zeros(len(last), np.int64)
        own = np.where(seen, equity["equity"][pick] if len(rows) else np.nan, np.nan)
        own_venue = np.where(seen[:, None], equity["equity_venue"][pick] if len(rows) else np.nan, np.nan)
        total = own if s == 0 else total + own
        venue = own_venue if s == 0 else venue + own_venue
        mid[:, s] = np.where(seen[:, None], equity["mid"][pick] if len(rows) else np.nan, np.nan)
    return AccountEquity(ts=np.array(ts[first]), equity=total, equity_venue=venue, mid=mid)


def out_of_sync_spans(
    change_ts: Sequence[int] | Array, synced: Sequence[int | bool] | Array, start_ns: int, end_ns: int
) -> Spans:
    """The spans of ``[start_ns, end_ns)`` during which a venue's book was not synced.

    Args:
        change_ts: Local times (ns) at which the venue's sync state changed, ascending.
        synced: The state from each of those times on (truthy: synced, the book is the venue's).
            Before the first change the book is not synced (no snapshot yet); a driver whose book
            starts synced passes a first change at or before ``start_ns``.
        start_ns: Start of the run, local time (ns).
        end_ns: End of the run, local time (ns).

    Returns:
        Disjoint ``(start_ns, end_ns)`` spans in time order, none empty, all within the run.
    """
    spans: list[Span] = []
    down_since: int | None = start_ns
    for t, state in zip(np.asarray(change_ts).tolist(), np.asarray(synced).tolist(), strict=True):
        t = min(max(int(t), start_ns), end_ns)
        if state and down_since is not None:
            if t > down_since:
                spans.append((down_since, t))
            down_since = None
        elif not state and down_since is None:
            down_since = t
    if down_since is not None and end_ns > down_since:
        spans.append((down_since, end_ns))
    return tuple(spans)


def _merged(spans: Iterable[Span]) -> Spans:
    # sorted, overlapping and touching spans joined, empty ones dropped
    out: list[Span] = []
    for start, end in sorted((int(a), int(b)) for a, b in spans):
        if end <= start:
            continue
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return tuple(out)


def _spans_s(spans: Spans) -> float:
    return sum(end - start for start, end in spans) / NS_PER_S


def pnl_from_fills(
    fills: Array, final_mid: Sequence[float | None] | Sequence[Sequence[float | None]] | Array
) -> float | None:
    """Net PnL of ``fills`` (``FILL_DTYPE``): cash flow minus fees plus the position change at ``final_mid``.

    ``sum(-side * price * qty) - sum(fee)`` over all fills, plus, per venue, ``sum(side * qty) *
    final_mid[venue]``. Quote currency; None when a venue with a position change has no finite mid
    (a mid may be None, as summary.json writes an unknown one). The starting balances cancel out and
    are not needed. With several symbols ``final_mid`` holds one row of mids per symbol, and each
    fill's position change is valued at its own symbol's mid.
    """
    rows = [
        [math.nan if mid is None else float(mid) for mid in row]
        for row in np.atleast_2d(np.array(final_mid, dtype=object))
    ]
    if len(rows) == 1:
        mids = rows[0]
        return _sum_or_none(_venue_pnl_from_fills(fills[fills["venue"] == v], mids[v]) for v in _VENUES)
    _require_values(fills, "symbol", tuple(range(len(rows))))
    return _sum_or_none(
        _venue_pnl_from_fills(fills[(fills["symbol"] == s) & (fills["venue"] == v)], rows[s][v])
        for s in range(len(rows))
        for v in _VENUES
    )


def _venue_pnl_from_fills(fills: Array, mid: float) -> float | None:
    cash = _cash_flow(fills)
    value = _value_at(_position(fills), mid)
    return None if value is None else cash + value


def _cash_flow(fills: Array) -> float:
    # quote received minus quote paid minus fees
    side = fills["side"].astype(np.float64)
    return float(np.sum(-side * fills["price"] * fills["qty"]) - np.sum(fills["fee"]))


def _position(fills: Array) -> float:
    return float(np.sum(fills["side"].astype(np.float64) * fills["qty"]))


def _venue_figures(
    venue: int,
    fills: Array,
    equity: Array,
    initial: InitialBalances,
    final_mid: Array,
    out_of_sync: Spans,
    funding: Array,
) -> Figures:
    own = fills[fills["venue"] == venue]
    mid = float(final_mid[venue])
    position = _position(own)
    paid = math.fsum(funding["payment"].tolist())
    cash = _cash_flow(own) + paid
    start = initial.venue_equity(venue, mid)
    final_equity = float(equity["equity_venue"][-1, venue])
    pnl = None if start is None or not math.isfinite(final_equity) else final_equity - start
    weighted_ns, closed, still_open = _fifo_holding(own["local_ts"], own["side"] * own["qty"])
    from_fills = _venue_pnl_from_fills(own, mid)
    fees = float(np.sum(own["fee"]))
    return Figures(
        name=ASSET_NAMES[venue],
        pnl=pnl,
        pnl_from_fills=None if from_fills is None else from_fills + paid,
        trading_pnl=_trading(pnl, fees, paid),
        funding=paid,
        fees=fees,
        volume=float(np.sum(own["qty"])),
        notional=float(np.sum(own["price"] * own["qty"])),
        fills=len(own),
        hedge_fills=int(np.count_nonzero(own["kind"] == INTENT_HEDGE)),
        unwind_fills=int(np.count_nonzero(own["kind"] == INTENT_UNWIND)),
        holding_time_s=weighted_ns / closed / NS_PER_S if closed > 0 else None,
        closed_qty=closed,
        open_qty=still_open,
        position=position,
        base_balance=initial.base[venue] + position,
        quote_balance=initial.quote[venue] + cash,
        final_mid=mid if math.isfinite(mid) else None,
        out_of_sync_s=_spans_s(out_of_sync),
        out_of_sync_spans=len(out_of_sync),
    )


def _total_figures(
    venues: Sequence[Figures], fills: Array, equity: Array, initial: InitialBalances, final_mid: Array, either: Spans
) -> Figures:
    start = initial.equity(final_mid)
    final_equity = float(equity["equity"][-1])
    closed = sum(_known(f.closed_qty) for f in venues)
    weighted = sum(f.holding_time_s * _known(f.closed_qty) for f in venues if f.holding_time_s is not None)
    pnl = None if start is None or not math.isfinite(final_equity) else final_equity - start
    fees, funding = float(np.sum(fills["fee"])), math.fsum(f.funding for f in venues)
    return Figures(
        name="total",
        pnl=pnl,
        pnl_from_fills=_sum_or_none(f.pnl_from_fills for f in venues),
        trading_pnl=_trading(pnl, fees, funding),
        funding=funding,
        fees=fees,
        volume=float(np.sum(fills["qty"])),
        notional=float(np.sum(fills["price"] * fills["qty"])),
        fills=len(fills),
        hedge_fills=sum(f.hedge_fills for f in venues),
        unwind_fills=sum(f.unwind_fills for f in venues),
        holding_time_s=weighted / closed if closed > 0 else None,
        closed_qty=closed,
        open_qty=sum(_known(f.open_qty) for f in venues),
        position=sum(_known(f.position) for f in venues),
        base_balance=sum(_known(f.base_balance) for f in venues),
        quote_balance=sum(f.quote_balance for f in venues),
        final_mid=None,
        out_of_sync_s=_spans_s(either),
        out_of_sync_spans=len(either),
    )


def _known(x: float | None) -> float:
    # a quantity of one symbol's venue: always known (None only in an account of several symbols)
    assert x is not None
    return x


def _fifo_holding(ts: Array, signed_qty: Array) -> tuple[float, float, float]:
    """FIFO-match one venue's fills: (sum of closed qty x ns held, closed qty, qty still open).

    ``ts`` in time order (ns), ``signed_qty`` = side x qty. Open lots all have the sign of the
    inventory; a fill of the other sign closes the oldest lots first and any remainder opens a new
    lot of its own sign (the inventory flipped).
    """
    lots: deque[list[float]] = deque()  # [open ts (ns), remaining qty > 0]
    sign = 0.0  # sign of the inventory: +1 long lots, -1 short lots, 0 flat
    weighted = 0.0
    closed = 0.0
    for t, q in zip(ts.tolist(), signed_qty.tolist(), strict=True):
        remaining = abs(q)
        if remaining <= QTY_EPS:
            continue
        direction = math.copysign(1.0, q)
        while lots and direction != sign and remaining > QTY_EPS:
            lot = lots[0]
            take = min(remaining, lot[1])
            weighted += take * (t - lot[0])
            closed += take
            remaining -= take
            lot[1] -= take
            if lot[1] <= QTY_EPS:
                lots.popleft()
        if remaining > QTY_EPS:
            lots.append([float(t), remaining])
            sign = direction
        elif not lots:
            sign = 0.0
    return weighted, closed, sum(lot[1] for lot in lots)


def pair_pnl(fills: Array, mid: Sequence[float] | Array) -> tuple[Array, Array]:
    """The PnL of every arbitrage pair in ``fills`` (``FILL_DTYPE``), valued at ``mid``: the one
    definition the summary table and the dry run's account line both use.

    A pair is the fills sharing a ``pair_id`` that has at least one INTENT_OPEN fill; its PnL is,
    over all its fills (hedges and unwinds included), the cash flow minus fees plus the base it left
    on each venue valued at that venue's ``mid``: ``sum(side * qty * (mid[venue] - price) - fee)``. So
    the pairs' PnLs add up to the run's net PnL (when every fill belongs to a pair), and a pair that
    captured a spread but left coins on each venue worth less than that spread is not a winner.

    Args:
        fills: Fills in any order.
        mid: Mid per venue, quote per base (the final mid for the report, the current one for the
            account line); NaN where unknown, which makes the PnL of a pair holding base there NaN.
            With several symbols, one row of mids per symbol (a fill is valued at its symbol's).

    Returns:
        (pair ids ascending, int64; PnL per pair, quote currency, float64). A pair *wins* when its
        PnL is > 0 (see :func:`pairs_won`).
    """
    pair_ids, at, in_pair = _pair_index(fills)
    own = fills[in_pair]
    mids = np.asarray(mid, dtype=np.float64)
    valued = mids[own["venue"]] if mids.ndim == 1 else mids[own["symbol"], own["venue"]]
    side = own["side"].astype(np.float64)
    contribution = side * own["qty"] * (valued - own["price"]) - own["fee"]
    return pair_ids, np.bincount(at, weights=contribution, minlength=len(pair_ids))


def pairs_won(fills: Array, mid: Sequence[float] | Array) -> tuple[int, int]:
    """(pairs, pairs won) among ``fills`` valued at ``mid``: a pair wins when its :func:`pair_pnl` is > 0."""
    _, pnl = pair_pnl(fills, mid)
    return len(pnl), _won(pnl)


def _won(pnl: Array) -> int:
    # the one test of a win; a pair whose PnL is unknown (NaN) has not won
    return int(np.count_nonzero(pnl > 0))


def pairs_text(fills: Array, mid: Sequence[float] | Array) -> str:
    """``"pairs 13 won 12 (92.31%)"``: :func:`pairs_won` as the account line and the table word it."""
    pairs, won = pairs_won(fills, mid)
    return f"pairs {pairs} won {won} ({_pct(won / pairs if pairs else None)})"


def _pair_index(fills: Array) -> tuple[Array, Array, Array]:
    # (pair ids with an OPEN fill, pair index of each fill that belongs to one, mask of those fills)
    pair = fills["pair_id"]
    pair_ids = np.unique(pair[fills["kind"] == INTENT_OPEN])
    in_pair = np.isin(pair, pair_ids)
    return pair_ids, np.searchsorted(pair_ids, pair[in_pair]), in_pair


def _pair_figures(fills: Array, final_mid: Array) -> PairFigures:
    is_open = fills["kind"] == INTENT_OPEN
    pair_ids, at, in_pair = _pair_index(fills)
    n = len(pair_ids)
    own = fills[in_pair]
    own_open = is_open[in_pair]

    def per_pair(weights: Array) -> Array:
        return np.bincount(at, weights=weights, minlength=n)

    buy = own_open & (own["side"] == BUY)
    sell = own_open & (own["side"] == SELL)
    notional = own["price"] * own["qty"]
    buy_qty, sell_qty = per_pair(np.where(buy, own["qty"], 0.0)), per_pair(np.where(sell, own["qty"], 0.0))
    buy_value, sell_value = per_pair(np.where(buy, notional, 0.0)), per_pair(np.where(sell, notional, 0.0))
    buy_fee, sell_fee = per_pair(np.where(buy, own["fee"], 0.0)), per_pair(np.where(sell, own["fee"], 0.0))

    both = (buy_qty > QTY_EPS) & (sell_qty > QTY_EPS)
    with np.errstate(divide="ignore", invalid="ignore"):
        buy_vwap, sell_vwap = buy_value / buy_qty, sell_value / sell_qty
        gross = (sell_vwap - buy_vwap) / buy_vwap * 1e4
        net = gross - (buy_fee / buy_qty + sell_fee / sell_qty) / buy_vwap * 1e4
    matched = both & np.isclose(buy_qty, sell_qty, rtol=1e-9, atol=QTY_EPS)

    hedging = np.isin(own["kind"], (INTENT_HEDGE, INTENT_UNWIND))
    hedged = per_pair(hedging.astype(np.float64)) > 0
    _, pnl = pair_pnl(fills, final_mid)
    won = _won(pnl)
    return PairFigures(
        pairs=n,
        legs_filled=_legs_filled(fills[is_open]),
        pairs_matched=int(np.count_nonzero(matched)),
        pairs_hedged=int(np.count_nonzero(hedged)),
        fills_outside_pairs=int(np.count_nonzero(~in_pair)),
        spread_bps=_mean_or_none(gross[both]),
        spread_net_bps=_mean_or_none(net[both]),
        pairs_won=won,
        win_rate=won / n if n else None,
        pair_pnl_mean=_mean_or_none(pnl),
    )


def _legs_filled(opens: Array) -> int:
    # distinct (symbol, venue, order id): a leg that filled in parts counts once
    keys = zip(opens["symbol"].tolist(), opens["venue"].tolist(), opens["order_id"].tolist(), strict=True)
    return len(set(keys))


def leg_figures(
    fills: Array,
    sent: Array,
    mid: Sequence[float] | Array,
    *,
    max_hedge_attempts: int,
    hedge_failed: bool = False,
    dust: float = QTY_EPS,
) -> LegFigures:
    """Leg risk from a run's fills (``FILL_DTYPE``) and the intents it sent (``SENT_DTYPE``, whose
    ``fault`` says what the leg-fault model did to each), valued at ``mid`` (the final mid per venue).

    ``max_hedge_attempts`` is ``[execution] max_hedge_attempts``; ``hedge_failed`` the kernel's
    ``HEDGE_FAILED`` flag; ``dust`` the exposure, base units, that counts as flat (the kernel's: what
    neither venue could trade). See :class:`LegFigures` for each figure.

    Raises:
        ValueError: ``fills`` or ``sent`` lacks a field of its dtype.
    """
    from arb.execution.faults import FAULT_LATE, FAULT_PARTIAL, FAULT_REJECT

    _require_fields(fills, FILL_DTYPE, "fills")
    _require_fields(sent, SENT_DTYPE, "sent")
    fills = fills[np.argsort(fills["local_ts"], kind="stable")]
    pair_ids, pnl = pair_pnl(fills, mid)
    _, at, in_pair = _pair_index(fills)
    own = fills[in_pair]
    n = len(pair_ids)

    def per_pair(weights: Array) -> Array:
        return np.bincount(at, weights=weights, minlength=n)

    signed = own["side"] * own["qty"]
    is_open = own["kind"] == INTENT_OPEN
    lone = np.abs(per_pair(np.where(is_open, signed, 0.0))) > dust
    exposed = np.abs(per_pair(signed)) > dust
    hedging = np.isin(own["kind"], (INTENT_HEDGE, INTENT_UNWIND))
    last_kind = np.zeros(n, np.int64)  # the kind of each pair's last hedge or unwind fill
    last_kind[at[hedging]] = own["kind"][hedging]  # fills are in time order: the last write wins
    closed = lone & ~exposed
    exposure = [float(np.sum(np.where((own["venue"] == v) & np.isin(at, np.flatnonzero(lone & exposed)),
                                      signed, 0.0))) for v in (BINANCE, BYBIT)]  # fmt: skip

    sent_hedging = np.isin(sent["kind"], (INTENT_HEDGE, INTENT_UNWIND))
    tries = np.zeros(n, np.int64)
    known = np.isin(sent["pair_id"], pair_ids)
    np.add.at(tries, np.searchsorted(pair_ids, sent["pair_id"][sent_hedging & known]), 1)
    faulted_ids = np.unique(sent["pair_id"][(sent["kind"] == INTENT_OPEN) & (sent["fault"] != 0)])
    faulted = np.isin(pair_ids, faulted_ids)
    faulted_mean, clean_mean = _mean_or_none(pnl[faulted]), _mean_or_none(pnl[~faulted])
    cost = None
    if faulted_mean is not None and clean_mean is not None:
        cost = (clean_mean - faulted_mean) * int(np.count_nonzero(faulted))
    return LegFigures(
        rejected=int(np.count_nonzero(sent["fault"] == FAULT_REJECT)),
        partial=int(np.count_nonzero(sent["fault"] == FAULT_PARTIAL)),
        late=int(np.count_nonzero(sent["fault"] == FAULT_LATE)),
        lone_legs=int(np.count_nonzero(lone)),
        hedged=int(np.count_nonzero(closed & (last_kind == INTENT_HEDGE))),
        unwound=int(np.count_nonzero(closed & (last_kind == INTENT_UNWIND))),
        open_at_end=int(np.count_nonzero(lone & exposed)),
        # the attempts spent and the leg not closed by them: more were needed, or it is still open
        given_up=int(
            np.count_nonzero(lone & ((tries > max_hedge_attempts) | ((tries >= max_hedge_attempts) & exposed)))
        ),
        hedge_orders=int(np.count_nonzero(sent_hedging)),
        hedge_failed=hedge_failed,
        exposure=(exposure[0], exposure[1]),
        pairs_faulted=int(np.count_nonzero(faulted)),
        pairs_clean=int(np.count_nonzero(~faulted)),
        pnl_faulted=float(np.sum(pnl[faulted])),
        pnl_clean=float(np.sum(pnl[~faulted])),
        pnl_faulted_mean=faulted_mean,
        pnl_clean_mean=clean_mean,
        pnl_lone_legs=float(np.sum(pnl[lone])),
        cost=cost,
    )


def run_leg_figures(
    config: AppConfig, fills: Array, sent: Array, equity: Array, kernel_flags: int | Sequence[int]
) -> LegFigures:
    """:func:`leg_figures` of a run of ``config``: valued at the last known mid of ``equity``, with the
    configured ``max_hedge_attempts``, the ``HEDGE_FAILED`` bit of ``kernel_flags`` (one per symbol, or
    the first symbol's) and as dust what neither venue could trade (below the larger of its lot and
    minimum quantity). With several symbols, every symbol's (:func:`symbol_leg_figures`) added up
    (:func:`combined_leg_figures`)."""
    from arb.strategy.types import HEDGE_FAILED

    flags = [kernel_flags] if isinstance(kernel_flags, int) else [int(f) for f in kernel_flags]
    if len(config.symbols) > 1:
        return combined_leg_figures(symbol_leg_figures(config, fills, sent, equity, flags))
    dust = min(max(v.instrument.lot_size, v.instrument.min_qty) for v in config.venues) * (1 - 1e-9)
    return leg_figures(
        fills,
        sent,
        _last_finite(equity["mid"]) if len(equity) else np.full(2, np.nan),
        max_hedge_attempts=config.execution.max_hedge_attempts,
        hedge_failed=bool(flags[0] & HEDGE_FAILED) if flags else False,
        dust=dust,
    )


def symbol_leg_figures(
    config: AppConfig, fills: Array, sent: Array, equity: Array, kernel_flags: Sequence[int]
) -> list[LegFigures]:
    """Each symbol's :func:`run_leg_figures` (its fills, intents and equity rows, its dust, its
    kernel's flags), in ``[strategy] symbols`` order."""
    out = []
    for s in range(len(config.symbols)):
        own = config.for_symbol(s)
        flags = int(kernel_flags[s]) if s < len(kernel_flags) else 0
        out.append(run_leg_figures(own, fills[fills["symbol"] == s], sent[sent["symbol"] == s],
                                   equity[equity["symbol"] == s], flags))  # fmt: skip
    return out


def combined_leg_figures(parts: Sequence[LegFigures]) -> LegFigures:
    """Several symbols' leg figures as one account's: counts and PnL added, the means and the cost
    recomputed from the sums, ``hedge_failed`` if any symbol's; ``exposure`` is NaN (base units of
    different coins do not add up: each symbol's is in its own figures)."""

    def mean(total: float, count: int, means: Iterable[float | None]) -> float | None:
        return total / count if count and all(m is not None for m in means) else None

    faulted, clean = sum(p.pairs_faulted for p in parts), sum(p.pairs_clean for p in parts)
    pnl_faulted, pnl_clean = math.fsum(p.pnl_faulted for p in parts), math.fsum(p.pnl_clean for p in parts)
    faulted_mean = mean(pnl_faulted, faulted, (p.pnl_faulted_mean for p in parts if p.pairs_faulted))
    clean_mean = mean(pnl_clean, clean, (p.pnl_clean_mean for p in parts if p.pairs_clean))
    return LegFigures(
        rejected=sum(p.rejected for p in parts),
        partial=sum(p.partial for p in parts),
        late=sum(p.late for p in parts),
        lone_legs=sum(p.lone_legs for p in parts),
        hedged=sum(p.hedged for p in parts),
        unwound=sum(p.unwound for p in parts),
        open_at_end=sum(p.open_at_end for p in parts),
        given_up=sum(p.given_up for p in parts),
        hedge_orders=sum(p.hedge_orders for p in parts),
        hedge_failed=any(p.hedge_failed for p in parts),
        exposure=(math.nan, math.nan),
        pairs_faulted=faulted,
        pairs_clean=clean,
        pnl_faulted=pnl_faulted,
        pnl_clean=pnl_clean,
        pnl_faulted_mean=faulted_mean,
        pnl_clean_mean=clean_mean,
        pnl_lone_legs=math.fsum(p.pnl_lone_legs for p in parts),
        cost=None if faulted_mean is None or clean_mean is None else (clean_mean - faulted_mean) * faulted,
    )


def run_summary(
    config: AppConfig,
    fills: Array,
    equity: Array,
    initial: InitialBalances,
    meta: Mapping[str, Any],
    *,
    out_of_sync: Sequence[Sequence[Iterable[Span]]] = (),
    sent: Array | None = None,
    kernel_flags: Sequence[int] = (),
    funding: Array | None = None,
    day_marks: Sequence[BoundaryMark] | None = None,
) -> Summary:
    """What a driver (``arb backtest``, ``arb dry-run``, ``arb live``, a sweep) calls at the end of a
    run of ``config``: :func:`summarize` with the leg-risk figures (when ``sent``, the intents sent,
    is given), with several symbols every symbol's part, and the run's boundary marks.

    Args:
        out_of_sync: Per symbol, per venue, the spans its book was not synced (none: never out of sync).
        sent: ``SENT_DTYPE`` rows; None: no leg figures (a driver that does not keep them).
        kernel_flags: Per symbol, its kernel's ``flags`` at the end (``HEDGE_FAILED``).
        funding: ``FUNDING_DTYPE`` rows: the funding payments booked (perpetuals); None: none.
        day_marks: The books' mids the driver took at each UTC midnight it crossed (see
            :func:`boundary_marks`); None: taken from the equity samples.
    """
    n = len(config.symbols)
    flags = [int(f) for f in kernel_flags] or [0] * n
    spans = list(out_of_sync) or [((), ())] * n
    if n == 1:
        legs = None if sent is None else run_leg_figures(config, fills, sent, equity, flags[0])
        summary = summarize(fills, equity, initial, meta, out_of_sync=spans[0], legs=legs, funding=funding)
    else:
        symbol_legs = [] if sent is None else symbol_leg_figures(config, fills, sent, equity, flags)
        summary = summarize(
            fills,
            equity,
            initial,
            meta,
            legs=combined_leg_figures(symbol_legs) if symbol_legs else None,
            symbols=config.symbol_names,
            symbol_out_of_sync=spans,
            symbol_legs=symbol_legs,
            funding=funding,
        )
    return dataclasses.replace(summary, marks=boundary_marks(equity, n, day_marks))


def boundary_marks(
    equity: Array, n_symbols: int = 1, day_marks: Sequence[BoundaryMark] | None = None
) -> tuple[BoundaryMark, ...]:
    """The marks a report values a run's positions at across a boundary: the mids at the run's start
    (its first equity sample), at every UTC midnight after that sample up to the last one, and at its
    end (the last finite mid and valuation price per venue: what :func:`summarize` calls the final
    mid). Empty without a sample.

    Args:
        equity: ``EQUITY_DTYPE`` samples in time order (one row per symbol at each sample time).
        n_symbols: How many symbols the rows hold.
        day_marks: The driver's own marks at midnights (``at == "midnight"``, ``ts`` the midnight):
            the books at the very instant. A midnight they do not cover gets the mids of the last
            sample before it (``book_ts`` says when that was).

    Returns:
        The marks in time order: ``start``, each ``midnight``, ``end``.
    """
    if len(equity) == 0:
        return ()
    n = max(int(n_symbols), 1)
    ts = equity["ts"]
    prices = value_prices(equity)
    first, last = int(ts[0]), int(ts[-1])
    rows = [np.flatnonzero(equity["symbol"] == s) for s in range(n)]

    def at(index: int, column: Array) -> Array:
        # per symbol, its row's values at its latest row at or before sample row ``index`` (NaN before any)
        out = np.full((n, len(_VENUES)), np.nan)
        for s, own in enumerate(rows):
            k = int(np.searchsorted(own, index, side="right")) - 1
            if k >= 0:
                out[s] = column[own[k]]
        return out

    start_row = int(np.flatnonzero(ts == first)[-1])
    marks = [BoundaryMark("start", first, first, at(start_row, equity["mid"]), at(start_row, prices))]
    given = {int(m.ts): m for m in day_marks or () if m.at == "midnight"}
    midnight = (first // NS_PER_DAY + 1) * NS_PER_DAY
    while midnight <= last:
        mark = given.get(midnight)
        if mark is None:
            before = int(np.searchsorted(ts, midnight, side="left")) - 1  # the last row before midnight
            mark = BoundaryMark("midnight", midnight, int(ts[before]), at(before, equity["mid"]), at(before, prices))
        marks.append(mark)
        midnight += NS_PER_DAY
    end_mid = np.array([_last_finite(equity["mid"][own]) if len(own) else np.full(2, np.nan) for own in rows])
    end_price = np.array([_last_finite(prices[own]) if len(own) else np.full(2, np.nan) for own in rows])
    marks.append(BoundaryMark("end", last, last, end_mid, end_price))
    return tuple(marks)


def _risk_figures(equity: Array, initial: InitialBalances, final_mid: Array) -> RiskFigures:
    # The curve is trading PnL: equity minus the starting balances valued at the same sample's mids,
    # so the market moving the coins one started with is neither a return nor a drawdown.
    held = np.array([_none_to_nan(initial.equity(m)) for m in equity["mid"]], dtype=float)
    first_mid = _first_finite(equity["mid"])
    return _curve_figures(equity["ts"], equity["equity"], held, initial.equity(first_mid), initial.equity(final_mid))


def _account_risk_figures(
    series: AccountEquity, initial: InitialBalances, first_mids: Array, final_mids: Array
) -> RiskFigures:
    # The account's curve with several symbols: the account series minus every symbol's part of the
    # starting balances at that symbol's mids of the sample.
    held = _held(series.mid, initial)
    return _curve_figures(series.ts, series.equity, held, initial.equity(first_mids), initial.equity(final_mids))


def _held(mid: Array, initial: InitialBalances) -> Array:
    # The starting balances at each sample's mids (``mid``: samples x symbols x venues), NaN where a
    # base held has no mid: InitialBalances.equity over a whole series.
    held: Array = np.zeros(len(mid))
    for s in range(initial.n_symbols):
        part = initial.symbol(s)
        for v in _VENUES:
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
            f"not meaningful on {_duration_text(span_s)} of samples: annualised ratios need "
            f"{_duration_text(MIN_RATIO_SPAN_S)} (their standard error here is about ±{stderr:,.0f})"
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


# --------------------------------------------------------------------------------------------------
# Small numeric helpers


def _duration_text(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.1f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _none_to_nan(x: float | None) -> float:
    return math.nan if x is None else x


def _require_fields(array: Array, dtype: np.dtype[Any], what: str) -> None:
    names = set(array.dtype.names or ())
    missing = [name for name in dtype.names or () if name not in names]
    if missing:
        raise ValueError(f"{what}: expected a structured array with the fields of its dtype, missing {missing}")


def _require_values(rows: Array, name: str, allowed: tuple[int, ...], what: str = "fills") -> None:
    bad = np.flatnonzero(~np.isin(rows[name], allowed))
    if len(bad):
        row = int(bad[0])
        raise ValueError(f"{what}: {name} must be one of {allowed}, row {row} has {rows[name][row]}")


def _value_at(qty: float, mid: float) -> float | None:
    # A zero quantity is worth nothing even where the mid is unknown.
    if qty == 0:
        return 0.0
    return float(qty * mid) if math.isfinite(mid) else None


def _sum_or_none(values: Iterable[float | None]) -> float | None:
    total = 0.0
    for value in values:
        if value is None:
            return None
        total += value
    return total


def _mean_or_none(values: Array) -> float | None:
    # None over nothing, or when a value is unknown (a fill valued at a NaN mid)
    return float(np.mean(values)) if len(values) and np.isfinite(values).all() else None


def _last_finite(mid: Array) -> Array:
    # per column, the last finite value (NaN if none)
    out = np.full(mid.shape[1], np.nan)
    for v in range(mid.shape[1]):
        good = np.flatnonzero(np.isfinite(mid[:, v]))
        if len(good):
            out[v] = mid[good[-1], v]
    return out


def _first_finite(mid: Array) -> Array:
    return _last_finite(mid[::-1])


def _jsonable(obj: Any) -> Any:
    # JSON-safe copy: numpy scalars and arrays to Python, non-finite floats to None, paths to str.
    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [_jsonable(v) for v in obj]
    if is_dataclass(obj) and not isinstance(obj, type):
        to_dict = getattr(obj, "to_dict", None)
        if callable(to_dict):
            return _jsonable(to_dict())
        return {f.name: _jsonable(getattr(obj, f.name)) for f in fields(obj)}
    return str(obj)


def _dataclass_dict(obj: Any) -> dict[str, Any]:
    return {f.name: _jsonable(getattr(obj, f.name)) for f in fields(obj)}


# --------------------------------------------------------------------------------------------------
# Files


def write_report(
    out_dir: str | Path,
    summary: Summary,
    fills: Array,
    equity: Array,
    symbols: Sequence[str] | None = None,
    funding: Array | None = None,
) -> list[Path]:
    """Write trades.csv, equity.npz, equity.png and summary.json into ``out_dir`` (created if
    needed), and funding.csv when ``funding`` (``FUNDING_DTYPE``) holds payments.

    Each file is written to a temporary file in ``out_dir`` and renamed over its final name, so an
    interrupted run leaves either the previous file or the complete new one, never half of one.
    summary.json is written last: when it is new, the whole report is.

    Args:
        out_dir: Folder of the report.
        summary: From :func:`summarize` over the same ``fills`` and ``equity``.
        fills: ``FILL_DTYPE`` rows, written to trades.csv in the order given.
        equity: ``EQUITY_DTYPE`` samples, kept as they are in equity.npz (:func:`read_equity_npz`)
            and plotted in equity.png.
        symbols: The symbols' names by number, for trades.csv (default: the ``strategy.symbols`` of
            the configuration in ``summary.meta``; else their numbers).

    Returns:
        The paths written: ``[trades.csv, (funding.csv,) equity.npz, equity.png, summary.json]``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(summary.to_dict(), indent=2, allow_nan=False) + "\n"
    if symbols is None:
        symbols = summary.meta.get("config", {}).get("strategy", {}).get("symbols") or ()
    names = tuple(symbols)
    paths = [_write_atomic(out / TRADES_CSV, lambda f: _write_trades(f, fills, names))]
    if funding is not None and len(funding):
        paths.append(_write_atomic(out / FUNDING_CSV, lambda f: _write_funding(f, funding, names)))
    else:
        (out / FUNDING_CSV).unlink(missing_ok=True)  # an older run's in the same folder is not this one's
    samples = np.ascontiguousarray(equity).astype(EQUITY_DTYPE, copy=False)
    paths.append(_write_atomic(out / EQUITY_NPZ, lambda f: np.savez_compressed(f, equity=samples)))
    paths.append(_write_atomic(out / EQUITY_PNG, lambda f: _plot_equity(f, summary, fills, equity)))
    paths.append(_write_atomic(out / SUMMARY_JSON, lambda f: f.write(text.encode("utf-8"))))
    return paths


def _write_funding(f: BinaryIO, funding: Array, symbols: tuple[str, ...]) -> None:
    text = io.TextIOWrapper(f, encoding="utf-8", newline="")
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(FUNDING_HEADER)
    for row, time, funding_time in zip(funding, _iso_ns(funding["ts"]), _iso_ns(funding["funding_ts"]), strict=True):
        venue, symbol = int(row["venue"]), int(row["symbol"])
        venue_name = ASSET_NAMES[venue] if 0 <= venue < len(ASSET_NAMES) else str(venue)
        writer.writerow([
            time, str(int(row["ts"])), funding_time, venue_name,
            symbols[symbol] if 0 <= symbol < len(symbols) else str(symbol), repr(float(row["rate"])),
            repr(float(row["mark"])), repr(float(row["position"])), repr(float(row["payment"])),
        ])  # fmt: skip
    text.flush()
    text.detach()


def read_equity_npz(path: str | Path) -> Array:
    """The equity samples a report folder keeps (:data:`EQUITY_NPZ`), as ``EQUITY_DTYPE`` rows in time
    order; empty when there is no such file (a report written before arb kept them).

    Raises:
        ValueError: The file is not one :func:`write_report` wrote (not an archive, no ``equity``
            array, or not of ``EQUITY_DTYPE``'s fields).
    """
    path = Path(path)
    if not path.is_file():
        return np.zeros(0, EQUITY_DTYPE)
    try:
        with np.load(path, allow_pickle=False) as archive:
            samples = archive["equity"]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path}: not an equity file of a report ({exc.__class__.__name__}: {exc})") from None
    _require_fields(samples, EQUITY_DTYPE, str(path))
    out: Array = samples.astype(EQUITY_DTYPE)
    return out[np.argsort(out["ts"], kind="stable")]


def read_funding_csv(path: str | Path) -> float:
    """The sum of the payments of a report's funding.csv, quote currency (0 when there is no such file:
    nothing was funded)."""
    path = Path(path)
    if not path.is_file():
        return 0.0
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or tuple(header) != FUNDING_HEADER:
            raise ValueError(f"{path}: not a funding.csv (expected the header {','.join(FUNDING_HEADER)})")
        return math.fsum(float(line[-1]) for line in reader)


def _write_atomic(path: Path, write: Callable[[BinaryIO], object]) -> Path:
    """Write through ``write(file)`` into a temporary file beside ``path``, then rename it to ``path``."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    done = False
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes 0600; a report is for reading
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        done = True
    finally:
        if not done:  # also on KeyboardInterrupt: never leave the temporary file behind
            Path(tmp).unlink(missing_ok=True)
    return path


def _iso_ns(ts: Array) -> list[str]:
    # int64 ns since the epoch -> "2024-08-08T00:00:01.250000000Z"
    text = np.datetime_as_string(ts.astype("datetime64[ns]"), unit="ns")
    return [s + "Z" for s in text.tolist()]


def _csv_row(fill: tuple[Any, ...], time: str, exch_time: str, symbols: tuple[str, ...]) -> list[str]:
    local_ts, _exch_ts, venue, side, price, qty, fee, pair_id, kind, order_id, symbol = fill
    return [
        time,
        str(local_ts),
        exch_time,
        ASSET_NAMES[venue] if 0 <= venue < len(ASSET_NAMES) else str(venue),
        _SIDE_NAMES.get(side, str(side)),
        repr(price),
        repr(qty),
        repr(fee),
        str(pair_id),
        _KIND_NAMES.get(kind, str(kind)),
        str(order_id),
        symbols[symbol] if 0 <= symbol < len(symbols) else str(symbol),
    ]


def _write_trades(f: BinaryIO, fills: Array, symbols: tuple[str, ...]) -> None:
    text = io.TextIOWrapper(f, encoding="utf-8", newline="")
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(TRADES_HEADER)
    columns = [fills[name].tolist() for name in FILL_DTYPE.names or ()]
    times, exch_times = _iso_ns(fills["local_ts"]), _iso_ns(fills["exch_ts"])
    for row, time, exch_time in zip(zip(*columns, strict=True), times, exch_times, strict=True):
        writer.writerow(_csv_row(row, time, exch_time, symbols))
    text.flush()
    text.detach()  # the caller owns and closes ``f``


def read_trades_csv(path: str | Path, symbols: Sequence[str] = ()) -> Array:
    """Read a trades.csv written by :func:`write_report` back into ``FILL_DTYPE`` rows, exactly.

    ``local_ts`` comes from its ns column, ``exch_ts`` from ``exch_time``; names map back to numbers
    (a column holding a number instead of a name is taken as that number). A symbol is numbered by
    its place in ``symbols``, or, for a name not there, after them in the order the file first names
    it; a file without the symbol column (one symbol) is symbol 0's.

    Raises:
        ValueError: The header is not :data:`TRADES_HEADER`, or a row does not parse (names the line).
    """
    venues = {name: i for i, name in enumerate(ASSET_NAMES)}
    sides = {name: side for side, name in _SIDE_NAMES.items()}
    kinds = {name: kind for kind, name in _KIND_NAMES.items()}
    numbers = {name: i for i, name in enumerate(symbols)}
    rows: list[tuple[Any, ...]] = []
    with Path(path).open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or tuple(header) not in (TRADES_HEADER, TRADES_HEADER[:-1]):
            raise ValueError(f"{path}: expected the header {','.join(TRADES_HEADER)}, got {header}")
        width = len(header)
        for line, row in enumerate(reader, start=2):
            try:
                rows.append(_parse_row(row, width, venues, sides, kinds, numbers))
            except (ValueError, IndexError) as exc:
                raise ValueError(f"{path}: line {line}: {exc}") from None
    return np.array(rows, dtype=FILL_DTYPE)


def _parse_row(
    row: list[str],
    width: int,
    venues: Mapping[str, int],
    sides: Mapping[str, int],
    kinds: Mapping[str, int],
    symbols: dict[str, int],
) -> tuple[Any, ...]:
    if len(row) != width:
        raise ValueError(f"expected {width} columns, got {len(row)}")
    _time, local_ts, exch_time, venue, side, price, qty, fee, pair_id, kind, order_id = row[:11]
    symbol = row[11] if width > 11 else None
    if symbol is None:
        number = 0
    elif symbol.isdigit():
        number = int(symbol)
    else:
        number = symbols.setdefault(symbol, len(symbols))
    exch_ts = int(np.datetime64(exch_time.removesuffix("Z"), "ns").astype(np.int64))
    return (
        int(local_ts),
        exch_ts,
        venues[venue] if venue in venues else int(venue),
        sides[side] if side in sides else int(side),
        float(price),
        float(qty),
        float(fee),
        int(pair_id),
        kinds[kind] if kind in kinds else int(kind),
        int(order_id),
        number,
    )


def pnl_from_trades_csv(
    path: str | Path,
    final_mid: Sequence[float | None] | Sequence[Sequence[float | None]] | Array,
    symbols: Sequence[str] = (),
) -> float:
    """Net PnL from trades.csv alone, quote currency.

    ``sum(-side * price * qty) - sum(fee)`` over the rows, plus per venue the position change
    ``sum(side * qty)`` valued at ``final_mid[venue]`` (the ``final_mid`` of summary.json's venues).
    The starting balances cancel out of a PnL, so they are not needed. With several symbols,
    ``final_mid`` holds one row per symbol of ``symbols`` (``symbols.<name>.venues.<venue>.final_mid``)
    and each row of the file is valued at its own symbol's.

    A perpetual's funding payments, in funding.csv beside trades.csv, are added (``final_mid`` is then
    the price positions were valued at: summary.json's ``final_mid`` is the mark price there).

    Raises:
        ValueError: The file is not a trades.csv, or a venue with a position change has no finite mid.
    """
    pnl = pnl_from_fills(read_trades_csv(path, symbols), final_mid)
    if pnl is None:
        raise ValueError(f"{path}: a venue's position changed but its final mid {list(final_mid)} is not finite")
    return pnl + read_funding_csv(Path(path).with_name(FUNDING_CSV))


def _no_ints() -> Array:
    return np.zeros(0, np.int64)


@dataclass(frozen=True, slots=True)
class SymbolChart:
    """What equity.png draws of one symbol when a run has several (``ChartData.symbols``).

    Attributes:
        name: The symbol.
        ts: Time of each of its equity rows, int64 ns (local).
        trading_pnl: Its trading PnL at each row (its part of the equity minus its part of the starting
            balances at its mids), quote currency; the symbols' add up to the account's.
        spread_bps: Its Bybit-over-Binance mid spread at each row, bps; NaN where either of its books
            was not synced.
        fill_ts, fill_spread_bps, fill_kind: Its fills' times, where their markers sit
            (:func:`fill_spread_bps`) and their intent kinds.
        out_of_sync: Per venue, the spans its books were not synced.
        fill_venue, fill_side: Its fills' venues and sides (what their markers' fill and shape show).
    """

    name: str
    ts: Array
    trading_pnl: Array
    spread_bps: Array
    fill_ts: Array
    fill_spread_bps: Array
    fill_kind: Array
    out_of_sync: tuple[Spans, Spans]
    fill_venue: Array = field(default_factory=_no_ints)
    fill_side: Array = field(default_factory=_no_ints)


@dataclass(frozen=True, slots=True)
class ChartData:
    """What equity.png draws, computed apart from the drawing (:func:`chart_data`).

    Attributes:
        ts: Time of each equity sample, int64 ns (local); with several symbols, of each sample of the
            account series (:func:`account_equity`).
        trading_pnl: Trading PnL at each sample (equity minus the starting balances at that sample's
            mids), quote currency; NaN where unknown. Drawn on its own axis, scaled to it.
        equity_change: Equity minus ``risk.initial_equity`` at each sample (the starting coins' price
            moves included), quote currency.
        spread_bps: Bybit-over-Binance mid spread at each sample, bps; NaN where either venue's book
            was not synced (no line is drawn there). With several symbols all NaN: each symbol's is in
            ``symbols``.
        fill_ts: Time of each fill (``local_ts``), in the order of ``fills``.
        fill_spread_bps: Where each fill's marker sits: :func:`fill_spread_bps` (against its own
            symbol's samples).
        fill_kind: Intent kind of each fill (INTENT_OPEN, INTENT_HEDGE, INTENT_UNWIND).
        out_of_sync: Per venue, the spans shaded as "book out of sync" (``Summary.out_of_sync``).
        symbols: With several symbols, each one's curve, spread and fills (:class:`SymbolChart`).
        fill_venue, fill_side: Venue and side of each fill, in the order of ``fills``.
    """

    ts: Array
    trading_pnl: Array
    equity_change: Array
    spread_bps: Array
    fill_ts: Array
    fill_spread_bps: Array
    fill_kind: Array
    out_of_sync: tuple[Spans, Spans]
    symbols: tuple[SymbolChart, ...] = ()
    fill_venue: Array = field(default_factory=_no_ints)
    fill_side: Array = field(default_factory=_no_ints)


def chart_data(summary: Summary, fills: Array, equity: Array) -> ChartData:
    """The series, markers and shaded spans of equity.png for ``summary`` over ``fills`` and ``equity``."""
    if summary.symbols:
        return _symbols_chart_data(summary, fills, equity)
    held = np.array([_none_to_nan(summary.initial.equity(m)) for m in equity["mid"]], dtype=float)
    spread = np.array(equity["spread_bps"], dtype=float)
    spread[_inside(equity["ts"], summary.out_of_sync[BINANCE] + summary.out_of_sync[BYBIT])] = np.nan
    return ChartData(
        ts=np.array(equity["ts"]),
        trading_pnl=equity["equity"] - held,
        equity_change=equity["equity"] - _none_to_nan(summary.risk.initial_equity),
        spread_bps=spread,
        fill_ts=np.array(fills["local_ts"]),
        fill_spread_bps=fill_spread_bps(fills, equity, summary.out_of_sync),
        fill_kind=np.array(fills["kind"]),
        out_of_sync=summary.out_of_sync,
        fill_venue=np.array(fills["venue"], np.int64),
        fill_side=np.array(fills["side"], np.int64),
    )


def _symbols_chart_data(summary: Summary, fills: Array, equity: Array) -> ChartData:
    # chart_data of a run with several symbols: the account's curves and every symbol's
    n = len(summary.symbols)
    series = account_equity(equity, n)
    spans = [part.out_of_sync for part in summary.symbols]
    markers = fill_spread_bps(fills, equity, symbol_out_of_sync=spans)
    charts = []
    for s, part in enumerate(summary.symbols):
        rows, own = equity[equity["symbol"] == s], fills["symbol"] == s
        held = np.array([_none_to_nan(part.initial.equity(m)) for m in rows["mid"]], dtype=float)
        spread = np.array(rows["spread_bps"], dtype=float)
        spread[_inside(rows["ts"], part.out_of_sync[BINANCE] + part.out_of_sync[BYBIT])] = np.nan
        charts.append(SymbolChart(
            name=part.name, ts=np.array(rows["ts"]), trading_pnl=rows["equity"] - held, spread_bps=spread,
            fill_ts=np.array(fills["local_ts"][own]), fill_spread_bps=markers[own],
            fill_kind=np.array(fills["kind"][own]), out_of_sync=part.out_of_sync,
            fill_venue=np.array(fills["venue"][own], np.int64), fill_side=np.array(fills["side"][own], np.int64),
        ))  # fmt: skip
    return ChartData(
        ts=series.ts,
        trading_pnl=series.equity - _held(series.mid, summary.initial),
        equity_change=series.equity - _none_to_nan(summary.risk.initial_equity),
        spread_bps=np.full(len(series.ts), np.nan),
        fill_ts=np.array(fills["local_ts"]),
        fill_spread_bps=markers,
        fill_kind=np.array(fills["kind"]),
        out_of_sync=summary.out_of_sync,
        symbols=tuple(charts),
        fill_venue=np.array(fills["venue"], np.int64),
        fill_side=np.array(fills["side"], np.int64),
    )


def fill_spread_bps(
    fills: Array,
    equity: Array,
    out_of_sync: Sequence[Spans] = ((), ()),
    *,
    symbol_out_of_sync: Sequence[Sequence[Spans]] = (),
) -> Array:
    """The Bybit-over-Binance spread each fill captured, bps, one per row of ``fills``: where its
    marker sits on the spread chart.

    A fill whose pair also filled on the other venue is set against the volume-weighted price of
    the pair's fills there: a Binance fill at ``p`` against the pair's Bybit VWAP ``q`` is
    ``(q - p) / p * 1e4``, a Bybit fill at ``q`` against the Binance VWAP ``p`` the same. That is the
    spread the trade took, not the mid spread of a sample taken before it (a jump in the spread that
    the pair traded on arrives between two samples). A fill alone on its venue in its pair (a lone leg,
    an unwind) sits at the spread of the first sample at or after it; NaN if that sample falls where a
    venue's book was not synced (``out_of_sync``, per venue), or there is none.

    When ``equity`` holds several symbols' rows, each fill is set against its own symbol's rows (and
    its spans in ``symbol_out_of_sync``, per symbol, per venue; else ``out_of_sync``).
    """
    n = int(equity["symbol"].max()) + 1 if len(equity) else 1
    if n <= 1:
        return _fill_spread_bps(fills, equity, out_of_sync)
    out = np.full(len(fills), np.nan)
    for s in range(n):
        own = fills["symbol"] == s
        spans = symbol_out_of_sync[s] if s < len(symbol_out_of_sync) else out_of_sync
        out[own] = _fill_spread_bps(fills[own], equity[equity["symbol"] == s], spans)
    return out


def _fill_spread_bps(fills: Array, equity: Array, out_of_sync: Sequence[Spans]) -> Array:
    # fill_spread_bps of one symbol's fills against its own equity rows
    out = np.full(len(fills), np.nan)
    if len(fills) == 0:
        return out
    venue = fills["venue"].astype(np.int64)
    pairs, pair_at = np.unique(fills["pair_id"], return_inverse=True)
    key = pair_at * 2 + venue  # (pair, venue) -> one slot
    qty = np.bincount(key, weights=fills["qty"], minlength=2 * len(pairs)).reshape(-1, 2)
    value = np.bincount(key, weights=fills["price"] * fills["qty"], minlength=2 * len(pairs)).reshape(-1, 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        vwap = np.where(qty > QTY_EPS, value / qty, np.nan)
    other = vwap[pair_at, 1 - venue]
    price = fills["price"]
    binance_px = np.where(venue == BINANCE, price, other)
    bybit_px = np.where(venue == BYBIT, price, other)
    with np.errstate(divide="ignore", invalid="ignore"):
        out[:] = (bybit_px - binance_px) / binance_px * 1e4
    alone = ~np.isfinite(other)
    if alone.any() and len(equity):
        at = np.searchsorted(equity["ts"], fills["local_ts"][alone], side="left")
        found = at < len(equity)
        sample = np.full(int(alone.sum()), np.nan)
        sample[found] = equity["spread_bps"][at[found]]
        synced = ~_inside(equity["ts"][np.minimum(at, len(equity) - 1)], tuple(out_of_sync[0]) + tuple(out_of_sync[1]))
        out[alone] = np.where(found & synced, sample, np.nan)
    return out


def _inside(ts: Array, spans: Iterable[Span]) -> Array:
    # mask of the times that fall inside any of the spans (start inclusive, end exclusive)
    mask = np.zeros(len(ts), dtype=bool)
    for start, end in spans:
        mask |= (ts >= start) & (ts < end)
    return mask


_SYNC_COLORS: Final = {BINANCE: "tab:orange", BYBIT: "tab:purple"}
_SYMBOL_COLORS: Final = ("tab:cyan", "tab:olive", "tab:pink", "tab:brown", "tab:red", "tab:green")


_FILL_COLORS: Final = {INTENT_OPEN: "tab:green", INTENT_HEDGE: "tab:orange", INTENT_UNWIND: "tab:red"}
_SIDE_MARKERS: Final = {BUY: "^", SELL: "v"}
_MARKER_PT: Final = 6.0
"""Size of a fill's marker on equity.png, points: fills closer than this in both time and spread are stacked."""
_STACK_PT: Final = 7.5
"""Distance between two markers of a stack, points."""


def fill_stack_levels(x: Array, y: Array, x_tol: float, y_tol: float) -> Array:
    """Where each fill's marker goes in a stack of fills that would hide one another: 0 for the first
    fill of a group, 1 for the next, and so on, one level per fill, so every fill gets a marker of its
    own. A group is the fills within ``x_tol`` of its first fill's ``x`` and within ``y_tol`` of its
    ``y`` (both in the data's units: the size of a marker on the chart), in the order given."""
    levels = np.zeros(len(x), np.int64)
    anchors: list[tuple[float, float, int]] = []  # (x, y, fills in the group) of groups still in reach
    for i in np.argsort(x, kind="stable").tolist():
        xi, yi = float(x[i]), float(y[i])
        anchors = [a for a in anchors if xi - a[0] <= x_tol]
        for k, (ax_, ay, n) in enumerate(anchors):
            if abs(yi - ay) <= y_tol or (math.isnan(yi) and math.isnan(ay)):
                levels[i] = n
                anchors[k] = (ax_, ay, n + 1)
                break
        else:
            anchors.append((xi, yi, 1))
    return levels


def _plot_equity(f: BinaryIO, summary: Summary, fills: Array, equity: Array) -> None:
    equity_figure(summary, fills, equity).savefig(f, format="png", dpi=110)


def _quote_name(summary: Summary) -> str:
    # the quote currency's name ("USDT") from the configuration in meta, else "quote"
    from arb.execution.risk import quote_currency

    names = (summary.meta.get("config") or {}).get("strategy", {}).get("symbols") or ()
    return quote_currency(str(names[0])) if names else "quote"


def equity_figure(summary: Summary, fills: Array, equity: Array) -> Any:
    """The figure of equity.png (a ``matplotlib.figure.Figure`` on an Agg canvas): panels sharing a UTC
    time axis: trading PnL on its own axis (with several symbols, each one's too), equity change (both
    in the quote currency), and the Bybit-over-Binance spread (bps) with every fill at the spread it
    captured, one spread panel per symbol; the spans a venue's book was out of sync shaded.

    Every fill has its own marker: colour by kind (open, hedge, unwind), shape by side (a triangle up
    for a buy, down for a sell), filled on Binance and hollow on Bybit; fills that would cover one
    another (the legs of a pair, pairs opened in a burst) are stacked a marker apart, towards zero
    (:func:`fill_stack_levels`), with their number beside a stack of three or more."""
    # The object API with an explicit Agg canvas: no pyplot global state, no display needed.
    import matplotlib.dates as mdates
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.transforms import ScaledTranslation

    data = chart_data(summary, fills, equity)
    quote = _quote_name(summary)
    spreads: list[tuple[str, Array, Array, Array, Array, Array, Array, Array, tuple[Spans, Spans]]] = (
        [(f"{c.name} spread (Bybit over Binance)", c.ts, c.spread_bps, c.fill_ts, c.fill_spread_bps, c.fill_kind,
          c.fill_venue, c.fill_side, c.out_of_sync) for c in data.symbols]
        if data.symbols
        else [("spread (Bybit over Binance)", data.ts, data.spread_bps, data.fill_ts, data.fill_spread_bps,
               data.fill_kind, data.fill_venue, data.fill_side, data.out_of_sync)]
    )  # fmt: skip
    fig = Figure(figsize=(12, 9.5 + 3.0 * (len(spreads) - 1)), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(2 + len(spreads), 1, sharex=True, height_ratios=(2, 2, *([3] * len(spreads))))
    pnl_ax, equity_ax, spread_axes = axes[0], axes[1], list(axes[2:])
    times = data.ts.astype("datetime64[ns]")
    label = "trading PnL, both venues" if not data.symbols else "trading PnL, account (both venues, every symbol)"
    pnl_ax.plot(times, data.trading_pnl, color="tab:blue", linewidth=1.0, label=label)
    for i, chart in enumerate(data.symbols):
        pnl_ax.plot(chart.ts.astype("datetime64[ns]"), chart.trading_pnl, color=_SYMBOL_COLORS[i % len(_SYMBOL_COLORS)],
                    linewidth=0.8, label=f"{chart.name}")  # fmt: skip
    pnl_ax.set_ylabel(f"trading PnL ({quote})")
    equity_ax.plot(
        times,
        data.equity_change,
        color="tab:grey",
        linewidth=0.8,
        label="equity change (includes the starting coins' price moves)",
    )
    equity_ax.set_ylabel(f"equity change ({quote})")
    for ax in (pnl_ax, equity_ax):
        ax.axhline(0.0, color="grey", linewidth=0.8, linestyle="--")
        ax.ticklabel_format(axis="y", style="plain", useOffset=False)  # whole values, not "+2.6e4" offsets
    pnl = summary.total.pnl
    mode = summary.meta.get("mode", "run")
    over = f", {len(data.symbols)} symbols" if data.symbols else ""
    pnl_ax.set_title(
        f"arb {mode}: net PnL {'n/a' if pnl is None else f'{pnl:,.4f}'} {quote}, {summary.total.fills:,} fills{over}"
    )

    span_ns = float(max(int(data.ts[-1]) - int(data.ts[0]), 1)) if len(data.ts) else 1.0
    width_pt = 12 * 72 * 0.85  # the axes' width, points (the figure is 12 inches wide)
    for spread_ax, (label, ts, spread, fill_ts, fill_bps, fill_kind, fill_venue, fill_side, out_of_sync) in zip(
        spread_axes, spreads, strict=True
    ):
        spread_ax.plot(ts.astype("datetime64[ns]"), spread, color="tab:grey", linewidth=0.8, label=label)
        finite = np.concatenate([spread[np.isfinite(spread)], fill_bps[np.isfinite(fill_bps)]])
        y_range = float(finite.max() - finite.min()) if len(finite) else 1.0
        height_pt = 3.0 / (4.0 + 3.0 * len(spreads)) * fig.get_figheight() * 72 * 0.8
        levels = fill_stack_levels(fill_ts, fill_bps, span_ns * _MARKER_PT / width_pt,
                                   max(y_range, 1e-9) * _MARKER_PT / height_pt)  # fmt: skip
        fill_times = fill_ts.astype("datetime64[ns]")
        toward_zero = np.where(np.nan_to_num(fill_bps) < 0, 1.0, -1.0)  # stacks grow towards the middle
        for kind, color in _FILL_COLORS.items():
            for side, marker in _SIDE_MARKERS.items():
                for venue in _VENUES:
                    mask = (fill_kind == kind) & (fill_side == side) & (fill_venue == venue)
                    for level in np.unique(levels[mask]).tolist():
                        at = mask & (levels == level)
                        for direction in (1.0, -1.0):
                            here = at & (toward_zero == direction)
                            if not here.any():
                                continue
                            shift = ScaledTranslation(0.0, direction * level * _STACK_PT / 72, fig.dpi_scale_trans)
                            spread_ax.scatter(
                                fill_times[here], fill_bps[here], s=_MARKER_PT**2, marker=marker, zorder=3,
                                edgecolors=color, facecolors=color if venue == BINANCE else "none", linewidths=1.0,
                                transform=spread_ax.transData + shift,
                            )  # fmt: skip
        stacks = np.flatnonzero(levels == 0)
        for first in stacks.tolist():
            size = _stack_size(levels, first, fill_ts, span_ns * _MARKER_PT / width_pt)
            if size >= 3 and np.isfinite(fill_bps[first]):
                spread_ax.annotate(f"{size} fills", (fill_times[first], fill_bps[first]), xytext=(8, 0),
                                   textcoords="offset points", fontsize="x-small", va="center")  # fmt: skip
        handles: list[Any] = []
        for kind, color in _FILL_COLORS.items():
            count = int(np.count_nonzero(fill_kind == kind))
            if count:
                text = f"{_KIND_NAMES[kind]} fills ({count}) at the spread they captured"
                handles.append(Line2D([], [], linestyle="none", marker="o", color=color, label=text))
        if len(fill_kind):
            handles += [
                Line2D([], [], linestyle="none", marker="^", color="black", label="buy"),
                Line2D([], [], linestyle="none", marker="v", color="black", label="sell"),
                Line2D([], [], linestyle="none", marker="s", color="black", label="filled: Binance"),
                Line2D([], [], linestyle="none", marker="s", color="black", markerfacecolor="none",
                       label="hollow: Bybit (fills at one moment stacked)"),
            ]  # fmt: skip
        spread_ax.set_ylabel("spread (bps)")
        for venue, spans in enumerate(out_of_sync):
            seconds = sum(end - start for start, end in spans) / NS_PER_S
            for i, (start, end) in enumerate(spans):
                label = f"{ASSET_NAMES[venue].capitalize()} book out of sync ({seconds:.3g} s in all)"
                spread_ax.axvspan(np.datetime64(start, "ns"), np.datetime64(end, "ns"), color=_SYNC_COLORS[venue],
                                  alpha=0.2, linewidth=0, label=label if i == 0 else None)  # fmt: skip
        lines, _ = spread_ax.get_legend_handles_labels()
        spread_ax.legend(handles=[*lines, *handles], loc="best", fontsize="small")
    spread_axes[-1].set_xlabel("time (UTC)")
    for venue, spans in enumerate(data.out_of_sync):
        for start, end in spans:
            for ax in (pnl_ax, equity_ax):
                ax.axvspan(np.datetime64(start, "ns"), np.datetime64(end, "ns"), color=_SYNC_COLORS[venue], alpha=0.2,
                           linewidth=0)  # fmt: skip
    for ax in axes:
        if ax not in spread_axes:
            ax.legend(loc="best", fontsize="small")
        ax.grid(True, alpha=0.3)
    locator = mdates.AutoDateLocator(tz=UTC)  # type: ignore[no-untyped-call]  # matplotlib.dates is unannotated
    spread_axes[-1].xaxis.set_major_locator(locator)
    formatter = mdates.ConciseDateFormatter(locator, tz=UTC)  # type: ignore[no-untyped-call]  # as above
    spread_axes[-1].xaxis.set_major_formatter(formatter)
    return fig


def _stack_size(levels: Array, first: int, x: Array, x_tol: float) -> int:
    # how many fills the stack that fill ``first`` opens holds: it and the fills of level 1, 2, ... after it
    # within reach (fill_stack_levels numbers them in that order)
    near = (x >= x[first]) & (x - x[first] <= x_tol)
    size = 1
    while np.any(near & (levels == size)):
        size += 1
    return size


# --------------------------------------------------------------------------------------------------
# Terminal


def print_summary(summary: Summary, console: Console | None = None) -> None:
    """Print the figures as a rich table: columns Total / Binance / Bybit (pair and risk rows: Total only)."""
    console = console if console is not None else Console()
    meta = summary.meta
    title = f"arb {meta.get('mode', 'run')}"
    duration = meta.get("duration_s")
    days = meta.get("days")
    if isinstance(duration, int | float) and not isinstance(duration, bool):
        title += f" over {_duration_text(float(duration))}"
    elif isinstance(days, int | float) and not isinstance(days, bool):
        title += f" over {days:.3g} days"
    several = bool(summary.symbols)
    if several:
        title += f", {len(summary.symbols)} symbols: the account"
    table = Table(title=title, title_justify="left")
    table.add_column("figure")
    for name in ("Total", "Binance", "Bybit"):
        table.add_column(name, justify="right")

    columns = (summary.total, *summary.venues)

    def row(label: str, attr: str, fmt: Callable[[Any], str], base: bool = False) -> None:
        if base and several:  # base units of different coins do not add up: per symbol below
            return
        table.add_row(label, *(fmt(getattr(f, attr)) for f in columns))

    row("net PnL, equity (quote)", "pnl", _money)
    row("net PnL, fills (quote)", "pnl_from_fills", _money)
    funded = any(f.funding != 0.0 for f in columns)
    if funded:  # net PnL = trading PnL - fees + funding
        row("  trading PnL (quote)", "trading_pnl", _money)
    row("fees (quote)", "fees", _money)
    if funded:
        row("funding (quote)", "funding", _money)
    row("fills", "fills", _int)
    row("hedge fills", "hedge_fills", _int)
    row("unwind fills", "unwind_fills", _int)
    row("volume (base)", "volume", _qty, base=True)
    row("notional (quote)", "notional", _money)
    row("mean holding time (s)", "holding_time_s", _num)
    row("open at end (base)", "open_qty", _qty, base=True)
    row("position (base)", "position", _qty, base=True)
    row("base balance (base)", "base_balance", _qty, base=True)
    row("quote balance (quote)", "quote_balance", _money)
    row("final mid (quote)", "final_mid", _money, base=True)
    row("time out of sync (s)", "out_of_sync_s", _num)
    row("out-of-sync spans", "out_of_sync_spans", _int)

    table.add_section()
    pairs, risk = summary.pairs, summary.risk
    for label, value in (
        ("pairs", _int(pairs.pairs)),
        ("legs filled", _int(pairs.legs_filled)),
        ("pairs with equal legs", _int(pairs.pairs_matched)),
        ("pairs hedged or unwound", _int(pairs.pairs_hedged)),
        ("mean captured spread (bps)", _num(pairs.spread_bps)),
        ("  net of fees (bps)", _num(pairs.spread_net_bps)),
        ("pairs won (PnL > 0)", _int(pairs.pairs_won)),
        ("win rate", _pct(pairs.win_rate)),
        ("mean PnL per pair (quote)", _money(pairs.pair_pnl_mean)),
    ):
        table.add_row(label, value, "", "")
    legs = summary.legs
    if legs is not None and legs.any:
        table.add_section()
        for label, value in (
            ("legs faulted: rejected", _int(legs.rejected)),
            ("  partly filled", _int(legs.partial)),
            ("  late", _int(legs.late)),
            ("lone legs", _int(legs.lone_legs)),
            ("  hedged", _int(legs.hedged)),
            ("  unwound", _int(legs.unwound)),
            ("  open at end", _int(legs.open_at_end)),
            ("  past max hedge attempts", _int(legs.given_up)),
            ("hedge and unwind orders", _int(legs.hedge_orders)),
            ("PnL of faulted pairs (quote)", _money(legs.pnl_faulted)),
            ("PnL of clean pairs (quote)", _money(legs.pnl_clean)),
            ("mean per faulted / clean pair", f"{_money(legs.pnl_faulted_mean)} / {_money(legs.pnl_clean_mean)}"),
            ("leg-risk cost (quote)", _money(legs.cost)),
        ):
            table.add_row(label, value, "", "")
    table.add_section()
    for label, value in (
        ("Sharpe (annualised)", _ratio(risk.sharpe, risk.sharpe_defined, risk.ratios_meaningful)),
        ("Sortino (annualised)", _ratio(risk.sortino, risk.sortino_defined, risk.ratios_meaningful)),
        ("max drawdown (quote)", _money(risk.max_drawdown)),
        ("max drawdown (of peak)", _pct(risk.max_drawdown_frac)),
        ("equity samples", _int(risk.samples)),
    ):
        table.add_row(label, value, "", "")
    console.print(table)
    if several:
        console.print(_symbols_table(summary))
    if risk.ratios_note:
        console.print(f"ratios: {risk.ratios_note}")
    naked_legs = [(part.name + " ", part.legs) for part in summary.symbols] if several else [("", legs)]
    for name, own in naked_legs:
        if own is None or not own.open_at_end:
            continue
        naked = ", ".join(f"{name}{ASSET_NAMES[v]} {own.exposure[v]:+.8g}" for v in _VENUES if abs(own.exposure[v]) > 0)
        console.print(f"[bold red]NAKED LEG at the end: {naked} (base); {own.given_up} pair(s) past max hedge "
                      "attempts[/bold red]")  # fmt: skip
    for part in summary.symbols:
        if not part.pnl_consistent:
            console.print(f"[yellow]{part.name}: net PnL from its equity rows and from its fills disagree by more "
                          f"than {PNL_TOLERANCE} quote[/yellow]")  # fmt: skip
    if not summary.pnl_consistent:
        console.print(
            "[yellow]net PnL from the equity samples and from the fills disagree by more than "
            f"{PNL_TOLERANCE} quote: the run's accounting is inconsistent[/yellow]"
        )


def _symbols_table(summary: Summary) -> Table:
    """Every symbol's figures, a column per symbol: money in quote, quantities in each one's base units."""
    table = Table(title="per symbol (quantities in each symbol's base)", title_justify="left")
    table.add_column("figure")
    parts = summary.symbols
    for part in parts:
        table.add_column(part.name, justify="right")
    rows: list[tuple[str, Callable[[SymbolSummary], str]]] = [
        ("net PnL, equity (quote)", lambda p: _money(p.total.pnl)),
        ("net PnL, fills (quote)", lambda p: _money(p.total.pnl_from_fills)),
        ("fees (quote)", lambda p: _money(p.total.fees)),
        ("fills", lambda p: _int(p.total.fills)),
        ("volume (base)", lambda p: _qty(p.total.volume)),
        ("notional (quote)", lambda p: _money(p.total.notional)),
        ("pairs", lambda p: _int(p.pairs.pairs)),
        ("win rate", lambda p: _pct(p.pairs.win_rate)),
        ("mean captured spread (bps)", lambda p: _num(p.pairs.spread_bps)),
        ("mean holding time (s)", lambda p: _num(p.total.holding_time_s)),
        ("position Binance (base)", lambda p: _qty(p.venues[BINANCE].position)),
        ("position Bybit (base)", lambda p: _qty(p.venues[BYBIT].position)),
        ("final mid Binance (quote)", lambda p: _money(p.venues[BINANCE].final_mid)),
        ("final mid Bybit (quote)", lambda p: _money(p.venues[BYBIT].final_mid)),
        ("time out of sync (s)", lambda p: _num(p.total.out_of_sync_s)),
    ]
    for label, cell in rows:
        table.add_row(label, *(cell(part) for part in parts))
    return table


def _money(x: float | None) -> str:
    return "n/a" if x is None else _not_rounded_to_zero(x, f"{x:,.4f}", f"{x:.2g}")


def _qty(x: float | None) -> str:
    return "n/a" if x is None else f"{x:,.8f}"


def _num(x: float | None) -> str:
    return "n/a" if x is None else _not_rounded_to_zero(x, f"{x:,.3f}", f"{x:.2g}")


def _ratio(x: float | None, defined: bool, meaningful: bool) -> str:
    # the reason is printed under the table (ratios_note)
    if not defined:
        return "n/a"
    return _num(x) if meaningful else "not meaningful"


def _int(x: int) -> str:
    return f"{x:,}"


def _pct(x: float | None) -> str:
    return "n/a" if x is None else _not_rounded_to_zero(x, f"{x:.2%}", f"{x * 100:.2g}%")


def _not_rounded_to_zero(x: float, text: str, significant: str) -> str:
    # ``text`` unless it shows a non-zero ``x`` as zero ("0.00%" for a 0.0037 % drawdown): then two
    # significant digits, "0.0037%"
    if x != 0 and not any(c in "123456789" for c in text):
        return significant
    return text
