"""``arb kill [--timeout TIME]``: the kill switch, with or without a running ``arb live``.

A running ``arb live`` (its pid file in ``[live] state_dir``, :mod:`arb.live.process`) gets SIGUSR1
and a ``KILL`` file, and is awaited while it halts, cancels, flattens and ends: the wait is on the
process itself (its pid, and its start time so that a pid used again is not taken for it), not on its
pid file, which it removes before it has closed its journal and written its reports. Once it has
ended, what its kill switch reported is printed (it leaves the report in ``[live] state_dir``); then,
or with none running, this process halts the account, cancels every open order and flattens the net
position itself (:func:`arb.live.kill.kill`), then turns off every venue's dead-man's switch, whoever
armed it (:func:`arb.live.switches.disarm_every_switch`: a line per venue says what is left armed). The
halt is written to the journal before any venue is asked (:func:`arb.live.kill.record_halt`), so it
holds when no venue can be reached (exit 4 then).

Exit 0 when the account is flat after this process's own pass, which starts from whatever the stopped
``arb live`` left (its orders still in flight asked about first): exposure it reported and this pass
closed is said, and is not an exit 1. Exit 1 when exposure is left or a flatten order's fate is
unknown (the report names which), and when ``arb live`` has not ended within ``--timeout``: then
nothing is done to the account here (it is that process's while it runs), and the line names the
process and what to do.
"""

from __future__ import annotations

__all__ = ["COMMAND"]

import argparse
import asyncio
import contextlib
import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from arb.command_line import Command, duration, exit_codes_help
from arb.config import load_config, require_credentials

if TYPE_CHECKING:
    from arb.live.process import KillOutcome, LiveProcess


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeout",
        type=duration,
        metavar="TIME",
        default="60s",
        help="how long to wait for a running arb live to flatten and exit (default: 60s)",
    )


def _cmd_kill(args: Any) -> int:
    from rich.markup import escape

    from arb.execution.halt_hints import clear_halt_command
    from arb.live.kill import kill, record_halt
    from arb.live.process import PID_FILE, running
    from arb.live.switches import disarm_every_switch
    from arb.live.trading_session import trading_session
    from arb.ui import console

    config = load_config(args.config)
    process = running(config.live.state_dir / PID_FILE)
    stopped = None
    if process is not None:
        if not _stop_and_wait(process, config.live.state_dir, args.timeout):
            return 1  # it still runs: the account is its own
        stopped = _report_of(process, config.live.state_dir)

    record_halt(config)  # first: whatever happens with the venues, the next arb live opens no pair
    lifts = escape(clear_halt_command(config))  # arb live's halt alone
    console.print(f"kill switch: halt recorded in the journal ({lifts} lifts it)", highlight=False, soft_wrap=True)
    require_credentials(config, range(len(config.venues)))  # every key missing, before this process connects

    async def run() -> Any:
        async with trading_session(config) as session:
            report = await kill(session, slippage_bps=config.risk.stop_loss_bps)
            for line in report.describe():
                console.print(line if report.flat else f"[bold red]{line}[/]", highlight=False)
            await disarm_every_switch(session, console)  # the account back in a person's hands: nothing armed
            return report

    report = asyncio.run(run())
    if stopped is not None and not stopped.flat and report.flat:
        console.print("what the stopped arb live left is closed now: the account is flat", highlight=False,
                      soft_wrap=True)  # fmt: skip
    return 0 if report.flat else 1


def _stop_and_wait(process: LiveProcess, state_dir: Path, timeout_ns: int) -> bool:
    # The kill switch to the running arb live (SIGUSR1, and the KILL file for when a signal cannot reach
    # it), then its end awaited, at most timeout_ns. False, said with what to do, when it still runs then.
    from arb.live.process import KILL_FILE
    from arb.ui import console

    pid = process.pid
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / KILL_FILE).write_text("kill\n")
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGUSR1)
    console.print(f"kill switch sent to arb live (pid {pid}); waiting for it to flatten and exit "
                  f"(at most {timeout_ns / 1e9:g} s)", highlight=False, soft_wrap=True)  # fmt: skip
    if process.wait_ended(timeout_ns):
        return True
    console.print(
        f"[bold red]arb live (pid {pid}) has not exited after {timeout_ns / 1e9:g} s[/]: nothing was done to the "
        "account here (it is that process's while it runs). It may still be flattening: run arb kill again to "
        f"wait longer (--timeout). If it hangs, stop it (kill -TERM {pid}; kill -KILL {pid} if it does not exit), "
        "then run arb kill again: it halts, cancels and flattens itself. The KILL file stays: should the process "
        "go on, it still flattens and stops.",
        highlight=False,
        soft_wrap=True,
    )
    return False


def _report_of(process: LiveProcess, state_dir: Path) -> KillOutcome | None:
    # What the arb live that has ended said its kill switch did (printed), None when it left no report
    from rich.markup import escape

    from arb.live.process import kill_report_of
    from arb.ui import console

    stopped = kill_report_of(state_dir, process)
    if stopped is None:
        console.print(f"arb live (pid {process.pid}) exited without a kill switch report (it ended before its "
                      "kill switch flattened): this process does it", highlight=False, soft_wrap=True)  # fmt: skip
        return None
    console.print(f"arb live (pid {process.pid}) exited; its kill switch reported:", highlight=False)
    for line in stopped.lines:
        console.print(escape(line) if stopped.flat else f"[bold red]{escape(line)}[/]", highlight=False,
                      soft_wrap=True)  # fmt: skip
    return stopped


COMMAND = Command(
    "kill",
    _cmd_kill,
    help="kill switch: halt new pairs, cancel every open order, flatten the net position",
    description="Reach a running arb live (a signal, or a file in [live] state_dir), let it halt, cancel "
    "and flatten, and wait until the process has exited; then (or with none running) do it here. Halts "
    "persist until cleared.",
    arguments=_add_arguments,
    epilog=exit_codes_help(
        "exposure is left (EXPOSURE LEFT names it), a flatten order's fate is unknown (ORDER UNKNOWN names it), "
        "or arb live has not exited within --timeout (nothing was done to the account then)"
    ),
)
"""``arb kill``: the kill switch, with or without a running ``arb live``."""
