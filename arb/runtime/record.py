"""``arb record``: record both venues' raw market data in the collector format until told to stop.

::

    arb record [--config PATH] [--symbols BTCUSDT ETHUSDT] [--duration 10m] [--out DIR]

Binance's and Bybit's feeds (:func:`arb.runtime.feeds.market_data_feeds`: one connection per venue for
all symbols, depth + trades + best bid/offer, more when the symbols' streams pass
``[feed] max_streams_per_connection``) write every frame, and every
Binance REST snapshot, through one :class:`~arb.recording.recorder.Recorder` into
``<out>/<venue>_<market>/<symbol>_<YYYYMMDD>.gz`` (see ``docs/recording.md``). The feeds still
normalize every frame: that is how they notice a gap and fetch the snapshot the recording needs to be
converted.

Everything runs in one ``asyncio.TaskGroup``: the feeds, a 1 s flusher, the status line and the
duration timer. The run ends when ``--duration`` has passed, on Ctrl-C or SIGTERM (the ``stop``
event), or when a feed fails fatally (an IP ban, a rejected subscription, a full disk). Either way
every task is awaited and every file is flushed and closed before :func:`record` returns or raises.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import re
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from arb.arguments import add_config_argument, check_default, duration, output_folder, parse_duration
from arb.arguments import symbol as symbol_argument
from arb.config import AppConfig, load_config
from arb.errors import ArbError, UsageError, exit_code_of
from arb.events import NS_PER_S
from arb.ops.watch import Watch
from arb.recording.recorder import Recorder
from arb.runtime.feeds import market_data_feeds
from connectors.common.feed import MarketDataFeed
from connectors.common.normalizer import SyncState

__all__ = ["RecordReport", "VenueSummary", "add_parser", "main", "parse_duration", "record"]

log = logging.getLogger(__name__)

StatusFn = Callable[[str], None]
"""Receives the start banner and the periodic one-line status (default: written to stdout)."""

_FLUSH_INTERVAL_NS = NS_PER_S
_DEFAULT_STATUS_NS = 10 * NS_PER_S
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
        nothing, no line recorded at all. Empty when both venues were recorded."""
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
    status_interval_ns: int | None = _DEFAULT_STATUS_NS,
    status: StatusFn | None = None,
    stop: asyncio.Event | None = None,
    feed_options: dict[str, Any] | None = None,
    on_watch: Callable[[Watch], None] | None = None,
) -> RecordReport:
    """Record both venues' raw streams of ``symbols`` into ``out_dir`` until ``duration_ns`` has passed
    (``None``: until ``stop`` is set) and return what was recorded.

    ``clock`` stamps every frame (int ns since the epoch; it also decides the file's UTC day).
    ``status`` receives the start banner (where each venue's data comes from: network and URLs) and
    a one-line status every ``status_interval_ns`` (``None``: no status line).
    ``stop``, when set, ends the recording (Ctrl-C and SIGTERM set it in :func:`main`).
    ``feed_options`` are passed to both feeds (tests: ``sleep``, ``backoff``). The feeds' health, the
    bytes written and the free disk are published for ``/metrics``, the dashboard and the alerts
    (``[ops]``, ``[alerts]``); ``on_watch(watch)`` is called once they are up.
    Raises :class:`~arb.errors.FeedError` when a feed fails fatally and
    :class:`~arb.errors.RecordingError` when a file cannot be written, after closing every file.
    """
    names = [s.upper() for s in symbols]
    bad = [s for s in names if not _SYMBOL.fullmatch(s)]
    if not names or bad:
        raise ArbError(f"expected symbols of upper-case letters and digits, e.g. BTCUSDT; got {list(symbols)}")
    stop_event = stop if stop is not None else asyncio.Event()
    write_status: StatusFn = status if status is not None else _stdout
    loop = asyncio.get_running_loop()
    started = loop.time()
    recorder = Recorder(out_dir, flush_interval_ns=_FLUSH_INTERVAL_NS)
    options: dict[str, Any] = {"recorder": recorder, "clock": clock, **(feed_options or {})}
    feeds: list[MarketDataFeed] = market_data_feeds(config, names, **options)
    timed_out = False
    until = f"for {duration_ns / NS_PER_S:g} s" if duration_ns else "until stopped"
    write_status(f"recording {','.join(names)} into {out_dir} {until}")
    for venue in config.venues:
        write_status("  " + venue.describe_endpoints())
    watch = Watch(config, "record", clock=clock, recording_dir=str(out_dir))
    watch.watch_feeds(feeds)
    watch.recorded_bytes = lambda: recorder.bytes_written
    for line in watch.start():
        write_status(line)
    if on_watch is not None:
        on_watch(watch)

    async def publisher() -> None:
        while True:
            watch.tick(clock())
            await asyncio.sleep(config.ops.snapshot_ns / NS_PER_S)

    async def timer(seconds: float) -> None:
        nonlocal timed_out
        await asyncio.sleep(seconds)
        timed_out = True
        stop_event.set()

    try:
        async with asyncio.TaskGroup() as tasks:
            for feed in feeds:
                tasks.create_task(feed.run(), name=f"record-{feed.name}")
            helpers = [
                tasks.create_task(_flusher(recorder), name="record-flusher"),
                tasks.create_task(publisher(), name="ops-publisher"),
                tasks.create_task(watch.measure_lag(), name="loop-lag"),
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
    except BaseExceptionGroup as group:
        error = _arb_error(group)
        if error is not None:
            raise error from None
        raise
    finally:
        recorder.close()
        watch.stop()
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


# -- command line ---------------------------------------------------------------------------------


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``record`` to an ``argparse`` sub-command set (``parser.add_subparsers()``); it runs :func:`main`."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "record",
        help="record both venues' market data",
        description="Record Binance's and Bybit's raw market data (depth, trades, best bid/offer) in the "
        "collector format, one gzip file per venue, market, symbol and UTC day.",
    )
    _add_arguments(parser)
    parser.set_defaults(run=main)
    return parser


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    parser.add_argument(
        "--symbols",
        nargs="+",
        type=symbol_argument,
        metavar="SYMBOL",
        help="symbols to record on both venues (default: [strategy] symbols)",
    )
    parser.add_argument(
        "--duration", type=duration, metavar="TIME", help="stop after this long: 90s, 10m, 2h (default: Ctrl-C)"
    )
    parser.add_argument(
        "--out",
        type=output_folder("a recordings folder"),
        metavar="DIR",
        help="recordings folder (default: [backtest] recordings)",
    )
    parser.add_argument(
        "--status-every",
        type=duration,
        default=_DEFAULT_STATUS_NS,
        metavar="TIME",
        help="interval of the status line (default: 10s)",
    )


def main(args: argparse.Namespace) -> int:
    """Run ``arb record`` with parsed arguments; prints the final summary.

    Returns 0, or 130 when Ctrl-C stopped it (SIGTERM: 0); either way every file is flushed and
    closed first. Raises :class:`~arb.errors.ArbError` (exit 1), after the summary, when a venue
    never connected or sent nothing, or no line was recorded: the reason is the message.
    """
    config = load_config(args.config)
    symbols = args.symbols or list(config.symbol_names)
    twice = sorted({s for s in symbols if symbols.count(s) > 1})
    if twice:
        raise UsageError(f"--symbols: expected each symbol once, got {' '.join(twice)} more than once")
    out_dir = args.out or check_default(
        config.backtest.recordings, output_folder("a recordings folder"), "--out", "[backtest] recordings"
    )
    report = asyncio.run(_run(config, symbols, args.duration, out_dir, args.status_every))
    sys.stdout.write(report.summary() + "\n")
    problems = report.problems()
    if problems:
        raise ArbError("; ".join(problems))
    return exit_code_of(report.stop_signal)


async def _run(
    config: AppConfig, symbols: list[str], duration_ns: int | None, out_dir: Path, status_ns: int
) -> RecordReport:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    installed = []
    received: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not on Windows / not the main thread
            loop.add_signal_handler(sig, _on_signal, stop, sig, received)
            installed.append(sig)
    try:
        report = await record(
            config, symbols=symbols, duration_ns=duration_ns, out_dir=out_dir, status_interval_ns=status_ns, stop=stop
        )
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
    return dataclasses.replace(report, stop_signal=int(received[0]) if received else None)


def _on_signal(stop: asyncio.Event, sig: signal.Signals, received: list[signal.Signals]) -> None:
    log.warning("%s: stopping the recording (flushing and closing every file)", sig.name)
    received.append(sig)
    stop.set()
