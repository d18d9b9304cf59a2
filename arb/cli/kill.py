"""``arb kill [--timeout TIME]``: the kill switch, with or without a running ``arb live``.

A running ``arb live`` (its pid file in ``[live] state_dir``, :mod:`arb.live.process`) gets
SIGUSR1 and a ``KILL`` file, and is awaited while it halts, cancels and flattens; then, or with none
running, this process halts the account, cancels every open order and flattens the net position
itself (:func:`arb.live.kill.kill`). The halt is written to the journal before any venue is asked
(:func:`arb.live.kill.record_halt`), so it holds when no venue can be reached (exit 4 then). Exit 1
when exposure is left or a flatten order's fate is unknown (the report names which).
"""

from __future__ import annotations

__all__ = ["COMMAND"]

import argparse
import asyncio
import contextlib
import os
import signal
import time
from typing import Any

from arb.command_line import Command, duration, exit_codes_help
from arb.config import load_config, require_credentials


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeout",
        type=duration,
        metavar="TIME",
        default="60s",
        help="how long to wait for a running arb live to finish (default: 60s)",
    )


def _cmd_kill(args: Any) -> int:
    from rich.markup import escape

    from arb.execution.halt_hints import clear_halt_command
    from arb.live.kill import kill, record_halt
    from arb.live.process import KILL_FILE, PID_FILE, running_pid
    from arb.live.trading_session import trading_session
    from arb.ui import console

    config = load_config(args.config)
    timeout_s = args.timeout / 1e9
    state_dir = config.live.state_dir
    pid = running_pid(state_dir / PID_FILE)
    if pid is not None:
        state_dir.mkdir(parents=True, exist_ok=True)
        (state_dir / KILL_FILE).write_text("kill\n")
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGUSR1)
        console.print(f"kill switch sent to arb live (pid {pid}); waiting for it to flatten and stop", highlight=False)
        deadline = time.monotonic() + timeout_s
        while running_pid(state_dir / PID_FILE) is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        if running_pid(state_dir / PID_FILE) is not None:
            console.print(f"[bold red]arb live (pid {pid}) has not stopped after {timeout_s:.0f} s[/]", highlight=False)
            return 1  # it halted itself at the signal: its journal holds the halt

    record_halt(config)  # first: whatever happens with the venues, the next arb live opens no pair
    lifts = escape(clear_halt_command(config))  # arb live's halt alone
    console.print(f"kill switch: halt recorded in the journal ({lifts} lifts it)", highlight=False, soft_wrap=True)
    require_credentials(config)  # every missing key named at once, before this process connects

    async def run() -> Any:
        async with trading_session(config, (0, 1)) as session:
            return await kill(session, slippage_bps=config.risk.stop_loss_bps)

    report = asyncio.run(run())
    for line in report.describe():
        console.print(line if report.flat else f"[bold red]{line}[/]", highlight=False)
    return 0 if report.flat else 1


COMMAND = Command(
    "kill",
    _cmd_kill,
    help="kill switch: halt new pairs, cancel every open order, flatten the net position",
    description="Reach a running arb live (a signal, or a file in [live] state_dir) and let it halt, cancel "
    "and flatten before it stops; with none running, do it here. Halts persist until cleared.",
    arguments=_add_arguments,
    epilog=exit_codes_help(
        "exposure is left (EXPOSURE LEFT names it), a flatten order's fate is unknown (ORDER UNKNOWN names it), "
        "or arb live did not stop in time"
    ),
)
"""``arb kill``: the kill switch, with or without a running ``arb live``."""
