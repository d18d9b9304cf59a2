"""The soak rig as docs/strategies.md runs it ("Against local fake venues"): ``python -m arb.testing.soak
--mode live --folder sandbox`` from a folder, then ``. sandbox/env.sh`` and ``arb live --config
sandbox/arbitrage.toml``. Here: what the rig writes before its first pass (the configuration, its state
folder inside ``sandbox``, the keys as a file a shell sources) and that it stops when its input closes."""

from __future__ import annotations

import asyncio
import json
import shlex
import sys
from pathlib import Path

from arb.config import load_config
from arb.testing.pair_rig import key_environment
from tests.support.captures import ROOT

BOUND_S = 120.0
"""A bound on a rig that hangs, not on its speed."""


async def test_the_rig_writes_a_configuration_and_the_keys_to_source_then_stops_when_its_input_closes(
    tmp_path: Path,
) -> None:
    rig = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "arb.testing.soak", "--mode", "live", "--folder", "sandbox", "--passes", "0",
        "--recordings", str(ROOT / "recordings"),
        cwd=tmp_path, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert rig.stdin is not None and rig.stdout is not None
    try:
        async with asyncio.timeout(BOUND_S):
            said = json.loads(await rig.stdout.readline())
            assert said["config"] == "sandbox/arbitrage.toml"
            config = load_config(tmp_path / said["config"])
            assert config.live.state_dir == tmp_path / "sandbox" / "live"  # inside the folder, as the docs say
            lines = (tmp_path / "sandbox" / "env.sh").read_text().splitlines()
            assert lines == [f"export {k}={shlex.quote(v)}" for k, v in key_environment().items()]
            assert said["env"] == key_environment()
            assert json.loads(await rig.stdout.readline()) == {"done": True}  # no pass asked
            rig.stdin.close()  # Ctrl-D
            assert await rig.wait() == 0
    finally:
        if rig.returncode is None:
            rig.kill()
            await rig.wait()
