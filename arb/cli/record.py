"""``arb record [--config PATH] [--symbols BTCUSDT ETHUSDT] [--duration 10m] [--out DIR] [--status-every 10s]``.

Records every venue's raw market data (:func:`arb.live.record.record`) with the ops watch handed down
(``/metrics``, the dashboard and the alerts of ``[ops]`` and ``[alerts]``), until ``--duration``,
Ctrl-C or SIGTERM, then prints what was recorded.
"""

from __future__ import annotations

__all__ = ["COMMAND", "add_parser", "main"]

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from arb.command_line import Command, add_recordings_out, duration, each_once, recordings_out
from arb.command_line import symbol as symbol_argument
from arb.config import AppConfig, load_config
from arb.errors import ArbError, exit_code_of

if TYPE_CHECKING:
    from arb.live.record import RecordReport

log = logging.getLogger("arb.live.record")


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--symbols",
        nargs="+",
        type=symbol_argument,
        metavar="SYMBOL",
        help="symbols to record on every venue of the run (default: [strategy] symbols)",
    )
    parser.add_argument(
        "--duration", type=duration, metavar="TIME", help="stop after this long: 90s, 10m, 2h (default: Ctrl-C)"
    )
    add_recordings_out(parser)
    parser.add_argument(
        "--status-every",
        type=duration,
        metavar="TIME",
        help="interval of the status line (default: 10s)",
    )


def main(args: argparse.Namespace) -> int:
    """Run ``arb record`` with parsed arguments; prints the final summary.

    Returns 0, or 130 when Ctrl-C stopped it (SIGTERM: 0); either way every file is flushed and
    closed first. Raises :class:`~arb.errors.ArbError` (exit 1), after the summary, when a venue
    never connected or sent nothing, or no line was recorded: the reason is the message.
    """
    from arb.live.record import DEFAULT_STATUS_NS

    config = load_config(args.config)
    symbols = each_once(args.symbols or list(config.symbol_names), "--symbols")
    out_dir = recordings_out(args.out, config.backtest.recordings)
    report = asyncio.run(_run(config, symbols, args.duration, out_dir, args.status_every or DEFAULT_STATUS_NS))
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
        from arb.live.record import record
        from arb.ops.watch import Watch

        watch = Watch(config, "record", recording_dir=str(out_dir))
        report = await record(
            config, symbols=symbols, duration_ns=duration_ns, out_dir=out_dir, status_interval_ns=status_ns, stop=stop,
            watchers=[watch],
        )  # fmt: skip
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
    return dataclasses.replace(report, stop_signal=int(received[0]) if received else None)


def _on_signal(stop: asyncio.Event, sig: signal.Signals, received: list[signal.Signals]) -> None:
    log.warning("%s: stopping the recording (flushing and closing every file)", sig.name)
    received.append(sig)
    stop.set()


COMMAND = Command(
    "record",
    main,
    help="record every venue's market data",
    description="Record the raw market data (depth, trades, best bid/offer) of every venue of the run in the "
    "collector format, one gzip file per venue, market, symbol and UTC day.",
    arguments=_add_arguments,
)
"""``arb record``."""
add_parser = COMMAND.add_to
"""Add ``record`` to an ``argparse`` sub-command set (``parser.add_subparsers()``); it runs :func:`main`."""
