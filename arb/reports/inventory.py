"""A run's inventory over time: inventory.csv beside its other report files, and the inventory charts
of the HTML report (:func:`inventory_charts`); and what inventory cost a backtest (``summary.json``'s
``inventory``) as the rows the terminal's table and the HTML report both show (:func:`inventory_rows`,
when :func:`shows_inventory`).

The balances change only at fills, funding payments and a backtest's transfers (transfers.csv: the
sending venue's when one is sent, the other's when it arrives, :mod:`arb.reports.transfers`), so the
series has one point per symbol at the run's start (its first equity sample), after each of those, and
at its end (its last equity sample): each venue's base (per symbol) and quote, the positions, and each
direction's pairs left (every ordered pair of the run's venues) at the configured size with the side
that binds, by the one definition the
terminal, the dashboard and the metrics use (:func:`arb.results.inventory.inventory`). The balances are
the starting ones plus what the fills, payments and transfers moved, as ``summary.json`` books them, so
the last row's are the run's ``base_balance`` and ``quote_balance`` (and its ``inventory`` balances:
what is still on its way is in neither venue's) exactly. The pairs left value a buy leg at the mid of the
latest equity sample at or before the row (the first sample before it). The files keep no open order,
so nothing is reserved here: the figures are the terminal's whenever no order is open (an
immediate-or-cancel leg is open for one round trip).

Pure but for :func:`write_inventory`; money in quote currency, quantities in base units, times int64 ns.
"""

from __future__ import annotations

__all__ = [
    "INVENTORY_CSV",
    "InventoryPoint",
    "inventory_charts",
    "inventory_columns",
    "inventory_rows",
    "inventory_series",
    "params_from_meta",
    "shows_inventory",
    "write_inventory",
]

import csv
import html
import io
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeGuard

import numpy as np

from arb.files import atomic_writer
from arb.formats import iso_ns, money
from arb.reports.common import Array
from arb.reports.summary import Summary
from arb.reports.transfers import balance_changes
from arb.results.inventory import SymbolInventory, inventory
from arb.results.venues import direction_name, directions, saved_venue_names, venue_names, venue_titles
from arb.strategy.types import (
    MARKET_LINEAR,
    MARKET_SPOT,
    RULES_DTYPE,
    equity_dtype,
    new_views,
)

INVENTORY_CSV: Final = "inventory.csv"


def inventory_columns(venues: Sequence[str]) -> tuple[str, ...]:
    """Columns of inventory.csv of a run of ``venues`` (their names, by number), one row per symbol at
    each point of the series::

        time                  ISO 8601 UTC of ts_ns
        ts_ns                 local time, int64 ns
        event                 start, fill, funding, transfer, arrival, end
        symbol
        <venue>_base          per venue: the symbol's coins on it (base units)
        <venue>_quote         per venue: its quote balance (the account's, shared by the symbols)
        <venue>_position      per venue: base bought minus sold on it since the start
        pairs_left_<d>        per direction (buy_<a>_sell_<b>, :func:`arb.results.venues.directions`): the
                              pairs left at the configured size; empty: no price yet
        limit_<d>             per direction: the side that runs out first
    """
    ways = [direction_name(venues[b], venues[s]) for b, s in directions(len(venues))]
    return (
        "time", "ts_ns", "event", "symbol",
        *(f"{v}_base" for v in venues), *(f"{v}_quote" for v in venues), *(f"{v}_position" for v in venues),
        *(f"pairs_left_{d}" for d in ways), *(f"limit_{d}" for d in ways),
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class InventoryPoint:
    """The inventory at one time: why it is a point (``event``) and every symbol's figures."""

    ts: int
    event: str  # "start", "fill", "funding", "transfer" (sent), "arrival" (a transfer arrived), "end"
    base: Array  # (symbols, venues)
    quote: Array  # (venues,)
    position: Array  # (symbols, venues)
    symbols: tuple[SymbolInventory, ...]


def shows_inventory(inventory: Mapping[str, Any] | None) -> TypeGuard[Mapping[str, Any]]:
    """Whether the terminal's table and the HTML report show what inventory cost the run
    (``summary.json``'s ``inventory``, :func:`inventory_rows`): when a transfer policy is on or a
    decision missed a pair for want of balance."""
    return inventory is not None and bool(
        inventory.get("missed_for_balance") or inventory.get("transfer_policy") != "none"
    )


def inventory_rows(inventory: Mapping[str, Any], venues: Sequence[str]) -> list[tuple[str, ...]]:
    """What inventory cost the run (``summary.json``'s ``inventory``) as ``(figure, Total, <venue 0>,
    <venue 1>, ...)`` text rows, ``venues`` naming the balances' venues in that order: the misses, the
    transfers and their fees in quote, each asset that moved (its fees and what is on its way, in its
    own units; its time in transit), and each asset held at the end per venue (what is on its way in
    none). One set of words and units for the terminal's table and the HTML report."""
    blank = ("",) * len(venues)
    rows: list[tuple[str, ...]] = [
        ("missed for balance (decisions)", f"{int(inventory['missed_for_balance']):,}", *blank),
        (f"transfers ({inventory['transfer_policy']})", f"{int(inventory['transfers']):,}", *blank),
        ("transfer fees (quote)", money(inventory["transfer_fees_quote"], digits=4), *blank),
    ]
    for asset, figures in inventory["assets"].items():
        if figures["transfers"]:
            rows.append((f"  {asset} fees / on its way", f"{figures['fees']:.8g} / {figures['in_transit']:.8g}",
                         *blank))  # fmt: skip
            rows.append((f"  {asset} time in transit (s)", f"{figures['transit_s']:.3f}", *blank))
    for asset in next(iter(inventory["balances"].values()), {}):
        held = [inventory["balances"][v][asset] for v in venues]
        rows.append((f"{asset} held at end", f"{sum(held):.8g}", *(f"{x:.8g}" for x in held)))
    return rows


def params_from_meta(
    config: Mapping[str, Any], n_symbols: int, venues: Sequence[str] = (), quotes: bool | None = None
) -> Array:
    """The kernel parameters the inventory reads (sizes, position band, style, slippage, fees, markets)
    from the configuration a run recorded in ``summary.meta["config"]``, one record per symbol (its own
    ``[symbols.<SYMBOL>]`` settings where it has them); each venue's (``venues``, by number; default: the
    configuration's, :func:`arb.results.venues.saved_venue_names`) from its table there. ``quotes``: whether
    the run's strategy quotes (``meta.strategy.quotes``); None (a run that recorded no strategy): from its
    ``[strategy] style``."""
    params = np.zeros(n_symbols, RULES_DTYPE)
    per_symbol = list(config.get("symbols") or ())
    slippage = float((config.get("execution") or {}).get("slippage_tolerance_bps", 0.0))
    for s in range(n_symbols):
        own = per_symbol[s] if s < len(per_symbol) and isinstance(per_symbol[s], Mapping) else {}
        strategy = {**(config.get("strategy") or {}), **(own.get("strategy") or {})}
        p = params[s]
        p["max_order_size"] = float(strategy.get("max_order_size", 0.0))
        p["max_position_size"] = float(strategy.get("max_position_size", 0.0))
        quoting = strategy.get("style") == "maker_taker" if quotes is None else quotes
        p["quotes"] = 1 if quoting else 0
        p["quote_size"] = float(strategy.get("quote_size") or 0.0) or p["max_order_size"]
        p["slippage_bps"] = slippage
        for v, name in enumerate(venues or saved_venue_names(config)):
            venue = config.get(name) or {}
            fees = venue.get("fees") or {}
            p["taker_fee"][v] = float(fees.get("taker", 0.0))
            p["maker_fee"][v] = float(fees.get("maker", 0.0))
            p["market"][v] = MARKET_LINEAR if venue.get("market") == "linear" else MARKET_SPOT
    return params


def _mids_by_symbol(equity: Array, n: int) -> list[tuple[Array, Array]]:
    # each symbol's equity sample times and mids, split once (a day holds 86,400 samples a symbol)
    names = equity.dtype.names or ()
    rows = [equity[equity["symbol"] == s] if "symbol" in names else equity for s in range(n)]
    return [(r["ts"], r["mid"]) for r in rows]


def _mids_at(samples: list[tuple[Array, Array]], ts: int, n_venues: int) -> Array:
    # each symbol's mids at the latest equity sample at or before ts (the first one before any)
    out = np.full((len(samples), n_venues), np.nan)
    for s, (times, mids) in enumerate(samples):
        if len(times):
            out[s] = mids[max(int(np.searchsorted(times, ts, side="right")) - 1, 0)]
    return out


def inventory_series(
    fills: Array,
    equity: Array,
    initial_base: Sequence[Sequence[float]],
    initial_quote: Sequence[float],
    params: Array,
    symbols: Sequence[str] = (),
    funding: Array | None = None,
    transfers: Array | None = None,
    venues: Sequence[str] = (),
) -> list[InventoryPoint]:
    """The run's inventory over time (see the module docstring).

    Args:
        fills: ``FILL_DTYPE`` rows (any order; taken in ``local_ts`` order, stable).
        equity: equity (:func:`~arb.strategy.types.equity_dtype`) samples: the start and end times and the mids.
        initial_base: Starting base per symbol per venue; ``initial_quote``: per venue (as many venues as
            the run's).
        params: ``RULES_DTYPE`` per symbol (:func:`params_from_meta`).
        symbols: Their names.
        funding: ``FUNDING_DTYPE`` payments, booked on their venue's quote at ``ts``.
        transfers: ``TRANSFER_DTYPE`` rows (a backtest's): each leaves the sending venue at ``ts`` and
            reaches the other at its arrival (:func:`arb.reports.transfers.balance_changes`).
        venues: The venues' names by number (default: :func:`arb.results.venues.venue_names`).

    Returns:
        The points in time order: start, one per fill, payment, transfer sent and transfer arrived, end.
    """
    n = len(params)
    quote = np.array(initial_quote, float).reshape(-1)
    n_venues = len(quote)
    names = venue_names(n_venues, venues)
    base = np.array(initial_base, float).reshape(n, n_venues)
    position = np.zeros((n, n_venues))
    changes: list[tuple[int, int, str, Any]] = []
    for k, fill in enumerate(fills[np.argsort(fills["local_ts"], kind="stable")]):
        changes.append((int(fill["local_ts"]), k, "fill", fill))
    if funding is not None:
        for k, pay in enumerate(funding):
            changes.append((int(pay["ts"]), len(fills) + k, "funding", pay))
    if transfers is not None:
        first = len(changes)
        for k, (ts, s, asset, v, change, event) in enumerate(balance_changes(transfers)):
            changes.append((ts, first + k, event, (s, asset, v, change)))
    changes.sort(key=lambda c: (c[0], c[1]))
    times = [c[0] for c in changes]
    start = int(equity["ts"][0]) if len(equity) else (times[0] if times else 0)
    end = int(equity["ts"][-1]) if len(equity) else (times[-1] if times else 0)
    symbol_names = tuple(symbols)
    samples = _mids_by_symbol(equity, n)

    def point(ts: int, event: str) -> InventoryPoint:
        views = new_views(n, n_venues)
        views["position"] = position
        views["base_balance"] = base
        views["quote_balance"] = quote[None, :]
        figures = inventory(views, params, prices=_mids_at(samples, ts, n_venues), symbols=symbol_names, venues=names)
        return InventoryPoint(ts, event, base.copy(), quote.copy(), position.copy(), figures)

    out = [point(min(start, times[0]) if times else start, "start")]
    for ts, _, kind, row in changes:
        if kind in ("transfer", "arrival"):
            s, asset, v, change = row
            if asset == 0:
                base[s, v] += change
            else:
                quote[v] += change
            out.append(point(ts, kind))
            continue
        v = int(row["venue"])
        if kind == "fill":
            s, side, qty = int(row["symbol"]), int(row["side"]), float(row["qty"])
            base[s, v] += side * qty
            position[s, v] += side * qty
            quote[v] += -side * float(row["price"]) * qty - float(row["fee"])
        else:
            quote[v] += float(row["payment"])
        out.append(point(ts, kind))
    out.append(point(max(end, times[-1]) if times else end, "end"))
    return out


def _csv(points: Sequence[InventoryPoint], venues: Sequence[str]) -> str:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(inventory_columns(venues))
    times = iso_ns(np.array([p.ts for p in points], np.int64))
    for p, time in zip(points, times, strict=True):
        for s, inv in enumerate(p.symbols):
            left = ["" if d.pairs_left is None else str(d.pairs_left) for d in inv.directions]
            writer.writerow([
                time, p.ts, p.event, inv.symbol,
                *(repr(float(x)) for x in p.base[s]), *(repr(float(x)) for x in p.quote),
                *(repr(float(x)) for x in p.position[s]), *left, *(d.limit for d in inv.directions),
            ])  # fmt: skip
    return text.getvalue()


_COLORS: Final = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b")
_W: Final = 900
_H: Final = 220
_PAD: Final = (86, 150, 12, 34)  # left, right (the legend), top, bottom


def _iso(ts: int) -> str:
    return iso_ns(np.array([ts], np.int64))[0]


def _step_svg(ts: Array, series: Sequence[tuple[str, Array]], start_ns: int, end_ns: int, ylabel: str) -> str:
    # several step lines over [start_ns, end_ns] on one axis, a legend on the right; inline SVG, no script
    left, right, top, bottom = _PAD
    width, height = _W - left - right, _H - top - bottom
    values = np.concatenate([v for _, v in series]) if series else np.zeros(0)
    finite = values[np.isfinite(values)]
    lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
    if hi - lo < 1e-12 * max(1.0, abs(hi)):
        lo, hi = lo - max(abs(lo) * 0.01, 1e-9), hi + max(abs(hi) * 0.01, 1e-9)
    lo, hi = lo - (hi - lo) * 0.05, hi + (hi - lo) * 0.05
    span = max(end_ns - start_ns, 1)

    def x(t: float) -> float:
        return left + (min(max(t, start_ns), end_ns) - start_ns) / span * width

    def y(v: float) -> float:
        return top + (hi - v) / (hi - lo) * height

    parts = [f'<svg width="{_W}" height="{_H}" role="img" aria-label="{html.escape(ylabel)}">']
    for k in range(5):
        tick = lo + (hi - lo) * k / 4
        parts.append(f'<line x1="{left}" x2="{left + width}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" font-size="11" text-anchor="end">{tick:,.6g}</text>')
    for k in range(5):
        t = start_ns + span * k // 4
        label = _iso(t)[11:19]
        parts.append(f'<text x="{x(t):.1f}" y="{_H - 18}" font-size="11" text-anchor="middle">{label}</text>')
    parts.append(f'<text x="{left + width / 2}" y="{_H - 3}" font-size="11" text-anchor="middle">time (UTC, '
                 f"{_iso(start_ns)[:10]})</text>")  # fmt: skip
    parts.append(f'<text x="12" y="{top + height / 2}" font-size="11" text-anchor="middle" '
                 f'transform="rotate(-90 12 {top + height / 2})">{html.escape(ylabel)}</text>')  # fmt: skip
    for i, (name, v) in enumerate(series):
        color = _COLORS[i % len(_COLORS)]
        coords = [(x(float(t)), y(float(val))) for t, val in zip(ts, v, strict=True) if np.isfinite(val)]
        steps: list[tuple[float, float]] = []
        for (x0, y0), (x1, _) in itertools.pairwise(coords):
            steps += [(x0, y0), (x1, y0)]  # the balance holds until the next fill
        if coords:
            steps += [coords[-1], (left + width, coords[-1][1])]
        points = " ".join(f"{px:.1f},{py:.1f}" for px, py in steps)
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{points}"/>')
        ly = top + 14 + 16 * i
        parts.append(f'<line x1="{left + width + 10}" x2="{left + width + 28}" y1="{ly - 4}" y2="{ly - 4}" '
                     f'stroke="{color}" stroke-width="2"/><text x="{left + width + 32}" y="{ly}" font-size="11">'
                     f"{html.escape(name)}</text>")  # fmt: skip
    parts.append(f'<rect x="{left}" y="{top}" width="{width}" height="{height}" fill="none" stroke="#ccc"/>')
    parts.append("</svg>")
    return "".join(parts)


def inventory_charts(source: Any, start_ns: int, end_ns: int) -> str:
    """The HTML report's inventory charts over ``[start_ns, end_ns)`` (its Inventory section,
    :func:`arb.reports.html.render_html`): each venue's quote, then each symbol's coins per venue, as
    step charts of the balances after every fill and funding payment of ``source``
    (:class:`~arb.reports.sources.SourceData`), and every transfer sent and arrived, those carried in from
    before the period at its start; the same arithmetic as inventory.csv."""
    n = max(len(source.initial.bases), int(source.fills["symbol"].max()) + 1 if len(source.fills) else 1)
    n_venues = source.initial.n_venues
    bases = [*source.initial.bases, *([(0.0,) * n_venues] * (n - len(source.initial.bases)))]
    fills = source.fills[source.fills["local_ts"] < end_ns]
    funding = source.funding[source.funding["ts"] < end_ns] if len(source.funding) else None
    moved = source.transfers[source.transfers["ts"] < end_ns]  # a copy (a mask selects)
    moved["arrive_ts"] = np.where(moved["arrive_ts"] < end_ns, moved["arrive_ts"], -1)  # on its way at the end
    points = inventory_series(fills, np.zeros(0, equity_dtype(n_venues)), bases, source.initial.quote,
                              np.zeros(n, RULES_DTYPE), source.symbols, funding, moved, source.venues)  # fmt: skip
    inside = [p for p in points if start_ns <= p.ts < end_ns]
    carried = [p for p in points if p.ts < start_ns]
    shown = [carried[-1] if carried else points[0], *inside]
    ts = np.array([start_ns, *(p.ts for p in shown[1:])], np.int64)  # what was held from the period's start
    names = source.symbols or ("base",)
    titles = venue_titles(source.venues)
    quote = [(title, np.array([p.quote[v] for p in shown])) for v, title in enumerate(titles)]
    base = [(f"{names[s] if s < len(names) else s} on {title}", np.array([p.base[s, v] for p in shown]))
            for s in range(n) for v, title in enumerate(titles)]  # fmt: skip
    end = max(end_ns - 1, start_ns + 1)
    return "".join([
        '<p class="note">Each venue\'s balances after every fill, funding payment and transfer (those carried in '
        "at the period's start; a transfer leaves the sending venue when sent and reaches the other when it "
        "arrives); inventory.csv of a run holds them with each direction's pairs left.</p>",
        _step_svg(ts, quote, start_ns, end, f"quote held ({source.quote})"),
        _step_svg(ts, base, start_ns, end, "base held (base units)"),
    ])  # fmt: skip


def write_inventory(out_dir: str | Path, summary: Summary, fills: Array, equity: Array,
                    funding: Array | None = None, symbols: Sequence[str] = (),
                    transfers: Array | None = None) -> list[Path]:  # fmt: skip
    """Write inventory.csv of a run into ``out_dir`` (atomically) from what its report holds: the
    starting balances and configuration of ``summary``, its fills, equity samples, funding payments and
    transfers (a backtest's). Returns the paths written."""
    config = summary.meta.get("config") or {}
    names = tuple(symbols) or tuple((config.get("strategy") or {}).get("symbols") or ())
    n = max(len(summary.initial.bases), int(fills["symbol"].max()) + 1 if len(fills) else 1)
    names = names[:n] if len(names) >= n else tuple(str(s) for s in range(n))
    venues = summary.venue_names
    # a symbol not started with holds nothing
    bases = [*summary.initial.bases, *([(0.0,) * len(venues)] * (n - len(summary.initial.bases)))]
    ran = summary.meta.get("strategy")
    quotes = ran.get("quotes") if isinstance(ran, Mapping) and isinstance(ran.get("quotes"), bool) else None
    params = params_from_meta(config, n, venues, quotes)
    points = inventory_series(fills, equity, bases, summary.initial.quote, params, names, funding, transfers, venues)
    out = Path(out_dir)
    with atomic_writer(out / INVENTORY_CSV) as f:
        f.write(_csv(points, venues).encode("utf-8"))
    return [out / INVENTORY_CSV]
