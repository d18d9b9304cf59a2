"""What a session (``arb record``, ``arb dry-run``, ``arb live``) does to be watched.

A :class:`Watch` owns the process's :class:`~arb.ops.snapshot.OpsHub`, the HTTP server (metrics and
dashboard) and the alert service. The command that runs a mode builds it and hands it down to the
session loop (:class:`arb.live.session_loop.SessionLoop`) as one of its watchers:

    watch = Watch(config, "dry-run", report_dir=...)
    loop = SessionLoop(engine, [watch, ...])
    loop.begin(SessionStart(clock, "replay", engine), console)  # start(), attach(engine), its feeds...
    ...                                                         # after_batch(...) per arrival, tick(now)
    loop.end(now)                                               # stop()

Everything here that runs on the loop is O(1) or O(venues): a few additions per batch, and every
``snapshot_ms`` one immutable snapshot built from what the engine already holds (O(symbols x venues^2):
every direction, each ordered pair of the run's venues, has its spread).
No I/O: the server and the alerts run in their own threads and read the hub. The server always
answers ``/healthz`` and ``/readyz`` (:mod:`arb.ops.health`), judged from those snapshots: each carries
every book as the kernel sees it and, when the session has a journal (``arb live``), the live journal's
health. While logs are JSON lines (:mod:`arb.logs`) the hub's events are logged too, from a thread of
their own (:mod:`arb.ops.eventlog`).

The venues are the run's (``config.venue_names``, in order: venue ``v`` of the engine is the ``v``-th);
every snapshot names them and how a person reads each (:func:`arb.catalog.venue_facts`).

With several symbols, every fill, order answer, breach, lone leg and failed hedge names its symbol
(event field ``symbol``; ``""`` for an account-wide breach), and each snapshot carries every symbol's
positions, books, spreads, PnL, counters and own limits (``Snapshot.symbols``) beside the account's.
"""

from __future__ import annotations

__all__ = ["DATA_SOURCES", "Watch", "edges_bps", "spreads_bps"]

import datetime as dt
import logging
import os
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from arb.catalog import venue_facts
from arb.execution.risk import BREACH_NAMES, HALT_REASONS, N_BREACHES, quote_currency, value_px
from arb.live.account_lines import engine_inventory
from arb.ops.address import ops_url
from arb.ops.snapshot import (
    BookState,
    FeedHealth,
    LatencyHistogram,
    LimitUse,
    OpsEvent,
    OpsHub,
    Snapshot,
    SymbolState,
    VenueAccount,
    venue_limits,
    venue_pairs,
)
from arb.strategy.types import BUY, HEDGE_FAILED, VENUE_OK, VENUE_STALE

if TYPE_CHECKING:
    from arb.config import AppConfig
    from arb.live.engine import Engine
    from arb.live.session_loop import SessionStart
    from arb.ops.server import OpsServer

log = logging.getLogger(__name__)

_KIND_NAMES = {1: "pair", 2: "hedge", 3: "unwind", 8: "flatten", 9: "manual"}
_NS_PER_DAY = 86_400_000_000_000
_ACCOUNT_LIMITS = ("max_open_orders", "max_drawdown", "max_daily_loss", "max_unknown_orders", "max_capital_use",
                   "max_symbol_share", "max_total_notional")  # fmt: skip
"""With several symbols, the limits shown for the account (``Snapshot.limits``); the others are per symbol."""
_SYMBOL_LIMITS = ("position_limit", "max_notional_per_venue", "max_pairs_per_day", "min_pair_interval_ms",
                  "max_imbalance_hold_ms")  # fmt: skip
_SINGLE_LIMITS = ("position_limit", "max_notional_per_venue", "max_open_orders", "max_drawdown", "max_daily_loss",
                  "max_pairs_per_day", "min_pair_interval_ms", "max_imbalance_hold_ms",
                  "max_unknown_orders")  # fmt: skip
"""With one symbol, the limits shown, in this order."""


def _every_way(
    bids: Sequence[float], asks: Sequence[float], measure: Callable[[int, int, float, float], float]
) -> tuple[float, ...]:
    # ``measure(buy, sell, bid, ask)`` of every direction (venue_pairs order over the venues given:
    # with two, buy venue 0 and sell venue 1, then the reverse); nan where a side is missing
    out = []
    for buy, sell in venue_pairs(len(bids)):
        ask, bid = asks[buy], bids[sell]
        ok = np.isfinite(ask) and np.isfinite(bid) and ask > 0 and bid > 0
        out.append(measure(buy, sell, bid, ask) if ok else float("nan"))
    return tuple(out)


def spreads_bps(bids: Sequence[float], asks: Sequence[float]) -> tuple[float, ...]:
    """The gross spread at the touch of every direction, bps of the mid, one per ordered pair of venues
    in :func:`~arb.ops.snapshot.venue_pairs` order: buying on ``b`` and selling on ``s`` is ``bid_s -
    ask_b``; nan where a side is missing. ``bids``, ``asks``: the best prices per venue (same length)."""
    return _every_way(bids, asks, lambda b, s, bid, ask: (bid - ask) / ((bid + ask) / 2) * 1e4)


def edges_bps(
    bids: Sequence[float], asks: Sequence[float], taker_fee: Sequence[float], slippage_bps: float
) -> tuple[float, ...]:
    """What the kernel compares with ``min_spread_bps`` at the touch, every direction (as
    :func:`spreads_bps` lists them): ``(bid_sell - ask_buy) / ask_buy`` in bps, less both venues' taker
    fees (``taker_fee``, fractions, per venue; longer than the venues is fine) and the slippage
    tolerance (bps): the edge of the first level a pair would take (``arb.strategies.taker``); nan where
    a side is missing."""

    def edge(b: int, s: int, bid: float, ask: float) -> float:
        fee_bps = (float(taker_fee[b]) + float(taker_fee[s])) * 1e4
        return (bid - ask) / ask * 1e4 - fee_bps - float(slippage_bps)

    return _every_way(bids, asks, edge)


DATA_SOURCES = ("live", "replay")
"""Where a watched process's data comes from (``Snapshot.data``)."""


class Watch:
    """The hub, the server and the alerts of one running process (see the module docstring).

    ``clock``: the driver's clock (data time in a replay, wall time live), int64 ns. ``data``: where
    the market data comes from, ``"live"`` (the venues' streams) or ``"replay"`` (a recording): the
    page says which, so a replay is never taken for the market now.
    """

    def __init__(
        self,
        config: AppConfig,
        mode: str,
        *,
        clock: Callable[[], int] = time.time_ns,
        recording_dir: str = "",
        report_dir: str = "",
        data: str = "live",
    ) -> None:
        # ``report_dir``: where the daily report goes at each UTC midnight of ``clock`` (dry run, live);
        # the report reads the session's own account (``config``'s paper or journal state_dir)
        if data not in DATA_SOURCES:
            raise ValueError(f"data: expected one of {', '.join(DATA_SOURCES)}, got {data!r}")
        self.config = config
        self.mode = mode
        self.data = data
        self.clock = clock
        self.symbols = tuple(config.symbol_names)
        self.symbol = ",".join(self.symbols)  # what the process trades: one name, or every name
        self.quote = quote_currency(self.symbols[0])
        self.venue_names = tuple(config.venue_names)
        """The run's venues, in order: venue ``v`` of the engine is ``venue_names[v]``."""
        self.venue_titles = tuple(venue_facts(name).title for name in self.venue_names)
        self.hub = OpsHub(history=config.ops.history)
        self.recording_dir = recording_dir
        self.report_dir = report_dir
        self.server: OpsServer | None = None
        self.alerts: Any = None  # arb.ops.alerts.AlertService when a channel is configured
        self.engine: Engine | None = None
        self.feeds: list[Any] = []
        self.recorded_bytes: Callable[[], int] | None = None
        self.journal_health: Callable[[], str] | None = None
        self.event_log: Any = None  # arb.ops.eventlog.EventLog while logs are JSON lines
        self._interval = config.ops.snapshot_ns
        self._next_ns = 0
        self._later: Callable[..., None] | None = None  # SessionStart.later: where a due snapshot is built (None: now)
        self._started_wall = time.time_ns()
        self.run_id = secrets.token_hex(8)
        """This run's token: served in every health answer and written beside the address (arb.ops.address)."""
        self._address_file: Path | None = None
        self._halt_clear: str | None = None  # the command that lifts this account's halt: made once, when halted
        self._tick_to_decision = LatencyHistogram("tick_to_decision")
        self._tick_to_intent = LatencyHistogram("tick_to_intent")
        self._frame_to_engine = [LatencyHistogram("frame_to_engine", name) for name in self.venue_names]
        self._round_trip = [LatencyHistogram("order_round_trip", name) for name in self.venue_names]
        n, n_venues = len(self.symbols), len(self.venue_names)
        self._orders = [[0] * n_venues for _ in range(n)]  # per (symbol, venue)
        self._fills = [[0] * n_venues for _ in range(n)]
        self._rejects: list[list[dict[str, int]]] = [[{} for _ in range(n_venues)] for _ in range(n)]
        self._fees = [0.0] * n
        self._last_feed: dict[tuple[str, str], FeedHealth] = {}
        self._hedge_failed = [False] * n
        self._halted = ""
        self._naked = [False] * n
        self.loop_lag_ns = 0
        self._day = -1
        self._report_threads: list[threading.Thread] = []
        self.samples: list[int] | None = None
        """Set to a list to keep every tick-to-decision time too, exactly (benchmarks) ..."""
        self.intent_samples: list[int] | None = None
        """... and the tick-to-intent times of the batches whose decision sent orders."""

    # -- life ----------------------------------------------------------------------------------

    def start(self) -> list[str]:
        """Start the server and the alerts as ``[ops]`` and ``[alerts]`` ask; returns lines for the
        start banner (where the page is, which alert channels are on). A port another process holds
        is one banner line, and the server takes a free port instead (written where ``arb status``
        finds it, :mod:`arb.ops.address`); a port that cannot be bound for another reason is logged and
        the process goes on without the page: trading never waits for its watchers."""
        lines: list[str] = []
        ops = self.config.ops
        if ops.enabled:
            server, taken = self._serve()
            if server is not None:
                self.server = server
                where = server.url + "/"
                if taken:
                    lines.append(f"[ops] port {ops.port} on {ops.host} is taken by another process (arb status "
                                 f"--url {ops_url(ops.host, ops.port)} says which): this arb {self.mode} serves "
                                 f"on {where} instead; arb status finds it")  # fmt: skip
                parts = [p for p, on in (("dashboard", ops.dashboard), ("metrics", ops.metrics)) if on]
                if parts:
                    lines.append(f"{' and '.join(parts)}: {where}" + ("metrics" if not ops.dashboard else ""))
                lines.append(f"health: {where}healthz (alive), {where}readyz (ready to trade); arb status")
                self._write_address(server.port)
        from arb import logs

        if logs.structured():  # JSON log lines: every event of the hub becomes one, with its fields
            from arb.ops.eventlog import EventLog

            self.event_log = EventLog(self.hub)
            self.event_log.start()
        alerts = self.config.alerts
        if alerts.enabled and (alerts.telegram.enabled or alerts.webhook.enabled or alerts.email.enabled):
            from arb.ops.alerts.service import AlertService

            service = AlertService.from_config(self.config, self.hub, mode=self.mode)
            if service is not None:
                service.start()
                self.alerts = service
                lines.append(f"alerts: {', '.join(service.channel_names)}")
        return lines

    def _serve(self) -> tuple[OpsServer | None, bool]:
        # The ops server on [ops] port, or on a free one when another process holds it (arb.ops.server)
        from arb.ops import health
        from arb.ops.server import serve

        ops = self.config.ops
        setups = [health.setup(self.hub, ops.health_max_age_ns, run_id=self.run_id)]
        if ops.metrics:
            from arb.ops import metrics

            setups.append(metrics.setup(self.hub, alerts=lambda: self.alerts))
        if ops.dashboard:
            from arb.ops import dashboard

            setups.append(dashboard.setup(self.hub))
        return serve(ops.host, ops.port, setups)

    def _write_address(self, port: int) -> None:
        # where this process serves, into its own folder, for arb status (arb.ops.address)
        folder = self.state_folder
        if folder is None:
            return
        from arb.ops.address import Address, write_address

        started = dt.datetime.fromtimestamp(self._started_wall / 1e9, dt.UTC).isoformat(timespec="seconds")
        address = Address(ops_url(self.config.ops.host, port), os.getpid(), self.run_id, self.mode, self.symbol,
                          started.replace("+00:00", "Z"))  # fmt: skip
        try:
            self._address_file = write_address(folder, address)
        except OSError as error:
            log.warning("could not write where the ops server listens into %s (%s): arb status will not find "
                        "this process; arb status --url %s will", folder, error, address.url)  # fmt: skip

    @property
    def state_folder(self) -> Path | None:
        """This process's own folder, where its address goes: the recordings folder of ``arb record``,
        the paper account's folder of a dry run, ``[live] state_dir`` of ``arb live``; None for another mode."""
        if self.mode == "record":
            return Path(self.recording_dir) if self.recording_dir else self.config.backtest.recordings
        if self.mode == "dry-run":
            return self.config.dry_run.state_dir
        if self.mode == "live":
            return self.config.live.state_dir
        return None

    def stop(self) -> None:
        """Publish a last snapshot, then stop the alerts (after sending what is queued) and the server,
        and wait for a daily report being written."""
        if self.engine is not None or self.feeds:
            self.publish(self.clock())
        for thread in self._report_threads:
            thread.join(60)
        self._report_threads.clear()
        for part in ("alerts", "event_log", "server"):  # in this order; each is stopped once
            running = getattr(self, part)
            if running is not None:
                running.stop()
                setattr(self, part, None)
        if self._address_file is not None:
            from arb.ops.address import remove_address

            remove_address(self._address_file.parent, self.run_id)
            self._address_file = None

    # -- as a session's watcher (arb.live.session_loop.SessionWatcher) ------------------------------

    def begin(self, start: SessionStart) -> list[str]:
        """The session starts: take its clock and data source, start the server and the alerts
        (:meth:`start`), attach the engine, its feeds, the journal's health and the kill switch;
        returns the banner lines."""
        if start.data not in DATA_SOURCES:
            raise ValueError(f"data: expected one of {', '.join(DATA_SOURCES)}, got {start.data!r}")
        self.clock, self.data = start.clock, start.data
        lines = self.start()
        if start.engine is not None:
            self.attach(start.engine)
        if start.feeds:  # their health in every snapshot, their changes as events
            self.feeds = list(start.feeds)
        if start.journal_health is not None:
            # Snapshot.journal: called on the loop at each snapshot, so it must be cheap (Journal.health)
            self.journal_health = start.journal_health
        if start.kill_switch is not None and self.alerts is not None:
            # what a Telegram ``/kill confirm`` pulls: arb live's kill switch, called from the alert
            # thread (it hands the work to the trading loop itself)
            self.alerts.kill = start.kill_switch
        if start.recorded_bytes is not None:
            self.recorded_bytes = start.recorded_bytes
        self._later = start.later  # arb live: a snapshot due after a batch is built when the loop is idle
        return lines

    async def run(self) -> None:
        """Beside the session's loop: how late the loop wakes a timer (``loop_lag_ns``)."""
        import asyncio

        interval_s = 0.1
        while True:
            t0 = time.perf_counter_ns()
            await asyncio.sleep(interval_s)
            self.loop_lag_ns = max(0, time.perf_counter_ns() - t0 - int(interval_s * 1e9))

    def end(self, now: int | None) -> None:
        """The session is over: the last snapshot, then stop (:meth:`stop`)."""
        self.stop()

    # -- wiring -------------------------------------------------------------------------------

    def attach(self, engine: Engine) -> None:
        """Turn the engine's fills, answers, breaches and halts into events, after the driver's own
        listeners (given when the engine was built)."""
        self.engine = engine
        listeners = engine.listeners
        listeners.fill.append(self._on_fill)
        listeners.order.append(self._on_order)
        listeners.risk_event.append(self._on_risk)
        listeners.halt.append(self.halt)

    def emit(self, kind: str, *, venue: str = "", text: str = "", resolved: bool = False, **fields: Any) -> None:
        self.hub.emit(OpsEvent(kind, self.clock(), venue, text, fields, resolved))

    def halt(self, reason: str) -> None:
        """Trading halted (or, with ``""``, the halt was cleared)."""
        if reason == self._halted:
            return
        if reason:
            self.emit("halt", text=f"trading halted: {reason}", reason=reason)
        else:
            self.emit("halt", text="halt cleared", reason=self._halted, resolved=True)
        self._halted = reason

    # -- the loop -----------------------------------------------------------------------------

    def after_batch(
        self, engine: Engine, t0_perf_ns: int, now: int, sent_before: int, recv_perf_ns: int = 0, venue: int = -1
    ) -> None:
        """One batch (or one local time's batches) went through ``engine``: record the latencies and
        publish when due. ``t0_perf_ns``: ``time.perf_counter_ns()`` before the engine took it;
        ``sent_before``: ``engine.log.sent.total`` before; ``recv_perf_ns``: when the frame was read off
        the socket (live feeds; 0 in a replay) and ``venue`` its venue."""
        t1 = time.perf_counter_ns()
        self._tick_to_decision.record(t1 - t0_perf_ns)
        if self.samples is not None:
            self.samples.append(t1 - t0_perf_ns)
        if recv_perf_ns and venue >= 0:
            self._frame_to_engine[venue].record(t0_perf_ns - recv_perf_ns)
        if engine.log.sent.total > sent_before:
            self._tick_to_intent.record(t1 - (recv_perf_ns or t0_perf_ns))
            if self.intent_samples is not None:
                self.intent_samples.append(t1 - (recv_perf_ns or t0_perf_ns))
        if self._later is None:
            self.tick(now)
        elif now >= self._next_ns:  # due: built once when the loop is idle (publish() sets the next time)
            self._next_ns = 1 << 62
            self._later(lambda: self.publish(self.clock()))

    def tick(self, now: int) -> None:
        """Publish a snapshot if one is due at ``now`` (timers call this between batches) and anything reads it."""
        if now >= self._next_ns:  # unread (no page, no alerts): its events and the daily report; stop() builds one
            self.publish(now, build=self.server is not None or self.alerts is not None)

    def publish(self, now: int, *, build: bool = True) -> None:
        """Build and publish a snapshot at ``now`` (and the events its changes imply); ``build`` False: the events."""
        self._next_ns = (now // self._interval + 1) * self._interval
        self._maybe_daily_report(now)
        feeds = tuple(self._feed_health(now))
        if (engine := self.engine) is not None:
            self._engine_changes(engine)
            if build:
                self.hub.publish(self._snapshot(engine, now, feeds))
        elif build:
            unknown = self._no_spreads()
            snapshot = Snapshot(
                mode=self.mode, symbol=self.symbol, quote_currency=self.quote, ts_ns=now, wall_ns=time.time_ns(),
                feeds=feeds, spread_bps=unknown, recording_dir=self.recording_dir, latencies=self._latencies(),
                loop_lag_ns=self.loop_lag_ns, started_wall_ns=self._started_wall,
                recorded_bytes=self.recorded_bytes() if self.recorded_bytes else 0, edge_bps=unknown, data=self.data,
                venue_names=self.venue_names, venue_titles=self.venue_titles,
            )  # fmt: skip
            self.hub.publish(snapshot)

    # -- internals ------------------------------------------------------------------------------

    def _maybe_daily_report(self, now: int) -> None:
        # At the first snapshot of a new UTC day, the day that ended is reported, in a thread of its own
        day = now // _NS_PER_DAY
        ended, self._day = self._day, day
        if ended < 0 or day == ended or self.engine is None:
            return
        if not (self.config.ops.daily_report and self.report_dir and self.mode in ("dry-run", "live")):
            return
        # what the positions are worth at the day's end: the engine's mark at midnight (taken before the
        # first batch past it), else (no batch since midnight) the books' mids now, which are still those
        midnight = (ended + 1) * _NS_PER_DAY
        taken = [m for m in self.engine.day_marks if m.ts == midnight]
        last, at = (taken[-1].price, midnight) if taken else (self.engine.last_mid, now)
        # one pair (one symbol), or one pair per symbol
        mids: Any = (tuple(float(m) for m in last[0]) if len(last) == 1
                     else tuple(tuple(float(m) for m in row) for row in last))  # fmt: skip
        date = dt.date(1970, 1, 1) + dt.timedelta(days=int(ended))
        thread = threading.Thread(target=self._write_daily_report, args=(date, at, mids),
                                  name="arb-daily-report", daemon=True)  # fmt: skip
        self._report_threads = [t for t in self._report_threads if t.is_alive()] + [thread]
        thread.start()

    def _write_daily_report(self, date: dt.date, now: int, mids: Any) -> None:
        from arb.reports.periodic import prune_daily_reports, write_daily_report

        try:
            path = write_daily_report(self.config, self.mode, date, Path(self.report_dir), marks=[(now, mids)])
            prune_daily_reports(Path(self.report_dir), self.mode, self.config.ops.daily_reports_kept)
        except Exception as error:  # noqa: BLE001 - a report that cannot be written never stops trading
            log.warning("the daily report of %s could not be written: %s", date, error)
            self.emit("info", text=f"daily report of {date} failed: {error}")
            return
        log.info("daily report of %s: %s", date, path)
        self.emit("info", text=f"daily report of {date}: {path}", report=str(path))

    def _no_spreads(self) -> tuple[float, ...]:
        # every direction's figure not known (no engine, or the account of several symbols)
        return (float("nan"),) * len(venue_pairs(len(self.venue_names)))

    def _where(self, v: int, s: int) -> str:
        # "<venue>", or with several symbols "<venue> ETHUSDT": how an event's text names the book
        name = self.venue_names[v]
        return name if len(self.symbols) == 1 else f"{name} {self.symbols[s]}"

    def _on_fill(self, row: Any) -> None:
        v, s = int(row["venue"]), int(row["symbol"])
        self._fills[s][v] += 1
        self._fees[s] += float(row["fee"])
        side = "buy" if int(row["side"]) == BUY else "sell"
        qty, price = float(row["qty"]), float(row["price"])
        self.hub.emit(OpsEvent(
            "fill", int(row["local_ts"]), self.venue_names[v],
            f"{self._where(v, s)} {side} {qty:.8g} @ {price:.8g}",
            {"side": side, "qty": qty, "price": price, "fee": float(row["fee"]), "pair_id": int(row["pair_id"]),
             "kind": _KIND_NAMES.get(int(row["kind"]), str(int(row["kind"]))), "symbol": self.symbols[s],
             "order_id": int(row["order_id"])},
        ))  # fmt: skip

    def _on_order(self, order: Any) -> None:
        v = int(order.venue)
        s = int(getattr(order, "symbol_index", 0) or 0)
        venue = self.venue_names[v]
        self._orders[s][v] += 1
        sent = int(getattr(order, "sent_ts", 0) or 0)
        respond = int(getattr(order, "respond_ts", 0) or 0)
        if sent and respond >= sent:
            self._round_trip[v].record(respond - sent)
        status = str(order.status)
        fill_qty = float(getattr(order, "fill_qty", 0.0) or 0.0)
        if status == "filled" and fill_qty < float(order.qty) - 1e-12:
            status = "partial"
        code = ""
        rejection = getattr(order, "rejection", None)
        if rejection is not None:
            code = str(rejection.code)
            self._rejects[s][v][code] = self._rejects[s][v].get(code, 0) + 1
        side = "buy" if int(order.side) == BUY else "sell"
        fields = {"side": side, "qty": float(order.qty), "price": float(order.price), "status": status,
                  "filled": fill_qty, "code": code, "latency_ns": respond - sent if sent else 0,
                  "kind": _KIND_NAMES.get(int(order.kind), str(order.kind)), "symbol": self.symbols[s],
                  "order_id": int(getattr(order, "order_id", 0) or 0),
                  "pair_id": int(getattr(order, "pair_id", 0) or 0),
                  "client_id": str(getattr(order, "client_id", "") or "")}  # fmt: skip
        text = f"{self._where(v, s)} {side} {float(order.qty):.8g} @ {float(order.price):.8g}: {status}"
        self.hub.emit(OpsEvent("order", respond or self.clock(), venue, text, fields))
        if rejection is not None:
            self.hub.emit(OpsEvent("reject", respond or self.clock(), venue,
                                   f"{self._where(v, s)} rejected: {rejection.message}",
                                   {"code": code, "symbol": self.symbols[s], "order_id": fields["order_id"],
                                    "pair_id": fields["pair_id"], "client_id": fields["client_id"]}))  # fmt: skip

    def _on_risk(self, event: Any) -> None:
        engine = self.engine
        assert engine is not None
        key = BREACH_NAMES[event.code][1] if event.code < len(BREACH_NAMES) else str(event.code)
        text = engine.risk_text(event)  # with several symbols it starts with the symbol's name
        symbol = self.symbols[event.symbol] if 0 <= event.symbol < len(self.symbols) else ""
        fields = {"key": key, "value": float(event.value), "limit": float(event.limit), "symbol": symbol}
        self.hub.emit(OpsEvent("breach", int(event.ts), "", text, fields))

    def _engine_changes(self, engine: Engine) -> None:
        # per symbol, a spent hedge and a lone leg left exposed: events on the change, resolved when they end
        from arb.execution.exposure import naked_leg_text, naked_legs

        several = len(self.symbols) > 1
        attempts = self.config.execution.max_hedge_attempts
        legs = naked_legs(engine)
        for s, name in enumerate(self.symbols):
            if not self._hedge_failed[s] and int(engine.kernel_state[s]["flags"]) & HEDGE_FAILED:
                self._hedge_failed[s] = True
                who = f"{name}: a" if several else "a"
                self.emit("hedge_failed", text=f"{who} lone leg was not hedged within {attempts} attempts: no new pair",
                          symbol=name)  # fmt: skip
            mine = [naked_leg_text(leg, attempts, named=several) for leg in legs if leg.symbol == name]
            if mine and not self._naked[s]:
                self._naked[s] = True
                self.emit("naked_leg", text="; ".join(mine), symbol=name)
            elif not mine and self._naked[s]:
                self._naked[s] = False
                closed = f"{name}: the lone leg is closed" if several else "the lone leg is closed"
                self.emit("naked_leg", text=closed, resolved=True, symbol=name)

    def _feed_health(self, now: int) -> list[FeedHealth]:
        out = []
        for feed in self.feeds:
            for symbol, normalizer in feed.normalizers.items():
                stats = normalizer.stats
                health = FeedHealth(
                    venue=feed.name, market=feed.market, symbol=symbol, connected=feed.connected,
                    synced=normalizer.status.state.name == "SYNCED", stale=feed.is_stale(symbol), endpoint=feed.url,
                    last_message_ns=feed.last_depth_ns(symbol), messages=feed.stats.frames, gaps=stats.gaps,
                    resyncs=stats.resyncs, reconnects=feed.stats.reconnects, decode_errors=stats.decode_errors,
                )  # fmt: skip
                self._feed_changes(self._last_feed.get((feed.name, symbol)), health, now)
                self._last_feed[(feed.name, symbol)] = health
                out.append(health)
        return out

    def _feed_changes(self, before: FeedHealth | None, now_: FeedHealth, now: int) -> None:
        venue, symbol = now_.venue, now_.symbol
        if before is None:
            return
        if before.connected != now_.connected:
            self.hub.emit(OpsEvent("disconnect", now, venue,
                                   f"{venue} {'reconnected' if now_.connected else 'disconnected'} ({now_.endpoint})",
                                   {"symbol": symbol, "endpoint": now_.endpoint}, resolved=now_.connected))  # fmt: skip
        if before.stale != now_.stale:
            age_ms = (now - now_.last_message_ns) / 1e6 if now_.last_message_ns else -1.0
            state = "stale" if now_.stale else "fresh again"
            self.hub.emit(OpsEvent("stale", now, venue, f"{venue} {symbol} {state}",
                                   {"symbol": symbol, "age_ms": age_ms}, resolved=not now_.stale))  # fmt: skip
        if now_.resyncs > before.resyncs or now_.gaps > before.gaps:
            self.hub.emit(OpsEvent("resync", now, venue, f"{venue} {symbol}: book gap, resynced",
                                   {"symbol": symbol, "resyncs": now_.resyncs, "gaps": now_.gaps}))  # fmt: skip

    def _lifts_halt(self) -> str:
        # the command that lifts this process's account's halt alone: the dry run's paper account in its
        # folder (this watch's [dry_run] state_dir), else arb live's journal
        if self._halt_clear is None:
            from arb.execution.halt_hints import clear_halt_command

            paper = self.config.dry_run.state_dir if self.mode == "dry-run" else None
            self._halt_clear = clear_halt_command(self.config, paper)
        return self._halt_clear

    def _latencies(self) -> tuple[Any, ...]:
        hists = [self._tick_to_decision, self._tick_to_intent, *self._frame_to_engine, *self._round_trip]
        return tuple(h.figures() for h in hists)

    def _snapshot(self, engine: Engine, now: int, feeds: tuple[FeedHealth, ...]) -> Snapshot:
        # Every symbol's state from what the engine holds, then the account's: with one symbol its
        # figures are the symbol's (as before several symbols), with several the account's own.
        n = len(self.symbols)
        names = self.venue_names
        venues = range(len(names))
        open_counts = engine.executor.open_counts  # per (symbol, venue)
        unknown = engine.executor.unknown_counts  # per venue, every symbol's
        quote = [float(engine.init_quote[v] + engine.cash[:, v].sum()) for v in venues]
        states = []
        venue_value = list(quote)  # each venue's equity: its quote and every symbol's coins at its mids
        # the same of the starting balances; a move's fee (the move itself moved them) is the one loss of it
        venue_start = [float(engine.init_quote[v] + engine.transfer_fees[v].get(self.quote, 0.0)) for v in venues]
        valued = engine.both_synced()
        for s in range(n):
            mids = engine.last_mid[s]
            bids, asks, accounts = [], [], []
            pnl = 0.0
            for v in venues:
                book = engine.books[len(names) * s + v]
                bids.append(book.best_bid)
                asks.append(book.best_ask)
                base = float(engine.init_base[s, v] + engine.position[s, v])
                mid = float(mids[v]) if np.isfinite(mids[v]) else 0.0
                venue_value[v] += base * mid
                fee = engine.transfer_fees[v].get(self.symbols[s].removesuffix(self.quote), 0.0)
                venue_start[v] += float(engine.init_base[s, v] + fee) * mid
                pnl += float(engine.cash[s, v]) + float(engine.position[s, v]) * mid
                accounts.append(VenueAccount(
                    venue=names[v], position=float(engine.position[s, v]), base=base,
                    quote=quote[v] if n == 1 else float("nan"), bid=bids[v], ask=asks[v],
                    open_orders=int(open_counts[s, v]), orders=self._orders[s][v], fills=self._fills[s][v],
                    rejects=dict(self._rejects[s][v]), unknown_orders=int(unknown[v]) if n == 1 else 0,
                ))  # fmt: skip
            rules = engine.rules[s]
            states.append(SymbolState(
                symbol=self.symbols[s], accounts=tuple(accounts), spread_bps=spreads_bps(bids, asks),
                entry_bps=engine.bound.param(s, "min_spread_bps"),  # the strategy's own, where it has one
                pnl=pnl if valued else float("nan"), fees=self._fees[s],
                pairs=int(engine.kernel_state[s]["pairs"]), limits=self._limits(engine, now, s), naked=self._naked[s],
                edge_bps=edges_bps(bids, asks, rules["taker_fee"], float(rules["slippage_bps"])),
                hedge_failed=bool(int(engine.kernel_state[s]["flags"]) & HEDGE_FAILED),
            ))  # fmt: skip
        st = engine.risk_state[0]
        halted = int(st["halted"])
        halt_text = self._halted or (HALT_REASONS[halted] if halted else "")
        paused = ""
        if int(st["day_halted"]):
            paused = "daily loss limit"
        elif int(st["unknown_paused"]):
            paused = "orders of unknown outcome"
        equity = sum(venue_value)
        start = float(sum(venue_start))
        if n == 1:
            first = states[0]
            accounts_, spread, entry = first.accounts, first.spread_bps, first.entry_bps
            edge = first.edge_bps
            limits = first.limits
        else:
            nan = float("nan")
            accounts_ = tuple(
                VenueAccount(venue=names[v], position=nan, base=nan, quote=quote[v], bid=nan, ask=nan,
                             open_orders=int(open_counts[:, v].sum()), orders=sum(self._orders[s][v] for s in range(n)),
                             fills=sum(self._fills[s][v] for s in range(n)), unknown_orders=int(unknown[v]),
                             rejects=_merged_counts(self._rejects[s][v] for s in range(n)))
                for v in venues
            )  # fmt: skip
            spread, entry = self._no_spreads(), float("nan")
            edge = spread
            limits = self._limits(engine, now, -1)
        return Snapshot(
            mode=self.mode, symbol=self.symbol, quote_currency=self.quote, ts_ns=now, wall_ns=time.time_ns(),
            feeds=feeds, accounts=accounts_, spread_bps=spread, entry_bps=entry,
            equity=equity if valued else float("nan"), pnl=equity - start if valued else float("nan"),
            fees=sum(self._fees), pairs=engine.pairs, limits=limits, halted=halt_text, paused=paused,
            halt_clear=self._lifts_halt() if halt_text else "",
            recording_dir=self.recording_dir, latencies=self._latencies(), loop_lag_ns=self.loop_lag_ns,
            started_wall_ns=self._started_wall, symbols=tuple(states), edge_bps=edge, data=self.data,
            books=self._books(engine, now), journal=self.journal_health() if self.journal_health is not None else "",
            venues=venue_limits(engine.executor.rate_guards()), inventory=engine_inventory(engine),
            venue_names=names, venue_titles=self.venue_titles,
        )  # fmt: skip

    def _books(self, engine: Engine, now: int) -> tuple[BookState, ...]:
        # every (symbol, venue) book as the kernel's view has it now: what readiness is judged on
        out = []
        for s, name in enumerate(self.symbols):
            for v, venue in enumerate(self.venue_names):
                status = engine.venue_status(v, now, s)
                state = "ok" if status == VENUE_OK else "stale" if status == VENUE_STALE else "out_of_sync"
                out.append(BookState(venue, name, state))
        return tuple(out)

    def _limits(self, engine: Engine, now: int, s: int) -> tuple[LimitUse, ...]:
        # Symbol s's limits (with one symbol: every limit, as the page always showed them), or with
        # s = -1 the account-wide ones; each with its use now and its refusals (a symbol's own, or the
        # account's).
        n = len(self.symbols)
        venues = range(len(self.venue_names))
        st = engine.risk_state[0]
        lim = engine.limits[max(s, 0)]
        last_mid = engine.last_mid

        def value(sym: int, v: int) -> float:
            mid = float(last_mid[sym, v])
            return abs(float(engine.position[sym, v])) * mid if np.isfinite(mid) else 0.0

        rows: dict[str, tuple[float, float]] = {}
        if s >= 0:
            sst = engine.symbol_state[s]
            position = engine.position[s]
            since = int(sst["imbalance_since"])
            last_pair = int(sst["last_pair_ns"])
            count = int(sst["pair_count"])
            times = sst["pair_times"]
            window = [int(t) for t in times[: min(count, len(times))] if int(t) > now - _NS_PER_DAY]
            rows |= {
                "position_limit": (abs(float(position.sum())), float(lim["position_limit"])),
                "max_notional_per_venue": (max(value(s, v) for v in venues), float(lim["max_notional_per_venue"])),
                "max_pairs_per_day": (float(len(window)), float(lim["max_pairs_per_day"])),
                "min_pair_interval_ms": ((now - last_pair) / 1e6 if last_pair else float("nan"),
                                         float(lim["min_pair_interval_ns"]) / 1e6),
                "max_imbalance_hold_ms": ((now - since) / 1e6 if since else 0.0,
                                          float(lim["max_imbalance_hold_ns"]) / 1e6),
            }  # fmt: skip
        if n == 1 or s < 0:
            per_venue = [int(x) for x in engine.executor.open_counts.sum(axis=0)]  # every venue of the run
            peak = float(st["peak_equity"])
            last = float(st["last_pnl"])
            rows |= {
                "max_open_orders": (float(max(per_venue)), float(lim["max_open_orders"])),
                "max_drawdown": (max(0.0, peak - last) if np.isfinite(peak) else 0.0, float(lim["max_drawdown"])),
                "max_daily_loss": (max(0.0, float(st["day_start_pnl"]) - last) if int(st["day"]) >= 0 else 0.0,
                                   float(lim["max_daily_loss"])),
                "max_unknown_orders": (float(max(st["unknown"][: len(venues)])), float(lim["max_unknown_orders"])),
            }  # fmt: skip
            if n > 1:
                rows |= self._account_shares(engine, value, lim)
            margin = _margin_use(engine, len(venues))
            if margin is not None:
                rows["leverage"] = (margin, 1.0)
        keys = _SINGLE_LIMITS if n == 1 else (_SYMBOL_LIMITS if s >= 0 else _ACCOUNT_LIMITS)
        if "leverage" in rows:
            keys = (*keys, "leverage")
        refused = [int(x) for x in (st["refused"] if n == 1 or s < 0 else engine.symbol_state[s]["refused"])]
        by_key = {name: code for code, (_, name) in enumerate(BREACH_NAMES) if name}
        out = []
        for key in keys:
            use, limit = rows[key]
            code = by_key.get(key)
            out.append(LimitUse(key, use, limit, refused[code] if code is not None and code < N_BREACHES else 0))
        return tuple(out)

    def _account_shares(
        self, engine: Engine, value: Callable[[int, int], float], lim: Any
    ) -> dict[str, tuple[float, float]]:
        # The account-wide limits on positions, measured as the gate measures them: capital use per venue
        # (every symbol's positions there over the venue's equity), the largest symbol's share of the
        # account's equity, and every symbol's positions together.
        n = len(self.symbols)
        venues = range(len(self.venue_names))
        venue_equity = []
        for v in venues:
            quote = float(engine.init_quote[v] + engine.cash[:, v].sum())
            held = [float(engine.init_base[s, v] + engine.position[s, v]) * float(engine.last_mid[s, v])
                    for s in range(n)]  # fmt: skip
            venue_equity.append(quote + sum(held))
        equity = sum(venue_equity)
        used = [sum(value(s, v) for s in range(n)) for v in venues]
        shares = [sum(value(s, v) for v in venues) for s in range(n)]

        def frac(x: float, of: float) -> float:
            return x / of if np.isfinite(of) and of > 0 else float("nan")

        return {
            "max_capital_use": (max(frac(used[v], venue_equity[v]) for v in venues), float(lim["max_capital_use"])),
            "max_symbol_share": (frac(max(shares), equity), float(lim["max_symbol_share"])),
            "max_total_notional": (sum(shares), float(lim["max_total_notional"])),
        }


def _margin_use(engine: Engine, n_venues: int) -> float | None:
    # The largest share of a linear venue's equity its positions' initial margin uses (every symbol's
    # value at the mark over the [perpetual] leverage), as the gate measures it, over the run's
    # ``n_venues`` venues; None without a linear venue.
    use: float | None = None
    for v in range(n_venues):
        leverage = float(engine.limits[0]["leverage"][v])
        if leverage <= 0.0:
            continue
        n = engine.position.shape[0]
        equity = float(engine.init_quote[v] + engine.cash[:, v].sum())
        used = 0.0
        for s in range(n):
            price = float(value_px(engine.mark, engine.last_mid, s, v))
            held = float(engine.init_base[s, v] + engine.position[s, v])
            if held != 0.0:
                equity += held * price
                used += abs(float(engine.position[s, v])) * price / leverage
        share = used / equity if equity > 0 and np.isfinite(equity) else float("nan")
        use = share if use is None or not share <= use else use
    return use


def _merged_counts(counts: Iterable[dict[str, int]]) -> dict[str, int]:
    # several {code: n} added up
    out: Counter[str] = Counter()
    for one in counts:
        out.update(one)
    return dict(out)
