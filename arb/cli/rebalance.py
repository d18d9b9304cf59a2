"""``arb rebalance [--execute [--yes]]``: the transfers that restore each asset's target split between the
venues (``[rebalance]``), and with ``--execute`` the transfers made, journaled and followed until credited
(``docs/rebalance.md``).

Without ``--execute`` it prints the plan and sends nothing. With it, a journal that still holds a move in
flight (a run that stopped or crashed) is resumed instead of planning again. A refusal is one line and
exit 3.
"""

from __future__ import annotations

__all__ = ["COMMAND", "run_rebalance"]

import argparse
import asyncio
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from arb.command_line import Command, exit_codes_help
from arb.config import load_config, require_credentials
from arb.errors import UsageError

if TYPE_CHECKING:
    from rich.console import Console

    from arb.execution.rebalance import Move, Rebalancer

_CONFIRMATION = "move"


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--execute", action="store_true",
                        help="send the transfers the plan marks worth making (else only print the plan)")  # fmt: skip
    parser.add_argument("--yes", action="store_true", help=f'with --execute: do not ask to type "{_CONFIRMATION}"')


def _table(rebalancer: Rebalancer, moves: Sequence[Move], holdings: Any) -> Any:
    from rich.table import Table

    names = rebalancer.names
    table = Table(title="arb rebalance: the plan", title_justify="left")
    for column in ("asset", *names, "move", "from", "to", "network", "amount", "fee", "arrival", "cost bps",
                   "worth it"):  # fmt: skip
        table.add_column(column, justify="right" if column in ("amount", "fee", "cost bps", "arrival") else "left")

    from arb.journal.transfers import recorded_balances

    recorded = recorded_balances(rebalancer.journal, rebalancer.account)

    def held(asset: str, v: int) -> str:
        text = " ".join(f"{w} {amount.normalize():f}" for w, amount in holdings[asset][v].items())
        journal = recorded.get((names[v], asset))
        return text if journal is None else f"{text} (journal {journal.normalize():f})"

    for asset in holdings:
        rows: list[Move | None] = [m for m in moves if m.asset == asset] or [None]
        for i, m in enumerate(rows):
            first = (asset, *(held(asset, v) for v in range(len(names)))) if i == 0 else ("",) * (1 + len(names))
            if m is None:
                table.add_row(*first, "none", "", "", "", "", "", "", "", "on target")
                continue
            where = (f"{names[m.sender]} {m.from_wallet}", f"{names[m.receiver]} {m.to_wallet}")
            arrival = f"{m.arrival_s // 60}m{m.arrival_s % 60:02d}s" if m.kind == "withdraw" and m.network else ""
            table.add_row(*first, m.kind, *where, m.network or "-", f"{m.amount.normalize():f}",
                          f"{m.fee.normalize():f}", arrival, f"{m.cost_bps:.1f}",
                          f"{'yes' if m.worth else 'no'}: {m.why}")  # fmt: skip
    return table


async def run_rebalance(rebalancer: Rebalancer, console: Console, *, execute: bool, yes: bool,
                        ask: Callable[[str], str] = input) -> int:  # fmt: skip
    """What ``arb rebalance`` does once connected: resume what is in flight (with ``execute``), else plan,
    print, and with ``execute`` confirm and carry out. Returns the exit code; a refusal raises."""
    from arb.execution.rebalance import assets_of

    def say(line: str) -> None:
        console.print(line, highlight=False, soft_wrap=True)

    flying = rebalancer.in_flight()
    if flying and execute:
        say(f"{len(flying)} move(s) in flight in the journal: resuming them instead of planning again")
        await rebalancer.resume(say)
        return 0
    for row in flying:
        say(f"in flight: {row.client_id} {row.kind} {row.amount} {row.asset} {row.from_venue}->{row.to_venue} "
            f"({row.state}); arb rebalance --execute resumes it")  # fmt: skip
    assets = assets_of(rebalancer.config)
    moves, holdings = await rebalancer.plan(assets)
    console.print(_table(rebalancer, moves, holdings))
    chosen = [m for m in moves if m.worth]
    if not execute:
        say(f"{len(chosen)} move(s) worth making; nothing sent (arb rebalance --execute sends them)")
        return 0
    if not chosen:
        say("nothing to move")
        return 0
    if not yes and ask(f'send {len(chosen)} move(s)? Type "{_CONFIRMATION}" to go on: ').strip() != _CONFIRMATION:
        raise UsageError("not confirmed: nothing was sent")
    rows = await rebalancer.execute(chosen, say)
    after = await rebalancer.holdings(assets)
    for asset in assets:
        sums = (f"{name} {sum(after[asset][v].values(), Decimal(0)).normalize():f}"
                for v, name in enumerate(rebalancer.names))  # fmt: skip
        say(f"{asset}: {', '.join(sums)}")
    say(f"{sum(1 for r in rows if r.state == 'done')} of {len(rows)} move(s) done")
    return 0


def _cmd_rebalance(args: argparse.Namespace) -> int:
    from rich.console import Console

    console = Console(highlight=False)  # the plan is the command's output: stdout (arb.ui's console is stderr)
    config = load_config(args.config)
    if args.yes and not args.execute:
        raise UsageError("--yes: only with --execute (the plan alone sends nothing)")
    require_credentials(config, range(len(config.venues)))  # every key missing, before anything connects

    async def run() -> int:
        from arb.execution.rebalance import open_rebalancer

        async with open_rebalancer(config) as rebalancer:
            return await run_rebalance(rebalancer, console, execute=args.execute, yes=args.yes)

    return asyncio.run(run())


COMMAND = Command(
    "rebalance",
    _cmd_rebalance,
    help="the transfers that restore each asset's split between the venues; --execute sends them",
    description="Read each asset's balances on every venue of the run (every wallet) and the networks each "
    "supports, and print the transfers that restore [rebalance]'s target split among them: the venue furthest "
    "over its target sends to the one furthest under, with network, fee, expected arrival and whether the move "
    "is worth its cost. --execute sends them (withdrawals to the account's own deposit address on the "
    "receiving venue, transfers between a venue's wallets), journaling each before it is sent and following it until "
    "credited; a journal holding a move in flight is resumed instead.",
    arguments=_add_arguments,
    epilog=exit_codes_help("never"),
)
"""``arb rebalance``: restore the split of each asset between the venues."""
