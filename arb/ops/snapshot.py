"""The one hand-over between a trading loop and everything that watches it.

A driver (``arb record``, ``arb dry-run``, ``arb live``) builds a :class:`Snapshot` every
``[ops] snapshot_ms`` of its clock and on notable moments, and emits an :class:`OpsEvent` for each
fill, order answer, reject, breach, halt, resync or disconnect. Both go into an :class:`OpsHub`:
``publish`` and ``emit`` are O(1) appends under a lock held for nanoseconds, never I/O. Readers (the
metrics collector, the dashboard's event stream, the alert rules) run in their own thread and ask
the hub for what is new since the id they last saw, so a slow reader costs the loop nothing and a
reader that falls behind loses the oldest items (counted in ``dropped``), never the loop's time. A
reader that must act on news at once (a test) awaits :meth:`OpsHub.wait_until` on its own loop.

Times are int64 ns: ``ts_ns`` on the driver's clock (data time in a replay, wall time live),
``wall_ns`` the process's wall clock when the value was made.
"""

from __future__ import annotations

__all__ = [
    "BOOK_STATES",
    "EVENTS_KEPT",
    "LATENCY_BOUNDS_NS",
    "RECENT_SNAPSHOTS_KEPT",
    "BookState",
    "FeedHealth",
    "LatencyFigures",
    "LatencyHistogram",
    "LimitUse",
    "OpsEvent",
    "OpsHub",
    "Point",
    "Snapshot",
    "SymbolState",
    "VenueAccount",
    "VenueLimits",
    "chart_point",
    "direction_name",
    "venue_limits",
    "venue_pairs",
]

import bisect
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final, Generic, TypeVar

from arb.execution.rate_guard import RateGuard
from arb.formats import json_float
from arb.results.inventory import SymbolInventory
from arb.waiting import SharedConditions

EVENT_KINDS: Final = (
    "fill",  # fields: venue, symbol, side, qty, price, fee, pair_id, kind
    "order",  # an order's answer: venue, symbol, side, qty, price, status (filled/partial/canceled/rejected), code
    "reject",  # venue, symbol, code (the venue's or "risk:<key>"), text
    "breach",  # a risk limit refused or paused: key, value, limit, symbol ("" for an account-wide limit), text
    "halt",  # reason, text; resolved=True when cleared (every symbol's trading)
    "naked_leg",  # symbol, text: a leg the kernel gave up hedging; resolved=True when flat
    "hedge_failed",  # symbol, text
    "resync",  # venue, symbol, reason
    "disconnect",  # venue, endpoint; resolved=True on reconnect
    "stale",  # venue, symbol, age_ms; resolved=True when fresh
    "disk_low",  # path, free_bytes
    "info",  # text
)
"""The event kinds drivers emit; readers ignore kinds they do not know."""


LATENCY_BOUNDS_NS: Final = (
    5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 2_500_000, 5_000_000, 10_000_000, 25_000_000, 50_000_000, 100_000_000,
    250_000_000, 500_000_000, 1_000_000_000, 2_500_000_000, 5_000_000_000,
)  # fmt: skip
"""Upper bounds (ns) of the latency histograms' buckets: 5 us to 5 s, sub-millisecond where the loop lives."""


@dataclass(frozen=True, slots=True)
class LatencyFigures:
    """A latency histogram at one instant: ``counts[i]`` samples <= ``bounds_ns[i]`` and above the
    bound before it (not cumulative); the last count is above the last bound."""

    name: str  # "tick_to_decision", "tick_to_intent", "frame_to_engine", "order_round_trip"
    venue: str  # "" when not per venue
    bounds_ns: tuple[int, ...]
    counts: tuple[int, ...]  # len(bounds_ns) + 1
    sum_ns: int
    count: int


class LatencyHistogram:
    """A latency histogram the loop fills (``record`` is a bisect and two adds) and snapshots."""

    __slots__ = ("_counts", "bounds_ns", "count", "name", "sum_ns", "venue")

    def __init__(self, name: str, venue: str = "", bounds_ns: tuple[int, ...] = LATENCY_BOUNDS_NS) -> None:
        self.name = name
        self.venue = venue
        self.bounds_ns = bounds_ns
        self._counts = [0] * (len(bounds_ns) + 1)
        self.sum_ns = 0
        self.count = 0

    def record(self, ns: int) -> None:
        self._counts[bisect.bisect_left(self.bounds_ns, ns)] += 1
        self.sum_ns += ns
        self.count += 1

    def figures(self) -> LatencyFigures:
        return LatencyFigures(self.name, self.venue, self.bounds_ns, tuple(self._counts), self.sum_ns, self.count)


@dataclass(frozen=True, slots=True)
class FeedHealth:
    """One venue's market-data feed for one symbol."""

    venue: str  # the venue's name in the run (config.venue_names)
    market: str  # "spot" / "usdm" / "linear"
    symbol: str
    connected: bool
    synced: bool
    stale: bool
    endpoint: str  # the URL in use (failover changes it)
    last_message_ns: int  # driver clock of the last frame; 0 = none yet
    messages: int
    gaps: int
    resyncs: int
    reconnects: int
    decode_errors: int


BOOK_STATES: Final = ("ok", "stale", "out_of_sync")
"""What the kernel's view says of one venue's book of one symbol (``BookState.state``)."""


@dataclass(frozen=True, slots=True)
class BookState:
    """One venue's book of one symbol as the kernel sees it at the snapshot: ``"ok"`` (in sync and
    fresh: new pairs may use it), ``"stale"`` (no depth update for ``[risk] stale_after_ms``) or
    ``"out_of_sync"`` (not built yet, or lost continuity and resyncing)."""

    venue: str
    symbol: str
    state: str  # one of BOOK_STATES


@dataclass(frozen=True, slots=True)
class VenueAccount:
    """One venue's side of the account, in base and quote units."""

    venue: str
    position: float  # base bought minus sold since the account's start
    base: float  # balance
    quote: float  # balance
    bid: float  # best bid / ask the engine last saw (nan when none)
    ask: float
    open_orders: int
    orders: int  # sent since the process started
    fills: int
    rejects: dict[str, int] = field(default_factory=dict)  # by code
    unknown_orders: int = 0  # live: orders whose fate is not known yet


@dataclass(frozen=True, slots=True)
class LimitUse:
    """A risk limit, how much of it is used now (``value`` against ``limit``), how often it refused."""

    key: str  # the [risk] config key
    value: float
    limit: float  # 0 or inf: not set
    refused: int


@dataclass(frozen=True, slots=True)
class SymbolState:
    """One traded symbol at one instant (``Snapshot.symbols``).

    ``accounts``: per venue, its position, its base balance (its own coin), the best prices of its book,
    its open orders, the orders sent, fills and rejects of it; ``quote`` is NaN (a venue's quote is the
    account's: ``Snapshot.accounts``). ``pnl`` and ``fees`` are its part of the account's (they add up
    over the symbols); ``limits`` are its own ``[risk]`` limits (the account-wide ones are in
    ``Snapshot.limits``); ``naked``: a lone leg of it that its kernel gave up hedging is open.
    ``spread_bps`` and ``edge_bps`` hold one figure per direction, in :func:`venue_pairs` order over its
    venues (``accounts``' order, the run's); ``edge_bps`` is what its kernel compares with ``entry_bps``
    (see :attr:`Snapshot.edge_bps`).
    """

    symbol: str
    accounts: tuple[VenueAccount, ...]
    spread_bps: tuple[float, ...] = ()
    entry_bps: float = float("nan")
    pnl: float = float("nan")  # its net PnL (after fees) since the account's start (quote)
    fees: float = 0.0
    pairs: int = 0
    limits: tuple[LimitUse, ...] = ()
    naked: bool = False
    edge_bps: tuple[float, ...] = ()
    hedge_failed: bool = False  # its kernel gave up hedging a lone leg: no new pair until a person clears it


@dataclass(frozen=True, slots=True)
class VenueLimits:
    """One venue-market's rate guard at the snapshot (``arb live``: ``arb.execution.rate_guard``).

    ``banned``: a ban (Binance 418, Bybit 403) holds every request to the venue, hedges included, until
    ``banned_until_ns``. ``held``: no ban, but a rate limit (a ``Retry-After`` window, or one that named
    no time) holds its optional traffic (new pair legs and quotes) until ``held_until_ns``. Both times
    are on the executor's clock (wall time); a past time means none. ``reason``: the venue's answer
    that holds it ("" when nothing does). ``rate_limited``: the venue's rate-limit and ban answers so
    far; ``held_requests``: requests the guard kept from going out.
    """

    venue: str
    market: str
    banned: bool
    banned_until_ns: int
    held: bool
    held_until_ns: int
    reason: str = ""
    rate_limited: int = 0
    held_requests: int = 0


def venue_limits(guards: Iterable[tuple[str, str, RateGuard]]) -> tuple[VenueLimits, ...]:
    """Each venue's rate guard read now, from ``(venue, market, guard)`` as an executor's ``rate_guards()``
    gives them (none for the paper executor)."""
    out = []
    for venue, market, guard in guards:
        banned = bool(guard.banned)
        held = not banned and guard.clock() < guard.held_until_ns
        out.append(VenueLimits(str(venue), str(market), banned, int(guard.banned_until_ns), held,
                               int(guard.held_until_ns), str(guard.reason), int(guard.rate_limited),
                               int(guard.held)))  # fmt: skip
    return tuple(out)


def venue_pairs(n_venues: int) -> tuple[tuple[int, int], ...]:
    """Every direction of ``n_venues`` venues as (buy venue, sell venue) numbers: each ordered pair,
    by buy venue then sell venue, so two venues give ``((0, 1), (1, 0))`` and three give six. The
    order every per-direction tuple of a snapshot (``spread_bps``, ``edge_bps``) follows."""
    return tuple((b, s) for b in range(n_venues) for s in range(n_venues) if b != s)


def direction_name(names: Sequence[str], buy: int, sell: int) -> str:
    """``buy_binance_sell_bybit``: a direction as the metrics' ``direction`` label and the JSON name it,
    from the run's venue names (``names[v]`` is venue ``v``'s)."""
    return f"buy_{names[buy]}_sell_{names[sell]}"


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What a running process looks like at one instant. Immutable: readers may keep it.

    With one symbol, every field is that symbol's and the account's at once. With several, ``symbol``
    names them all (``"BTCUSDT,ETHUSDT"``), the fields are the account's (``accounts``: each venue's
    quote balance and every symbol's orders together, with NaN for a position, base balance or price,
    which are per symbol; every direction's ``spread_bps`` and ``edge_bps``, and ``entry_bps``, NaN;
    ``limits``: the account-wide limits),
    and ``symbols`` holds each symbol's (:class:`SymbolState`). ``symbols`` is filled in both cases
    while trading, empty while recording.
    """

    mode: str  # "record" / "dry-run" / "live"
    symbol: str
    quote_currency: str
    ts_ns: int
    wall_ns: int
    feeds: tuple[FeedHealth, ...]
    accounts: tuple[VenueAccount, ...] = ()  # empty while recording
    # the gross spread in bps at the touch of every direction, in venue_pairs order (two venues: buy
    # venue 0 / sell venue 1, then the reverse; nan when a book is empty); the strategy's entry threshold
    # (its min_spread_bps parameter: the built-ins'; nan for a strategy without one)
    spread_bps: tuple[float, ...] = ()
    entry_bps: float = float("nan")
    equity: float = float("nan")  # quote, marked at the mids
    pnl: float = float("nan")  # since the account's start: net PnL (after fees and funding)
    fees: float = 0.0
    pairs: int = 0
    limits: tuple[LimitUse, ...] = ()
    halted: str = ""  # the halt's reason, "" when trading
    halt_clear: str = ""  # the command that lifts this account's halt alone, as it must be typed
    paused: str = ""  # a pause that lifts by itself (daily loss until the reset hour, unknown orders)
    recording_dir: str = ""  # where recordings are written (record, --live-data), for the free-disk gauge
    latencies: tuple[LatencyFigures, ...] = ()
    loop_lag_ns: int = 0  # how late the trading loop's event loop ran a timer lately (0: not measured)
    recorded_bytes: int = 0  # record: bytes written so far
    started_wall_ns: int = 0  # when the process began this run
    symbols: tuple[SymbolState, ...] = ()
    # what the kernel compares with entry_bps, every direction at the touch (venue_pairs order): the
    # spread over the ask net of both venues' taker fees and the slippage tolerance, bps (nan when a
    # book is empty)
    edge_bps: tuple[float, ...] = ()
    # where the data comes from: "live" (the venues' streams) or "replay" (a recording played back)
    data: str = "live"
    books: tuple[BookState, ...] = ()  # every (symbol, venue) book as the kernel sees it; empty while recording
    journal: str = ""  # live: "ok" or what is wrong with the journal (Journal.health); "" without one
    venues: tuple[VenueLimits, ...] = ()  # live: each venue-market's rate guard (bans, rate limits); empty otherwise
    # per symbol: each venue's base and quote available and reserved, each direction's pairs left at the
    # configured size (arb.results.inventory, what the account line shows); empty while recording
    inventory: tuple[SymbolInventory, ...] = ()
    # the run's venues in order (venue v is venue_names[v]) and how a person reads each
    # (arb.catalog.venue_facts(name).title); empty in a snapshot made without them (see run_venues)
    venue_names: tuple[str, ...] = ()
    venue_titles: tuple[str, ...] = ()

    @property
    def run_venues(self) -> tuple[str, ...]:
        """The run's venues in order: ``venue_names``, or for a snapshot made without them the venues of
        its ``accounts`` (every venue of the run, in order), else of its feeds in the order first listed."""
        if self.venue_names:
            return self.venue_names
        if self.accounts:
            return tuple(a.venue for a in self.accounts)
        return tuple(dict.fromkeys(f.venue for f in self.feeds))

    @property
    def run_titles(self) -> tuple[str, ...]:
        """How a person reads each of :attr:`run_venues`: ``venue_titles``, else the names themselves."""
        names = self.run_venues
        return self.venue_titles if len(self.venue_titles) == len(names) else names

    def directions(self) -> tuple[tuple[int, int, str], ...]:
        """Every direction of the run: (buy venue, sell venue, :func:`direction_name`), in the order of
        ``spread_bps`` and ``edge_bps`` (:func:`venue_pairs`)."""
        names = self.run_venues
        return tuple((b, s, direction_name(names, b, s)) for b, s in venue_pairs(len(names)))


@dataclass(frozen=True, slots=True)
class OpsEvent:
    """A moment worth a line on the dashboard, a counter or an alert. ``kind``: see ``EVENT_KINDS``."""

    kind: str
    ts_ns: int
    venue: str = ""
    text: str = ""
    fields: dict[str, object] = field(default_factory=dict)
    resolved: bool = False


EVENTS_KEPT: Final = 2_000
"""The events a hub keeps by default: an event is 0.6-0.9 KB (a fill's or an order answer's fields), so
at most about 2 MB, filled within hours of trading (a ring of 10,000 took days to fill and grew the
process by up to 9 MB meanwhile). Its readers (metrics, alerts, the event log, the dashboard's 200
newest) read it every second or at each scrape: 2,000 is minutes of the busiest trading."""


RECENT_SNAPSHOTS_KEPT: Final = 120
"""The whole snapshots a hub keeps by default (a minute at the shipped ``[ops] snapshot_ms``): their readers
(the alert rules, the dashboard's stream) take each new one within a second. The longer history the charts
draw is kept as chart points (:func:`chart_point`): tuples of floats, which the garbage collector stops
tracking. A whole snapshot is 30-45 tracked objects; 3,600 of them (``[ops] history``, half an hour) made
every full collection of ``arb live`` walk about 160,000 more objects, 40-60 ms with the event loop held."""


_T = TypeVar("_T")
Point = tuple[float | None, ...]
"""A chart point (:func:`chart_point`)."""


def chart_point(s: Snapshot) -> Point:
    """A snapshot as one chart point: ``(t_s, edge_0_bps, ..., edge_K-1_bps, entry_bps, equity, pnl)`` (one
    edge per direction, the snapshot's ``directions`` order: with two venues ``t_s, edge_0_bps, edge_1_bps,
    entry_bps, equity, pnl``), and with several symbols each one's ``K`` edges, ``entry_bps, pnl`` after
    them: the edges the kernel compares with the entry threshold, so like is drawn against like. A figure
    that is not finite is None (JSON's null)."""
    k = len(s.directions())
    out: list[float | None] = [s.ts_ns / 1e9, *_per_direction(s.edge_bps, k), json_float(s.entry_bps),
                               json_float(s.equity), json_float(s.pnl)]  # fmt: skip
    if len(s.symbols) > 1:
        for state in s.symbols:
            out += [*_per_direction(state.edge_bps, k), json_float(state.entry_bps), json_float(state.pnl)]
    return tuple(out)


def _per_direction(values: Sequence[float], k: int) -> list[float | None]:
    # ``k`` figures, one per direction: those given, None for any the snapshot lacks
    return [json_float(values[i]) if i < len(values) else None for i in range(k)]


class OpsHub:
    """The latest snapshot, the last ``recent`` snapshots whole and the chart points of the last ``history``
    (:func:`chart_point`), and the last ``events`` events, numbered (a snapshot and its point share their
    number).

    Writers: one trading loop. Readers: any thread, with ``since(id)`` cursors. Ids start at 1 and
    never repeat within a process, so a reader (or a browser reconnecting with ``Last-Event-ID``)
    resumes without duplicates.
    """

    def __init__(self, history: int = 3600, events: int = EVENTS_KEPT, recent: int = RECENT_SNAPSHOTS_KEPT) -> None:
        self._lock = threading.Lock()
        self._snapshots: _Ring[Snapshot] = _Ring(max(1, min(history, recent)))
        self._points: _Ring[Point] = _Ring(history)
        self._events: _Ring[OpsEvent] = _Ring(events)
        self._waiters = SharedConditions()

    @property
    def dropped_snapshots(self) -> int:
        """Whole snapshots that fell out of their ring: a reader asking for them gets the oldest kept."""
        return self._snapshots.dropped

    @property
    def dropped_events(self) -> int:
        """Events that fell out of the ring."""
        return self._events.dropped

    def publish(self, snapshot: Snapshot) -> int:
        point = chart_point(snapshot)
        with self._lock:
            number = self._snapshots.add(snapshot)
            self._points.add(point)
        self._waiters.notify()
        return number

    def emit(self, event: OpsEvent) -> int:
        return self._add(self._events, event)

    def _add(self, ring: _Ring[_T], item: _T) -> int:
        with self._lock:
            number = ring.add(item)
        self._waiters.notify()
        return number

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Return once ``predicate()`` is true: asked now and, on the caller's loop, after every
        ``publish`` and ``emit`` (which cost the writer nothing more while no one waits)."""
        await self._waiters.wait_until(predicate)

    def latest(self) -> Snapshot | None:
        with self._lock:
            items = self._snapshots.items
            return items[-1][1] if items else None

    def snapshots_since(self, after: int) -> list[tuple[int, Snapshot]]:
        """The kept snapshots numbered above ``after``, oldest first."""
        with self._lock:
            return self._snapshots.since(after)

    def points_since(self, after: int) -> list[tuple[int, Point]]:
        """The kept chart points numbered above ``after``, oldest first."""
        with self._lock:
            return self._points.since(after)

    def history_since(
        self, after: int
    ) -> tuple[list[tuple[int, tuple[float | None, ...]]], tuple[int, Snapshot] | None]:
        """The kept chart points numbered above ``after``, oldest first, and the newest snapshot with its
        number when it is numbered above ``after`` (else None), read together."""
        with self._lock:
            items = self._snapshots.items
            newest = items[-1] if items and items[-1][0] > after else None
            return self._points.since(after), newest

    def events_since(self, after: int) -> list[tuple[int, OpsEvent]]:
        """The kept events numbered above ``after``, oldest first."""
        with self._lock:
            return self._events.since(after)


class _Ring(Generic[_T]):
    # The last ``size`` items, numbered from 1 (a number is never reused); the oldest falls out when
    # full, counted in ``dropped``.
    def __init__(self, size: int) -> None:
        self.items: deque[tuple[int, _T]] = deque(maxlen=size)
        self.next = 1
        self.dropped = 0

    def add(self, item: _T) -> int:
        n = self.next
        self.next = n + 1
        if len(self.items) == self.items.maxlen:
            self.dropped += 1
        self.items.append((n, item))
        return n

    def since(self, after: int) -> list[tuple[int, _T]]:
        ring = self.items
        if not ring or ring[-1][0] <= after:
            return []
        first = ring[0][0]
        start = max(0, after + 1 - first)
        return [ring[i] for i in range(start, len(ring))]
