"""``arb scan``: rank every symbol the venues share by what its spreads were worth (docs/scan.md).

Every value is checked while the command line is parsed (one line naming the option, exit 2). The ranked
table goes to stdout, the files to ``--out`` (default ``<[backtest] out>/scan``, the same folder every time so
that a scan started again resumes: a shard already scanned with the same settings and inputs is read, not
scanned again). Exit 0 when every venue-day was read; 1 when one could not be (damaged, never synced): the
rest is scanned and written, and each one left out is named.
"""

from __future__ import annotations

__all__ = ["COMMAND"]

import argparse
import datetime as dt
from pathlib import Path
from typing import Any

from arb.command_line import (
    Command,
    add_config_argument,
    day,
    duration,
    existing_folder,
    integer_between,
    number_between,
    output_folder,
)
from arb.sweep.command import ray_address, workers

_MARKETS = ("spot", "linear", "both")


def _names(what: str, pattern: str = r"[a-z0-9_-]+") -> Any:
    import re

    def check(text: str) -> list[str]:
        items = [t.strip() for t in text.split(",") if t.strip()]
        if not items or any(not re.fullmatch(pattern, t) for t in items):
            raise argparse.ArgumentTypeError(f"expected {what} separated by commas, got {text!r}")
        if len(set(items)) != len(items):
            raise argparse.ArgumentTypeError(f"expected each of {what} once, got {text!r}")
        return items

    return check


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    parser.add_argument(
        "--venues",
        type=_names("venue names (the folders of connectors/)"),
        metavar="A,B,...",
        help="the venues to compare (default: [strategy] venues)",
    )
    parser.add_argument("--market", choices=_MARKETS, help="spot, linear or both (default: each venue file's market)")
    parser.add_argument(
        "--symbols",
        type=_names("symbols such as BTCUSDT,ETHUSDT", r"[A-Za-z0-9]{2,30}"),
        metavar="S,...",
        help="only these symbols (default: every symbol two venues have)",
    )
    parser.add_argument(
        "--top",
        type=integer_between(1, 10_000),
        metavar="N",
        help="only the N symbols with the most book data over the range",
    )
    parser.add_argument("--start", type=day, metavar="DATE", help="first UTC day (default: the first recorded)")
    parser.add_argument("--end", type=day, metavar="DATE", help="last UTC day, inclusive (default: the last recorded)")
    parser.add_argument(
        "--min-edge-bps",
        type=number_between(-10_000, 10_000),
        metavar="BPS",
        help="the net edge an episode must exceed, bps (default: [strategy] min_spread_bps)",
    )
    parser.add_argument(
        "--latency-ms",
        type=number_between(0, 60_000),
        metavar="MS",
        help="an order's round trip from where the bot sits, for every pair (default: each "
        "venue's [latency] order_entry_ms + order_response_ms, the slower of a pair's two)",
    )
    parser.add_argument(
        "--depth-levels",
        type=integer_between(1, 1000),
        default=50,
        metavar="N",
        help="levels a side walked for the crossable quantity (default 50)",
    )
    parser.add_argument(
        "--size",
        type=number_between(0, 1e12),
        metavar="BASE",
        help="one order's size, base units: each episode is also counted for one pair of it "
        "(capturable_quote_at_size; default: [strategy] max_order_size)",
    )
    parser.add_argument(
        "--report-top",
        type=integer_between(1, 50),
        default=5,
        metavar="N",
        help="candidates drawn in scan.html, each day's net edge and the capturable against latency (default 5)",
    )
    parser.add_argument(
        "--rows",
        type=integer_between(1, 10_000),
        default=20,
        metavar="N",
        help="ranked rows shown in the terminal (default 20; the files hold every one)",
    )
    parser.add_argument("--workers", type=workers, metavar="N", help="worker processes (default: this machine's CPUs)")
    parser.add_argument(
        "--ray",
        type=ray_address,
        metavar="ADDRESS",
        help="run the shards on Ray: local, auto (RAY_ADDRESS) or host:port",
    )
    parser.add_argument(
        "--recordings",
        type=existing_folder("a recordings folder"),
        metavar="DIR",
        help="recordings folder (default: [backtest] recordings)",
    )
    parser.add_argument(
        "--out",
        type=output_folder("a results folder"),
        metavar="DIR",
        help="results folder (default: <[backtest] out>/scan; a scan there resumes)",
    )
    parser.add_argument(
        "--view",
        choices=("pairs", "crepelliere"),
        default="pairs",
        help="pairs: the ranking of venue pairs (default); crepelliere: the published measure (every 5 s, "
        "highest bid minus lowest ask across the venues, gross of fees) on the same days",
    )
    parser.add_argument(
        "--backtest",
        type=integer_between(1, 100),
        metavar="N",
        help="backtest the configured strategy on the N best candidates (their two venues, their symbol, the "
        "scanned days) and show its pairs and quote beside what the scan said was capturable",
    )
    parser.add_argument(
        "--allow-damaged",
        action="store_true",
        help="scan what a damaged file still holds (the lost span counted as unknown) instead of leaving it out",
    )
    parser.add_argument(
        "--instruments",
        action="store_true",
        help="list the symbols two or more of the venues list in the markets, with each venue's tick, lot and "
        "minimums, from their public REST (kept under <recordings>/instruments/), and exit",
    )
    parser.add_argument(
        "--refresh",
        action="store_true",
        help="--instruments: ask the venues again rather than read the lists kept from the last time",
    )
    parser.add_argument(
        "--live",
        action="store_true",
        help="scan the venues' live public depth instead of history, ranking a rolling window",
    )
    parser.add_argument(
        "--window",
        type=duration,
        default=None,
        metavar="DURATION",
        help="--live: the rolling window ranked (default 10m)",
    )
    parser.add_argument(
        "--every",
        type=duration,
        default=None,
        metavar="DURATION",
        help="--live: time between two rankings (default 1s)",
    )
    parser.add_argument(
        "--duration",
        type=duration,
        default=None,
        metavar="DURATION",
        help="--live: stop after this long (default: until Ctrl-C)",
    )


def _venue_costs(config: Any, names: list[str], market: str | None) -> list[Any]:
    from arb.config import load_venue_config
    from arb.errors import UsageError
    from arb.scan.plan import VenueCosts
    from connectors.registry import venue_names

    known = venue_names()
    by_name = {v.name: v for v in config.venues}
    out = []
    for name in names:
        if name not in known:
            raise UsageError(f"--venues: expected venues among {', '.join(known)}, got {name!r}")
        venue = by_name.get(name) or load_venue_config(config.path.parent / f"{name}.toml", name)
        markets = ("spot", "linear") if market == "both" else ((market or venue.market),)
        latency = venue.latency.order_entry_ns + venue.latency.order_response_ns
        out.append(VenueCosts(name, markets, venue.fees.taker, latency, config.history.archive_feed_latency_ns))
    return out


def _cmd_scan(args: argparse.Namespace) -> int:

    from arb.config import load_config
    from arb.errors import UsageError
    from arb.scan.plan import plan_scan
    from arb.scan.ranking import ranked, ranking_table
    from arb.scan.runner import run_shards
    from arb.scan.store import gather
    from arb.sweep.command import _default_workers

    config = load_config(args.config)
    names = args.venues or list(config.strategy.venue_names)
    if len(names) < 2:
        raise UsageError(f"--venues: expected at least two venues, got {','.join(names)}")
    threshold = args.min_edge_bps if args.min_edge_bps is not None else config.strategy.min_spread_bps
    latency = None if args.latency_ms is None else round(args.latency_ms * 1_000_000)
    costs = _venue_costs(config, names, args.market)
    if args.live:
        return _live(config, args, names, costs, threshold, latency)
    if args.instruments:
        return _instruments(config, args, names, costs, console_of())
    for option in ("window", "every", "duration"):
        if getattr(args, option) is not None:
            raise UsageError(f"--{option}: expected only with --live, got {getattr(args, option)} ns without it")
    recordings: Path = (args.recordings or config.backtest.recordings).resolve()
    out: Path = args.out or (config.backtest.out / "scan")
    plan = plan_scan(
        recordings,
        costs,
        threshold_bps=threshold,
        symbols=args.symbols or (),
        top=args.top,
        start=args.start,
        end=args.end,
        depth_levels=args.depth_levels,
        latency_ns=latency,
        allow_damaged=args.allow_damaged,
        size_base=config.strategy.max_order_size if args.size is None else args.size,
    )
    console = console_of()
    for line in plan.skipped:
        console.print(f"skipped: {line}", highlight=False, markup=False, soft_wrap=True)
    for line in plan.missing:
        console.print(f"missing: {line}", highlight=False, markup=False, soft_wrap=True)
    if not plan.shards:
        raise UsageError(
            f"nothing to scan: no symbol has a day recorded on two of {', '.join(names)} in "
            f"{recordings}{_range(args.start, args.end)} (arb fetch downloads history)"
        )
    if not args.ray:  # (a Ray cluster's nodes have caches of their own)
        import logging

        from arb._jit import say_compiling
        from arb.scan.shard import COMPILED

        say_compiling([COMPILED], logging.getLogger("arb.scan"))
    done = _run(plan, out, args, console, run_shards, _default_workers)
    rows, parquet, csv_path = gather(out, [d.shard.name for d in done])
    groups = ranked(rows)
    quote = _quote(config)
    written = [parquet.name, csv_path.name, "episodes.parquet"]
    from arb.scan.report import write_report

    title = _title(plan, threshold, latency, names)
    written.append(write_report(out, rows, top=args.report_top, quote=quote, title=title).name)
    if args.view == "crepelliere":
        from arb.scan.anchor import anchor_summary, anchor_table, gather_anchor, write_summary

        samples, anchor_path = gather_anchor(out, [d.shard.name for d in done])
        summary = anchor_summary(samples)
        written += [anchor_path.name, write_summary(out, summary).name]
        console.print(anchor_table(summary))
    else:
        console.print(ranking_table(groups, args.rows, quote, title=title))
    if args.backtest:
        written.append(_against(config, groups, args.backtest, plan, recordings, out, console, quote))
    problems = [p for d in done for p in d.problems]
    for d in done:
        for note in d.notes:
            console.print(f"note: {note}", highlight=False, markup=False, soft_wrap=True)
    for problem in problems:
        console.print(f"not scanned: {problem}", highlight=False, markup=False, soft_wrap=True)
    console.print(f"results: {out} ({', '.join(written)}, shards/)", highlight=False, markup=False, soft_wrap=True)
    return 1 if problems else 0


def _run(plan: Any, out: Path, args: argparse.Namespace, console: Any, run_shards: Any, default_workers: Any) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    total_bytes = max(plan.input_bytes, 1)
    read = [0]
    columns = (
        TextColumn("scan"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("shards"),
        TextColumn("{task.fields[data]}"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, disable=bool(getattr(args, "quiet", False)), transient=True) as bar:
        task = bar.add_task("scan", total=len(plan.shards), data="")

        def on_done(done: Any) -> None:
            read[0] += done.bytes_read
            bar.update(task, advance=1, data=f"{read[0] / 1e6:,.1f} MB read of {total_bytes / 1e6:,.1f} MB")

        workers = args.workers or min(default_workers(), len(plan.shards))
        return run_shards(plan.shards, out, workers=workers, ray=args.ray, on_done=on_done)


def _against(config: Any, groups: list[Any], n: int, plan: Any, recordings: Path, out: Path, console: Any,
             quote: str) -> str:  # fmt: skip
    import csv

    from arb.scan.against import against_table, backtest_candidates

    days = sorted({s.day for s in plan.shards})
    rows = backtest_candidates(config.path, groups, n, days, recordings)
    console.print(against_table(rows, quote))
    for row in rows:
        if "skipped" in row:
            console.print(f"not backtested: #{row['rank']} {row['symbol']} {row['buy_venue']} -> {row['sell_venue']}: "
                          f"{row['skipped']}", highlight=False, markup=False, soft_wrap=True)  # fmt: skip
    rows = [row for row in rows if "skipped" not in row]
    path = out / "against.csv"
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["rank"])
        writer.writeheader()
        writer.writerows(rows)
    return path.name


def console_of() -> Any:
    """The terminal's console, or a wide one for a file or a pipe (the whole table, not one squeezed to 80)."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=200)


def _instruments(config: Any, args: argparse.Namespace, names: list[str], costs: list[Any], console: Any) -> int:
    from rich.table import Table

    from arb.scan.instruments import list_universe

    markets = sorted({m for c in costs for m in c.markets})
    rows, problems = list_universe(config, names, markets, refresh=args.refresh)
    if args.symbols:
        rows = [r for r in rows if r["symbol"] in set(args.symbols)]
    table = Table(title=f"symbols two or more of {', '.join(names)} list ({', '.join(markets)})", title_justify="left")
    for name in ("symbol", "market", "venues", "tick", "lot", "min qty", "min notional", "multiplier"):
        table.add_column(name)
    for r in rows:

        def each(key: str, r: dict[str, Any] = r) -> str:
            return ", ".join(f"{v} {r[key][v]}" for v in r["venues"])

        table.add_row(r["symbol"], r["market"], ", ".join(r["venues"]), each("tick"), each("lot"), each("min_qty"),
                      each("min_notional"), each("multiplier"))  # fmt: skip
    console.print(table)
    for problem in problems:
        console.print(f"not listed: {problem}", highlight=False, markup=False, soft_wrap=True)
    console.print(
        f"{len(rows)} symbols listed by two or more of the venues", highlight=False, markup=False, soft_wrap=True
    )
    return 1 if problems else 0


def _live(config: Any, args: argparse.Namespace, names: list[str], costs: list[Any], threshold: float,
          latency: int | None) -> int:  # fmt: skip
    from arb.scan.live import run_live

    symbols = args.symbols or _live_universe(config, args, names, costs)
    code: int = run_live(
        config,
        names,
        symbols,
        threshold_bps=threshold,
        latency_ns=latency,
        window_ns=args.window or 600_000_000_000,
        refresh_ns=args.every or 1_000_000_000,
        duration_ns=args.duration,
        depth_levels=args.depth_levels,
        size_base=config.strategy.max_order_size if args.size is None else args.size,
        quiet=bool(getattr(args, "quiet", False)),
    )
    return code


def _live_universe(config: Any, args: argparse.Namespace, names: list[str], costs: list[Any]) -> list[str]:
    # Without --symbols: every symbol two or more of the venues list (their kept lists, or asked with
    # --refresh or when none is kept), by arb's name on each; the configured symbols when no list is at hand.
    from arb.scan.instruments import list_universe, live_symbols

    console = console_of()

    def say(text: str) -> None:
        console.print(text, highlight=False, markup=False, soft_wrap=True)

    markets = sorted({m for c in costs for m in c.markets})
    rows, problems = list_universe(config, names, markets, refresh=args.refresh)
    for problem in problems:
        say(f"not listed: {problem}")
    symbols, other = live_symbols(rows)
    if other:
        say(f"not in the live scan: {', '.join(other)}: a venue lists it in a bundle or under another name "
            "(the feeds give their prices per bundle)")  # fmt: skip
    if not symbols:
        symbols = list(config.symbol_names)
        say(f"no instrument list at hand: scanning the configured symbols {', '.join(symbols)}")
    else:
        say(f"scanning {len(symbols)} symbols two or more of {', '.join(names)} list")
    return symbols


def _quote(config: Any) -> str:
    from arb.config import quote_currency

    return str(quote_currency(config.strategy.symbol))


def _title(plan: Any, threshold: float, latency: int | None, names: list[str]) -> str:
    days = sorted({s.day for s in plan.shards})
    at = "each pair's own latency" if latency is None else f"{latency / 1e6:g} ms"
    span = f"{days[0]}" if len(days) == 1 else f"{days[0]} to {days[-1]}"
    return (
        f"{', '.join(names)}: {len(plan.shards)} symbol-days, {span}; net edge above {threshold:g} bps after "
        f"taker fees; capturable at {at}"
    )


def _range(start: dt.date | None, end: dt.date | None) -> str:
    if start is None and end is None:
        return ""
    return f" from {start or 'the first day'} to {end or 'the last'}"


COMMAND = Command(
    "scan",
    _cmd_scan,
    help="rank every symbol and venue pair by what its spreads were worth after fees, on history or live",
    description="For every symbol two or more venues have recorded and every ordered venue pair, every day: "
    "the net edge of the top of book after both taker fees, its episodes above a threshold, the depth "
    "crossable at each episode's start, what a bot at a given latency could take, and which venue moves "
    "first; written as scan.parquet and scan.csv and ranked in the terminal (docs/scan.md).",
    arguments=_add_arguments,
    config=False,
)
"""Register ``arb scan``."""
