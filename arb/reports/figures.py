"""The figures of one UTC period (a day, a week from Monday, a calendar month) of a source.

Every figure comes from :func:`arb.reports.summary.summarize` (and :func:`arb.reports.charts.fill_spread_bps`) called
on a slice of the source: there is one PnL and one win in arb, and a period's are the same ones.

- **Equity at the period's start and end** is rebuilt: at a time ``t`` each venue holds its starting
  balances plus the fills with ``local_ts < t``, valued at that venue's latest mark at or before
  ``t`` (the first mark before any). A run's marks include the books' mids at each UTC midnight, so
  the end of one day and the start of the next are valued at the same mids.
- **Equity inside the period**: the run's own samples when the source keeps them (a backtest's
  equity.npz, one a second), else rebuilt as above every :data:`SAMPLE_INTERVAL_NS` (one minute)
  from the start of the period's records to their end.
- **Net PnL** of the period is the net PnL at its end minus the net PnL at its start, each
  ``summarize(fills before t, equity at t, starting balances).total.pnl`` (equity minus the starting
  balances at the same marks). Positions carried into the period are thus revalued from the start's
  marks to the end's; consecutive periods add up to the whole run's PnL (the same marks on both
  sides of each boundary).
- **Fees, volume, fills** (total and per venue): ``summarize`` over the fills inside the period.
- **Funding** (perpetuals): the source's funding payments booked inside the period; each is cash on
  its venue from its booking time on, so the rebuilt equity and the PnL count it.
- **Transfers** (a backtest's transfers.csv, :mod:`arb.reports.transfers`): from the time one is sent
  its amount and fee leave the sending venue and the amount is the receiving venue's, so the rebuilt
  equity and the PnL count the fees; the balances count the amount once it arrived, and a venue's PnL
  not what was moved to or from it.
- **Holding time**: FIFO over all fills up to the period's end, counting the lots closed inside the
  period (a lot opened before it counts its whole time held).
- **Pairs, win rate, captured spread**: the pairs whose first opening fill falls in the period, with
  their fills up to the period's end, valued at the end's marks.
- **Sharpe, Sortino, max drawdown**: ``summarize``'s risk figures over the period's samples (the
  rebuilt start, the samples inside, the rebuilt end; the same "not meaningful under 30 days" rule).
- **Captured spreads**: each pair's first opening fill at the spread of its pair
  (:func:`arb.reports.charts.fill_spread_bps`: the later venue's price over the earlier's), signed in the
  direction traded: positive when the pair bought on the earlier venue and sold on the later.
- **Venues**: as many as the source's (``SourceData.venues``); a column per venue, then the total.
- **Several symbols**: equity is rebuilt a row per symbol (each its part of the account at its own
  marks), every figure above is the account's (``summarize`` sums the rows of a time and values every
  fill at its own symbol's marks), and :class:`SymbolRow` holds each symbol's, computed the same way
  from its part of the same summaries; base quantities are only per symbol.
"""

from __future__ import annotations

__all__ = [
    "PERIODS",
    "SAMPLE_INTERVAL_NS",
    "Period",
    "PeriodReport",
    "SymbolRow",
    "VenueRow",
    "compute_period",
    "equity_at",
    "period_of",
]

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from arb.events import NS_PER_S
from arb.formats import jsonable
from arb.reports.against import Comparison
from arb.reports.charts import chart_data, fill_spreads
from arb.reports.inventory import shows_inventory
from arb.reports.names import PERIODS
from arb.reports.ratios import SECONDS_PER_YEAR
from arb.reports.sources import SourceData
from arb.reports.summary import Figures, FillFigures, Summary, SymbolSummary, summarize
from arb.reports.transfers import owned_before
from arb.reports.valuation import InitialBalances, account_equity, unit_value
from arb.results.pairs import opens_pair
from arb.strategy.types import BUY, equity_dtype

Array = np.ndarray[Any, np.dtype[Any]]
SAMPLE_INTERVAL_NS: Final = 60 * NS_PER_S
"""Time between two rebuilt equity samples: one minute."""
MIN_ANNUALISE_S: Final = 86_400
"""Shortest span of records, seconds, over which the return is annualised (a day)."""


@dataclass(frozen=True, slots=True)
class Period:
    """A UTC period: ``[start_ns, end_ns)``.

    Attributes:
        kind: ``"day"``, ``"week"`` (Monday 00:00 to the next Monday) or ``"month"``.
        first_day: Its first UTC day.
        start_ns: Its start, int64 ns since the epoch (inclusive).
        end_ns: Its end (exclusive).
    """

    kind: str
    first_day: dt.date
    start_ns: int
    end_ns: int

    @property
    def label(self) -> str:
        """``2024-08-08``, ``2024-W32 (2024-08-05 to 2024-08-11)`` or ``2024-08``."""
        if self.kind == "day":
            return f"{self.first_day:%Y-%m-%d}"
        if self.kind == "month":
            return f"{self.first_day:%Y-%m}"
        year, week, _ = self.first_day.isocalendar()
        last = self.first_day + dt.timedelta(days=6)
        return f"{year}-W{week:02d} ({self.first_day:%Y-%m-%d} to {last:%Y-%m-%d})"

    @property
    def slug(self) -> str:
        """A file-name part: ``day-2024-08-08``, ``week-2024-08-05``, ``month-2024-08``."""
        if self.kind == "month":
            return f"month-{self.first_day:%Y-%m}"
        return f"{self.kind}-{self.first_day:%Y-%m-%d}"


def _day_ns(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()) * NS_PER_S


def period_of(kind: str, day: dt.date) -> Period:
    """The ``kind`` period (``day``, ``week`` from Monday, ``month``) that contains the UTC ``day``.

    Raises:
        ValueError: ``kind`` is not one of :data:`PERIODS`.
    """
    if kind == "day":
        first, after = day, day + dt.timedelta(days=1)
    elif kind == "week":
        first = day - dt.timedelta(days=day.weekday())
        after = first + dt.timedelta(days=7)
    elif kind == "month":
        first = day.replace(day=1)
        after = (first + dt.timedelta(days=31)).replace(day=1)
    else:
        raise ValueError(f"period: expected one of {', '.join(PERIODS)}, got {kind!r}")
    return Period(kind, first, _day_ns(first), _day_ns(after))


def utc_day(ts_ns: int) -> dt.date:
    """The UTC day of an instant (int64 ns since the epoch)."""
    return dt.datetime.fromtimestamp(ts_ns // NS_PER_S, tz=dt.UTC).date()


# -- rebuilt equity ----------------------------------------------------------------------------------------


def equity_at(source: SourceData, times: Array) -> Array:
    """Equity samples (:func:`~arb.strategy.types.equity_dtype`) of ``source`` at ``times`` (int64 ns,
    ascending): the fills with ``local_ts < t`` booked on the starting balances, each venue valued at its
    latest mark at or
    before ``t`` (its first mark before any; NaN if the venue has none, which counts only where it
    holds base). With several symbols, one row per symbol at each time (time-major), each the
    symbol's part of the account (:meth:`arb.reports.valuation.InitialBalances.symbol`) at its own marks, as a
    driver records them."""
    times = np.asarray(times, dtype=np.int64)
    n = source.initial.n_symbols
    out = np.zeros(len(times) * n, equity_dtype(source.initial.n_venues))
    for s in range(n):
        fills = source.fills if n == 1 else source.fills[source.fills["symbol"] == s]
        marks = source.marks if n == 1 else source.marks[source.marks["symbol"] == s]
        funding = source.funding if n == 1 else source.funding[source.funding["symbol"] == s]
        moved = source.transfers[source.transfers["symbol"] == s]
        out[s::n] = _symbol_equity_at(fills, marks, source.initial.symbol(s), times, funding, moved)
        out["symbol"][s::n] = s
    return out


def _symbol_equity_at(
    fills: Array, marks: Array, initial: InitialBalances, times: Array, funding: Array, transfers: Array
) -> Array:
    # one symbol's rows of equity_at (``funding``: its payments, booked as cash on their venue;
    # ``transfers``: its transfers, each the receiving venue's from the time it was sent)
    out = np.zeros(len(times), equity_dtype(initial.n_venues))
    out["ts"] = times
    done = np.searchsorted(fills["local_ts"], times, side="left")  # fills before each time
    paid_by = np.searchsorted(funding["ts"], times, side="left")  # payments before each time
    side = fills["side"].astype(np.float64)
    for v in range(initial.n_venues):
        own = fills["venue"] == v
        cash = np.concatenate(
            [[0.0], np.cumsum(np.where(own, -side * fills["price"] * fills["qty"] - fills["fee"], 0.0))]
        )
        paid = np.concatenate([[0.0], np.cumsum(np.where(funding["venue"] == v, funding["payment"], 0.0))])
        moved = np.concatenate([[0.0], np.cumsum(np.where(own, side * fills["qty"], 0.0))])
        known = np.isfinite(marks["mid"][:, v])
        mark_ts, mark_mid = marks["ts"][known], marks["mid"][known, v]
        if len(mark_ts):
            at = np.searchsorted(mark_ts, times, side="right") - 1
            mid = mark_mid[np.maximum(at, 0)]
        else:
            mid = np.full(len(times), np.nan)
        base = initial.base[v] + moved[done] + owned_before(transfers, times, 0, v)
        value = np.where(base == 0.0, 0.0, base * mid)  # nothing held is worth 0 at any mid
        quote = initial.quote[v] + cash[done] + paid[paid_by] + owned_before(transfers, times, 1, v)
        out["equity_venue"][:, v] = quote + value
        out["position"][:, v] = moved[done]
        out["mid"][:, v] = mid
    out["equity"] = out["equity_venue"].sum(axis=1)
    return out


# -- the report's figures ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VenueRow(FillFigures):
    """One column of the per-venue table (``name``: the venue's, or ``total``).

    Money in quote currency, quantities in base units; ``holding_time_s`` None when nothing closed.
    With several symbols ``volume``, ``position_end`` and ``mark_end`` are None (units of different
    coins do not add up: each symbol's are in :class:`SymbolRow`) and ``holding_time_s`` pools the
    symbols' closed quantities valued at their marks at the end.
    """

    position_end: float | None
    mark_end: float | None
    funding: float = 0.0
    """Funding payments booked in the period, quote (> 0 received)."""

    @property
    def trading_pnl(self) -> float | None:
        """What the trades made before fees and funding, quote: ``pnl + fees - funding`` (so net PnL =
        trading PnL - fees + funding, summary.json's ``trading_pnl``); None when ``pnl`` is."""
        return None if self.pnl is None else self.pnl + self.fees - self.funding


@dataclass(frozen=True, slots=True)
class SymbolRow:
    """One symbol's figures over the period (a source of several symbols): its fills valued at its own
    marks. Money in quote currency (the symbols' add up to the account's), quantities in its base units.

    Attributes:
        name: The symbol.
        total: Every venue, as :class:`VenueRow` computes the account's (``name`` is the symbol's).
        pairs, pairs_won, win_rate, spread_bps: Its pairs whose first opening fill is in the period.
        position_end: Per venue (by number), its position at the end (base bought minus sold since the
            start).
        mark_end: Per venue, its mark at the end (None where unknown).
    """

    name: str
    total: VenueRow
    pairs: int
    pairs_won: int
    win_rate: float | None
    spread_bps: float | None
    position_end: tuple[float | None, ...]
    mark_end: tuple[float | None, ...]


@dataclass(frozen=True)
class PeriodReport:
    """Everything a periodic report shows (see the module docstring for how each is computed).

    Attributes:
        period: The UTC period.
        source: The source's kind and name, its notes and halts.
        start_ns, end_ns: The span of the period that holds records (the whole period when none).
        pnl: Net PnL over the period (after fees and funding), quote currency (None when a mark is missing).
        start_equity: The account's value at ``start_ns``, quote: what ``return_frac`` is measured on.
        return_frac: ``pnl / start_equity``; None without a positive start equity.
        annualised_return: ``(1 + return_frac) ** (365 days / span) - 1``; None under a day of records.
        venues: Per venue (the source's, by number), then the total (last): see :class:`VenueRow`.
        period_summary: ``summarize`` over the period's fills and minute samples (its ``risk`` holds
            Sharpe, Sortino, max drawdown and the notes on them).
        pairs_summary: ``summarize`` over the period's pairs (its ``pairs``: pairs, wins, spreads).
        spreads_bps: The spread each of the period's pairs captured at its first opening fill, bps,
            :func:`arb.reports.charts.fill_spread_bps` signed in the direction traded (positive: sold where it
            was dearer); NaN where unknown.
        curve_ts, curve_pnl: The net PnL since ``start_ns`` at each sample (quote), for the chart.
        meta: What the page's footer lists.
        symbols: With several symbols, each one's figures (:class:`SymbolRow`); empty with one.
        samples: Where the equity samples come from: ``"run"`` (the run's own samples inside the
            period) or ``"rebuilt"`` (from the fills and the marks, one a minute).
        choice: Why this period was reported when none was asked for ("" when one was).
        against: Live beside a backtest of the same hours (``arb report --against``), or None.
    """

    period: Period
    source: SourceData
    start_ns: int
    end_ns: int
    pnl: float | None
    start_equity: float | None
    return_frac: float | None
    annualised_return: float | None
    annualise_note: str
    venues: tuple[VenueRow, ...]
    period_summary: Summary
    pairs_summary: Summary
    spreads_bps: Array
    curve_ts: Array
    curve_pnl: Array
    meta: Mapping[str, Any]
    symbols: tuple[SymbolRow, ...] = ()
    samples: str = "rebuilt"
    choice: str = ""
    against: Comparison | None = None

    @property
    def total(self) -> VenueRow:
        """The ``total`` column."""
        return self.venues[-1]

    def totals(self) -> dict[str, Any]:
        """The headline figures as JSON-safe data (what the page embeds under ``id="arb-report"``);
        with several symbols also ``symbols``, each one's figures by name; when the page shows what
        inventory cost the run, ``inventory``: the whole run's, as its summary.json holds it."""
        risk, pairs = self.period_summary.risk, self.pairs_summary.pairs
        data: dict[str, Any] = jsonable(
            {
                "period": self.period.kind,
                "label": self.period.label,
                "start_ns": self.start_ns,
                "end_ns": self.end_ns,
                "source": self.source.kind,
                "pnl": self.pnl,
                "trading_pnl": self.total.trading_pnl,
                "return": self.return_frac,
                "annualised_return": self.annualised_return,
                "fees": self.total.fees,
                "funding": self.total.funding,
                "fills": self.total.fills,
                "volume": self.total.volume,
                "holding_time_s": self.total.holding_time_s,
                "pairs": pairs.pairs,
                "pairs_won": pairs.pairs_won,
                "win_rate": pairs.win_rate,
                "spread_bps": pairs.spread_bps,
                "sharpe": risk.sharpe,
                "max_drawdown": risk.max_drawdown,
                "max_drawdown_frac": risk.max_drawdown_frac,
                "equity_samples": risk.samples,
                "samples": self.samples,
                "venues": {
                    row.name: {
                        "pnl": row.pnl,
                        "trading_pnl": row.trading_pnl,
                        "fees": row.fees,
                        "funding": row.funding,
                        "fills": row.fills,
                        "volume": row.volume,
                    }
                    for row in self.venues[:-1]
                },
                "halts": list(self.source.halts),
                "choice": self.choice,
                **(
                    {"symbols": {row.name: _symbol_json(row, self.source.venues) for row in self.symbols}}
                    if self.symbols
                    else {}
                ),
                **({"against": self.against.to_dict()} if self.against is not None else {}),
                **({"inventory": self.source.inventory} if shows_inventory(self.source.inventory) else {}),
            }
        )
        return data


def _symbol_json(row: SymbolRow, venues: Sequence[str]) -> dict[str, Any]:
    t = row.total
    return {
        "pnl": t.pnl, "pnl_from_fills": t.pnl_from_fills, "fees": t.fees, "funding": t.funding, "fills": t.fills,
        "volume": t.volume,
        "notional": t.notional, "holding_time_s": t.holding_time_s, "pairs": row.pairs, "pairs_won": row.pairs_won,
        "win_rate": row.win_rate, "spread_bps": row.spread_bps,
        "position_end": dict(zip(venues, row.position_end, strict=True)),
        "mark_end": dict(zip(venues, row.mark_end, strict=True)),
    }  # fmt: skip


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _closed(row: Figures) -> tuple[float, float]:
    # (closed qty x seconds held, closed qty) of one symbol's summary column
    held, closed = row.holding_time_s, row.closed_qty or 0.0
    return (0.0 if held is None else held * closed), closed


def _closed_inside(a: Figures, b: Figures) -> tuple[float, float]:
    # (closed qty x seconds held, closed qty) of a column inside the period: before its end (b) less
    # before its start (a)
    w0, c0 = _closed(a)
    w1, c1 = _closed(b)
    return w1 - w0, c1 - c0


def _row(name: str, a: Figures, b: Figures, p: Figures, held: tuple[float, float] | None = None) -> VenueRow:
    # One column over the period from the column of the summaries before its start (a), before its end
    # (b) and of its fills (p). ``held``: (closed qty x seconds, closed qty) inside the period when the
    # caller pooled it (several symbols); else from a and b.
    weighted, closed = held if held is not None else _closed_inside(a, b)
    return VenueRow(
        name=name,
        pnl=_diff(b.pnl, a.pnl),
        pnl_from_fills=_diff(b.pnl_from_fills, a.pnl_from_fills),
        fees=p.fees,
        funding=p.funding,
        volume=p.volume,
        notional=p.notional,
        fills=p.fills,
        hedge_fills=p.hedge_fills,
        unwind_fills=p.unwind_fills,
        holding_time_s=weighted / closed if closed > 1e-12 and math.isfinite(closed) else None,
        position_end=b.position,
        mark_end=b.final_mid,
    )


def compute_period(source: SourceData, period: Period) -> PeriodReport:
    """The figures of ``period`` over ``source`` (see the module docstring)."""
    start = min(max(source.first_ns, period.start_ns), period.end_ns)
    end = min(max(source.last_ns + 1, period.start_ns), period.end_ns)
    if end <= start:  # no record in the period: all of it, nothing happened
        start, end = period.start_ns, period.end_ns
    fills, initial = source.fills, source.initial
    n = initial.n_symbols
    equity, samples = _period_equity(source, start, end)
    times = equity["ts"][::n]
    ts = fills["local_ts"]
    meta = {"mode": f"report {period.kind}", "source": source.kind}
    names = source.symbols if n > 1 else ()

    paid, paid_ts = source.funding, source.funding["ts"]
    moved, moved_ts = source.transfers, source.transfers["ts"]

    def summary(own: Array, samples: Array, funding: Array, transfers: Array | None = None) -> Summary:
        return summarize(own, samples, initial, meta, symbols=names, funding=funding, transfers=transfers,
                         venues=source.venues)  # fmt: skip

    before_start = summary(fills[ts < start], equity[:n], paid[paid_ts < start], moved[moved_ts < start])
    before_end = summary(fills[ts < end], equity[-n:], paid[paid_ts < end], moved[moved_ts < end])
    inside = fills[(ts >= period.start_ns) & (ts < period.end_ns)]
    period_summary = summary(inside, equity, paid[(paid_ts >= period.start_ns) & (paid_ts < period.end_ns)])

    opens = fills[opens_pair(fills) & (ts < end)]
    first_open: dict[int, int] = {}
    for pair_id, t in zip(opens["pair_id"].tolist(), opens["local_ts"].tolist(), strict=True):
        first_open.setdefault(pair_id, t)  # fills are in time order: the first seen is the first
    ids = np.array([p for p, t in first_open.items() if period.start_ns <= t < period.end_ns], dtype=np.int64)
    pair_fills = fills[(ts < end) & np.isin(fills["pair_id"], ids)]
    pairs_summary = summary(pair_fills, equity[-n:], paid[:0])
    is_open = opens_pair(pair_fills)
    first_leg = is_open & ~_repeated(pair_fills["pair_id"], is_open)
    legs = pair_fills[first_leg]
    # in the direction traded: the spread is the later venue's price over the earlier's, so a pair that
    # bought on the earlier venue (or sold on the later) captured it, one that bought on the later the reverse
    captured, against = fill_spreads(pair_fills, equity)
    bought_earlier = (legs["venue"] < against[first_leg]) == (legs["side"] == BUY)
    spreads = np.where(bought_earlier, 1.0, -1.0) * captured[first_leg]

    symbols: list[SymbolRow] = []
    n_venues = initial.n_venues
    pooled: list[tuple[float, float] | None] = [None] * (n_venues + 1)
    if n > 1:
        parts = zip(before_start.symbols, before_end.symbols, period_summary.symbols, pairs_summary.symbols,
                    strict=True)  # fmt: skip
        weights = []
        for a, b, p, q in parts:
            weights.append(unit_value([f.final_mid for f in b.venues]))
            own = q.pairs
            symbols.append(SymbolRow(
                name=b.name, total=_row(b.name, a.total, b.total, p.total), pairs=own.pairs, pairs_won=own.pairs_won,
                win_rate=own.win_rate, spread_bps=own.spread_bps,
                position_end=tuple(f.position for f in b.venues), mark_end=tuple(f.final_mid for f in b.venues),
            ))  # fmt: skip
        for i in range(n_venues + 1):
            held = [
                _closed_inside(_column(a, i), _column(b, i))
                for a, b in zip(before_start.symbols, before_end.symbols, strict=True)
            ]
            pooled[i] = (
                math.fsum(w * x for w, (x, _) in zip(weights, held, strict=True)),
                math.fsum(w * c for w, (_, c) in zip(weights, held, strict=True)),
            )
    rows = [
        _row(name, _column(before_start, i), _column(before_end, i), _column(period_summary, i), pooled[i])
        for i, name in enumerate((*source.venues, "total"))
    ]

    pnl = rows[-1].pnl
    first_equity = float(account_equity(equity[:n], n).equity[0])
    start_equity = first_equity if math.isfinite(first_equity) else None
    ret = pnl / start_equity if pnl is not None and start_equity is not None and start_equity > 0 else None
    span_s = (end - start) / NS_PER_S
    annual, note = None, ""
    if ret is None:
        note = "no return"
    elif span_s < MIN_ANNUALISE_S:
        note = f"not annualised: {span_s / 3600:.1f} h of records, at least a day needed"
    elif ret <= -1:
        note = "not annualised: the account lost everything"
    else:
        try:
            annual = (1.0 + ret) ** (SECONDS_PER_YEAR / span_s) - 1.0
        except OverflowError:
            note = "not annualised: too large to show"
    curve = chart_data(period_summary, inside, equity).net_pnl
    return PeriodReport(
        period=period,
        source=source,
        start_ns=start,
        end_ns=end,
        pnl=pnl,
        start_equity=start_equity,
        return_frac=ret,
        annualised_return=annual,
        annualise_note=note,
        venues=tuple(rows),
        period_summary=period_summary,
        pairs_summary=pairs_summary,
        spreads_bps=spreads,
        curve_ts=times,
        curve_pnl=curve - curve[0],
        meta=meta,
        symbols=tuple(symbols),
        samples=samples,
    )


def _period_equity(source: SourceData, start: int, end: int) -> tuple[Array, str]:
    # The period's equity rows (n per time): rebuilt at ``start`` and ``end`` from the fills and the
    # marks, and in between the source's own samples when it has some there ("run"), else rebuilt
    # every SAMPLE_INTERVAL_NS ("rebuilt").
    own = source.equity
    inner = own[(own["ts"] > start) & (own["ts"] < end)] if len(own) else own
    if len(inner):
        edges = equity_at(source, np.array([start, end], dtype=np.int64))
        n = source.initial.n_symbols
        return np.concatenate([edges[:n], inner.astype(edges.dtype), edges[n:]]), "run"
    grid = np.arange(start, end, SAMPLE_INTERVAL_NS, dtype=np.int64)
    return equity_at(source, np.append(grid, np.int64(end))), "rebuilt"


def _column(summary: Summary | SymbolSummary, i: int) -> Figures:
    # venue i's column, the total after the last venue's
    return summary.venues[i] if i < len(summary.venues) else summary.total


def _repeated(pair_id: Array, mask: Array) -> Array:
    # True at every masked row whose pair id already appeared at an earlier masked row
    out = np.zeros(len(pair_id), dtype=bool)
    seen: set[int] = set()
    for i in np.flatnonzero(mask).tolist():
        p = int(pair_id[i])
        out[i] = p in seen
        seen.add(p)
    return out
