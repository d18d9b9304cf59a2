"""Constructed two-venue recordings in the venues' real wire formats, for end-to-end tests and the
fault campaign (:mod:`arb.testing.campaign`).

A scenario is a list of book changes at given times; this module writes them as a Binance spot
stream (depth diffs with U/u and an inline REST snapshot) and a Bybit v5 spot stream (orderbook.50
snapshot then deltas with u), one file per venue, in the recording format. Both venues also get a
heartbeat diff every ``heartbeat_ms`` so they never look stale.
"""

from __future__ import annotations

import datetime as dt
import gzip
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from arb.recording.format import format_line

__all__ = ["FEED_LATENCY_NS", "Book", "Change", "write_scenario"]

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
) -> tuple[Path, Path]:
    """Write ``recordings/binance_spot/<sym>_<day>.gz`` and ``bybit_spot/...`` under ``root``.

    ``silent``: (venue, from_ms, to_ms) windows without heartbeats (a venue that goes quiet).
    """
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
    first = {"e": "depthUpdate", "E": start_ms - 50, "s": symbol, "U": uid - 5, "u": uid, "b": [], "a": []}
    b_lines.append(
        format_line(
            (start_ms - 50) * 1_000_000 + FEED_LATENCY_NS, enc({"stream": f"{lower}@depth@100ms", "data": first})
        )
    )
    snap = {
        "lastUpdateId": uid,
        "bids": _levels(binance.bids, 2, 8, True),
        "asks": _levels(binance.asks, 2, 8, False),
    }
    b_lines.append(format_line(start_ms * 1_000_000 + FEED_LATENCY_NS, enc(snap)))
    # Bybit: the snapshot the venue sends on subscription.
    u = 500
    seq = 9_000_000
    y_snap = {
        "topic": f"orderbook.50.{symbol}",
        "type": "snapshot",
        "ts": start_ms,
        "data": {
            "s": symbol,
            "b": _levels(bybit.bids, 1, 6, True),
            "a": _levels(bybit.asks, 1, 6, False),
            "u": u,
            "seq": seq,
        },
        "cts": start_ms - 1,
    }
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
            diff = {
                "e": "depthUpdate",
                "E": t,
                "s": symbol,
                "U": uid + 1 + skip,
                "u": uid + 3 + skip,
                "b": _levels(change.bids, 2, 8, True),
                "a": _levels(change.asks, 2, 8, False),
            }
            uid += 3 + skip
            b_lines.append(format_line(local, enc({"stream": f"{lower}@depth@100ms", "data": diff})))
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
            delta = {
                "topic": f"orderbook.50.{symbol}",
                "type": kind,
                "ts": t,
                "data": {
                    "s": symbol,
                    "b": _levels(bids, 1, 6, True),
                    "a": _levels(asks, 1, 6, False),
                    "u": u,
                    "seq": seq,
                },
                "cts": t - 1,
            }
            y_lines.append(format_line(local, enc(delta)))
    for book in (binance, bybit):
        for side in (book.bids, book.asks):
            for price in [p for p, q in side.items() if q == 0]:
                del side[price]
    paths = []
    for folder, lines in (("binance_spot", b_lines), ("bybit_spot", y_lines)):
        path = root / folder / f"{lower}_{day:%Y%m%d}.gz"
        path.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(path, "wb") as f:
            f.writelines(lines)
        paths.append(path)
    return paths[0], paths[1]
