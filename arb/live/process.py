"""Where a running ``arb live`` is: its pid file, and the file ``arb kill`` leaves for it.

``arb live`` writes ``[live] state_dir/live.pid`` while it runs (:func:`announce`: one ``arb live`` per
account and state folder); ``arb kill`` reads it (:func:`running_pid`), then signals the process
(SIGUSR1) and creates ``KILL`` beside it, which the running process sees within 0.25 s even when a
signal cannot reach it (another user, a container).
"""

from __future__ import annotations

__all__ = ["KILL_FILE", "PID_FILE", "announce", "running_pid", "started"]

import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

from arb.errors import ArbError

PID_FILE = "live.pid"
"""In ``[live] state_dir`` while ``arb live`` runs: its process id, for ``arb kill``."""
KILL_FILE = "KILL"
"""Created in ``[live] state_dir`` by ``arb kill``: a running ``arb live`` sees it within 0.25 s."""


@contextlib.asynccontextmanager
async def announce(pid_file: Path) -> AsyncIterator[None]:
    """Say where this process is while inside (the pid and its start time in ``pid_file``); raises
    :class:`~arb.errors.ArbError` when another running ``arb live`` holds the file."""
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    other = running_pid(pid_file)
    if other is not None:
        raise ArbError(f"arb live is already running for this account (pid {other}, {pid_file})")
    pid_file.write_text(f"{os.getpid()} {started(os.getpid())}\n")
    try:
        yield
    finally:
        pid_file.unlink(missing_ok=True)


def running_pid(pid_file: Path) -> int | None:
    """The pid of the ``arb live`` that wrote ``pid_file``, if that process still runs.

    A file left by a process that died (a crash, a container restarted) is stale even when its pid is
    in use again: by this very process (a container's arb has the same pid each start) or by one
    started at another time."""
    try:
        pid_text, _, since = pid_file.read_text().strip().partition(" ")
        pid = int(pid_text)
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    if pid == os.getpid() or (since and started(pid) not in ("", since)):
        return None
    return pid


def started(pid: int) -> str:
    """When process ``pid`` started, in clock ticks since boot (``/proc/<pid>/stat`` field 22); "" where
    unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    fields = stat.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else ""
