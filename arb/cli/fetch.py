"""``arb fetch``: download history arb did not record (Tardis.dev, Bybit's archive) into the recordings.

::

    arb fetch --source tardis|bybit-archive --start 2024-01-01 [--end DAY] [--symbols BTCUSDT ...]
              [--venue binance|bybit] [--market spot|linear] [--out DIR] [--base-url URL] [--dry-run]

What it fetches, where it puts it and how it retries: :mod:`arb.runtime.fetch`.
"""

from __future__ import annotations

__all__ = ["COMMAND", "main"]

import argparse
import asyncio
import datetime as dt
import os
import sys
from urllib.parse import urlsplit

from arb.arguments import Command, add_recordings_out, day, days_begun, each_once, recordings_out
from arb.arguments import symbol as symbol_argument
from arb.config import load_config
from arb.errors import UsageError
from arb.runtime.fetch import KEY_VARIABLE, SOURCES, VENUES, fetch, plan, sizes


def _base_url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise argparse.ArgumentTypeError(f"expected an http:// or https:// URL, got {text!r}")
    return text.rstrip("/")


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", choices=SOURCES, required=True, help="where the history comes from")
    parser.add_argument("--start", type=day, required=True, metavar="DATE", help="first UTC day, e.g. 2024-01-01")
    parser.add_argument("--end", type=day, metavar="DATE", help="last UTC day, inclusive (default: --start)")
    parser.add_argument(
        "--symbols", nargs="+", type=symbol_argument, metavar="SYMBOL", help="default: [strategy] symbols"
    )
    parser.add_argument("--venue", choices=VENUES, help="one venue only (default: both; Bybit's archive: bybit)")
    parser.add_argument(
        "--market", choices=("spot", "linear"), help="the venues' market (default: each venue's configured one)"
    )
    add_recordings_out(parser)
    parser.add_argument(
        "--base-url", type=_base_url, metavar="URL",
        help="the source's server (default: [history] tardis_url, or bybit_orderbook_url and bybit_trades_url)",
    )  # fmt: skip
    parser.add_argument(
        "--dry-run", action="store_true", help="print what would be fetched and its size, fetch nothing"
    )


def _out(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


def main(args: argparse.Namespace) -> int:
    """Run ``arb fetch`` with parsed arguments: one line per file, exit 1 when any failed."""
    start, end = days_begun(args.start, args.end)
    config = load_config(args.config)
    symbols = each_once(args.symbols or list(config.symbol_names), "--symbols")
    names = [args.venue] if args.venue else (list(VENUES) if args.source == "tardis" else ["bybit"])
    if args.source == "bybit-archive" and names != ["bybit"]:
        raise UsageError(f"--venue: expected bybit with --source bybit-archive (Bybit's archive), got {args.venue}")
    venues = [(name, args.market or getattr(config, name).market) for name in names]
    out = recordings_out(args.out, config.backtest.recordings)
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    items = plan(config, args.source, venues, symbols, days, out, args.base_url)
    key = os.environ.get(KEY_VARIABLE) or None
    if args.dry_run:
        for item, said in asyncio.run(sizes(config, items, key=key)):
            _out(f"{item.label}: {said}")
        return 0
    from arb.ui import download_progress

    with download_progress(f"fetching {len(items)} files", enabled=not args.quiet) as advance:
        results = asyncio.run(fetch(config, items, key=key, progress=advance))
    failed = [r for r in results if r.error]
    fetched = [r for r in results if r.path is not None and not r.skipped]
    for r in results:
        if r.path is not None:
            _out(f"{'had' if r.skipped else 'fetched'} {r.planned.label}: {r.path} ({_mb(r.bytes)})")
    _out(
        f"{len(fetched)} fetched ({_mb(sum(r.bytes for r in fetched))}), "
        f"{sum(r.skipped for r in results)} already there, {len(failed)} failed"
    )
    refused = [r for r in failed if r.error.endswith("refused the key, above)")]
    for r in failed:
        if r not in refused:
            sys.stderr.write(f"arb fetch: {r.error}\n")
    if refused:
        source = refused[0].planned.source
        sys.stderr.write(f"arb fetch: {len(refused)} more {source} files not fetched (refused, above)\n")
    return 1 if failed else 0


COMMAND = Command(
    "fetch",
    main,
    help="download history from Tardis.dev or Bybit's archive into the recordings",
    description="Download the days a backtest needs from Tardis.dev's CSV datasets or Bybit's public "
    "archive into the recordings folder, where arb backtest, dry-run, parity and sweep find them "
    "(docs/data.md).",
    arguments=_add_arguments,
)
"""Add ``fetch`` to an ``argparse`` sub-command set; it runs :func:`main`."""
