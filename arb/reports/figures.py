"""The figures of one UTC period (a day, a week from Monday, a calendar month) of a source.

Every figure comes from :func:`arb.report.summarize` (and :func:`arb.report.fill_spread_bps`) called
on a slice of the source: there is one PnL and one win in arb, and a period's are the same ones.

- **Equity** is rebuilt (the sources keep no samples): at a time ``t`` each venue holds its starting
  balances plus the fills with ``local_ts < t``, valued at that venue's latest mark at or before
  ``t`` (the first mark before any). Samples are taken every :data:`SAMPLE_INTERVAL_NS` (one minute)
  from the start of the period's records to their end, and at that end.
- **PnL** of the period is the trading PnL at its end minus the trading PnL at its start, each
  ``summarize(fills before t, equity at t, starting balances).total.pnl`` (equity minus the starting
  balances at the same marks). Positions carried into the period are thus revalued from the start's
  marks to the end's; consecutive periods add up to the whole run's PnL.
- **Fees, volume, fills** (total and per venue): ``summarize`` over the fills inside the period.
- **Holding time**: FIFO over all fills up to the period's end, counting the lots closed inside the
  period (a lot opened before it counts its whole time held).
- **Pairs, win rate, captured spread**: the pairs whose first opening fill falls in the period, with
  their fills up to the period's end, valued at the end's marks.
- **Sharpe, Sortino, max drawdown**: ``summarize``'s risk figures over the period's minute samples
  (so the same "not meaningful under 30 days" rule).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from arb.events import BINANCE, NS_PER_S
from arb.report import SECONDS_PER_YEAR, Figures, Summary, chart_data, fill_spread_bps, summarize
from arb.reports.sources import SourceData
from arb.strategy.types import BUY, EQUITY_DTYPE, INTENT_OPEN

__all__ = [
    "PERIODS",
    "SAMPLE_INTERVAL_NS",
    "Period",
    "PeriodReport",
    "VenueRow",
    "compute_period",
    "equity_at",
    "period_of",
]

Array = np.ndarray[Any, np.dtype[Any]]
PERIODS: Final = ("day", "week", "month")
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
    """``EQUITY_DTYPE`` samples of ``source`` at ``times`` (int64 ns, ascending): the fills with
    ``local_ts < t`` booked on the starting balances, each venue valued at its latest mark at or
    before ``t`` (its first mark before any; NaN if the venue has none, which counts only where it
    holds base)."""
    times = np.asarray(times, dtype=np.int64)
    fills, marks, initial = source.fills, source.marks, source.initial
    out = np.zeros(len(times), EQUITY_DTYPE)
    out["ts"] = times
    done = np.searchsorted(fills["local_ts"], times, side="left")  # fills before each time
    side = fills["side"].astype(np.float64)
    for v in range(2):
        own = fills["venue"] == v
        cash = np.concatenate(
            [[0.0], np.cumsum(np.where(own, -side * fills["price"] * fills["qty"] - fills["fee"], 0.0))]
        )
        moved = np.concatenate([[0.0], np.cumsum(np.where(own, side * fills["qty"], 0.0))])
        known = np.isfinite(marks["mid"][:, v])
        mark_ts, mark_mid = marks["ts"][known], marks["mid"][known, v]
        if len(mark_ts):
            at = np.searchsorted(mark_ts, times, side="right") - 1
            mid = mark_mid[np.maximum(at, 0)]
        else:
            mid = np.full(len(times), np.nan)
        base = initial.base[v] + moved[done]
        value = np.where(base == 0.0, 0.0, base * mid)  # nothing held is worth 0 at any mid
        out["equity_venue"][:, v] = initial.quote[v] + cash[done] + value
        out["position"][:, v] = moved[done]
        out["mid"][:, v] = mid
    out["equity"] = out["equity_venue"].sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["spread_bps"] = (out["mid"][:, 1] - out["mid"][:, 0]) / out["mid"][:, 0] * 1e4
    return out


# -- the report's figures ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VenueRow:
    """One column of the per-venue table (``name`` ``binance``, ``bybit`` or ``total``).

    Money in quote currency, quantities in base units; ``holding_time_s`` None when nothing closed.
    """

    name: str
    pnl: float | None
    pnl_from_fills: float | None
    fees: float
    volume: float
    notional: float
    fills: int
    hedge_fills: int
    unwind_fills: int
    holding_time_s: float | None
    position_end: float
    mark_end: float | None


@dataclass(frozen=True)
class PeriodReport:
    """Everything a periodic report shows (see the module docstring for how each is computed).

    Attributes:
        period: The UTC period.
        source: The source's kind and name, its notes and halts.
        start_ns, end_ns: The span of the period that holds records (the whole period when none).
        pnl: Trading PnL over the period, quote currency (None when a mark is missing).
        start_equity: The account's value at ``start_ns``, quote: what ``return_frac`` is measured on.
        return_frac: ``pnl / start_equity``; None without a positive start equity.
        annualised_return: ``(1 + return_frac) ** (365 days / span) - 1``; None under a day of records.
        venues: Per venue (Binance, Bybit) and total: see :class:`VenueRow`.
        period_summary: ``summarize`` over the period's fills and minute samples (its ``risk`` holds
            Sharpe, Sortino, max drawdown and the notes on them).
        pairs_summary: ``summarize`` over the period's pairs (its ``pairs``: pairs, wins, spreads).
        spreads_bps: The spread each of the period's pairs captured at its first opening fill, bps,
            :func:`arb.report.fill_spread_bps` signed in the direction traded (positive: sold where it
            was dearer); NaN where unknown.
        curve_ts, curve_pnl: The trading PnL since ``start_ns`` at each sample (quote), for the chart.
        meta: What the page's footer lists.
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
    venues: tuple[VenueRow, VenueRow, VenueRow]
    period_summary: Summary
    pairs_summary: Summary
    spreads_bps: Array
    curve_ts: Array
    curve_pnl: Array
    meta: Mapping[str, Any]

    @property
    def total(self) -> VenueRow:
        """The ``total`` column."""
        return self.venues[2]

    def totals(self) -> dict[str, Any]:
        """The headline figures as JSON-safe data (what the page embeds under ``id="arb-report"``)."""
        risk, pairs = self.period_summary.risk, self.pairs_summary.pairs
        data: dict[str, Any] = _jsonable(
            {
                "period": self.period.kind,
                "label": self.period.label,
                "start_ns": self.start_ns,
                "end_ns": self.end_ns,
                "source": self.source.kind,
                "pnl": self.pnl,
                "return": self.return_frac,
                "annualised_return": self.annualised_return,
                "fees": self.total.fees,
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
                "venues": {
                    row.name: {"pnl": row.pnl, "fees": row.fees, "fills": row.fills, "volume": row.volume}
                    for row in self.venues[:2]
                },
                "halts": list(self.source.halts),
            }
        )
        return data


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_jsonable(v) for v in obj]
    return obj


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _closed(row: Any) -> tuple[float, float]:
    # (closed qty x seconds held, closed qty) of a summary column
    held = row.holding_time_s
    return (0.0 if held is None else held * row.closed_qty), row.closed_qty


def compute_period(source: SourceData, period: Period) -> PeriodReport:
    """The figures of ``period`` over ``source`` (see the module docstring)."""
    start = min(max(source.first_ns, period.start_ns), period.end_ns)
    end = min(max(source.last_ns + 1, period.start_ns), period.end_ns)
    if end <= start:  # no record in the period: all of it, nothing happened
        start, end = period.start_ns, period.end_ns
    grid = np.arange(start, end, SAMPLE_INTERVAL_NS, dtype=np.int64)
    times = np.append(grid, np.int64(end))
    equity = equity_at(source, times)
    fills, initial = source.fills, source.initial
    ts = fills["local_ts"]
    meta = {"mode": f"report {period.kind}", "source": source.kind}

    before_start = summarize(fills[ts < start], equity[:1], initial, meta)
    before_end = summarize(fills[ts < end], equity[-1:], initial, meta)
    inside = fills[(ts >= period.start_ns) & (ts < period.end_ns)]
    period_summary = summarize(inside, equity, initial, meta)

    opens = fills[(fills["kind"] == INTENT_OPEN) & (ts < end)]
    first_open: dict[int, int] = {}
    for pair_id, t in zip(opens["pair_id"].tolist(), opens["local_ts"].tolist(), strict=True):
        first_open.setdefault(pair_id, t)  # fills are in time order: the first seen is the first
    ids = np.array([p for p, t in first_open.items() if period.start_ns <= t < period.end_ns], dtype=np.int64)
    pair_fills = fills[(ts < end) & np.isin(fills["pair_id"], ids)]
    pairs_summary = summarize(pair_fills, equity[-1:], initial, meta)
    is_open = pair_fills["kind"] == INTENT_OPEN
    first_leg = is_open & ~_repeated(pair_fills["pair_id"], is_open)
    legs = pair_fills[first_leg]
    # in the direction traded: a pair that bought on Binance (or sold on Bybit) captured Bybit over
    # Binance, one that bought on Bybit the reverse
    bought_binance = (legs["venue"] == BINANCE) == (legs["side"] == BUY)
    spreads = np.where(bought_binance, 1.0, -1.0) * fill_spread_bps(pair_fills, equity)[first_leg]

    rows = []
    for i, name in enumerate(("binance", "bybit", "total")):
        a, b, p = (_column(s, i) for s in (before_start, before_end, period_summary))
        w0, c0 = _closed(a)
        w1, c1 = _closed(b)
        closed = c1 - c0
        rows.append(VenueRow(
            name=name,
            pnl=_diff(b.pnl, a.pnl),
            pnl_from_fills=_diff(b.pnl_from_fills, a.pnl_from_fills),
            fees=p.fees,
            volume=p.volume,
            notional=p.notional,
            fills=p.fills,
            hedge_fills=p.hedge_fills,
            unwind_fills=p.unwind_fills,
            holding_time_s=(w1 - w0) / closed if closed > 1e-12 else None,
            position_end=b.position,
            mark_end=b.final_mid,
        ))  # fmt: skip

    pnl = rows[2].pnl
    start_equity = float(equity["equity"][0]) if math.isfinite(equity["equity"][0]) else None
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
    curve = chart_data(period_summary, inside, equity).trading_pnl
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
        venues=(rows[0], rows[1], rows[2]),
        period_summary=period_summary,
        pairs_summary=pairs_summary,
        spreads_bps=spreads,
        curve_ts=times,
        curve_pnl=curve - curve[0],
        meta=meta,
    )


def _column(summary: Summary, i: int) -> Figures:
    return summary.venues[i] if i < 2 else summary.total


def _repeated(pair_id: Array, mask: Array) -> Array:
    # True at every masked row whose pair id already appeared at an earlier masked row
    out = np.zeros(len(pair_id), dtype=bool)
    seen: set[int] = set()
    for i in np.flatnonzero(mask).tolist():
        p = int(pair_id[i])
        out[i] = p in seen
        seen.add(p)
    return out
