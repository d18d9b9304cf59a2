"""What a supervisor relies on at a stop and a restart: arb live's clean stop is bounded (past
``[live] stop_timeout_s`` the process exits by itself, saying so), a pid file left by a process that
died (a crash, a container restarted, where arb gets the same pid each time) never passes for a running
``arb live``, and ``arb kill`` waits for the process itself (a zombie has ended; the wait is bounded)
and reads the kill switch report that process, and no other, left."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from arb.live.deadline import EXIT_STOP_TIMEOUT, StopDeadline
from arb.live.process import KILL_REPORT_FILE, KillOutcome, LiveProcess, kill_report_of, leave_kill_report
from arb.live.process import running_pid as _running_pid
from arb.live.process import started as _started
from tests.support.captures import ROOT

_BLOCKED = """
import logging, sys, threading
from arb.live.deadline import StopDeadline
logging.basicConfig(level=logging.INFO, stream=sys.stderr)
StopDeadline(200_000_000, "arb live").arm()   # 0.2 s
print("armed", flush=True)
threading.Event().wait()                      # a stop that never finishes
"""


def test_a_stop_that_does_not_finish_in_time_ends_the_process_with_a_line_saying_why() -> None:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", _BLOCKED], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)  # fmt: skip
    assert done.returncode == EXIT_STOP_TIMEOUT == 1, done.stderr
    assert done.stdout == "armed\n"
    assert "arb live: the clean stop did not finish within 0.2 s ([live] stop_timeout_s): exiting now" in done.stderr
    assert time.monotonic() - started < 60


def test_a_deadline_cancelled_in_time_never_fires_and_arms_once() -> None:
    deadline = StopDeadline(3_600_000_000_000, "arb live")
    deadline.arm()
    first = deadline.armed_at_ns
    deadline.arm()  # a second signal: the same countdown
    assert deadline.armed_at_ns == first > 0
    deadline.cancel()
    deadline.cancel()
    with pytest.raises(ValueError):
        StopDeadline(0)


@pytest.fixture
def other_process() -> subprocess.Popen[bytes]:
    # a process that runs until the test ends it (it waits on its stdin, no timer)
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        yield child  # type: ignore[misc]
    finally:
        child.kill()
        child.wait()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to tell when a process started")
def test_a_pid_file_is_running_only_while_the_process_that_wrote_it_runs(
    tmp_path: Path, other_process: subprocess.Popen[bytes]
) -> None:
    pid_file = tmp_path / "live.pid"
    child = other_process.pid
    pid_file.write_text(f"{child} {_started(child)}\n")
    assert _running_pid(pid_file) == child  # another arb live runs: the start is refused
    pid_file.write_text(f"{child}\n")  # written before start times were kept
    assert _running_pid(pid_file) == child
    pid_file.write_text(f"{child} 1\n")  # the pid is used again, by a process started at another time
    assert _running_pid(pid_file) is None
    pid_file.write_text(f"{os.getpid()} {_started(os.getpid())}\n")  # a container: the dead arb had our pid
    assert _running_pid(pid_file) is None
    pid_file.write_text("garbage\n")
    assert _running_pid(pid_file) is None
    other_process.kill()
    other_process.wait()
    pid_file.write_text(f"{child} {_started(child)}\n")
    assert _running_pid(pid_file) is None
    pid_file.write_text("-1\n")  # never a group of processes
    assert _running_pid(pid_file) is None


def test_another_users_arb_live_is_running(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a signal cannot reach it (EPERM), but it exists: a second arb live is refused, arb kill waits for it
    def not_permitted(pid: int, sig: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    pid_file = tmp_path / "live.pid"
    pid_file.write_text(f"{os.getppid()} {_started(os.getppid())}\n")
    monkeypatch.setattr(os, "kill", not_permitted)
    assert _running_pid(pid_file) == os.getppid()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to tell a zombie")
def test_a_process_that_exited_has_ended_before_its_parent_collects_it(
    other_process: subprocess.Popen[bytes],
) -> None:
    process = LiveProcess(other_process.pid, _started(other_process.pid))
    assert process.alive()
    other_process.kill()
    os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)  # it has exited; not collected: a zombie
    assert not process.alive()
    assert process.wait_ended(0)
    other_process.wait()
    assert not process.alive()


def test_the_wait_for_a_process_to_end_is_bounded() -> None:
    now = [0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += int(seconds * 1e9)

    assert not LiveProcess.this().wait_ended(120_000_000, clock=lambda: now[0], sleep=sleep)
    assert sleeps == [0.05, 0.05, 0.02] and now[0] == 120_000_000  # every 50 ms, to the deadline
    gone = LiveProcess(LiveProcess.this().pid, "1")  # this pid, started at another time: another process
    assert gone.wait_ended(120_000_000, clock=lambda: now[0], sleep=sleep) and len(sleeps) == 3


def test_arb_kill_reads_the_kill_report_of_the_process_it_stopped_and_no_other(tmp_path: Path) -> None:
    me = LiveProcess.this()
    assert kill_report_of(tmp_path, me) is None  # none left
    lines = ["kill switch: new pairs halted", "  EXPOSURE LEFT: binance spot long 0.01 BTC [x]"]
    leave_kill_report(tmp_path, flat=False, lines=lines)
    assert kill_report_of(tmp_path, me) == KillOutcome(False, tuple(lines))
    assert kill_report_of(tmp_path, LiveProcess(me.pid, "1")) is None  # the same pid, another process
    assert kill_report_of(tmp_path, LiveProcess(me.pid + 1, me.since)) is None
    leave_kill_report(tmp_path, flat=True, lines=lines[:1])  # the next one replaces it
    assert kill_report_of(tmp_path, me) == KillOutcome(True, tuple(lines[:1]))
    assert [p.name for p in tmp_path.iterdir()] == [KILL_REPORT_FILE]
    (tmp_path / KILL_REPORT_FILE).write_text("{not json")
    assert kill_report_of(tmp_path, me) is None
