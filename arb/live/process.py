"""Where a running ``arb live`` is: its pid file, the file ``arb kill`` leaves for it, and the report
its kill switch leaves for ``arb kill``.

``arb live`` writes ``[live] state_dir/live.pid`` while it runs (:func:`announce`: one ``arb live`` per
account and state folder); ``arb kill`` reads it (:func:`running`), then signals the process (SIGUSR1)
and creates ``KILL`` beside it, which the running process sees within 0.25 s even when a signal cannot
reach it (another user, a container). The running process removes its pid file before it has ended
(it still closes its journal and writes its reports), so ``arb kill`` waits on the process itself
(:meth:`LiveProcess.wait_ended`), then reads what its kill switch did (:func:`kill_report_of`, written
by :func:`leave_kill_report` before the pid file goes).
"""

from __future__ import annotations

__all__ = [
    "KILL_FILE",
    "KILL_REPORT_FILE",
    "PID_FILE",
    "KillOutcome",
    "LiveProcess",
    "announce",
    "kill_report_of",
    "leave_kill_report",
    "running",
    "running_pid",
    "started",
]

import contextlib
import json
import os
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from arb.errors import ArbError

PID_FILE = "live.pid"
"""In ``[live] state_dir`` while ``arb live`` runs: its process id and start time, for ``arb kill``."""
KILL_FILE = "KILL"
"""Created in ``[live] state_dir`` by ``arb kill``: a running ``arb live`` sees it within 0.25 s."""
KILL_REPORT_FILE = "kill-report.json"
"""In ``[live] state_dir``: what the last ``arb live`` whose kill switch ran reported (:func:`leave_kill_report`)."""

_POLL_NS = 50_000_000  # how often LiveProcess.wait_ended looks


@dataclass(frozen=True, slots=True)
class LiveProcess:
    """One process as a pid file names it: its pid and when it started (``/proc/<pid>/stat`` field 22,
    clock ticks since boot; "" where unknown), so that another process given the same pid later is not
    taken for it."""

    pid: int
    since: str

    @classmethod
    def this(cls) -> LiveProcess:
        """This process."""
        return cls(os.getpid(), started(os.getpid()))

    def alive(self) -> bool:
        """Whether the process still runs: its pid exists (another user's counts), is not a zombie (it
        exited and its parent has not collected it yet) and, where its start time is known, started
        then. Without ``/proc`` (not Linux) the pid's existence is all that is known."""
        if self.pid <= 0:  # 0 and -1 name groups of processes, never one
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass  # another user's process: it exists
        fields = _stat_fields(self.pid)
        if not fields:
            return True
        if fields[0] in ("Z", "X"):
            return False
        return not self.since or len(fields) <= 19 or fields[19] == self.since

    def wait_ended(
        self,
        timeout_ns: int,
        *,
        clock: Callable[[], int] = time.monotonic_ns,
        sleep: Callable[[float], object] = time.sleep,
    ) -> bool:
        """Wait, at most ``timeout_ns`` (``clock``'s nanoseconds), until the process has ended (not
        :meth:`alive`), looking every 50 ms; True once it has, False when it still runs at the deadline."""
        deadline = clock() + timeout_ns
        while self.alive():
            left = deadline - clock()
            if left <= 0:
                return False
            sleep(min(left, _POLL_NS) / 1e9)
        return True


@dataclass(frozen=True, slots=True)
class KillOutcome:
    """What a stopped ``arb live``'s kill switch reported (:class:`arb.live.kill.KillReport`): whether
    it left the account flat, and its report's lines."""

    flat: bool
    lines: tuple[str, ...]


@contextlib.asynccontextmanager
async def announce(pid_file: Path) -> AsyncIterator[None]:
    """Say where this process is while inside (the pid and its start time in ``pid_file``); raises
    :class:`~arb.errors.ArbError` when another running ``arb live`` holds the file."""
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    other = running_pid(pid_file)
    if other is not None:
        raise ArbError(f"arb live is already running for this account (pid {other}, {pid_file})")
    me = LiveProcess.this()
    pid_file.write_text(f"{me.pid} {me.since}\n")
    try:
        yield
    finally:
        pid_file.unlink(missing_ok=True)


def running(pid_file: Path) -> LiveProcess | None:
    """The ``arb live`` that wrote ``pid_file``, if that process still runs (:meth:`LiveProcess.alive`).

    A file left by a process that died (a crash, a container restarted) is stale even when its pid is
    in use again: by this very process (a container's arb has the same pid each start) or by one
    started at another time."""
    try:
        pid_text, _, since = pid_file.read_text().strip().partition(" ")
        process = LiveProcess(int(pid_text), since.strip())
    except (OSError, ValueError):
        return None
    if process.pid == os.getpid() or not process.alive():
        return None
    return process


def running_pid(pid_file: Path) -> int | None:
    """The pid of the ``arb live`` that wrote ``pid_file``, if that process still runs (:func:`running`)."""
    process = running(pid_file)
    return None if process is None else process.pid


def started(pid: int) -> str:
    """When process ``pid`` started, in clock ticks since boot (``/proc/<pid>/stat`` field 22); "" where
    unknown."""
    fields = _stat_fields(pid)
    return fields[19] if len(fields) > 19 else ""


def _stat_fields(pid: int) -> list[str]:
    # /proc/<pid>/stat after the command name (which may hold spaces): the state is [0], the start time
    # [19]; [] where there is no such file
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return []
    return stat.rpartition(")")[2].split()


def leave_kill_report(state_dir: Path, *, flat: bool, lines: Sequence[str]) -> None:
    """Leave this process's kill switch report in ``state_dir`` for the ``arb kill`` that waits for it
    to end (:func:`kill_report_of`), replacing the last one whole. Raises ``OSError`` when it cannot be
    written."""
    me = LiveProcess.this()
    path = state_dir / KILL_REPORT_FILE
    staged = path.with_name(f".{path.name}.{me.pid}")
    staged.write_text(json.dumps({"pid": me.pid, "since": me.since, "flat": flat, "lines": list(lines)}) + "\n")
    os.replace(staged, path)


def kill_report_of(state_dir: Path, process: LiveProcess) -> KillOutcome | None:
    """The kill switch report ``process`` left in ``state_dir`` (:func:`leave_kill_report`); None when
    it left none (it ended before its kill switch flattened, or without one running): the report there
    is another process's, or there is none."""
    try:
        left = json.loads((state_dir / KILL_REPORT_FILE).read_text())
        mine = left["pid"] == process.pid and left["since"] == process.since
        outcome = KillOutcome(bool(left["flat"]), tuple(str(line) for line in left["lines"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return outcome if mine else None
