"""The strategy's memory in the live journal (``arb.live.strategy_memory``): queued at a flush only when it
changed, committed with the flush, put back exactly at the next start when it is the same strategy's and
layout, left at zero (and said) when it is not. ``arb live`` restarting resumes it:
``tests/integration/test_user_strategy.py``."""

from __future__ import annotations

import io
import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
from rich.console import Console

from arb.execution.journaling import ExecutionJournal
from arb.journal import Journal
from arb.live.strategy_memory import STRATEGY_MEMORY_KEY, StrategyMemory

MEMORY = np.dtype([("seen", "i8"), ("mean", "f8"), ("window", "f8", (3,))], align=True)


def _engine(
    name: str = "zscore", dtype: np.dtype[Any] = MEMORY, symbols: tuple[str, ...] = ("BTCUSDT", "ETHUSDT")
) -> Any:
    strategy = SimpleNamespace(name=name)
    return SimpleNamespace(
        symbols=symbols, bound=SimpleNamespace(strategies=(strategy,), memory=np.zeros(len(symbols), dtype))
    )


def _start(path: Path, engine: Any) -> tuple[ExecutionJournal, StrategyMemory, str]:
    # A session's start on the journal at ``path``: the keeper restored, what it said
    journal = ExecutionJournal(Journal.open(path), "acct")
    keeper = StrategyMemory(journal)
    out = io.StringIO()
    keeper.restore(engine, Console(file=out, width=200))
    return journal, keeper, out.getvalue().strip()


def test_it_is_written_at_a_flush_only_when_it_changed_and_resumed_exactly(tmp_path: Path) -> None:
    engine = _engine()
    journal, keeper, said = _start(tmp_path / "j.sqlite", engine)
    assert said == "" and not keeper.changed
    queued: list[str] = []
    defer = journal.defer_state
    journal.defer_state = lambda key, value: (queued.append(key), defer(key, value))[1]  # type: ignore[method-assign]
    journal.flush()
    assert queued == [] and journal.get_state(STRATEGY_MEMORY_KEY) is None  # nothing changed: nothing written
    memory = engine.bound.memory
    memory[0]["seen"], memory[0]["mean"], memory[1]["window"] = 7, math.nan, [1.5, -0.0, math.inf]
    assert keeper.changed
    journal.flush()
    journal.flush()  # unchanged since: not queued again
    assert queued == [STRATEGY_MEMORY_KEY] and not keeper.changed
    memory[0]["seen"] = 8
    journal.close()  # the close's flush keeps the last of it
    assert queued == [STRATEGY_MEMORY_KEY] * 2
    restarted = _engine()
    journal, _, said = _start(tmp_path / "j.sqlite", restarted)
    assert said == "strategy 'zscore': its memory resumed from the journal (BTCUSDT, ETHUSDT)"
    assert restarted.bound.memory.tobytes() == memory.tobytes()  # bit for bit: the NaN, -0.0 and inf too
    assert int(restarted.bound.memory[0]["seen"]) == 8
    journal.close()


def test_another_strategys_or_layouts_memory_is_not_resumed(tmp_path: Path) -> None:
    engine = _engine()
    journal, _, _ = _start(tmp_path / "j.sqlite", engine)
    engine.bound.memory[0]["seen"] = 3
    journal.close()
    other = _engine(name="carry")
    journal, _, said = _start(tmp_path / "j.sqlite", other)
    journal.close()
    assert said == "strategy 'carry': its memory starts at zero (the journal holds the memory of strategy 'zscore')"
    assert not other.bound.memory.tobytes().strip(b"\x00")
    wider = np.dtype([("seen", "i8"), ("mean", "f8")], align=True)
    changed = _engine(dtype=wider, symbols=("BTCUSDT",))
    journal, _, said = _start(tmp_path / "j.sqlite", changed)
    journal.close()
    assert said.startswith("strategy 'zscore': its memory starts at zero (its layout changed: the journal's is ")
    assert int(changed.bound.memory[0]["seen"]) == 0


def test_a_symbol_the_journal_does_not_hold_starts_at_zero(tmp_path: Path) -> None:
    journal, _, _ = _start(tmp_path / "j.sqlite", one := _engine(symbols=("BTCUSDT",)))
    one.bound.memory[0]["seen"] = 5
    journal.close()
    journal, _, said = _start(tmp_path / "j.sqlite", two := _engine())
    journal.close()
    assert said == "strategy 'zscore': its memory resumed from the journal (BTCUSDT)"
    assert [int(x) for x in two.bound.memory["seen"]] == [5, 0]
