"""Parity: one recording through the backtest driver and through the live driver, compared.

The backtest runs hftbacktest (its exchange side fills orders against the book at the venue's time);
the live driver replays the same recording through the live path (normalizers, books, the engine)
with the paper executor filling against the local book at the order's arrival. Both call the same
kernel behind the same risk gate. This module runs both with identical settings and reports the
first point where they disagree:

- **view**: a kernel call the other driver did not make at that time, or made seeing a different
  book top (to 1e-9 relative), position, venue status or open-order count;
- **intent**: an order sent by one and not the other, or with another venue, side, price, size,
  kind or pair;
- **fill**: a fill present in one only, with another size, or prices further apart than the
  tolerance: by default the slippage tolerance (in bps of the price) plus one tick, since both
  fills lie between the price the kernel saw and its limit, which is that far away.

With zero latency (orders reach the venue instantly, every event reaches us at its exchange time),
both drivers see the same book when an order arrives, so they must agree exactly: same calls, same
intents, same fills. With latency the exchange side of the backtest is ahead of the local book by
the feed latency, so fill prices may differ within the tolerance, and a fill one driver got the other
may miss, after which their paths part.

hftbacktest ends its run one event early: asked to move to the last event of the data it answers "end
of data" without going there, so the backtest never decides at the data's last local time. The live
path does; its calls and intents at that time (or later) are left out of the comparison.
"""

from __future__ import annotations

__all__ = [
    "FILL_TIME_TOLERANCE_NS",
    "Disagreement",
    "ParityReport",
    "compare",
    "replay_engine",
    "run_parity",
    "zero_latency",
]

import dataclasses
import datetime as dt
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from arb.backtest.run import QUOTE_MIN_LATENCY_NS, run_backtest
from arb.config import AppConfig
from arb.execution.leg_faults import FAULT_NAMES
from arb.live.engine import Engine, EngineLog
from arb.live.recorded_source import replay
from arb.recording.loader import load_timeline
from arb.recording.replayed_funding import funding_of
from arb.strategy.rules import rules_of


@dataclass(frozen=True, slots=True)
class Disagreement:
    """The first point where the drivers differ."""

    kind: str  # "view", "intent" or "fill"
    index: int
    ts: int
    backtest: str
    live: str

    def describe(self) -> str:
        """Two lines: what each driver did."""
        when = dt.datetime.fromtimestamp(self.ts / 1e9, dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        return (
            f"first disagreement: {self.kind} #{self.index} at {when} UTC\n"
            f"  backtest: {self.backtest}\n  live:     {self.live}"
        )


@dataclass(frozen=True, slots=True)
class ParityReport:
    """What the comparison found."""

    calls: tuple[int, int]
    intents: tuple[int, int]
    fills: tuple[int, int]
    price_tolerance_bps: float
    max_price_diff_bps: float
    fills_outside_tolerance: int
    first: Disagreement | None
    """The first view or intent disagreement (fills beyond it are not compared)."""
    first_fill: Disagreement | None
    zero_latency: bool
    symbols: tuple[tuple[str, ParityReport], ...] = ()
    """With several symbols, each symbol's own comparison (the figures above add them up and the
    disagreements above are the earliest of any symbol)."""
    paths_may_part: bool = False
    """Quotes with latency: the drivers' decisions may part (``first`` is then where they did, not a
    disagreement), and the fills are matched one to one instead (``first_fill``: one without a match)."""
    max_time_diff_ns: int = 0
    """With ``paths_may_part``: the largest time between a fill and its match."""

    @property
    def agree(self) -> bool:
        """True when no view, intent or fill disagrees (fills within the tolerance), for every symbol;
        with ``paths_may_part``, when every fill has its match."""
        return (self.first is None or self.paths_may_part) and self.first_fill is None

    def describe(self) -> str:
        """A few lines for the terminal."""
        head = (
            f"backtest vs live ({'zero latency' if self.zero_latency else 'configured latency'}): "
            f"{self.calls[0]}/{self.calls[1]} kernel calls, {self.intents[0]}/{self.intents[1]} intents, "
            f"{self.fills[0]}/{self.fills[1]} fills"
        )
        lines = [head]
        for name, own in self.symbols:
            verdict = "agree" if own.agree else "DISAGREE"
            lines.append(
                f"  {name}: {own.calls[0]}/{own.calls[1]} calls, {own.intents[0]}/{own.intents[1]} intents, "
                f"{own.fills[0]}/{own.fills[1]} fills, prices within {own.max_price_diff_bps:.3f} bps: {verdict}"
            )
        if self.agree and self.paths_may_part:
            lines.append(
                f"every fill has its match: the same venue, side, kind and quantity, at most "
                f"{self.max_time_diff_ns / 1e6:.1f} ms apart (tolerance {FILL_TIME_TOLERANCE_NS / 1e6:g} ms), "
                f"prices within {self.max_price_diff_bps:.3f} bps "
                f"(tolerance {self.price_tolerance_bps:g} bps + one tick)"
            )
        elif self.agree:
            lines.append(
                f"they agree throughout; fill prices within {self.max_price_diff_bps:.3f} bps "
                f"(tolerance {self.price_tolerance_bps:g} bps + one tick)"
            )
        if self.first is not None:
            text = self.first.describe()
            if self.paths_may_part:
                text = text.replace("first disagreement:", "decisions parted (quotes with latency):", 1)
            lines.append(text)
        if self.first_fill is not None:
            lines.append(self.first_fill.describe())
        if self.fills_outside_tolerance:
            lines.append(f"{self.fills_outside_tolerance} fill(s) outside the price tolerance")
        return "\n".join(lines)


FILL_TIME_TOLERANCE_NS = 100_000_000
"""Quotes with latency: how far apart in time a fill and its match may be. The backtest's exchange
takes the venue's rows in exchange-time order; the paper venue takes them as they reach it, and a
venue's trade stream and depth stream reach us with different delays, so it may book a maker fill from a
later event than the backtest does (on the sample, matched fills are at most 47 ms apart)."""


def zero_latency(config: AppConfig) -> AppConfig:
    """``config`` with instant orders and every event delivered at its exchange time (orders take
    :data:`~arb.backtest.run.QUOTE_MIN_LATENCY_NS` each way when a symbol quotes, as the backtest
    runs them then)."""
    overrides: dict[str, Any] = {"backtest.feed_latency": "constant"}
    order_ns = QUOTE_MIN_LATENCY_NS if rules_of(config)["quotes"].any() else 0
    for name in config.venue_names:
        overrides[f"{name}.latency.order_entry_ns"] = order_ns
        overrides[f"{name}.latency.order_response_ns"] = order_ns
        overrides[f"{name}.latency.feed_ns"] = 0
    return config.with_overrides(overrides)


def _same(a: float, b: float) -> bool:
    return a == b or (np.isnan(a) and np.isnan(b)) or abs(a - b) <= 1e-9 * max(abs(a), abs(b))


def _call_text(c: Any) -> str:
    # one decision's call: each venue's book, position, status and open orders, in the run's venue order
    bid, ask, position, status, orders = (c[f] for f in ("bid", "ask", "position", "status", "open_orders"))
    venues = range(len(bid))
    return (
        f"book {' | '.join(f'{bid[v]:.8g}/{ask[v]:.8g}' for v in venues)}, "
        f"positions {' '.join(f'{position[v]:.8g}' for v in venues)}, "
        f"status {' '.join(str(status[v]) for v in venues)}, "
        f"open orders {' '.join(str(orders[v]) for v in venues)}, {c['intents']} intent(s)"
    )


def _calls_equal(x: Any, y: Any) -> bool:
    venues = range(len(x["bid"]))  # the run's: a decision log holds one column per venue
    return bool(
        x["ts"] == y["ts"]
        and x["intents"] == y["intents"]
        and all(_same(float(x[f][v]), float(y[f][v])) for f in ("bid", "ask", "position") for v in venues)
        and all(x[f][v] == y[f][v] for f in ("status", "open_orders") for v in venues)
    )


def _venue_name(names: Sequence[str], v: int) -> str:
    # venue number v by the run's names ("venue 2" when they are not given)
    return names[v] if v < len(names) else f"venue {v}"


def _intent_text(names: Sequence[str], s: Any) -> str:
    side = "buy" if s["side"] > 0 else "sell"
    venue = _venue_name(names, int(s["venue"]))
    fault = f", leg fault {FAULT_NAMES[int(s['fault'])]}" if s["fault"] else ""
    return f"{venue} {side} {s['qty']:.10g} @ {s['price']:.10g} (kind {s['kind']}, pair {s['pair_id']}{fault})"


def _sent_equal(x: Any, y: Any) -> bool:
    return bool(
        x["ts"] == y["ts"]
        and all(x[f] == y[f] for f in ("venue", "side", "kind", "pair_id", "level", "fault"))
        and _same(float(x["price"]), float(y["price"]))
        and _same(float(x["qty"]), float(y["qty"]))
    )


def _first_difference(
    kind: str,
    a: np.ndarray[Any, Any],
    b: np.ndarray[Any, Any],
    equal: Callable[[Any, Any], bool],
    text: Callable[[Any], str],
    missing: str,
) -> Disagreement | None:
    # Walk two time-stamped logs in step; the first entry that differs (or exists on one side only).
    for i in range(max(len(a), len(b))):
        x = a[i] if i < len(a) else None
        y = b[i] if i < len(b) else None
        if x is not None and y is not None and equal(x, y):
            continue
        ts = min(int(r["ts"]) for r in (x, y) if r is not None)
        return Disagreement(
            kind,
            i,
            ts,
            f"at {x['ts']}: {text(x)}" if x is not None else missing,
            f"at {y['ts']}: {text(y)}" if y is not None else missing,
        )
    return None


def _fill_key(f: Any) -> tuple[int, int, int, int]:
    return int(f["pair_id"]), int(f["venue"]), int(f["side"]), int(f["local_ts"])


def _fill_text(names: Sequence[str], f: Any) -> str:
    side = "buy" if f["side"] > 0 else "sell"
    return f"{_venue_name(names, int(f['venue']))} {side} {f['qty']:.10g} @ {f['price']:.10g} (pair {f['pair_id']})"


def _compare_fills(
    a: np.ndarray[Any, Any], b: np.ndarray[Any, Any], tol_bps: float, ticks: Sequence[float], exact: bool,
    names: Sequence[str] = (),
) -> tuple[Disagreement | None, float, int]:  # fmt: skip
    # ``ticks`` and ``names``: each venue's tick and name, in the run's venue order
    fa = sorted(a, key=_fill_key)
    fb = sorted(b, key=_fill_key)
    worst = 0.0
    outside = 0
    first: Disagreement | None = None
    for i in range(max(len(fa), len(fb))):
        x = fa[i] if i < len(fa) else None
        y = fb[i] if i < len(fb) else None
        if x is None or y is None:
            if first is None:
                ts = int((x if x is not None else y)["local_ts"])  # type: ignore[index]
                first = Disagreement("fill", i, ts, _fill_text(names, x) if x is not None else "no fill",
                                     _fill_text(names, y) if y is not None else "no fill")  # fmt: skip
            continue
        diff = abs(float(x["price"]) - float(y["price"]))
        diff_bps = diff / float(x["price"]) * 1e4
        worst = max(worst, diff_bps)
        allowed = tol_bps * 1e-4 * float(x["price"]) + ticks[int(x["venue"])]
        mismatch = (
            (x["pair_id"], x["venue"], x["side"]) != (y["pair_id"], y["venue"], y["side"])
            or not _same(float(x["qty"]), float(y["qty"]))
            or (exact and (x["local_ts"] != y["local_ts"] or not _same(float(x["price"]), float(y["price"]))))
        )
        if diff > allowed * (1 + 1e-9):
            outside += 1
            mismatch = True
        if mismatch and first is None:
            first = Disagreement("fill", i, int(x["local_ts"]), _fill_text(names, x), _fill_text(names, y))
    return first, worst, outside


def _match_fills(
    a: np.ndarray[Any, Any], b: np.ndarray[Any, Any], tol_bps: float, ticks: Sequence[float],
    names: Sequence[str] = (),
) -> tuple[Disagreement | None, float, int, int]:  # fmt: skip
    # Each fill of ``a`` (in time order) with the nearest unmatched fill of ``b`` on the same venue and
    # side, of the same kind and quantity, at most FILL_TIME_TOLERANCE_NS away; pair ids are left out (the
    # drivers' decisions, and so their numbering, may part). Returns the first fill without a match (or
    # with a price beyond the tolerance), the worst price difference (bps), how many prices were beyond
    # it, and the largest time between matched fills.
    fa = sorted(a, key=lambda f: int(f["local_ts"]))
    left = sorted(b, key=lambda f: int(f["local_ts"]))
    worst, outside, worst_ns = 0.0, 0, 0
    first: Disagreement | None = None
    for i, x in enumerate(fa):
        t = int(x["local_ts"])
        near = [
            (abs(int(y["local_ts"]) - t), k)
            for k, y in enumerate(left)
            if (x["venue"], x["side"], x["kind"]) == (y["venue"], y["side"], y["kind"])
            and _same(float(x["qty"]), float(y["qty"]))
            and abs(int(y["local_ts"]) - t) <= FILL_TIME_TOLERANCE_NS
        ]
        if not near:
            first = first or Disagreement("fill", i, t, _fill_text(names, x), "no match")
            continue
        gap, k = min(near)
        y = left.pop(k)
        worst_ns = max(worst_ns, gap)
        diff = abs(float(x["price"]) - float(y["price"]))
        worst = max(worst, diff / float(x["price"]) * 1e4)
        if diff > (tol_bps * 1e-4 * float(x["price"]) + ticks[int(x["venue"])]) * (1 + 1e-9):
            outside += 1
            first = first or Disagreement("fill", i, t, _fill_text(names, x), _fill_text(names, y))
    if left and first is None:
        y = left[0]
        first = Disagreement("fill", len(fa), int(y["local_ts"]), "no match", _fill_text(names, y))
    return first, worst, outside, worst_ns


def run_live_replay(config: AppConfig, days: list[dt.date]) -> EngineLog:
    """Replay ``days`` through the live path (engine + paper executor, no files); return its log."""
    return replay_engine(config, days).log


def replay_engine(config: AppConfig, days: list[dt.date]) -> Engine:
    """Replay ``days`` through the live path (engine + paper executor, no files); return the engine."""
    session = load_timeline(config, days)
    engine = Engine(config)
    n = len(config.venues)  # asset a is venue a % n of symbol a // n
    for a, data in enumerate(session.assets):
        if data.initial is not None:
            engine.seed_book(a % n, data.initial.rows, data.initial.synced, a // n)
    last = session.start_ns
    for ts, batches in replay(config, session, funding_of(config, session)):
        engine.on_batches(ts, batches)
        last = ts
    engine.finish(last)
    return engine


def run_parity(
    config: AppConfig,
    start: dt.date | None = None,
    end: dt.date | None = None,
    *,
    exact: bool = False,
    price_tolerance_bps: float | None = None,
) -> ParityReport:
    """Run both drivers over the recorded days in [start, end] and compare them.

    ``exact`` demands identical fills (times and prices); use it with :func:`zero_latency`.
    """
    result = run_backtest(config, start, end)
    return compare(config, result, run_live_replay(config, result.days), exact=exact,
                   price_tolerance_bps=price_tolerance_bps)  # fmt: skip


def compare(
    config: AppConfig,
    result: Any,
    live: EngineLog,
    *,
    exact: bool,
    price_tolerance_bps: float | None = None,
    views: bool = True,
) -> ParityReport:
    """Compare a backtest's logs with a live driver's: views (unless ``views`` is off), intents, fills;
    with several symbols, symbol by symbol (each symbol's rows with each other's)."""
    if price_tolerance_bps is None:
        price_tolerance_bps = config.execution.slippage_tolerance_bps
    tol = price_tolerance_bps
    end = result.end_ns  # the data's last local time, where hftbacktest stops without deciding
    live_calls, live_sent = live.calls.view(), live.sent.view()
    live_calls, live_sent = live_calls[live_calls["ts"] < end], live_sent[live_sent["ts"] < end]
    logs = (result.calls, live_calls, result.sent, live_sent, result.fills, live.fills.view())
    names = config.symbol_names
    quoting = rules_of(config)["quotes"] != 0
    reports = []
    for s, sym in enumerate(config.symbols):
        c, lc, st, ls, f, lf = (rows[rows["symbol"] == s] for rows in logs)
        ticks = tuple(i.tick_size for i in sym.instruments)
        part = bool(quoting[s]) and not exact
        symbol = names[s] if len(names) > 1 else ""
        reports.append(_compare_one(c, lc, st, ls, f, lf, tol, ticks, exact, views, symbol, part, config.venue_names))
    if len(reports) == 1:
        return reports[0]
    firsts = [r.first for r in reports if r.first is not None]
    fills = [r.first_fill for r in reports if r.first_fill is not None]
    return ParityReport(
        calls=(sum(r.calls[0] for r in reports), sum(r.calls[1] for r in reports)),
        intents=(sum(r.intents[0] for r in reports), sum(r.intents[1] for r in reports)),
        fills=(sum(r.fills[0] for r in reports), sum(r.fills[1] for r in reports)),
        price_tolerance_bps=tol,
        max_price_diff_bps=max(r.max_price_diff_bps for r in reports),
        fills_outside_tolerance=sum(r.fills_outside_tolerance for r in reports),
        first=min(firsts, key=lambda d: d.ts) if firsts else None,
        first_fill=min(fills, key=lambda d: d.ts) if fills else None,
        zero_latency=exact,
        symbols=tuple(zip(names, reports, strict=True)),
        paths_may_part=all(r.paths_may_part for r in reports),
        max_time_diff_ns=max(r.max_time_diff_ns for r in reports),
    )


def _compare_one(
    calls: Any, live_calls: Any, sent: Any, live_sent: Any, fills: Any, live_fills: Any, tol: float,
    ticks: Sequence[float], exact: bool, views: bool, symbol: str, paths_may_part: bool = False,
    venues: Sequence[str] = (),
) -> ParityReport:  # fmt: skip
    # One symbol's comparison (``symbol`` names it in the disagreements when there are several; ``ticks``
    # and ``venues``: each venue's tick and name, in the run's venue order).
    first = None
    if views:
        first = _first_difference("view", calls, live_calls, _calls_equal, _call_text, "no call")
    intent_text = functools.partial(_intent_text, venues)
    first = first or _first_difference("intent", sent, live_sent, _sent_equal, intent_text, "nothing sent")
    worst_ns = 0
    if paths_may_part:
        first_fill, worst, outside, worst_ns = _match_fills(fills, live_fills, tol, ticks, venues)
    else:
        first_fill, worst, outside = _compare_fills(fills, live_fills, tol, ticks, exact, venues)
    if symbol:
        first, first_fill = (
            None if d is None else dataclasses.replace(d, kind=f"{d.kind} of {symbol}") for d in (first, first_fill)
        )
    return ParityReport(
        calls=(len(calls), len(live_calls)),
        intents=(len(sent), len(live_sent)),
        fills=(len(fills), len(live_fills)),
        price_tolerance_bps=tol,
        max_price_diff_bps=worst,
        fills_outside_tolerance=outside,
        first=first,
        first_fill=first_fill,
        zero_latency=exact,
        paths_may_part=paths_may_part,
        max_time_diff_ns=worst_ns,
    )
