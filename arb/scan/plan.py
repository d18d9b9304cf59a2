"""Which shards a scan runs: the symbols the venues share, the days each has, and what each venue costs.

The universe is every symbol whose files lie in the recordings folder (arb's recordings, and the Tardis
days and archives ``arb fetch`` put beside them, found by the symbols the recordings and ``--symbols``
name), for each venue of the scan and each market asked for. A symbol that only one venue has is named and
skipped; a day that a venue lacks is listed and the other venues of that day are scanned without it; a
(symbol, day) with fewer than two venues is no shard. ``--top N`` keeps the N symbols with the most book
data (bytes of their book files over the range): the most traded, as far as the files can tell.
"""

from __future__ import annotations

__all__ = ["Plan", "VenueCosts", "plan_scan"]

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from arb.recording.sources import TARDIS_DIR, DayFiles, find_day_files
from arb.recording.tardis import BOOK_TYPES, exchanges
from arb.scan.shard import MAX_DAYS_BEFORE, Shard, VenueDay
from connectors.registry import venue as venue_connector


@dataclass(frozen=True, slots=True)
class VenueCosts:
    """What trading on a venue costs, as the scan counts it."""

    name: str
    markets: tuple[str, ...]
    fee: float
    """Taker fee, a fraction."""
    latency_ns: int
    """An order's round trip: ``[latency] order_entry_ms + order_response_ms``, ns."""
    feed_latency_ns: int = 0


@dataclass(slots=True)
class Plan:
    """The shards to run, and what was left out and why (one line each)."""

    shards: list[Shard] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    input_bytes: int = 0


def _recorded_symbols(recordings: Path, venue: str, market: str) -> set[str]:
    # The symbols of the venue's market that arb's recordings or Tardis's book files hold.
    found = set()
    folder = recordings / f"{venue}_{market}"
    if folder.is_dir():
        for path in folder.glob("*_????????.gz"):
            symbol = path.name.rsplit("_", 1)[0]
            if symbol.isalnum():
                found.add(symbol.upper())
    exchange = next((e for e, pair in exchanges().items() if pair == (venue, market)), None)
    if exchange is not None and (recordings / TARDIS_DIR).is_dir():
        names = venue_connector(venue).tardis
        for book in BOOK_TYPES:  # the full book's files, or the lighter snapshots'
            for path in (recordings / TARDIS_DIR).glob(f"{exchange}_{book}_????-??-??_*.csv.gz"):
                try:
                    found.add(names.arb_symbol(path.name[: -len(".csv.gz")].rsplit("_", 1)[1], market))
                except ValueError:  # an instrument arb cannot name (an option, a future): not a spread it scans
                    continue
    return found


def plan_scan(
    recordings: Path,
    venues: Sequence[VenueCosts],
    *,
    threshold_bps: float,
    symbols: Sequence[str] = (),
    top: int | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    depth_levels: int = 50,
    latency_ns: int | None = None,
    allow_damaged: bool = False,
    size_base: float = 0.0,
) -> Plan:
    """The shards of a scan (see the module docstring), by day then symbol."""
    plan = Plan()
    markets = sorted({m for v in venues for m in v.markets})
    candidates: dict[str, set[str]] = {}
    for market in markets:
        named = {s.upper() for s in symbols}
        if not named:
            for v in venues:
                if market in v.markets:
                    named |= _recorded_symbols(recordings, v.name, market)
        candidates[market] = named
    chosen: list[tuple[str, str, dict[str, dict[dt.date, DayFiles]]]] = []
    for market in markets:
        for symbol in sorted(candidates[market]):
            days: dict[str, dict[dt.date, DayFiles]] = {}
            for v in venues:
                if market not in v.markets:
                    continue
                found = {d: f for d, f in find_day_files(recordings, v.name, market, symbol).items()
                         if (start is None or d >= start) and (end is None or d <= end)}  # fmt: skip
                if found:
                    days[v.name] = found
            if len(days) < 2:
                where = ", ".join(days) or "no venue"
                plan.skipped.append(f"{symbol} {market}: recorded on {where} only"
                                    f"{_range(start, end)}: a spread needs two venues")  # fmt: skip
                continue
            chosen.append((symbol, market, days))
    if top is not None:
        chosen.sort(key=lambda c: -sum(_size(f) for d in c[2].values() for f in d.values()))
        for symbol, market, _ in chosen[top:]:
            plan.skipped.append(f"{symbol} {market}: not among the {top} with the most book data (--top {top})")
        chosen = chosen[:top]
    by_name = {v.name: v for v in venues}
    for symbol, market, days in chosen:
        every_day = sorted(set().union(*(d.keys() for d in days.values())))
        for day in every_day:
            present = [name for name in days if day in days[name]]
            for name in days:
                if day not in days[name]:
                    plan.missing.append(f"{name} {market} {symbol} {day}: not recorded (scanned without it)")
            if len(present) < 2:
                continue
            vds = tuple(_venue_day(by_name[name], days[name], day) for name in present)
            plan.input_bytes += sum(_size(days[name][day]) for name in present)
            plan.shards.append(
                Shard(
                    day,
                    symbol,
                    market,
                    vds,
                    threshold_bps,
                    depth_levels,
                    latency_ns,
                    size_base=size_base,
                    allow_damaged=allow_damaged,
                )
            )
    plan.shards.sort(key=lambda s: (s.day, s.symbol, s.market))
    return plan


def _venue_day(costs: VenueCosts, days: dict[dt.date, DayFiles], day: dt.date) -> VenueDay:
    files = days[day]
    before: list[tuple[str, ...]] = []
    if files.source == "recording":  # a recorded session may have begun on an earlier day
        for k in range(MAX_DAYS_BEFORE, 0, -1):
            earlier = days.get(day - dt.timedelta(days=k))
            if earlier is not None and earlier.source == "recording":
                before.append(tuple(str(p) for p in earlier.inputs))
            else:
                before.clear()  # only an unbroken run of days ends in this one
    feed = costs.feed_latency_ns if files.source not in ("recording", TARDIS_DIR) else None
    return VenueDay(costs.name, costs.fee, costs.latency_ns, tuple(str(p) for p in files.inputs), files.source,
                    tuple(before), feed)  # fmt: skip


def _size(files: DayFiles) -> int:
    try:
        return sum(p.stat().st_size for p in files.inputs)
    except OSError:
        return 0


def _range(start: dt.date | None, end: dt.date | None) -> str:
    if start is None and end is None:
        return ""
    return f" from {start or 'the first day'} to {end or 'the last'}"
