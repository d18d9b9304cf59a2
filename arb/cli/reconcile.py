"""``arb reconcile [--venue VENUE] [--accept-venue-state] [--json]``: the journal against the venues.

Every symbol of ``[strategy] symbols`` on each venue of ``[strategy] venues`` (``--venue``: one of them;
:mod:`arb.execution.reconcile`, through :func:`arb.live.trading_session.trading_session`): exit 0 when
everything is explained, 1 with a report of what differs, symbol by symbol, otherwise; then each venue's
order latency from the journal.
"""

from __future__ import annotations

__all__ = ["COMMAND", "latency_lines"]

import argparse
import asyncio
import json
import sys
from typing import TYPE_CHECKING

from arb.cli.venue_option import add_venue_option, venue_numbers
from arb.command_line import Command, exit_codes_help
from arb.config import load_config, require_credentials

if TYPE_CHECKING:
    from arb.execution.reconcile import VenueReconciliation


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    add_venue_option(parser)
    parser.add_argument(
        "--accept-venue-state",
        action="store_true",
        help="take the venues' holdings as they are now (after a deposit or a manual trade)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def latency_lines(latencies: dict[str, dict[str, dict[str, float]]]) -> list[str]:
    """Order latency per venue (intent -> request written, -> answer, -> first fill; tick -> trade, the
    frame's receive time to the request written) as printed lines."""
    lines = []
    for venue, stages in latencies.items():
        parts = []
        for stage, figures in stages.items():
            name = "tick to trade" if stage == "tick_to_written" else stage.removeprefix("intent_to_").replace("_", " ")
            if figures.get("n"):
                parts.append(
                    f"{name} p50 {figures['p50']:,.0f} / p95 {figures['p95']:,.0f} / p99 {figures['p99']:,.0f} us"
                )
        if parts:
            n = int(stages["intent_to_written"].get("n", 0))
            lines.append(f"{venue} order latency from the intent ({n} orders): " + "; ".join(parts))
    return lines


def _cmd_reconcile(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    venues = venue_numbers(config, args.venue, "arb reconcile")
    require_credentials(config, venues)  # every missing key named at once
    latencies: dict[str, dict[str, dict[str, float]]] = {}

    from arb.live.trading_session import trading_session

    async def run() -> list[VenueReconciliation]:
        async with trading_session(config, venues, order_entry=False) as session:
            reports = await session.reconcile(accept_venue_state=args.accept_venue_state)
            for executor in session.executors.values():
                latencies[executor.venue] = session.journal.journal.latencies(executor.venue)
            return reports

    from arb.execution.reconcile import summarize

    reports = asyncio.run(run())
    if args.json:
        out = {"symbols": list(config.symbol_names), "venues": summarize(reports), "latency_us": latencies}
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
    else:
        for report in reports:
            sys.stdout.write("\n".join(report.describe()) + "\n")
        for line in latency_lines(latencies):
            sys.stdout.write(line + "\n")
    return 0 if all(r.ok for r in reports) else 1


COMMAND = Command(
    "reconcile",
    _cmd_reconcile,
    help="check the live account against its journal",
    description="Resolve every order the journal holds in flight, book fills made while arb was down, and "
    "compare open orders and holdings with the journal. Exit 0 when everything is explained, 1 otherwise.",
    arguments=_add_arguments,
    epilog=exit_codes_help("something is not explained (see the report)"),
)
"""``arb reconcile``: the journal against the venues."""
