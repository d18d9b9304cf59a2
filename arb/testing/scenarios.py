"""Constructed two-venue recordings in the venues' real wire formats, for end-to-end tests and the
fault campaign (:mod:`arb.testing.campaign`).

A scenario is a list of book changes at given times; this module writes them as a Binance spot
stream (depth diffs with U/u and an inline REST snapshot) and a Bybit v5 spot stream (orderbook.50
snapshot then deltas with u), one file per venue, in the recording format. Both venues also get a
heartbeat diff every ``heartbeat_ms`` so they never look stale.

A venue may be a perpetual instead (``markets``): Binance USD-M (``depth@0ms`` diffs chained by
``pu``, a REST snapshot with ``E``/``T``) and Bybit v5 linear, each with its mark-price and funding
stream (:class:`Perp`: Binance ``markPriceUpdate`` once a second, Bybit ``tickers`` snapshot then
deltas), announcing one funding time and its rate and rolling over to the next at it.
"""

from __future__ import annotations

__all__ = ["EIGHT_HOURS_MS", "FEED_LATENCY_NS", "Book", "Change", "Perp", "write_scenario"]

import datetime as dt
import gzip
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from arb.sim.funding import FundingSchedule
from connectors.common.record_files import format_line

EIGHT_HOURS_MS = 8 * 3_600_000

FEED_LATENCY_NS = 5_000_000


@dataclass
class Book:
    """One venue's book in a scenario: {price: qty} per side."""

    bids: dict[float, float]
    asks: dict[float, float]


@dataclass
class Change:
    """At ``t_ms`` after the start, set these levels (qty 0 removes) on one venue.

    ``kind``: ``"delta"`` (a diff with continuous ids), ``"gap"`` (the same, but its first update id
    skips ahead: continuity breaks) or ``"snapshot"`` (Bybit only: a full snapshot of the book after
    the change, as the venue sends on a resubscribe).
    """

    t_ms: int
    venue: str  # "binance" or "bybit"
    bids: dict[float, float] = field(default_factory=dict)
    asks: dict[float, float] = field(default_factory=dict)
    kind: str = "delta"


@dataclass(frozen=True)
class Perp:
    """A perpetual's mark price and funding in a scenario: the funding time ``funding_ms`` after the
    start settles at ``rate`` (announced from the start); then the next ones, every ``interval_ms``, are
    announced at ``next_rate``, and from each ``(ms after the start, interval ms)`` of ``changes`` on (a
    funding time) every that many ms. ``mark`` is the mark price (and the index), restated every
    ``every_ms``. ``reported_interval_ms``: the funding interval the venue's REST answer recorded at the
    start says (Binance ``fundingInfo``, Bybit ``instruments-info``; 0: none recorded)."""

    mark: float
    rate: float
    funding_ms: int
    next_rate: float = 0.0
    every_ms: int = 1000
    interval_ms: int = EIGHT_HOURS_MS
    changes: tuple[tuple[int, int], ...] = ()
    reported_interval_ms: int = 0

    def schedule(self, start_ms: int) -> FundingSchedule:
        """The funding times and rates of a scenario that starts at ``start_ms``."""
        rates = (f"{self.rate:.8f}", f"{self.next_rate:.8f}")
        changes = tuple((start_ms + t, every) for t, every in self.changes)
        return FundingSchedule(start_ms + self.funding_ms, rates, self.interval_ms, changes=changes)


def _fmt(x: float, decimals: int) -> str:
    return f"{x:.{decimals}f}"


def _levels(side: dict[float, float], px_dec: int, qty_dec: int, reverse: bool) -> list[list[str]]:
    return [[_fmt(p, px_dec), _fmt(q, qty_dec)] for p, q in sorted(side.items(), reverse=reverse)]


def write_scenario(
    root: Path,
    day: dt.date,
    binance: Book,
    bybit: Book,
    changes: Iterable[Change],
    *,
    duration_ms: int = 10_000,
    heartbeat_ms: int = 500,
    symbol: str = "BTCUSDT",
    silent: tuple[tuple[str, int, int], ...] = (),
    markets: tuple[str, str] = ("spot", "spot"),
    perps: dict[str, Perp] | None = None,
    start_ms: int | None = None,
) -> tuple[Path, Path]:
    """Write ``recordings/binance_<market>/<sym>_<day>.gz`` and ``bybit_<market>/...`` under ``root``.

    ``silent``: (venue, from_ms, to_ms) windows without heartbeats (a venue that goes quiet).
    ``markets``: Binance's and Bybit's market, ``"spot"`` or ``"linear"``; ``perps``: the mark price and
    funding of a linear venue, by venue name. ``start_ms``: when the recording starts (ms since the epoch;
    ``day`` at 00:00:01 UTC by default), e.g. a moment just ahead of the wall clock, so that a fake venue
    on the wall clock replays it at its own times (``FakeVenue.play(aligned=True)``): a trading fake's
    fills and the funding times its streams announce are then on one clock, as on a real venue.
    """
    b_linear = markets[0] == "linear"  # Bybit linear streams its book as spot does
    depth_stream = "depth@0ms" if b_linear else "depth@100ms"
    if start_ms is None:
        start_ms = int(dt.datetime.combine(day, dt.time(0, 0, 1), tzinfo=dt.UTC).timestamp() * 1000)
    by_time: dict[tuple[int, str], Change] = {}
    for change in changes:
        by_time[(change.t_ms, change.venue)] = change
    for t in range(heartbeat_ms, duration_ms, heartbeat_ms):
        for venue in ("binance", "bybit"):
            quiet = any(v == venue and lo <= t < hi for v, lo, hi in silent)
            if (t, venue) not in by_time and not quiet:
                by_time[(t, venue)] = Change(t, venue, kind="heartbeat")
    ordered = sorted(by_time.values(), key=lambda c: (c.t_ms, c.venue))

    enc = msgspec.json.encode
    lower = symbol.lower()
    b_lines: list[bytes] = []
    y_lines: list[bytes] = []
    # Binance: one diff buffered before the REST snapshot, then the snapshot, then diffs.
    uid = 1000
    first = _binance_diff(symbol, start_ms - 50, uid - 5, uid, {}, {}, linear=b_linear)
    b_lines.append(
        format_line(
            (start_ms - 50) * 1_000_000 + FEED_LATENCY_NS, enc({"stream": f"{lower}@{depth_stream}", "data": first})
        )
    )
    snap: dict[str, object] = {
        "lastUpdateId": uid,
        "bids": _levels(binance.bids, 2, 8, True),
        "asks": _levels(binance.asks, 2, 8, False),
    }
    if b_linear:
        snap.update({"E": start_ms, "T": start_ms})
    b_lines.append(format_line(start_ms * 1_000_000 + FEED_LATENCY_NS, enc(snap)))
    # Bybit: the snapshot the venue sends on subscription.
    u = 500
    seq = 9_000_000
    y_snap = _bybit_book(symbol, "snapshot", start_ms, bybit.bids, bybit.asks, u, seq)
    y_lines.append(format_line(start_ms * 1_000_000 + FEED_LATENCY_NS, enc(y_snap)))
    for change in ordered:
        t = start_ms + change.t_ms
        local = t * 1_000_000 + FEED_LATENCY_NS
        if change.kind == "heartbeat":  # re-state the current best bid: a diff that changes nothing
            book = binance if change.venue == "binance" else bybit
            best = max(p for p, q in book.bids.items() if q > 0)
            change = Change(change.t_ms, change.venue, bids={best: book.bids[best]})
        if change.venue == "binance":
            binance.bids.update(change.bids)
            binance.asks.update(change.asks)
            skip = 10 if change.kind == "gap" else 0
            diff = _binance_diff(symbol, t, uid + 1 + skip, uid + 3 + skip, change.bids, change.asks, linear=b_linear)
            uid += 3 + skip
            b_lines.append(format_line(local, enc({"stream": f"{lower}@{depth_stream}", "data": diff})))
        else:
            bybit.bids.update(change.bids)
            bybit.asks.update(change.asks)
            u += 10 if change.kind == "gap" else 1
            seq += 7
            if change.kind == "snapshot":
                live_bids = {p: q for p, q in bybit.bids.items() if q > 0}
                live_asks = {p: q for p, q in bybit.asks.items() if q > 0}
                bids, asks, kind = live_bids, live_asks, "snapshot"
            else:
                bids, asks, kind = change.bids, change.asks, "delta"
            y_lines.append(format_line(local, enc(_bybit_book(symbol, kind, t, bids, asks, u, seq))))
    for book in (binance, bybit):
        for side in (book.bids, book.asks):
            for price in [p for p, q in side.items() if q == 0]:
                del side[price]
    for venue, perp in (perps or {}).items():
        lines = b_lines if venue == "binance" else y_lines
        marks = _binance_marks if venue == "binance" else _bybit_tickers
        lines += _reported_interval(venue, perp, symbol, start_ms) + marks(perp, symbol, start_ms, duration_ms)
    b_lines.sort(key=lambda line: int(line[:19]))
    y_lines.sort(key=lambda line: int(line[:19]))
    paths = []
    for folder, lines in ((f"binance_{markets[0]}", b_lines), (f"bybit_{markets[1]}", y_lines)):
        path = root / folder / f"{lower}_{day:%Y%m%d}.gz"
        path.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(path, "wb") as f:
            f.writelines(lines)
        paths.append(path)
    return paths[0], paths[1]


def _binance_diff(
    symbol: str, t: int, first: int, last: int, bids: dict[float, float], asks: dict[float, float], *, linear: bool
) -> dict[str, object]:
    # A depthUpdate of update ids first..last; USD-M's also carries T and pu (the previous diff's last id)
    levels = {"b": _levels(bids, 2, 8, True), "a": _levels(asks, 2, 8, False)}
    diff: dict[str, object] = {"e": "depthUpdate", "E": t, "s": symbol, "U": first, "u": last, **levels}
    if linear:
        diff.update({"T": t, "pu": first - 1})
    return diff


def _bybit_book(
    symbol: str, kind: str, t: int, bids: dict[float, float], asks: dict[float, float], u: int, seq: int
) -> dict[str, object]:
    # A v5 orderbook.50 message (a snapshot or a delta) sent at t
    data = {"s": symbol, "b": _levels(bids, 1, 6, True), "a": _levels(asks, 1, 6, False), "u": u, "seq": seq}
    return {"topic": f"orderbook.50.{symbol}", "type": kind, "ts": t, "data": data, "cts": t - 1}


def _next_funding(perp: Perp, start_ms: int, t_ms: int) -> tuple[int, float]:
    # (the next funding time after t_ms, the rate announced for it) of a scenario's perpetual
    schedule = perp.schedule(start_ms)
    funding_ms = schedule.next_funding_ms(t_ms)
    return funding_ms, float(schedule.rate(funding_ms))


def _reported_interval(venue: str, perp: Perp, symbol: str, start_ms: int) -> list[bytes]:
    # The venue's REST answer about the symbol's funding interval (the fields arb reads), as the feed
    # records it before the stream
    if not perp.reported_interval_ms:
        return []
    hours, minutes = perp.reported_interval_ms // 3_600_000, perp.reported_interval_ms // 60_000
    if venue == "binance":  # fundingInfo lists the symbols that do not fund every 8 hours
        body: object = [{"symbol": symbol, "fundingIntervalHours": hours}] if hours != 8 else []
    else:
        entry = {"symbol": symbol, "contractType": "LinearPerpetual", "fundingInterval": minutes}
        body = {"retCode": 0, "retMsg": "OK", "result": {"category": "linear", "list": [entry]}}
    return [format_line((start_ms - 200) * 1_000_000 + FEED_LATENCY_NS, msgspec.json.encode(body))]


def _binance_marks(perp: Perp, symbol: str, start_ms: int, duration_ms: int) -> list[bytes]:
    # USD-M <symbol>@markPrice@1s: a markPriceUpdate every perp.every_ms
    out = []
    for t in range(start_ms, start_ms + duration_ms, perp.every_ms):
        funding_ms, rate = _next_funding(perp, start_ms, t)
        mark = f"{perp.mark:.2f}"
        data = {"e": "markPriceUpdate", "E": t, "s": symbol, "p": mark, "i": mark, "P": mark, "r": f"{rate:.8f}",
                "T": funding_ms}  # fmt: skip
        line = msgspec.json.encode({"stream": f"{symbol.lower()}@markPrice@1s", "data": data})
        out.append(format_line(t * 1_000_000 + FEED_LATENCY_NS + 1, line))
    return out


def _bybit_tickers(perp: Perp, symbol: str, start_ms: int, duration_ms: int) -> list[bytes]:
    # v5 linear tickers.<SYMBOL>: a snapshot, then a delta with the mark price every perp.every_ms (and
    # the next funding time and its rate once the funding time passed)
    out = []
    cs = 7_000_000
    announced = None
    for t in range(start_ms, start_ms + duration_ms, perp.every_ms):
        funding_ms, rate = _next_funding(perp, start_ms, t)
        mark = f"{perp.mark:.2f}"
        data: dict[str, str] = {"symbol": symbol, "markPrice": mark}
        if announced is None:
            kind = "snapshot"
            data.update({"indexPrice": mark, "lastPrice": mark, "fundingRate": f"{rate:.8f}",
                         "nextFundingTime": str(funding_ms)})  # fmt: skip
        else:
            kind = "delta"
            if announced != funding_ms:
                data.update({"fundingRate": f"{rate:.8f}", "nextFundingTime": str(funding_ms)})
        announced = funding_ms
        cs += 1
        line = msgspec.json.encode({"topic": f"tickers.{symbol}", "type": kind, "data": data, "cs": cs, "ts": t})
        out.append(format_line(t * 1_000_000 + FEED_LATENCY_NS + 1, line))
    return out
