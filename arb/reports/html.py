"""One self-contained HTML page for a :class:`~arb.reports.figures.PeriodReport`.

Inline CSS and inline SVG charts drawn here (no script, no external URL, no font or image to fetch):
the page opens offline in any browser, survives being mailed, and diffs as text. The headline
figures are also embedded as JSON in ``<script type="application/json" id="arb-report">`` (data, not
code) for tools that read the page.
"""

from __future__ import annotations

__all__ = ["render_html"]

import datetime as dt
import html
import itertools
import json
import math
from collections.abc import Sequence
from functools import partial
from typing import Any, Final

import numpy as np

from arb.events import NS_PER_S
from arb.formats import money, num, pct
from arb.reports.against import EXPLAINED, overlap_text, table_of
from arb.reports.common import utc_text
from arb.reports.figures import PeriodReport
from arb.reports.inventory import inventory_charts, inventory_rows, shows_inventory
from arb.reports.page import PAGE_CSS as _CSS
from arb.results.venues import venue_titles

Array = np.ndarray[Any, np.dtype[Any]]

_SAMPLES_LABEL: Final = {
    "run": "equity samples (the run's own, and the period's start and end)",
    "rebuilt": "equity samples (rebuilt from the marks, one a minute)",
}
_SPREAD_AXIS: Final = "spread captured at the pair's first opening fill, bps (positive: sold where dearer)"
_W: Final = 900
_H: Final = 260
_PAD: Final = (64, 16, 16, 36)  # left, right, top, bottom


_amount = partial(money, small=0.01)  # money, two decimals; under a cent, two significant digits
_figure = partial(num, small=0)  # a plain figure, ``digits`` decimals
_base = partial(num, digits=8, small=0)  # a quantity in base units, to the satoshi


def _percent(x: float | None) -> str:
    # four decimals under 1 %, else two
    return pct(x, 4 if x is not None and abs(x) < 0.01 else 2, small=0)


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _seconds(x: float | None) -> str:
    if x is None:
        return "n/a"
    if x < 120:
        return f"{x:.2f} s"
    if x < 7200:
        return f"{x / 60:.1f} min"
    return f"{x / 3600:.1f} h"


def _sign(x: float | None) -> str:
    return "" if x is None or x == 0 else ("pos" if x > 0 else "neg")


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    # round numbers spanning [lo, hi]
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / n
    step = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * step:
            step *= m
            break
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step) + 1)]


_TIME_STEPS_S: Final = (
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 2 * 3600, 3 * 3600, 6 * 3600, 12 * 3600,
    86_400, 2 * 86_400, 7 * 86_400, 14 * 86_400,
)  # fmt: skip
"""Steps of the time axis, seconds: the smallest that gives at most :data:`_MAX_TIME_TICKS` ticks is used."""
_MAX_TIME_TICKS: Final = 7


def _time_ticks(start_ns: int, end_ns: int) -> tuple[list[tuple[int, str]], str]:
    """Ticks of a UTC time axis over ``[start_ns, end_ns]``: ``(ns, label)`` at round multiples of one
    step, each label distinct (``HH:MM:SS`` under a minute's step, ``HH:MM`` under a day's, else
    ``MM-DD``), and the date the axis title adds (``", 2024-08-09"``, or ``""`` when the labels carry
    it or the axis crosses midnight, where the day's first tick shows its date instead)."""
    span_s = max(end_ns - start_ns, 1) / NS_PER_S
    step_s = next((s for s in _TIME_STEPS_S if span_s / s <= _MAX_TIME_TICKS), _TIME_STEPS_S[-1])
    while span_s / step_s > _MAX_TIME_TICKS:
        step_s *= 2
    step = step_s * NS_PER_S
    first = -(-start_ns // step) * step
    times = list(range(first, end_ns + 1, step))
    fmt = "%H:%M:%S" if step_s < 60 else "%H:%M" if step_s < 86_400 else "%m-%d"
    stamps = [dt.datetime.fromtimestamp(t / NS_PER_S, tz=dt.UTC) for t in times]
    days = {stamp.date() for stamp in stamps} | {dt.datetime.fromtimestamp(start_ns / NS_PER_S, tz=dt.UTC).date()}
    if step_s >= 86_400:
        return [(t, stamp.strftime(fmt)) for t, stamp in zip(times, stamps, strict=True)], ""
    if len(days) == 1:
        return [(t, stamp.strftime(fmt)) for t, stamp in zip(times, stamps, strict=True)], f", {min(days):%Y-%m-%d}"
    out, seen = [], None
    for t, stamp in zip(times, stamps, strict=True):
        text = stamp.strftime(fmt)
        if stamp.date() != seen:  # the first tick of each day carries its date
            text = f"{stamp:%m-%d} {text}"
            seen = stamp.date()
        out.append((t, text))
    return out, ""


def _axis_range(values: Array) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if not len(finite):
        return -1.0, 1.0
    lo, hi = float(min(finite.min(), 0.0)), float(max(finite.max(), 0.0))
    if hi - lo < 1e-12:
        lo, hi = lo - 1.0, hi + 1.0
    margin = (hi - lo) * 0.05
    return lo - margin, hi + margin


def _line_chart(ts: Array, values: Array, start_ns: int, end_ns: int, ylabel: str) -> str:
    left, right, top, bottom = _PAD
    width, height = _W - left - right, _H - top - bottom
    lo, hi = _axis_range(values)
    span = max(end_ns - start_ns, 1)

    def x(t: float) -> float:
        return left + (t - start_ns) / span * width

    def y(v: float) -> float:
        return top + (hi - v) / (hi - lo) * height

    parts = [f'<svg width="{_W}" height="{_H}" role="img" aria-label="{_e(ylabel)}">']
    for tick in _ticks(lo, hi):
        parts.append(f'<line x1="{left}" x2="{left + width}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" font-size="11" text-anchor="end">{tick:,.4g}</text>')
    parts.append(
        f'<line x1="{left}" x2="{left + width}" y1="{y(0):.1f}" y2="{y(0):.1f}" stroke="#999" stroke-dasharray="4 3"/>'
    )
    ticks, dated = _time_ticks(start_ns, end_ns)
    for t, label in ticks:
        parts.append(f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{top + height}" y2="{top + height + 4}" '
                     'stroke="#999"/>')  # fmt: skip
        anchor = "end" if x(t) + 3.5 * len(label) > _W else "middle"  # the last label stays inside the chart
        parts.append(f'<text x="{x(t):.1f}" y="{_H - 14}" font-size="11" text-anchor="{anchor}">{_e(label)}</text>')
    parts.append(f'<text x="{left + width / 2}" y="{_H - 1}" font-size="11" text-anchor="middle">'
                 f"time (UTC{_e(dated)})</text>")  # fmt: skip
    parts.append(f'<text x="12" y="{top + height / 2}" font-size="11" text-anchor="middle" '
                 f'transform="rotate(-90 12 {top + height / 2})">{_e(ylabel)}</text>')  # fmt: skip
    good = np.isfinite(values)
    # a step line needs only the samples where the value changes (a month has 44,640 samples)
    changed = np.ones(len(values), dtype=bool)
    changed[1:-1] = values[1:-1] != values[:-2]
    good &= changed
    coords = [(x(float(t)), y(float(v))) for t, v in zip(ts[good], values[good], strict=True)]
    steps = []
    for (x0, y0), (x1, _) in itertools.pairwise(coords):
        steps += [(x0, y0), (x1, y0)]  # hold the value until the next sample
    steps += coords[-1:]
    points = " ".join(f"{px:.1f},{py:.1f}" for px, py in steps)
    if points:
        # a step line: the PnL changes at fills and marks, and holds in between
        parts.append(f'<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="{points}"/>')
    parts.append(f'<rect x="{left}" y="{top}" width="{width}" height="{height}" fill="none" stroke="#ccc"/>')
    parts.append("</svg>")
    return "".join(parts)


def _histogram(values: Array, xlabel: str, bins: int = 24) -> str:
    finite = values[np.isfinite(values)]
    if not len(finite):
        return '<p class="note">no captured spread in this period</p>'
    lo, hi = float(finite.min()), float(finite.max())
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    counts, edges = np.histogram(finite, bins=bins, range=(lo, hi))
    left, right, top, bottom = _PAD
    width, height = _W - left - right, _H - top - bottom
    peak = max(int(counts.max()), 1)
    bar = width / bins
    parts = [f'<svg width="{_W}" height="{_H}" role="img" aria-label="{_e(xlabel)}">']
    for tick in _ticks(0, peak, 4):
        yy = top + height - tick / peak * height
        parts.append(f'<line x1="{left}" x2="{left + width}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{left - 6}" y="{yy + 4:.1f}" font-size="11" text-anchor="end">{tick:g}</text>')
    for i, count in enumerate(counts.tolist()):
        h = count / peak * height
        parts.append(
            f'<rect x="{left + i * bar + 1:.1f}" y="{top + height - h:.1f}" width="{max(bar - 2, 1):.1f}" '
            f'height="{h:.1f}" fill="#2ca02c"><title>{edges[i]:.3g} to {edges[i + 1]:.3g} bps: {count}</title></rect>'
        )
    for i in range(0, bins + 1, max(bins // 6, 1)):
        parts.append(f'<text x="{left + i * bar:.1f}" y="{_H - 14}" font-size="11" text-anchor="middle">'
                     f"{edges[i]:.3g}</text>")  # fmt: skip
    parts.append(f'<text x="{left + width / 2}" y="{_H - 1}" font-size="11" text-anchor="middle">{_e(xlabel)}</text>')
    parts.append(f'<text x="12" y="{top + height / 2}" font-size="11" text-anchor="middle" '
                 f'transform="rotate(-90 12 {top + height / 2})">pairs</text>')  # fmt: skip
    parts.append("</svg>")
    return "".join(parts)


def _venue_bars(
    names: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[float | None]]],
    label: str = "per venue",
    unit: str = "quote",
) -> str:
    # grouped bars: one group per venue (or symbol), one bar per series (label, colour, values)
    values = np.array([[np.nan if v is None else v for v in vals] for _, _, vals in series], dtype=float)
    lo, hi = _axis_range(values.ravel())
    left, right, top, bottom = _PAD
    width, height = _W // 2 - left - right, _H - top - bottom
    group = width / len(names)
    bar = group * 0.8 / len(series)

    def y(v: float) -> float:
        return top + (hi - v) / (hi - lo) * height

    parts = [f'<svg width="{_W // 2}" height="{_H}" role="img" aria-label="{_e(label)} ({_e(unit)})">']
    for tick in _ticks(lo, hi, 4):
        parts.append(f'<line x1="{left}" x2="{left + width}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" font-size="11" text-anchor="end">{tick:,.4g}</text>')
    parts.append(f'<text x="12" y="{top + height / 2}" font-size="11" text-anchor="middle" '
                 f'transform="rotate(-90 12 {top + height / 2})">{_e(unit)}</text>')  # fmt: skip
    for g, name in enumerate(names):
        for s, (label, colour, _) in enumerate(series):
            v = values[s, g]
            if not math.isfinite(v):
                continue
            x0 = left + g * group + group * 0.1 + s * bar
            y0, y1 = sorted((y(0.0), y(float(v))))
            parts.append(
                f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{bar - 2:.1f}" height="{max(y1 - y0, 0.5):.1f}" '
                f'fill="{colour}"><title>{_e(name)} {_e(label)}: {v:,.4f} {_e(unit)}</title></rect>'
            )
            above = v >= 0
            parts.append(f'<text x="{x0 + (bar - 2) / 2:.1f}" y="{(y0 - 3) if above else (y1 + 11):.1f}" '
                         f'font-size="10" text-anchor="middle">{v:,.2f}</text>')  # fmt: skip
        parts.append(f'<text x="{left + g * group + group / 2:.1f}" y="{_H - 14}" font-size="12" '
                     f'text-anchor="middle">{_e(name)}</text>')  # fmt: skip
    parts.append(f'<line x1="{left}" x2="{left + width}" y1="{y(0):.1f}" y2="{y(0):.1f}" stroke="#999"/>')
    for s, (label, colour, _) in enumerate(series):
        parts.append(
            f'<rect x="{left + 10 + s * 110}" y="{_H - 10}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{left + 24 + s * 110}" y="{_H - 1}" font-size="11">{_e(label)} ({_e(unit)})</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _ratio(x: float | None, defined: bool, meaningful: bool) -> str:
    # as the terminal table says it: the reason is in the notes
    if not defined:
        return "n/a"
    return _figure(x, 2) if meaningful else "not meaningful"


def _card(key: str, value: str, cls: str = "") -> str:
    return f'<div class="card"><div class="v {cls}">{_e(value)}</div><div class="k">{_e(key)}</div></div>'


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + f"<td>{_e(r[0])}</td>" + "".join(f'<td class="n">{_e(c)}</td>' for c in r[1:]) + "</tr>" for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _symbols_section(report: PeriodReport, q: str) -> str:
    # a column per symbol: its PnL and fees (which add up to the account's), its pairs, and its
    # quantities in its own base units
    rows_of = report.symbols
    names = [r.name for r in rows_of]
    titles = venue_titles(report.source.venues)
    rows = [
        (f"net PnL ({q})", [_amount(r.total.pnl) for r in rows_of]),
        (f"net PnL from fills ({q})", [_amount(r.total.pnl_from_fills) for r in rows_of]),
        (f"trading PnL, before fees ({q})", [_amount(r.total.trading_pnl) for r in rows_of]),
        (f"fees ({q})", [_amount(r.total.fees) for r in rows_of]),
        ("fills", [f"{r.total.fills:,}" for r in rows_of]),
        ("volume (its base)", [_base(r.total.volume) for r in rows_of]),
        (f"notional ({q})", [_amount(r.total.notional) for r in rows_of]),
        ("pairs", [f"{r.pairs:,}" for r in rows_of]),
        ("win rate", [_percent(r.win_rate) for r in rows_of]),
        ("mean captured spread (bps)", [_figure(r.spread_bps) for r in rows_of]),
        ("mean holding time", [_seconds(r.total.holding_time_s) for r in rows_of]),
        *((f"position at the end, {t} (its base)", [_base(r.position_end[v]) for r in rows_of])
          for v, t in enumerate(titles)),
        *((f"mark at the end, {t} ({q})", [_amount(r.mark_end[v]) for r in rows_of]) for v, t in enumerate(titles)),
    ]  # fmt: skip
    bars = _venue_bars(names, [
        ("net PnL", "#1f77b4", [r.total.pnl for r in rows_of]),
        ("fees", "#d62728", [r.total.fees for r in rows_of]),
    ], label="per symbol", unit=q)  # fmt: skip
    return "".join(["<h2>Per symbol</h2>", _table(["figure", *names], [(k, *v) for k, v in rows]), bars])


def _inventory_section(report: PeriodReport) -> str:
    # What inventory cost the run, the terminal's rows under its condition (a backtest's summary.json
    # inventory: the whole run's, whatever the period), then the balances over the period as charts
    source = report.source
    parts = ['<h2 id="inventory">Inventory</h2>']
    inventory = source.inventory
    if shows_inventory(inventory):
        whole = report.period.start_ns <= source.first_ns and source.last_ns < report.period.end_ns
        span = "the whole run, inside this period" if whole else (
            f"the whole run ({utc_text(source.first_ns)} to {utc_text(source.last_ns)}), not this period's part of it"
        )  # fmt: skip
        parts += [
            '<h3 id="inventory-cost">What inventory cost the run</h3>',
            f"<p class=\"note\">summary.json's inventory, as the terminal's table shows it: {_e(span)}. Money in "
            f"quote ({_e(source.quote)}), quantities in each asset's own units.</p>",
            _table(["figure", "Total", *venue_titles(source.venues)], inventory_rows(inventory, source.venues)),
        ]
        if inventory["transfers"] and not len(source.transfers):  # a folder written before transfers.csv
            parts.append(
                f'<p class="note">This report folder has no transfers.csv (an older arb wrote it): the run\'s '
                f"{int(inventory['transfers']):,} transfers are not in the charts below, inventory.csv or this "
                "page's net PnL, rebuilt from the fills and the marks; summary.json's net PnL counts them.</p>"
            )
        elif inventory["transfers"]:
            parts.append(
                f'<p class="note">The run\'s {int(inventory["transfers"]):,} transfers (transfers.csv) are in the '
                "charts below, inventory.csv and this page's net PnL: a transfer leaves the sending venue's "
                "balance with its fee when sent and reaches the other's when it arrives.</p>"
            )
    parts.append(inventory_charts(source, report.start_ns, report.end_ns))
    return "".join(parts)


def _against_section(report: PeriodReport) -> str:
    # arb report --against: live beside the backtest of the same hours
    if report.against is None:
        return ""
    header, rows = table_of(report.against)
    notes = [overlap_text(report.against), *report.against.notes, EXPLAINED]
    return "".join([
        '<h2 id="against">Live against the backtest</h2>',
        _table(header, rows),
        *(f'<p class="note">{_e(n)}</p>' for n in notes),
    ])  # fmt: skip


def render_html(report: PeriodReport, generated_ns: int) -> str:
    """The page of ``report`` (UTF-8 text); ``generated_ns`` is the time written in its header."""
    q = report.source.quote
    risk, pairs = report.period_summary.risk, report.pairs_summary.pairs
    total = report.total
    sharpe = _ratio(risk.sharpe, risk.sharpe_defined, risk.ratios_meaningful)
    cards = [
        _card(f"net PnL ({q})", _amount(report.pnl), _sign(report.pnl)),
        _card(f"trading PnL, before fees ({q})", _amount(total.trading_pnl), _sign(total.trading_pnl)),
        _card("return", _percent(report.return_frac), _sign(report.return_frac)),
        _card("annualised return (365 days)", _percent(report.annualised_return)),
        _card("Sharpe (annualised)", sharpe),
        _card(f"max drawdown ({q})", f"{_amount(risk.max_drawdown)} ({_percent(risk.max_drawdown_frac)})"),
        _card("win rate", f"{_percent(pairs.win_rate)} of {pairs.pairs} pairs"),
        _card("mean holding time", _seconds(total.holding_time_s)),
        _card(f"fees ({q})", _amount(total.fees)),
    ]
    several = bool(report.symbols)
    venue_rows = [
        (f"net PnL ({q})", [_amount(r.pnl) for r in report.venues]),
        (f"net PnL from fills ({q})", [_amount(r.pnl_from_fills) for r in report.venues]),
        (f"trading PnL, before fees ({q})", [_amount(r.trading_pnl) for r in report.venues]),
        (f"fees ({q})", [_amount(r.fees) for r in report.venues]),
        *([(f"funding ({q})", [_amount(r.funding) for r in report.venues])] if len(report.source.funding) else []),
        ("fills", [f"{r.fills:,}" for r in report.venues]),
        ("hedge fills", [f"{r.hedge_fills:,}" for r in report.venues]),
        ("unwind fills", [f"{r.unwind_fills:,}" for r in report.venues]),
        *([] if several else [("volume (base)", [_base(r.volume) for r in report.venues])]),
        (f"notional ({q})", [_amount(r.notional) for r in report.venues]),
        ("mean holding time", [_seconds(r.holding_time_s) for r in report.venues]),
        *([] if several else [
            ("position at the end (base)", [_base(r.position_end) for r in report.venues]),
            (f"mark at the end ({q})", [_amount(r.mark_end) for r in report.venues]),
        ]),
    ]  # fmt: skip
    pair_rows = [
        ("pairs", f"{pairs.pairs:,}"),
        ("pairs won (PnL > 0)", f"{pairs.pairs_won:,}"),
        ("win rate", _percent(pairs.win_rate)),
        ("pairs with equal legs", f"{pairs.pairs_matched:,}"),
        ("pairs hedged or unwound", f"{pairs.pairs_hedged:,}"),
        ("mean captured spread (bps)", _figure(pairs.spread_bps)),
        ("  net of fees (bps)", _figure(pairs.spread_net_bps)),
        (f"mean PnL per pair ({q})", _amount(pairs.pair_pnl_mean)),
    ]
    risk_rows = [
        ("Sharpe (annualised)", sharpe),
        ("Sortino (annualised)", _ratio(risk.sortino, risk.sortino_defined, risk.ratios_meaningful)),
        ("Sharpe standard error", _figure(risk.sharpe_stderr, 1)),
        (f"max drawdown ({q})", _amount(risk.max_drawdown)),
        ("max drawdown (of peak)", _percent(risk.max_drawdown_frac)),
        (_SAMPLES_LABEL[report.samples], f"{risk.samples:,}"),
        (f"equity at the start ({q})", _amount(report.start_equity)),
    ]
    notes = [risk.ratios_note] if risk.ratios_note else []
    if report.annualise_note:
        notes.append(f"annualised return: {report.annualise_note}")
    notes += list(report.source.notes)
    halts = "".join(f'<p class="halt">HALT: {_e(h)}</p>' for h in report.source.halts)
    if total.fills == 0:
        why = " (the source holds no fill at all)" if len(report.source.fills) == 0 else ""
        halts += f'<p class="empty" id="no-fill">No fill in this {_e(report.period.kind)}{_e(why)}.</p>'
    choice = f'<p class="sub" id="choice">Period: {_e(report.choice)}.</p>' if report.choice else ""
    ran = report.source.strategies
    if ran:  # what traded: the strategy and its parameters (each of the account's, when its sessions differ)
        choice += f'<p class="sub" id="strategy">{"; ".join(_e(text) for text in ran)}</p>'

    embedded = json.dumps(report.totals(), allow_nan=False, sort_keys=True).replace("</", "<\\/")
    title = f"arb {report.period.kind} report {report.period.label}"
    span = f"{utc_text(report.start_ns)} to {utc_text(report.end_ns)}"
    return "".join([
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        f"<title>{_e(title)}</title><style>{_CSS}</style>",
        f'<script type="application/json" id="arb-report">{embedded}</script></head><body>',
        f"<h1>{_e(title)}</h1>",
        f'<p class="sub">{_e(report.source.kind)} {_e(report.source.name)}; records {_e(span)}; '
        f"generated {_e(utc_text(generated_ns))}</p>",
        choice,
        halts,
        '<div class="cards">', *cards, "</div>",
        "<h2>Net PnL over the period</h2>",
        _line_chart(report.curve_ts, report.curve_pnl, report.start_ns, report.end_ns, f"net PnL ({q})"),
        "<h2>Per venue</h2>",
        _table(["figure", *venue_titles(report.source.venues), "Total"], [(k, *v) for k, v in venue_rows]),
        _venue_bars([r.name for r in report.venues[:-1]], [
            ("net PnL", "#1f77b4", [r.pnl for r in report.venues[:-1]]),
            ("fees", "#d62728", [r.fees for r in report.venues[:-1]]),
        ], unit=q),
        _symbols_section(report, q) if several else "",
        _inventory_section(report),
        _against_section(report),
        "<h2>Pairs</h2>",
        _table(["figure", "value"], pair_rows),
        "<h3>Captured spreads</h3>",
        _histogram(report.spreads_bps, _SPREAD_AXIS),
        "<h2>Risk</h2>",
        _table(["figure", "value"], risk_rows),
        "<h2>Notes</h2><ul>", *(f'<li class="note">{_e(n)}</li>' for n in notes), "</ul>",
        "</body></html>\n",
    ])  # fmt: skip
