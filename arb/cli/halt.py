"""``arb halt [--clear | --reason REASON] [--state-dir DIR]``: show, set or clear the account's halt.

A risk limit, the kill switch or a failed hedge halts new pairs, and the halt is kept (``arb live``: in
its journal; the dry run: in its paper account) until a person clears it here; ``--clear`` lifts a
daily-loss pause too.
"""

from __future__ import annotations

__all__ = ["COMMAND"]

import argparse
import json
import sys
import time
from typing import Any

from arb.command_line import Command, output_folder, reason
from arb.config import load_config


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--state-dir", type=output_folder("a paper account folder"), metavar="DIR",
                        help="the paper account's folder (default: [dry_run] state_dir)")  # fmt: skip
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--clear", action="store_true", help="lift the halt of both")
    what.add_argument("--reason", type=reason, metavar="REASON", help="halt both by hand, with this reason")


def _cmd_halt(args: Any) -> int:
    from arb.execution.journaling import open_execution_journal
    from arb.execution.paper_account import update_paper_halt
    from arb.execution.paper_files import DB_NAME
    from arb.execution.risk import RISK_MEMORY_KEY, clear_day, day_pause_text, make_limits
    from arb.live.kill import HALT_KEY

    config = load_config(args.config)
    limits = make_limits(config.risk)
    paper_dir = args.state_dir or config.dry_run.state_dir
    paper = paper_dir / DB_NAME
    journal = open_execution_journal(config.live)
    pauses: dict[str, str | None] = {}
    try:
        live_halt = journal.get_state(HALT_KEY) or ""
        memory = json.loads(journal.get_state(RISK_MEMORY_KEY) or "{}")
        pauses["arb live"] = day_pause_text(memory, limits, time.time_ns())
        if args.clear:
            journal.set_state(HALT_KEY, "")
            if memory:  # the daily loss pause too: the risk day starts again at the next run
                journal.set_state(RISK_MEMORY_KEY, json.dumps(clear_day(memory)))
        elif args.reason:
            journal.set_state(HALT_KEY, args.reason)
    finally:
        journal.close()
    paper_halt = ""
    new_halt = "" if args.clear else args.reason  # None: shown, not changed
    found = update_paper_halt(paper_dir, config.strategy.symbol, halt=new_halt, clear=args.clear)
    if found is not None:
        paper, paper_halt, paper_memory = found
        pauses["paper account"] = day_pause_text(paper_memory, limits, time.time_ns())
    for name, halt in ((f"arb live ({config.live.account})", live_halt), (f"paper account ({paper})", paper_halt)):
        now = "" if args.clear else (args.reason or halt)
        if args.clear and halt:
            sys.stdout.write(f"{name}: halt cleared (was: {halt})\n")
        else:
            sys.stdout.write(f"{name}: {'HALTED: ' + now if now else 'not halted'}\n")
        paused = pauses.get(name.split(" (")[0])
        if paused is not None:
            sys.stdout.write(f"{name}: {'pause lifted (was: ' + paused + ')' if args.clear else 'PAUSED: ' + paused}\n")
    return 0


COMMAND = Command(
    "halt",
    _cmd_halt,
    help="show the halt that keeps arb live and the dry run from opening pairs; --clear lifts it",
    description="A risk limit, the kill switch or a failed hedge halts new pairs, and the halt is kept "
    "(arb live: in the journal; the dry run: in the paper account) until a person clears it here.",
    arguments=_add_arguments,
)
"""``arb halt``: show, set or clear the account's halt (live journal and paper account)."""
