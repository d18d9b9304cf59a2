"""A stand-in for an ``arb live`` that does not end when the kill switch reaches it, for ``arb kill``'s tests.

Run as ``python -m tests.support.stand_in BEHAVIOUR PID_FILE``, it writes ``PID_FILE`` as ``arb live``
does (its pid and start time, :class:`arb.live.process.LiveProcess`), ignores SIGTERM, prints ``ready``
and runs until its stdin closes or it is killed. BEHAVIOUR is what it does with the kill switch's
SIGUSR1 (its ``KILL`` file it never looks at):

- ``ignores``: nothing: a process hung before it could stop, its pid file in place;
- ``lingers``: removes its pid file (prints ``pid file removed``) and runs on: a process that has
  said it is gone but has not ended, as ``arb live`` is while it closes its journal and writes its
  reports, stretched without end.

:func:`stand_in` runs one as a child of the test.
"""

from __future__ import annotations

__all__ = ["BEHAVIOURS", "stand_in"]

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

BEHAVIOURS = ("ignores", "lingers")


@contextlib.asynccontextmanager
async def stand_in(behaviour: str, pid_file: Path) -> AsyncIterator[int]:
    """A stand-in (see the module docstring) holding ``pid_file`` once it is ready; yields its pid. It is
    killed (SIGKILL) and collected on the way out."""
    from arb.testing.waiting import Patience, read_until
    from tests.support.captures import ROOT

    assert behaviour in BEHAVIOURS, behaviour
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.support.stand_in", behaviour, str(pid_file),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    try:
        assert process.stdout is not None
        await read_until(process.stdout, b"ready", Patience("the stand-in to write its pid file", quiet_s=60,
                                                           pids=[process.pid]))  # fmt: skip
        yield process.pid
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


def _main(behaviour: str, pid_file: Path) -> None:
    from arb.live.process import LiveProcess

    signal.signal(signal.SIGTERM, signal.SIG_IGN)

    def drop_pid_file(_signal: int, _frame: Any) -> None:
        pid_file.unlink(missing_ok=True)
        print("pid file removed", flush=True)

    signal.signal(signal.SIGUSR1, drop_pid_file if behaviour == "lingers" else signal.SIG_IGN)
    me = LiveProcess.this()
    pid_file.write_text(f"{me.pid} {me.since}\n")
    print("ready", flush=True)
    sys.stdin.read()  # until the test closes it, or kills this process


if __name__ == "__main__":
    _main(sys.argv[1], Path(sys.argv[2]))
