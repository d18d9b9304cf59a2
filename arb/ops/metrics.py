"""Prometheus metrics on ``GET /metrics``, read from the :class:`~arb.ops.snapshot.OpsHub` at scrape time.

Nothing here runs on the trading loop. A scrape (on the ops server's thread) builds every family
from what the hub holds at that moment:

* gauges and the driver's own running totals (orders, fills, rejects by code, feed gaps and
  resyncs, risk refusals, pairs) from the latest :class:`~arb.ops.snapshot.Snapshot`; those totals are
  exact however seldom Prometheus scrapes, because the snapshot carries them whole;
* counters that only events tell (order answers by status, traded volume by fill kind, breach
  episodes, halts, lone legs, disconnects, stale episodes) folded from the hub's events after a
  cursor, under a lock, at scrape time; events that fell out of the hub's ring before a scrape read
  them are counted in ``arb_ops_events_missed_total`` rather than silently lost;
* latency histograms from the snapshot's :class:`~arb.ops.snapshot.LatencyFigures` (cumulative
  buckets in seconds, 5 us to 5 s);
* the free disk where recordings go (``shutil.disk_usage`` at scrape), the trading loop's lag, the
  alert service's counters, and prometheus_client's process, platform and GC collectors.

Every metric is listed once in :data:`METRICS` (name, type, labels, help); ``docs/monitoring.md``
lists the same. Labels are venue, symbol, market and small enumerations, never an order id. No
``_created`` series: the families here are built without a creation time.

The ``venue`` label is the venue's name in the run (``config.venue_names``: ``venue="<venue>"``), and
the ``direction`` label names an ordered pair of the run's venues, ``buy_<venue>_sell_<venue>``
(``direction="buy_binance_sell_bybit"``): N venues give N(N-1) directions, each its own series.
``arb_venue_info`` lists the run's venues (with their titles) and ``arb_direction_info`` its
directions, whatever else is known of them yet: what a dashboard's venue and direction choices read.

The ``symbol`` label says what a series covers. A series of one symbol (its spread, positions, base
balance, best prices, orders, fills, rejects, pairs, PnL, its own risk limits, breaches, lone legs and
failed hedges) carries its name; a series of the whole process (equity, PnL, fees, each venue's quote
balance, orders of unknown outcome, halts, pauses, the account-wide limits, snapshot times, latency)
carries ``Snapshot.symbol``: the one symbol's name, or every traded symbol's joined by commas
(``"BTCUSDT,ETHUSDT"``). With one symbol both are the same name, as before several symbols.

    from arb.ops import metrics
    server = OpsServer("127.0.0.1", 0, [metrics.setup(hub, alerts=lambda: service)])
"""

from __future__ import annotations

__all__ = ["LATENCY_METRICS", "METRICS", "ORDER_STATUSES", "ArbCollector", "MetricSpec", "setup"]

import logging
import math
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from aiohttp import web
from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from arb.ops.snapshot import (
    EVENT_KINDS,
    LatencyFigures,
    OpsEvent,
    OpsHub,
    Snapshot,
    SymbolState,
    VenueAccount,
    direction_name,
    venue_pairs,
)

log = logging.getLogger(__name__)

NS_PER_S: Final = 1_000_000_000


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One metric family: its exposed name (a counter's without ``_total``), type, labels and help."""

    name: str
    kind: str  # "gauge" / "counter" / "histogram"
    labels: tuple[str, ...]
    help: str

    @property
    def series(self) -> tuple[str, ...]:
        """The sample names this family puts on ``/metrics``."""
        if self.kind == "counter":
            return (self.name + "_total",)
        if self.kind == "histogram":
            return (self.name + "_bucket", self.name + "_sum", self.name + "_count")
        return (self.name,)


_FEED = ("venue", "market", "symbol")
_ACCOUNT = ("venue", "symbol")

METRICS: Final[tuple[MetricSpec, ...]] = (
    # the process
    MetricSpec("arb_info", "gauge", ("mode", "symbol", "quote_currency"),
               "Always 1: the running command (record, dry-run, live), its symbol and quote currency."),
    MetricSpec("arb_venue_info", "gauge", ("venue", "title"),
               "Always 1: a venue of the run (its name, the venue label of every series) and how a person reads it."),
    MetricSpec("arb_direction_info", "gauge", ("direction", "buy", "sell"),
               "Always 1: a direction of the run, an ordered pair of its venues (buy on one, sell on the other)."),
    MetricSpec("arb_start_time_seconds", "gauge", (), "Wall clock (Unix seconds) when this run began."),
    MetricSpec("arb_snapshot_timestamp_seconds", "gauge", ("symbol",),
               "The driver's clock (Unix seconds; data time in a replay) at the latest snapshot."),
    MetricSpec("arb_snapshot_age_seconds", "gauge", ("symbol",),
               "Wall seconds since the trading loop published its latest snapshot (grows when the loop is stuck)."),
    MetricSpec("arb_event_loop_lag_seconds", "gauge", (),
               "How late the trading loop's event loop lately ran a timer (seconds)."),
    MetricSpec("arb_disk_free_bytes", "gauge", ("path",), "Free bytes on the file system where recordings go."),
    MetricSpec("arb_disk_size_bytes", "gauge", ("path",), "Size in bytes of the file system where recordings go."),
    MetricSpec("arb_recorded_bytes", "counter", ("symbol",), "Bytes of recordings written by this run (arb record)."),
    # market-data feeds
    MetricSpec("arb_feed_connected", "gauge", _FEED, "1 while the venue's market-data connection is open."),
    MetricSpec("arb_feed_synced", "gauge", _FEED,
               "1 while the venue's book is in sync (snapshot plus unbroken updates)."),
    MetricSpec("arb_feed_stale", "gauge", _FEED, "1 while the venue's book is older than [risk] stale_after_ms."),
    MetricSpec("arb_feed_endpoint_info", "gauge", (*_FEED, "endpoint"),
               "Always 1: the endpoint URL the feed uses now (failover changes it)."),
    MetricSpec("arb_feed_message_age_seconds", "gauge", _FEED,
               "Seconds between the latest snapshot and the feed's last depth message (driver clock)."),
    MetricSpec("arb_feed_messages", "counter", _FEED, "Frames the feed received."),
    MetricSpec("arb_feed_gaps", "counter", _FEED, "Sequence gaps the feed found in the venue's book updates."),
    MetricSpec("arb_feed_resyncs", "counter", _FEED, "Times the book was rebuilt from a fresh snapshot."),
    MetricSpec("arb_feed_reconnects", "counter", _FEED, "Times the feed reconnected."),
    MetricSpec("arb_feed_decode_errors", "counter", _FEED, "Frames that failed to decode (logged and skipped)."),
    MetricSpec("arb_feed_disconnects", "counter", ("venue", "symbol"),
               "Disconnections seen between two snapshots (a flap shorter than [ops] snapshot_ms may go unseen)."),
    MetricSpec("arb_feed_stale_episodes", "counter", ("venue", "symbol"), "Times the venue's book went stale."),
    # the venues' rate limits (arb live's rate guard)
    MetricSpec("arb_venue_banned", "gauge", ("venue", "market"),
               "1 while the venue bans us (its ban answer): nothing at all goes to it, hedges included."),
    MetricSpec("arb_venue_ban_end_seconds", "gauge", ("venue", "market"),
               "When the venue's current ban ends, Unix seconds (absent without a ban)."),
    MetricSpec("arb_venue_rate_limited", "gauge", ("venue", "market"),
               "1 while a rate limit (a Retry-After window) holds the venue's new pairs and quotes, no ban."),
    MetricSpec("arb_rate_limit_answers", "counter", ("venue", "market"),
               "The venue's rate-limit and ban answers (429, 418, 403, rate-limit codes)."),
    MetricSpec("arb_requests_held", "counter", ("venue", "market"),
               "Requests the rate guard kept from going to the venue (never sent)."),
    # the opportunity
    MetricSpec("arb_spread_bps", "gauge", ("symbol", "direction"),
               "Gross spread at the touch, bps of the mid, direction buy_<venue>_sell_<venue> (absent: a book empty)."),
    MetricSpec("arb_entry_threshold_bps", "gauge", ("symbol",),
               "The strategy's entry threshold (its min_spread_bps parameter; absent when it has none)."),
    # the account
    MetricSpec("arb_equity", "gauge", ("symbol", "currency"),
               "Equity of every venue of the run marked at the mids (quote currency)."),
    MetricSpec("arb_pnl", "gauge", ("symbol", "currency"),
               "Net PnL (after fees and funding) since the account's start (quote currency)."),
    MetricSpec("arb_fees", "gauge", ("symbol", "currency"), "Fees paid by this run (quote currency)."),
    MetricSpec("arb_pairs", "counter", ("symbol",), "Pairs the kernel opened since the account's start."),
    MetricSpec("arb_symbol_pnl", "gauge", ("symbol", "currency"),
               "One symbol's net PnL (after fees) since the account's start (quote); they add up to arb_pnl."),
    MetricSpec("arb_symbol_fees", "gauge", ("symbol", "currency"),
               "Fees one symbol's fills paid in this run (quote); the symbols' add up to arb_fees."),
    MetricSpec("arb_position", "gauge", _ACCOUNT, "Base bought minus sold on the venue since the account's start."),
    MetricSpec("arb_balance", "gauge", (*_ACCOUNT, "asset"), "The venue's balance of the asset (base or quote)."),
    MetricSpec("arb_balance_available", "gauge", (*_ACCOUNT, "asset"),
               "What the venue's balance of the asset leaves free of the orders open there (base or quote)."),
    MetricSpec("arb_balance_reserved", "gauge", (*_ACCOUNT, "asset"),
               "What the orders open on the venue hold of its balance of the asset (spot: a buy quote, a sell base)."),
    MetricSpec("arb_pairs_left", "gauge", ("symbol", "direction"),
               "Pairs the direction can still trade at the configured size before a side runs out (absent: no price)."),
    MetricSpec("arb_best_price", "gauge", (*_ACCOUNT, "side"), "The best bid or ask the engine last saw on the venue."),
    MetricSpec("arb_open_orders", "gauge", _ACCOUNT, "Orders open on the venue."),
    MetricSpec("arb_unknown_orders", "gauge", _ACCOUNT, "Orders whose fate the venue has not told yet (live)."),
    MetricSpec("arb_orders", "counter", _ACCOUNT, "Orders sent to the venue by this run."),
    MetricSpec("arb_fills", "counter", _ACCOUNT, "Fills on the venue in this run."),
    MetricSpec("arb_rejects", "counter", (*_ACCOUNT, "code"), "Orders the venue rejected, by the venue's code."),
    MetricSpec("arb_order_answers", "counter", (*_ACCOUNT, "status"),
               "Order answers by final status: filled, partial, canceled, rejected."),
    MetricSpec("arb_traded_base", "counter", (*_ACCOUNT, "side", "kind"),
               "Base quantity filled, by side and by what the order was for (pair, hedge, unwind, flatten, manual)."),
    MetricSpec("arb_traded_quote", "counter", (*_ACCOUNT, "side", "kind"), "Quote notional filled (qty x price)."),
    # risk
    MetricSpec("arb_risk_limit_use", "gauge", ("symbol", "key"), "How much of the [risk] limit is used now."),
    MetricSpec("arb_risk_limit", "gauge", ("symbol", "key"), "The [risk] limit (absent when not set)."),
    MetricSpec("arb_risk_refusals", "counter", ("symbol", "key"), "Orders or pairs the [risk] limit refused."),
    MetricSpec("arb_breaches", "counter", ("symbol", "key"), "Breach episodes of the [risk] limit (one per episode)."),
    MetricSpec("arb_halted", "gauge", ("symbol",), "1 while trading is halted (cleared only by hand)."),
    MetricSpec("arb_halt_info", "gauge", ("symbol", "reason"), "Always 1 while halted: the halt's reason."),
    MetricSpec("arb_halts", "counter", ("symbol",), "Times trading halted."),
    MetricSpec("arb_paused", "gauge", ("symbol",),
               "1 while trading is paused by a pause that lifts by itself (daily loss, unknown orders)."),
    MetricSpec("arb_pause_info", "gauge", ("symbol", "reason"), "Always 1 while paused: the pause's reason."),
    MetricSpec("arb_naked_leg_open", "gauge", ("symbol",), "1 while a lone leg the kernel gave up hedging is open."),
    MetricSpec("arb_naked_legs", "counter", ("symbol",), "Lone legs the kernel gave up hedging."),
    MetricSpec("arb_hedge_failures", "counter", ("symbol",), "Hedges spent past [execution] max_hedge_attempts."),
    # the watchers themselves
    MetricSpec("arb_ops_events", "counter", ("kind",), "Events the trading loop published, by kind."),
    MetricSpec("arb_ops_events_missed", "counter", (),
               "Events that left the hub's ring before a scrape read them (their counters are short by as many)."),
    MetricSpec("arb_alerts_sent", "counter", ("channel",), "Alert messages sent, by channel."),
    MetricSpec("arb_alerts_failed", "counter", ("channel",), "Alert messages that failed to send, by channel."),
    MetricSpec("arb_alerts_rate_limited", "counter", ("channel",), "Times a channel asked the alerts to slow down."),
    MetricSpec("arb_alerts_suppressed", "counter", (),
               "Alerts not sent because the same one was sent within the cooldown."),
    MetricSpec("arb_alerts_dropped", "counter", (), "Alerts dropped because the alert queue was full."),
)  # fmt: skip
"""Every ``arb_`` family on ``/metrics`` (latency histograms in :data:`LATENCY_METRICS`)."""

LATENCY_METRICS: Final[dict[str, MetricSpec]] = {
    "tick_to_decision": MetricSpec(
        "arb_tick_to_decision_seconds", "histogram", ("symbol",),
        "Engine time over one batch of market data, from the batch in hand to the kernel's decision."),
    "tick_to_intent": MetricSpec(
        "arb_tick_to_intent_seconds", "histogram", ("symbol",),
        "From a frame's arrival (a replay: the batch's start) to the orders it caused, for batches that sent orders."),
    "frame_to_engine": MetricSpec(
        "arb_frame_to_engine_seconds", "histogram", ("venue", "symbol"),
        "From a frame read off the socket to the engine starting on its rows (live data only)."),
    "order_round_trip": MetricSpec(
        "arb_order_round_trip_seconds", "histogram", ("venue", "symbol"),
        "From an order sent to the venue's answer (a dry run: the configured simulated latency)."),
}  # fmt: skip
"""The latency histograms, by :attr:`LatencyFigures.name`."""

ORDER_STATUSES: Final = ("filled", "partial", "canceled", "rejected")
"""An order answer's final status (``OpsEvent`` kind ``order``, field ``status``)."""

_SPECS: Final = {spec.name: spec for spec in (*METRICS, *LATENCY_METRICS.values())}
_FAMILY: Final = {"gauge": GaugeMetricFamily, "counter": CounterMetricFamily}


class _Families:
    """The families of one scrape, created on their first sample, yielded in :data:`METRICS` order."""

    def __init__(self) -> None:
        self._made: dict[str, Metric] = {}

    def add(self, name: str, labels: Iterable[str], value: float) -> None:
        family = self._family(name)
        assert isinstance(family, GaugeMetricFamily | CounterMetricFamily)
        family.add_metric(list(labels), value)

    def histogram(self, spec: MetricSpec, labels: Iterable[str], figures: LatencyFigures) -> None:
        family = self._family(spec.name)
        assert isinstance(family, HistogramMetricFamily)
        buckets: list[tuple[str, float]] = []
        seen = 0
        for bound_ns, n in zip((*figures.bounds_ns, None), figures.counts, strict=True):
            seen += n
            buckets.append(("+Inf" if bound_ns is None else _go_float(bound_ns / NS_PER_S), float(seen)))
        family.add_metric(list(labels), buckets, figures.sum_ns / NS_PER_S)

    def _family(self, name: str) -> Metric:
        family = self._made.get(name)
        if family is None:
            spec = _SPECS[name]
            maker = HistogramMetricFamily if spec.kind == "histogram" else _FAMILY[spec.kind]
            family = self._made[name] = maker(spec.name, spec.help, labels=spec.labels)
        return family

    def __iter__(self) -> Iterator[Metric]:
        for name in _SPECS:
            if name in self._made:
                yield self._made[name]


def _go_float(x: float) -> str:
    # the exposition's spelling of a bucket bound ("5e-06", "0.0025", "1.0"); the library's helper is untyped
    text: str = floatToGoString(x)  # type: ignore[no-untyped-call]  # prometheus_client leaves it unannotated
    return text


class ArbCollector(Collector):
    """Builds the ``arb_`` families from an :class:`OpsHub` when Prometheus scrapes (see the module).

    ``alerts``: returns None or an object whose ``counters()`` returns ``{"sent": {channel: n},
    "failed": {channel: n}, "rate_limited": {channel: n}, "suppressed": n, "dropped": n}``.
    ``wall_ns``: the wall clock (int64 ns) for ``arb_snapshot_age_seconds``; injectable for tests.
    ``collect`` may be called from any thread.
    """

    def __init__(
        self,
        hub: OpsHub,
        *,
        alerts: Callable[[], Any] = lambda: None,
        wall_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.hub = hub
        self.alerts = alerts
        self.wall_ns = wall_ns
        self._lock = threading.Lock()
        self._cursor = 0  # the last event id folded into the counters
        self._counts: dict[tuple[str, tuple[str, ...]], float] = {}
        self._naked_open = False
        self._missed = 0
        self._unknown_latency: set[str] = set()

    def describe(self) -> Iterable[Metric]:
        # nothing to check at registration: the names are fixed in METRICS and cannot clash
        return ()

    def collect(self) -> Iterable[Metric]:
        snapshot = self.hub.latest()
        out = _Families()
        with self._lock:
            if snapshot is not None:
                self._fold(snapshot.symbol)
                self._zeros(snapshot)
            for (name, labels), value in self._counts.items():
                out.add(name, labels, value)
            out.add("arb_ops_events_missed", (), float(self._missed))
            naked = self._naked_open
        if snapshot is not None:
            self._snapshot(out, snapshot, naked)
        self._alerts(out)
        return list(out)

    # -- events -----------------------------------------------------------------------------------

    def _count(self, name: str, labels: tuple[str, ...], by: float = 1.0) -> None:
        key = (name, labels)
        self._counts[key] = self._counts.get(key, 0.0) + by

    def _fold(self, symbol: str) -> None:
        # events are folded only once a snapshot names the symbol they are labelled with; a driver
        # publishes its first snapshot with its first batch, before any fill or order answer
        events = self.hub.events_since(self._cursor)
        if not events:
            return
        first = events[0][0]
        if first > self._cursor + 1:
            self._missed += first - self._cursor - 1
        for _, event in events:
            self._event(event, symbol)
        self._cursor = events[-1][0]

    def _zeros(self, s: Snapshot) -> None:
        # the event counters whose label sets the snapshot names start at 0, so that Prometheus's
        # increase() and the alert rules see their first event (a series born at 1 shows no increase)
        self._counts.setdefault(("arb_halts", (s.symbol,)), 0.0)
        for name in (s.symbol, *(state.symbol for state in s.symbols)):
            for counter in ("arb_naked_legs", "arb_hedge_failures"):
                self._counts.setdefault((counter, (name,)), 0.0)
        for name, uses in ((s.symbol, s.limits), *((state.symbol, state.limits) for state in s.symbols)):
            for use in uses:
                self._counts.setdefault(("arb_breaches", (name, use.key)), 0.0)
        for feed in s.feeds:
            for name in ("arb_feed_disconnects", "arb_feed_stale_episodes"):
                self._counts.setdefault((name, (feed.venue, feed.symbol)), 0.0)
        for sym, accounts in self._books(s):
            for account in accounts:
                for status in ORDER_STATUSES:
                    self._counts.setdefault(("arb_order_answers", (account.venue, sym, status)), 0.0)

    @staticmethod
    def _books(s: Snapshot) -> list[tuple[str, tuple[VenueAccount, ...]]]:
        # (symbol, its venues' accounts): the one symbol's as the snapshot has them, or every symbol's
        if len(s.symbols) > 1:
            return [(state.symbol, state.accounts) for state in s.symbols]
        return [(s.symbol, s.accounts)]

    def _event(self, event: OpsEvent, symbol: str) -> None:
        # ``symbol``: the process's label, for events of the whole process (an account-wide breach, a halt)
        kind, venue, f = event.kind, event.venue, event.fields
        own = str(f.get("symbol") or symbol)  # the event's own symbol, when it names one
        self._count("arb_ops_events", (kind if kind in EVENT_KINDS else "other",))
        if kind == "order":
            self._count("arb_order_answers", (venue, own, str(f.get("status", ""))))
        elif kind == "fill":
            qty, price = _number(f.get("qty")), _number(f.get("price"))
            labels = (venue, own, str(f.get("side", "")), str(f.get("kind", "")))
            self._count("arb_traded_base", labels, qty)
            self._count("arb_traded_quote", labels, qty * price)
        elif kind == "breach":
            self._count("arb_breaches", (own, str(f.get("key", ""))))
        elif kind == "halt" and not event.resolved:
            self._count("arb_halts", (symbol,))
        elif kind == "naked_leg":
            self._naked_open = not event.resolved
            if not event.resolved:
                self._count("arb_naked_legs", (own,))
        elif kind == "hedge_failed":
            self._count("arb_hedge_failures", (own,))
        elif kind == "disconnect" and not event.resolved:
            self._count("arb_feed_disconnects", (venue, own))
        elif kind == "stale" and not event.resolved:
            self._count("arb_feed_stale_episodes", (venue, own))

    # -- the snapshot -----------------------------------------------------------------------------

    def _snapshot(self, out: _Families, s: Snapshot, naked: bool) -> None:
        sym, quote = s.symbol, s.quote_currency
        out.add("arb_info", (s.mode, sym, quote), 1.0)
        names = s.run_venues
        for name, title in zip(names, s.run_titles, strict=True):
            out.add("arb_venue_info", (name, title), 1.0)
        for buy, sell, direction in s.directions():
            out.add("arb_direction_info", (direction, names[buy], names[sell]), 1.0)
        if s.started_wall_ns:
            out.add("arb_start_time_seconds", (), s.started_wall_ns / NS_PER_S)
        out.add("arb_snapshot_timestamp_seconds", (sym,), s.ts_ns / NS_PER_S)
        out.add("arb_snapshot_age_seconds", (sym,), max(0, self.wall_ns() - s.wall_ns) / NS_PER_S)
        out.add("arb_event_loop_lag_seconds", (), s.loop_lag_ns / NS_PER_S)
        if s.mode == "record" or s.recorded_bytes:
            out.add("arb_recorded_bytes", (sym,), float(s.recorded_bytes))
        if s.recording_dir:
            usage = _disk_usage(s.recording_dir)
            if usage is not None:
                out.add("arb_disk_free_bytes", (s.recording_dir,), float(usage.free))
                out.add("arb_disk_size_bytes", (s.recording_dir,), float(usage.total))
        self._feeds(out, s)
        for v in s.venues:
            where = (v.venue, v.market)
            out.add("arb_venue_banned", where, float(v.banned))
            if v.banned:
                out.add("arb_venue_ban_end_seconds", where, v.banned_until_ns / NS_PER_S)
            out.add("arb_venue_rate_limited", where, float(v.held))
            out.add("arb_rate_limit_answers", where, float(v.rate_limited))
            out.add("arb_requests_held", where, float(v.held_requests))
        self._accounts(out, s)
        self._risk(out, s, naked)
        for figures in s.latencies:
            spec = LATENCY_METRICS.get(figures.name)
            if spec is None:
                if figures.name not in self._unknown_latency:
                    self._unknown_latency.add(figures.name)
                    log.warning("metrics: no histogram is named for latency %r; it is not exposed", figures.name)
                continue
            labels = (figures.venue, sym) if "venue" in spec.labels else (sym,)
            out.histogram(spec, labels, figures)

    def _feeds(self, out: _Families, s: Snapshot) -> None:
        for feed in s.feeds:
            labels = (feed.venue, feed.market, feed.symbol)
            out.add("arb_feed_connected", labels, float(feed.connected))
            out.add("arb_feed_synced", labels, float(feed.synced))
            out.add("arb_feed_stale", labels, float(feed.stale))
            out.add("arb_feed_endpoint_info", (*labels, feed.endpoint), 1.0)
            if feed.last_message_ns:
                out.add("arb_feed_message_age_seconds", labels, max(0, s.ts_ns - feed.last_message_ns) / NS_PER_S)
            out.add("arb_feed_messages", labels, float(feed.messages))
            out.add("arb_feed_gaps", labels, float(feed.gaps))
            out.add("arb_feed_resyncs", labels, float(feed.resyncs))
            out.add("arb_feed_reconnects", labels, float(feed.reconnects))
            out.add("arb_feed_decode_errors", labels, float(feed.decode_errors))

    def _accounts(self, out: _Families, s: Snapshot) -> None:
        sym, quote = s.symbol, s.quote_currency
        if not s.accounts:
            return
        for name, value in (("arb_equity", s.equity), ("arb_pnl", s.pnl), ("arb_fees", s.fees)):
            if math.isfinite(value):
                out.add(name, (sym, quote), value)
        several = len(s.symbols) > 1
        if several:  # the account's: each venue's quote and its orders of unknown outcome
            for a in s.accounts:
                out.add("arb_balance", (a.venue, sym, quote or "quote"), a.quote)
                out.add("arb_unknown_orders", (a.venue, sym), float(a.unknown_orders))
        states = s.symbols if several else (
            SymbolState(sym, s.accounts, s.spread_bps, s.entry_bps, s.pnl, s.fees, s.pairs),
        )  # fmt: skip
        by_name = {state.symbol: state for state in s.symbols}
        for state in states:
            self._symbol(out, state, quote, by_name.get(state.symbol, state), account=not several)
        self._inventory(out, s)

    def _inventory(self, out: _Families, s: Snapshot) -> None:
        # each symbol's coins and each venue's quote, available and reserved, and each direction's pairs left
        quote = s.quote_currency
        names = s.run_venues  # venue v of the inventory is the run's v-th
        for i, inv in enumerate(s.inventory):
            sym = inv.symbol
            base = sym.removesuffix(quote) if quote and sym.endswith(quote) and sym != quote else "base"
            for at, v in enumerate(inv.venues):
                venue = names[at] if at < len(names) else v.venue
                out.add("arb_balance_available", (venue, sym, base), v.base_available)
                out.add("arb_balance_reserved", (venue, sym, base), v.base_reserved)
                if i == 0:  # the venue's quote is the account's: once, under the process's symbol
                    out.add("arb_balance_available", (venue, s.symbol, quote or "quote"), v.quote_available)
                    out.add("arb_balance_reserved", (venue, s.symbol, quote or "quote"), v.quote_reserved)
            for d in inv.directions:
                if d.pairs_left is not None:
                    out.add("arb_pairs_left", (sym, direction_name(names, d.buy, d.sell)), float(d.pairs_left))

    def _symbol(self, out: _Families, state: SymbolState, quote: str, own: SymbolState, *, account: bool) -> None:
        # One symbol's series: its spread, pairs, PnL and, per venue, its position, coins, book and orders.
        # ``own``: the symbol's own state (its PnL and fees); ``account``: the venues' quote balance and
        # unknown orders are this symbol's to show (one symbol: the account's own figures)
        sym = state.symbol
        base = sym.removesuffix(quote) if quote and sym.endswith(quote) and sym != quote else "base"
        venues = [a.venue for a in state.accounts]
        # one series per direction (venue_pairs order); a figure the snapshot lacks is not known
        for (buy, sell), spread in zip(venue_pairs(len(venues)), state.spread_bps, strict=False):
            if math.isfinite(spread):
                out.add("arb_spread_bps", (sym, direction_name(venues, buy, sell)), spread)
        if math.isfinite(state.entry_bps):
            out.add("arb_entry_threshold_bps", (sym,), state.entry_bps)
        out.add("arb_pairs", (sym,), float(state.pairs))
        if math.isfinite(own.pnl):
            out.add("arb_symbol_pnl", (sym, quote), own.pnl)
        out.add("arb_symbol_fees", (sym, quote), own.fees)
        for a in state.accounts:
            labels = (a.venue, sym)
            out.add("arb_position", labels, a.position)
            out.add("arb_balance", (*labels, base), a.base)
            if account:
                out.add("arb_balance", (*labels, quote or "quote"), a.quote)
            for side, price in (("bid", a.bid), ("ask", a.ask)):
                if math.isfinite(price):
                    out.add("arb_best_price", (*labels, side), price)
            out.add("arb_open_orders", labels, float(a.open_orders))
            if account:
                out.add("arb_unknown_orders", labels, float(a.unknown_orders))
            out.add("arb_orders", labels, float(a.orders))
            out.add("arb_fills", labels, float(a.fills))
            for code, n in sorted(a.rejects.items()):
                out.add("arb_rejects", (*labels, code), float(n))

    def _risk(self, out: _Families, s: Snapshot, naked: bool) -> None:
        sym = s.symbol
        several = len(s.symbols) > 1
        limits = [(sym, s.limits)] + ([(state.symbol, state.limits) for state in s.symbols] if several else [])
        for name, uses in limits:
            for use in uses:
                labels = (name, use.key)
                if math.isfinite(use.value):
                    out.add("arb_risk_limit_use", labels, use.value)
                if math.isfinite(use.limit) and use.limit != 0:
                    out.add("arb_risk_limit", labels, use.limit)
                out.add("arb_risk_refusals", labels, float(use.refused))
        out.add("arb_halted", (sym,), float(bool(s.halted)))
        if s.halted:
            out.add("arb_halt_info", (sym, s.halted), 1.0)
        out.add("arb_paused", (sym,), float(bool(s.paused)))
        if s.paused:
            out.add("arb_pause_info", (sym, s.paused), 1.0)
        if s.accounts and several:
            for state in s.symbols:
                out.add("arb_naked_leg_open", (state.symbol,), float(state.naked))
        elif s.accounts:
            out.add("arb_naked_leg_open", (sym,), float(naked))

    # -- the alert service ------------------------------------------------------------------------

    def _alerts(self, out: _Families) -> None:
        service = self.alerts()
        if service is None:
            return
        try:
            counters = service.counters()
        except Exception:  # a broken alert service must not take /metrics down; logged with its cause
            log.exception("metrics: the alert service's counters could not be read")
            return
        for key in ("sent", "failed", "rate_limited"):
            for channel, n in sorted(dict(counters.get(key) or {}).items()):
                out.add(f"arb_alerts_{key}", (str(channel),), _number(n))
        out.add("arb_alerts_suppressed", (), _number(counters.get("suppressed", 0)))
        out.add("arb_alerts_dropped", (), _number(counters.get("dropped", 0)))


def _number(x: object) -> float:
    return float(x) if isinstance(x, int | float) else 0.0


def _disk_usage(path: str) -> Any:
    # the recording directory may not exist yet: measure the nearest existing parent
    p = Path(path).absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    try:
        return shutil.disk_usage(p)
    except OSError as error:
        log.debug("metrics: no disk usage for %s (%s)", path, error)
        return None


def setup(
    hub: OpsHub,
    *,
    alerts: Callable[[], Any] = lambda: None,
    registry: CollectorRegistry | None = None,
) -> Callable[[web.Application], None]:
    """Register the arb collector and the process collectors on ``registry`` (a new one if None),
    and return the route setup that serves it on ``GET /metrics`` for an
    :class:`~arb.ops.server.OpsServer`.

    The body is the Prometheus text format 0.0.4 (content type ``text/plain; version=0.0.4;
    charset=utf-8``) whatever the scraper's ``Accept`` says. ``alerts``: see :class:`ArbCollector`.
    Raises ``ValueError`` if ``registry`` already holds these collectors.
    """
    reg = registry if registry is not None else CollectorRegistry()
    reg.register(ArbCollector(hub, alerts=alerts))
    ProcessCollector(registry=reg)
    PlatformCollector(registry=reg)
    GCCollector(registry=reg)

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(reg), headers={"Content-Type": CONTENT_TYPE_PLAIN_0_0_4})

    def routes(app: web.Application) -> None:
        app.router.add_get("/metrics", metrics)

    return routes
