"""Ctrl-C (a real SIGINT to a real ``arb`` process) stops cleanly, keeps what it holds, and exits 130."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

from arb.execution.paper_account import read_paper_account
from tests.helpers import ROOT
from tests.replay.test_paper_account import _config


async def test_ctrl_c_in_a_replayed_dry_run_writes_the_report_and_exits_130(tmp_path: Path) -> None:
    config, state, out = _config(tmp_path), tmp_path / "paper", tmp_path / "report"
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "arb.cli", "dry-run", "--config", str(config), "--speed", "1"),
        *("--state-dir", str(state), "--out", str(out)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=tmp_path,
    )
    seen: list[bytes] = []
    try:
        async with asyncio.timeout(120):  # a cold Numba cache compiles the kernel first
            assert process.stderr is not None
            while b" UTC] cash " not in (line := await process.stderr.readline()):  # both books synced
                assert line, b"".join(seen).decode()
                seen.append(line)
            process.send_signal(signal.SIGINT)
            stdout, stderr = await process.communicate()
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
