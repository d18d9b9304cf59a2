"""Health for a supervisor or an orchestrator: is the process alive, is it ready to trade.

Two routes on the :class:`~arb.ops.server.OpsServer` (added by :func:`setup`), judged from the latest
:class:`~arb.ops.snapshot.Snapshot` the trading loop published, in the server's thread: the loop never
runs any of it, and nothing here changes anything.

``GET /healthz``
    200 while the loop publishes: its latest snapshot is younger than ``[ops] health_max_age_ms`` (wall
    clock). 503 before the first snapshot (``"starting"``) and when the latest is older
    (``"stalled"``: the loop is stuck, or busy far beyond its budget). A liveness probe: a restart is
    the cure for a 503 that lasts.
``GET /readyz``
    200 when the process does what it is there for: alive, every book of every traded symbol in sync
    and fresh (the kernel's own view; a feed's connection and sync too where the process reads live
    data), the journal open and committing (``arb live``), no halt and no symbol whose lone leg its
    kernel gave up hedging, no venue banning us (``arb live``: nothing goes to it until the ban ends).
    Otherwise 503 with every reason. A pause that lifts by itself (the daily loss limit) and a rate
    limit's hold of new orders are shown, not counted: the gate and the rate guard doing their job
    (``venues``). A readiness probe: a 503 calls for
    a person or for patience (a venue outage), never for a restart; a standing halt in particular
    survives restarts until a person clears it (``arb halt --live --clear``; a dry run's: ``--paper``).

Both answer the same JSON body (``Cache-Control: no-store``)::

    {"status": "not ready", "alive": true, "ready": false,
     "reasons": ["<venue> BTCUSDT: stale, no depth update for 3.1 s", "halted: kill switch"],
     "mode": "live", "symbol": "BTCUSDT", "pid": 4242, "run_id": "5f0c2a9e41d7b3c8",
     "started": "2026-11-23T15:04:05Z", "uptime_s": 812.4,
     "snapshot_age_s": 0.21, "max_age_s": 10.0, "halted": "kill switch", "paused": "", "journal": "ok",
     "books": [{"venue": "<venue>", "symbol": "BTCUSDT", "state": "ok"}, ...],
     "feeds": [{"venue": "<venue>", "market": "spot", "symbol": "BTCUSDT", "connected": true, "synced": true,
                "stale": true}, ...],
     "venues": [{"venue": "<venue>", "market": "spot", "banned": false, "banned_until": "",
                 "rate_limited": true, "held_until": "2026-11-23T15:17:42Z", "reason": "rate limited (429 ...)"}]}

``status`` is ``"ready"`` / ``"not ready"`` (alive), or ``"starting"`` / ``"stalled"`` (not alive).
``pid`` and ``run_id`` say which process answers (:mod:`arb.ops.address`). ``arb status`` asks
``/readyz`` (or ``/healthz``) and prints the same (:mod:`arb.ops.status`).
"""

from __future__ import annotations

__all__ = ["READY", "STALLED", "STARTING", "Health", "assess", "setup"]

import datetime as dt
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from aiohttp import web

from arb.ops.server import RouteSetup
from arb.ops.snapshot import FeedHealth, OpsHub, Snapshot

READY: Final = "ready"
NOT_READY: Final = "not ready"
STARTING: Final = "starting"
STALLED: Final = "stalled"


@dataclass(frozen=True, slots=True)
class Health:
    """What a snapshot says of the process at one wall-clock instant (see the module docstring)."""

    alive: bool
    ready: bool
    status: str  # READY, NOT_READY, STARTING or STALLED
    reasons: tuple[str, ...]  # empty when ready
    body: dict[str, Any]  # the JSON answer of both routes

    @property
    def healthz_code(self) -> int:
        return 200 if self.alive else 503

    @property
    def readyz_code(self) -> int:
        return 200 if self.ready else 503


def assess(snapshot: Snapshot | None, now_wall_ns: int, max_age_ns: int, run_id: str = "") -> Health:
    """Judge ``snapshot`` (the loop's latest, None before the first) at ``now_wall_ns``: alive when it is
    at most ``max_age_ns`` old, ready when alive and nothing in :func:`_not_ready` holds. ``run_id``
    names this run in the answer (:mod:`arb.ops.address`). Pure."""
    body: dict[str, Any] = {"pid": os.getpid(), "run_id": run_id, "max_age_s": max_age_ns / 1e9}
    if snapshot is None:
        alive, status = False, STARTING
        reasons: tuple[str, ...] = ("starting: the trading loop has not published its first snapshot yet",)
    else:
        age_ns = now_wall_ns - snapshot.wall_ns
        body |= _describe(snapshot, now_wall_ns, age_ns)
        alive = age_ns <= max_age_ns
        if alive:
            reasons = tuple(_not_ready(snapshot))
            status = NOT_READY if reasons else READY
        else:
            status = STALLED
            reasons = (
                f"stalled: the trading loop has published nothing for {age_ns / 1e9:.1f} s "
                f"(more than [ops] health_max_age_ms, {max_age_ns / 1e9:g} s)",
            )
    ready = alive and not reasons
    answer = {"status": status, "alive": alive, "ready": ready, "reasons": list(reasons), **body}
    return Health(alive, ready, status, reasons, answer)


def _describe(s: Snapshot, now_wall_ns: int, age_ns: int) -> dict[str, Any]:
    started = s.started_wall_ns or s.wall_ns
    return {
        "mode": s.mode,
        "symbol": s.symbol,
        "started": dt.datetime.fromtimestamp(started / 1e9, dt.UTC).isoformat().replace("+00:00", "Z"),
        "uptime_s": round(max(0, now_wall_ns - started) / 1e9, 3),
        "snapshot_age_s": round(age_ns / 1e9, 3),
        "halted": s.halted,
        "paused": s.paused,
        "journal": s.journal,
        "books": [{"venue": b.venue, "symbol": b.symbol, "state": b.state} for b in s.books],
        "feeds": [_feed(f) for f in s.feeds],
        "venues": [
            {"venue": v.venue, "market": v.market, "banned": v.banned,
             "banned_until": _utc(v.banned_until_ns, v.banned), "rate_limited": v.held,
             "held_until": _utc(v.held_until_ns, v.held), "reason": v.reason}
            for v in s.venues
        ],
    }  # fmt: skip


def _utc(ns: int, on: bool) -> str:
    # a ban's or a hold's end, ISO 8601 UTC to the second ("" when there is none)
    return dt.datetime.fromtimestamp(ns // 1_000_000_000, dt.UTC).isoformat().replace("+00:00", "Z") if on else ""


def _feed(f: FeedHealth) -> dict[str, Any]:
    keys = ("venue", "market", "symbol", "connected", "synced", "stale")
    return {k: getattr(f, k) for k in keys}


def _not_ready(s: Snapshot) -> list[str]:
    # Every reason the process is not doing its job now, books first (each named once).
    reasons = []
    named: set[tuple[str, str]] = set()
    for f in s.feeds:
        what = ""
        if not f.connected:
            what = "disconnected (reconnecting)"
        elif not f.synced:
            what = "book out of sync (being rebuilt)"
        elif f.stale:
            age_s = (s.ts_ns - f.last_message_ns) / 1e9
            what = f"stale, no depth update for {age_s:.1f} s" if f.last_message_ns else "stale, no depth update yet"
        if what:
            reasons.append(f"{f.venue} {f.symbol}: {what}")
            named.add((f.venue, f.symbol))
    for b in s.books:
        if b.state != "ok" and (b.venue, b.symbol) not in named:
            what = "stale, no depth update lately" if b.state == "stale" else "book out of sync (being built)"
            reasons.append(f"{b.venue} {b.symbol}: {what}")
            named.add((b.venue, b.symbol))
    for v in s.venues:
        if v.banned:
            until = _utc(v.banned_until_ns, True)
            reasons.append(
                f"{v.venue} {v.market}: banned until {until} ({v.reason}): nothing goes to it, hedges included"
            )
    if s.journal and s.journal != "ok":
        reasons.append(f"journal: {s.journal}")
    if s.halted:
        lifts = s.halt_clear or ("arb halt --live --clear" if s.mode == "live" else "arb halt --paper --clear")
        reasons.append(f"halted: {s.halted} (no new pair until a person clears it: {lifts})")
    for st in s.symbols:
        if st.hedge_failed:
            reasons.append(f"{st.symbol}: a lone leg was not hedged within the attempts: no new pair until cleared")
    return reasons


def setup(hub: OpsHub, max_age_ns: int, *, clock: Callable[[], int] = time.time_ns, run_id: str = "") -> RouteSetup:
    """The route setup of ``/healthz`` and ``/readyz`` over ``hub`` for an
    :class:`~arb.ops.server.OpsServer`; ``max_age_ns`` is ``[ops] health_max_age_ns``, ``clock`` the
    wall clock (ns) the snapshot's age is measured on, ``run_id`` the run's token every answer carries."""

    def answer(ready: bool) -> Callable[[web.Request], Any]:
        async def handler(request: web.Request) -> web.Response:
            health = assess(hub.latest(), clock(), max_age_ns, run_id)
            return web.Response(
                text=json.dumps(health.body, allow_nan=False, default=str),
                status=health.readyz_code if ready else health.healthz_code,
                content_type="application/json",
                headers={"Cache-Control": "no-store"},
            )

        return handler

    def routes(app: web.Application) -> None:
        app.router.add_get("/healthz", answer(False))
        app.router.add_get("/readyz", answer(True))

    return routes
