"""A paced replay that is behind its pace still lets the other tasks of its loop run.

The dry run replays a recording at ``--speed``: each batch waits for its time, unless the replay is
already late. A replay late all the time (a fast speed, a slow machine) once never awaited anything,
so the ops server's loop-lag task, a Ctrl-C handler's stop task and every other task of the loop
starved until the recording ended; the health endpoints saw nothing new for the whole run.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from rich.console import Console

from arb.config import load_config
from arb.execution.paper_account import PaperAccount
from arb.live.dry_run import dry_run_replay
from arb.testing.configs import write_config_files

REPO = Path(__file__).resolve().parents[2]


def test_a_replay_behind_its_pace_yields_to_the_other_tasks(tmp_path: Path) -> None:
    # At a million times real time the sample's 650 s of data would take 0.65 ms: from its first pair
    # (230 s of data in) on, every batch is late. The probe task counts its turns; each fill notes how
    # many it had. Between the first fill and the last, hundreds of batches went through the engine.
    config = load_config(
        write_config_files(tmp_path, arbitrage_overrides={"backtest": {"recordings": str(REPO / "recordings")}})
    )
    account = PaperAccount.open(tmp_path / "paper", config)
    turns = [0]
    seen: list[int] = []

    def on_fill(_row: Any) -> None:
        seen.append(turns[0])

    async def main() -> Any:
        async def probe() -> None:
            while True:
                turns[0] += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(probe())
        try:
            return await dry_run_replay(
                config, account=account, console=Console(quiet=True), speed=1e6, on_fill=on_fill
            )
        finally:
            task.cancel()

    result = asyncio.run(main())
    assert not result.interrupted and len(seen) >= 4  # two pairs at least, all the data replayed
    assert seen[-1] > seen[0], f"no other task ran while the replay was behind its pace: {seen}"
