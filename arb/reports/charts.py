"""equity.png: what the chart of a run draws (:func:`chart_data`, apart from the drawing) and the
drawing itself (:func:`equity_figure`, matplotlib's object API on an Agg canvas: no display needed).

The spread panel draws, for every venue after the first, its mid over the first venue's (two venues: the
one line of the second over the first), and every fill at the spread its pair captured
(:func:`fill_spread_bps`). Times in int64 ns (local), money in quote currency, spreads in basis points.
"""

from __future__ import annotations

__all__ = [
    "ENTRY_COLOR",
    "ENTRY_DASHES",
    "FILL_LABELS",
    "MIN_SPAN_PT",
    "ChartData",
    "SymbolChart",
    "chart_data",
    "entry_threshold",
    "equity_figure",
    "fill_groups",
    "fill_spread_bps",
    "mid_spread_bps",
    "plot_equity",
]

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any, BinaryIO, Final

import numpy as np

from arb.config import quote_currency
from arb.events import NS_PER_S
from arb.reports.common import QTY_EPS, Array, none_to_nan, venue_count
from arb.reports.ratios import held_values
from arb.reports.summary import Summary
from arb.reports.valuation import account_equity
from arb.results.marks import Span, Spans
from arb.results.venues import venue_titles
from arb.strategy.types import BUY, INTENT_HEDGE, INTENT_OPEN, INTENT_QUOTE, INTENT_UNWIND, SELL


def _no_ints() -> Array:
    return np.zeros(0, np.int64)


@dataclass(frozen=True, slots=True)
class SymbolChart:
    """What equity.png draws of one symbol when a run has several (``ChartData.symbols``).

    Attributes:
        name: The symbol.
        ts: Time of each of its equity rows, int64 ns (local).
        net_pnl: Its net PnL at each row (its part of the equity minus its part of the starting
            balances at its mids), quote currency; the symbols' add up to the account's.
        spread_bps: Per venue after the first, its mid over the first venue's at each row, bps, shape
            ``(rows, venues - 1)`` (:func:`mid_spread_bps`); NaN where one of its books was not synced.
        fill_ts, fill_spread_bps, fill_kind: Its fills' times, where their markers sit
            (:func:`fill_spread_bps`) and their intent kinds.
        out_of_sync: Per venue, the spans its books were not synced.
        fill_venue, fill_side: Its fills' venues and sides (what their markers' fill and shape show).
    """

    name: str
    ts: Array
    net_pnl: Array
    spread_bps: Array
    fill_ts: Array
    fill_spread_bps: Array
    fill_kind: Array
    out_of_sync: tuple[Spans, ...]
    fill_venue: Array = field(default_factory=_no_ints)
    fill_side: Array = field(default_factory=_no_ints)


@dataclass(frozen=True, slots=True)
class ChartData:
    """What equity.png draws, computed apart from the drawing (:func:`chart_data`).

    Attributes:
        ts: Time of each equity sample, int64 ns (local); with several symbols, of each sample of the
            account series (:func:`account_equity`).
        net_pnl: Net PnL at each sample (equity minus the starting balances at that sample's mids:
            after fees and funding; the curve the risk figures use), quote currency; NaN where unknown.
            Drawn on its own axis, scaled to it.
        equity_change: Equity minus ``risk.initial_equity`` at each sample, quote currency:
            ``net_pnl + holdings_revaluation``.
        holdings_revaluation: The starting balances at each sample's mids minus ``risk.initial_equity``
            (the starting coins' price move, which is not PnL), quote currency.
        spread_bps: Per venue after the first, its mid over the first venue's at each sample, bps, shape
            ``(samples, venues - 1)`` (:func:`mid_spread_bps`); NaN where a venue's book was not synced (no
            line is drawn there). With several symbols all NaN: each symbol's is in ``symbols``.
        fill_ts: Time of each fill (``local_ts``), in the order of ``fills``.
        fill_spread_bps: Where each fill's marker sits: :func:`fill_spread_bps` (against its own
            symbol's samples).
        fill_kind: Intent kind of each fill (INTENT_OPEN, INTENT_HEDGE, INTENT_UNWIND).
        out_of_sync: Per venue, the spans shaded as "book out of sync" (``Summary.out_of_sync``).
        symbols: With several symbols, each one's curve, spread and fills (:class:`SymbolChart`).
        fill_venue, fill_side: Venue and side of each fill, in the order of ``fills``.
    """

    ts: Array
    net_pnl: Array
    equity_change: Array
    spread_bps: Array
    fill_ts: Array
    fill_spread_bps: Array
    fill_kind: Array
    out_of_sync: tuple[Spans, ...]
    symbols: tuple[SymbolChart, ...] = ()
    fill_venue: Array = field(default_factory=_no_ints)
    fill_side: Array = field(default_factory=_no_ints)
    holdings_revaluation: Array = field(default_factory=lambda: np.zeros(0))


def chart_data(summary: Summary, fills: Array, equity: Array) -> ChartData:
    """The series, markers and shaded spans of equity.png for ``summary`` over ``fills`` and ``equity``."""
    if summary.symbols:
        return _symbols_chart_data(summary, fills, equity)
    held = np.array([none_to_nan(summary.initial.equity(m)) for m in equity["mid"]], dtype=float)
    spread = mid_spread_bps(equity["mid"])
    spread[_inside(equity["ts"], _all_spans(summary.out_of_sync))] = np.nan
    return ChartData(
        ts=np.array(equity["ts"]),
        net_pnl=equity["equity"] - held,
        equity_change=equity["equity"] - none_to_nan(summary.risk.initial_equity),
        holdings_revaluation=held - none_to_nan(summary.risk.initial_equity),
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
        held = np.array([none_to_nan(part.initial.equity(m)) for m in rows["mid"]], dtype=float)
        spread = mid_spread_bps(rows["mid"])
        spread[_inside(rows["ts"], _all_spans(part.out_of_sync))] = np.nan
        charts.append(SymbolChart(
            name=part.name, ts=np.array(rows["ts"]), net_pnl=rows["equity"] - held, spread_bps=spread,
            fill_ts=np.array(fills["local_ts"][own]), fill_spread_bps=markers[own],
            fill_kind=np.array(fills["kind"][own]), out_of_sync=part.out_of_sync,
            fill_venue=np.array(fills["venue"][own], np.int64), fill_side=np.array(fills["side"][own], np.int64),
        ))  # fmt: skip
    held = held_values(series.mid, summary.initial)
    return ChartData(
        ts=series.ts,
        net_pnl=series.equity - held,
        equity_change=series.equity - none_to_nan(summary.risk.initial_equity),
        holdings_revaluation=held - none_to_nan(summary.risk.initial_equity),
        spread_bps=np.full((len(series.ts), max(series.mid.shape[2] - 1, 0)), np.nan),
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
    out_of_sync: Sequence[Spans] = (),
    *,
    symbol_out_of_sync: Sequence[Sequence[Spans]] = (),
) -> Array:
    """The spread each fill captured, bps, one per row of ``fills``: where its marker sits on the spread
    chart. A spread is always the later venue's price over the earlier's (by venue number; two venues: the
    second over the first), so a pair that bought on the earlier venue and sold on the later captured a
    positive spread.

    A fill whose pair also filled on another venue is set against the volume-weighted price of the
    pair's fills there (the pair's other leg): a fill at ``p`` on venue ``a`` against the VWAP ``q`` on a
    later venue ``b`` is ``(q - p) / p * 1e4``, a fill at ``q`` on ``b`` against the VWAP ``p`` on ``a`` the
    same. That is the spread the trade took, not the mid spread of a sample taken before it (a jump in
    the spread that the pair traded on arrives between two samples). With several other venues in the
    pair (a hedge on a third), the other leg is the one that traded the most against the fill (on the
    other side), ties to the lower venue number.
    A fill alone on its venue in its pair (a lone leg, an unwind) sits at the mid spread between its venue
    and the first venue (the first venue's fills: the second's) of the first sample at or after it; NaN if
    that sample falls where a venue's book was not synced (``out_of_sync``, per venue), or there is none.

    When ``equity`` holds several symbols' rows, each fill is set against its own symbol's rows (and
    its spans in ``symbol_out_of_sync``, per symbol, per venue; else ``out_of_sync``).
    """
    return fill_spreads(fills, equity, out_of_sync, symbol_out_of_sync=symbol_out_of_sync)[0]


def fill_spreads(
    fills: Array,
    equity: Array,
    out_of_sync: Sequence[Spans] = (),
    *,
    symbol_out_of_sync: Sequence[Sequence[Spans]] = (),
) -> tuple[Array, Array]:
    """:func:`fill_spread_bps` of each fill and the venue it was set against (its pair's other leg's, or
    for a fill alone in its pair the venue of the mid spread it sits at), int64."""
    n = int(equity["symbol"].max()) + 1 if len(equity) else 1
    if n <= 1:
        return _fill_spreads(fills, equity, out_of_sync)
    out = np.full(len(fills), np.nan)
    other = np.zeros(len(fills), np.int64)
    for s in range(n):
        own = fills["symbol"] == s
        spans = symbol_out_of_sync[s] if s < len(symbol_out_of_sync) else out_of_sync
        out[own], other[own] = _fill_spreads(fills[own], equity[equity["symbol"] == s], spans)
    return out, other


def _fill_spreads(fills: Array, equity: Array, out_of_sync: Sequence[Spans]) -> tuple[Array, Array]:
    # fill_spreads of one symbol's fills against its own equity rows
    out = np.full(len(fills), np.nan)
    if len(fills) == 0:
        return out, np.zeros(0, np.int64)
    venue = fills["venue"].astype(np.int64)
    n_venues = max(venue_count(equity), int(venue.max()) + 1, 2)
    pairs, pair_at = np.unique(fills["pair_id"], return_inverse=True)
    slots = len(pairs) * n_venues

    def per_slot(key: Array, weights: Array) -> Array:
        # (pair, venue) sums
        return np.bincount(key, weights=weights, minlength=slots).reshape(-1, n_venues)

    key = pair_at * n_venues + venue
    qty = per_slot(key, fills["qty"])
    value = per_slot(key, fills["price"] * fills["qty"])
    against = (
        per_slot(key, np.where(fills["side"] == BUY, 0.0, fills["qty"])),
        per_slot(key, np.where(fills["side"] == BUY, fills["qty"], 0.0)),
    )  # per (pair, venue): what sold there, what bought there (the other side of a buy, of a sell)
    with np.errstate(divide="ignore", invalid="ignore"):
        vwap = np.where(qty > QTY_EPS, value / qty, np.nan)
    rows = np.arange(len(fills))
    candidates = qty[pair_at] > QTY_EPS  # per fill, the venues its pair traded on
    candidates[rows, venue] = False
    opposite = np.where((fills["side"] == BUY)[:, None], against[0][pair_at], against[1][pair_at])
    # the other venue that traded the most against the fill; else the one that traded the most
    score = np.where(candidates, np.where(opposite > QTY_EPS, opposite, 0.0), -1.0)
    fallback = np.where(candidates, qty[pair_at], -1.0)
    other = np.where(score.max(axis=1) > 0.0, score.argmax(axis=1), fallback.argmax(axis=1))
    paired = candidates.any(axis=1)
    other = np.where(paired, other, np.where(venue == 0, 1, 0))  # alone: against the first (or second) venue
    price = fills["price"]
    other_px = vwap[pair_at, other]
    low_px = np.where(venue < other, price, other_px)
    high_px = np.where(venue < other, other_px, price)
    with np.errstate(divide="ignore", invalid="ignore"):
        out[:] = (high_px - low_px) / low_px * 1e4
    alone = ~paired
    if alone.any() and len(equity):
        at = np.searchsorted(equity["ts"], fills["local_ts"][alone], side="left")
        found = at < len(equity)
        sample = np.full(int(alone.sum()), np.nan)
        column = np.maximum(venue[alone], other[alone]) - 1  # the later venue's line over the first
        sample[found] = mid_spread_bps(equity["mid"])[at[found], column[found]]
        synced = ~_inside(equity["ts"][np.minimum(at, len(equity) - 1)], _all_spans(out_of_sync))
        out[alone] = np.where(found & synced, sample, np.nan)
    return out, other.astype(np.int64)


def mid_spread_bps(mid: Array) -> Array:
    """Per row of ``mid`` (rows of per-venue mids), each venue after the first: its mid over the first
    venue's, bps, shape ``(rows, venues - 1)`` (two venues: one column, the second over the first); NaN
    where either is unknown."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out: Array = (mid[:, 1:] - mid[:, :1]) / mid[:, :1] * 1e4
    return out


def _all_spans(out_of_sync: Sequence[Spans]) -> tuple[Span, ...]:
    # every venue's spans together
    return tuple(span for spans in out_of_sync for span in spans)


def _inside(ts: Array, spans: Iterable[Span]) -> Array:
    # mask of the times that fall inside any of the spans (start inclusive, end exclusive)
    mask = np.zeros(len(ts), dtype=bool)
    for start, end in spans:
        mask |= (ts >= start) & (ts < end)
    return mask


_SYNC_COLORS: Final = ("tab:orange", "tab:purple", "gold", "teal")
"""The shade of each venue's out-of-sync spans, by venue number (repeating past the fourth)."""

_SPREAD_COLORS: Final = ("tab:grey", "tab:blue", "tab:brown")
"""The spread lines' colours: the second venue's over the first, the third's, the fourth's."""

_VENUE_FACES: Final = ("filled", "hollow", "light", "dark")
"""How a fill's marker is filled on each venue, by number: the kind's colour, none, the colour faded,
black."""

_SYMBOL_COLORS: Final = ("tab:cyan", "tab:olive", "tab:pink", "tab:brown", "tab:red", "tab:green")

_FILL_COLORS: Final = {
    INTENT_OPEN: "tab:green",
    INTENT_HEDGE: "tab:orange",
    INTENT_UNWIND: "tab:red",
    INTENT_QUOTE: "tab:blue",
}

FILL_LABELS: Final = {
    INTENT_OPEN: "pair legs (kind open)",
    INTENT_QUOTE: "quote fills (kind quote)",
    INTENT_HEDGE: "hedges (kind hedge)",
    INTENT_UNWIND: "unwinds (kind unwind)",
}
"""What the legend calls the fills of each intent kind: what they are (a leg of a pair, a resting quote's
fill, a hedge or an unwind of one), never whether they opened or closed a position (a leg of a pair
often closes what an earlier pair left)."""

_SIDE_MARKERS: Final = {BUY: "^", SELL: "v"}

_MARKER_PT: Final = 6.0
"""Size of a fill's marker on equity.png, points: fills closer than this in both time and spread are a group."""

_STACK_PT: Final = 7.5
"""Distance between two markers of a group, side by side along the time axis, points."""

MIN_SPAN_PT: Final = 3.0
"""The narrowest an out-of-sync span is drawn, points: a span of a tenth of a second on a chart of
minutes is far under a pixel; it is widened about its middle to this (the legend gives the real seconds)."""

ENTRY_COLOR: Final = "#3fb950"
"""The entry threshold's colour, as the dashboard draws its entry line (``arb/ops/static/app.js``)."""

ENTRY_DASHES: Final = (6.0, 4.0)
"""The entry threshold's dashes (on, off; points), as the dashboard's."""


def fill_groups(x: Array, y: Array, x_tol: float, y_tol: float) -> tuple[Array, Array]:
    """The fills whose markers would cover one another, and where each goes among them: ``(group,
    slot)`` per fill, ``group`` numbering the groups from 0, ``slot`` 0 for the first fill of its group,
    1 for the next, and so on. A group is the fills within ``x_tol`` of its first fill's ``x`` and within
    ``y_tol`` of its ``y`` (both in the data's units: the size of a marker on the chart), in ``x`` order.
    The chart lays a group's markers side by side along the time axis, each at its own ``y``: a marker
    moves in time, by a few points, never in value."""
    group = np.zeros(len(x), np.int64)
    slot = np.zeros(len(x), np.int64)
    anchors: list[list[float]] = []  # [x, y, fills in the group, group number] of groups still in reach
    groups = 0
    for i in np.argsort(x, kind="stable").tolist():
        xi, yi = float(x[i]), float(y[i])
        anchors = [a for a in anchors if xi - a[0] <= x_tol]
        for a in anchors:
            if abs(yi - a[1]) <= y_tol or (math.isnan(yi) and math.isnan(a[1])):
                slot[i], group[i] = int(a[2]), int(a[3])
                a[2] += 1
                break
        else:
            group[i] = groups
            anchors.append([xi, yi, 1, groups])
            groups += 1
    return group, slot


def entry_threshold(summary: Summary, symbol: str | None = None) -> Mapping[str, Any] | None:
    """The entry threshold of ``symbol`` (the first symbol's when None) the run recorded (``meta.entry``,
    :func:`arb.reports.summary.entry_thresholds`), or None when it recorded none (a summary of an arb
    before it, or of a caller that passed no configuration)."""
    entry = summary.meta.get("entry")
    if not isinstance(entry, Mapping) or not entry:
        return None
    found = entry.get(symbol) if symbol is not None else next(iter(entry.values()))
    return found if isinstance(found, Mapping) and isinstance(found.get("spread_bps"), int | float) else None


_DPI: Final = 110
"""equity.png's resolution, dots per inch. The figure is laid out at it from the start: at another one, saving
lays it out again with every text measured anew (matplotlib caches text extents per resolution)."""


def plot_equity(f: BinaryIO, summary: Summary, fills: Array, equity: Array) -> None:
    equity_figure(summary, fills, equity).savefig(f, format="png", dpi=_DPI)


def _quote_name(summary: Summary) -> str:
    # the quote currency's name ("USDT") from the configuration in meta, else "quote"
    names = (summary.meta.get("config") or {}).get("strategy", {}).get("symbols") or ()
    return quote_currency(str(names[0])) if names else "quote"


def _money(x: float | None, sign: bool = False) -> str:
    return "n/a" if x is None or not math.isfinite(x) else (f"{x:+,.4f}" if sign else f"{x:,.4f}")


def _headline(summary: Summary, quote: str, symbols: int) -> str:
    # net PnL and its terms, as summary.json names them: net PnL = trading PnL - fees + funding
    t = summary.total
    funding = f" + funding {_money(t.funding)}" if t.funding else ""
    over = f", {symbols} symbols" if symbols else ""
    return (
        f"arb {summary.meta.get('mode', 'run')}: net PnL {_money(t.pnl)} {quote} = trading PnL "
        f"{_money(t.trading_pnl)} - fees {_money(t.fees)}{funding}; {t.fills:,} fills, "
        f"{summary.pairs.pairs:,} pairs{over}"
    )


def _equity_title(summary: Summary, quote: str) -> str:
    # why the equity can fall while the net PnL rises: the coins the account started with
    risk = summary.risk
    change = None
    if risk.final_equity is not None and risk.initial_equity is not None:
        change = risk.final_equity - risk.initial_equity
    return (
        f"equity change {_money(change, True)} {quote} = net PnL {_money(summary.total.pnl, True)} + holdings "
        f"revaluation {_money(risk.holdings_revaluation, True)} (the starting coins' price move, not PnL)"
    )


def equity_figure(summary: Summary, fills: Array, equity: Array) -> Any:
    """The figure of equity.png (a ``matplotlib.figure.Figure`` on an Agg canvas): panels sharing a UTC
    time axis: net PnL on its own axis (with several symbols, each one's too), the equity change beside
    the holdings revaluation it holds (both in the quote currency), and the spread of each venue's mid
    over the first venue's (bps; two venues: the second's over the first's) with every fill at the spread
    it captured and the entry threshold, one spread panel per symbol; the spans a venue's book was out of
    sync shaded, never narrower than :data:`MIN_SPAN_PT`.

    Every fill has its own marker at its own value: colour by kind (:data:`FILL_LABELS`), shape by
    side (a triangle up for a buy, down for a sell), its fill by venue (:data:`_VENUE_FACES`: filled on the
    first, hollow on the second, ...); fills that would cover one another (the legs of a pair, pairs
    opened in a burst) are laid side by side along the time axis (:func:`fill_groups`), with their number
    beside a group of three or more."""
    # The object API with an explicit Agg canvas: no pyplot global state, no display needed.
    import matplotlib.dates as mdates
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    data = chart_data(summary, fills, equity)
    quote = _quote_name(summary)
    titles = venue_titles(summary.venue_names)
    spreads: list[tuple[str, SymbolChart | ChartData, Mapping[str, Any] | None]] = (
        [(f"{c.name} spread", c, entry_threshold(summary, c.name)) for c in data.symbols]
        if data.symbols
        else [("spread", data, entry_threshold(summary))]
    )
    fig = Figure(figsize=(15, 9.5 + 3.0 * (len(spreads) - 1)), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(2 + len(spreads), 1, sharex=True, height_ratios=(2, 2, *([3] * len(spreads))))
    pnl_ax, equity_ax, spread_axes = axes[0], axes[1], list(axes[2:])
    times = data.ts.astype("datetime64[ns]")
    every = "both venues" if len(titles) == 2 else "every venue"
    label = f"net PnL (after fees),\n{every}" if not data.symbols else "net PnL (after fees),\nthe account"
    pnl_ax.plot(times, data.net_pnl, color="tab:blue", linewidth=1.0, label=label)
    for i, chart in enumerate(data.symbols):
        pnl_ax.plot(chart.ts.astype("datetime64[ns]"), chart.net_pnl, color=_SYMBOL_COLORS[i % len(_SYMBOL_COLORS)],
                    linewidth=0.8, label=f"{chart.name}")  # fmt: skip
    pnl_ax.set_ylabel(f"net PnL ({quote})")
    equity_ax.plot(times, data.equity_change, color="tab:grey", linewidth=0.8,
                   label="equity change\n(net PnL + holdings revaluation)")  # fmt: skip
    if len(data.holdings_revaluation) == len(times):
        equity_ax.plot(times, data.holdings_revaluation, color="tab:brown", linewidth=0.8, linestyle="--",
                       label="holdings revaluation\n(the starting coins at each moment's mids)")  # fmt: skip
    equity_ax.set_ylabel(f"equity change ({quote})")
    equity_ax.set_title(_equity_title(summary, quote), fontsize="small")
    for ax in (pnl_ax, equity_ax):
        ax.axhline(0.0, color="grey", linewidth=0.8, linestyle="--")
        ax.ticklabel_format(axis="y", style="plain", useOffset=False)  # whole values, not "+2.6e4" offsets
    pnl_ax.set_title(_headline(summary, quote, len(data.symbols)))

    for spread_ax, (label, panel, entry) in zip(spread_axes, spreads, strict=True):
        for v in range(1, len(titles)):  # each venue over the first
            spread_ax.plot(panel.ts.astype("datetime64[ns]"), panel.spread_bps[:, v - 1],
                           color=_SPREAD_COLORS[(v - 1) % len(_SPREAD_COLORS)], linewidth=0.8,
                           label=f"{label} ({titles[v]} over {titles[0]})")  # fmt: skip
        if entry is not None:
            _entry_lines(spread_ax, entry)
        spread_ax.set_ylabel("spread (bps)")
        lines, _ = spread_ax.get_legend_handles_labels()
        handles = [*lines, *_sync_handles(panel.out_of_sync, titles), *_fill_handles(panel.fill_kind, titles)]
        # beside the panel, never over a fill
        spread_ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.005, 1.0), borderaxespad=0.0,
                         fontsize="small")  # fmt: skip
    spread_axes[-1].set_xlabel("time (UTC)")
    for ax in (pnl_ax, equity_ax):
        ax.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), borderaxespad=0.0, fontsize="small")
    for ax in axes:
        ax.grid(True, alpha=0.3)
    # Markers and spans are sized in points: lay the figure out first to know each panel's size in points.
    engine = fig.get_layout_engine()
    if engine is not None:
        engine.execute(fig)
    spread_axes[0].autoscale_view()
    low, high = spread_axes[0].get_xlim()  # days (matplotlib's dates), the margins included
    span_ns = max((high - low) * 86_400 * NS_PER_S, 1.0)
    width_pt = spread_axes[0].get_position().width * fig.get_figwidth() * 72
    min_ns = span_ns * MIN_SPAN_PT / width_pt
    for ax in (pnl_ax, equity_ax):
        _shade(ax, data.out_of_sync, min_ns)
    for spread_ax, (_, panel, _) in zip(spread_axes, spreads, strict=True):
        height_pt = spread_ax.get_position().height * fig.get_figheight() * 72
        _fill_markers(fig, spread_ax, panel, span_ns * _MARKER_PT / width_pt, height_pt)
        _shade(spread_ax, panel.out_of_sync, min_ns)
    locator = mdates.AutoDateLocator(tz=UTC)  # type: ignore[no-untyped-call]  # matplotlib.dates is unannotated
    spread_axes[-1].xaxis.set_major_locator(locator)
    formatter = mdates.ConciseDateFormatter(locator, tz=UTC)  # type: ignore[no-untyped-call]  # as above
    spread_axes[-1].xaxis.set_major_formatter(formatter)
    return fig


def _entry_lines(ax: Any, entry: Mapping[str, Any]) -> None:
    # The spread at which a pair can open, both directions: what the dashboard draws as its entry line
    # (min_spread_bps against the edge net of fees and slippage), here on the gross spread's axis.
    at = float(entry["spread_bps"])
    text = (
        f"entry threshold ±{at:.4g} bps:\nmin_spread_bps {float(entry['min_spread_bps']):.4g} + fees "
        f"{float(entry['fees_bps']):.4g}\n+ slippage tolerance {float(entry['slippage_bps']):.4g}"
    )
    for y, name in ((at, text), (-at, None)):
        ax.axhline(y, color=ENTRY_COLOR, linewidth=1.0, linestyle=(0, ENTRY_DASHES), label=name, zorder=2)


def _fill_markers(fig: Any, ax: Any, chart: SymbolChart | ChartData, x_tol: float, height_pt: float) -> None:
    # Every fill at the spread it captured; a group that would cover itself laid side by side in time.
    from matplotlib.transforms import ScaledTranslation

    fill_bps = chart.fill_spread_bps
    finite = np.concatenate([chart.spread_bps[np.isfinite(chart.spread_bps)], fill_bps[np.isfinite(fill_bps)]])
    low, high = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
    ax.autoscale_view()
    shown_low, shown_high = ax.get_ylim()  # the panel's span, the entry threshold's lines included
    y_range = max(high, shown_high) - min(low, shown_low)
    group, slot = fill_groups(chart.fill_ts, fill_bps, x_tol, max(y_range, 1e-9) * _MARKER_PT / height_pt)
    size = np.bincount(group)[group] if len(group) else group
    shift_pt = (slot - (size - 1) / 2.0) * _STACK_PT  # centred on the group's time
    fill_times = chart.fill_ts.astype("datetime64[ns]")
    for kind, color in _FILL_COLORS.items():
        for side, marker in _SIDE_MARKERS.items():
            for venue in np.unique(chart.fill_venue).tolist():
                mask = (chart.fill_kind == kind) & (chart.fill_side == side) & (chart.fill_venue == venue)
                for shift in np.unique(shift_pt[mask]).tolist():
                    here = mask & (shift_pt == shift)
                    moved = ScaledTranslation(shift / 72, 0.0, fig.dpi_scale_trans)  # along time only
                    ax.scatter(
                        fill_times[here], fill_bps[here], s=_MARKER_PT**2, marker=marker, zorder=3,
                        edgecolors=color, facecolors=_face(color, venue), linewidths=1.0,
                        transform=ax.transData + moved,
                    )  # fmt: skip
    # a marker shifted in time is drawn through its own transform, which the data limits do not follow:
    # where a marker falls outside the panel (a pair between two venues after the first sits off the lines,
    # a pair that traded a jump past them), the value axis is widened to every marker's spread
    bottom, top = ax.get_ylim()
    shown = np.isfinite(fill_bps)
    if (shown & ((fill_bps < bottom) | (fill_bps > top))).any():
        ax.update_datalim(np.column_stack([ax.convert_xunits(fill_times[shown]), fill_bps[shown]]), updatex=False)
        ax.autoscale_view()
    for first in np.flatnonzero(slot == 0).tolist():
        n = int(size[first])
        if n >= 3 and np.isfinite(fill_bps[first]):
            beside = ((n - 1) / 2.0) * _STACK_PT + _MARKER_PT
            ax.annotate(f"{n} fills", (fill_times[first], fill_bps[first]), xytext=(beside, 0),
                        textcoords="offset points", fontsize="x-small", va="center")  # fmt: skip


def _face(color: str, venue: int) -> Any:
    # a fill marker's face on ``venue`` (_VENUE_FACES): the kind's colour, none, the colour faded, black
    from matplotlib.colors import to_rgba

    face = _VENUE_FACES[venue % len(_VENUE_FACES)]
    return {"filled": color, "hollow": "none", "light": to_rgba(color, 0.35), "dark": "black"}[face]


def _fill_handles(fill_kind: Array, titles: Sequence[str]) -> list[Any]:
    # the legend's entries for the fills: each kind with its count, then what shape and fill mean
    from matplotlib.lines import Line2D

    handles: list[Any] = []
    for kind, color in _FILL_COLORS.items():
        count = int(np.count_nonzero(fill_kind == kind))
        if count:
            text = f"{FILL_LABELS[kind]}: {count} fills,\nat the spread they captured"
            handles.append(Line2D([], [], linestyle="none", marker="o", color=color, label=text))
    if len(fill_kind):
        handles += [
            Line2D([], [], linestyle="none", marker="^", color="black", label="buy"),
            Line2D([], [], linestyle="none", marker="v", color="black", label="sell"),
        ]
        for v, title in enumerate(titles):
            last = "\n(fills at one moment side by side)" if v == len(titles) - 1 else ""
            face = _VENUE_FACES[v % len(_VENUE_FACES)]
            handles.append(Line2D([], [], linestyle="none", marker="s", color="black",
                                  markerfacecolor=_face("black", v), label=f"{face}: {title}{last}"))  # fmt: skip
    return handles


def _sync_handles(out_of_sync: Sequence[Spans], titles: Sequence[str]) -> list[Any]:
    # the legend's entries for the out-of-sync spans: each venue that had one, with its total time
    from matplotlib.patches import Patch

    return [
        Patch(color=_SYNC_COLORS[venue % len(_SYNC_COLORS)], alpha=0.35, linewidth=0,
              label=f"{titles[venue] if venue < len(titles) else venue} book out of sync "
              f"({sum(end - start for start, end in spans) / NS_PER_S:.3g} s in all)")
        for venue, spans in enumerate(out_of_sync) if spans
    ]  # fmt: skip


def _shade(ax: Any, out_of_sync: Sequence[Spans], min_ns: float) -> None:
    # each venue's out-of-sync spans, none drawn narrower than min_ns (widened about its middle)
    for venue, spans in enumerate(out_of_sync):
        for start, end in spans:
            middle, half = (start + end) / 2.0, max(end - start, min_ns) / 2.0
            ax.axvspan(np.datetime64(int(middle - half), "ns"), np.datetime64(int(middle + half), "ns"),
                       color=_SYNC_COLORS[venue % len(_SYNC_COLORS)], alpha=0.35, linewidth=0)  # fmt: skip
