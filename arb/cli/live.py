"""``arb live [--duration TIME] [--mainnet] [--yes] [--out DIR]``: the kernel on real orders.

Loads the configuration, asks for a typed confirmation before a venue on mainnet (``--mainnet`` and
``--yes`` for unattended starts), checks that every API key the venues need is set (all the missing
ones named at once) and that no quote would rest where nothing cancels it if arb dies (unless
``[live] quotes_without_dead_man`` says so: exit 78 otherwise), then runs
:func:`arb.live.trading.run_live` with its stop deadline armed by SIGTERM or Ctrl-C, and writes the
same report as a dry run plus each venue's order latency.
"""

from __future__ import annotations

__all__ = ["COMMAND", "confirm_mainnet"]

import argparse
import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from arb.cli import _add_report_out
from arb.command_line import Command, duration, exit_codes_help, report_folder
from arb.config import AppConfig, load_config, require_credentials
from arb.errors import ConfigError, NeedsOperatorError, UsageError, exit_code_of

if TYPE_CHECKING:
    from arb.live.deadline import StopDeadline

_CONFIRMATION = "trade real money"


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--duration", type=duration, metavar="TIME", help="stop after this long: 90s, 10m, 2h (default: Ctrl-C)"
    )
    parser.add_argument("--mainnet", action="store_true", help="allow venues whose network is mainnet")
    parser.add_argument("--yes", action="store_true", help=f'skip typing "{_CONFIRMATION}" (unattended starts)')
    _add_report_out(parser)


def confirm_mainnet(config: AppConfig, allowed: bool, yes: bool, ask: Callable[[str], str] = input) -> None:
    mainnet = [v.name for v in config.venues if v.network == "mainnet"]
    if not mainnet:
        return
    if not allowed:
        raise UsageError(
            f"{', '.join(mainnet)} on mainnet: real money; pass --mainnet to allow it (testnet is the default network)"
        )
    if yes:
        return
    answer = ask(f'{", ".join(mainnet)} on MAINNET with real money. Type "{_CONFIRMATION}" to go on: ')
    if answer.strip() != _CONFIRMATION:
        raise UsageError("mainnet not confirmed: nothing was sent")


def _cmd_live(args: Any) -> int:

    from arb.ui import console

    config = load_config(args.config).as_traded()  # orders and market data of one network (docs/going-live.md)
    from arb.strategy.selection import prepare

    prepare(config)  # a strategy that cannot run: exit 2 before anything is asked, read or sent
    out = report_folder(args.out, config.backtest.out, "live")
    from arb.live.preflight import unguarded_quotes_refusal, untraded_venues_refusal

    untraded = untraded_venues_refusal(config)
    if untraded is not None:  # a setting of the run, refused before anything else: exit 2
        raise ConfigError(str(config.path), "strategy.venues", untraded)
    confirm_mainnet(config, args.mainnet, args.yes)
    for venue in config.venues:
        console.print(venue.describe_endpoints(private=True), highlight=False, soft_wrap=True)
    require_credentials(config, range(len(config.venues)))  # every key missing, before anything connects
    refusal = unguarded_quotes_refusal(config)  # before the report folder's run: run_live refuses it too
    if refusal is not None:
        raise NeedsOperatorError(refusal)
    from arb.live.deadline import StopDeadline

    deadline = StopDeadline(config.live.stop_timeout_ns, "arb live")  # armed by SIGTERM / Ctrl-C
    try:
        return _live_and_report(config, args, out, deadline)
    finally:
        deadline.cancel()


def _live_and_report(config: AppConfig, args: Any, out: Path, deadline: StopDeadline) -> int:
    from arb.cli.dry_run import engine_figures
    from arb.cli.latency import pair_line
    from arb.cli.reconcile import latency_lines
    from arb.live.trading import run_live
    from arb.ops.watch import Watch
    from arb.reports import InitialBalances, print_summary, run_summary, write_report
    from arb.strategy.loading import strategy_record
    from arb.ui import console

    watch = Watch(config, "live", report_dir=str(config.live.state_dir / "reports"))
    result = asyncio.run(
        run_live(config, console=console, duration_ns=args.duration, on_stop_signal=deadline.arm, watchers=[watch])
    )
    engine = result.engine
    meta = {
        "mode": "live",
        "config": config.to_dict(),
        "strategy": strategy_record(config),
        "start_ns": result.start_ns,
        "end_ns": result.end_ns,
        "duration_s": (result.end_ns - result.start_ns) / 1e9,
        "batches": result.batches,
        "interrupted": result.interrupted,
        "executor": engine.executor.summary(),
        "order_latency_us": result.latencies,
        "pair_latency_us": result.pair_latencies,
        "left_in_flight": [o.client_id for o in result.left_in_flight],
        "rule_differences": result.rule_differences,
        **engine_figures(engine),
        "wall_s": round(result.wall_s, 3),
    }
    if len(engine.log.equity.view()):
        n = engine.n_symbols
        initial = InitialBalances.of_symbols(engine.init_base[:n], [float(q) for q in engine.init_quote])
        out_of_sync = [engine.log.out_of_sync(result.start_ns, result.end_ns, s) for s in range(n)]
        fills, equity = engine.log.fills.view(), engine.log.equity.view()
        paid = engine.log.funding.view()
        summary = run_summary(config, fills, equity, initial, meta, out_of_sync=out_of_sync, funding=paid,
                              day_marks=engine.day_marks)  # fmt: skip
        paths = write_report(out, summary, fills, equity, funding=paid)
        print_summary(summary, console)
        console.print(f"report: {paths[-1].parent}", highlight=False)
    for line in latency_lines(result.latencies):
        console.print(line, highlight=False)
    if line := pair_line(result.pair_latencies):
        console.print(line, highlight=False)
    if result.left_in_flight or (result.kill is not None and not result.kill.flat):
        return 1  # an order still in flight, or exposure the kill switch could not close: a person looks now
    return exit_code_of(result.stop_signal)


COMMAND = Command(
    "live",
    _cmd_live,
    help="trade the strategy with real orders: reconciled with the journal first, testnet unless --mainnet",
    description="Reconcile every venue with the journal, then trade the same kernel as the dry run through "
    "the live executors until --duration, Ctrl-C or SIGTERM. A venue on mainnet needs --mainnet and a typed "
    "confirmation (or --yes for unattended starts); keys come from the environment variables the venue "
    "files name.",
    arguments=_add_arguments,
    epilog=exit_codes_help(
        "an order is left in flight, or the kill switch left exposure",
        "78 a start refused until a person decides (reconciliation found differences, a venue's tick or lot "
        "is not the configuration's, quotes would rest where no dead-man's switch cancels them); ",
    ),
)
"""``arb live``: the kernel on real orders (testnet by default)."""
