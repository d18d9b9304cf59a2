"""The live dashboard: one page, served by the running process, fed by a server-sent event stream.

Routes (added to the :class:`~arb.ops.server.OpsServer` application by :func:`setup`):

``GET /``
    The page (``static/index.html``). It loads only same-origin files: its own script and style and
    the vendored uPlot (``static/vendor/``, MIT, see its ``MANIFEST``). Nothing comes from the internet.
``GET /static/...``
    Those files.
``GET /events``
    The stream (``text/event-stream``). Every message has an ``id:`` of the form ``"<S>-<E>"``: the
    last snapshot number and the last event number the browser has been sent (the hub's ids). Both
    never decrease and one grows with each message, so ids are strictly increasing in that order. A
    browser that reconnects sends its last id back (``Last-Event-ID`` header, or ``?last=`` for a
    fresh ``EventSource``) and gets only what came after it; without one, the stream starts with a
    ``history`` message. Message types (``event:``), each with a JSON ``data:`` line:

    - ``history``: ``{"reset": bool, "points": [...], "snapshot": {...} | null, "events": [...]}``,
      the kept snapshots as chart points and the last events: the page's first paint. ``reset``:
      the browser's id is not from this hub (another process), so it must drop what it holds.
    - ``snapshot``: ``{"points": [...], "snapshot": {...}}``, the chart points of every snapshot
      since the last message and the newest snapshot in full (see :func:`snapshot_json`).
    - ``event``: one :class:`~arb.ops.snapshot.OpsEvent` (see :func:`event_json`).

    A comment line (``: keep-alive``) goes out every ``HEARTBEAT_S`` seconds. The stream ends when
    the server stops (``app[arb.ops.server.STOPPING]``).
``GET /api/v1/status``
    The newest snapshot as JSON (``{"snapshot": null}`` before the first one).
``GET /api/v1/history``
    What a fresh stream starts with (the ``history`` payload) plus the ``cursor`` to resume from.
``GET /api/v1/history.js``
    The same as a script setting ``window.ARB_FIRST_PAINT``: the page loads it before its own script,
    paints it at once and opens the stream from its cursor, so the page holds the data when it has
    loaded.

Chart points are ``[t_s, edge_0_bps, ..., edge_K-1_bps, entry_bps, equity, pnl]``: ``t_s`` the
snapshot's driver clock in seconds (data time in a replay), one edge per direction (``K`` = N(N-1) for
the run's N venues, in the order of the snapshot's ``directions``; two venues: ``edge_0_bps,
edge_1_bps``) as in :attr:`~arb.ops.snapshot.Snapshot.edge_bps` (the spread at the touch net of both
venues' taker fees and the slippage tolerance: what the kernel compares with ``entry_bps``,
``[strategy] min_spread_bps``, so a curve crosses the line where a pair could open). With several
symbols the account's edges and entry are null (the account has no one spread) and each symbol adds
its ``K`` edges, ``entry_bps, pnl`` in ``Snapshot.symbols`` order. JSON carries no NaN or infinity:
they become ``null``. A snapshot's ``data`` says whether the market data is ``live`` or a ``replay``;
the page shows REPLAY for the latter.

The page names nothing itself: the snapshot's ``venue_list`` gives the run's venues in order (each
``name`` and ``title``, how a person reads it) and ``directions`` every ordered pair of them (``name``
``buy_<venue>_sell_<venue>``, ``buy``, ``sell``); it draws a column per venue and a line per direction.

Cost to the trading loop: none. Handlers run in the server's thread and only read the hub, every
``POLL_S`` seconds per open page. Per page the server holds at most one message being written: a
browser that reads slowly gets coalesced points (fewer, larger messages), at most ``MAX_EVENTS``
events per poll (the older ones are counted as skipped), and a write that does not drain within
``WRITE_TIMEOUT_S`` closes the stream (the browser reconnects and resumes from its last id).
"""

from __future__ import annotations

__all__ = [
    "HEARTBEAT_S",
    "MAX_EVENTS",
    "MAX_POINTS",
    "POLL_S",
    "Cursor",
    "Dashboard",
    "event_json",
    "history_json",
    "point",
    "setup",
    "snapshot_json",
]

import asyncio
import json
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Final, TypeVar

from aiohttp import web

from arb.formats import json_float as _num  # JSON has no NaN or infinity: the page shows null as "-"
from arb.ops.server import STOPPING
from arb.ops.snapshot import (
    FeedHealth,
    LatencyFigures,
    LimitUse,
    OpsEvent,
    OpsHub,
    Snapshot,
    SymbolState,
    VenueAccount,
    chart_point,
    direction_name,
)
from arb.results.inventory import SymbolInventory
from arb.waiting import SharedConditions, wait_set

log = logging.getLogger(__name__)
_T = TypeVar("_T")

POLL_S: Final = 0.2
"""How often an open stream looks for new snapshots and events (seconds)."""
HEARTBEAT_S: Final = 5.0
"""A comment line goes out after this long without a message (seconds)."""
WRITE_TIMEOUT_S: Final = 10.0
"""A stream whose write does not drain within this long is closed (seconds)."""
MAX_POINTS: Final = 4000
"""At most this many chart points in a ``history`` message (the kept snapshots are thinned evenly)."""
MAX_EVENTS: Final = 200
"""At most this many events per poll and in a ``history`` message (the newest are kept)."""
RETRY_MS: Final = 1000
"""The browser's reconnection delay, sent as the stream's ``retry:`` field."""

_STATIC: Final = "static"


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a browser is in the hub: the last snapshot and the last event it has been sent."""

    snapshot: int = 0
    event: int = 0

    def __str__(self) -> str:
        return f"{self.snapshot}-{self.event}"

    @classmethod
    def parse(cls, text: str | None) -> Cursor | None:
        """``"<S>-<E>"`` as sent in ``id:``; ``None`` when absent or not of that form."""
        if not text:
            return None
        head, sep, tail = text.strip().partition("-")
        if not sep or not head.isdigit() or not tail.isdigit():
            return None
        return cls(int(head), int(tail))


# -- JSON -------------------------------------------------------------------------------------------


def _plain(value: object) -> object:
    # an event's free-form fields, made JSON-safe
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return _num(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    try:  # numpy scalars
        return _num(float(value))  # type: ignore[arg-type]  # anything float() accepts
    except (TypeError, ValueError):
        return str(value)


def _quantile_ns(fig: LatencyFigures, q: float) -> float:
    # the bucket bound below which a fraction q of the samples fall; nan when empty, inf above the last bound
    if fig.count == 0:
        return math.nan
    target, seen = q * fig.count, 0
    for bound, n in zip((*fig.bounds_ns, math.inf), fig.counts, strict=True):
        seen += n
        if seen >= target:
            return float(bound)
    return math.inf


def _feed_json(feed: FeedHealth, now_ns: int) -> dict[str, object]:
    return {
        "venue": feed.venue, "market": feed.market, "symbol": feed.symbol, "connected": feed.connected,
        "synced": feed.synced, "stale": feed.stale, "endpoint": feed.endpoint,
        "age_ms": (now_ns - feed.last_message_ns) / 1e6 if feed.last_message_ns else None,
        "messages": feed.messages, "gaps": feed.gaps, "resyncs": feed.resyncs, "reconnects": feed.reconnects,
        "decode_errors": feed.decode_errors,
    }  # fmt: skip


def _account_json(a: VenueAccount) -> dict[str, object]:
    return {"venue": a.venue, "position": _num(a.position), "base": _num(a.base), "quote": _num(a.quote),
            "bid": _num(a.bid), "ask": _num(a.ask), "open_orders": a.open_orders, "orders": a.orders,
            "fills": a.fills, "rejects": dict(a.rejects), "unknown_orders": a.unknown_orders}  # fmt: skip


def _limit_json(u: LimitUse) -> dict[str, object]:
    return {"key": u.key, "value": _num(u.value), "limit": _num(u.limit), "refused": u.refused}


def _per_direction(values: Sequence[float], k: int) -> list[float | None]:
    # ``k`` figures, one per direction: those given, null for any the snapshot lacks
    return [_num(values[i]) if i < len(values) else None for i in range(k)]


def _symbol_json(state: SymbolState, k: int) -> dict[str, object]:
    return {
        "symbol": state.symbol, "spread_bps": _per_direction(state.spread_bps, k),
        "edge_bps": _per_direction(state.edge_bps, k), "entry_bps": _num(state.entry_bps),
        "pnl": _num(state.pnl), "fees": _num(state.fees), "pairs": state.pairs,
        "naked": state.naked, "accounts": [_account_json(a) for a in state.accounts],
        "limits": [_limit_json(u) for u in state.limits],
    }  # fmt: skip


def _inventory_json(inv: SymbolInventory, names: Sequence[str]) -> dict[str, object]:
    # venue v of the inventory is the run's v-th (``names``)
    return {
        "symbol": inv.symbol,
        "venues": [{"venue": names[at] if at < len(names) else v.venue, "base_available": _num(v.base_available),
                    "base_reserved": _num(v.base_reserved), "quote_available": _num(v.quote_available),
                    "quote_reserved": _num(v.quote_reserved)}
                   for at, v in enumerate(inv.venues)],
        "directions": [{"direction": direction_name(names, d.buy, d.sell), "buy": names[d.buy],
                        "sell": names[d.sell], "size": _num(d.size), "pairs_left": d.pairs_left,
                        "can_trade": d.can_trade, "limit": d.limit} for d in inv.directions],
    }  # fmt: skip


def snapshot_json(s: Snapshot) -> dict[str, object]:
    """The page's view of a snapshot: plain JSON types, ``None`` for NaN and infinity.

    Latency histograms become their count, p50 and p99 in microseconds (bucket bounds, so a p99 of
    ``250`` means "at most 250 us"; ``None`` when above the last bound or without samples). A feed's
    ``age_ms`` is the driver clock's distance to its last frame (``None`` before the first).
    ``symbols``: every traded symbol's state (:class:`~arb.ops.snapshot.SymbolState`), one per symbol.
    ``inventory``: per symbol, each venue's base and quote available and reserved and each direction's
    pairs left (``null``: not known), whether it can trade and the side that binds
    (:mod:`arb.results.inventory`). ``venue_list``: the run's venues in order, each ``{"name", "title"}``;
    ``directions``: every ordered pair of them, ``{"name": "buy_binance_sell_bybit", "buy", "sell"}``
    (venue names), in the order of every ``spread_bps`` and ``edge_bps`` list (one figure each).
    """
    names, titles = s.run_venues, s.run_titles
    directions = s.directions()
    k = len(directions)
    return {
        "mode": s.mode, "data": s.data, "symbol": s.symbol, "quote": s.quote_currency, "ts_ns": s.ts_ns,
        "wall_ns": s.wall_ns, "started_wall_ns": s.started_wall_ns,
        "venue_list": [{"name": name, "title": title} for name, title in zip(names, titles, strict=True)],
        "directions": [{"name": name, "buy": names[b], "sell": names[v]} for b, v, name in directions],
        "spread_bps": _per_direction(s.spread_bps, k),
        "edge_bps": _per_direction(s.edge_bps, k),
        "entry_bps": _num(s.entry_bps), "equity": _num(s.equity), "pnl": _num(s.pnl), "fees": _num(s.fees),
        "pairs": s.pairs, "halted": s.halted, "paused": s.paused, "loop_lag_ms": s.loop_lag_ns / 1e6,
        "recorded_bytes": s.recorded_bytes,
        "accounts": [_account_json(a) for a in s.accounts],
        "limits": [_limit_json(u) for u in s.limits],
        "symbols": [_symbol_json(state, k) for state in s.symbols],
        "inventory": [_inventory_json(inv, names) for inv in s.inventory],
        "feeds": [_feed_json(f, s.ts_ns) for f in s.feeds],
        "latencies": [
            {"name": f.name, "venue": f.venue, "count": f.count,
             "mean_us": _num(f.sum_ns / f.count / 1e3) if f.count else None,
             "p50_us": _num(_quantile_ns(f, 0.5) / 1e3), "p99_us": _num(_quantile_ns(f, 0.99) / 1e3)}
            for f in s.latencies
        ],
    }  # fmt: skip


def point(s: Snapshot) -> list[float | None]:
    """A snapshot as one chart point (:func:`~arb.ops.snapshot.chart_point`, as a list)."""
    return list(chart_point(s))


def event_json(number: int, e: OpsEvent) -> dict[str, object]:
    """An event for the page: its hub number, kind, driver-clock time, venue, text, fields, resolved."""
    return {"id": number, "kind": e.kind, "ts_ns": e.ts_ns, "venue": e.venue, "text": e.text,
            "fields": _plain(e.fields), "resolved": e.resolved}  # fmt: skip


def _thin(items: Sequence[tuple[int, _T]], most: int) -> list[tuple[int, _T]]:
    # evenly spaced, the newest always kept
    n = len(items)
    if n <= most:
        return list(items)
    step = n / most
    picked = [items[int(i * step)] for i in range(most - 1)]
    picked.append(items[-1])
    return picked


def history_json(hub: OpsHub, *, reset: bool = False) -> tuple[dict[str, object], Cursor]:
    """The kept snapshots' chart points (thinned to ``MAX_POINTS``), the newest snapshot and the last
    ``MAX_EVENTS`` events, and the cursor after them."""
    points, newest = hub.history_since(0)
    events = hub.events_since(0)[-MAX_EVENTS:]
    cursor = Cursor(newest[0] if newest else 0, events[-1][0] if events else 0)
    payload: dict[str, object] = {
        "reset": reset,
        "points": [list(p) for _, p in _thin(points, MAX_POINTS)],
        "snapshot": snapshot_json(newest[1]) if newest else None,
        "events": [event_json(n, e) for n, e in events],
    }
    return payload, cursor


def _dumps(payload: object) -> str:
    # allow_nan=False: a NaN that escaped _num is a bug to hear about, not invalid JSON for the page
    return json.dumps(payload, separators=(",", ":"), allow_nan=False)


def _message(kind: str, cursor: Cursor, payload: object) -> bytes:
    return f"id: {cursor}\nevent: {kind}\ndata: {_dumps(payload)}\n\n".encode()


# -- the application --------------------------------------------------------------------------------


class Dashboard:
    """The dashboard's routes over one hub; the application setup ``OpsServer`` calls (see :func:`setup`).

    ``streams_opened`` and ``streams_open`` count event streams (read by tests and the log; awaited with
    :meth:`wait_until`).
    """

    def __init__(self, hub: OpsHub, static_dir: Path | None = None) -> None:
        self.hub = hub
        self.static_dir = static_dir or Path(str(resources.files("arb.ops").joinpath(_STATIC)))
        self.streams_opened = 0
        self.streams_open = 0
        self._waiters = SharedConditions()

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Return once ``predicate()`` is true: asked now and, on the caller's loop, after each event
        stream opens or ends (in the server's thread)."""
        await self._waiters.wait_until(predicate)

    def __call__(self, app: web.Application) -> None:
        app.router.add_get("/", self._index)
        app.router.add_get("/events", self._events)
        app.router.add_get("/api/v1/status", self._status)
        app.router.add_get("/api/v1/history", self._history)
        app.router.add_get("/api/v1/history.js", self._first_paint)
        app.router.add_static("/static/", self.static_dir, follow_symlinks=False, append_version=False)

    async def _index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(self.static_dir / "index.html", headers={"Cache-Control": "no-cache"})

    async def _status(self, request: web.Request) -> web.Response:
        latest = self.hub.latest()
        return _json_response({"snapshot": snapshot_json(latest) if latest is not None else None})

    async def _history(self, request: web.Request) -> web.Response:
        payload, cursor = history_json(self.hub)
        return _json_response({**payload, "cursor": str(cursor)})

    async def _first_paint(self, request: web.Request) -> web.Response:
        # the page loads this as a classic script before its own: the first paint is there when the page
        # has loaded (a headless browser's --dump-dom sees it), and the stream resumes after its cursor
        payload, cursor = history_json(self.hub)
        return web.Response(
            text=f"window.ARB_FIRST_PAINT = {_dumps({**payload, 'cursor': str(cursor)})};\n",
            content_type="application/javascript",
            headers={"Cache-Control": "no-store"},
        )

    async def _events(self, request: web.Request) -> web.StreamResponse:
        stopping = request.app[STOPPING]
        cursor = Cursor.parse(request.headers.get("Last-Event-ID")) or Cursor.parse(request.query.get("last"))
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        )
        await response.prepare(request)
        self.streams_opened += 1
        self.streams_open += 1
        self._waiters.notify()
        try:
            await self._stream(response, cursor, stopping)
        except (ConnectionResetError, TimeoutError, asyncio.CancelledError) as error:
            # the browser went away, stopped reading, or the server is stopping: it reconnects with its last id
            log.debug("dashboard stream ended: %r", error)
            if isinstance(error, asyncio.CancelledError):
                raise
        finally:
            self.streams_open -= 1
            self._waiters.notify()
        return response

    async def _stream(self, response: web.StreamResponse, cursor: Cursor | None, stopping: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()

        async def send(data: bytes) -> None:
            async with asyncio.timeout(WRITE_TIMEOUT_S):
                await response.write(data)

        await send(f"retry: {RETRY_MS}\n\n".encode())
        if cursor is None or self._ahead(cursor):
            payload, cursor = history_json(self.hub, reset=cursor is not None)
            await send(_message("history", cursor, payload))
        last_sent = loop.time()
        while not stopping.is_set():
            sent = False
            events = self.hub.events_since(cursor.event)
            if len(events) > MAX_EVENTS:
                skipped = len(events) - MAX_EVENTS
                events = events[-MAX_EVENTS:]
                log.debug("dashboard stream skipped %d events (a slow page)", skipped)
            for number, event in events:
                cursor = Cursor(cursor.snapshot, number)
                await send(_message("event", cursor, event_json(number, event)))
                sent = True
            points, newest = self.hub.history_since(cursor.snapshot)
            if newest is not None:
                cursor = Cursor(newest[0], cursor.event)
                payload = {"points": [list(p) for _, p in _thin(points, MAX_POINTS)],
                           "snapshot": snapshot_json(newest[1])}  # fmt: skip
                await send(_message("snapshot", cursor, payload))
                sent = True
            now = loop.time()
            if sent:
                last_sent = now
            elif now - last_sent >= HEARTBEAT_S:
                await send(b": keep-alive\n\n")
                last_sent = now
            await wait_set(stopping, POLL_S)

    def _ahead(self, cursor: Cursor) -> bool:
        # an id from another process (its hub counted further than this one): start afresh. Asking
        # for what follows the number before the cursor's copies only what the page will be sent anyway.
        return (cursor.snapshot > 0 and not self.hub.points_since(cursor.snapshot - 1)) or (
            cursor.event > 0 and not self.hub.events_since(cursor.event - 1)
        )


def _json_response(payload: object) -> web.Response:
    return web.Response(text=_dumps(payload), content_type="application/json", headers={"Cache-Control": "no-cache"})


def setup(hub: OpsHub) -> Dashboard:
    """The dashboard over ``hub``, ready to pass to :class:`~arb.ops.server.OpsServer` (a
    ``Callable[[web.Application], None]``). One instance may serve several servers in turn."""
    return Dashboard(hub)
