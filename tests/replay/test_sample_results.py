"""The shipped sample's trades, byte for byte, for both built-in strategies.

``docs/backtest.md`` ("The sample's results") gives the sha256 of the ``trades.csv`` that ``arb backtest`` writes
for the shipped configuration, with the taker and with ``style = "maker_taker"``: a change to arb that is not
meant to change what the built-ins trade (a refactoring, a speed-up, a new venue) leaves both files as they
are. A change that means to (a fix to the fills, a new rule) changes the hash here and in the docs together,
with the why in its commit.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from arb.cli import main
from tests.support.captures import ROOT

DOC = ROOT / "docs" / "backtest.md"


def _documented() -> dict[str, str]:
    # The table of docs/backtest.md's "The sample's results": `style` | `sha256`
    rows = re.findall(r"^\| `(\w+)` \| `arb backtest[^`]*` \| `([0-9a-f]{64})` \|", DOC.read_text(), re.MULTILINE)
    return dict(rows)


def test_the_docs_give_a_hash_for_each_built_in_style() -> None:
    assert set(_documented()) == {"taker", "maker_taker"}


@pytest.mark.parametrize("style", ["taker", "maker_taker"])
def test_the_samples_trades_are_the_documented_ones(
    style: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    out = tmp_path / "out"
    assert main(["-q", "backtest", "--set", f'strategy.style="{style}"', "--out", str(out)]) == 0
    digest = hashlib.sha256((out / "trades.csv").read_bytes()).hexdigest()
    assert digest == _documented()[style], f"{style}: trades.csv is {digest}; the docs give {_documented()[style]}"
