"""Constructed recordings of two or more venues in their real wire formats, for end-to-end tests and the
fault campaign (:mod:`arb.testing.campaign`).

A scenario is each venue's book at the start and a list of book changes at given times; this module
writes them as one file per venue in the recording format, each in its venue's own messages (written by
the venue's folder, ``arb/sim/<venue>/scenario.py``: its snapshot and diffs chained as the venue chains
them, checksums where it sends them). Every venue also gets a heartbeat (a diff that restates its best bid)
every ``heartbeat_ms`` so it never looks stale.

A venue may be a perpetual instead (its market ``"linear"``), each with its mark-price and funding stream
(:class:`Perp`), announcing one funding time and its rate and rolling over to the next at it.
"""

from __future__ import annotations

__all__ = [
    "EIGHT_HOURS_MS",
    "FEED_LATENCY_NS",
    "Book",
    "Change",
    "Perp",
    "ScenarioVenue",
    "default_start_ms",
    "write_scenario",
    "write_venues",
]

import datetime as dt
import gzip
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from arb.catalog import default_venues
from arb.sim.scenario import EIGHT_HOURS_MS, FEED_LATENCY_NS, Book, Change, Perp, scenario_writer
from connectors.common.record_files import format_line

ScenarioVenue = tuple[str, str, Book]
"""One venue of a scenario: ``(venue, market, its book at the start)``, the venue by its registry name."""


def default_start_ms(day: dt.date) -> int:
    """When a scenario's recording of ``day`` starts unless told (:func:`write_venues`'s ``start_ms``):
    00:00:01 UTC, in ms since the epoch."""
    return int(dt.datetime.combine(day, dt.time(0, 0, 1), tzinfo=dt.UTC).timestamp() * 1000)


def write_venues(
    root: Path,
    day: dt.date,
    venues: Sequence[ScenarioVenue] | Mapping[str, Book],
    changes: Iterable[Change],
    *,
    duration_ms: int = 10_000,
    heartbeat_ms: int = 500,
    symbol: str = "BTCUSDT",
    silent: tuple[tuple[str, int, int], ...] = (),
    perps: Mapping[str, Perp] | None = None,
    start_ms: int | None = None,
) -> dict[str, Path]:
    """Write ``recordings/<venue>_<market>/<sym>_<day>.gz`` of each of ``venues`` under ``root``; return
    each venue's file, in the order given.

    ``venues``: ``(venue, market, book)`` in the run's order, or ``{venue: book}`` (all spot); the books
    are moved by the changes (they end as the scenario leaves the venues, without levels of qty 0).
    ``changes``: each on one of the venues (at most one per venue and time: a later one replaces).
    ``silent``: (venue, from_ms, to_ms) windows without heartbeats (a venue that goes quiet).
    ``perps``: the mark price and funding of a linear venue, by venue name. ``start_ms``: when the
    recording starts (ms since the epoch; ``day`` at 00:00:01 UTC by default), e.g. a moment just ahead
    of the wall clock, so that a fake venue on the wall clock replays it at its own times
    (``FakeVenue.play(aligned=True)``): a trading fake's fills and the funding times its streams announce
    are then on one clock, as on a real venue.
    """
    listed = [(v, "spot", b) for v, b in venues.items()] if isinstance(venues, Mapping) else list(venues)
    names = [v for v, _, _ in listed]
    if len(set(names)) != len(names):
        raise ValueError(f"a scenario holds each venue once, got {names}")
    if start_ms is None:
        start_ms = default_start_ms(day)
    by_time: dict[tuple[int, str], Change] = {}
    for change in changes:
        if change.venue not in names:
            raise ValueError(f"a change on {change.venue!r}, which is not one of the scenario's venues {names}")
        by_time[(change.t_ms, change.venue)] = change
    for t in range(heartbeat_ms, duration_ms, heartbeat_ms):
        for venue in names:
            quiet = any(v == venue and lo <= t < hi for v, lo, hi in silent)
            if (t, venue) not in by_time and not quiet:
                by_time[(t, venue)] = Change(t, venue, kind="heartbeat")
    books = {v: b for v, _, b in listed}
    writers = {v: scenario_writer(v)(symbol, market, start_ms, book) for v, market, book in listed}
    for change in sorted(by_time.values(), key=lambda c: (c.t_ms, c.venue)):
        book = books[change.venue]
        if change.kind == "heartbeat":  # re-state the current best bid: a diff that changes nothing
            best = max(p for p, q in book.bids.items() if q > 0)
            change = Change(change.t_ms, change.venue, bids={best: book.bids[best]})
        book.bids.update(change.bids)
        book.asks.update(change.asks)
        writers[change.venue].step(start_ms + change.t_ms, change, book)
    for book in books.values():
        for side in (book.bids, book.asks):
            for price in [p for p, q in side.items() if q == 0]:
                del side[price]
    for venue, perp in (perps or {}).items():
        writers[venue].perpetual(perp, start_ms, duration_ms)
    paths: dict[str, Path] = {}
    for (venue, market, _), writer in zip(listed, writers.values(), strict=True):
        lines = sorted(writer.lines, key=lambda line: line[0])
        path = root / f"{venue}_{market}" / f"{symbol.lower()}_{day:%Y%m%d}.gz"  # the writer's folder, a twin's own
        path.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(path, "wb") as f:
            f.writelines(format_line(ns, payload) for ns, payload in lines)
        paths[venue] = path
    return paths


def write_scenario(
    root: Path,
    day: dt.date,
    first: Book,
    second: Book,
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
    """The default run's two venues (:func:`write_venues` of the first then the second, ``markets`` theirs):
    ``recordings/<venue>_<market>/<sym>_<day>.gz`` of each under ``root``, returned in that order."""
    names = default_venues()
    paths = write_venues(
        root,
        day,
        [(names[0], markets[0], first), (names[1], markets[1], second)],
        changes,
        duration_ms=duration_ms,
        heartbeat_ms=heartbeat_ms,
        symbol=symbol,
        silent=silent,
        perps=perps,
        start_ms=start_ms,
    )
    return paths[names[0]], paths[names[1]]
