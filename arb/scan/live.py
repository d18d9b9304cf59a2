"""``arb scan --live``: the scan's ranking of every (symbol, ordered venue pair), kept over a rolling window of
the venues' live books and shown as it changes.

The venues' own market-data feeds (``connectors.registry.venue(name).feed``, the ones ``arb record`` and
``arb dry-run --live-data`` run, at the venue file's ``data_network``) subscribe every symbol's depth, as few
connections per venue as ``[feed] max_streams_per_connection`` allows (one while every symbol fits). Their
batches go through one bounded queue to one consumer that applies them to a book per venue and symbol and
keeps, as :mod:`arb.scan.tops` does for a day, the top of book after every message that changed it (NaN while
the book is not synced or is stale: the time is then left out of every figure), for the last ``window_ns``
(records older than the window are dropped, the one in force at the window's start kept).

The measures are :mod:`arb.scan.measure`'s, over the window, with one difference from a day's shard
(:mod:`arb.scan.shard`): the depth crossable at an episode's start is taken live, from both books at the
message that lifted the pair's net edge over the threshold, instead of by reading the rows again. Every
``refresh_ns`` the window is copied (in the loop, cheap) and measured on a worker thread, so the consumer keeps
draining the feeds meanwhile; the rows (the shard's columns, ``window_start_ns``/``window_end_ns`` in place of
the day, and each venue's state) are ranked by ``capturable_quote_at_latency``, then ``edge_quote``, then
``share_above``, shown (:mod:`arb.scan.live_board`) and handed to ``on_rows``. With ``[ops] enabled`` and
``dashboard`` the ops server (its own thread) serves them too, at ``/`` and ``/api/v1/scan``
(:mod:`arb.ops.scan_page`): the worker thread publishes each ranking's JSON there, so a page costs the loop
nothing.

A venue's state, per symbol, is ``"live"`` (synced and fresh), ``"stale"`` (no depth message for ``[feed]
stale_after``), ``"syncing"`` (waiting for a snapshot, or resyncing after a gap or a disconnect), ``"one-sided"``
(synced and fresh, but a side of the book is empty) or ``"no data"`` (nothing received yet); a row whose venue
is not live says so in ``buy_state``/``sell_state`` and its current net edge (``net_bps_now``) is NaN, never a
zero. A venue's time counts as known until its feed calls it stale (a quiet book is not a wrong one), and no
longer.
"""

from __future__ import annotations

__all__ = ["LiveScan", "LiveScanResult", "Ranking", "rank_rows", "run_live", "scan_live", "warm_up"]

import asyncio
import contextlib
import itertools
import logging
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from arb.book import OrderBook
from arb.config import AppConfig, VenueConfig
from arb.errors import ArbError
from arb.events import BUY_EVENT, DEPTH_SNAPSHOT_EVENT, NS_PER_MS, NS_PER_S, SELL_EVENT, event_dtype
from arb.ops.scan_page import ScanBoard, scan_routes
from arb.ops.server import OpsServer, serve
from arb.scan import measure
from arb.scan.live_board import Board, Ranking, ranking_json
from arb.scan.tops import Tops, tops_dtype
from arb.waiting import Conditions, wait_set
from connectors.common.feed import MarketDataFeed
from connectors.common.feed_parts import FeedBatch
from connectors.common.normalizer import SyncState
from connectors.registry import venue as venue_connector

log = logging.getLogger(__name__)

RowsFn = Callable[[list[dict[str, Any]]], None]
"""Receives every refresh's ranked rows (the rows are the caller's)."""
Clock = Callable[[], int]

LIVE, STALE, SYNCING, ONE_SIDED, NO_DATA = "live", "stale", "syncing", "one-sided", "no data"
"""A venue's state for one symbol, as the rows and the board say it."""

_QUEUE_SIZE = 100_000
"""Batches the feeds may hold ahead of the consumer (past it a feed marks its books out of sync, see
docs/feeds.md)."""
_CAPTURE_DTYPE = np.dtype([("local_ts", "i8"), ("base", "f8"), ("quote", "f8"), ("edge", "f8"), ("edge_at_size", "f8")])
"""What one crossing of both books took at an episode's start (see :func:`arb.scan.measure.cross`), and what one
order of the scan's size would have earned (0 without a size)."""
_NAN = float("nan")
_LEAD_EVERY_NS = 10 * NS_PER_S
"""How old a pair's lead-lag estimate may grow before a refresh computes it again (see :class:`_Leads`)."""


class _Window:
    """Records (a structured dtype with ``local_ts``) in time order, appended one at a time, trimmed from the
    front: a growable buffer, so a long window costs no copy per record."""

    __slots__ = ("buf", "n", "start")

    def __init__(self, dtype: np.dtype[Any], capacity: int = 256) -> None:
        self.buf = np.empty(capacity, dtype)
        self.start = 0
        self.n = 0

    def append(self, values: tuple[Any, ...]) -> None:
        if self.n == len(self.buf):
            kept = self.n - self.start
            if kept * 2 > len(self.buf):
                grown = np.empty(len(self.buf) * 2, self.buf.dtype)
                grown[:kept] = self.buf[self.start : self.n]
                self.buf = grown
            else:
                self.buf[:kept] = self.buf[self.start : self.n]
            self.start, self.n = 0, kept
        self.buf[self.n] = values
        self.n += 1

    def trim(self, start_ns: int) -> None:
        """Drop the records older than ``start_ns`` but the one in force then."""
        t = self.buf["local_ts"][self.start : self.n]
        k = int(np.searchsorted(t, start_ns, side="right")) - 1
        if k > 0:
            self.start += k

    def copy(self) -> np.ndarray[Any, Any]:
        return self.buf[self.start : self.n].copy()


class _Lane:
    """One venue's book of one symbol, its state and its top at every change over the window."""

    __slots__ = ("book", "fee", "latency_ns", "market", "seen", "stale", "state", "symbol", "top", "tops", "venue")

    def __init__(self, venue: str, symbol: str, config: VenueConfig) -> None:
        self.venue = venue
        self.symbol = symbol
        self.market: str = config.market
        self.fee = float(config.fees.taker)
        self.latency_ns = int(config.latency.order_entry_ns + config.latency.order_response_ns)
        self.book = OrderBook()
        self.tops = _Window(tops_dtype)
        self.top = (_NAN, 0.0, _NAN, 0.0)
        self.state = SyncState.WAITING_SNAPSHOT
        self.stale = False
        self.seen = False

    @property
    def status(self) -> str:
        """``"live"``, ``"stale"``, ``"syncing"`` or ``"no data"`` (see the module docstring)."""
        if not self.seen:
            return NO_DATA
        if self.state != SyncState.SYNCED:
            return SYNCING
        if self.stale:
            return STALE
        return LIVE if np.isfinite(self.top[0]) else ONE_SIDED

    def apply(self, batch: FeedBatch) -> bool:
        """Apply one batch (one frame, or a change of state); True when the top changed (or became known or
        unknown), recorded at the batch's receive time."""
        rows = batch.rows
        if len(rows):
            self.book.apply_touched(rows)
        self.state = batch.state
        self.stale = batch.stale
        self.seen = True
        counts = self.book.counts
        top = (_NAN, 0.0, _NAN, 0.0)
        if batch.state == SyncState.SYNCED and not batch.stale and counts[0] and counts[1]:
            book = self.book
            top = (float(book.bid_keys[counts[0] - 1]), float(book.bid_qtys[counts[0] - 1]),
                   float(-book.ask_keys[counts[1] - 1]), float(book.ask_qtys[counts[1] - 1]))  # fmt: skip
        if top == self.top or (np.isnan(top[0]) and np.isnan(self.top[0]) and top[1:] == self.top[1:]):
            return False  # NaN != NaN: an unknown top stays the same unknown top
        self.top = top
        exch_ts = int(rows["exch_ts"][-1]) if len(rows) else batch.local_ts
        self.tops.append((batch.local_ts, exch_ts, *top))
        return True

    def levels(self, depth: int) -> np.ndarray[Any, Any]:
        """The book's best ``depth`` levels a side: bid px, bid qty, ask px, ask qty rows, best first (NaN price,
        0 quantity where a side is shorter)."""
        out = np.full((4, depth), _NAN)
        out[1] = out[3] = 0.0
        bp, bq = self.book.bids(depth)
        ap, aq = self.book.asks(depth)
        out[0, : len(bp)], out[1, : len(bq)] = bp, bq
        out[2, : len(ap)], out[3, : len(aq)] = ap, aq
        return out


class _PairTrack:
    """One ordered pair's episodes as they begin: at the message that lifts its net edge over the threshold,
    one crossing of both books (:func:`arb.scan.measure.cross`)."""

    __slots__ = ("above", "buy", "captures", "sell")

    def __init__(self, buy: _Lane, sell: _Lane) -> None:
        self.buy = buy
        self.sell = sell
        self.above = False
        self.captures = _Window(_CAPTURE_DTYPE, 16)

    def net_bps(self) -> float:
        """The net edge of the two current tops, bps (NaN when either is unknown)."""
        return float(measure.net_bps(self.sell.top[0], self.buy.top[2], self.buy.fee, self.sell.fee))

    def update(self, local_ts: int, threshold_bps: float, depth: int, size_base: float = 0.0) -> None:
        net = self.net_bps()
        above = bool(np.isfinite(net) and net > threshold_bps)
        if above and not self.above:
            buy, sell = self.buy.levels(depth), self.sell.levels(depth)
            base, quote, edge = measure.cross(buy, sell, self.buy.fee, self.sell.fee, threshold_bps)
            at_size = 0.0
            if size_base > 0:
                at_size = measure.cross(buy, sell, self.buy.fee, self.sell.fee, threshold_bps, size_base)[2]
            self.captures.append((local_ts, base, quote, edge, at_size))
        self.above = above


@dataclass(frozen=True, slots=True)
class _LaneView:
    # A lane's window, copied for the worker thread.
    venue: str
    symbol: str
    market: str
    fee: float
    latency_ns: int
    tops: Tops
    status: str


@dataclass(frozen=True, slots=True)
class _Frame:
    # Everything one refresh measures, copied out of the live state.
    start_ns: int
    end_ns: int
    threshold_bps: float
    latency_ns: int | None
    lanes: dict[tuple[str, str], _LaneView]
    captures: dict[tuple[str, str, str], np.ndarray[Any, Any]]
    now_bps: dict[tuple[str, str, str], float]
    leads: _Leads
    size_base: float = 0.0


class _Leads:
    """Each symbol's venue pairs' lead-lag (:func:`arb.scan.measure.lead_lag`), kept between refreshes. On a busy
    window the estimate costs far more than a pair's other figures (a few hundred covariance sweeps) and moves
    slowly, so a refresh recomputes only the ones older than ``every_ns``, oldest first (never computed: first),
    for at most ``budget_ns`` of its time (at least one); one not computed yet is unknown. Used by one refresh
    at a time (the refresher awaits each)."""

    def __init__(self, max_lag_ns: int, every_ns: int, budget_ns: int) -> None:
        self.max_lag_ns = max_lag_ns
        self.every_ns = every_ns
        self.budget_ns = budget_ns
        self.found: dict[tuple[str, str, str], tuple[measure.LeadLag, int]] = {}

    def update(self, lanes: Mapping[tuple[str, str], _LaneView], now_ns: int) -> None:
        symbols = dict.fromkeys(s for _, s in lanes)
        venues = dict.fromkeys(v for v, _ in lanes)
        keys = [(s, x, y) for s in symbols for x, y in itertools.combinations(venues, 2)]
        never = -(1 << 62)
        due = sorted((at, i, key) for i, key in enumerate(keys)
                     if now_ns - (at := self.found.get(key, (None, never))[1]) >= self.every_ns)  # fmt: skip
        began = time.perf_counter_ns()
        for _, _, (s, x, y) in due:
            self.found[s, x, y] = (measure.lead_lag(lanes[x, s].tops, lanes[y, s].tops, self.max_lag_ns), now_ns)
            if time.perf_counter_ns() - began >= self.budget_ns:
                break

    def get(self, symbol: str, x: str, y: str) -> measure.LeadLag | None:
        found = self.found.get((symbol, x, y))
        return found[0] if found is not None else None


class LiveScan:
    """The live state of a scan: a :class:`_Lane` per venue and symbol, a :class:`_PairTrack` per symbol and
    ordered pair. :meth:`apply` takes the feeds' batches; :meth:`frame` copies the window out and
    :func:`_measure` ranks it. ``wait_until`` returns once a predicate on it holds (checked after each
    batch applied)."""

    def __init__(self, venues: Mapping[str, VenueConfig], symbols: Sequence[str], *, threshold_bps: float,
                 latency_ns: int | None, window_ns: int, depth_levels: int = 20, size_base: float = 0.0,
                 max_lag_ns: int = 2 * NS_PER_S, lead_every_ns: int = _LEAD_EVERY_NS,
                 lead_budget_ns: int = _LEAD_EVERY_NS // 20) -> None:  # fmt: skip
        if len(venues) < 2:
            raise ArbError(f"a scan compares venues: expected at least two, got {', '.join(venues) or 'none'}")
        if window_ns <= 0 or depth_levels < 1:
            raise ArbError(f"expected a positive window and depth, got {window_ns} ns and {depth_levels} levels")
        names = [s.upper() for s in symbols]
        if not names or len(set(names)) != len(names):
            raise ArbError(f"expected one or more symbols, each once, got {list(symbols)}")
        self.venues = tuple(venues)
        self.symbols = tuple(names)
        self.threshold_bps = float(threshold_bps)
        self.latency_ns = latency_ns
        self.window_ns = int(window_ns)
        self.depth_levels = int(depth_levels)
        self.size_base = float(size_base)
        self.leads = _Leads(max_lag_ns, lead_every_ns, lead_budget_ns)
        self.lanes = {(v, s): _Lane(v, s, venues[v]) for s in self.symbols for v in self.venues}
        self.pairs = {(s, b, o): _PairTrack(self.lanes[b, s], self.lanes[o, s])
                      for s in self.symbols for b, o in itertools.permutations(self.venues, 2)}  # fmt: skip
        self._pairs_of: dict[tuple[str, str], list[_PairTrack]] = {key: [] for key in self.lanes}
        for (s, b, o), pair in self.pairs.items():
            self._pairs_of[b, s].append(pair)
            self._pairs_of[o, s].append(pair)
        self.batches = 0
        self.conditions = Conditions()
        self.ops_url = ""
        """Where the ops server shows the ranking (``http://127.0.0.1:8321/``), empty without one."""

    def apply(self, batch: FeedBatch) -> None:
        """Apply one feed batch (its ``venue`` is the venue's place in :attr:`venues`)."""
        key = (self.venues[batch.venue], batch.symbol)
        lane = self.lanes.get(key)
        if lane is None:
            return
        self.batches += 1
        if lane.apply(batch):
            for pair in self._pairs_of[key]:
                pair.update(batch.local_ts, self.threshold_bps, self.depth_levels, self.size_base)

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Return once ``predicate()`` holds: checked now and after every batch the consumer applies."""
        await self.conditions.wait_until(predicate)

    def frame(self, now_ns: int) -> _Frame:
        """Trim every window to ``now_ns - window_ns`` and copy it out for :func:`_measure`."""
        start = now_ns - self.window_ns
        lanes: dict[tuple[str, str], _LaneView] = {}
        for key, lane in self.lanes.items():
            lane.tops.trim(start)
            lanes[key] = _LaneView(lane.venue, lane.symbol, lane.market, lane.fee, lane.latency_ns,
                                   Tops(lane.tops.copy(), now_ns).since(start), lane.status)  # fmt: skip
        captures: dict[tuple[str, str, str], np.ndarray[Any, Any]] = {}
        for pair_key, pair in self.pairs.items():
            pair.captures.trim(start)
            captures[pair_key] = pair.captures.copy()
        now_bps = {key: pair.net_bps() for key, pair in self.pairs.items()}
        return _Frame(
            start, now_ns, self.threshold_bps, self.latency_ns, lanes, captures, now_bps, self.leads, self.size_base
        )


def _rank_key(row: Mapping[str, Any]) -> tuple[float, float, float]:
    def down(x: Any) -> float:  # larger first, NaN last
        v = float(x)
        return -v if np.isfinite(v) else float("inf")

    return down(row["capturable_quote_at_latency"]), down(row["edge_quote"]), down(row["share_above"])


def rank_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` sorted by ``capturable_quote_at_latency``, then ``edge_quote``, then ``share_above``, each largest
    first, unknown (NaN) last; ties keep their order."""
    return sorted(rows, key=_rank_key)


def _measure(frame: _Frame) -> Ranking:
    # Every (symbol, ordered pair)'s row over the frame's window, ranked. Runs on a worker thread.
    rows = []
    symbols = list(dict.fromkeys(s for _, s in frame.lanes))
    venues = list(dict.fromkeys(v for v, _ in frame.lanes))
    frame.leads.update(frame.lanes, frame.end_ns)
    for symbol in symbols:
        lanes = [frame.lanes[v, symbol] for v in venues]
        for buy, sell in itertools.permutations(lanes, 2):
            row = _pair_row(frame, buy, sell)
            first, other = (buy, sell) if venues.index(buy.venue) < venues.index(sell.venue) else (sell, buy)
            lead = frame.leads.get(symbol, first.venue, other.venue) or measure.LeadLag(0, _NAN)
            known = bool(np.isfinite(lead.corr))
            leader = first.venue if lead.lag_ns > 0 else other.venue
            row["lead_venue"] = "" if lead.lag_ns == 0 or not known else leader
            row["lead_ms"] = abs(lead.lag_ns) / NS_PER_MS if known else _NAN
            row["lead_corr"] = lead.corr
            rows.append(row)
    states = {key: lane.status for key, lane in frame.lanes.items()}
    return Ranking(frame.start_ns, frame.end_ns, rank_rows(rows), states)


def _pair_row(frame: _Frame, buy: _LaneView, sell: _LaneView) -> dict[str, Any]:
    # The shard's row of one ordered pair (arb.scan.shard._pair), over the window, with the crossings taken live.
    line = measure.pair_line(buy.tops, sell.tops, buy.fee, sell.fee)
    eps = measure.episodes(line, frame.threshold_bps)
    base, quote, edge, at_size = _crossings(line, eps, frame.captures[buy.symbol, buy.venue, sell.venue])
    n = len(eps)
    known = np.isfinite(line.net)
    known_ns = int(line.dur[known].sum())
    above_ns = int(line.dur[known & (line.net > frame.threshold_bps)].sum())
    latency = frame.latency_ns if frame.latency_ns is not None else max(buy.latency_ns, sell.latency_ns)
    p50, p90, p99 = measure.weighted_quantiles(line.net, line.dur, (0.5, 0.9, 0.99))
    dur_ms = eps.duration_ns / NS_PER_MS
    unknown = known_ns == 0  # nothing of the pair was known in the window: no figure, not a zero
    capturable = measure.capturable(eps.duration_ns, edge, latency)
    sums = (_NAN,) * 4 if unknown else (float(base.sum()), float(quote.sum()), float(edge.sum()), capturable)
    return {
        "window_start_ns": frame.start_ns,
        "window_end_ns": frame.end_ns,
        "symbol": buy.symbol,
        "market": buy.market if buy.market == sell.market else f"{buy.market}/{sell.market}",
        "buy_venue": buy.venue,
        "sell_venue": sell.venue,
        "seconds": known_ns / NS_PER_S,
        "share_above": above_ns / known_ns if known_ns else _NAN,
        "episodes": n,
        "episode_ms_p50": float(np.percentile(dur_ms, 50, method="inverted_cdf")) if n else _NAN,
        "episode_ms_p90": float(np.percentile(dur_ms, 90, method="inverted_cdf")) if n else _NAN,
        "crossable_base": sums[0],
        "crossable_quote": sums[1],
        "edge_quote": sums[2],
        "capturable_quote_at_latency": sums[3],
        "capturable_episodes": int((eps.duration_ns > latency).sum()),
        "size_base": frame.size_base,
        "capturable_quote_at_size": _NAN if unknown else measure.capturable(eps.duration_ns, at_size, latency),
        "latency_ms": latency / NS_PER_MS,
        "net_bps_p50": p50,
        "net_bps_p90": p90,
        "net_bps_p99": p99,
        "net_bps_max": float(np.nanmax(line.net)) if known.any() else _NAN,
        "net_bps_now": frame.now_bps[buy.symbol, buy.venue, sell.venue],
        "buy_state": buy.status,
        "sell_state": sell.status,
        "threshold_bps": frame.threshold_bps,
        "fee_buy_bps": buy.fee * 1e4,
        "fee_sell_bps": sell.fee * 1e4,
    }


def _crossings(line: measure.PairLine, eps: measure.Episodes,
               caps: np.ndarray[Any, Any]) -> tuple[np.ndarray[Any, Any], ...]:  # fmt: skip
    # Each episode's crossing: the one taken live at its start (an episode in force at the window's start: the
    # one taken when it began, before the window). A capture belongs to an episode when it lies after the end
    # of the one before and at or before its start.
    n = len(eps)
    base, quote, edge, at_size = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    if not n or not len(caps):
        return base, quote, edge, at_size
    ct = caps["local_ts"]
    idx = np.searchsorted(ct, eps.start_ns, side="right") - 1
    ends = eps.start_ns + eps.duration_ns
    first_floor = line.t[0] if eps.start_ns[0] > line.t[0] else np.iinfo(np.int64).min
    floor = np.concatenate(([first_floor], ends[:-1]))
    ok = (idx >= 0) & (ct[np.maximum(idx, 0)] > floor)
    found = idx[ok]
    base[ok], quote[ok], edge[ok] = caps["base"][found], caps["quote"][found], caps["edge"][found]
    at_size[ok] = caps["edge_at_size"][found]
    if not ok.all():
        log.debug("%d of %d episodes without a crossing taken at their start", int((~ok).sum()), n)
    return base, quote, edge, at_size


def warm_up() -> None:
    """Compile (or load from Numba's cache) what a live scan runs: the book, a crossing, every measure. A few
    seconds the first time after the sources changed, done before the feeds connect rather than while their
    batches wait."""
    rows = np.zeros(4, event_dtype)
    rows["ev"] = [DEPTH_SNAPSHOT_EVENT | BUY_EVENT, DEPTH_SNAPSHOT_EVENT | SELL_EVENT] * 2
    rows["px"] = [99.0, 101.0, 98.0, 102.0]
    rows["qty"] = 1.0
    book = OrderBook()
    book.apply_touched(rows)
    t = np.arange(40, dtype=np.int64) * NS_PER_MS
    mid = 100.0 + np.sin(np.arange(40))
    tops = np.zeros(40, tops_dtype)
    tops["local_ts"], tops["bid_px"], tops["ask_px"], tops["bid_qty"], tops["ask_qty"] = t, mid - 0.5, mid + 0.5, 1, 1
    a, b = Tops(tops, 50 * NS_PER_MS), Tops(tops[::2].copy(), 50 * NS_PER_MS)
    levels = np.array([[99.0], [1.0], [101.0], [1.0]])
    caps = np.zeros(1, _CAPTURE_DTYPE)
    lanes = {("x", "S"): _LaneView("x", "S", "spot", 0.0, 0, a, LIVE),
             ("y", "S"): _LaneView("y", "S", "spot", 0.0, 0, b, LIVE)}  # fmt: skip
    pairs = [("S", "x", "y"), ("S", "y", "x")]
    frame = _Frame(0, 50 * NS_PER_MS, -1e4, None, lanes, dict.fromkeys(pairs, caps), dict.fromkeys(pairs, 0.0),
                   _Leads(100 * NS_PER_MS, NS_PER_S, NS_PER_S))  # fmt: skip
    measure.cross(levels, levels, 0.0, 0.0, -1e4)
    measure.cross(levels, levels, 0.0, 0.0, -1e4, 1.0)
    _measure(frame)


@dataclass(slots=True)
class LiveScanResult:
    """What :func:`scan_live` leaves: the last ranking, and why a venue gave nothing (one line each)."""

    last: Ranking | None
    problems: list[str] = field(default_factory=list)
    refreshes: int = 0


async def scan_live(
    config: AppConfig,
    venues: Sequence[str],
    symbols: Sequence[str],
    *,
    threshold_bps: float,
    latency_ns: int | None,
    window_ns: int,
    refresh_ns: int,
    duration_ns: int | None,
    depth_levels: int = 20,
    size_base: float = 0.0,
    on_rows: RowsFn | None = None,
    on_ranking: Callable[[Ranking], None] | None = None,
    stop: asyncio.Event | None = None,
    clock: Clock = time.time_ns,
    feed_options: Mapping[str, Any] | None = None,
    on_scan: Callable[[LiveScan], None] | None = None,
) -> LiveScanResult:
    """Run the live scan (module docstring) until ``duration_ns`` has passed (None: until ``stop`` is set);
    the last refresh is made after the feeds stopped. ``on_ranking`` receives every :class:`Ranking` (the board),
    ``on_rows`` its rows. ``clock`` stamps every frame and says the window's end (int ns since the epoch).
    ``feed_options`` go to every feed (tests: ``backoff``, ``sleep``); ``on_scan`` receives the live state
    once made (tests await conditions on it). Raises :class:`~arb.errors.FeedError` when a feed fails fatally,
    after every task ended and every connection closed."""
    if refresh_ns <= 0:
        raise ArbError(f"expected a positive refresh interval, got {refresh_ns} ns")
    if len(set(venues)) != len(venues):
        raise ArbError(f"expected each venue once, got {list(venues)}")
    configs = {}
    for name in venues:
        try:
            configs[name] = config.venue(name)
        except KeyError as exc:
            raise ArbError(str(exc.args[0])) from None
    scan = LiveScan(configs, symbols, threshold_bps=threshold_bps, latency_ns=latency_ns, window_ns=window_ns,
                    depth_levels=depth_levels, size_base=size_base, lead_budget_ns=refresh_ns // 2)  # fmt: skip
    page = ScanBoard()
    server = _ops_server(config, page)
    if server is not None:
        scan.ops_url = server.url + "/"
    if on_scan is not None:
        on_scan(scan)
    queue: asyncio.Queue[FeedBatch] = asyncio.Queue(maxsize=_QUEUE_SIZE)
    options: dict[str, Any] = {"queue": queue, "clock": clock, "include_bbo": False, **(feed_options or {})}
    feeds: list[MarketDataFeed] = []
    for v, name in enumerate(scan.venues):
        feeds += venue_connector(name).feed.pool(configs[name], scan.symbols, venue_id=v, **options)
    for feed in feeds:
        log.info("scan: %s %s on %s", feed.name, ",".join(feed.symbols), feed.url)
    stop_event = stop if stop is not None else asyncio.Event()
    result = LiveScanResult(None)

    def measured(frame: _Frame) -> Ranking:  # on the worker thread, the page's JSON included
        ranking = _measure(frame)
        if server is not None:
            page.publish(ranking_json(ranking))
        return ranking

    def publish(ranking: Ranking) -> None:
        result.last = ranking
        result.refreshes += 1
        if on_ranking is not None:
            on_ranking(ranking)
        if on_rows is not None:
            on_rows([dict(row) for row in ranking.rows])

    async def refresher() -> None:
        while not await wait_set(stop_event, refresh_ns / NS_PER_S):
            publish(await asyncio.to_thread(measured, scan.frame(clock())))

    async def timer(seconds: float) -> None:
        await asyncio.sleep(seconds)
        stop_event.set()

    try:
        async with asyncio.TaskGroup() as tasks:
            for feed in feeds:
                tasks.create_task(feed.run(), name=f"scan-{feed.name}")
            consumer = tasks.create_task(_consume(queue, scan), name="scan-consumer")
            refreshing = tasks.create_task(refresher(), name="scan-refresh")
            timing = None
            if duration_ns is not None:
                timing = tasks.create_task(timer(duration_ns / NS_PER_S), name="scan-timer")
            await stop_event.wait()
            for feed in feeds:
                feed.stop()
            if timing is not None:
                timing.cancel()
            await refreshing  # its last measure finishes; the consumer then takes what the feeds left
            while not queue.empty():
                scan.apply(queue.get_nowait())
            consumer.cancel()
    except BaseExceptionGroup as group:
        error = _arb_error(group)
        if error is not None:
            raise error from None
        raise
    finally:
        if server is not None:
            server.stop()
    publish(measured(scan.frame(clock())))
    result.problems = [p for feed in feeds if (p := feed.silence()) is not None]
    return result


def _ops_server(config: AppConfig, page: ScanBoard) -> OpsServer | None:
    # The ops server with the scan's page, as [ops] says (enabled and dashboard); None without one.
    ops = config.ops
    if not (ops.enabled and ops.dashboard):
        return None
    server, taken = serve(ops.host, ops.port, [scan_routes(page)])
    if server is not None:
        moved = f" (port {ops.port} was taken)" if taken else ""
        log.info("scan: the ranking on %s/%s", server.url, moved)
    return server


async def _consume(queue: asyncio.Queue[FeedBatch], scan: LiveScan) -> None:
    # Apply every batch as it comes, a burst at a time, then wake the waiters once.
    while True:
        scan.apply(await queue.get())
        while not queue.empty():
            scan.apply(queue.get_nowait())
        if scan.conditions.waiters:
            scan.conditions.notify()


def _arb_error(group: BaseExceptionGroup[Any]) -> ArbError | None:
    # The first of arb's own errors in a TaskGroup's group (a feed's fatal error).
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            if (inner := _arb_error(exc)) is not None:
                return inner
        elif isinstance(exc, ArbError):
            return exc
    return None


def run_live(
    config: AppConfig,
    venues: Sequence[str],
    symbols: Sequence[str],
    *,
    threshold_bps: float,
    latency_ns: int | None,
    window_ns: int,
    refresh_ns: int,
    duration_ns: int | None,
    depth_levels: int = 20,
    size_base: float = 0.0,
    on_rows: RowsFn | None = None,
    quiet: bool = False,
) -> int:
    """``arb scan --live``: :func:`scan_live` until ``duration_ns`` (None: until Ctrl-C or SIGTERM), the ranking
    refreshed every ``refresh_ns`` on stdout (a live table on a terminal; plain lines when stdout is not one, or
    with ``quiet``), each refresh's rows handed to ``on_rows``.

    ``threshold_bps``: the net edge (after both taker fees, ``[fees] taker`` of each venue file) an episode
    must pass. ``latency_ns``: one round trip for every pair (None: each pair's slower venue's ``[latency]
    order_entry_ms + order_response_ms``). ``window_ns``: how far back the figures look. ``depth_levels``: the
    levels a side walked for the crossable depth. ``size_base``: one order's size, base units, for
    ``capturable_quote_at_size`` (0: not measured).

    With ``[ops] enabled`` and ``dashboard`` the ranking is on the ops server's page too (``[ops] host`` and
    ``port``; a free port when that one is taken; the address is logged).

    Returns 0 once stopped (Ctrl-C included), every task awaited and every connection closed; 1 when a venue
    never connected or sent nothing (the reason logged). Raises :class:`~arb.errors.ArbError` on bad
    arguments and :class:`~arb.errors.FeedError` when a feed fails fatally (a rejected subscription).
    """
    board = Board(venues, symbols, window_ns=window_ns, threshold_bps=threshold_bps, plain=quiet)
    warm_up()

    async def main() -> LiveScanResult:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        installed = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):  # not on Windows / not the main thread
                loop.add_signal_handler(sig, stop.set)
                installed.append(sig)
        try:
            with board:
                return await scan_live(
                    config, venues, symbols, threshold_bps=threshold_bps, latency_ns=latency_ns, window_ns=window_ns,
                    refresh_ns=refresh_ns, duration_ns=duration_ns, depth_levels=depth_levels, size_base=size_base,
                    on_rows=on_rows,
                    on_ranking=board.show, stop=stop,
                )  # fmt: skip
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)

    result = asyncio.run(main())
    for problem in result.problems:
        log.error("scan: %s", problem)
    return 1 if result.problems else 0
