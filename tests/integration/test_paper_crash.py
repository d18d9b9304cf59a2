"""Crash safety of the paper account: ``arb dry-run`` killed with SIGKILL at each instant of its fill path.

A real ``arb dry-run`` child process (forked from the worker's server that has imported arb and loaded its
compiled code, ``tests/support/arb_forks.py``'s ``shared_forks``) replays the shipped sample (``recordings/``)
and kills itself with ``ARB_FAILPOINT`` (``arb.execution.failpoints``): before the fill is written
(``paper_fill_taken``), right after its commit (``paper_fill_committed``: the instant an earlier arb lost a
fill between its two files), and after its export (``paper_fill_exported``). Each kill is at the n-th fill of the run;
then the same command is run again and resumes the account.

For each k, the three kills that leave k fills logged (``taken`` at fill k+1, ``committed`` and
``exported`` at fill k) must come back to the same account: every fill logged exactly once (and they
are the first k fills an uninterrupted run makes), the restart resuming from the positions the logged
fills make, the account at its end equal to what its fill rows say, and the restarted runs trading
identically, whatever the instant of the crash: no spurious unwind of a leg the log holds complete.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from arb.execution.failpoints import PAPER_POINTS
from arb.execution.paper_account import read_paper_account
from arb.strategy.types import INTENT_OPEN
from arb.testing.configs import write_config_files
from tests.support.arb_forks import ArbForks, shared_forks
from tests.support.captures import RECORDINGS, ROOT
from tests.support.shared import made_once

CHILD_TIMEOUT_S = 300.0  # a cold Numba cache compiles the kernel first; the machine may be busy
RESTART_DATA = "5m"  # the restart replays the sample's first 5 minutes of data (its first pairs are at 3m50s)
INCEPTION_BASE = 0.05  # the test configuration's [account] base and quote per venue
INCEPTION_QUOTE = 5_000.0

Row = tuple[Any, ...]


@pytest.fixture(scope="module")
def forks() -> ArbForks:
    """The worker's ``arb`` fork server (``shared_forks``: the one the worker's other end-to-end tests fork
    from; it has loaded what ``arb dry-run`` needs before its first fill, ``COMMANDS``) for this module's
    children; a server of the module's own cost each worker that ran it about 3.5 s of CPU to start."""
    return shared_forks()


def _config(folder: Path) -> Path:
    return write_config_files(folder, arbitrage_overrides={"backtest": {"recordings": str(RECORDINGS)}})


async def _dry_run(
    forks: ArbForks, folder: Path, name: str, failpoint: str | None = None, *extra: str
) -> tuple[int, str]:
    """Run ``arb dry-run`` on the sample as a child process (the account in ``folder/paper``, the report
    in ``folder/<name>``); its exit code and what it printed."""
    args = ["dry-run", "--config", str(folder / "arbitrage.toml"), "--speed", "max", "--state-dir",
            str(folder / "paper"), "--out", str(folder / name), *extra]  # fmt: skip
    env = {key: value for key, value in os.environ.items() if key != "ARB_FAILPOINT"}
    env["PYTHONPATH"] = str(ROOT)
    if failpoint is not None:
        env["ARB_FAILPOINT"] = failpoint
    code, out, err = await forks.run(*args, env=env, cwd=folder, what=f"arb {args[0]} to exit", quiet_s=CHILD_TIMEOUT_S)
    return code, out + err


def _logged(state: Path) -> list[Row]:
    """The fills the account's journal holds, in booking order: what the paper venue filled and the id
    the restart must never reuse (the booking number and the row's origin left out)."""
    account = read_paper_account(state)
    if account is None:
        return []
    return [(r["local_ts_ns"], r["venue"], r["side"], r["price"], r["qty"], r["fee"], r["pair_id"], r["kind"],
             r["order_id"]) for r in account.fills]  # fmt: skip


def _positions(rows: list[Row]) -> list[float]:
    position = [0.0, 0.0]
    for row in rows:
        position[0 if row[1] == "binance" else 1] += row[2] * row[4]
    return position


def _cash(rows: list[Row]) -> list[float]:
    cash = [0.0, 0.0]
    for row in rows:
        cash[0 if row[1] == "binance" else 1] -= row[2] * row[4] * row[3] + row[5]
    return cash


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory, forks: ArbForks) -> list[Row]:
    """The fills of one uninterrupted dry run of the sample, in order (run once for the run's workers:
    the three values of k land on different ones)."""

    def run(folder: Path) -> None:
        _config(folder)
        code, printed = asyncio.run(_dry_run(forks, folder, "report"))
        assert code == 0, printed

    fills = _logged(made_once(tmp_path_factory, "paper-crash-uninterrupted", run) / "paper")
    assert len(fills) >= 10 and [f[8] for f in fills] == sorted({f[8] for f in fills})  # ids rise, none twice
    return fills


async def _kill_and_restart(
    forks: ArbForks, point: str, n: int, k: int, uninterrupted: list[Row], folder: Path
) -> list[Row]:
    """``arb dry-run`` killed at ``point``:``n`` (leaving ``k`` fills logged) in ``folder``, then run again;
    checks the account both runs leave and returns the fills the restart logged."""
    _config(folder)
    state = folder / "paper"
    code, printed = await _dry_run(forks, folder, "killed", f"{point}:{n}")
    assert code == -9, f"the child was to kill itself at {point}:{n}\n{printed}"
    logged = _logged(state)
    assert logged == uninterrupted[:k], point  # what was logged: the run's first k fills, once each

    code, printed = await _dry_run(forks, folder, "restarted", None, "--duration", RESTART_DATA)
    assert code == 0, printed
    # the restart resumes from the logged fills: their positions, not a leg more or less
    resumed = re.search(r"resuming paper account \S+: (\d+) fills in \d+ session\(s\), positions ([-+.e\d]+) "
                        r"\| ([-+.e\d]+)", printed)  # fmt: skip
    assert resumed is not None, printed
    assert int(resumed[1]) == k
    assert [float(resumed[2]), float(resumed[3])] == pytest.approx(_positions(logged), abs=1e-12), point

    after = _logged(state)
    assert after[:k] == logged  # every logged fill, unchanged, exactly once
    new = after[k:]
    assert new, "the restart trades again"
    assert min(row[8] for row in new) > max(row[8] for row in logged)  # no order id reused
    assert min(row[6] for row in new if row[7] == INTENT_OPEN) > max(row[6] for row in logged)  # nor pair id
    if abs(sum(_positions(logged))) < 1e-12:  # the log holds whole pairs: no leg for the restart to unwind
        assert all(row[7] == INTENT_OPEN for row in new), point
    # the account at the end of the restart is its fill rows' account (the report's balances are the
    # account's at the restart's start plus what it traded)
    venues = json.loads((folder / "restarted" / "summary.json").read_text())["venues"]
    for v, name in enumerate(("binance", "bybit")):
        assert venues[name]["base_balance"] == pytest.approx(INCEPTION_BASE + _positions(after)[v], abs=1e-12)
        assert venues[name]["quote_balance"] == pytest.approx(INCEPTION_QUOTE + _cash(after)[v], rel=1e-12)
    exported = (state / "fills.csv").read_text().splitlines()
    assert len(exported) == len(after) + 1  # the readable export holds the same fills
    return new


@pytest.mark.parametrize("k", [1, 2, 9])
async def test_sigkill_at_each_instant_of_a_paper_fill_then_restart_keeps_every_logged_fill_once(
    k: int, uninterrupted: list[Row], forks: ArbForks, tmp_path: Path
) -> None:
    # k = 1: between a pair's two legs; k = 2: right after a pair's second leg (the earlier arb's
    # lost fill); k = 9: a later pair's first leg. The three instants' kills and restarts are separate
    # processes on separate accounts: they run side by side.
    kills = ((PAPER_POINTS[0], k + 1), (PAPER_POINTS[1], k), (PAPER_POINTS[2], k))
    async with asyncio.TaskGroup() as group:
        runs = {point: group.create_task(_kill_and_restart(forks, point, n, k, uninterrupted, tmp_path / point))
                for point, n in kills}  # fmt: skip
    restarts = {point: run.result() for point, run in runs.items()}
    # whatever the instant of the crash, the restart continues from the same logged state, identically
    first = next(iter(restarts.values()))
    for point, new in restarts.items():
        assert new == first, f"the restart after a kill at {point} traded otherwise than the others"
