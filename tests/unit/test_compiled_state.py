"""The compiled state's records: every record array handed to compiled code carries its module's dtype
object itself (an equal copy makes Numba compare every field at each call), and the paper executor
keeps the per-(symbol, venue) and per-venue counts the engine reads as arrays updated in place."""

from __future__ import annotations

import numpy as np
import pytest

from arb.config import load_config
from arb.execution.paper import PaperExecutor
from arb.execution.risk import RISK_DTYPE, limits_of
from arb.strategy.rules import rules_of
from arb.strategy.types import BUY, INTENT_OPEN, RULES_DTYPE
from tests.support.captures import ROOT, AnsweringExecutor


def test_per_symbol_records_carry_the_dtype_itself() -> None:
    config = load_config(ROOT / "config" / "arbitrage.toml")
    assert rules_of(config).dtype is RULES_DTYPE
    assert limits_of(config).dtype is RISK_DTYPE


def test_paper_executor_counts_are_arrays_updated_in_place() -> None:
    from arb.book import OrderBook

    config = load_config(ROOT / "config" / "arbitrage.toml")
    books = (OrderBook(), OrderBook())
    ex = PaperExecutor(config.venues, books, lambda: (0, 0), base=(1.0, 1.0), quote=(1e5, 1e5),
                       request_timeout_ns=5)  # fmt: skip
    open_counts, unknown, blocked = ex.open_counts, ex.unknown_counts, ex.blocked_until_ns
    assert open_counts.shape == (1, 2) and unknown.shape == (2,) and blocked.tolist() == [0, 0]
    ex.submit(1, BUY, 60_000.0, 0.001, INTENT_OPEN, 1, now=100)
    assert open_counts.tolist() == [[0, 1]] and ex.open_counts.ravel().tolist() == [0, 1]
    ex.run_until(100 + 4, lambda order: None)  # sent 4 ns ago: still within the request timeout
    assert unknown.tolist() == [0, 0]
    ex.run_until(100 + 5, lambda order: None)
    assert unknown.tolist() == [0, 1] and ex.unknown_counts.tolist() == [0, 1]
    answered: list[object] = []
    ex.run_until(10**12, answered.append)
    assert len(answered) == 1 and open_counts.tolist() == [[0, 0]] and unknown.tolist() == [0, 0]
    assert ex.open_counts is open_counts and ex.unknown_counts is unknown  # the same arrays throughout
    np.testing.assert_array_equal(blocked, [0, 0])


def test_engine_hands_the_executor_arrays_to_its_step() -> None:
    from arb.live.engine import Engine

    config = load_config(ROOT / "config" / "arbitrage.toml")
    engine = Engine(config)
    assert engine.rules.dtype is RULES_DTYPE and engine.limits.dtype is RISK_DTYPE
    engine.executor.blocked_until_ns[1] = 123  # the executor's own array, changed in place
    engine.executor.unknown_counts[0] = 2
    engine.finish(0)
    assert engine.views[0][0]["blocked_until_ns"] == 0 and engine.views[0][1]["blocked_until_ns"] == 123


class _OwnExecutor(AnsweringExecutor):
    """An executor other than the paper one, keeping its own count arrays: the engine reads them as they are."""

    def __init__(self) -> None:
        super().__init__()
        self.open_counts = np.array([[1, 0]], np.int64)
        self.blocked_until_ns = np.array([0, 456], np.int64)


def test_engine_takes_another_executors_arrays() -> None:
    from arb.live.engine import Engine

    config = load_config(ROOT / "config" / "arbitrage.toml")
    engine = Engine(config, executor=_OwnExecutor())
    engine.finish(0)
    assert [int(engine.views[0][v]["open_orders"]) for v in range(2)] == [1, 0]
    assert [int(engine.views[0][v]["blocked_until_ns"]) for v in range(2)] == [0, 456]


def test_engine_refuses_an_executor_without_count_arrays() -> None:
    from arb.live.engine import Engine

    class _Lists(_OwnExecutor):
        def __init__(self) -> None:
            super().__init__()
            self.open_counts = [1, 0]  # type: ignore[assignment]

    config = load_config(ROOT / "config" / "arbitrage.toml")
    with pytest.raises(TypeError, match="open_counts"):
        Engine(config, executor=_Lists())
