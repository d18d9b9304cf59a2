"""``arb halt [--live] [--paper] [--clear | --reason REASON] [--state-dir DIR]``: show, set or clear a halt.

A risk limit, the kill switch or a failed hedge halts new pairs, and the halt is kept until a person
clears it here: ``arb live``'s in its journal (``--live``), the dry run's in its paper account
(``--paper``; ``--state-dir`` names the account's folder and chooses it as ``--paper`` does). Naming
neither shows both, and ``--reason`` halts both; ``--clear`` lifts the halt (and the daily loss pause)
of only the accounts it is given, and is refused without one: lifting a paper account's halt never lifts
``arb live``'s kill switch.

Showing creates nothing: with no live journal or no paper account, it says so. A halted account's line
names the command that lifts that account's halt alone.
"""

from __future__ import annotations

__all__ = ["COMMAND"]

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from arb.command_line import Command, output_folder, reason
from arb.config import AppConfig, load_config
from arb.errors import UsageError


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--live", action="store_true", help="arb live's account (its journal, [live] state_dir)")
    parser.add_argument("--paper", action="store_true", help="the dry run's paper account")
    parser.add_argument("--state-dir", type=output_folder("a paper account folder"), metavar="DIR",
                        help="the paper account's folder (default: [dry_run] state_dir); implies --paper")  # fmt: skip
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--clear", action="store_true", help="lift the halt of the accounts named (--live, --paper)")
    what.add_argument("--reason", type=reason, metavar="REASON", help="halt by hand, with this reason (default: both)")


def _line(name: str, before: str, args: Any, lifts: str) -> str:
    # "<account>: HALTED: ..." / "not halted" / "halt cleared (was: ...)", as it is after this command
    if args.clear:
        return f"{name}: {'halt cleared (was: ' + before + ')' if before else 'not halted'}"
    now = args.reason or before
    return f"{name}: HALTED: {now} ({lifts} lifts it)" if now else f"{name}: not halted"


def _pause_line(name: str, paused: str | None, args: Any) -> list[str]:
    if paused is None:
        return []
    return [f"{name}: {'pause lifted (was: ' + paused + ')' if args.clear else 'PAUSED: ' + paused}"]


def _live_lines(config: AppConfig, args: Any, limits: Any) -> list[str]:
    # arb live's account: read without taking the journal (a running arb live keeps writing it); a
    # change takes it as its one writer. No journal is created but to hold a halt set by hand.
    from arb.execution.halt_hints import clear_halt_command
    from arb.execution.journaling import ExecutionJournal, open_execution_journal
    from arb.execution.risk import RISK_MEMORY_KEY, clear_day, day_pause_text
    from arb.journal import Journal
    from arb.live.kill import HALT_KEY

    live = config.live
    name = f"arb live ({live.account})"
    target: str | Path = live.journal_url or live.state_dir / f"{live.account}.sqlite"
    if isinstance(target, Path) and not target.is_file() and not args.reason:
        what = "nothing to clear" if args.clear else "not halted"
        return [f"{name}: no live journal ({target} does not exist): {what}"]
    if args.clear or args.reason:
        journal = open_execution_journal(live)
    else:
        journal = ExecutionJournal(Journal.open(target), live.account)
    try:
        before = journal.get_state(HALT_KEY) or ""
        memory = json.loads(journal.get_state(RISK_MEMORY_KEY) or "{}")
        if args.clear:
            journal.set_state(HALT_KEY, "")
            if memory:  # the daily loss pause too: the risk day starts again at the next run
                journal.set_state(RISK_MEMORY_KEY, json.dumps(clear_day(memory)))
        elif args.reason:
            journal.set_state(HALT_KEY, args.reason)
    finally:
        journal.close()
    lifts = clear_halt_command(config)
    paused = day_pause_text(memory, limits, time.time_ns(), clear=lifts)
    return [_line(name, before, args, lifts), *_pause_line(name, paused, args)]


def _paper_lines(config: AppConfig, args: Any, limits: Any, folder: Path) -> list[str]:
    from arb.execution.halt_hints import clear_halt_command
    from arb.execution.paper_account import update_paper_halt
    from arb.execution.paper_files import DB_NAME
    from arb.execution.risk import day_pause_text

    new_halt = "" if args.clear else args.reason  # None: shown, not changed
    found = update_paper_halt(folder, config.strategy.symbol, halt=new_halt, clear=args.clear)
    if found is None:  # nothing was created
        what = "nothing to clear" if args.clear else "nothing to halt" if args.reason else "not halted"
        return [f"paper account ({folder}): no paper account there (no {DB_NAME}): {what}"]
    db, before, memory = found
    name = f"paper account ({db})"
    lifts = clear_halt_command(config, folder)
    paused = day_pause_text(memory, limits, time.time_ns(), clear=lifts)
    return [_line(name, before, args, lifts), *_pause_line(name, paused, args)]


def _cmd_halt(args: Any) -> int:
    from arb.execution.risk import make_limits

    live, paper = args.live, args.paper or args.state_dir is not None
    if not (live or paper):
        if args.clear:
            raise UsageError(
                "--clear: expected the accounts it lifts, and no other: --live (arb live's journal), --paper "
                "(the dry run's paper account) or both"
            )
        live = paper = True
    config = load_config(args.config)
    limits = make_limits(config.risk)
    lines = _live_lines(config, args, limits) if live else []
    if paper:
        lines += _paper_lines(config, args, limits, args.state_dir or config.dry_run.state_dir)
    for line in lines:
        sys.stdout.write(line + "\n")
    return 0


COMMAND = Command(
    "halt",
    _cmd_halt,
    help="show the halts that keep arb live and the dry run from opening pairs; --clear --live/--paper lifts one",
    description="A risk limit, the kill switch or a failed hedge halts new pairs, and the halt is kept "
    "(arb live: in the journal; the dry run: in the paper account) until a person clears it here. --live and "
    "--paper (or --state-dir) choose the account; neither: both are shown, and --reason halts both. --clear "
    "lifts only the accounts named.",
    arguments=_add_arguments,
)
"""``arb halt``: show, set or clear a halt (arb live's journal, the paper account, or both)."""
