"""What a backtest process imports: none of the live side's libraries.

A second ``arb backtest`` takes about 2 s, and each library it imports and does not use costs some of
it (SQLAlchemy for the journal, aiohttp and websockets for the venues' connections, asyncio under them,
ccxt): the sample's backtest in a process of its own, from the Numba cache the suite's warm-up filled.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.captures import ROOT

LIVE_SIDE = ("sqlalchemy", "aiohttp", "websockets", "ccxt", "asyncio", "connectors.common.private")
"""Modules only ``arb live``, ``arb dry-run`` and the account commands use."""

_PROBE = """
import sys
from arb.cli import main
code = main(["-q", "backtest", "--out", sys.argv[1]])
print(code, sorted(m for m in sys.argv[2].split(",") if m in sys.modules))
"""


def test_a_backtest_imports_nothing_of_the_live_side(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(tmp_path / "out"), ",".join(LIVE_SIDE)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "0 []"
    assert (tmp_path / "out" / "trades.csv").is_file()
