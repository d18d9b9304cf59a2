"""``arb funding-history``: fetch the venues' funding-rate history of some days into the recordings.

::

    arb funding-history --start 2024-08-01 [--end 2024-08-08] [--symbols BTCUSDT ...]
                        [--venue VENUE] [--out DIR] [--config PATH]

What it fetches and where it writes: :mod:`arb.recording.funding_history`.
"""

from __future__ import annotations

__all__ = ["COMMAND", "main"]

import argparse
import asyncio
import sys

from arb.cli.venue_option import add_venue_option, venue_numbers
from arb.command_line import Command, add_recordings_out, day, days_begun, each_once, recordings_out
from arb.command_line import symbol as symbol_argument
from arb.config import load_config


def _print(line: str) -> None:
    sys.stdout.write(line + "\n")


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--start", type=day, required=True, metavar="DATE", help="first UTC day, e.g. 2024-08-01")
    parser.add_argument(
        "--end", type=day, metavar="DATE", help="last UTC day, inclusive (default: --start; never past 5 minutes ago)"
    )
    parser.add_argument(
        "--symbols",
        nargs="+",
        type=symbol_argument,
        metavar="SYMBOL",
        help="symbols to fetch on each venue (default: [strategy] symbol)",
    )
    add_venue_option(parser)
    add_recordings_out(parser)


def main(args: argparse.Namespace) -> int:
    """Run ``arb funding-history`` with parsed arguments; prints a line per venue and symbol."""
    from arb.recording.funding_history import check_linear, day_start_ns, fetch_funding_history
    from arb.results.marks import NS_PER_DAY

    start, end = days_begun(args.start, args.end)
    config = load_config(args.config)
    symbols = each_once(args.symbols or [config.strategy.symbol], "--symbols")
    venues = [config.venue_names[v] for v in venue_numbers(config, args.venue, "arb funding-history")]
    check_linear(config, venues)
    out_dir = recordings_out(args.out, config.backtest.recordings)
    asyncio.run(
        fetch_funding_history(
            config,
            venues=venues,
            symbols=symbols,
            start_ns=day_start_ns(start),
            end_ns=day_start_ns(end) + NS_PER_DAY,
            out_dir=out_dir,
            status=_print,
        )
    )
    return 0


COMMAND = Command(
    "funding-history",
    main,
    help="fetch the venues' funding-rate history into the recordings",
    description="Fetch the funding-rate history of each venue of the run (its linear market) of the days asked "
    "for over REST into <out>/<venue>_linear/<symbol>_funding.json (merged with what is there), so a "
    "backtest knows each funding time's rate.",
    arguments=_add_arguments,
)
"""Add ``funding-history`` to an ``argparse`` sub-command set; it runs :func:`main`."""
