"""The compiled state's records: every record array handed to compiled code carries its module's dtype
object itself (an equal copy makes Numba compare every field at each call), and the paper executor
keeps the per-(symbol, venue) and per-venue counts the engine reads as arrays updated in place."""

from __future__ import annotations

import numpy as np

from arb.config import load_config
from arb.execution.paper import PaperExecutor
from arb.execution.risk import RISK_DTYPE, limits_of
from arb.strategy.params import params_of
from arb.strategy.types import BUY, INTENT_OPEN, PARAMS_DTYPE
from tests.helpers import ROOT


def test_per_symbol_records_carry_the_dtype_itself() -> None:
    config = load_config(ROOT / "config" / "arbitrage.toml")
    assert params_of(config).dtype is PARAMS_DTYPE
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
    assert open_counts.tolist() == [[0, 1]] and list(ex.open_orders) == [0, 1]
    ex.run_until(100 + 4, lambda order: None)  # sent 4 ns ago: still within the request timeout
    assert unknown.tolist() == [0, 0]
    ex.run_until(100 + 5, lambda order: None)
    assert unknown.tolist() == [0, 1] and ex.unknown_orders == [0, 1]
    answered: list[object] = []
    ex.run_until(10**12, answered.append)
    assert len(answered) == 1 and open_counts.tolist() == [[0, 0]] and unknown.tolist() == [0, 0]
    assert ex.open_counts is open_counts and ex.unknown_counts is unknown  # the same arrays throughout
    np.testing.assert_array_equal(blocked, [0, 0])
