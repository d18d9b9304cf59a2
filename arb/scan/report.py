"""scan.html: a scan's results as one self-contained page (:func:`write_report`).

The page has three parts, each from the files the scan wrote under its folder:

1. **The ranking**: the terminal's table (:func:`arb.scan.ranking.ranking_table`, its cells as they are, so a
   figure reads the same in the terminal, ``scan.csv`` and here) and a bar chart of the best candidates'
   capturable quote beside their edge quote.
2. **The net edge** of each of the ``top`` best candidates over each day it has (its ``.series.parquet``: the
   most the net edge reached in each step of the day), the threshold drawn and each episode shaded.
3. **Capturable against latency**: for each of them, the edge of its episodes that lasted longer than a
   latency *L* (:func:`capturable_curve`, the scan's own definition, :func:`arb.scan.measure.capturable`), for
   *L* from 0.1 ms to 10 s, with each pair's configured latency marked, and a table of the curves read at a few
   latencies: what a bot that far from the venues could take.

Charts are drawn with matplotlib's object API on an Agg canvas (no display) and embedded as PNG
(:func:`arb.reports.page.png_img`); the figures of part 3 are also in the page as JSON
(``<script type="application/json" id="arb-scan">``, data, not code) for tools that read it.
"""

from __future__ import annotations

__all__ = ["LATENCY_GRID_MS", "MAX_DAYS", "READ_AT_MS", "TABLE_ROWS", "capturable_curve", "write_report"]

import datetime as dt
import functools
import html
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from arb.events import NS_PER_MS, NS_PER_S
from arb.files import write_atomic
from arb.formats import jsonable
from arb.reports.charts import ENTRY_COLOR, ENTRY_DASHES, MIN_SPAN_PT
from arb.reports.page import PAGE_CSS, PNG_DPI, png_img
from arb.scan.ranking import ranked, ranking_table
from arb.scan.store import ShardFiles

LATENCY_GRID_MS: Final = tuple(float(x) for x in np.logspace(-1, 4, 101))
"""The latencies the capturable curves are drawn at, ms: 0.1 ms to 10 s, twenty a decade."""
READ_AT_MS: Final = (1.0, 5.0, 50.0, 500.0)
"""The latencies the page's table reads the capturable curves at, ms."""
TABLE_ROWS: Final = 100
"""The most ranked rows the page's table shows (``scan.csv`` holds every one)."""
MAX_DAYS: Final = 7
"""The most days of one candidate whose net edge is drawn: those with the most capturable quote, then edge."""
_BARS_AT_LEAST: Final = 10
"""The bar chart shows this many candidates, or ``top`` when more."""
_COLORS: Final = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink",
                  "tab:olive", "tab:cyan", "tab:grey")  # fmt: skip
_EPISODE_COLOR: Final = "tab:orange"
_WIDTH_IN: Final = 9.0
_Key = tuple[str, str, str, str]
"""(symbol, market, buy venue, sell venue): a candidate."""
_Columns = Mapping[str, np.ndarray[Any, Any]]
"""A table as its columns."""

_DEFINITIONS: Final = (
    ("net edge", "selling one unit at the sell venue's best bid and buying it at the buy venue's best ask, each "
     "paying its venue's taker fee, in bps of what the buy costs: (bid * (1 - fee) - ask * (1 + fee)) / ask"),
    ("episode", "a stretch of time with the net edge above the threshold, from the book change that lifted it "
     "above to the one that brought it back"),
    ("crossable", "at an episode's start, both books walked level by level (the buy venue's asks against the sell "
     "venue's bids) while the two levels' own net edge stays above the threshold: the quote the buys cost"),
    ("edge", "what the crossable quantity earns after both fees, quote: what a bot with no latency could take"),
    ("capturable", "the edge of the episodes that lasted longer than the latency, an order's round trip from where "
     "the bot sits: a shorter episode was gone before an order sent at its start could arrive"),
)  # fmt: skip
"""What the page's words mean (arb.scan.measure has the arithmetic)."""
_COLUMNS: Final = (
    "Rows are summed over the days: <b>hours</b> the net edge was known (both books synced), <b>above</b> the "
    "share of that time above the threshold, <b>episodes</b>, <b>capturable</b> at each pair's latency, "
    "<b>edge</b> and <b>crossable</b> at the episodes' starts (quote); <b>net p90</b> and <b>net max</b> the "
    "highest of the days' time-weighted 90th percentile and maximum of the net edge (bps); <b>lead</b> the venue "
    "whose mid moves first, and by how much. Best first: the most capturable, then edge, then share above."
)


def capturable_curve(episodes: Mapping[str, Any], latencies_ms: Sequence[float] | np.ndarray[Any, Any]) -> list[float]:
    """For each latency *L* of ``latencies_ms`` (ms), the edge of the ``episodes`` that lasted longer than *L*
    (``duration_ms > L``), quote: :func:`arb.scan.measure.capturable` at every latency at once, the figure the scan
    writes as ``capturable_quote_at_latency`` at a pair's own latency (equal but for the order of the additions).

    ``episodes``: columns (any sequences of equal length) ``duration_ms`` and ``edge_quote``, as in
    ``episodes.parquet`` or a shard's :class:`~arb.scan.shard.PairResult`. Durations and latencies are
    compared in whole ns, as the scan compares them. The episodes are sorted once by duration, so a curve of
    many latencies over many episodes costs a sort and a search per latency.
    """
    duration_ns = np.rint(np.asarray(episodes["duration_ms"], np.float64) * NS_PER_MS).astype(np.int64)
    order = np.argsort(duration_ns, kind="stable")
    edge = np.asarray(episodes["edge_quote"], np.float64)[order]
    longer = np.append(np.cumsum(edge[::-1])[::-1], 0.0)  # longer[i]: the edge of the i-th shortest and longer
    latency_ns = np.rint(np.asarray(latencies_ms, np.float64) * NS_PER_MS).astype(np.int64)
    return [float(x) for x in longer[np.searchsorted(duration_ns[order], latency_ns, side="right")]]


def write_report(out: Path, rows: list[dict[str, Any]], *, top: int = 5, quote: str = "USDT", title: str = "") -> Path:
    """Write ``<out>/scan.html`` (see the module docstring) and return its path.

    ``rows``: the rows of ``<out>/scan.parquet``, one per (day, symbol, market, buy venue, sell venue), as the
    scan wrote them; the page also reads ``<out>/episodes.parquet`` (absent: no episode) and the shards'
    ``.series.parquet``. ``top``: how many of the best candidates get their net edge and capturable curves
    drawn; ``quote``: the quote currency's name; ``title``: a line under the page's heading (the terminal
    table's title). No row gives a page that says the scan found nothing. A file that cannot be read is named
    in the page, and what it would have drawn is left out.
    """
    rows = [row for row in rows if row.get("buy_venue")]
    groups = ranked(rows)
    best = groups[: max(top, 0)]
    problems: list[str] = []
    episodes = _read_columns(out / "episodes.parquet", problems)
    parts = [_settings(rows, quote), _definitions()]
    data: dict[str, Any] = {"latencies_ms": list(READ_AT_MS), "candidates": []}
    if not groups:
        parts.append(
            '<p class="empty" id="nothing">Nothing to report: the scan wrote no row (no symbol had two venues '
            "with a synced book on a day of the range), so there is no pair to rank, no episode and no chart.</p>"
        )
    else:
        parts.append(_ranking_section(groups, top, quote))
    if best:
        parts.append(_edge_section(out, rows, best, episodes, problems))
        latency_html, data["candidates"] = _latency_section(rows, best, episodes, quote)
        parts.append(latency_html)
    if problems:
        parts.append("<h2>Not read</h2><ul>" + "".join(f'<li class="note">{_e(p)}</li>' for p in problems) + "</ul>")
    embedded = json.dumps(jsonable(data), allow_nan=False, sort_keys=True).replace("</", "<\\/")
    page = "".join([
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
        f"<title>arb scan</title><style>{PAGE_CSS}</style>",
        f'<script type="application/json" id="arb-scan">{embedded}</script></head><body>',
        "<h1>arb scan</h1>",
        f'<p class="sub">{_e(title)}</p>' if title else "",
        *parts,
        "</body></html>\n",
    ])  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    return write_atomic(out / "scan.html", page)


# -- reading -------------------------------------------------------------------------------------------------


def _read_columns(path: Path, problems: list[str], names: Sequence[str] = ()) -> dict[str, np.ndarray[Any, Any]]:
    # A Parquet file's columns as arrays (strings as object arrays); {} when it is absent, and when it cannot
    # be read, with a line in problems.
    if not path.exists():
        return {}
    try:
        table = pq.read_table(path, columns=list(names) or None)
    except (OSError, pa.ArrowException) as exc:
        problems.append(f"{path}: not a readable Parquet file ({exc})")
        return {}
    return {name: table.column(name).to_numpy(zero_copy_only=False) for name in table.column_names}


def _mask(columns: _Columns, **equal: str) -> np.ndarray[Any, Any]:
    # The rows whose columns hold the values given (none when a column is missing)
    n = len(next(iter(columns.values()))) if columns else 0
    keep = np.ones(n, bool)
    for name, value in equal.items():
        column = columns.get(name)
        keep &= (column == value) if column is not None else np.zeros(n, bool)
    return keep


def _key(row: Mapping[str, Any]) -> _Key:
    return (str(row["symbol"]), str(row["market"]), str(row["buy_venue"]), str(row["sell_venue"]))


def _own(columns: _Columns, key: _Key) -> dict[str, np.ndarray[Any, Any]]:
    # The episodes of one candidate (none when the file had none, or not the columns the page reads)
    if any(name not in columns for name in ("duration_ms", "edge_quote", "day", "start_ns")):
        return {"duration_ms": np.zeros(0), "edge_quote": np.zeros(0)}
    keep = _mask(columns, symbol=key[0], market=key[1], buy_venue=key[2], sell_venue=key[3])
    return {name: values[keep] for name, values in columns.items()}


# -- words ---------------------------------------------------------------------------------------------------


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _g(value: Any) -> str:
    # a setting as the command line takes it: 10, 2.5, 0.1
    return f"{float(value):g}" if isinstance(value, int | float) and math.isfinite(value) else "-"


def _quote(value: float) -> str:
    # a quote amount as the terminal's table writes it
    return f"{value:,.2f}" if math.isfinite(value) else "-"


def _count(n: int, what: str) -> str:
    return f"{n:,} {what}" if n == 1 else f"{n:,} {what}s"


def _name(key: _Key) -> str:
    return f"{key[0]} {key[1]}: {key[2]} → {key[3]}"


def _values(rows: Sequence[Mapping[str, Any]], name: str) -> list[float]:
    return sorted({float(r[name]) for r in rows if isinstance(r.get(name), int | float) and math.isfinite(r[name])})


def _definitions() -> str:
    items = "".join(f"<li><b>{_e(word)}</b>: {_e(text)}</li>" for word, text in _DEFINITIONS)
    return f'<h2>What the figures mean</h2><ul class="note" id="definitions">{items}</ul>'


def _settings(rows: list[dict[str, Any]], quote: str) -> str:
    # What the scan measured with, from its rows: the range, the threshold, each venue's taker fee, the latencies
    if not rows:
        return ""
    days = sorted({str(r["day"]) for r in rows})
    symbols = sorted({str(r["symbol"]) for r in rows})
    markets = sorted({str(r["market"]) for r in rows})
    fees: dict[str, set[float]] = {}
    for r in rows:
        for venue, name in ((r["buy_venue"], "fee_buy_bps"), (r["sell_venue"], "fee_sell_bps")):
            if isinstance(r.get(name), int | float) and math.isfinite(r[name]):
                fees.setdefault(str(venue), set()).add(float(r[name]))
    latencies: dict[str, list[float]] = {}
    for r in rows:
        pair = " ↔ ".join(sorted((str(r["buy_venue"]), str(r["sell_venue"]))))
        latencies.setdefault(pair, []).append(r.get("latency_ms", math.nan))
    every = _values(rows, "latency_ms")
    if len(every) == 1:
        latency = f"{_g(every[0])} ms for every pair"
    else:
        latency = "; ".join(f"{pair} {', '.join(_g(x) for x in sorted(set(xs)))} ms" for pair, xs in latencies.items())
    span = days[0] if len(days) == 1 else f"{days[0]} to {days[-1]} ({len(days)} days)"
    items = [
        ("range", f"{span}; {len(symbols)} symbols ({', '.join(markets)}); {len(rows):,} rows"),
        ("threshold", ", ".join(f"{_g(x)} bps" for x in _values(rows, "threshold_bps")) or "-"),
        ("taker fees", "; ".join(f"{v} {', '.join(_g(x) for x in sorted(f))} bps" for v, f in sorted(fees.items()))
         or "-"),
        ("latency", latency),
        ("quote", quote),
    ]  # fmt: skip
    body = "".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in items)
    return f'<h2>Settings</h2><table id="settings">{body}</table>'


# -- 1. the ranking ------------------------------------------------------------------------------------------


def _ranking_section(groups: list[dict[str, Any]], top: int, quote: str) -> str:
    # The terminal's table, cell for cell, and the bar chart of the best candidates
    table = ranking_table(groups, TABLE_ROWS, quote)
    head = "".join(f"<th>{_e(c.header)}</th>" for c in table.columns)
    columns = [[str(cell) for cell in c.cells] for c in table.columns]
    right = [c.justify == "right" for c in table.columns]
    body = "".join(_row([col[i] for col in columns], right) for i in range(len(columns[0]) if columns else 0))
    shown = f"the first {TABLE_ROWS} of {len(groups):,}" if len(groups) > TABLE_ROWS else f"all {len(groups):,}"
    bars = groups[: max(top, _BARS_AT_LEAST)]
    return "".join([
        "<h2>Ranking</h2>",
        f'<p class="note">Every symbol and ordered venue pair ({shown}; scan.csv has every day of each). '
        f"{_COLUMNS}</p>",
        f'<table id="ranking"><tr>{head}</tr>{body}</table>',
        png_img(lambda: _bars_figure(bars, quote), f"capturable and edge ({quote}) of the {len(bars)} best candidates"),
        f'<p class="note">The {len(bars)} best candidates: their capturable {_e(quote)} at each pair\'s latency '
        f"beside their edge {_e(quote)} (at no latency), summed over the days.</p>",
    ])  # fmt: skip


def _row(cells: Sequence[str], right: Sequence[bool]) -> str:
    # a table row, the figures aligned right as the terminal aligns them
    return (
        "<tr>"
        + "".join(
            f'<td class="n">{_e(c)}</td>' if r else f"<td>{_e(c)}</td>" for c, r in zip(cells, right, strict=True)
        )
        + "</tr>"
    )


def _figure(panels: int, panel_in: float, *, left_in: float = 0.75, right_in: float = 0.35, top_in: float = 0.35,
            bottom_in: float = 0.55, gap_in: float = 0.6) -> tuple[Any, list[Any]]:  # fmt: skip
    # A figure on an Agg canvas (no pyplot, no display) at the page's resolution, with panels stacked one under
    # the other; margins fixed in inches rather than laid out by matplotlib, which measures every text twice
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    height = top_in + bottom_in + panels * panel_in + (panels - 1) * gap_in
    fig = Figure(figsize=(_WIDTH_IN, height), dpi=PNG_DPI)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=left_in / _WIDTH_IN, right=1 - right_in / _WIDTH_IN, top=1 - top_in / height,
                        bottom=bottom_in / height, hspace=gap_in / panel_in)  # fmt: skip
    return fig, list(fig.subplots(panels, 1, squeeze=False)[:, 0])


def _bars_figure(groups: list[dict[str, Any]], quote: str) -> Any:
    labels = [f"#{g['rank']} {_name(_key(g))}" for g in groups]
    longest = max((len(label) for label in labels), default=0)
    fig, (ax,) = _figure(1, 0.42 * len(groups) + 0.2, left_in=min(0.3 + 0.075 * longest, 4.5), top_in=0.15)
    y = np.arange(len(groups))
    capt = np.array([g["capturable_quote_at_latency"] for g in groups], float)
    edge = np.array([g["edge_quote"] for g in groups], float)
    ax.barh(y - 0.2, capt, height=0.4, color="tab:green", label=f"capturable at the pair's latency ({quote})")
    ax.barh(y + 0.2, edge, height=0.4, color="tab:blue", alpha=0.55, label=f"edge at the episodes' starts ({quote})")
    for yy, value in [*zip(y - 0.2, capt, strict=True), *zip(y + 0.2, edge, strict=True)]:
        ax.annotate(_quote(float(value)), (float(value), float(yy)), xytext=(3, 0), textcoords="offset points",
                    va="center", fontsize="x-small")  # fmt: skip
    ax.set_yticks(y, labels, fontsize="small")
    ax.invert_yaxis()  # the best on top
    ax.set_xlabel(f"{quote}, summed over the days")
    ax.margins(x=0.12)
    ax.grid(True, axis="x", alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    return fig


# -- 2. the net edge over each day ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Day:
    # One panel: a candidate's day, its net edge series (seconds of the day, bps) and its episodes (seconds)
    day: str
    threshold_bps: float
    t_s: np.ndarray[Any, Any]
    net_bps: np.ndarray[Any, Any]
    step_s: float
    start_s: np.ndarray[Any, Any]
    duration_s: np.ndarray[Any, Any]
    note: str


_TIME_STEPS_S: Final = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600)
"""The time axis's tick steps, seconds: the smallest that gives at most :data:`_MAX_TIME_TICKS` is used."""
_MAX_TIME_TICKS: Final = 7


def _edge_section(out: Path, rows: list[dict[str, Any]], best: list[dict[str, Any]],
                  episodes: _Columns, problems: list[str]) -> str:  # fmt: skip
    parts = [
        "<h2>Net edge of the best candidates, day by day</h2>",
        '<p class="note">Each panel is one day of a candidate: the line is the most the net edge reached in each '
        "step of the day (about 2,000 a day, bps), the dashed line the threshold, each shaded span an episode from "
        f"its start to its end (drawn at least {MIN_SPAN_PT:g} points wide, however short). At most {MAX_DAYS} days "
        "a candidate: those with the most capturable quote.</p>",
    ]
    series: dict[Path, dict[str, np.ndarray[Any, Any]]] = {}
    for g in best:
        key = _key(g)
        own = [r for r in rows if _key(r) == key]
        chosen = sorted(own, key=lambda r: (-_num(r.get("capturable_quote_at_latency")), -_num(r.get("edge_quote")),
                                            str(r["day"])))[:MAX_DAYS]  # fmt: skip
        chosen.sort(key=lambda r: str(r["day"]))
        eps = _own(episodes, key)
        panels = []
        for r in chosen:
            path = ShardFiles(out, f"{r['day']}/{key[0]}_{key[1]}").path("series")
            if path not in series:
                series[path] = _read_columns(path, problems, ("buy_venue", "sell_venue", "t_s", "net_bps_max"))
            panels.append(_day_panel(r, series[path], eps))
        left = f" ({len(own) - len(chosen)} more days not drawn)" if len(own) > len(chosen) else ""
        parts.append(f"<h3>#{g['rank']} {_e(_name(key))}{_e(left)}</h3>")
        parts.append(png_img(functools.partial(_edge_figure, key, panels), f"net edge of {_name(key)}, day by day"))
    return "".join(parts)


def _num(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else 0.0


def _day_panel(row: Mapping[str, Any], series: _Columns, eps: _Columns) -> _Day:
    day = str(row["day"])
    day_ns = int(dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC).timestamp()) * NS_PER_S
    keep = _mask(series, buy_venue=str(row["buy_venue"]), sell_venue=str(row["sell_venue"]))
    t_s = np.asarray(series["t_s"][keep], np.float64) if keep.any() else np.zeros(0)
    net = np.asarray(series["net_bps_max"][keep], np.float64) if keep.any() else np.zeros(0)
    order = np.argsort(t_s, kind="stable")
    t_s, net = t_s[order], net[order]
    step_s = float(np.median(np.diff(t_s))) if len(t_s) > 1 else 1.0
    mine = eps["day"] == day if "day" in eps else np.zeros(0, bool)
    start_s = (np.asarray(eps["start_ns"][mine], np.int64) - day_ns) / NS_PER_S if mine.any() else np.zeros(0)
    duration_s = np.asarray(eps["duration_ms"][mine], np.float64) / 1e3 if mine.any() else np.zeros(0)
    note = "" if len(t_s) else "no net-edge series for this day (its shard's .series.parquet is missing or empty)"
    threshold = float(row["threshold_bps"]) if isinstance(row.get("threshold_bps"), int | float) else math.nan
    return _Day(day, threshold, t_s, net, step_s, start_s, duration_s, note)


def _clock_ticks(lo_s: float, hi_s: float) -> tuple[list[float], list[str]]:
    # Ticks of a time-of-day axis (seconds since 00:00 UTC) at round steps: HH:MM, HH:MM:SS under a minute's
    step = next((s for s in _TIME_STEPS_S if (hi_s - lo_s) / s <= _MAX_TIME_TICKS), _TIME_STEPS_S[-1])
    ticks = [float(t) for t in range(math.ceil(lo_s / step) * step, math.floor(hi_s) + 1, step)]
    labels = []
    for t in ticks:
        h, rest = divmod(round(t), 3600)
        labels.append(f"{h:02d}:{rest // 60:02d}:{rest % 60:02d}" if step < 60 else f"{h:02d}:{rest // 60:02d}")
    return ticks, labels


def _edge_figure(key: _Key, panels: list[_Day]) -> Any:
    from matplotlib.collections import PolyCollection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    fig, axes = _figure(max(len(panels), 1), 1.9)
    for ax, p in zip(axes, panels, strict=False):
        if len(p.t_s):
            lo, hi = float(p.t_s[0]), float(p.t_s[-1] + p.step_s)
        else:  # no series: the whole day
            lo, hi = 0.0, 86_400.0
        hi = max(hi, lo + 60.0)
        ax.plot(p.t_s, p.net_bps, color="tab:blue", linewidth=0.8, drawstyle="steps-post")
        if math.isfinite(p.threshold_bps):
            ax.axhline(p.threshold_bps, color=ENTRY_COLOR, linewidth=1.0, linestyle=(0, ENTRY_DASHES))
        # each episode from its start to its end, the full height; widened about its middle to be seen
        least = (hi - lo) * MIN_SPAN_PT / (_WIDTH_IN * 72 * 0.85)
        middle = p.start_s + p.duration_s / 2.0
        half = np.maximum(p.duration_s, least) / 2.0
        boxes = [[(a, 0.0), (a, 1.0), (b, 1.0), (b, 0.0)] for a, b in zip(middle - half, middle + half, strict=True)]
        ax.add_collection(PolyCollection(boxes, facecolors=_EPISODE_COLOR, alpha=0.3, linewidths=0,
                                         transform=ax.get_xaxis_transform()), autolim=False)  # fmt: skip
        ax.set_xlim(lo, hi)
        ax.set_xticks(*_clock_ticks(lo, hi))
        above = f" above {_g(p.threshold_bps)} bps" if math.isfinite(p.threshold_bps) else ""
        ax.set_title(f"{key[0]} {key[1]}: {key[2]} → {key[3]}, {p.day}: {_count(len(p.start_s), 'episode')}{above}",
                     fontsize="medium")  # fmt: skip
        ax.set_ylabel("net edge (bps)")
        ax.grid(True, alpha=0.3)
        if p.note:
            ax.text(0.5, 0.75, p.note, transform=ax.transAxes, ha="center", va="center", color="grey")
    axes[0].legend(handles=[
        Line2D([], [], color="tab:blue", linewidth=0.8, label="net edge, the most in each step"),
        Line2D([], [], color=ENTRY_COLOR, linestyle=(0, ENTRY_DASHES), label="threshold"),
        Patch(color=_EPISODE_COLOR, alpha=0.3, linewidth=0, label="episode, start to end"),
    ], loc="lower left", fontsize="x-small")  # fmt: skip
    axes[-1].set_xlabel("time of day (UTC)")
    return fig


# -- 3. capturable against latency ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Curve:
    # One candidate's capturable quote at each latency xs (ms), and at its configured latencies (ms, quote)
    name: str
    xs: np.ndarray[Any, Any]
    ys: list[float]
    marks: list[tuple[float, float]]


def _latency_section(rows: list[dict[str, Any]], best: list[dict[str, Any]], episodes: _Columns,
                     quote: str) -> tuple[str, list[dict[str, Any]]]:  # fmt: skip
    curves: list[_Curve] = []
    found = []
    for g in best:
        key = _key(g)
        eps = _own(episodes, key)
        configured = _values([r for r in rows if _key(r) == key], "latency_ms")
        # the curve is a step down at each episode's duration: drawn exactly at those and on the grid
        d = np.asarray(eps["duration_ms"], np.float64)
        xs = np.union1d(LATENCY_GRID_MS, d[(d > LATENCY_GRID_MS[0]) & (d < LATENCY_GRID_MS[-1])])
        at = capturable_curve(eps, [*READ_AT_MS, *configured])
        marks = list(zip(configured, at[len(READ_AT_MS) :], strict=True))
        curves.append(_Curve(f"#{g['rank']} {_name(key)}", xs, capturable_curve(eps, xs), marks))
        found.append({
            "rank": g["rank"], "symbol": key[0], "market": key[1], "buy_venue": key[2], "sell_venue": key[3],
            "episodes": len(eps["duration_ms"]), "capturable_at": at[: len(READ_AT_MS)],
            "latency_ms": configured, "capturable_at_latency": at[len(READ_AT_MS) :],
        })  # fmt: skip
    header = ["candidate", "episodes", *(f"at {_g(x)} ms" for x in READ_AT_MS), "at its latency"]
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join(
        _row([f"#{c['rank']} {_name(_key(c))}", f"{c['episodes']:,}", *(_quote(v) for v in c["capturable_at"]),
              "; ".join(f"{_quote(v)} ({_g(x)} ms)" for x, v in zip(c["latency_ms"], c["capturable_at_latency"],
                                                                    strict=True)) or "-"],
             [False, *([True] * (len(header) - 1))])
        for c in found
    )  # fmt: skip
    none = not any(c["episodes"] for c in found)
    parts = [
        "<h2>Capturable against latency</h2>",
        '<p class="note">Each curve is a candidate\'s edge ({_e(quote)}, summed over its days) of '
        f"the episodes that lasted longer than the latency on the axis, from {_g(LATENCY_GRID_MS[0])} ms to "
        f"{_g(LATENCY_GRID_MS[-1] / 1000)} s; a dot marks the pair's configured latency (its row's "
        "<code>latency_ms</code>, where the ranking reads it). The table reads the curves at a few latencies: what "
        "a bot 1 ms, 5 ms, 50 ms or 500 ms from the venues could have taken.</p>",
    ]
    if none:
        parts.append('<p class="empty" id="no-episode">No episode above the threshold for these candidates: '
                     "nothing was capturable at any latency.</p>")  # fmt: skip
    else:
        parts.append(png_img(lambda: _latency_figure(curves, quote), f"capturable {quote} against latency"))
    parts.append(f'<table id="capturable"><tr>{head}</tr>{body}</table>')
    return "".join(parts), found


def _latency_figure(curves: list[_Curve], quote: str) -> Any:
    from matplotlib.ticker import FixedLocator, NullLocator

    longest = max((len(curve.name) for curve in curves), default=0)
    fig, (ax,) = _figure(1, 3.8, top_in=0.15, right_in=min(0.5 + 0.07 * longest, 3.5))  # the legend beside
    for i, curve in enumerate(curves):
        color = _COLORS[i % len(_COLORS)]
        ax.plot(curve.xs, curve.ys, color=color, linewidth=1.2, drawstyle="steps-post", label=curve.name)
        for latency, value in curve.marks:
            if latency > 0:
                ax.plot([latency], [value], marker="o", color=color, linestyle="none")
                ax.annotate(f"{_g(latency)} ms", (latency, value), xytext=(4, 4), textcoords="offset points",
                            fontsize="x-small", color=color)  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlim(LATENCY_GRID_MS[0], LATENCY_GRID_MS[-1])
    ax.set_ylim(bottom=0.0)
    ticks = sorted({LATENCY_GRID_MS[0], *READ_AT_MS, 10_000.0})
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticks(ticks, [f"{_g(x / 1000)} s" if x >= 1000 else f"{_g(x)} ms" for x in ticks])
    ax.set_xlabel("latency: an order's round trip (log scale)")
    ax.set_ylabel(f"capturable ({quote})")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize="small",
              title="dot: the pair's configured\nlatency", title_fontsize="x-small")  # fmt: skip
    return fig
