"""Ctrl-C (a real SIGINT to a real ``arb`` process) stops cleanly, keeps what it holds, and exits 130."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import pytest

from arb.execution.paper_account import read_paper_account
from arb.testing.waiting import Patience, communicate, read_until
from tests.support.captures import ROOT
from tests.support.scenario_days import standing_spread_config

DURATION_MS = 600_000
"""Ten minutes of data replayed in real time: the replay is still running when the signal comes,
however late a busy machine gets there (a replay that fell behind catches up, then waits again)."""


@pytest.mark.wall_clock  # the replay runs at the recorded pace, so it is still running at the signal
async def test_ctrl_c_in_a_replayed_dry_run_writes_the_report_and_exits_130(tmp_path: Path) -> None:
    config = standing_spread_config(tmp_path, duration_ms=DURATION_MS)
    state, out = tmp_path / "paper", tmp_path / "report"
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "arb.cli", "dry-run", "--config", str(config), "--speed", "1"),
        *("--state-dir", str(state), "--out", str(out)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=tmp_path,
    )
    try:
        # a cold Numba cache compiles the kernel first: the child's work is progress
        assert process.stderr is not None
        patience = Patience("the first account line", quiet_s=60, pids=[process.pid])
        await read_until(process.stderr, b" UTC] account: cash ", patience)  # both books synced: the replay runs
        process.send_signal(signal.SIGINT)
        stdout, stderr = await communicate(process, Patience("the interrupted run to end", quiet_s=60,
                                                             pids=[process.pid]))  # fmt: skip
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 130, stderr.decode()
    assert b"Traceback" not in stderr
    assert b"(interrupted, paper account" in stdout
    assert json.loads((out / "summary.json").read_text())["meta"]["interrupted"] is True
    account = read_paper_account(state)
    assert account is not None and account.sessions == 1
