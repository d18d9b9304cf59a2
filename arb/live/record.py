"""``arb record``: record every venue's raw market data in the collector format until told to stop.

::

    arb record [--config PATH] [--symbols BTCUSDT ETHUSDT] [--duration 10m] [--out DIR]

The feeds of every venue of ``[strategy] venues`` (:func:`arb.live.feeds.market_data_feeds`: one
connection per venue for all symbols, depth + trades + best bid/offer, more when the symbols' streams pass
``[feed] max_streams_per_connection``) write every frame, and every REST snapshot a venue's feed fetches
(e.g. Binance's), through one :class:`~arb.recording.recorder.Recorder` into
``<out>/<venue>_<market>/<symbol>_<YYYYMMDD>.gz`` (see ``docs/recording.md``). The feeds still
normalize every frame: that is how they notice a gap and fetch the snapshot the recording needs to be
converted.

Everything runs in one ``asyncio.TaskGroup``: the feeds, a 1 s flusher, the status line and the
duration timer. The run ends when ``--duration`` has passed, on Ctrl-C or SIGTERM (the ``stop``
event), or when a feed fails fatally (an IP ban, a rejected subscription, a full disk). Either way
every task is awaited and every file is flushed and closed before :func:`record` returns or raises.
"""

from __future__ import annotations

__all__ = ["DEFAULT_STATUS_NS", "RecordReport", "VenueSummary", "record"]

import asyncio
import logging
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from arb.config import AppConfig
from arb.errors import ArbError
from arb.events import NS_PER_S
from arb.live.feeds import market_data_feeds
from arb.live.session_loop import SessionStart, SessionWatcher
from arb.recording.recorder import Recorder
from connectors.common.feed import MarketDataFeed
from connectors.common.normalizer import SyncState

log = logging.getLogger(__name__)

StatusFn = Callable[[str], None]
"""Receives the start banner and the periodic one-line status (default: written to stdout)."""

_FLUSH_INTERVAL_NS = NS_PER_S
DEFAULT_STATUS_NS = 10 * NS_PER_S
"""The status line's default interval (``arb record --status-every``)."""
_SYMBOL = re.compile(r"[A-Z0-9]+")


@dataclass(frozen=True, slots=True)
class VenueSummary:
    """What one venue's feed saw during a recording."""

    venue: str
    market: str
    symbols: tuple[str, ...]
    messages: int
    """WebSocket messages received (REST snapshots not included)."""
    bytes_received: int
    gaps: int
    """Continuity gaps (each one was resynced, or the run ended first)."""
    reconnects: int
    """Connection attempts after the first, failed or not."""
    failovers: int
    snapshots: int
    """Book snapshots applied (Binance REST, Bybit on (re)subscription)."""
    decode_errors: int
    problem: str | None = None
    """Why nothing of this venue was recorded (it never connected, or sent nothing); None when it was."""


@dataclass(frozen=True, slots=True)
class RecordReport:
    """What :func:`record` did."""

    elapsed_ns: int
    interrupted: bool
    """True when stopped by the ``stop`` event (Ctrl-C, SIGTERM) rather than the duration."""
    venues: tuple[VenueSummary, ...]
    files: tuple[Path, ...]
    """Every file written, in the order they were opened."""
    lines: int
    bytes_written: int
    """Compressed bytes on disk, all files."""
    stop_signal: int | None = None
    """The signal that stopped the recording (``signal.SIGINT`` for Ctrl-C), if one did."""

    def problems(self) -> list[str]:
        """Why this recording is not what was asked for: a venue that never connected or sent
        nothing, no line recorded at all. Empty when every venue was recorded."""
        out = [v.problem for v in self.venues if v.problem is not None]
        if self.lines == 0:
            out.append("no line was recorded")
        return out

    def summary(self) -> str:
        """A few lines for the terminal."""
        seconds = self.elapsed_ns / NS_PER_S
        how = "stopped" if self.interrupted else "finished"
        out = [f"recording {how} after {seconds:.1f} s: {self.lines:,} lines, {_mb(self.bytes_written)} written"]
        for v in self.venues:
            rate = v.messages / seconds if seconds > 0 else 0.0
            out.append(
                f"  {v.venue} {v.market} {','.join(v.symbols)}: {v.messages:,} messages ({rate:,.1f}/s), "
                f"snapshots {v.snapshots}, gaps {v.gaps}, reconnects {v.reconnects}, failovers {v.failovers}, "
                f"decode errors {v.decode_errors}"
            )
        out += [f"  {path}" for path in self.files]
        return "\n".join(out)


def _mb(n: int) -> str:
    return f"{n / 1e6:.2f} MB"


async def record(
    config: AppConfig,
    *,
    symbols: Sequence[str],
    duration_ns: int | None,
    out_dir: Path,
    clock: Callable[[], int] = time.time_ns,
    status_interval_ns: int | None = DEFAULT_STATUS_NS,
    status: StatusFn | None = None,
    stop: asyncio.Event | None = None,
    feed_options: dict[str, Any] | None = None,
    watchers: Sequence[SessionWatcher] = (),
    on_watch: Callable[[Any], None] | None = None,
) -> RecordReport:
    """Record every venue's raw streams of ``symbols`` into ``out_dir`` until ``duration_ns`` has passed
    (``None``: until ``stop`` is set) and return what was recorded.

    ``clock`` stamps every frame (int ns since the epoch; it also decides the file's UTC day).
    ``status`` receives the start banner (where each venue's data comes from: network and URLs) and
    a one-line status every ``status_interval_ns`` (``None``: no status line).
    ``stop``, when set, ends the recording (Ctrl-C and SIGTERM set it in :func:`main`).
    ``feed_options`` are passed to both feeds (tests: ``sleep``, ``backoff``). The feeds' health, the
    bytes written and the free disk are published to ``watchers`` (the command hands down the ops
    watch: ``/metrics``, the dashboard and the alerts); ``on_watch(watcher)`` is called for each once
    it has begun.
    Raises :class:`~arb.errors.FeedError` when a feed fails fatally and
    :class:`~arb.errors.RecordingError` when a file cannot be written, after closing every file.
    """
    names = _checked_symbols(symbols)
    stop_event = stop if stop is not None else asyncio.Event()
    write_status: StatusFn = status if status is not None else _stdout
    loop = asyncio.get_running_loop()
    started = loop.time()
    recorder = Recorder(out_dir, flush_interval_ns=_FLUSH_INTERVAL_NS)
    options: dict[str, Any] = {"recorder": recorder, "clock": clock, **(feed_options or {})}
    feeds: list[MarketDataFeed] = market_data_feeds(config, names, **options)
    until = f"for {duration_ns / NS_PER_S:g} s" if duration_ns else "until stopped"
    write_status(f"recording {','.join(names)} into {out_dir} {until}")
    for venue in config.venues:
        write_status("  " + venue.describe_endpoints())
    start = SessionStart(clock, "live", feeds=tuple(feeds), recorded_bytes=lambda: recorder.bytes_written)
    for watcher in watchers:
        for line in watcher.begin(start):
            write_status(line)
        if on_watch is not None:
            on_watch(watcher)
    try:
        timed_out = await _record_until_stopped(
            config, feeds, recorder, watchers, stop_event, clock, duration_ns, status_interval_ns, write_status
        )
    except BaseExceptionGroup as group:
        error = _arb_error(group)
        if error is not None:
            raise error from None
        raise
    finally:
        recorder.close()
        for watcher in reversed(watchers):
            watcher.end(clock())
    report = RecordReport(
        elapsed_ns=int((loop.time() - started) * NS_PER_S),
        interrupted=not timed_out,
        venues=tuple(_summary(feed) for feed in feeds),
        files=tuple(recorder.paths),
        lines=recorder.stats.lines,
        bytes_written=recorder.bytes_written,
    )
    log.info("recording ended: %d lines, %d bytes in %d files", report.lines, report.bytes_written, len(report.files))
    return report


def _checked_symbols(symbols: Sequence[str]) -> list[str]:
    # The symbols in upper case; an ArbError unless each is upper-case letters and digits (and there is one)
    names = [s.upper() for s in symbols]
    bad = [s for s in names if not _SYMBOL.fullmatch(s)]
    if not names or bad:
        raise ArbError(f"expected symbols of upper-case letters and digits, e.g. BTCUSDT; got {list(symbols)}")
    return names


async def _record_until_stopped(
    config: AppConfig,
    feeds: list[MarketDataFeed],
    recorder: Recorder,
    watchers: Sequence[SessionWatcher],
    stop_event: asyncio.Event,
    clock: Callable[[], int],
    duration_ns: int | None,
    status_interval_ns: int | None,
    write_status: StatusFn,
) -> bool:
    # The recording itself: the feeds, the flusher, the watchers and their publisher, the status line and
    # the timer run until stop_event is set; True when the timer set it (duration_ns passed)
    timed_out = False

    async def publisher() -> None:
        while True:
            now = clock()
            for watcher in watchers:
                watcher.tick(now)
            await asyncio.sleep(config.ops.snapshot_ns / NS_PER_S)

    async def timer(seconds: float) -> None:
        nonlocal timed_out
        await asyncio.sleep(seconds)
        timed_out = True
        stop_event.set()

    async with asyncio.TaskGroup() as tasks:
        for feed in feeds:
            tasks.create_task(feed.run(), name=f"record-{feed.name}")
        helpers = [
            tasks.create_task(_flusher(recorder), name="record-flusher"),
            tasks.create_task(publisher(), name="ops-publisher"),
            *(tasks.create_task(w.run(), name=f"watch-{type(w).__name__}") for w in watchers),
        ]
        if status_interval_ns is not None:
            helpers.append(
                tasks.create_task(_status_loop(feeds, recorder, status_interval_ns, write_status), name="status")
            )
        if duration_ns is not None:
            helpers.append(tasks.create_task(timer(duration_ns / NS_PER_S), name="record-timer"))
        await stop_event.wait()
        for feed in feeds:
            feed.stop()
        for helper in helpers:
            helper.cancel()
    return timed_out


async def _flusher(recorder: Recorder) -> None:
    # Flush on a wall timer too, so a quiet stream's last lines reach the disk within a second.
    while True:
        await asyncio.sleep(_FLUSH_INTERVAL_NS / NS_PER_S)
        recorder.flush()


async def _status_loop(feeds: Sequence[MarketDataFeed], recorder: Recorder, interval_ns: int, write: StatusFn) -> None:
    loop = asyncio.get_running_loop()
    last_t = loop.time()
    last = [feed.stats.frames for feed in feeds]
    while True:
        await asyncio.sleep(interval_ns / NS_PER_S)
        now = loop.time()
        span = max(now - last_t, 1e-9)
        parts = []
        for i, feed in enumerate(feeds):
            rate = (feed.stats.frames - last[i]) / span
            last[i] = feed.stats.frames
            parts.append(
                f"{feed.name} {rate:,.1f} msg/s {_book_states(feed)} gaps {feed.gaps} "
                f"reconnects {feed.stats.reconnects}"
            )
        last_t = now
        parts.append(f"{len(recorder.paths)} files {_mb(recorder.bytes_written)}")
        write(time.strftime("%H:%M:%S") + " " + " | ".join(parts))


def _book_states(feed: MarketDataFeed) -> str:
    # "synced", or per symbol when they differ: "BTCUSDT synced ETHUSDT stale".
    words = []
    for symbol, normalizer in feed.normalizers.items():
        if not feed.connected:
            word = "disconnected"
        elif feed.is_stale(symbol):
            word = "stale"
        elif normalizer.status.state is SyncState.SYNCED:
            word = "synced"
        else:
            word = "syncing"
        words.append((symbol, word))
    if len({w for _, w in words}) == 1:
        return words[0][1]
    return " ".join(f"{s} {w}" for s, w in words)


def _summary(feed: MarketDataFeed) -> VenueSummary:
    normalizers = feed.normalizers.values()
    return VenueSummary(
        venue=feed.name,
        market=feed.market,
        symbols=feed.symbols,
        messages=feed.stats.frames,
        bytes_received=feed.stats.bytes_received,
        gaps=feed.gaps,
        reconnects=feed.stats.reconnects,
        failovers=feed.stats.failovers,
        snapshots=sum(n.stats.snapshots for n in normalizers),
        decode_errors=sum(n.stats.decode_errors for n in normalizers),
        problem=feed.silence(),
    )


def _arb_error(group: BaseExceptionGroup[Any]) -> ArbError | None:
    # The first of arb's own errors inside a TaskGroup's group (a feed's fatal error, a disk error).
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            inner = _arb_error(exc)
            if inner is not None:
                return inner
        elif isinstance(exc, ArbError):
            return exc
    return None


def _stdout(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
