"""``arb dry-run``: the paper executor on the venues' live streams (``--live-data``) or on a replay.

Opens the paper account (``[dry_run] state_dir`` or ``--state-dir``; ``--fresh`` sets the old one
aside), prints what it resumes and any halt or pause it keeps, hands the session
(:mod:`arb.live.dry_run`) its watchers (the ops watch and the terminal lines,
:func:`arb.ops.terminal.dry_run_watchers`), then writes the report (:func:`write_dry_run_report`): the
same summary, trades.csv, equity.npz, equity.png and summary.json as a backtest.
"""

from __future__ import annotations

__all__ = ["COMMAND", "write_dry_run_report"]

import argparse
import asyncio
import calendar
import math
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from rich.console import Console

from arb.cli import _ALLOW_DAMAGED_HELP, _add_report_out, _with_recordings
from arb.command_line import (
    Command,
    add_config_argument,
    check_default,
    day,
    duration,
    existing_folder,
    output_folder,
    report_folder,
    speed,
)
from arb.config import AppConfig, load_config
from arb.errors import UsageError, exit_code_of

if TYPE_CHECKING:
    from arb.execution.paper_account import PaperAccount
    from arb.live.dry_run import DryRunResult


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--live-data", action="store_true", help="the venues' live streams (default: replay recordings)"
    )
    add_config_argument(parser)
    parser.add_argument(
        "--duration", type=duration, metavar="TIME", help="stop after this long (replay: data time): 90s, 10m, 2h"
    )
    parser.add_argument(
        "--speed", type=speed, metavar="X", help="replay speed: 1 real time, 10, ... or max (default: [dry_run])"
    )
    parser.add_argument("--start", type=day, metavar="DATE", help="replay: first UTC day")
    parser.add_argument("--end", type=day, metavar="DATE", help="replay: last UTC day")
    parser.add_argument(
        "--recordings", type=existing_folder("a recordings folder"), metavar="DIR", help="replay: recordings folder"
    )
    parser.add_argument(
        "--state-dir",
        type=output_folder("a paper account folder"),
        metavar="DIR",
        help="paper account folder (default: [dry_run] state_dir)",
    )
    parser.add_argument(
        "--fresh", action="store_true", help="start a new paper account (the old one is moved aside, not deleted)"
    )
    _add_report_out(parser)
    parser.add_argument("--allow-damaged", action="store_true", help="replay: " + _ALLOW_DAMAGED_HELP)


_REPLAY_ONLY = ("speed", "start", "end", "recordings", "allow_damaged")


def _cmd_dry_run(args: argparse.Namespace) -> int:
    from arb.execution.paper_account import PaperAccount

    if args.live_data:
        given = [name for name in _REPLAY_ONLY if getattr(args, name) not in (None, False)]
        if given:
            option = "--" + given[0].replace("_", "-")
            raise UsageError(
                f"{option}: expected only with a replay, got it with --live-data (live data "
                "runs in real time on today's market)"
            )
    config = _with_recordings(load_config(args.config), args.recordings)
    from arb.strategy.selection import prepare

    prepare(config)  # a strategy that cannot run: exit 2 before the paper account opens
    state_dir = args.state_dir or check_default(
        config.dry_run.state_dir, output_folder("a paper account folder"), "--state-dir", "[dry_run] state_dir"
    )
    out = report_folder(args.out, config.backtest.out, "dry-run")
    days = None
    if not args.live_data:
        from arb.recording.loader import plan_days

        days = plan_days(config, args.start, args.end)
    with PaperAccount.open(state_dir, config, fresh=args.fresh) as account:  # its writer until the report is out
        return _dry_run_on(args, config, account, state_dir, days, out)


def _dry_run_on(
    args: argparse.Namespace, config: AppConfig, account: PaperAccount, state_dir: Path, days: Any, out: Path
) -> int:
    # the dry run on an open paper account (the caller closes it)
    from arb.live.dry_run import dry_run_live, dry_run_replay
    from arb.ops.terminal import dry_run_watchers
    from arb.ui import console

    duration = args.duration
    for line in account.notes:
        console.print(line, highlight=False, soft_wrap=True)
    if account.set_aside is not None:
        kept = f"--fresh: a new paper account; the previous one is kept in {account.set_aside}"
        console.print(kept, highlight=False, soft_wrap=True)
    note = account.resume_note(None if days is None else [f"{d:%Y-%m-%d}" for d in days])
    if note is not None:
        console.print(note, highlight=False, soft_wrap=True)
    from rich.markup import escape as rich_escape

    from arb.execution.halt_hints import clear_halt_command

    lifts = clear_halt_command(config, state_dir)  # this paper account's alone, never arb live's
    if account.halt:
        console.print(
            f"[bold red]HALTED[/] ({rich_escape(account.halt)}): this paper account opens no new pair until "
            f"{rich_escape(lifts)}",
            highlight=False,
            soft_wrap=True,
        )
    from arb.execution.risk import day_pause_text, make_limits

    start = time.time_ns() if days is None else round(calendar.timegm(days[0].timetuple())) * 1_000_000_000
    paused = day_pause_text(account.risk, make_limits(config.risk), start, clear=lifts)
    if paused is not None:
        console.print(f"[bold red]PAUSED[/] ({rich_escape(paused)})", highlight=False, soft_wrap=True)
    base, quote = account.balances()
    watchers = dry_run_watchers(config, account, console)
    if args.live_data:
        for venue in config.venues:
            console.print(venue.describe_endpoints(), highlight=False, soft_wrap=True)
        console.print(
            "paper orders only: a dry run sends no order to any venue (data_network chooses the "
            "market data: docs/dry-run.md)",
            highlight=False,
        )
        result = asyncio.run(
            dry_run_live(config, account=account, console=console, duration_ns=duration, watchers=watchers)
        )
    else:
        pace = config.dry_run.replay_speed if args.speed is None else args.speed
        result = asyncio.run(
            dry_run_replay(
                config,
                account=account,
                console=console,
                speed=None if math.isinf(pace) else pace,
                duration_ns=duration,
                days=days,
                allow_damaged=args.allow_damaged,
                watchers=watchers,
            )
        )
    paths = write_dry_run_report(
        result, config, base, quote, out, source="live" if args.live_data else "replay", console=None
    )
    for why in result.silent:
        print(f"arb dry-run: {why}", file=sys.stderr)
    if paths is None:
        print("arb dry-run: no market data reached every venue's book: nothing to report", file=sys.stderr)
        return 1
    state = "interrupted, " if result.interrupted else ""
    print(f"report: {paths[-1].parent} ({state}paper account {account.path})")
    return 1 if result.silent else exit_code_of(result.stop_signal)


def engine_figures(engine: Any) -> dict[str, Any]:
    """The kernel's and the risk gate's figures of a live engine (a dry run's or ``arb live``'s) for a
    report's ``meta``, as a backtest gives them: ``kernel_state`` (the strategy's memory counters
    included) and ``risk_state`` of the first symbol, and with several symbols each one's
    (``kernel_states``, ``symbol_risk``)."""
    from arb.execution.risk import risk_figures, symbol_risk_figures
    from arb.strategy.types import kernel_figures

    styles, memory = engine.rules["quotes"], engine.bound.memory
    figures: dict[str, Any] = {
        "kernel_state": kernel_figures(engine.kernel_state[0], int(styles[0]), memory[0]),
        "risk_state": risk_figures(engine.risk_state[0]),
    }
    if (n := engine.n_symbols) > 1:  # each symbol's kernel and gate (kernel_state above is the first symbol's)
        figures["kernel_states"] = [kernel_figures(engine.kernel_state[s], int(styles[s]), memory[s]) for s in range(n)]
        figures["symbol_risk"] = [symbol_risk_figures(engine.symbol_state[s]) for s in range(n)]
    return figures


def write_dry_run_report(
    result: DryRunResult,
    config: AppConfig,
    session_base: list[list[float]],
    session_quote: list[float],
    out: Path,
    *,
    source: str,
    console: Console | None = None,
) -> list[Path] | None:
    """The same summary, trades.csv, equity.npz, equity.png and summary.json as a backtest (its marks
    at each UTC midnight the session crossed: the engine's, ``Engine.day_marks``); None without data."""
    from arb.reports import InitialBalances, print_summary, run_summary, write_report
    from arb.strategy.loading import strategy_record

    engine = result.engine
    if len(engine.log.equity.view()) == 0:
        return None
    meta = {
        "mode": "dry-run",
        "config": config.to_dict(),
        "strategy": strategy_record(config),
        "source": source,
        "start_ns": result.start_ns,
        "end_ns": result.end_ns,
        "duration_s": (result.end_ns - result.start_ns) / 1e9,
        "batches": result.batches,
        "interrupted": result.interrupted,
        "paper": engine.executor.summary(),
        **engine_figures(engine),
        "account": str(result.account.path),
        # the account's positions at the end, over all its sessions (the account line's): the table's
        # "position, account" rows beside this run's own
        "account_position": {name: [float(x) for x in engine.position[s]] for s, name in enumerate(engine.symbols)},
        "wall_s": round(result.wall_s, 3),
    }
    n = engine.n_symbols
    quote = tuple(float(q) for q in session_quote)  # per venue
    base = np.asarray(session_base, float).reshape(-1, len(quote))  # per symbol (a flat row: one symbol's)
    initial = InitialBalances.of_symbols(base[:n], quote)
    fills = engine.log.fills.view()
    equity = engine.log.equity.view()
    summary = run_summary(
        config,
        fills,
        equity,
        initial,
        meta,
        out_of_sync=[engine.log.out_of_sync(result.start_ns, result.end_ns, s) for s in range(n)],
        sent=engine.log.sent.view(),
        kernel_flags=[int(engine.kernel_state[s]["flags"]) for s in range(n)],
        funding=engine.log.funding.view(),
        day_marks=engine.day_marks,
        calls=engine.log.calls.view(),
    )
    paths = write_report(out, summary, fills, equity, funding=engine.log.funding.view())
    print_summary(summary, console)
    return paths


COMMAND = Command(
    "dry-run",
    _cmd_dry_run,
    help="paper-trade the strategy on live or replayed data (no orders are sent)",
    description="Run the live engine with paper orders filled on the book it sees: on the venues' live "
    "streams (--live-data) or on recordings replayed through the live path. The paper account is kept "
    "between runs in [dry_run] state_dir; no order is ever sent to a venue.",
    arguments=_add_arguments,
    config=False,
)
"""``arb dry-run``: paper trading on live or replayed data."""
