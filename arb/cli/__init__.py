"""The ``arb`` command: ``convert``, ``check``, ``backtest``, ``record``, ``funding-history``, ``fetch``,
``dry-run``, ``parity``, ``reconcile``, ``latency``, ``order``, ``fees``, ``rebalance``, ``live``, ``kill``,
``halt``, ``report``, ``alert-test``, ``sweep``, ``scan``, ``status``.

Every value on the command line is checked while it is parsed (``arb.command_line``): a bad one is a
single line naming the option and what it expects, exit 2, before anything is loaded. Every failure
arb expects later (bad configuration, missing recording, ...) is an :class:`ArbError`: the command
prints its one-line message and exits with the error's code (2 for mistakes in the input; 3 when a venue
refused what a person must fix, 4 when a venue could not be reached or answer: see ``arb.errors``),
never with a traceback, also when it comes out of a task group. Ctrl-C exits 130 after the command has
saved what it holds. With ``--log-format json`` (before or after the command) that last line is a JSON
record like every other line. ``--set section.key=value`` on a command that reads the configuration
changes one key for the run (:func:`arb.config.load.command_line_settings`).

``arb --help`` and a line without a known command import no command module; a command's ``--help`` and
a mistake on its line import only its module, which imports what its work takes when it runs.
"""

from __future__ import annotations

__all__ = ["main", "run"]

import argparse
import atexit
import contextlib
import gc
import importlib
import logging
import os
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import msgspec

from arb import __version__
from arb._jit import with_stack_room
from arb.command_line import (
    ArgumentParser,
    Command,
    CommandLineError,
    day,
    existing_file,
    existing_folder,
    integer_between,
    npz_output,
    number_between,
    output_folder,
    report_folder,
    symbol,
)
from arb.errors import EXIT_INTERRUPTED, ArbError, RecordingError
from arb.logs import FORMATS, redact
from arb.recording import fetch_choices

if TYPE_CHECKING:
    from arb.config import AppConfig

log = logging.getLogger("arb")

EXIT_USAGE = 2
_RECORDINGS = existing_folder("a recordings folder")
_REPORT = output_folder("a report folder")
_QUIET_HELP = "warnings and errors only"
_LOG_FORMAT_HELP = (
    "stderr as terminal text (default) or one JSON object per line for a log collector, the line a failing "
    "command ends on included (default: $ARB_LOG_FORMAT, else text)"
)
_ALLOW_DAMAGED_HELP = "keep what can be read of a damaged recording instead of failing (the lost parts are reported)"


def _setup_logging(verbose: int, quiet: bool, log_format: str = "text") -> None:
    from arb import logs

    level = logging.WARNING if quiet else (logging.DEBUG if verbose else logging.INFO)
    # text: through the console the progress bar uses (a log line never lands inside the bar); json: one
    # object per line on stderr (arb.logs); both without secrets
    logs.setup(log_format, level)
    # numba's own debug chatter is not the user's business
    logging.getLogger("numba").setLevel(logging.WARNING)


def _cmd_convert(args: argparse.Namespace) -> int:
    import numpy as np

    from arb.recording.convert import DEFAULT_CHUNK_ROWS, convert_to_parts
    from arb.recording.npz import load_eod, save_eod
    from arb.ui import status_and_progress

    out: Path = args.output
    try:
        initial = load_eod(args.initial_snapshot) if args.initial_snapshot else None
    except RecordingError as exc:
        raise RecordingError(f"--initial-snapshot: expected the _eod.npz arb convert writes, got {exc}") from None
    chunk_rows = args.chunk_rows or DEFAULT_CHUNK_ROWS
    started = time.perf_counter()
    with status_and_progress("converting", enabled=not args.quiet) as (_, advance):
        result = convert_to_parts(
            args.inputs,
            out,
            chunk_rows=chunk_rows,
            venue=args.venue,
            market=args.market,
            symbol=args.symbol,
            initial=initial,
            include_bbo=args.bbo,
            base_latency_ns=int(args.base_latency_us * 1000),
            local_offset_ns=None if args.local_offset_ms is None else int(args.local_offset_ms * 1e6),
            progress=advance,
            allow_damaged=args.allow_damaged,
            allow_unsynced=args.allow_unsynced,
            index=lambda r: {"part_rows": np.array(r.part_rows, np.int64)} if len(r.parts) > 1 else {},
            fmt=args.format,
            feed_latency_ns=None if args.feed_latency_ms is None else round(args.feed_latency_ms * 1e6),
            plain=None,  # a small recording without Numba (its import costs more than it saves)
        )
    for warning in result.findings.warnings():
        log.warning(warning)
    eod_path = out.with_name(out.stem + "_eod.npz")
    save_eod(eod_path, result.eod)
    elapsed = time.perf_counter() - started
    stats = result.stats
    lines = [
        f"{result.venue} {result.market} {result.symbol}: {stats.messages:,} messages -> "
        f"{result.rows:,} rows in {elapsed:.2f} s",
        f"  depth {stats.depth_messages:,}  trades {stats.trade_messages:,}  bbo {stats.bbo_messages:,}  "
        f"snapshots {stats.snapshots}  gaps {stats.gaps}  duplicates {stats.duplicates}  "
        f"decode errors {stats.decode_errors}  unknown streams {stats.unknown_streams}",
    ]
    if stats.mark_messages:
        lines.append(f"  mark price/funding {stats.mark_messages:,}  funding times passed {stats.funding_rollovers}")
    lines += [f"  {r.path}: TRUNCATED, converted its {r.lines:,} complete lines" for r in result.truncated]
    if len(result.parts) > 1:
        lines.append(
            f"  {len(result.parts)} parts of at most {chunk_rows:,} rows: {out}, then "
            f"{result.parts[1].name} .. {result.parts[-1].name} (give hftbacktest all of them, in this order)"
        )
    lines.append(
        f"  wrote {out} and {eod_path} (book at update id {result.eod.update_id}, "
        f"{'synced' if result.eod.synced else 'NOT synced'})"
    )
    print("\n".join(lines))
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from arb.config import load_config
    from arb.errors import ConfigError

    config = load_config(args.config)
    from arb.strategy.loading import strategy_record  # the strategy loads (and its parameters) or exit 2

    strategy = strategy_record(config)
    if strategy["origin"] != "arb":  # the user's: compiled for arb's records as a run compiles it
        from arb._jit import plain

        if plain() and _PLAIN_BY_ARB:  # this process compiles nothing: one that does checks it all
            return _check_compiling()
        from arb.strategy.rules import rules_of
        from arb.strategy.selection import bind_config

        bind_config(config, rules_of(config))
    from arb.live.preflight import (  # the gate's code: once the file is read
        full_size_blockers,
        pair_blockers,
        resting_quotes,
        unguarded_quotes_refusal,
    )

    several = len(config.symbols) > 1
    for found, what in (
        (pair_blockers(config), "no pair can ever open, not even the smallest each venue of a direction accepts"),
        (full_size_blockers(config), "the gate refuses every pair the kernel sizes at full size"),
    ):
        if found:
            keys = ", ".join(dict.fromkeys(b.key for b in found))
            why = "; ".join(f"{b.symbol}: {b.text}" if several else b.text for b in found)
            raise ConfigError(str(config.path), keys, f"{what}: {why}; expected limits that let it through")
    print(f"{config.path}: ok")
    for line in _paths_of(config):
        print(f"  {line}")
    print("\n".join(f"  {line}" for line in _strategy_lines(strategy)))
    for sym in config.symbols:
        s, r = sym.strategy, sym.risk
        rules = "; ".join(
            f"{venue.name} tick {i.tick_size:g} lot {i.lot_size:g} base {b:g}"
            for venue, i, b in zip(config.venues, sym.instruments, sym.base, strict=True)
        )
        sizing = (f"min spread {s.min_spread_bps:g} bps, max order {s.max_order_size:g}, max position "
                  f"{s.max_position_size:g} per venue, " if strategy["origin"] == "arb" else "")  # fmt: skip
        print(f"  strategy: {s.symbol}, {sizing}position limit {r.position_limit:g}; {rules}")
    keyed = [v for v, venue in enumerate(config.venues) if venue.api_key is not None and venue.api_key.is_set()]
    for v, venue in enumerate(config.venues):
        source = f" (the account's, from {venue.fees.source})" if venue.fees.source else ""
        print(f"  {venue.name}: {venue.market}, taker fee {venue.fees.taker * 1e4:g} bps{source}, "
              f"quote {venue.account.quote:g}, api key {'set' if v in keyed else 'not set'}")  # fmt: skip
        print("\n".join(f"    {line}" for line in venue.describe_networks()))
    if keyed:  # what the account pays, as the venues say (arb fees --write stores it for the backtest)
        from arb.cli.fees import fee_lines
        from arb.config import require_credentials

        require_credentials(config, keyed)
        print("  the account's fees as the venues charge them (arb fees --write stores them for every command):")
        print("\n".join(f"    {line}" for line in fee_lines(config, keyed)))
    for quotes in resting_quotes(config):  # the maker_taker style: what a crash leaves on the book
        print(f"  {quotes.text()}")
    refusal = unguarded_quotes_refusal(config)
    if refusal is not None:
        print(f"  arb live will refuse to start: {refusal}")
    return 0


def _strategy_lines(strategy: dict[str, Any]) -> list[str]:
    # The run's strategy: its name, where it comes from and what it does; its parameters.
    built_in = strategy["origin"] == "arb"
    origin = "built in, [strategy] style" if built_in else f"from {strategy['origin']}"
    summary = f": {strategy['summary']}" if strategy["summary"] else ""
    params = ", ".join(f"{k} = {_toml_text(v)}" for k, v in strategy["params"].items())
    shown = params or "none"
    return [f"runs strategy {strategy['name']!r} ({origin}){summary}", f"  parameters: {shown}"]


def _toml_text(value: object) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else f"{value!r}"


def _check_compiling() -> int:
    # arb check of a strategy of the user's, as a process that compiles (its NUMBA_DISABLE_JIT was arb's
    # choice, not the user's): the same command line again, its exit code.
    import subprocess

    env = {**os.environ, "NUMBA_DISABLE_JIT": "0"}
    return subprocess.run([sys.executable, "-m", "arb.cli", *sys.argv[1:]], env=env, check=False).returncode


def _paths_of(config: AppConfig) -> list[str]:
    # Where each command reads and writes, resolved (a relative path in the file is relative to it).
    def where(path: Path) -> str:
        path = path.resolve()
        return f"{path}" if path.exists() else f"{path} (not there yet)"

    live = config.live
    journal = live.journal_url or where(live.state_dir / f"{live.account}.sqlite")
    return [
        f"recordings: {where(config.backtest.recordings)}",
        f"results: {where(config.backtest.out)}",
        f"paper account (dry run): {where(config.dry_run.state_dir)}",
        f"live state: {where(live.state_dir)}, journal {journal}",
    ]


def _cmd_backtest(args: argparse.Namespace) -> int:
    from arb.config import load_config
    from arb.reports.chart_worker import ChartWorker
    from arb.reports.files import charts_enabled

    config = _with_recordings(load_config(args.config), args.recordings)
    # forked before the run's imports (Numba, hftbacktest), any thread and the warm-up processes: the child
    # imports matplotlib and rehearses a figure on the core that is idle while this process imports
    chart = ChartWorker.start() if charts_enabled() else ChartWorker()
    try:
        from arb.backtest.run import run_backtest, warm_loop_in_background
        from arb.reports import print_summary, write_report
        from arb.reports.backtest_run import backtest_summary
        from arb.ui import console, status_and_progress

        warming = warm_loop_in_background(config)  # a first run: the loop compiles beside the strategy
        _prepare_strategy(config)
        out = report_folder(args.out, config.backtest.out, "backtest")
        with status_and_progress("backtest", enabled=not args.quiet) as (status, advance):
            result = run_backtest(
                config, args.start, args.end, on_status=status, on_progress=advance,
                allow_damaged=args.allow_damaged, warming=warming,
            )  # fmt: skip
        summary, orders = backtest_summary(config, result)
        paths = write_report(
            out, summary, result.fills, result.equity, funding=result.funding, orders=orders,
            transfers=result.transfers, chart=chart,
        )  # fmt: skip
    finally:
        chart.close()
    print_summary(summary)
    if any(state.get("flags", 0) for state in result.kernel_states or [result.kernel_state]):
        console.print("[bold red]a hedge failed repeatedly: see the log and trades.csv[/]")
    print(f"report: {paths[-1].parent} ({', '.join(p.name for p in paths)}) in {result.wall_s:.1f} s")
    return 0


def _prepare_strategy(config: AppConfig) -> None:
    # The run's strategy loaded, its parameters checked, its code compiled: a mistake exits 2 here, before
    # anything is read or written (arb.strategy.loading says what).
    from arb.strategy.selection import prepare

    prepare(config)


def _with_recordings(config: AppConfig, recordings: Path | None) -> AppConfig:
    # --recordings replaces [backtest] recordings
    if recordings is None:
        return config
    backtest = msgspec.structs.replace(config.backtest, recordings=recordings.resolve())
    return msgspec.structs.replace(config, backtest=backtest)


def _cmd_parity(args: argparse.Namespace) -> int:
    from arb.config import load_config
    from arb.parity.against_dry_run import run_parity, zero_latency

    config = load_config(args.config)
    _prepare_strategy(config)
    if args.zero_latency:
        config = zero_latency(config)
    if args.live:
        from arb.parity.against_live import run_live_parity

        report = run_live_parity(config, args.start, args.end, exact=args.zero_latency)
    else:
        report = run_parity(config, args.start, args.end, exact=args.zero_latency)
    print(report.describe())
    return 0 if report.agree else 1


def _convert_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "inputs",
        nargs="+",
        type=existing_file("recording file"),
        metavar="INPUT",
        help="consecutive recording files of one symbol",
    )
    parser.add_argument(
        "-o", "--output", required=True, type=npz_output, help="output .npz (the end-of-day snapshot goes beside it)"
    )
    parser.add_argument("--venue", choices=fetch_choices.venues(), help="default: inferred from the content")
    parser.add_argument("--market", choices=("spot", "linear"), help="default: inferred")
    parser.add_argument("--symbol", type=symbol, help="default: the first symbol in the file")
    parser.add_argument(
        "--initial-snapshot",
        type=existing_file("end-of-day snapshot file"),
        metavar="EOD.npz",
        help="previous day's end-of-day snapshot",
    )
    parser.add_argument("--bbo", action="store_true", help="also write best bid/offer rows (DEPTH_BBO_EVENT)")
    parser.add_argument(
        "--base-latency-us",
        type=number_between(0, 1e6),
        default=0.0,
        help="feed latency floor after correction, 0 to 1,000,000 us",
    )
    parser.add_argument(
        "--local-offset-ms",
        type=number_between(-86_400_000, 86_400_000),
        help="add this to every local time instead of hftbacktest's automatic correction (at most a day)",
    )
    parser.add_argument(
        "--chunk-rows",
        type=integer_between(1_000, 1_000_000_000),
        metavar="N",
        help="rows converted and written at a time (default 1,000,000: 64 bytes a row, a few "
        "chunks held at once); more are written as parts: OUT, then NAME.p001.npz, ... beside it",
    )
    parser.add_argument("--allow-damaged", action="store_true", help=_ALLOW_DAMAGED_HELP)
    parser.add_argument(
        "--allow-unsynced",
        action="store_true",
        help="write the file even if the book never syncs (no snapshot in the inputs and no --initial-snapshot): "
        "trades without a book",
    )
    parser.add_argument(
        "--format",
        choices=("recording", "tardis", *fetch_choices.archive_sources()),
        help="the inputs' format (default: told from the files): arb's recordings, Tardis.dev CSV datasets "
        "(incremental_book_L2, trades, derivative_ticker of one day or more) or a venue's own archive "
        "(<venue>-archive: its order book and trade files); docs/data.md",
    )
    parser.add_argument(
        "--feed-latency-ms",
        type=number_between(0, 60_000),
        metavar="MS",
        help="a venue's archive has no receive time: local time = exchange time + this (default 10 ms)",
    )


_CONVERT = Command(
    "convert",
    _cmd_convert,
    help="convert recordings to an hftbacktest .npz",
    description="Convert recordings of one venue and symbol (consecutive files of one session, in time "
    "order) into hftbacktest's event rows, with the venue's own book sync, and write them as an .npz with "
    "the end-of-day book beside it (what the next day's conversion starts from). Damaged files, files out "
    "of order and a book that never syncs are refused with what to do.",
    arguments=_convert_arguments,
    config=False,
)


_CHECK = Command(
    "check",
    _cmd_check,
    help="load and validate the configuration, print a summary",
    description="Load arbitrage.toml and the venue file of each venue of the run, check every key, and check "
    "that some pair can open at all (the kernel's sizing and the risk gate on the smallest pair the venues "
    "accept); print where each command reads and writes, each symbol's sizes, each venue's settings and, in the "
    "maker_taker style, what happens to each maker venue's resting quotes if arb dies. Exit 2 with one line "
    "naming the file and key when something is wrong.",
)


def _backtest_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--start",
        type=day,
        metavar="DATE",
        help="first UTC day, e.g. 2024-08-08 (default: the first recorded for every venue)",
    )
    parser.add_argument(
        "--end", type=day, metavar="DATE", help="last UTC day, inclusive (default: the last recorded for every venue)"
    )
    parser.add_argument(
        "--recordings", type=_RECORDINGS, metavar="DIR", help="recordings folder (default: [backtest] recordings)"
    )
    _add_report_out(parser)
    parser.add_argument("--allow-damaged", action="store_true", help=_ALLOW_DAMAGED_HELP)


def _add_report_out(parser: argparse.ArgumentParser) -> None:
    # --out of the commands that write a report (backtest, dry-run, live)
    parser.add_argument(
        "--out", type=_REPORT, metavar="DIR", help="report folder (default: a timestamped folder under results/)"
    )


_BACKTEST = Command(
    "backtest",
    _cmd_backtest,
    help="backtest the spread strategy on recordings",
    description="Run the strategy over recorded days in hftbacktest (order latency, the recorded feed "
    "latency, fees): the days are converted on first use and cached beside the recordings, and each day "
    "starts from the previous day's end-of-day book. Fees come from each venue file's [fees], on the traded "
    "value: every order that takes liquidity (both legs of a taker pair, a maker_taker quote's hedge) pays "
    "its venue's fees.taker; a maker_taker quote that rests and fills pays its venue's fees.maker (negative: "
    "a rebate). Writes a report folder (summary.json, trades.csv, equity.png).",
    arguments=_backtest_arguments,
)


def _parity_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--start", type=day, metavar="DATE", help="first UTC day")
    parser.add_argument("--end", type=day, metavar="DATE", help="last UTC day")
    parser.add_argument("--zero-latency", action="store_true", help="instant orders and feed: must agree exactly")
    parser.add_argument(
        "--live",
        action="store_true",
        help="the live side trades through arb live's executors (ccxt, journal) against fake venues on "
        "127.0.0.1 replaying the recording, instead of the paper executor",
    )


_PARITY = Command(
    "parity",
    _cmd_parity,
    help="run a recording through the backtest and the live path and compare",
    description="Run the same recorded days through the backtest and through the live path (paper orders, "
    "or with --live arb live's executors against fake venues on 127.0.0.1) and compare their decisions and "
    "fills. Exit 0 when they agree, 1 otherwise.",
    arguments=_parity_arguments,
)


_DEFINED_HERE = {"convert": _CONVERT, "check": _CHECK, "backtest": _BACKTEST, "parity": _PARITY}

_COMMAND_MODULES = {
    "record": "arb.cli.record",
    "funding-history": "arb.cli.funding_history",
    "fetch": "arb.cli.fetch",
    "dry-run": "arb.cli.dry_run",
    "reconcile": "arb.cli.reconcile",
    "latency": "arb.cli.latency",
    "order": "arb.cli.order",
    "fees": "arb.cli.fees",
    "rebalance": "arb.cli.rebalance",
    "live": "arb.cli.live",
    "kill": "arb.cli.kill",
    "halt": "arb.cli.halt",
    "report": "arb.reports.command",
    "alert-test": "arb.ops.command",
    "sweep": "arb.sweep.command",
    "scan": "arb.scan.command",
    "status": "arb.ops.status",
}
"""The module of each command defined beside its code, as its ``COMMAND`` (:class:`arb.command_line.Command`).
:func:`main` imports one only when its command is the one run; each imports what its work takes (aiohttp,
ccxt, SQLAlchemy, Numba, ...) in the function that runs it, so that its ``--help`` and a mistake on its
command line answer at once."""

_HELP = {
    "record": "record every venue's market data",
    "funding-history": "fetch the venues' funding-rate history into the recordings",
    "fetch": "download history from Tardis.dev or a venue's archive into the recordings",
    "dry-run": "paper-trade the strategy on live or replayed data (no orders are sent)",
    "reconcile": "check the live account against its journal",
    "latency": "the order latencies arb live measured, from its journal",
    "order": "place one immediate-or-cancel order through the live executor",
    "fees": "the account's fees as the venues charge them, beside the configured ones; --write stores them",
    "rebalance": "the transfers that restore each asset's split between the venues; --execute sends them",
    "live": "trade the strategy with real orders: reconciled with the journal first, testnet unless --mainnet",
    "kill": "kill switch: halt new pairs, cancel every open order, flatten the net position",
    "halt": "show the halts that keep arb live and the dry run from opening pairs; --clear --live/--paper lifts one",
    "report": "write a day's, week's or month's report as one self-contained HTML file",
    "alert-test": "send one test message to every alert channel that is on ([alerts])",
    "sweep": "backtest every point of a parameter grid (local processes or a Ray cluster)",
    "scan": "rank every symbol and venue pair by what its spreads were worth after fees, on history or live",
    "status": (
        "is a running arb live / dry-run / record alive and ready to trade (its "
        "/readyz); exit 0 ready, 1 not ready, 69 nothing answers"
    ),
}
"""What ``arb --help`` says of each command defined in a module, without importing it (the module's
``COMMAND.help`` is the same text: a test compares them)."""


def _command_of(argv: Sequence[str]) -> str | None:
    # The command named on the line (the first word that is neither a top-level option nor the value of
    # --log-format), or None when there is none or it is not a command (then every parser is built, for
    # help or the error).
    words = list(argv)
    word = next((a for i, a in enumerate(words) if not a.startswith("-") and words[i - 1 : i] != ["--log-format"]),
                None)  # fmt: skip
    return word if word in _COMMANDS else None


_COMMANDS = ("convert", "check", "backtest", "record", "funding-history", "fetch", "dry-run", "parity", "reconcile",
             "latency", "order", "fees", "rebalance", "live", "kill", "halt", "report", "alert-test", "sweep",
             "scan", "status")  # fmt: skip
"""Every command, in the order ``arb --help`` lists them."""


def _command(name: str) -> Command:
    # The command's definition; one defined in a module imports it now.
    if name in _DEFINED_HERE:
        return _DEFINED_HERE[name]
    command: Command = importlib.import_module(_COMMAND_MODULES[name]).COMMAND
    return command


def _parser(command: str | None = None, *, every: bool = True) -> argparse.ArgumentParser:
    """The command line's parser: with ``command``, the one parser of that command; without, every
    command's (``every``), or (not ``every``) each command by name and help only, which is all ``arb
    --help`` and a line without a known command need, with no command module imported."""

    parser = ArgumentParser(
        prog="arb",
        description="Cross-exchange spread arbitrage between two to eight venues ([strategy] venues), built on "
        "hftbacktest: "
        "one compiled strategy runs in a backtest on recordings, in a dry run (paper orders on live or "
        "replayed data) and in live trading (real orders, testnet unless --mainnet).",
        epilog="Every command answers a bad value with one line naming the option and exit code 2; "
        "arb COMMAND --help lists a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"arb {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    parser.add_argument("-q", "--quiet", action="store_true", help=_QUIET_HELP)
    parser.add_argument("--log-format", choices=FORMATS, help=_LOG_FORMAT_HELP)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    for name in _COMMANDS:
        if command == name or (command is None and every):
            _command(name).add_to(sub)
        elif command is None:
            sub.add_parser(name, help=_DEFINED_HERE[name].help if name in _DEFINED_HERE else _HELP[name])
    for one in sub.choices.values():  # `arb backtest -q` as `arb -q backtest`: given or not, never reset
        one.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS, help="more log output")
        one.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help=_QUIET_HELP)
        one.add_argument("--log-format", choices=FORMATS, default=argparse.SUPPRESS, help=_LOG_FORMAT_HELP)
    return parser


def _log_format_of(argv: Sequence[str]) -> str:
    # The log format asked for on the line (either side of the command) or in the environment, for the
    # fatal line of a command line that did not parse; text when none (or no valid one) is given.
    words = list(argv)
    asked = None
    for i, word in enumerate(words):
        if word == "--log-format" and i + 1 < len(words):
            asked = words[i + 1]
        elif word.startswith("--log-format="):
            asked = word.split("=", 1)[1]
    asked = asked or os.environ.get("ARB_LOG_FORMAT")
    return asked if asked in FORMATS else "text"


def _fatal(text: str, code: int, log_format: str) -> int:
    """Print the line a command ends on when it fails (``text``) on stderr, secrets replaced, in the log
    format: in json one object like every other line (level ERROR, logger ``arb``, ``exit_code``);
    returns ``code``."""
    if log_format == "json":
        from arb.logs import JsonFormatter

        record = logging.LogRecord("arb", logging.ERROR, __file__, 0, text, None, None)
        record.exit_code = code
        text = JsonFormatter().format(record)
    print(redact(text), file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = _parser(_command_of(sys.argv[1:] if argv is None else argv), every=False)
    words = sys.argv[1:] if argv is None else list(argv)
    try:
        args = parser.parse_args(words)
    except CommandLineError as exc:  # its message starts with the command
        return _fatal(str(exc), exc.exit_code, _log_format_of(words))
    log_format = getattr(args, "log_format", None) or os.environ.get("ARB_LOG_FORMAT") or "text"
    if log_format not in FORMATS:
        print(f"arb: ARB_LOG_FORMAT: expected text or json, got {log_format!r}", file=sys.stderr)
        return EXIT_USAGE
    # arb.reports.files.CHARTS_ENV, checked here without importing the reports (every command starts here)
    if (charts := os.environ.get("ARB_CHARTS", "1")) not in ("0", "1"):
        print(f"arb: ARB_CHARTS: expected 0 (no equity.png) or 1, got {charts!r}", file=sys.stderr)
        return EXIT_USAGE
    _setup_logging(args.verbose, args.quiet, log_format)
    try:
        with _settings(getattr(args, "set", None)):
            code: int = with_stack_room(args.run, args)  # the room a first run's compiling needs
        return code
    except ArbError as exc:
        return _fatal(f"arb {args.command}: {exc}", exc.exit_code, log_format)
    except BaseExceptionGroup as group:  # out of a task group: its ArbError is the one line
        ours, rest = group.split(ArbError)
        if ours is None or rest is not None:
            raise
        first = _first_leaf(ours)
        return _fatal(f"arb {args.command}: {first}", int(getattr(first, "exit_code", 1)), log_format)
    except KeyboardInterrupt:
        return _fatal(f"arb {args.command}: interrupted", EXIT_INTERRUPTED, log_format)


def _settings(settings: list[tuple[str, object]] | None) -> contextlib.AbstractContextManager[None]:
    # The command's --set, applied to every configuration it loads while it runs (arb.config.load).
    if not settings:
        return contextlib.nullcontext()
    from arb.config.load import command_line_settings

    return command_line_settings(settings)


def _first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    # The first exception of a (nested) exception group
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first


_BATCH_COMMANDS = frozenset({"convert", "check", "backtest", "parity", "report", "sweep", "scan"})
"""Commands that compute and exit (no live loop with latency targets): see :func:`run`."""

_PLAIN_PYTHON_COMMANDS = frozenset({"check"})
"""Commands that run the strategy's rules as plain Python, compiling nothing: as a process of their own
they do not import Numba at all (:func:`arb._jit.plain`), so they answer in a fraction of a second. A
strategy of the user's (``[strategy] kernel``) is then checked by the same command in a process that
compiles it, as a run would."""
_PLAIN_BY_ARB = False
"""This process compiles nothing because :func:`run` chose so (not the user's ``NUMBA_DISABLE_JIT``)."""


_KEEP_BYTES = 256 << 20
"""Arrays up to this size come from (and go back to) the process's heap in ``arb convert``."""


def _keep_freed_memory() -> None:
    # glibc gives every allocation above 128 kB its own fresh pages (mmap) and returns them at free: a
    # conversion's NumPy temporaries (a block's columns, 0.1-8 MB each, thousands of them) then fault in new
    # pages again and again (~0.04 s of the USD-M capture's ~0.5 s). Raised thresholds let freed arrays'
    # memory serve the next ones; a process that converts and exits gives it back at exit. Elsewhere
    # (another C library, another system) nothing changes.
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(-3, _KEEP_BYTES)  # M_MMAP_THRESHOLD
    mallopt(-1, _KEEP_BYTES)  # M_TRIM_THRESHOLD


def run() -> None:
    """The ``arb`` command as a process of its own (the console script): :func:`main`, then exit.

    Tests call :func:`main`; a process of its own can also skip garbage-collector work. Start-up
    (NumPy, Numba and its registries, ~120,000 tracked objects that live to the end) makes the
    default thresholds collect ~250 times in a one-second ``arb convert`` (~0.15 s); a batch command
    collects less often (live commands keep the default: short pauses). At exit every command skips
    the last full collection (``gc.freeze``: the process ends there, its memory goes with it).
    Measured on the USD-M capture's ``arb convert``: 0.81 s instead of 1.15 s. ``arb convert`` also keeps
    the memory it frees for its next arrays (:func:`_keep_freed_memory`) and starts NumPy's OpenBLAS with
    one thread (it uses no BLAS; a thread per core costs ~0.04 s of CPU at NumPy's import), unless
    ``OPENBLAS_NUM_THREADS`` says otherwise.

    A command that compiles nothing (:data:`_PLAIN_PYTHON_COMMANDS`) runs with ``NUMBA_DISABLE_JIT=1``:
    ``arb check`` then imports no Numba (0.22 s of CPU instead of 0.6 s).

    A batch command ends its process without the interpreter's teardown (:func:`_exit_now`) when no
    other thread runs: freeing every object one by one took 0.05-0.08 s after ``arb backtest`` returned
    (first or second run), 0.03 s without it, Python's start included (measured from the parent).
    """
    command = _command_of(sys.argv[1:])
    if command in _BATCH_COMMANDS:
        gc.set_threshold(10_000, 10, 10)
    if command == "convert":
        _keep_freed_memory()
        # NumPy's OpenBLAS starts a thread per core at import (~0.04 s of CPU); converting uses no BLAS.
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    if command in _PLAIN_PYTHON_COMMANDS and "numba" not in sys.modules and "NUMBA_DISABLE_JIT" not in os.environ:
        global _PLAIN_BY_ARB
        os.environ["NUMBA_DISABLE_JIT"] = "1"
        _PLAIN_BY_ARB = True
    code = main()
    gc.freeze()
    if command in _BATCH_COMMANDS and threading.active_count() == 1:
        _exit_now(code)
    sys.exit(code)


def _exit_now(code: int) -> NoReturn:
    """End the process with exit status ``code`` as an exit would, less the interpreter's teardown: first
    what of an exit matters (the exit functions: logging's flush, multiprocessing's joins, Ray's shutdown;
    then Python's and C's buffered standard streams), then ``os._exit``. Every file a command writes is
    closed when it returns; the memory goes with the process. A Python without ``atexit._run_exitfuncs``
    (CPython's, not a documented name) exits as usual."""
    run_exit_functions = getattr(atexit, "_run_exitfuncs", None)
    if run_exit_functions is None:
        sys.exit(code)
    run_exit_functions()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None).fflush(None)  # what C code printed and buffered
    os._exit(code)


if __name__ == "__main__":
    run()
