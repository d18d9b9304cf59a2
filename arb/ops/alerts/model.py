"""The alert record, its kinds and how a message is worded for a channel (pure, no I/O)."""

from __future__ import annotations

__all__ = [
    "Alert",
    "AlertKind",
    "Severity",
    "email_subject",
    "format_message",
    "money_change",
    "split_text",
    "takes",
    "utc_time",
]

import datetime as dt
import time
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from typing import Final

from arb.events import NS_PER_S
from arb.formats import money


class Severity(StrEnum):
    CRITICAL = "critical"
    INFO = "info"


class AlertKind(StrEnum):
    """The alert kinds: the first part of an alert's key. Each has one severity (:attr:`severity`)."""

    VENUE_DOWN = "venue_down"  # critical, per venue and symbol; resolved when connected, synced and fresh
    NAKED_LEG = "naked_leg"  # critical; resolved when the lone leg is closed
    HEDGE_FAILED = "hedge_failed"  # critical
    HALT = "halt"  # critical; resolved when the halt is cleared
    BREACH = "breach"  # critical, per risk limit (the limit's key, and its symbol's, stand in the symbol's place)
    PAUSED = "paused"  # critical; resolved when the pause lifts
    TEST = "test"  # critical: a message sent by hand to check the channels (docs/monitoring.md)
    RESYNC_BURST = "resync_burst"  # info, per venue
    ABNORMAL_SPREAD = "abnormal_spread"  # info
    DISK_LOW = "disk_low"  # info, per path; resolved when space is back
    VENUE_BAN = "venue_ban"  # critical, per venue and market; resolved when the ban ends
    RATE_LIMITED = "rate_limited"  # info, per venue and market; resolved when the rate limit's hold ends
    ORDER_LATENCY = "order_latency"  # info, per venue; resolved when the window's p99 is back under
    MEMORY_HIGH = "memory_high"  # info; resolved when the resident memory is back under
    DAILY_SUMMARY = "daily_summary"  # info, one per UTC day (the date stands in the symbol's place)
    COMMAND = "command"  # info: the answer to a Telegram command ([alerts.telegram] commands), to its chat only

    @property
    def severity(self) -> Severity:
        return Severity.CRITICAL if self in _CRITICAL else Severity.INFO


_CRITICAL: Final = frozenset(
    {AlertKind.VENUE_DOWN, AlertKind.NAKED_LEG, AlertKind.HEDGE_FAILED, AlertKind.HALT, AlertKind.BREACH,
     AlertKind.PAUSED, AlertKind.TEST, AlertKind.VENUE_BAN}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Alert:
    """One message to send.

    ``key`` = (kind, venue, symbol) is what the dedup compares. ``symbol`` holds what the alert is
    about when that is not a symbol: the risk limit's key for a breach, the path for low disk, the
    date for a daily summary. ``ts_ns``: the driver's clock when the condition was seen.
    """

    kind: AlertKind
    title: str
    text: str
    ts_ns: int
    venue: str = ""
    symbol: str = ""
    resolved: bool = False

    @property
    def severity(self) -> Severity:
        return self.kind.severity

    @property
    def key(self) -> tuple[AlertKind, str, str]:
        return (self.kind, self.venue, self.symbol)

    @classmethod
    def test(cls, text: str = "a test alert: this channel works", *, ts_ns: int | None = None) -> Alert:
        """A critical alert of kind ``test`` (every route takes it), for checking the channels."""
        return cls(AlertKind.TEST, "test", text, time.time_ns() if ts_ns is None else ts_ns)


def takes(route: str, alert: Alert) -> bool:
    """True when a channel with ``route`` (``"all"`` or ``"critical"``) sends ``alert``."""
    return route == "all" or alert.severity is Severity.CRITICAL


def _tag(alert: Alert) -> str:
    if alert.resolved:
        return "[RESOLVED]"
    return "[CRITICAL]" if alert.severity is Severity.CRITICAL else "[INFO]"


def utc_time(ts_ns: int) -> str:
    """``ts_ns`` as alerts write a time: ``2026-11-23 15:04:05 UTC``."""
    return dt.datetime.fromtimestamp(ts_ns / NS_PER_S, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def format_message(alert: Alert, mode: str) -> str:
    """The message's text: ``"[CRITICAL] title"``, the details, and where and when it happened."""
    return f"{_tag(alert)} {alert.title}\n{alert.text}\n(arb {mode}, {utc_time(alert.ts_ns)})"


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


money_change = partial(money, sign=True, grouping=False, small=0)
"""A change of money in an alert's text: signed, two decimals, no thousands separator, followed by the
currency (``money_change(12.3, "USDT")`` is ``"+12.30 USDT"``); ``"n/a"`` when it is not finite."""
