"""One shard of a scan: one symbol's day on every venue that has it, measured pair by pair.

A shard reads each venue's day once for its top of book (:func:`~arb.scan.tops.read_tops`), works out every
ordered pair's net edge and episodes (:mod:`arb.scan.measure`), then looks at the books again only at the
episodes' starts for the depth they offered (:class:`~arb.scan.tops.DepthAt`): from the rows it kept when the
day was small, by reading the files again when it was not. What it holds is a venue's top-of-book changes
and, for a moment, one chunk of rows: memory is bounded by the shard, whatever the range of the scan.

A recording day whose book never syncs on its own (a session that began the day before: a venue that sends
its snapshot only at connect) is read again with the days before it, up to :data:`MAX_DAYS_BEFORE`, and its top
taken from midnight on.
"""

from __future__ import annotations

__all__ = [
    "ANCHOR_FLOORS",
    "ANCHOR_STEP_NS",
    "MAX_DAYS_BEFORE",
    "PairResult",
    "Shard",
    "ShardResult",
    "VenueDay",
    "anchor_samples",
    "run_shard",
]

import datetime as dt
import hashlib
import itertools
import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from arb._jit import Compiled
from arb.errors import RecordingError
from arb.events import EVENT_KIND_MASK, FUNDING_SETTLED_EVENT, NS_PER_MS, NS_PER_S, EventArray, event_dtype
from arb.scan import measure
from arb.scan import tops as _tops
from arb.scan.tops import DepthAt, Tops, read_tops, scan_rows

log = logging.getLogger(__name__)

COMPILED: Compiled = (
    "the scan's books and measures",
    (_tops._read_tops, _tops._depth_at, measure._cross, measure._hy_curve),
    20.0,
)
"""What a shard compiles of its own (the venues' readers besides), for :func:`arb._jit.say_compiling`: about
20 s of CPU here, once after an install."""

MAX_DAYS_BEFORE = 2
"""Earlier recording days read at most to settle a day's book that never syncs on its own."""
_KEEP_ROWS = 2_000_000
"""A venue's day of at most this many rows (128 MB) is kept for the depth look; a larger one is read again."""
ANCHOR_STEP_NS = 5 * NS_PER_S
"""The published measure samples the venues' quotes every five seconds."""
ANCHOR_FLOORS = (0.05, 0.5, 5.0)
"""Its quantity floors, base units: 0.5 in the paper's main results, 0.05 and 5 in its robustness checks."""
_SERIES_POINTS = 2_000
"""About how many points the chart's series of a pair's day has (each the most the net edge reached in it)."""


@dataclass(frozen=True, slots=True)
class VenueDay:
    """One venue's day of the shard's symbol: where to read it and what trading there costs."""

    venue: str
    fee: float
    """The taker fee, a fraction (0.001 is 10 bps)."""
    latency_ns: int
    """The round trip of an order to this venue from where the bot sits, ns."""
    inputs: tuple[str, ...]
    source: str = "recording"
    before: tuple[tuple[str, ...], ...] = ()
    """Earlier days' inputs (oldest first), read only if this day's book never syncs on its own."""
    feed_latency_ns: int | None = None
    market: str = ""
    """The market this venue is read in (``""``: the shard's)."""


@dataclass(frozen=True, slots=True)
class Shard:
    """What one shard scans and with which settings."""

    day: dt.date
    symbol: str
    market: str
    venues: tuple[VenueDay, ...]
    threshold_bps: float
    depth_levels: int = 50
    latency_ns: int | None = None
    """One round trip for every pair instead of the venues' own (``--latency-ms``), ns."""
    max_lag_ns: int = 2 * NS_PER_S
    size_base: float = 0.0
    """One order's size, base units: each episode's edge is also counted for a single pair of this size (0: not)."""
    allow_damaged: bool = False
    """Read what a damaged file still holds (the lost part counted as unknown) instead of leaving the venue out."""

    @property
    def name(self) -> str:
        """``<day>/<SYMBOL>_<market>``: where its results are kept."""
        return f"{self.day:%Y-%m-%d}/{self.symbol}_{self.market}"

    def key(self) -> str:
        """A digest of the settings and of every input's name, size and time: equal keys, equal results."""
        facts: dict[str, Any] = asdict(self)
        facts["day"] = self.day.isoformat()
        files = [p for v in self.venues for p in itertools.chain(v.inputs, *v.before)]
        facts["files"] = [[p, *_stat(p)] for p in files]
        facts["version"] = _VERSION
        return hashlib.sha256(json.dumps(facts, sort_keys=True, default=str).encode()).hexdigest()[:24]

    def pair_latency_ns(self, buy: VenueDay, sell: VenueDay) -> int:
        """The round trip that decides what a pair's episodes a bot could take: the override, else the slower
        venue's."""
        return self.latency_ns if self.latency_ns is not None else max(buy.latency_ns, sell.latency_ns)


_VERSION = 3
"""Bumped whenever a shard's figures change meaning: older results are then scanned again."""


def _stat(path: str) -> tuple[int, int]:
    try:
        st = Path(path).stat()
    except OSError:
        return (-1, -1)
    return (st.st_size, st.st_mtime_ns)


@dataclass(slots=True)
class PairResult:
    """One ordered pair's day: the row's figures, its episodes, the chart's series."""

    row: dict[str, Any]
    episodes: dict[str, np.ndarray[Any, Any]]
    series: dict[str, np.ndarray[Any, Any]]


@dataclass(slots=True)
class ShardResult:
    """What a shard found: a row per ordered pair, and what it could not read (one line per venue)."""

    shard: str
    key: str
    pairs: list[PairResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    bytes_read: int = 0
    anchor: dict[str, np.ndarray[Any, Any]] = field(default_factory=dict)
    """The published measure's samples (:func:`anchor_samples`), every floor of :data:`ANCHOR_FLOORS`."""


@dataclass(slots=True)
class _Venue:
    day: VenueDay
    tops: Tops
    files: tuple[str, ...]
    rows: list[EventArray] | None
    funding_ts: np.ndarray[Any, Any]
    funding_rate: np.ndarray[Any, Any]
    synced: bool


def run_shard(shard: Shard) -> ShardResult:
    """Scan one shard (see the module docstring)."""
    result = ShardResult(shard.name, shard.key())
    start = int(dt.datetime.combine(shard.day, dt.time(), dt.UTC).timestamp()) * NS_PER_S
    end = start + 86_400 * NS_PER_S
    venues: list[_Venue] = []
    for vd in shard.venues:
        try:
            found = _read_venue(shard, vd, start, end, result)
        except RecordingError as exc:
            result.problems.append(f"{vd.venue} {shard.market} {shard.symbol} {shard.day}: {exc}")
            continue
        if not found.synced:
            result.problems.append(
                f"{vd.venue} {shard.market} {shard.symbol} {shard.day}: the book never synced (no snapshot in "
                f"{', '.join(found.files)} nor in the {MAX_DAYS_BEFORE} days before): nothing of it was scanned"
            )
            continue
        venues.append(found)
    if len(venues) < 2:
        if shard.venues:
            result.notes.append(f"{shard.symbol} {shard.market} {shard.day}: fewer than two venues readable")
        return result
    result.anchor = anchor_samples(venues, start, end)
    lines = {}
    for buy, sell in itertools.permutations(venues, 2):
        line = measure.pair_line(buy.tops, sell.tops, buy.day.fee, sell.day.fee)
        lines[buy.day.venue, sell.day.venue] = (line, measure.episodes(line, shard.threshold_bps))
    depth = _depth_at_starts(shard, venues, lines, result)
    leads = {(x.day.venue, y.day.venue): measure.lead_lag(x.tops, y.tops, shard.max_lag_ns)
             for x, y in itertools.combinations(venues, 2)}  # fmt: skip
    for buy, sell in itertools.permutations(venues, 2):
        line, eps = lines[buy.day.venue, sell.day.venue]
        lead = leads.get((buy.day.venue, sell.day.venue))
        first = buy
        if lead is None:
            lead, first = leads[sell.day.venue, buy.day.venue], sell
        other = sell if first is buy else buy
        pair = _pair(shard, buy, sell, line, eps, depth, start)
        pair.row["lead_venue"] = "" if lead.lag_ns == 0 or not np.isfinite(lead.corr) else (
            first.day.venue if lead.lag_ns > 0 else other.day.venue)  # fmt: skip
        pair.row["lead_ms"] = abs(lead.lag_ns) / NS_PER_MS if np.isfinite(lead.corr) else float("nan")
        pair.row["lead_corr"] = lead.corr
        result.pairs.append(pair)
    return result


def _read_venue(shard: Shard, vd: VenueDay, start: int, end: int, result: ShardResult) -> _Venue:
    # The venue's top over the day, its funding settlements and (when small) its rows; earlier days are
    # read too when the day's book never syncs alone.
    attempts = [vd.inputs]
    for k in range(1, min(MAX_DAYS_BEFORE, len(vd.before)) + 1):
        attempts.append(tuple(itertools.chain(*vd.before[-k:], vd.inputs)))
    found: _Venue | None = None
    for files in attempts:
        found = _read_files(shard, vd, files, start, end, result)
        if found.synced:
            return found
    assert found is not None
    return found


class _DayRows:
    # What a shard keeps of one read of a venue's day: its funding settlements, and all its rows while they are
    # few (_KEEP_ROWS) for the depth look. A damaged file is read twice: each read keeps its own.

    def __init__(self) -> None:
        self.rows: list[EventArray] | None = []
        self.settled: list[EventArray] = []
        self._held = 0

    def take(self, chunk: EventArray) -> None:  # valid during the call only: what is kept is copied
        settled = chunk[(chunk["ev"] & EVENT_KIND_MASK) == FUNDING_SETTLED_EVENT]
        if len(settled):
            self.settled.append(settled)
        if self.rows is not None:
            self._held += len(chunk)
            if self._held <= _KEEP_ROWS:
                self.rows.append(chunk.copy())
            else:
                self.rows = None


def _read_files(shard: Shard, vd: VenueDay, files: tuple[str, ...], start: int, end: int,
                result: ShardResult) -> _Venue:  # fmt: skip
    reads: list[_DayRows] = []

    def rows() -> Callable[[EventArray], None]:
        reads.append(_DayRows())
        return reads[-1].take

    fmt = None if vd.source == "recording" else vd.source
    tops, findings = read_tops([Path(p) for p in files], rows, venue=vd.venue, market=vd.market or shard.market,
                               symbol=shard.symbol, fmt=fmt, feed_latency_ns=vd.feed_latency_ns,
                               allow_damaged=shard.allow_damaged)  # fmt: skip
    day = reads[-1]
    result.bytes_read += sum(max(_stat(p)[0], 0) for p in files)
    for warning in findings.warnings():
        result.notes.append(f"{vd.venue} {shard.symbol} {shard.day}: {warning}")
    tops = Tops(tops.records[tops.records["local_ts"] < end], min(tops.end_ns, end)).since(start)
    settled = np.concatenate(day.settled) if day.settled else np.zeros(0, event_dtype)
    in_day = (settled["ival"] >= start) & (settled["ival"] < end)
    synced = bool(np.isfinite(tops.records["bid_px"]).any())
    return _Venue(vd, tops, files, day.rows, settled["ival"][in_day], settled["px"][in_day], synced)


def _depth_at_starts(shard: Shard, venues: list[_Venue], lines: dict[tuple[str, str], Any],
                     result: ShardResult) -> dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]]:  # fmt: skip
    # Each venue's best levels at every episode start it takes part in: (times, levels).
    out = {}
    for v in venues:
        name = v.day.venue
        times = [eps.start_ns for (b, s), (_, eps) in lines.items() if name in (b, s) and len(eps)]
        if not times:
            continue
        at = np.unique(np.concatenate(times))
        if v.rows is not None:
            reader = DepthAt(at, shard.depth_levels)
            for rows in v.rows:
                reader.add(rows)
        else:
            reader = _depth_read(shard, v, at)
            result.bytes_read += sum(max(_stat(p)[0], 0) for p in v.files)
        out[name] = (at, reader.finish())
        v.rows = None  # done with them
    return out


def _depth_read(shard: Shard, v: _Venue, at: np.ndarray[Any, Any]) -> DepthAt:
    # The venue's day read again for its depth at the times ``at`` (a fresh reader for each read of it).
    readers: list[DepthAt] = []

    def rows() -> Callable[[EventArray], None]:
        readers.append(DepthAt(at, shard.depth_levels))
        return readers[-1].add

    scan_rows([Path(p) for p in v.files], rows, venue=v.day.venue, market=v.day.market or shard.market,
              symbol=shard.symbol, fmt=None if v.day.source == "recording" else v.day.source,
              feed_latency_ns=v.day.feed_latency_ns, allow_damaged=shard.allow_damaged)  # fmt: skip
    return readers[-1]


def _pair(shard: Shard, buy: _Venue, sell: _Venue, line: measure.PairLine, eps: measure.Episodes,
          depth: dict[str, Any], day_start: int) -> PairResult:  # fmt: skip
    fb, fs = buy.day.fee, sell.day.fee
    n = len(eps)
    base = np.zeros(n)
    quote = np.zeros(n)
    edge = np.zeros(n)
    edge_at_size = np.zeros(n)
    peak = np.zeros(n)
    if n:
        bt, blv = depth[buy.day.venue]
        st, slv = depth[sell.day.venue]
        bi = np.searchsorted(bt, eps.start_ns)
        si = np.searchsorted(st, eps.start_ns)
        for k in range(n):
            base[k], quote[k], edge[k] = measure.cross(blv[bi[k]], slv[si[k]], fb, fs, shard.threshold_bps)
            if shard.size_base > 0:
                edge_at_size[k] = measure.cross(blv[bi[k]], slv[si[k]], fb, fs, shard.threshold_bps, shard.size_base)[2]
        for k in range(n):
            stop = int(np.searchsorted(line.t, eps.start_ns[k] + eps.duration_ns[k], side="left"))
            peak[k] = float(np.nanmax(line.net[eps.first[k] : max(stop, eps.first[k] + 1)]))
    known = np.isfinite(line.net)
    known_ns = int(line.dur[known].sum())
    above_ns = int(line.dur[known & (line.net > shard.threshold_bps)].sum())
    latency = shard.pair_latency_ns(buy.day, sell.day)
    p50, p90, p99 = measure.weighted_quantiles(line.net, line.dur, (0.5, 0.9, 0.99))
    dur_ms = eps.duration_ns / NS_PER_MS
    long_enough = eps.duration_ns > latency
    row: dict[str, Any] = {
        "day": shard.day.isoformat(),
        "symbol": shard.symbol,
        "market": _pair_market(shard, buy, sell),
        "buy_venue": buy.day.venue,
        "sell_venue": sell.day.venue,
        "seconds": known_ns / NS_PER_S,
        "share_above": above_ns / known_ns if known_ns else float("nan"),
        "episodes": n,
        "episode_ms_p50": float(np.percentile(dur_ms, 50, method="inverted_cdf")) if n else float("nan"),
        "episode_ms_p90": float(np.percentile(dur_ms, 90, method="inverted_cdf")) if n else float("nan"),
        "crossable_base": float(base.sum()),
        "crossable_quote": float(quote.sum()),
        "edge_quote": float(edge.sum()),
        "capturable_quote_at_latency": measure.capturable(eps.duration_ns, edge, latency),
        "capturable_episodes": int(long_enough.sum()),
        "size_base": shard.size_base,
        "capturable_quote_at_size": measure.capturable(eps.duration_ns, edge_at_size, latency),
        "latency_ms": latency / NS_PER_MS,
        "net_bps_p50": p50,
        "net_bps_p90": p90,
        "net_bps_p99": p99,
        "net_bps_max": float(np.nanmax(line.net)) if known.any() else float("nan"),
        "funding_diff_bps": _funding_diff(shard, buy, sell),
        "threshold_bps": shard.threshold_bps,
        "fee_buy_bps": fb * 1e4,
        "fee_sell_bps": fs * 1e4,
    }
    episodes = {
        "start_ns": eps.start_ns, "duration_ms": dur_ms, "peak_bps": peak, "crossable_base": base,
        "crossable_quote": quote, "edge_quote": edge, "edge_quote_at_size": edge_at_size,
    }  # fmt: skip
    return PairResult(row, episodes, _series(line, day_start))


def _pair_market(shard: Shard, buy: _Venue, sell: _Venue) -> str:
    # The pair's market: the one both venues are read in, else "<buy's>/<sell's>" ("spot/linear": buy spot,
    # sell the perpetual).
    markets = (buy.day.market or shard.market, sell.day.market or shard.market)
    return markets[0] if markets[0] == markets[1] else "/".join(markets)


def _funding_diff(shard: Shard, buy: _Venue, sell: _Venue) -> float:
    # What holding long on the buy venue and short on the sell venue received in funding over the day, bps of
    # the notional: the sell venue's settled rates (a short receives them) less the buy venue's; a spot leg
    # has none. NaN when neither leg is a perpetual.
    if "linear" not in (buy.day.market or shard.market, sell.day.market or shard.market):
        return float("nan")
    return float((sell.funding_rate.sum() - buy.funding_rate.sum()) * 1e4)


def _series(line: measure.PairLine, day_start: int) -> dict[str, np.ndarray[Any, Any]]:
    # The most the net edge reached in each of about _SERIES_POINTS equal steps of the pair's span.
    if not len(line.t):
        return {"t_s": np.zeros(0), "net_bps_max": np.zeros(0, np.float32)}
    span = int(line.t[-1] + line.dur[-1] - line.t[0])
    step = max(NS_PER_S, -(-span // _SERIES_POINTS))
    edges = np.arange(int(line.t[0]), int(line.t[-1] + line.dur[-1]), step, dtype=np.int64)
    most = np.full(len(edges), np.nan)
    net = np.where(np.isfinite(line.net), line.net, -np.inf)
    np.fmax.at(most, (line.t - edges[0]) // step, net)
    at_start = net[np.searchsorted(line.t, edges, side="right") - 1]
    most = np.fmax(most, at_start)
    most[~np.isfinite(most)] = np.nan
    return {"t_s": (edges - day_start) / NS_PER_S, "net_bps_max": most.astype(np.float32)}


def anchor_samples(venues: list[_Venue], start: int, end: int) -> dict[str, np.ndarray[Any, Any]]:
    """The published measure over the day (:func:`arb.scan.measure.anchor` every :data:`ANCHOR_STEP_NS`), for
    each floor of :data:`ANCHOR_FLOORS`, as columns: floor, t_s (since the day's start), max_bid, bid_venue,
    min_ask, ask_venue, gap_bps; only samples where some venue's book was read."""
    names = np.array([v.day.venue for v in venues] + [""], dtype=object)
    first = min(v.tops.start_ns for v in venues)
    last = max(v.tops.end_ns for v in venues)
    lo = start + -(-(first - start) // ANCHOR_STEP_NS) * ANCHOR_STEP_NS
    columns: dict[str, list[Any]] = {k: [] for k in ("floor", "t_s", "max_bid", "bid_venue", "min_ask", "ask_venue",
                                                     "gap_bps")}  # fmt: skip
    for floor in ANCHOR_FLOORS:
        a = measure.anchor([v.tops for v in venues], lo, min(last, end), ANCHOR_STEP_NS, floor)
        columns["floor"].append(np.full(len(a.t), floor))
        columns["t_s"].append((a.t - start) / NS_PER_S)
        columns["max_bid"].append(a.max_bid)
        columns["bid_venue"].append(names[a.bid_venue])
        columns["min_ask"].append(a.min_ask)
        columns["ask_venue"].append(names[a.ask_venue])
        columns["gap_bps"].append(a.gap_bps)
    return {k: np.concatenate(v) if v else np.zeros(0) for k, v in columns.items()}
