"""equity.png: what the chart of a run draws (:func:`chart_data`, apart from the drawing) and the
drawing itself (:func:`equity_figure`, matplotlib's object API on an Agg canvas: no display needed).

Times in int64 ns (local), money in quote currency, spreads in basis points.
"""

from __future__ import annotations

__all__ = [
    "ChartData",
    "SymbolChart",
    "chart_data",
    "equity_figure",
    "fill_spread_bps",
    "fill_stack_levels",
    "plot_equity",
]

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any, BinaryIO, Final

import numpy as np

from arb.events import ASSET_NAMES, BINANCE, BYBIT, NS_PER_S
from arb.execution.paper_files import KIND_NAMES
from arb.reports.common import QTY_EPS, VENUES, Array, none_to_nan
from arb.reports.risk import held_values
from arb.reports.summary import Summary
from arb.reports.valuation import account_equity
from arb.runtime.marks import Span, Spans
from arb.strategy.types import BUY, INTENT_HEDGE, INTENT_OPEN, INTENT_QUOTE, INTENT_UNWIND, SELL


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
    held = np.array([none_to_nan(summary.initial.equity(m)) for m in equity["mid"]], dtype=float)
    spread = np.array(equity["spread_bps"], dtype=float)
    spread[_inside(equity["ts"], summary.out_of_sync[BINANCE] + summary.out_of_sync[BYBIT])] = np.nan
    return ChartData(
        ts=np.array(equity["ts"]),
        trading_pnl=equity["equity"] - held,
        equity_change=equity["equity"] - none_to_nan(summary.risk.initial_equity),
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
        trading_pnl=series.equity - held_values(series.mid, summary.initial),
        equity_change=series.equity - none_to_nan(summary.risk.initial_equity),
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


_FILL_COLORS: Final = {
    INTENT_OPEN: "tab:green",
    INTENT_HEDGE: "tab:orange",
    INTENT_UNWIND: "tab:red",
    INTENT_QUOTE: "tab:blue",
}


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


def plot_equity(f: BinaryIO, summary: Summary, fills: Array, equity: Array) -> None:
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
                for venue in VENUES:
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
                text = f"{KIND_NAMES[kind]} fills ({count}) at the spread they captured"
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
