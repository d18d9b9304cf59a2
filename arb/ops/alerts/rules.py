"""The alert rules: hub events and snapshots in, :class:`~arb.ops.alerts.model.Alert` records out.
Pure: no I/O and no clock of their own (the time is the items' ``ts_ns``).

Critical: a naked leg, a failed hedge, a halt, a risk breach or pause, a venue disconnected, stale
or unsynced for ``[alerts] stale_after_s`` (judged on the snapshots' clock, with a "resolved"
message when it is back), a venue that banned us (at once: nothing at all goes to it, hedges
included, until the ban ends; "resolved" when it has). Info: a venue whose new orders a rate limit
has held for ``stale_after_s``, a burst of book resyncs, an abnormal spread, slow order answers,
low disk where recordings go, high memory, and a summary of the day at each UTC midnight.

Venues are named as the run names them: the snapshots' (:attr:`~arb.ops.snapshot.Snapshot.run_venues`),
else the ``venues`` the rules were made with (``config.venue_names``). A spread is judged per direction,
each ordered pair of the run's venues, against that direction's own history.
"""

from __future__ import annotations

__all__ = ["DAY_NS", "LATENCY_MIN_SAMPLES", "MIB", "SIGMA_MIN_SAMPLES", "AlertRules", "histogram_quantile"]

import datetime as dt
import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from arb.events import NS_PER_MS, NS_PER_S
from arb.ops.alerts.model import Alert, AlertKind, money_change, utc_time
from arb.ops.snapshot import FeedHealth, OpsEvent, Snapshot, VenueLimits, venue_pairs

if TYPE_CHECKING:
    from arb.config import AlertsConfig

DAY_NS: Final = 86_400 * NS_PER_S
MIB: Final = 1024 * 1024
SIGMA_MIN_SAMPLES: Final = 30  # spreads needed before the sigma rule judges
LATENCY_MIN_SAMPLES: Final = 20  # order round trips in the window before their p99 is judged


def _seconds(ns: int) -> str:
    return f"{ns / NS_PER_S:.0f} s" if ns >= 10 * NS_PER_S else f"{ns / NS_PER_S:.1f} s"


def _duration(ns: float) -> str:
    return f"{ns / NS_PER_MS:,.0f} ms" if ns >= NS_PER_MS else f"{ns / 1000:.0f} us"


def _venues_of(directions: int) -> int:
    # the number of venues n whose n(n-1) directions are ``directions`` (0 when none is)
    n = 2
    while n * (n - 1) < directions:
        n += 1
    return n if n * (n - 1) == directions else 0


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
    daily summary has a line per symbol. ``venues``: the run's venues in order (``config.venue_names``),
    what a snapshot that does not name its own venues is read with.
    """

    def __init__(
        self, alerts: AlertsConfig, *, history: int = 3600, symbols: Sequence[str] = (), venues: Sequence[str] = ()
    ) -> None:
        self.config = alerts
        self.symbols = tuple(symbols)
        self.venues = tuple(venues)
        self._several = len(self.symbols) > 1
        self._history = history
        self._down: dict[tuple[str, str], _Down] = {}
        self._resyncs: dict[str, deque[int]] = {}
        self._spreads: dict[tuple[str, str], deque[float]] = {}  # per (symbol, direction's name)
        self._halted = False
        self._naked: set[str] = set()  # symbols ("" with one) whose lone leg is open
        self._paused = ""
        self._disk_low: set[str] = set()
        # per venue: (snapshot time, its order round-trip histogram counts), the window's and the one before
        self._round_trips: dict[str, deque[tuple[int, tuple[int, ...]]]] = {}
        self._slow: set[str] = set()  # venues whose slow order answers were alerted
        self._memory_high = False
        self._banned: set[tuple[str, str]] = set()  # (venue, market) whose ban was alerted
        self._held: dict[tuple[str, str], _Down] = {}  # (venue, market) whose optional traffic a rate limit holds
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
            return [Alert(AlertKind.NAKED_LEG, f"{which}naked leg closed", event.text or "the lone leg is closed",
                          event.ts_ns, event.venue, symbol, resolved=True)]  # fmt: skip
        self._naked.add(symbol)
        return [Alert(AlertKind.NAKED_LEG, f"{which}naked leg", event.text or "a leg is not hedged", event.ts_ns,
                      event.venue, symbol)]  # fmt: skip

    def _on_hedge_failed(self, event: OpsEvent) -> list[Alert]:
        symbol = self._symbol(event)
        title = f"{symbol} hedge failed" if symbol else "hedge failed"
        return [Alert(AlertKind.HEDGE_FAILED, title, event.text or "a hedge failed", event.ts_ns, event.venue, symbol)]

    def _on_halt(self, event: OpsEvent) -> list[Alert]:
        if event.resolved:
            if not self._halted:
                return []
            self._halted = False
            return [Alert(AlertKind.HALT, "halt cleared", event.text or "trading resumed", event.ts_ns, resolved=True)]
        self._halted = True
        day = event.ts_ns // DAY_NS
        self._halts[day] = self._halts.get(day, 0) + 1
        reason = str(event.fields.get("reason", "")) or event.text
        title = f"trading halted: {reason}"
        text = event.text if event.text and event.text != title else "no new pair until the halt is cleared"
        return [Alert(AlertKind.HALT, title, text, event.ts_ns)]

    def _on_breach(self, event: OpsEvent) -> list[Alert]:
        key = str(event.fields.get("key", "")) or "risk"
        symbol = self._symbol(event)  # "" for an account-wide limit
        about = f"{symbol} {key}" if symbol else key
        return [Alert(AlertKind.BREACH, f"risk limit: {about}", event.text or about, event.ts_ns, event.venue, about)]

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
        return [Alert(AlertKind.RESYNC_BURST, f"{event.venue} resync burst", text, event.ts_ns, event.venue)]

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
            return [Alert(AlertKind.DISK_LOW, "low disk", text, ts_ns, symbol=path)]
        if path in self._disk_low:
            self._disk_low.discard(path)
            text = f"{free_mb:.0f} MB free again ({path})"
            return [Alert(AlertKind.DISK_LOW, "disk space back", text, ts_ns, symbol=path, resolved=True)]
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
            return [Alert(AlertKind.MEMORY_HIGH, "memory high", text, ts_ns)]
        if not self._memory_high:
            return []
        self._memory_high = False
        return [Alert(AlertKind.MEMORY_HIGH, "memory back under", f"the process uses {rss_mb:.0f} MB again", ts_ns,
                      resolved=True)]  # fmt: skip

    # -- snapshots -------------------------------------------------------------------------------

    def on_snapshot(self, snapshot: Snapshot) -> list[Alert]:
        """Alerts from one snapshot: feeds down for too long (or back), a pause, an abnormal spread, slow
        order answers, a venue's ban or rate limit (or its end), and the summary of the day that ended
        when the snapshot is the first past a UTC midnight."""
        out = self._daily(snapshot)
        for feed in snapshot.feeds:
            out.extend(self._feed(feed, snapshot.ts_ns))
        out.extend(self._pause(snapshot))
        out.extend(self._spread(snapshot))
        out.extend(self._order_latency(snapshot))
        for limits in snapshot.venues:
            out.extend(self._venue_limits(limits, snapshot.ts_ns, self._names(snapshot)))
        return out

    def _names(self, snapshot: Snapshot) -> tuple[str, ...]:
        # the run's venues: the snapshot's own, else those the rules were made with
        return snapshot.run_venues or self.venues

    def _venue_limits(self, limits: VenueLimits, now: int, names: Sequence[str]) -> list[Alert]:
        # A ban at once (nothing goes to the venue, hedges included); a rate limit's hold of new orders
        # once it has lasted ``stale_after``; each "resolved" when it is over.
        key = (limits.venue, limits.market)
        where = f"{limits.venue} {limits.market}"
        if limits.banned:
            held = self._held.pop(key, None)
            if key in self._banned:
                return []
            self._banned.add(key)
            until = limits.banned_until_ns
            others = [name for name in names if name != limits.venue]
            elsewhere = "the other venue" if len(others) <= 1 else f"the other venues ({', '.join(others)})"
            text = (f"{where}: {limits.reason or 'banned'}. Nothing at all goes to {limits.venue} until "
                    f"{utc_time(until)} (in {_seconds(max(0, until - now))}): no new pair, no cancel, hedges and "
                    f"unwinds go to {elsewhere}")  # fmt: skip
            if held is not None and held.alerted:
                text += f" (it was rate limited for {_seconds(now - held.since_ns)} before)"
            return [Alert(AlertKind.VENUE_BAN, f"{limits.venue} BANNED until {utc_time(until)}", text, now,
                          limits.venue, limits.market)]  # fmt: skip
        out: list[Alert] = []
        if key in self._banned:
            self._banned.discard(key)
            text = f"{where}: the ban has ended; requests go to {limits.venue} again"
            out.append(Alert(AlertKind.VENUE_BAN, f"{limits.venue} ban over", text, now, limits.venue, limits.market,
                             resolved=True))  # fmt: skip
        held = self._held.get(key)
        if limits.held:
            if held is None:
                held = self._held[key] = _Down(now, limits.reason)
            held.reason = limits.reason or held.reason
            if not held.alerted and now - held.since_ns >= self.config.stale_after_ns:
                held.alerted = True
                text = (f"{where}: {held.reason or 'rate limited'}: new pairs and quotes held for "
                        f"{_seconds(now - held.since_ns)}, until {utc_time(limits.held_until_ns)} at the earliest "
                        "(hedges and cancels still go)")  # fmt: skip
                out.append(Alert(AlertKind.RATE_LIMITED, f"{limits.venue} rate limited", text, now, limits.venue,
                                 limits.market))  # fmt: skip
        elif held is not None:
            del self._held[key]
            if held.alerted:
                text = f"{where}: no rate limit holds new orders any more, after {_seconds(now - held.since_ns)}"
                out.append(Alert(AlertKind.RATE_LIMITED, f"{limits.venue} rate limit over", text, now, limits.venue,
                                 limits.market, resolved=True))  # fmt: skip
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
                out.append(Alert(AlertKind.ORDER_LATENCY, f"{venue} orders slow", text, snapshot.ts_ns, venue))
            elif venue in self._slow and (n == 0 or (n >= LATENCY_MIN_SAMPLES and not slow)):
                self._slow.discard(venue)
                text = seen if n else f"{venue}: no order answered in the last {_seconds(window)}"
                out.append(Alert(AlertKind.ORDER_LATENCY, f"{venue} orders back to normal", text, snapshot.ts_ns, venue,
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
            return [Alert(AlertKind.VENUE_DOWN, f"{feed.venue} {feed.symbol} down", text, now, feed.venue, feed.symbol)]
        if down is None:
            return []
        del self._down[key]
        if not down.alerted:
            return []
        text = f"{feed.venue} {feed.symbol} is back after {_seconds(now - down.since_ns)} ({down.reason})"
        return [Alert(AlertKind.VENUE_DOWN, f"{feed.venue} {feed.symbol} back", text, now, feed.venue, feed.symbol,
                      resolved=True)]  # fmt: skip

    def _pause(self, snapshot: Snapshot) -> list[Alert]:
        if snapshot.paused == self._paused:
            return []
        before, self._paused = self._paused, snapshot.paused
        if snapshot.paused:
            return [Alert(AlertKind.PAUSED, f"trading paused: {snapshot.paused}",
                          f"no new pair until the pause lifts ({snapshot.paused})", snapshot.ts_ns,
                          symbol=snapshot.symbol)]  # fmt: skip
        return [Alert(AlertKind.PAUSED, "pause lifted", f"the pause ({before}) lifted", snapshot.ts_ns,
                      symbol=snapshot.symbol, resolved=True)]  # fmt: skip

    def _spread(self, snapshot: Snapshot) -> list[Alert]:
        names = self._names(snapshot)
        if len(snapshot.symbols) > 1:  # each symbol's spreads against its own history
            out: list[Alert] = []
            for state in snapshot.symbols:
                out.extend(self._symbol_spread(state.symbol, state.spread_bps, snapshot.ts_ns, names))
            return out
        return self._symbol_spread(snapshot.symbol, snapshot.spread_bps, snapshot.ts_ns, names)

    def _symbol_spread(self, symbol: str, spreads: Sequence[float], ts_ns: int, names: Sequence[str]) -> list[Alert]:
        # ``spreads``: one per direction, in venue_pairs order over the run's venues (``names``)
        cfg = self.config
        found: list[str] = []
        n_venues = len(names) if names else _venues_of(len(spreads))
        for (b, s), value in zip(venue_pairs(n_venues), spreads, strict=False):
            if not math.isfinite(value):
                continue
            buy, sell = (names[b], names[s]) if names else (f"venue {b}", f"venue {s}")
            where = f"buying {buy}, selling {sell}"
            history = self._spreads.setdefault((symbol, f"{buy}>{sell}"), deque(maxlen=self._history))
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
        return [Alert(AlertKind.ABNORMAL_SPREAD, f"{symbol} abnormal spread", text, ts_ns, symbol=symbol)]

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
            day_pnl = money_change(day.last_pnl - day.base_pnl, quote)
            lines.append(f"pnl {day_pnl}, fees {last.fees - base.fees:.2f} {quote}, pairs {last.pairs - base.pairs}")
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
                    lines.append(f"{state.symbol}: pnl {money_change(pnl, quote)}, fees {fees:.2f} {quote}, "
                                 f"pairs {pairs}, fills {own}")  # fmt: skip
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
        return Alert(AlertKind.DAILY_SUMMARY, f"summary of {date}", "\n".join(lines), last.ts_ns, symbol=date)
