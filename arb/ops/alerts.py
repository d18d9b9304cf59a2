"""Alerts: a message to a person when something needs one, sent from a thread of its own.

Three parts, each testable alone:

* :class:`AlertRules` (pure, no I/O, no clock of its own) turns the hub's events and snapshots into
  :class:`Alert` records. Critical: a naked leg, a failed hedge, a halt, a risk breach or pause, a
  venue disconnected, stale or unsynced for ``[alerts] stale_after_s`` (judged on the snapshots'
  clock, with a "resolved" message when it is back). Info: a burst of book resyncs, an abnormal
  spread, low disk where recordings go, and a summary of the day at each UTC midnight.
* :class:`Dedup` sends the same key (kind, venue, symbol) once per ``cooldown_ns``; an episode's
  "resolved" message always goes when its start was announced. An episode that starts again within
  the cooldown after it was resolved is held, and announced when the cooldown ends if it is still on
  (a flapping venue sends "down", "resolved", then at most one message per cooldown).
* :class:`AlertService` reads the :class:`~arb.ops.snapshot.OpsHub` every ``poll_interval_ns`` in
  one daemon thread with its own asyncio loop, runs the rules and the dedup, and feeds one bounded
  queue per channel (:class:`TelegramSender`, :class:`WebhookSender`, :class:`EmailSender`). Each
  channel paces itself (``min_interval_ms``), gives up a request after ``timeout_ms``, retries a
  bounded number of times, and honours the service's rate-limit answer (HTTP 429 with
  ``retry_after``). A full queue drops the newest alert and counts it. The trading loop never calls
  into the service: it only appends to the hub, so a channel that hangs costs it nothing.

    service = AlertService.from_config(config, hub, mode="dry-run")   # None: no channel is on
    if service is not None:
        service.start()
        ...
        service.stop()                     # sends what is queued within 5 s, then ends the thread
        service.counters()                 # {"sent": {"telegram": 3}, "failed": {...}, ...}

Secrets (the Telegram token, the webhook URL, the SMTP password) are read from the environment when
the service is built and never appear in a log line or an exception's text.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import datetime as dt
import json
import logging
import math
import os
import shutil
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from typing import TYPE_CHECKING, Any, Final, Literal

import aiohttp
import aiosmtplib

from arb.events import ASSET_NAMES, NS_PER_MS, NS_PER_S
from arb.ops.snapshot import FeedHealth, OpsEvent, OpsHub, Snapshot

if TYPE_CHECKING:
    from arb.config import AlertsConfig, AppConfig, EmailChannel, TelegramChannel, WebhookChannel

__all__ = [
    "ABNORMAL_SPREAD",
    "ALERT_KINDS",
    "BREACH",
    "COMMAND",
    "CRITICAL",
    "DAILY_SUMMARY",
    "DISK_LOW",
    "HALT",
    "HEDGE_FAILED",
    "INFO",
    "LATENCY_MIN_SAMPLES",
    "MEMORY_HIGH",
    "NAKED_LEG",
    "ORDER_LATENCY",
    "PAUSED",
    "RESYNC_BURST",
    "TEST",
    "VENUE_DOWN",
    "Alert",
    "AlertRules",
    "AlertService",
    "Dedup",
    "EmailSender",
    "RateLimitedError",
    "SendError",
    "Sender",
    "Severity",
    "TelegramSender",
    "WebhookSender",
    "channels_from_config",
    "classify_http",
    "email_subject",
    "format_message",
    "histogram_quantile",
    "process_rss",
    "split_text",
    "status_text",
    "takes",
]

log = logging.getLogger(__name__)

Severity = Literal["critical", "info"]
CRITICAL: Final = "critical"
INFO: Final = "info"

# The alert kinds: the first part of an alert's key.
VENUE_DOWN: Final = "venue_down"  # critical, per venue and symbol; resolved when connected, synced and fresh
NAKED_LEG: Final = "naked_leg"  # critical; resolved when the lone leg is closed
HEDGE_FAILED: Final = "hedge_failed"  # critical
HALT: Final = "halt"  # critical; resolved when the halt is cleared
BREACH: Final = "breach"  # critical, per risk limit (the limit's key, and its symbol's, stand in the symbol's place)
PAUSED: Final = "paused"  # critical; resolved when the pause lifts
RESYNC_BURST: Final = "resync_burst"  # info, per venue
ABNORMAL_SPREAD: Final = "abnormal_spread"  # info
DISK_LOW: Final = "disk_low"  # info, per path; resolved when space is back
ORDER_LATENCY: Final = "order_latency"  # info, per venue; resolved when the window's p99 is back under
MEMORY_HIGH: Final = "memory_high"  # info; resolved when the resident memory is back under
COMMAND: Final = "command"  # info: the answer to a Telegram command ([alerts.telegram] commands), to its chat only
DAILY_SUMMARY: Final = "daily_summary"  # info, one per UTC day (the date stands in the symbol's place)
TEST: Final = "test"  # critical: a message sent by hand to check the channels (docs/monitoring.md)
ALERT_KINDS: Final = (
    VENUE_DOWN, NAKED_LEG, HEDGE_FAILED, HALT, BREACH, PAUSED, RESYNC_BURST, ABNORMAL_SPREAD, DISK_LOW,
    ORDER_LATENCY, MEMORY_HIGH, DAILY_SUMMARY, TEST, COMMAND,
)  # fmt: skip

DAY_NS: Final = 86_400 * NS_PER_S
MIB: Final = 1024 * 1024
TELEGRAM_MAX_CHARS: Final = 4096  # sendMessage's text limit (UTF-16 code units)
WEBHOOK_MAX_CHARS: Final = 2000  # Discord's content limit; Slack takes more
MAX_ATTEMPTS: Final = 3  # tries of one message on errors (timeouts, 5xx, refused connections)
MAX_RATE_LIMITED: Final = 5  # 429 answers honoured for one message before it is given up
RETRY_BACKOFF_NS: Final = (1 * NS_PER_S, 2 * NS_PER_S)  # wait before the 2nd and 3rd attempt
DEFAULT_RETRY_AFTER_NS: Final = 1 * NS_PER_S  # a 429 that does not say how long
SIGMA_MIN_SAMPLES: Final = 30  # spreads needed before the sigma rule judges
LATENCY_MIN_SAMPLES: Final = 20  # order round trips in the window before their p99 is judged
COMMAND_POLL_S: Final = 25  # getUpdates long polling: how long the Bot API may hold a request
KILL_CONFIRM_NS: Final = 60 * NS_PER_S  # "/kill confirm" within this of "/kill"
_DROP_LOG_EVERY: Final = 100


# --------------------------------------------------------------------------------------------------
# The record


@dataclass(frozen=True, slots=True)
class Alert:
    """One message to send.

    ``key`` = (kind, venue, symbol) is what the dedup compares. ``symbol`` holds what the alert is
    about when that is not a symbol: the risk limit's key for a breach, the path for low disk, the
    date for a daily summary. ``ts_ns``: the driver's clock when the condition was seen.
    """

    kind: str
    severity: Severity
    title: str
    text: str
    ts_ns: int
    venue: str = ""
    symbol: str = ""
    resolved: bool = False

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.venue, self.symbol)

    @classmethod
    def test(cls, text: str = "a test alert: this channel works", *, ts_ns: int | None = None) -> Alert:
        """A critical alert of kind ``test`` (every route takes it), for checking the channels."""
        return cls(TEST, CRITICAL, "test", text, time.time_ns() if ts_ns is None else ts_ns)


def takes(route: str, alert: Alert) -> bool:
    """True when a channel with ``route`` (``"all"`` or ``"critical"``) sends ``alert``."""
    return route == "all" or alert.severity == CRITICAL


def _tag(alert: Alert) -> str:
    if alert.resolved:
        return "[RESOLVED]"
    return "[CRITICAL]" if alert.severity == CRITICAL else "[INFO]"


def _utc(ts_ns: int) -> str:
    return dt.datetime.fromtimestamp(ts_ns / NS_PER_S, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def format_message(alert: Alert, mode: str) -> str:
    """The message's text: ``"[CRITICAL] title"``, the details, and where and when it happened."""
    return f"{_tag(alert)} {alert.title}\n{alert.text}\n(arb {mode}, {_utc(alert.ts_ns)})"


def email_subject(alert: Alert, mode: str) -> str:
    return f"[arb {mode}] {_tag(alert)} {alert.title}"


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int) -> list[str]:
    """``text`` in parts of at most ``limit`` UTF-16 code units (how Telegram counts), cut at line
    ends where possible. An empty text is one empty part."""
    if _utf16_len(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while _utf16_len(line) > limit:  # a line longer than a part: cut it by characters
            room = limit - _utf16_len(current)
            if room <= 0:
                parts.append(current)
                current, room = "", limit
            cut = room
            while _utf16_len(line[:cut]) > room:
                cut -= 1
            current += line[:cut]
            line = line[cut:]
            parts.append(current)
            current = ""
        if _utf16_len(current) + _utf16_len(line) > limit:
            parts.append(current)
            current = ""
        current += line
    if current:
        parts.append(current)
    return [p.rstrip("\n") or p for p in parts]


def _seconds(ns: int) -> str:
    return f"{ns / NS_PER_S:.0f} s" if ns >= 10 * NS_PER_S else f"{ns / NS_PER_S:.1f} s"


def _duration(ns: float) -> str:
    return f"{ns / NS_PER_MS:,.0f} ms" if ns >= NS_PER_MS else f"{ns / 1000:.0f} us"


def histogram_quantile(q: float, bounds_ns: Sequence[int], counts: Sequence[int]) -> float:
    """The ``q`` quantile (ns) of a histogram's samples (``counts[i]`` in the bucket up to
    ``bounds_ns[i]``, the last above the last bound), interpolated within its bucket as Prometheus's
    ``histogram_quantile`` does (the highest bound when it falls above it); nan without samples."""
    total = sum(counts)
    if total <= 0:
        return float("nan")
    rank = q * total
    seen = 0
    lower = 0.0
    for bound, n in zip(bounds_ns, counts, strict=False):
        if n and seen + n >= rank:
            return lower + (bound - lower) * (rank - seen) / n
        seen += n
        lower = float(bound)
    return float(bounds_ns[-1])


def status_text(snapshot: Snapshot | None, mode: str) -> str:
    """A running process in a few lines, for a phone: what it trades, halts and pauses, equity and PnL,
    each venue's position and orders, and any feed that is not well."""
    if snapshot is None:
        return f"{mode}: starting (no snapshot yet)"
    lines = [f"{snapshot.mode} {snapshot.symbol}: " + (f"HALTED ({snapshot.halted})" if snapshot.halted
             else f"PAUSED ({snapshot.paused})" if snapshot.paused else "trading")]  # fmt: skip
    if snapshot.accounts:
        q = snapshot.quote_currency
        lines.append(f"equity {_money(snapshot.equity, q)}, PnL {_money(snapshot.pnl, q)}, fees "
                     f"{_money(snapshot.fees, q)}, pairs {snapshot.pairs}")  # fmt: skip
    for state in snapshot.symbols:
        positions = ", ".join(f"{a.venue} {a.position:+g}" for a in state.accounts)
        orders = sum(a.open_orders for a in state.accounts)
        lines.append(f"{state.symbol}: {positions}; open orders {orders}" + ("; NAKED LEG" if state.naked else ""))
    unwell = [f"{f.venue} {f.symbol} " + ("disconnected" if not f.connected else "stale" if f.stale else "not synced")
              for f in snapshot.feeds if not f.connected or f.stale or not f.synced]  # fmt: skip
    lines.append("feeds: " + ("; ".join(unwell) if unwell else "all connected and synced"))
    return "\n".join(lines)


def process_rss() -> int | None:
    """This process's resident memory in bytes (Linux ``/proc/self/statm``); None elsewhere."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _money(x: float, currency: str) -> str:
    return f"{x:+.2f} {currency}" if math.isfinite(x) else "n/a"


# --------------------------------------------------------------------------------------------------
# The rules (pure)


@dataclass(slots=True)
class _Down:
    since_ns: int
    reason: str
    alerted: bool = False


@dataclass(slots=True)
class _Day:
    day: int  # days since the epoch (UTC)
    base_pnl: float  # the pnl (since the account's start) when the day began
    base: Snapshot  # the snapshot the day's figures are counted from
    last: Snapshot  # the latest snapshot of the day
    last_pnl: float  # the latest finite pnl


class AlertRules:
    """Turns hub events and snapshots into alerts. Pure: the time is the items' ``ts_ns``.

    Feed them in time order (:meth:`on_event`, :meth:`on_snapshot`, :meth:`on_disk`); each returns
    the alerts the item raises, before dedup (:class:`Dedup`) and routing (:func:`takes`).

    ``symbols``: the traded symbols. With several, a lone leg, a failed hedge, a per-symbol breach and
    an abnormal spread are alerted per symbol, each naming it in its title (and its dedup key), and the
    daily summary has a line per symbol.
    """

    def __init__(self, alerts: AlertsConfig, *, history: int = 3600, symbols: Sequence[str] = ()) -> None:
        self.config = alerts
        self.symbols = tuple(symbols)
        self._several = len(self.symbols) > 1
        self._history = history
        self._down: dict[tuple[str, str], _Down] = {}
        self._resyncs: dict[str, deque[int]] = {}
        self._spreads: dict[tuple[str, int], deque[float]] = {}  # per (symbol, direction)
        self._halted = False
        self._naked: set[str] = set()  # symbols ("" with one) whose lone leg is open
        self._paused = ""
        self._disk_low: set[str] = set()
        # per venue: (snapshot time, its order round-trip histogram counts), the window's and the one before
        self._round_trips: dict[str, deque[tuple[int, tuple[int, ...]]]] = {}
        self._slow: set[str] = set()  # venues whose slow order answers were alerted
        self._memory_high = False
        self._day: _Day | None = None
        self._halts: dict[int, int] = {}  # halts by UTC day (days since the epoch)
        self._handlers: dict[str, Callable[[OpsEvent], list[Alert]]] = {
            "naked_leg": self._on_naked_leg,
            "hedge_failed": self._on_hedge_failed,
            "halt": self._on_halt,
            "breach": self._on_breach,
            "resync": self._on_resync,
            "disk_low": self._on_disk_event,
        }

    # -- events ----------------------------------------------------------------------------------

    def on_event(self, event: OpsEvent) -> list[Alert]:
        """Alerts from one hub event; kinds without a rule (fills, orders, ...) give none.

        Disconnect and stale events are not used: a venue is judged on the snapshots' feed health,
        so a blip shorter than ``stale_after_ns`` says nothing.
        """
        handler = self._handlers.get(event.kind)
        return handler(event) if handler is not None else []

    def _symbol(self, event: OpsEvent) -> str:
        # the symbol an event names, when several are traded ("" otherwise: one symbol, as before)
        return str(event.fields.get("symbol") or "") if self._several else ""

    def _on_naked_leg(self, event: OpsEvent) -> list[Alert]:
        symbol = self._symbol(event)
        which = f"{symbol} " if symbol else ""
        if event.resolved:
            if symbol not in self._naked:
                return []
            self._naked.discard(symbol)
            return [Alert(NAKED_LEG, CRITICAL, f"{which}naked leg closed", event.text or "the lone leg is closed",
                          event.ts_ns, event.venue, symbol, resolved=True)]  # fmt: skip
        self._naked.add(symbol)
        return [Alert(NAKED_LEG, CRITICAL, f"{which}naked leg", event.text or "a leg is not hedged", event.ts_ns,
                      event.venue, symbol)]  # fmt: skip

    def _on_hedge_failed(self, event: OpsEvent) -> list[Alert]:
        symbol = self._symbol(event)
        title = f"{symbol} hedge failed" if symbol else "hedge failed"
        return [Alert(HEDGE_FAILED, CRITICAL, title, event.text or "a hedge failed", event.ts_ns, event.venue, symbol)]

    def _on_halt(self, event: OpsEvent) -> list[Alert]:
        if event.resolved:
            if not self._halted:
                return []
            self._halted = False
            return [Alert(HALT, CRITICAL, "halt cleared", event.text or "trading resumed", event.ts_ns, resolved=True)]
        self._halted = True
        day = event.ts_ns // DAY_NS
        self._halts[day] = self._halts.get(day, 0) + 1
        reason = str(event.fields.get("reason", "")) or event.text
        title = f"trading halted: {reason}"
        text = event.text if event.text and event.text != title else "no new pair until the halt is cleared"
        return [Alert(HALT, CRITICAL, title, text, event.ts_ns)]

    def _on_breach(self, event: OpsEvent) -> list[Alert]:
        key = str(event.fields.get("key", "")) or "risk"
        symbol = self._symbol(event)  # "" for an account-wide limit
        about = f"{symbol} {key}" if symbol else key
        return [Alert(BREACH, CRITICAL, f"risk limit: {about}", event.text or about, event.ts_ns, event.venue, about)]

    def _on_resync(self, event: OpsEvent) -> list[Alert]:
        window = self._resyncs.setdefault(event.venue, deque())
        window.append(event.ts_ns)
        while window and window[0] <= event.ts_ns - self.config.resync_window_ns:
            window.popleft()
        if len(window) < self.config.resync_burst:
            return []
        n = len(window)
        window.clear()  # the next burst counts afresh
        text = f"{event.venue}: {n} book resyncs within {_seconds(self.config.resync_window_ns)}"
        return [Alert(RESYNC_BURST, INFO, f"{event.venue} resync burst", text, event.ts_ns, event.venue)]

    def _on_disk_event(self, event: OpsEvent) -> list[Alert]:
        path = str(event.fields.get("path", ""))
        free = event.fields.get("free_bytes")
        if not isinstance(free, int | float):
            return []
        return self.on_disk(path, int(free), event.ts_ns)

    # -- disk ------------------------------------------------------------------------------------

    def on_disk(self, path: str, free_bytes: int, ts_ns: int) -> list[Alert]:
        """Free space measured where recordings go: an alert below ``disk_free_min_mb`` (once per
        episode), a resolved one when it is back above."""
        floor_mb = self.config.disk_free_min_mb
        free_mb = free_bytes / MIB
        if floor_mb > 0 and free_mb < floor_mb:
            if path in self._disk_low:
                return []
            self._disk_low.add(path)
            text = f"{free_mb:.0f} MB free where recordings go ({path}), below {floor_mb:.0f} MB"
            return [Alert(DISK_LOW, INFO, "low disk", text, ts_ns, symbol=path)]
        if path in self._disk_low:
            self._disk_low.discard(path)
            text = f"{free_mb:.0f} MB free again ({path})"
            return [Alert(DISK_LOW, INFO, "disk space back", text, ts_ns, symbol=path, resolved=True)]
        return []

    # -- the process -----------------------------------------------------------------------------

    def on_memory(self, rss_bytes: int, ts_ns: int) -> list[Alert]:
        """The process's resident memory: an alert above ``rss_max_mb`` (once per episode), a resolved
        one when it is back under."""
        limit_mb = self.config.rss_max_mb
        rss_mb = rss_bytes / MIB
        if limit_mb > 0 and rss_mb > limit_mb:
            if self._memory_high:
                return []
            self._memory_high = True
            text = f"the process uses {rss_mb:.0f} MB of memory, above {limit_mb:.0f} MB"
            return [Alert(MEMORY_HIGH, INFO, "memory high", text, ts_ns)]
        if not self._memory_high:
            return []
        self._memory_high = False
        return [Alert(MEMORY_HIGH, INFO, "memory back under", f"the process uses {rss_mb:.0f} MB again", ts_ns,
                      resolved=True)]  # fmt: skip

    # -- snapshots -------------------------------------------------------------------------------

    def on_snapshot(self, snapshot: Snapshot) -> list[Alert]:
        """Alerts from one snapshot: feeds down for too long (or back), a pause, an abnormal spread,
        and the summary of the day that ended when the snapshot is the first past a UTC midnight."""
        out = self._daily(snapshot)
        for feed in snapshot.feeds:
            out.extend(self._feed(feed, snapshot.ts_ns))
        out.extend(self._pause(snapshot))
        out.extend(self._spread(snapshot))
        out.extend(self._order_latency(snapshot))
        return out

    def _order_latency(self, snapshot: Snapshot) -> list[Alert]:
        # Each venue's order round trips of the last ``order_ack_window``: the snapshot's cumulative
        # histogram less the one at the window's start (none: the process is younger, all of them).
        limit = self.config.order_ack_p99_ns
        if limit <= 0:
            return []
        window = self.config.order_ack_window_ns
        start = snapshot.ts_ns - window
        out: list[Alert] = []
        for figures in snapshot.latencies:
            if figures.name != "order_round_trip" or not figures.venue:
                continue
            venue = figures.venue
            kept = self._round_trips.setdefault(venue, deque())
            kept.append((snapshot.ts_ns, figures.counts))
            while len(kept) > 1 and kept[1][0] <= start:
                kept.popleft()
            base_ts, base = kept[0]
            counts = [n - b for n, b in zip(figures.counts, base, strict=True)] if base_ts <= start else figures.counts
            n = sum(counts)
            p99 = histogram_quantile(0.99, figures.bounds_ns, counts)
            slow = n >= LATENCY_MIN_SAMPLES and p99 > limit
            seen = f"{venue}: order round trip p99 {_duration(p99)} over the last {_seconds(window)} ({n} orders)"
            if slow and venue not in self._slow:
                self._slow.add(venue)
                text = f"{seen}, above {_duration(limit)}"
                out.append(Alert(ORDER_LATENCY, INFO, f"{venue} orders slow", text, snapshot.ts_ns, venue))
            elif venue in self._slow and (n == 0 or (n >= LATENCY_MIN_SAMPLES and not slow)):
                self._slow.discard(venue)
                text = seen if n else f"{venue}: no order answered in the last {_seconds(window)}"
                out.append(Alert(ORDER_LATENCY, INFO, f"{venue} orders back to normal", text, snapshot.ts_ns, venue,
                                 resolved=True))  # fmt: skip
        return out

    def _feed(self, feed: FeedHealth, now: int) -> list[Alert]:
        key = (feed.venue, feed.symbol)
        reason = ""
        if not feed.connected:
            reason = "disconnected"
        elif feed.stale:
            reason = "stale (no book update)"
        elif not feed.synced:
            reason = "not synced (book resyncing)"
        down = self._down.get(key)
        if reason:
            if down is None:
                down = self._down[key] = _Down(now, reason)
            down.reason = reason
            if down.alerted or now - down.since_ns < self.config.stale_after_ns:
                return []
            down.alerted = True
            text = f"{feed.venue} {feed.symbol} {reason} for {_seconds(now - down.since_ns)}"
            if feed.last_message_ns:
                text += f"; last book update {_seconds(max(0, now - feed.last_message_ns))} ago"
            if feed.endpoint:
                text += f" ({feed.endpoint})"
            return [Alert(VENUE_DOWN, CRITICAL, f"{feed.venue} {feed.symbol} down", text, now, feed.venue, feed.symbol)]
        if down is None:
            return []
        del self._down[key]
        if not down.alerted:
            return []
        text = f"{feed.venue} {feed.symbol} is back after {_seconds(now - down.since_ns)} ({down.reason})"
        return [Alert(VENUE_DOWN, CRITICAL, f"{feed.venue} {feed.symbol} back", text, now, feed.venue, feed.symbol,
                      resolved=True)]  # fmt: skip

    def _pause(self, snapshot: Snapshot) -> list[Alert]:
        if snapshot.paused == self._paused:
            return []
        before, self._paused = self._paused, snapshot.paused
        if snapshot.paused:
            return [Alert(PAUSED, CRITICAL, f"trading paused: {snapshot.paused}",
                          f"no new pair until the pause lifts ({snapshot.paused})", snapshot.ts_ns,
                          symbol=snapshot.symbol)]  # fmt: skip
        return [Alert(PAUSED, CRITICAL, "pause lifted", f"the pause ({before}) lifted", snapshot.ts_ns,
                      symbol=snapshot.symbol, resolved=True)]  # fmt: skip

    def _spread(self, snapshot: Snapshot) -> list[Alert]:
        if len(snapshot.symbols) > 1:  # each symbol's spreads against its own history
            out: list[Alert] = []
            for state in snapshot.symbols:
                out.extend(self._symbol_spread(state.symbol, state.spread_bps, snapshot.ts_ns))
            return out
        return self._symbol_spread(snapshot.symbol, snapshot.spread_bps, snapshot.ts_ns)

    def _symbol_spread(self, symbol: str, spreads: tuple[float, float], ts_ns: int) -> list[Alert]:
        cfg = self.config
        found: list[str] = []
        for direction, value in enumerate(spreads):
            if not math.isfinite(value):
                continue
            buy, sell = ASSET_NAMES[direction], ASSET_NAMES[1 - direction]
            where = f"buying {buy}, selling {sell}"
            history = self._spreads.setdefault((symbol, direction), deque(maxlen=self._history))
            if cfg.abnormal_spread_bps > 0 and abs(value) > cfg.abnormal_spread_bps:
                found.append(f"{value:+.1f} bps {where} (beyond {cfg.abnormal_spread_bps:g} bps)")
            elif cfg.abnormal_spread_sigma > 0 and len(history) >= SIGMA_MIN_SAMPLES:
                mean = math.fsum(history) / len(history)
                std = math.sqrt(math.fsum((x - mean) ** 2 for x in history) / len(history))
                if std > 0 and abs(value - mean) > cfg.abnormal_spread_sigma * std:
                    found.append(f"{value:+.1f} bps {where}: {(value - mean) / std:+.1f} sigma from its mean "
                                 f"{mean:+.1f} bps")  # fmt: skip
            history.append(value)
        if not found:
            return []
        text = f"{symbol} spread " + "; ".join(found)
        return [Alert(ABNORMAL_SPREAD, INFO, f"{symbol} abnormal spread", text, ts_ns, symbol=symbol)]

    def _daily(self, snapshot: Snapshot) -> list[Alert]:
        day = snapshot.ts_ns // DAY_NS
        current = self._day
        pnl = snapshot.pnl
        if current is None:
            self._day = _Day(day, 0.0, snapshot, snapshot, pnl if math.isfinite(pnl) else 0.0)
            return []
        if day <= current.day:
            current.last = snapshot
            if math.isfinite(pnl):
                current.last_pnl = pnl
            return []
        out = [self._summary(current)] if self.config.daily_summary else []
        self._day = _Day(day, current.last_pnl, current.last, snapshot, current.last_pnl)
        if math.isfinite(pnl):
            self._day.last_pnl = pnl
        return out

    def _summary(self, day: _Day) -> Alert:
        base, last = day.base, day.last
        date = dt.datetime.fromtimestamp(day.day * DAY_NS / NS_PER_S, dt.UTC).strftime("%Y-%m-%d")
        lines = [f"{last.mode} {last.symbol}, {date} (UTC)"]
        if last.accounts:
            quote = last.quote_currency
            lines.append(f"pnl {_money(day.last_pnl - day.base_pnl, quote)}, fees {last.fees - base.fees:.2f} {quote}, "
                         f"pairs {last.pairs - base.pairs}")  # fmt: skip
            before = {a.venue: a.fills for a in base.accounts}
            fills = ", ".join(f"{a.venue} {a.fills - before.get(a.venue, 0)}" for a in last.accounts)
            lines.append(f"fills: {fills}")
            if len(last.symbols) > 1:  # each symbol's part of the day
                earlier = {state.symbol: state for state in base.symbols}
                for state in last.symbols:
                    then = earlier.get(state.symbol)
                    pnl = state.pnl - (then.pnl if then is not None and math.isfinite(then.pnl) else 0.0)
                    fees = state.fees - (then.fees if then is not None else 0.0)
                    pairs = state.pairs - (then.pairs if then is not None else 0)
                    done = {a.venue: a.fills for a in then.accounts} if then is not None else {}
                    own = ", ".join(f"{a.venue} {a.fills - done.get(a.venue, 0)}" for a in state.accounts)
                    lines.append(f"{state.symbol}: pnl {_money(pnl, quote)}, fees {fees:.2f} {quote}, pairs {pairs}, "
                                 f"fills {own}")  # fmt: skip
        lines.append(f"halts: {self._halts.get(day.day, 0)}")
        for old in [d for d in self._halts if d <= day.day]:
            del self._halts[old]
        feeds_before = {(f.venue, f.symbol): f for f in base.feeds}
        for feed in last.feeds:
            prior = feeds_before.get((feed.venue, feed.symbol))
            resyncs = feed.resyncs - (prior.resyncs if prior else 0)
            reconnects = feed.reconnects - (prior.reconnects if prior else 0)
            lines.append(f"{feed.venue} {feed.symbol}: {resyncs} resyncs, {reconnects} reconnects")
        if last.recorded_bytes:
            lines.append(f"recorded {(last.recorded_bytes - base.recorded_bytes) / MIB:.1f} MB")
        return Alert(DAILY_SUMMARY, INFO, f"summary of {date}", "\n".join(lines), last.ts_ns, symbol=date)


# --------------------------------------------------------------------------------------------------
# Dedup


@dataclass(slots=True)
class _KeyState:
    last_sent_ns: int
    announced: bool  # the latest firing of this key went out (and its resolution has not)
    pending: Alert | None = None  # a firing held back by the cooldown after a resolution


class Dedup:
    """One message per key per ``cooldown_ns`` (see the module docstring). ``now_ns``: the
    service's clock. ``suppressed`` counts the firings that were not sent when admitted."""

    def __init__(self, cooldown_ns: int) -> None:
        self.cooldown_ns = cooldown_ns
        self.suppressed = 0
        self._keys: dict[tuple[str, str, str], _KeyState] = {}

    def admit(self, alert: Alert, now_ns: int) -> Alert | None:
        """``alert`` if it is to be sent now, else ``None``."""
        state = self._keys.get(alert.key)
        if alert.resolved:
            if state is None or not state.announced:
                if state is not None and state.pending is not None:
                    state.pending = None  # the held episode ended unannounced: nothing to resolve
                return None
            state.announced = False
            return alert
        if state is None or now_ns - state.last_sent_ns >= self.cooldown_ns:
            self._keys[alert.key] = _KeyState(now_ns, True)
            return alert
        self.suppressed += 1
        if not state.announced:
            state.pending = alert
        return None

    def due(self, now_ns: int) -> list[Alert]:
        """Held firings whose cooldown ended (their episode still on): to be sent now."""
        out = []
        for state in self._keys.values():
            if state.pending is not None and now_ns - state.last_sent_ns >= self.cooldown_ns:
                out.append(state.pending)
                state.pending = None
                state.last_sent_ns = now_ns
                state.announced = True
        return out


# --------------------------------------------------------------------------------------------------
# Channels


class SendError(Exception):
    """A message was not delivered. ``reason`` carries no secret; ``retryable``: worth another try."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class RateLimitedError(Exception):
    """The service answered "too many requests": wait ``retry_after_ns`` before the next send."""

    def __init__(self, retry_after_ns: int) -> None:
        super().__init__(f"rate limited for {retry_after_ns / NS_PER_S:g} s")
        self.retry_after_ns = retry_after_ns


def classify_http(status: int) -> Literal["ok", "rate_limited", "retry", "fatal"]:
    """The one place that decides what an HTTP status means for a send: 2xx delivered; 429 wait
    and retry; 408 and 5xx retry; any other status will not get better by retrying."""
    if 200 <= status < 300:
        return "ok"
    if status == 429:
        return "rate_limited"
    if status == 408 or status >= 500:
        return "retry"
    return "fatal"


def _retry_after_ns(value: object) -> int | None:
    # seconds as a number or a numeric string; None when absent or not a number
    if isinstance(value, bool) or value is None:
        return None
    try:
        seconds = float(value) if isinstance(value, int | float | str) else float("nan")
    except ValueError:
        return None
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return int(seconds * NS_PER_S)


class Sender(abc.ABC):
    """One alert channel: where messages go, how it paces and which alerts it takes."""

    name: str = ""
    max_chars: int = 1_000_000  # longer messages are split into parts

    def __init__(self, *, route: str, min_interval_ns: int, timeout_ns: int) -> None:
        self.route = route
        self.min_interval_ns = min_interval_ns
        self.timeout_ns = timeout_ns

    async def open(self) -> None:  # noqa: B027 - an optional hook
        """Prepare (in the alert thread's loop) before the first send."""

    async def close(self) -> None:  # noqa: B027 - an optional hook
        """Release what :meth:`open` took."""

    @abc.abstractmethod
    async def deliver(self, text: str, subject: str) -> None:
        """Send one message part. Raises :class:`RateLimitedError` or :class:`SendError`."""

    def redact(self, text: str) -> str:
        """``text`` with this channel's secrets replaced by ``***``."""
        return text


class _HttpSender(Sender):
    """A channel that POSTs JSON with aiohttp (one session per channel)."""

    def __init__(self, *, route: str, min_interval_ns: int, timeout_ns: int) -> None:
        super().__init__(route=route, min_interval_ns=min_interval_ns, timeout_ns=timeout_ns)
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_ns / NS_PER_S))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _post(
        self, url: str, body: dict[str, Any], timeout_s: float | None = None
    ) -> tuple[int, Any, str | None]:
        # (status, the decoded JSON answer or None, the Retry-After header); errors without the URL
        await self.open()
        assert self._session is not None
        timeout = aiohttp.ClientTimeout(total=timeout_s) if timeout_s is not None else None
        try:
            async with self._session.post(url, json=body, timeout=timeout) as response:
                raw = await response.read()
                try:
                    answer = json.loads(raw) if raw else None
                except ValueError:
                    answer = None
                return response.status, answer, response.headers.get("Retry-After")
        except aiohttp.ClientConnectionError as error:
            raise SendError(f"connection failed ({type(error).__name__})", retryable=True) from None
        except aiohttp.ClientError as error:
            raise SendError(f"request failed ({type(error).__name__})", retryable=True) from None


class TelegramSender(_HttpSender):
    """``POST {base_url}/bot{token}/sendMessage`` with JSON ``chat_id`` and ``text``.

    Answers (Bot API): ``{"ok": true, "result": {...}}``; rate limited, HTTP 429
    ``{"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 3",
    "parameters": {"retry_after": 3}}`` (whole seconds).
    """

    name = "telegram"
    max_chars = TELEGRAM_MAX_CHARS

    def __init__(self, *, token: str, chat_id: str, base_url: str, route: str, min_interval_ns: int,
                 timeout_ns: int, commands: bool = False) -> None:  # fmt: skip
        super().__init__(route=route, min_interval_ns=min_interval_ns, timeout_ns=timeout_ns)
        self._token = token
        self.chat_id = chat_id
        self.commands = commands
        self._url = f"{base_url.rstrip('/')}/bot{token}/sendMessage"
        self._updates_url = f"{base_url.rstrip('/')}/bot{token}/getUpdates"

    async def get_updates(self, offset: int, timeout_s: int) -> list[dict[str, Any]]:
        """``POST getUpdates`` with ``offset`` (updates before it are confirmed, so never sent again;
        ``-1``: the newest alone) and ``timeout`` (long polling: the answer comes when a message does,
        or after ``timeout_s``): ``{"ok":true,"result":[{"update_id":7,"message":{"chat":{"id":4242},
        "date":1795348800,"text":"/status",...}}]}``. Raises :class:`RateLimitedError` or :class:`SendError`."""
        body = {"offset": offset, "timeout": timeout_s, "allowed_updates": ["message"]}
        status, answer, header = await self._post(self._updates_url, body, timeout_s + self.timeout_ns / NS_PER_S)
        outcome = classify_http(status)
        if outcome == "ok" and isinstance(answer, dict) and answer.get("ok") is True:
            result = answer.get("result")
            return [u for u in result if isinstance(u, dict)] if isinstance(result, list) else []
        if outcome == "rate_limited":
            params = answer.get("parameters") if isinstance(answer, dict) else None
            wait = _retry_after_ns(params.get("retry_after")) if isinstance(params, dict) else None
            raise RateLimitedError(wait if wait is not None else _retry_after_ns(header) or DEFAULT_RETRY_AFTER_NS)
        description = str(answer.get("description", "")) if isinstance(answer, dict) else ""
        raise SendError(self.redact(f"getUpdates: HTTP {status}" + (f": {description}" if description else "")),
                        retryable=outcome == "retry")  # fmt: skip

    def redact(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text

    async def deliver(self, text: str, subject: str) -> None:
        status, answer, header = await self._post(self._url, {"chat_id": self.chat_id, "text": text})
        outcome = classify_http(status)
        ok = isinstance(answer, dict) and answer.get("ok") is True
        if outcome == "ok" and ok:
            return
        description = str(answer.get("description", "")) if isinstance(answer, dict) else ""
        if outcome == "rate_limited":
            params = answer.get("parameters") if isinstance(answer, dict) else None
            wait = _retry_after_ns(params.get("retry_after")) if isinstance(params, dict) else None
            raise RateLimitedError(wait if wait is not None else _retry_after_ns(header) or DEFAULT_RETRY_AFTER_NS)
        reason = self.redact(f"HTTP {status}" + (f": {description}" if description else ""))
        raise SendError(reason, retryable=outcome == "retry")


class WebhookSender(_HttpSender):
    """A JSON POST of ``{"text": ..., "content": ...}``: Slack reads ``text``, Discord ``content``.

    Rate limited: HTTP 429 with a ``Retry-After`` header in seconds (Slack, Discord) or a JSON
    ``{"retry_after": 0.2}`` in seconds (Discord).
    """

    name = "webhook"
    max_chars = WEBHOOK_MAX_CHARS

    def __init__(self, *, url: str, route: str, min_interval_ns: int, timeout_ns: int) -> None:
        super().__init__(route=route, min_interval_ns=min_interval_ns, timeout_ns=timeout_ns)
        self._url = url  # a credential: never logged

    def redact(self, text: str) -> str:
        return text.replace(self._url, "***") if self._url else text

    async def deliver(self, text: str, subject: str) -> None:
        status, answer, header = await self._post(self._url, {"text": text, "content": text})
        outcome = classify_http(status)
        if outcome == "ok":
            return
        if outcome == "rate_limited":
            wait = _retry_after_ns(header)
            if wait is None and isinstance(answer, dict):
                wait = _retry_after_ns(answer.get("retry_after"))
            raise RateLimitedError(wait if wait is not None else DEFAULT_RETRY_AFTER_NS)
        raise SendError(f"HTTP {status}", retryable=outcome == "retry")


class EmailSender(Sender):
    """Mail through SMTP with aiosmtplib: ``security`` "starttls", "tls" (implicit) or "none"."""

    name = "email"

    def __init__(self, *, host: str, port: int, sender: str, to: Sequence[str], username: str = "",
                 password: str = "", security: str = "starttls", route: str = "critical",
                 min_interval_ns: int = 10 * NS_PER_S, timeout_ns: int = 30 * NS_PER_S) -> None:  # fmt: skip
        super().__init__(route=route, min_interval_ns=min_interval_ns, timeout_ns=timeout_ns)
        self.host, self.port, self.sender, self.to = host, port, sender, tuple(to)
        self.username = username
        self._password = password
        self.security = security

    def redact(self, text: str) -> str:
        return text.replace(self._password, "***") if self._password else text

    async def deliver(self, text: str, subject: str) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = ", ".join(self.to)
        message["Subject"] = subject
        message["Date"] = formatdate(usegmt=True)
        message.set_content(text)
        try:
            await aiosmtplib.send(
                message, hostname=self.host, port=self.port, username=self.username or None,
                password=self._password or None, use_tls=self.security == "tls",
                start_tls=self.security == "starttls", timeout=self.timeout_ns / NS_PER_S,
            )  # fmt: skip
        except aiosmtplib.SMTPResponseException as error:
            code = int(error.code)
            raise SendError(self.redact(f"SMTP {code}: {error.message}"), retryable=400 <= code < 500) from None
        except aiosmtplib.SMTPException as error:
            raise SendError(f"SMTP failed ({type(error).__name__})", retryable=True) from None
        except OSError as error:
            raise SendError(f"SMTP connection failed ({type(error).__name__})", retryable=True) from None


def channels_from_config(alerts: AlertsConfig) -> list[Sender]:
    """The enabled channels of ``[alerts]`` with their secrets read from the environment now.

    A channel whose secret's variable is unset is left out with a warning naming the variable.
    """
    out: list[Sender] = []
    telegram: TelegramChannel = alerts.telegram
    if telegram.token is not None:
        if telegram.token.is_set():
            out.append(TelegramSender(
                token=telegram.token.resolve(), chat_id=telegram.chat_id, base_url=telegram.base_url,
                route=telegram.route, min_interval_ns=telegram.min_interval_ns, timeout_ns=telegram.timeout_ns,
                commands=telegram.commands,
            ))  # fmt: skip
        else:
            log.warning("alerts: telegram is off: its token %s is not set", telegram.token.redacted())
    webhook: WebhookChannel = alerts.webhook
    if webhook.url is not None:
        if webhook.url.is_set():
            out.append(WebhookSender(
                url=webhook.url.resolve(), route=webhook.route, min_interval_ns=webhook.min_interval_ns,
                timeout_ns=webhook.timeout_ns,
            ))  # fmt: skip
        else:
            log.warning("alerts: the webhook is off: its url %s is not set", webhook.url.redacted())
    email: EmailChannel = alerts.email
    if email.enabled:
        password = ""
        if email.password is not None:
            if email.password.is_set():
                password = email.password.resolve()
            else:
                log.warning("alerts: email is off: its password %s is not set", email.password.redacted())
                return out
        out.append(EmailSender(
            host=email.host, port=email.port, sender=email.sender, to=email.to, username=email.username,
            password=password, security=email.security, route=email.route, min_interval_ns=email.min_interval_ns,
            timeout_ns=email.timeout_ns,
        ))  # fmt: skip
    return out


# --------------------------------------------------------------------------------------------------
# The service


@dataclass(slots=True)
class _Lane:
    sender: Sender
    queue: asyncio.Queue[Alert]
    next_ns: int = 0  # the service clock's time before which this channel sends nothing


@dataclass(slots=True)
class _Counters:
    sent: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    rate_limited: dict[str, int] = field(default_factory=dict)
    suppressed: int = 0
    dropped: int = 0


async def _sleep_ns(ns: int) -> None:
    await asyncio.sleep(ns / NS_PER_S)


class AlertService:
    """The rules, the dedup and the channels, in one daemon thread (see the module docstring).

    ``clock``: int64 ns for the cooldown and each channel's pacing (wall time by default; the rules
    use the hub items' own times). ``sleep``: how the channels wait, in ns (pacing, ``retry_after``,
    retry backoff); tests pass one that advances a driven clock. ``disk_usage``: free bytes at a path;
    ``rss``: the process's resident bytes (None when unknown), both checked every ``disk_check_ns``.
    ``symbols``: the traded symbols (see :class:`AlertRules`).

    With ``[alerts.telegram] commands`` on, the thread also reads the bot's messages (``getUpdates``,
    long polling ``command_poll_s``) and answers those from the configured chat: ``/status`` (the latest
    snapshot in a few lines), ``/kill`` then ``/kill confirm`` within a minute (:attr:`kill`, the kill
    switch of ``arb live``), anything else the list of commands. Messages from other chats are logged
    and not answered; messages sent before the process started are skipped, never obeyed.
    """

    def __init__(
        self,
        alerts: AlertsConfig,
        hub: OpsHub,
        channels: Sequence[Sender],
        *,
        mode: str,
        history: int = 3600,
        clock: Callable[[], int] = time.time_ns,
        sleep: Callable[[int], Awaitable[None]] = _sleep_ns,
        poll_interval_ns: int = 200 * NS_PER_MS,
        disk_check_ns: int = 5 * NS_PER_S,
        disk_usage: Callable[[str], int] = lambda path: shutil.disk_usage(path).free,
        rss: Callable[[], int | None] = lambda: process_rss(),
        symbols: Sequence[str] = (),
        command_poll_s: int = COMMAND_POLL_S,
    ) -> None:
        self.config = alerts
        self.hub = hub
        self.mode = mode
        self.channels = tuple(channels)
        self.channel_names: list[str] = [c.name for c in self.channels]
        self.rules = AlertRules(alerts, history=history, symbols=symbols)
        self.dedup = Dedup(alerts.cooldown_ns)
        self._clock = clock
        self._sleep = sleep
        self._poll_s = poll_interval_ns / NS_PER_S
        self._disk_check_ns = disk_check_ns
        self._disk_usage = disk_usage
        self._rss = rss
        self._command_poll_s = command_poll_s
        self.kill: Callable[[], None] | None = None
        """The kill switch a Telegram ``/kill confirm`` pulls (set by ``arb live``; None elsewhere). It is
        called in the alert thread: it must hand the work to the trading loop (``call_soon_threadsafe``)."""
        self._kill_asked_ns: int | None = None
        self._started_s = self._clock() // NS_PER_S
        self._next_disk_ns = 0
        self._event_cursor = 0
        self._snapshot_cursor = 0
        self._lock = threading.Lock()
        self._counters = _Counters(
            sent=dict.fromkeys(self.channel_names, 0), failed=dict.fromkeys(self.channel_names, 0),
            rate_limited=dict.fromkeys(self.channel_names, 0),
        )  # fmt: skip
        self._lanes: list[_Lane] = []
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._drain_s = 5.0

    @classmethod
    def from_config(
        cls, config: AppConfig, hub: OpsHub, *, mode: str, clock: Callable[[], int] = time.time_ns
    ) -> AlertService | None:
        """The service ``[alerts]`` asks for, or ``None`` when alerts are off or no channel is on."""
        if not config.alerts.enabled:
            return None
        channels = channels_from_config(config.alerts)
        if not channels:
            return None
        return cls(
            config.alerts, hub, channels, mode=mode, history=config.ops.history, clock=clock,
            symbols=config.symbol_names,
        )  # fmt: skip

    # -- life ------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the alert thread; returns once it reads the hub."""
        if self._thread is not None:
            return
        self._ready.clear()
        self._thread = threading.Thread(target=self._main, name="arb-alerts", daemon=True)
        self._thread.start()
        self._ready.wait(10.0)

    def stop(self, timeout_s: float = 5.0) -> None:
        """Read the hub a last time, send what is queued within ``timeout_s``, then end the thread
        (messages still queued or in flight then are given up)."""
        thread, loop, stopping = self._thread, self._loop, self._stopping
        if thread is None:
            return
        self._drain_s = timeout_s
        if loop is not None and stopping is not None:
            with contextlib.suppress(RuntimeError):  # the loop ended by itself already
                loop.call_soon_threadsafe(stopping.set)
        thread.join(timeout_s + 2.0)
        if thread.is_alive():
            log.warning("the alert thread did not end within %.1f s; it is a daemon and ends with the process",
                        timeout_s + 2.0)  # fmt: skip
        self._thread = None

    def counters(self) -> dict[str, Any]:
        """``{"sent": {channel: n}, "failed": {channel: n}, "rate_limited": {channel: n},
        "suppressed": n, "dropped": n}``: alerts sent, given up, 429 answers honoured, duplicates
        within the cooldown, alerts dropped on a full queue. Safe from any thread."""
        with self._lock:
            c = self._counters
            return {"sent": dict(c.sent), "failed": dict(c.failed), "rate_limited": dict(c.rate_limited),
                    "suppressed": c.suppressed, "dropped": c.dropped}  # fmt: skip

    def notify(self, alert: Alert) -> None:
        """Queue ``alert`` from any thread for every channel whose route takes it, past the rules
        and the dedup: a message by hand, such as ``Alert.test()``. The trading loop emits hub
        events instead. Raises ``RuntimeError`` when the service is not running."""
        loop = self._loop
        if loop is None:
            raise RuntimeError("the alert service is not running: call start() first")
        loop.call_soon_threadsafe(self._route, alert)

    # -- the thread ------------------------------------------------------------------------------

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._run())
        except Exception:  # the thread ends; trading goes on without alerts
            log.exception("alerts: the alert thread stopped on an error")
        finally:
            self._ready.set()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            self._loop = None

    async def _run(self) -> None:
        self._stopping = asyncio.Event()
        self._lanes = [_Lane(c, asyncio.Queue(maxsize=self.config.queue_size)) for c in self.channels]
        for lane in self._lanes:
            await lane.sender.open()
        try:
            async with asyncio.TaskGroup() as group:
                workers = [group.create_task(self._work(lane)) for lane in self._lanes]
                reader = group.create_task(self._read())
                commanders = [group.create_task(self._commands(lane)) for lane in self._lanes
                              if isinstance(lane.sender, TelegramSender) and lane.sender.commands]  # fmt: skip
                self._ready.set()
                await self._stopping.wait()
                reader.cancel()
                for commander in commanders:
                    commander.cancel()
                self._poll()  # what the driver published just before it stopped
                drained = asyncio.gather(*(lane.queue.join() for lane in self._lanes))
                try:
                    await asyncio.wait_for(drained, max(0.0, self._drain_s - 0.2))
                except TimeoutError:
                    left = sum(lane.queue.qsize() for lane in self._lanes)
                    log.warning("alerts: stopped with %d message(s) not sent within %.1f s", left, self._drain_s)
                for worker in workers:
                    worker.cancel()
        finally:
            for lane in self._lanes:
                await lane.sender.close()

    async def _read(self) -> None:
        while True:
            try:
                self._poll()
            except Exception:  # a bug in a rule must not end the alerts: log it and read on
                log.exception("alerts: reading the hub failed")
            await asyncio.sleep(self._poll_s)

    def _poll(self) -> None:
        # one look at the hub: new events and snapshots in time order through the rules
        events = self.hub.events_since(self._event_cursor)
        snapshots = self.hub.snapshots_since(self._snapshot_cursor)
        if events:
            self._event_cursor = events[-1][0]
        if snapshots:
            self._snapshot_cursor = snapshots[-1][0]
        items: list[tuple[int, int, int, OpsEvent | Snapshot]] = [(e.ts_ns, 0, n, e) for n, e in events]
        items.extend((s.ts_ns, 1, n, s) for n, s in snapshots)
        items.sort(key=lambda item: item[:3])
        alerts: list[Alert] = []
        for _, _, _, item in items:
            if isinstance(item, Snapshot):
                alerts.extend(self.rules.on_snapshot(item))
            else:
                alerts.extend(self.rules.on_event(item))
        alerts.extend(self._check_disk())
        self._admit(alerts)

    # -- commands (Telegram) ------------------------------------------------------------------------

    async def _commands(self, lane: _Lane) -> None:
        # Long-poll the bot's messages and answer them through the lane (its pacing, its retries).
        sender = lane.sender
        assert isinstance(sender, TelegramSender)
        offset = 0
        skipped = False
        while True:
            try:
                if not skipped:  # what was sent while arb was not running is confirmed unread
                    newest = await sender.get_updates(-1, 0)
                    ids = [u.get("update_id") for u in newest]
                    offset = max((i + 1 for i in ids if isinstance(i, int) and not isinstance(i, bool)), default=0)
                    skipped = True
                    continue
                updates = await sender.get_updates(offset, self._command_poll_s)
            except RateLimitedError as limited:
                await self._sleep(limited.retry_after_ns)
                continue
            except (SendError, TimeoutError) as error:
                log.warning("alerts: reading telegram commands failed: %s", sender.redact(str(error)))
                await self._sleep(RETRY_BACKOFF_NS[-1])
                continue
            for update in updates:
                update_id = update.get("update_id")
                if not isinstance(update_id, int) or isinstance(update_id, bool):
                    log.warning("alerts: a telegram update without an update_id skipped: %.500r", update)
                    continue
                offset = max(offset, update_id + 1)
                try:
                    answer = self._command(update, sender.chat_id)
                except Exception:  # one bad message must not end the commands (or the alerts)
                    log.exception("alerts: a telegram command failed: %.500r", update)
                    continue
                if answer is not None:
                    self._enqueue(lane, answer)

    def _command(self, update: dict[str, Any], chat_id: str) -> Alert | None:
        """The answer to one update (None: not a message to answer)."""
        message = update.get("message")
        if not isinstance(message, dict) or not isinstance(message.get("text"), str):
            return None
        chat = message.get("chat")
        sender_chat = str(chat.get("id", "")) if isinstance(chat, dict) else ""
        if sender_chat != chat_id:
            log.warning("alerts: a telegram command from chat %s ignored: only chat %s is obeyed", sender_chat, chat_id)
            return None
        date = message.get("date")
        if isinstance(date, int) and date < self._started_s:
            return None  # sent before this process started: never obeyed late
        now = self._clock()
        words = message["text"].strip().split()
        command = words[0].split("@")[0].lower() if words else ""
        if command == "/status":
            return self._answer("status", status_text(self.hub.latest(), self.mode))
        if command != "/kill":
            return self._answer("commands", "/status: positions, PnL, halts, feeds\n"
                                            "/kill, then /kill confirm within 60 s: the kill switch of arb live "
                                            "(halt new pairs, cancel every open order, flatten, stop)")  # fmt: skip
        if self.kill is None:
            return self._answer("kill switch", f"no kill switch here: this is a {self.mode}; it reaches arb live only")
        if words[1:] != ["confirm"]:
            self._kill_asked_ns = now
            return self._answer("kill switch", "reply /kill confirm within 60 s to halt new pairs, cancel every "
                                               "open order, flatten every net position and stop arb live")  # fmt: skip
        asked, self._kill_asked_ns = self._kill_asked_ns, None
        if asked is None or now - asked > KILL_CONFIRM_NS:
            return self._answer("kill switch", "nothing to confirm: send /kill first, then /kill confirm within 60 s")
        log.warning("alerts: the kill switch was pulled from telegram (chat %s)", chat_id)
        self.kill()
        return self._answer("kill switch", "pulled: arb live halts new pairs, cancels every open order, "
                                           "flattens and stops")  # fmt: skip

    def _answer(self, title: str, text: str) -> Alert:
        return Alert(COMMAND, INFO, title, text, self._clock())

    def _check_disk(self) -> list[Alert]:
        # The host's side, every disk_check_ns: free space where recordings go, the process's memory.
        now = self._clock()
        latest = self.hub.latest()
        if latest is None or now < self._next_disk_ns:
            return []
        self._next_disk_ns = now + self._disk_check_ns
        out: list[Alert] = []
        if self.config.rss_max_mb > 0 and (rss := self._rss()) is not None:
            out.extend(self.rules.on_memory(rss, latest.ts_ns))
        if not latest.recording_dir:
            return out
        try:
            free = self._disk_usage(latest.recording_dir)
        except OSError as error:
            log.debug("alerts: free space of %s unknown: %s", latest.recording_dir, error)
            return out
        return out + self.rules.on_disk(latest.recording_dir, free, latest.ts_ns)

    def _admit(self, alerts: list[Alert]) -> None:
        now = self._clock()
        suppressed = self.dedup.suppressed
        out = [a for a in (self.dedup.admit(alert, now) for alert in alerts) if a is not None]
        out.extend(self.dedup.due(now))
        with self._lock:
            self._counters.suppressed += self.dedup.suppressed - suppressed
        for alert in out:
            self._route(alert)

    def _route(self, alert: Alert) -> None:
        for lane in self._lanes:
            if takes(lane.sender.route, alert):
                self._enqueue(lane, alert)

    def _enqueue(self, lane: _Lane, alert: Alert) -> None:
        try:
            lane.queue.put_nowait(alert)
        except asyncio.QueueFull:
            with self._lock:
                self._counters.dropped += 1
                dropped = self._counters.dropped
            if dropped % _DROP_LOG_EVERY == 1:
                log.warning("alerts: the %s queue is full (%d): dropped %r (%d dropped so far)",
                            lane.sender.name, lane.queue.maxsize, alert.title, dropped)  # fmt: skip

    def _count(self, which: str, channel: str) -> None:
        with self._lock:
            table: dict[str, int] = getattr(self._counters, which)
            table[channel] = table.get(channel, 0) + 1

    async def _work(self, lane: _Lane) -> None:
        while True:
            alert = await lane.queue.get()
            try:
                await self._deliver(lane, alert)
            except Exception as error:  # noqa: BLE001 - a bug in one channel must not stop the others
                self._count("failed", lane.sender.name)
                log.warning("alerts: %s failed on %r: %s", lane.sender.name, alert.title,
                            lane.sender.redact(f"{type(error).__name__}: {error}"))  # fmt: skip
            finally:
                lane.queue.task_done()

    async def _deliver(self, lane: _Lane, alert: Alert) -> None:
        sender = lane.sender
        parts = split_text(format_message(alert, self.mode), sender.max_chars)
        subject = email_subject(alert, self.mode)
        for part in parts:
            reason = await self._deliver_part(lane, part, subject)
            if reason:
                self._count("failed", sender.name)
                log.warning("alerts: %s did not send %r: %s", sender.name, alert.title, reason)
                return
        self._count("sent", sender.name)
        log.debug("alerts: %s sent %r", sender.name, alert.title)

    async def _deliver_part(self, lane: _Lane, text: str, subject: str) -> str:
        # "" once delivered, else why it was given up
        sender = lane.sender
        attempts = rate_limited = 0
        while True:
            wait = lane.next_ns - self._clock()
            if wait > 0:
                await self._sleep(wait)
            lane.next_ns = self._clock() + sender.min_interval_ns
            try:
                async with asyncio.timeout(sender.timeout_ns / NS_PER_S):
                    await sender.deliver(text, subject)
                return ""
            except RateLimitedError as limited:
                self._count("rate_limited", sender.name)
                rate_limited += 1
                if rate_limited > MAX_RATE_LIMITED:
                    return f"rate limited {rate_limited} times"
                lane.next_ns = max(lane.next_ns, self._clock() + limited.retry_after_ns)
                log.warning("alerts: %s is rate limited: waiting %.1f s", sender.name,
                            limited.retry_after_ns / NS_PER_S)  # fmt: skip
                continue
            except TimeoutError:
                reason = f"no answer within {sender.timeout_ns / NS_PER_S:g} s"
            except SendError as failed:
                reason = sender.redact(failed.reason)
                if not failed.retryable:
                    return reason
            attempts += 1
            if attempts >= MAX_ATTEMPTS:
                return f"{reason} ({attempts} attempts)"
            log.debug("alerts: %s attempt %d failed: %s", sender.name, attempts, reason)
            backoff = RETRY_BACKOFF_NS[min(attempts, len(RETRY_BACKOFF_NS)) - 1]
            lane.next_ns = max(lane.next_ns, self._clock() + backoff)
