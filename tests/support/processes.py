"""``arb`` commands run as child processes, the way a user's shell runs them."""

from __future__ import annotations

__all__ = ["has_exited", "run_arb"]

import asyncio
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from arb.testing.waiting import Patience, communicate, process_tree
from tests.support.captures import ROOT


async def run_arb(
    *args: str,
    env: Mapping[str, str | None] | None = None,
    cwd: Path | None = None,
    quiet_s: float = 60.0,
    merged: bool = False,
    forked: bool = False,
) -> tuple[int, str, str]:
    """Run ``arb ARGS`` (``python -m arb.cli`` of this checkout) to its end and return its exit code,
    stdout and stderr as text (with ``merged`` its stderr goes to its stdout and "" is returned for it).

    ``env`` is laid over this process's environment (a ``None`` value removes the variable); ``cwd`` is
    its working directory (this process's by default). The wait is bounded by ``quiet_s`` seconds in
    which the child and the processes it started (a first backtest's compiling helpers) do no work (a busy
    machine slows it, it does not fail it); the child is killed on the way out if it still runs.

    ``forked``: the child is forked from the worker's server that has imported arb and loaded its compiled
    code (``tests/support/arb_forks.py``), for a test of what the command does rather than of how it
    starts: the same command, without its start-up's CPU every time."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    for key, value in (env or {}).items():
        if value is None:
            environment.pop(key, None)
        else:
            environment[key] = value
    if forked:
        from tests.support.arb_forks import shared_forks

        what = f"arb {' '.join(args[:2])} to exit"
        return await shared_forks().run(
            *args, env=environment, cwd=cwd or Path.cwd(), what=what, quiet_s=quiet_s, merged=merged
        )
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "arb.cli", *args),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT if merged else asyncio.subprocess.PIPE,
        env=environment,
        cwd=cwd,
    )
    try:
        out, err = await communicate(process, Patience(f"arb {' '.join(args[:2])} to exit", quiet_s=quiet_s,
                                                       pids=lambda: process_tree(process.pid)))  # fmt: skip
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, out.decode(), (err or b"").decode()


def has_exited(pid: int) -> bool:
    """Whether process ``pid`` has ended: it is gone, or a zombie (it exited, its parent has not collected
    it yet: a child of this test whose exit the event loop has not handled)."""
    try:
        os.kill(pid, 0)
        stat = Path(f"/proc/{pid}/stat").read_text()
    except ProcessLookupError:
        return True
    except FileNotFoundError:  # collected between the two looks
        return True
    return stat.rpartition(")")[2].split()[0] in ("Z", "X")
