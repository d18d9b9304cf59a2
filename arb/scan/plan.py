"""Which shards a scan runs: the symbols the venues share, the days each has, and what each venue costs.

The universe is every symbol whose files lie in the recordings folder (arb's recordings, and the Tardis
days and archives ``arb fetch`` put beside them, found by the symbols the recordings and ``--symbols``
name), for each venue of the scan and each market asked for. A symbol that only one venue has is named and
skipped; a day that a venue lacks is listed and the other venues of that day are scanned without it; a
(symbol, day) with fewer than two venues is no shard. When each venue is read in its own file's market and
those markets differ (spot venues and a perpetual), a symbol's venues pair up across the markets (spot-perp):
the shard is labelled ``spot+linear`` and each pair's row says its two markets (``spot/linear``).
``--top N`` keeps the N symbols with the most book data (bytes of their book files over the range): the most
traded, as far as the files can tell.
"""

from __future__ import annotations

__all__ = ["Plan", "VenueCosts", "plan_scan"]

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from arb.recording.sources import TARDIS_DIR, DayFiles, find_day_files
from arb.recording.tardis import BOOK_TYPES, exchanges
from arb.scan.shard import MAX_DAYS_BEFORE, Shard, VenueDay
from connectors.registry import venue as venue_connector

_MARKET_ORDER = ("spot", "linear")
"""How a shard of venues on several markets is labelled: ``spot+linear``."""


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
    chosen: list[tuple[str, str, dict[str, dict[dt.date, DayFiles]]]] = []
    for label, group in _groups(venues):
        named = {s.upper() for s in symbols}
        if not named:
            for name, market in group.items():
                named |= _recorded_symbols(recordings, name, market)
        for symbol in sorted(named):
            days: dict[str, dict[dt.date, DayFiles]] = {}
            for name, market in group.items():
                found = {d: f for d, f in find_day_files(recordings, name, market, symbol).items()
                         if (start is None or d >= start) and (end is None or d <= end)}  # fmt: skip
                if found:
                    days[name] = found
            if len(days) < 2:
                where = ", ".join(days) or "no venue"
                plan.skipped.append(f"{symbol} {label}: recorded on {where} only"
                                    f"{_range(start, end)}: a spread needs two venues")  # fmt: skip
                continue
            chosen.append((symbol, label, days))
    if top is not None:
        chosen.sort(key=lambda c: -sum(_size(f) for d in c[2].values() for f in d.values()))
        for symbol, market, _ in chosen[top:]:
            plan.skipped.append(f"{symbol} {market}: not among the {top} with the most book data (--top {top})")
        chosen = chosen[:top]
    by_name = {v.name: v for v in venues}
    markets_of = dict(_groups(venues))
    for symbol, label, days in chosen:
        group = markets_of[label]
        every_day = sorted(set().union(*(d.keys() for d in days.values())))
        for day in every_day:
            present = [name for name in days if day in days[name]]
            for name in days:
                if day not in days[name]:
                    plan.missing.append(f"{name} {group[name]} {symbol} {day}: not recorded (scanned without it)")
            if len(present) < 2:
                continue
            market = _label(group[name] for name in present)
            vds = tuple(_venue_day(by_name[name], days[name], day, group[name]) for name in present)
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


def _groups(venues: Sequence[VenueCosts]) -> list[tuple[str, dict[str, str]]]:
    # The venues scanned together, each with the market it is read in, by the group's label. Venues on one
    # market each (each venue file's own, no --market) whose markets differ form one group, so a spot venue
    # and a perpetual pair up (spot-perp); otherwise one group per market, of the venues in it.
    own = {v.name: v.markets[0] for v in venues if len(v.markets) == 1}
    if len(own) == len(venues) and len(set(own.values())) > 1:
        return [(_label(own.values()), own)]
    markets = sorted({m for v in venues for m in v.markets})
    return [(m, {v.name: m for v in venues if m in v.markets}) for m in markets]


def _label(markets: Iterable[str]) -> str:
    # "spot", "linear", or "spot+linear" for a shard whose venues are on both.
    present = set(markets)
    return "+".join([m for m in _MARKET_ORDER if m in present] + sorted(present - set(_MARKET_ORDER)))


def _venue_day(costs: VenueCosts, days: dict[dt.date, DayFiles], day: dt.date, market: str) -> VenueDay:
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
                    tuple(before), feed, market)  # fmt: skip


def _size(files: DayFiles) -> int:
    try:
        return sum(p.stat().st_size for p in files.inputs)
    except OSError:
        return 0


def _range(start: dt.date | None, end: dt.date | None) -> str:
    if start is None and end is None:
        return ""
    return f" from {start or 'the first day'} to {end or 'the last'}"
