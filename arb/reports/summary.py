"""The run summary shared by ``arb backtest``, ``arb dry-run``, ``arb live`` and the sweeps: every
figure of a run, per venue and in total, per symbol with several.

A driver records two arrays while it runs (see :mod:`arb.strategy.types`): ``fills`` (``FILL_DTYPE``,
one row per fill) and ``equity`` (:func:`~arb.strategy.types.equity_dtype`, one sample per fixed interval
of local time). At the end it calls::

    summary = run_summary(config, fills, equity, InitialBalances.from_config(config), meta)
    write_report(out_dir, summary, fills, equity)   # arb.reports.files: summary.json, trades.csv, ...
    print_summary(summary)                          # arb.reports.console

Units: prices and money in quote currency (USDT), quantities in base units (BTC), times in int64
nanoseconds since the Unix epoch (UTC) unless a name ends in ``_s`` (seconds), spreads in basis
points (``_bps``), fractions as plain floats (``0.25`` = 25 %). Figures that cannot be computed (a
mean over nothing, a value at an unknown mid) are ``None``, written ``null`` in JSON; never NaN.

``docs/reports.md`` gives the formula of every figure and how to recompute PnL from trades.csv.
"""

from __future__ import annotations

__all__ = [
    "SCHEMA_VERSION",
    "Figures",
    "FillFigures",
    "Summary",
    "SymbolSummary",
    "entry_thresholds",
    "merged_spans",
    "run_summary",
    "summarize",
]

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, TypedDict

import numpy as np

from arb.events import NS_PER_S
from arb.formats import jsonable
from arb.reports.common import (
    Array,
    JsonFigures,
    first_finite,
    last_finite,
    require_fields,
    require_values,
    run_venue_names,
    sum_or_none,
    venue_count,
)
from arb.reports.maker import MakerFigures, maker_figures
from arb.reports.pnl import (
    PNL_TOLERANCE,
    LegFigures,
    PairFigures,
    cash_flow,
    combined_leg_figures,
    fifo_holding,
    pair_figures,
    position_of,
    run_leg_figures,
    symbol_leg_figures,
    venue_pnl_from_fills,
)
from arb.reports.ratios import RiskFigures, account_risk_figures, risk_figures
from arb.reports.transfers import VenueMoves, venue_moves
from arb.reports.valuation import InitialBalances, account_equity, boundary_marks, unit_value, value_prices
from arb.results.marks import BoundaryMark, Span, Spans
from arb.results.venues import directions
from arb.strategy.types import (
    BUY,
    FILL_DTYPE,
    FUNDING_DTYPE,
    INTENT_HEDGE,
    INTENT_QUOTE,
    INTENT_UNWIND,
    SELL,
    TRANSFER_DTYPE,
    equity_dtype,
)

if TYPE_CHECKING:
    from arb.config import AppConfig

SCHEMA_VERSION: Final = 2
"""``schema`` in summary.json; raised when a figure changes meaning or a key is removed."""


@dataclass(frozen=True, slots=True)
class FillFigures:
    """The figures every venue column has, of a run (:class:`Figures`) and of a period
    (:class:`arb.reports.figures.VenueRow`): name, PnL both ways, fees, volume and notional, the fills
    by kind and the FIFO holding time (each described in :class:`Figures`)."""

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


@dataclass(frozen=True, slots=True)
class Figures(FillFigures, JsonFigures):
    """Figures of one venue, or of every venue together (``name == "total"``): of the account, or of one
    symbol.

    With several symbols the account's base quantities (``volume``, ``closed_qty``, ``open_qty``,
    ``position``, ``base_balance``) are None: units of different coins do not add up; each symbol's
    figures (:class:`SymbolSummary`) have them.

    Attributes:
        name: The venue's name (as the run's configuration spells it) or ``"total"``.
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


@dataclass(frozen=True)
class SymbolSummary:
    """One symbol's part of a run with several symbols (``Summary.symbols``): its fills valued at its
    own mids, its part of the equity rows. Its PnL, fees, notional and fills add up over the symbols to
    the account's; its quantities are in its own base units.

    Attributes:
        name: The symbol (``"ETHUSDT"``).
        total: Every venue together (``position``: the symbol's net exposure across venues).
        venues: Per venue, by venue number.
        pairs: Its arbitrage pairs.
        initial: Its part of the starting balances (:meth:`InitialBalances.symbol`: its base, and the
            venues' quote only for the first symbol).
        pnl_consistent: ``|total.pnl - total.pnl_from_fills| <= PNL_TOLERANCE``.
        out_of_sync: Per venue, the spans its book was not synced.
        legs: Its leg-risk figures, when the driver gave the intents it sent.
    """

    name: str
    total: Figures
    venues: tuple[Figures, ...]
    pairs: PairFigures
    initial: InitialBalances
    pnl_consistent: bool
    out_of_sync: tuple[Spans, ...] = ()
    legs: LegFigures | None = None

    def to_dict(self) -> dict[str, Any]:
        """What summary.json holds under ``symbols.<name>``."""
        return {**_figures_dict(self), "initial_base": list(self.initial.base)}


@dataclass(frozen=True)
class Summary:
    """Everything the report says about a run. Built by :func:`summarize`.

    Attributes:
        total: Every venue together.
        venues: Per venue, by venue number (the run's order, ``[strategy] venues``); each ``name`` is the
            venue's (:attr:`venue_names`).
        pairs: Arbitrage-pair figures.
        risk: Equity-curve figures.
        initial: The starting balances.
        pnl_consistent: ``|total.pnl - total.pnl_from_fills| <= PNL_TOLERANCE`` (False if either is None),
            and the same for every symbol.
        meta: The driver's meta data (config, data range, mode, counters), made JSON-safe.
        out_of_sync: Per venue, the spans ``(start_ns, end_ns)`` of local time its book was not synced
            (with several symbols: any of its books); one entry per venue.
        legs: Leg-risk figures, when the driver gave the intents it sent (:func:`leg_figures`); with
            several symbols their sum (:func:`combined_leg_figures`).
        symbols: With several symbols, each one's figures in ``[strategy] symbols`` order (empty with
            one: the account's figures are its own). ``total``, ``venues``, ``pairs`` and ``risk`` are
            then the account's: every symbol's equity rows of a time summed, every fill valued at its
            own symbol's mid.
        marks: The books' mids at the run's start, at each UTC midnight inside it and at its end
            (:func:`boundary_marks`; :func:`run_summary` fills them, :func:`summarize` does not).
        maker: The quotes' figures when the run quoted (the ``maker_taker`` style) and the driver gave
            its intents and kernel calls (:func:`~arb.reports.maker.maker_figures`).
        inventory: What inventory cost the run, when the driver says (a backtest:
            :func:`arb.backtest.run.inventory_figures`): pairs missed for want of balance, transfers,
            their fees and time in transit, each venue's balances at the end.
    """

    total: Figures
    venues: tuple[Figures, ...]
    pairs: PairFigures
    risk: RiskFigures
    initial: InitialBalances
    pnl_consistent: bool
    meta: Mapping[str, Any]
    out_of_sync: tuple[Spans, ...] = ()
    legs: LegFigures | None = None
    symbols: tuple[SymbolSummary, ...] = ()
    marks: tuple[BoundaryMark, ...] = ()
    maker: MakerFigures | None = None
    inventory: Mapping[str, Any] | None = None

    @property
    def venue_names(self) -> tuple[str, ...]:
        """The run's venues by number, as its files and tables name them."""
        return tuple(f.name for f in self.venues)

    def to_dict(self) -> dict[str, Any]:
        """What summary.json holds: JSON-safe (no NaN, ints as ints), keys in a stable order; with
        several symbols a ``symbols`` section (:meth:`SymbolSummary.to_dict` by name); with marks a
        ``marks`` list (:meth:`BoundaryMark.to_dict`, symbols and venues by name)."""
        names = [sym.name for sym in self.symbols] or list(_symbol_names((), self.meta, 1))
        return {
            "schema": SCHEMA_VERSION,
            **_figures_dict(self),
            "risk": self.risk.to_dict(),
            **({"inventory": jsonable(self.inventory)} if self.inventory is not None else {}),
            **({"maker": self.maker.to_dict()} if self.maker is not None else {}),
            **({"symbols": {sym.name: sym.to_dict() for sym in self.symbols}} if self.symbols else {}),
            "initial": self.initial.to_dict(),
            **({"marks": [mark.to_dict(names, self.venue_names) for mark in self.marks]} if self.marks else {}),
            "meta": jsonable(self.meta, default=str),
        }


def _figures_dict(part: Summary | SymbolSummary) -> dict[str, Any]:
    # what summary.json holds of the run and of each symbol alike, in this order
    return {
        "pnl_consistent": part.pnl_consistent,
        "total": part.total.to_dict(),
        "venues": {f.name: f.to_dict() for f in part.venues},
        "out_of_sync": {
            f.name: [list(span) for span in spans]
            for f, spans in zip(part.venues, part.out_of_sync or ((),) * len(part.venues), strict=True)
        },
        "pairs": part.pairs.to_dict(),
        **({"legs": part.legs.to_dict()} if part.legs is not None else {}),
    }


def summarize(
    fills: Array,
    equity: Array,
    initial: InitialBalances,
    meta: Mapping[str, Any],
    *,
    out_of_sync: Sequence[Iterable[Span]] = (),
    legs: LegFigures | None = None,
    symbols: Sequence[str] = (),
    symbol_out_of_sync: Sequence[Sequence[Iterable[Span]]] = (),
    symbol_legs: Sequence[LegFigures | None] = (),
    funding: Array | None = None,
    transfers: Array | None = None,
    venues: Sequence[str] = (),
) -> Summary:
    """Compute every figure of the report.

    With one symbol (``initial.n_symbols == 1``) the figures are that symbol's and the account's at
    once. With several, ``total``, ``venues``, ``pairs`` and ``risk`` are the account's, from the
    account series (:func:`account_equity`: every symbol's rows of a time summed) and every fill valued
    at its own symbol's final mid, and ``Summary.symbols`` holds each symbol's figures, from its own
    fills and equity rows and :meth:`InitialBalances.symbol`.

    The run's venues are as many as the equity rows' per-venue fields are wide (``mid``); each venue's
    column is named by ``venues``, else by the configuration in ``meta``
    (:func:`arb.reports.common.run_venue_names`).

    Args:
        fills: ``FILL_DTYPE`` rows, one per fill (any order; FIFO matching sorts them by ``local_ts``).
        equity: Equity samples (:func:`~arb.strategy.types.equity_dtype`) in time order (with several
            symbols, one row per symbol at each sample time). The last sample must come after the last
            fill: its ``equity`` is the
            final equity and its ``mid`` values the inventory (a venue whose last mid is NaN falls back
            to its last finite mid).
        initial: Starting balances per venue (and per symbol: :meth:`InitialBalances.of_symbols`), one
            value per venue of ``equity``.
        meta: Stored as is in summary.json (config, data range, mode, driver counters); numpy scalars,
            paths, tuples and dataclasses are converted, NaN becomes null, anything else its ``str``.
        out_of_sync: Per venue (by number), the spans of local time its book was not synced, within the
            run (:func:`out_of_sync_spans` makes them from a driver's sync changes); empty: never. With
            several symbols, give ``symbol_out_of_sync`` instead (what is given here is added to the
            account's spans).
        legs: Leg-risk figures (:func:`leg_figures`), stored as they are.
        symbols: With several symbols, their names in number order (default: the ``strategy.symbols``
            of the configuration in ``meta``, else their numbers).
        symbol_out_of_sync: With several symbols, per symbol, per venue, its book's spans.
        symbol_legs: With several symbols, per symbol, its leg-risk figures.
        funding: ``FUNDING_DTYPE`` rows: every funding payment booked (perpetuals); None or empty:
            none. Each venue's (and symbol's) ``funding`` is their sum; ``pnl_from_fills`` counts them.
        transfers: ``TRANSFER_DTYPE`` rows: the transfers of inventory between the venues a backtest
            made (:mod:`arb.reports.transfers`); None or empty: none. The venues' balances count them,
            ``pnl_from_fills`` their fees, and a venue's PnL not what was moved to or from it.
        venues: The venues' names by number (default: from ``meta``, see above).

    Returns:
        A frozen :class:`Summary`.

    Raises:
        ValueError: ``fills`` or ``equity`` lacks a field of its dtype, a fill's venue is not one of the
            run's or its side not BUY/SELL, ``equity`` has no sample (of a symbol), a row names a symbol
            that ``initial`` does not have, or ``initial``, ``out_of_sync`` or ``venues`` hold another
            number of venues than ``equity``.
    """
    require_fields(fills, FILL_DTYPE, "fills")
    n_venues = venue_count(equity) if equity.dtype.names and "mid" in equity.dtype.names else 0
    require_fields(equity, equity_dtype(max(n_venues, 1)), "equity")
    numbers = tuple(range(n_venues))
    require_values(fills, "venue", numbers)
    require_values(fills, "side", (BUY, SELL))
    if len(equity) == 0:
        raise ValueError("equity holds no sample: the driver records one at the start and one after the last fill")
    if out_of_sync and len(out_of_sync) != n_venues:
        raise ValueError(f"out_of_sync: expected the spans of {n_venues} venues, got {len(out_of_sync)}")
    if initial.n_venues != n_venues:
        raise ValueError(f"initial: expected the balances of {n_venues} venues (the equity rows'), got "
                         f"{initial.n_venues}")  # fmt: skip
    names = run_venue_names(meta, n_venues, venues)
    fills = fills[np.argsort(fills["local_ts"], kind="stable")]
    paid = np.zeros(0, FUNDING_DTYPE) if funding is None else funding
    require_fields(paid, FUNDING_DTYPE, "funding")
    moved = np.zeros(0, TRANSFER_DTYPE) if transfers is None else transfers
    require_fields(moved, TRANSFER_DTYPE, "transfers")
    given = list(out_of_sync) or [()] * n_venues
    if initial.n_symbols > 1:
        return _summarize_symbols(
            fills, equity, initial, meta, given, legs, symbols, symbol_out_of_sync, symbol_legs, paid, moved, names
        )
    final_mid = last_finite(value_prices(equity))
    spans = tuple(merged_spans(own) for own in given)
    total, figures = _figures(fills, equity, initial, final_mid, spans, paid, moved, names)
    return Summary(
        total=total,
        venues=figures,
        pairs=pair_figures(fills, final_mid, names),
        risk=risk_figures(equity, initial, final_mid),
        initial=initial,
        pnl_consistent=_consistent(total),
        meta=MappingProxyType(jsonable(dict(meta), default=str)),
        out_of_sync=spans,
        legs=legs,
    )


def _figures(
    fills: Array,
    equity: Array,
    initial: InitialBalances,
    final_mid: Array,
    spans: Sequence[Spans],
    funding: Array,
    transfers: Array,
    names: Sequence[str],
) -> tuple[Figures, tuple[Figures, ...]]:
    # one symbol's (or a one-symbol account's) total and per-venue figures (``transfers``: its own)
    moves: Sequence[VenueMoves | None] = (
        venue_moves(transfers, final_mid, int(equity["ts"][-1])) if len(transfers) else (None,) * len(names)
    )
    venues = tuple(
        _venue_figures(v, name, fills, equity, initial, final_mid, spans[v], funding[funding["venue"] == v], moves[v])
        for v, name in enumerate(names)
    )
    total = _total_figures(venues, fills, equity, initial, final_mid, merged_spans(s for own in spans for s in own))
    return total, venues


class _Traded(TypedDict):
    volume: float
    notional: float
    fills: int


def _traded(fills: Array) -> _Traded:
    """``volume``, ``notional`` and ``fills`` of :class:`Figures` for these fills."""
    return _Traded(
        volume=float(np.sum(fills["qty"])), notional=float(np.sum(fills["price"] * fills["qty"])), fills=len(fills)
    )


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
    transfers: Array,
    venue_names: Sequence[str],
) -> Summary:
    # Every symbol's figures from its own rows, then the account's from the account series and the
    # fills valued at their own symbol's mid (see summarize).
    n = initial.n_symbols
    n_venues = len(venue_names)
    names = _symbol_names(symbols, meta, n)
    numbers = tuple(range(n))
    require_values(fills, "symbol", numbers)
    require_values(equity, "symbol", numbers, "equity")
    if symbol_out_of_sync and len(symbol_out_of_sync) != n:
        raise ValueError(f"symbol_out_of_sync: expected the spans of {n} symbols, got {len(symbol_out_of_sync)}")
    parts: list[SymbolSummary] = []
    final_mids = np.full((n, n_venues), np.nan)
    first_mids = np.full((n, n_venues), np.nan)
    for s in numbers:
        own_fills, own_equity = fills[fills["symbol"] == s], equity[equity["symbol"] == s]
        if len(own_equity) == 0:
            raise ValueError(f"equity holds no sample of {names[s]}: the driver records one row per symbol")
        given = list(symbol_out_of_sync[s]) if symbol_out_of_sync else []
        if given and len(given) != n_venues:
            raise ValueError(f"symbol_out_of_sync[{s}]: expected the spans of {n_venues} venues, got {len(given)}")
        spans = tuple(merged_spans(own) for own in given or [()] * n_venues)
        final_mids[s], first_mids[s] = last_finite(value_prices(own_equity)), first_finite(own_equity["mid"])
        part = initial.symbol(s)
        total, venues = _figures(own_fills, own_equity, part, final_mids[s], spans, funding[funding["symbol"] == s],
                                 transfers[transfers["symbol"] == s], venue_names)  # fmt: skip
        parts.append(SymbolSummary(
            name=names[s], total=total, venues=venues, pairs=pair_figures(own_fills, final_mids[s], venue_names),
            initial=part,
            pnl_consistent=_consistent(total), out_of_sync=spans,
            legs=symbol_legs[s] if s < len(symbol_legs) else None,
        ))  # fmt: skip
    series = account_equity(equity, n)
    end = int(equity["ts"][-1])
    moved_in = [0.0] * n_venues  # per venue, what transfers moved to it less what it sent, fees apart (quote)
    for s in numbers:
        own = transfers[transfers["symbol"] == s]
        if len(own):
            for v, moves in enumerate(venue_moves(own, final_mids[s], end)):
                moved_in[v] += moves.moved_in_value
    weights = [unit_value(final_mids[s]) for s in numbers]
    venue_spans = tuple(
        merged_spans([*out_of_sync[v], *(span for part in parts for span in part.out_of_sync[v])])
        for v in range(n_venues)
    )
    account_venues = tuple(
        _account_figures(
            name,
            [part.venues[v] for part in parts],
            weights,
            float(series.equity_venue[-1, v]) - moved_in[v],
            sum_or_none(initial.symbol(s).venue_equity(v, float(final_mids[s, v])) for s in numbers),
            venue_spans[v],
        )
        for v, name in enumerate(venue_names)
    )
    total = _account_figures(
        "total",
        [part.total for part in parts],
        weights,
        float(series.equity[-1]),
        initial.equity(final_mids),
        merged_spans(span for spans in venue_spans for span in spans),
    )
    return Summary(
        total=total,
        venues=account_venues,
        pairs=pair_figures(fills, final_mids, venue_names),
        risk=account_risk_figures(series, initial, first_mids, final_mids),
        initial=initial,
        pnl_consistent=_consistent(total) and all(part.pnl_consistent for part in parts),
        meta=MappingProxyType(jsonable(dict(meta), default=str)),
        out_of_sync=venue_spans,
        legs=legs,
        symbols=tuple(parts),
    )


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
        pnl_from_fills=sum_or_none(f.pnl_from_fills for f in parts),
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


def merged_spans(spans: Iterable[Span]) -> Spans:
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


def _venue_figures(
    venue: int,
    name: str,
    fills: Array,
    equity: Array,
    initial: InitialBalances,
    final_mid: Array,
    out_of_sync: Spans,
    funding: Array,
    moves: VenueMoves | None = None,
) -> Figures:
    own = fills[fills["venue"] == venue]
    mid = float(final_mid[venue])
    position = position_of(own)
    paid = math.fsum(funding["payment"].tolist())
    cash = cash_flow(own) + paid
    start = initial.venue_equity(venue, mid)
    final_equity = float(equity["equity_venue"][-1, venue])
    pnl = None if start is None or not math.isfinite(final_equity) else final_equity - start
    weighted_ns, closed, still_open = fifo_holding(own["local_ts"], own["side"] * own["qty"])
    from_fills = venue_pnl_from_fills(own, mid)
    fees = float(np.sum(own["fee"]))
    base, quote = initial.base[venue] + position, initial.quote[venue] + cash
    if moves is not None:  # what transfers moved: the balances count it, the PnL only the fees
        base, quote = base + moves.base, quote + moves.quote
        pnl = _finite_or_none(None if pnl is None else pnl - moves.moved_in_value)
        from_fills = _finite_or_none(
            None if from_fills is None else from_fills + moves.owned_value - moves.moved_in_value
        )
    return Figures(
        name=name,
        pnl=pnl,
        pnl_from_fills=None if from_fills is None else from_fills + paid,
        trading_pnl=_trading(pnl, fees, paid),
        funding=paid,
        fees=fees,
        **_traded(own),
        hedge_fills=int(np.count_nonzero(own["kind"] == INTENT_HEDGE)),
        unwind_fills=int(np.count_nonzero(own["kind"] == INTENT_UNWIND)),
        holding_time_s=weighted_ns / closed / NS_PER_S if closed > 0 else None,
        closed_qty=closed,
        open_qty=still_open,
        position=position,
        base_balance=base,
        quote_balance=quote,
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
        pnl_from_fills=sum_or_none(f.pnl_from_fills for f in venues),
        trading_pnl=_trading(pnl, fees, funding),
        funding=funding,
        fees=fees,
        **_traded(fills),
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


def _finite_or_none(x: float | None) -> float | None:
    # a PnL a transfer's value made NaN (a venue without a mid where base moved): unknown
    return None if x is None or not math.isfinite(x) else x


def _known(x: float | None) -> float:
    # a quantity of one symbol's venue: always known (None only in an account of several symbols)
    assert x is not None
    return x


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
    calls: Array | None = None,
    inventory: Mapping[str, Any] | None = None,
    transfers: Array | None = None,
) -> Summary:
    """What a driver (``arb backtest``, ``arb dry-run``, ``arb live``, a sweep) calls at the end of a
    run of ``config``: :func:`summarize` with the leg-risk figures (when ``sent``, the intents sent,
    is given), with several symbols every symbol's part, and the run's boundary marks. Its meta names
    the strategy (``meta.strategy``: :func:`arb.strategy.loading.strategy_record`, unless ``meta`` gives it)
    and each symbol's entry threshold (``meta.entry``).

    Args:
        out_of_sync: Per symbol, per venue, the spans its book was not synced (none: never out of sync).
        sent: ``SENT_DTYPE`` rows; None: no leg figures (a driver that does not keep them).
        kernel_flags: Per symbol, its kernel's ``flags`` at the end (``HEDGE_FAILED``).
        funding: ``FUNDING_DTYPE`` rows: the funding payments booked (perpetuals); None: none.
        day_marks: The books' mids the driver took at each UTC midnight it crossed (see
            :func:`boundary_marks`); None: taken from the equity samples.
        calls: ``DECISION_DTYPE`` rows, the kernel calls; with ``sent`` holding quotes, the quotes'
            figures (``maker``) are built from them.
        inventory: What inventory cost the run (:attr:`Summary.inventory`), stored as it is. Transfer
            fees leave the equity but no fill: the PnL check counts them (the quote fees, and the base
            fees at the final mid).
        transfers: ``TRANSFER_DTYPE`` rows, every transfer the run made (:func:`summarize` counts them:
            the balances, the fees in ``pnl_from_fills``, each venue's PnL); None: the PnL check counts
            ``inventory``'s totals instead.
    """
    n = len(config.symbols)
    flags = [int(f) for f in kernel_flags] or [0] * n
    spans = list(out_of_sync) or [()] * n
    if n == 1:
        legs = None if sent is None else run_leg_figures(config, fills, sent, equity, flags[0])
        summary = summarize(fills, equity, initial, meta, out_of_sync=spans[0], legs=legs, funding=funding,
                            transfers=transfers, venues=config.venue_names)  # fmt: skip
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
            transfers=transfers,
            venues=config.venue_names,
        )
    maker = None
    if sent is not None and calls is not None and (sent["kind"] == INTENT_QUOTE).any():
        maker = maker_figures(fills, sent, calls)
    # imported here, not with the module: it loads the kernel, which the chart worker's process never needs
    from arb.strategy.loading import strategy_record

    meta = MappingProxyType({"strategy": strategy_record(config), **summary.meta, "entry": entry_thresholds(config)})
    consistent = summary.pnl_consistent
    if transfers is None and inventory is not None and inventory.get("transfers", 0) > 0 and n == 1:
        consistent = _consistent_after_transfers(summary.total, summary.venues, inventory)
    return dataclasses.replace(summary, marks=boundary_marks(equity, n, day_marks), maker=maker, meta=meta,
                               inventory=inventory, pnl_consistent=consistent)  # fmt: skip


def _consistent_after_transfers(total: Figures, venues: Sequence[Figures], inventory: Mapping[str, Any]) -> bool:
    # The PnL check of a one-symbol run that moved inventory: the equity holds, beside the fills' cash
    # and positions, what transfers added to each venue or took from it (on its way: the receiving
    # venue's; fees gone), the base at that venue's final mid. ``inventory["assets"]``: the base, then
    # the quote.
    base, quote = list(inventory["assets"].values())
    if total.pnl is None or total.pnl_from_fills is None or any(v.final_mid is None for v in venues):
        return False
    moved = sum(base["moved_by_venue"][v.name] * (v.final_mid or 0.0) + quote["moved_by_venue"][v.name] for v in venues)
    return bool(abs(total.pnl - (total.pnl_from_fills + moved)) <= PNL_TOLERANCE)


def entry_thresholds(config: AppConfig) -> dict[str, dict[str, Any]]:
    """Per symbol, the spread at which its strategy can open a pair (``meta.entry`` of summary.json; the
    line equity.png draws on its spread panel), for a strategy that has an entry threshold: its own
    ``min_spread_bps`` parameter (the built-ins'; a symbol whose strategy has none is left out: no line is
    drawn for a threshold it does not have), what the dashboard draws its entry line at against the edge
    net of fees and slippage, plus the fees a pair pays (the two venues' taker fees, of the cheapest
    direction; for a strategy that quotes, a maker venue's maker fee and the other venue's taker fee, of
    the cheapest such direction) plus the slippage tolerance, all bps: ``{"style", "min_spread_bps",
    "fees_bps", "slippage_bps", "spread_bps"}`` (``style``: the strategy's name). The taker's inventory and
    funding rules can ask more of a pair; this is where every pair starts."""
    from arb.strategy.rules import rules_of
    from arb.strategy.selection import strategies_for, symbol_params

    out: dict[str, dict[str, Any]] = {}
    ways = directions(len(config.venues))
    strategies = strategies_for(config)
    own = symbol_params(config, strategies) or [None] * len(strategies)
    for name, p, strategy, params in zip(config.symbol_names, rules_of(config), strategies, own, strict=True):
        minimum = getattr(params, "min_spread_bps", None)
        if not isinstance(minimum, int | float):
            continue
        taker, maker = p["taker_fee"], p["maker_fee"]
        fees = [min(float(taker[b] + taker[s]) for b, s in ways)]
        if strategy.quotes:
            makers = int(getattr(params, "maker_venues", 0))
            fees = [float(maker[m] + taker[h]) for m, h in ways if makers & (1 << m)] or fees
        fees_bps, slippage = min(fees) * 1e4, float(p["slippage_bps"])
        out[name] = {"style": strategy.name, "min_spread_bps": float(minimum), "fees_bps": fees_bps,
                     "slippage_bps": slippage, "spread_bps": float(minimum) + fees_bps + slippage}  # fmt: skip
    return out
