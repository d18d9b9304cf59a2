"""``arb fetch``: download history arb did not record (Tardis.dev, Bybit's archive) into the recordings.

::

    arb fetch --start 2024-01-01 [--end DAY] [--source tardis|bybit-archive] [--symbols BTCUSDT ...]
              [--venue VENUE] [--market spot|linear] [--book l2|snapshot25|snapshot5] [--out DIR]
              [--base-url URL] [--dry-run]

With no option but ``--start`` it fetches what ``arb backtest --start`` needs on the configuration it
reads: every venue of the run (``[strategy] venues``) in its configured market, every ``[strategy] symbols``,
into ``[backtest] recordings``, from Tardis.dev (the one source with every venue's spot and linear books, and
with receive times); its first lines say what and from where, and why that source. A symbol is named in the
venue's Tardis spelling (:func:`arb.recording.tardis.names`); one a venue's datasets cannot hold is exit 2
naming ``--symbols`` or ``[strategy] symbols``. ``--book snapshot25`` (or ``snapshot5``) takes Tardis's
top 25 (5) levels a side after each change instead of every update of the full book: enough for a scan,
not for a backtest of deeper books. What it fetches, where it puts it
and how it retries: :mod:`arb.recording.fetch`.
"""

from __future__ import annotations

__all__ = ["COMMAND", "main"]

import argparse
import asyncio
import datetime as dt
import os
import sys
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from arb.catalog import venue_facts
from arb.command_line import Command, add_recordings_out, day, days_begun, each_once, recordings_out
from arb.command_line import symbol as symbol_argument
from arb.config import AppConfig, load_config
from arb.errors import EXIT_VENUE_UNAVAILABLE, UsageError
from arb.recording.fetch_choices import BOOKS, KEY_VARIABLE, archive_sources, sources, venues

if TYPE_CHECKING:
    from arb.recording.fetch import FetchResult

_WHY_TARDIS = (
    "Tardis.dev has every venue's spot and linear books, with its collector's receive times; a venue's own archive "
    "has that venue's only, without receive times (--source <venue>-archive takes the venue from it)"
)
"""Why ``arb fetch`` takes Tardis.dev when ``--source`` is not given (said in its first lines)."""


def _base_url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise argparse.ArgumentTypeError(f"expected an http:// or https:// URL, got {text!r}")
    return text.rstrip("/")


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source", choices=sources(),
        help="where the history comes from (default: tardis, the one source with every venue's spot and linear books)",
    )  # fmt: skip
    parser.add_argument("--start", type=day, required=True, metavar="DATE", help="first UTC day, e.g. 2024-01-01")
    parser.add_argument("--end", type=day, metavar="DATE", help="last UTC day, inclusive (default: --start)")
    parser.add_argument(
        "--symbols", nargs="+", type=symbol_argument, metavar="SYMBOL", help="default: [strategy] symbols"
    )
    parser.add_argument(
        "--venue", choices=venues(), help="one venue only (default: every venue of the run; a venue's archive: its own)"
    )
    parser.add_argument(
        "--market", choices=("spot", "linear"), help="the venues' market (default: each venue's configured one)"
    )
    parser.add_argument(
        "--book", choices=tuple(BOOKS),
        help="Tardis's book: l2 (the default: every update of the full book, what a backtest needs), snapshot25 "
        "or snapshot5 (the top 25 or 5 levels a side after each change: what arb scan needs, far smaller)",
    )  # fmt: skip
    add_recordings_out(parser)
    parser.add_argument(
        "--base-url", type=_base_url, metavar="URL",
        help="the source's server (default: [history] tardis_url, or the archive's <venue>_<kind>_url keys)",
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
    """Run ``arb fetch`` with parsed arguments: one line per file, exit 1 when any failed, 4 when the source's
    host could not be reached."""
    from arb.recording.fetch import fetch, plan, sizes  # the downloads: aiohttp, the Tardis reader

    start, end = days_begun(args.start, args.end)
    config = load_config(args.config)
    source = args.source or "tardis"
    symbols = each_once(args.symbols or list(config.symbol_names), "--symbols")
    owner = archive_sources().get(source)  # a venue's archive holds that venue's days only
    names = [args.venue] if args.venue else (list(config.venue_names) if owner is None else [owner])
    if owner is not None and names != [owner]:
        raise UsageError(
            f"--venue: expected {owner} with --source {source} ({venue_facts(owner).title}'s archive), got {args.venue}"
        )
    venues = [(name, args.market or _market_of(config, name)) for name in names]
    if args.book is not None and source != "tardis":
        raise UsageError(f"--book: expected --source tardis, got --source {source} (its archive has one book)")
    if source == "tardis":
        _tardis_has(venues)
        _tardis_names(venues, symbols, "--symbols" if args.symbols else "[strategy] symbols")
    out = recordings_out(args.out, config.backtest.recordings)
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    items = plan(config, source, venues, symbols, days, out, args.base_url, BOOKS[args.book or "l2"])
    span = f"{start:%Y-%m-%d}" + (f" .. {end:%Y-%m-%d}" if end != start else "")
    _out(f"fetching {span}: {', '.join(f'{v} {m}' for v, m in venues)} {' '.join(symbols)} into {out}")
    _out(f"source: {source} (" + (f"the default: {_WHY_TARDIS}" if args.source is None else "--source") + ")")
    key = os.environ.get(KEY_VARIABLE) or None
    if args.dry_run:
        learned = asyncio.run(sizes(config, items, key=key))
        for item, said in learned.lines:
            _out(f"{item.label}: {said}")
        if learned.unreachable:
            sys.stderr.write(f"arb fetch: {learned.unreachable}: sizes of {learned.unknown} files not learned\n")
            return EXIT_VENUE_UNAVAILABLE
        return 1 if learned.unknown else 0
    from arb.ui import download_progress

    with download_progress(f"fetching {len(items)} files", enabled=not args.quiet) as advance:
        results = asyncio.run(fetch(config, items, key=key, progress=advance))
    return _said(results)


def _market_of(config: AppConfig, name: str) -> str:
    # The market a venue is fetched in without --market: its file's, when it is a venue of the run.
    if name not in config.venue_names:
        raise UsageError(
            f"--market: expected spot or linear for {name}, which is not a venue of this run "
            f"([strategy] venues: {', '.join(config.venue_names)}), so no venue file says its market"
        )
    return config.venue(name).market


def _tardis_has(venues: list[tuple[str, str]]) -> None:
    # Every (venue, market) must be one whose Tardis.dev datasets arb reads (its venue.toml's [tardis]).
    from arb.recording.tardis import exchanges

    read = {pair: exchange for exchange, pair in exchanges().items()}
    missing = [f"{venue_facts(v).title} {m}" for v, m in venues if (v, m) not in read]
    if missing:
        known = ", ".join(f"{venue_facts(v).title} {m}" for v, m in sorted(read))
        raise UsageError(
            f"--source tardis: expected venues whose Tardis.dev datasets arb reads ({known}), "
            f"got {', '.join(missing)}; record it with arb record, or fetch the other venues with --venue"
        )


def _tardis_names(venues: list[tuple[str, str]], symbols: list[str], option: str) -> None:
    # Every symbol must be one each venue's Tardis datasets name, in amounts arb can turn into base currency.
    from arb.recording.tardis import names

    for venue, market in venues:
        spelling = names(venue)
        for symbol in symbols:
            try:
                spelling.base_per_amount(symbol, market)
            except ValueError as exc:
                other = "; fetch the other venues with --venue" if len(venues) > 1 else ""
                raise UsageError(f"{option}: expected, for {venue_facts(venue).title} {market} on Tardis.dev, {exc}"
                                 f"{other}") from None  # fmt: skip


def _said(results: list[FetchResult]) -> int:
    # The results' lines (one per file, one per failure, one per stopped source), and the exit code.
    failed = [r for r in results if r.error]
    fetched = [r for r in results if r.path is not None and not r.skipped]
    for r in results:
        if r.path is not None:
            _out(f"{'had' if r.skipped else 'fetched'} {r.planned.label}: {r.path} ({_mb(r.bytes)})")
    unreachable = [r for r in failed if r.unreachable]
    if len(unreachable) < len(results):  # not when one unreachable host is all there is to say
        _out(
            f"{len(fetched)} fetched ({_mb(sum(r.bytes for r in fetched))}), "
            f"{sum(r.skipped for r in results)} already there, {len(failed)} failed"
        )
    for r in failed:
        if not r.stopped:
            more = sum(o.stopped and o.planned.source == r.planned.source for o in failed)
            if r.unreachable:  # one line for the host and every file of its source
                files = f"{more + 1} {r.planned.source} file{'s' if more else ''} not fetched"
                sys.stderr.write(f"arb fetch: {r.error}: {files}; check the network, or [history] / --base-url\n")
                continue
            sys.stderr.write(f"arb fetch: {r.error}\n")
            if more:
                sys.stderr.write(f"arb fetch: {more} more {r.planned.source} files not fetched (refused, above)\n")
    if unreachable and not any(r.error and not r.unreachable for r in failed):
        return EXIT_VENUE_UNAVAILABLE
    return 1 if failed else 0


COMMAND = Command(
    "fetch",
    main,
    help="download history from Tardis.dev or a venue's archive into the recordings",
    description="Download the days a backtest needs from Tardis.dev's CSV datasets or a venue's own public "
    "archive into the recordings folder, where arb backtest, dry-run, parity and sweep find them "
    "(docs/data.md). With only --start: what arb backtest --start needs on this configuration (every "
    "venue of the run in its market, [strategy] symbols), from Tardis.dev. Exit 0 done, 1 a file failed (or, "
    "with --dry-run, a size could not be learned), 2 a bad value, 4 the source's host cannot be reached.",
    arguments=_add_arguments,
)
"""Add ``fetch`` to an ``argparse`` sub-command set; it runs :func:`main`."""
