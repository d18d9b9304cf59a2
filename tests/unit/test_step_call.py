"""The backtest loop calls the shared step by address (arb.backtest.step_call): the call gives the step's
result and its exception, and a step compiled for other argument types than the caller passes is refused
(RuntimeError), never called."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import arb._jit as nb
from arb.backtest.step_call import call_step, step_of


@nb.njit()
def _step(now: int, rows: Any, pair: Any) -> int:
    if now < 0:
        raise ValueError("negative time")
    rows[0] = now + pair[1]
    return int(pair[0] + 1)


@nb.njit()
def _caller(step: Any, now: int, rows: Any) -> int:
    n: int = call_step(step, (now, rows, (np.int64(41), 2.5)))
    return n


def test_the_step_is_called_by_its_address() -> None:
    rows = np.zeros(1)
    step = step_of(_step, (np.int64(0), rows, (np.int64(0), 0.0)))
    assert _caller(step, 10, rows) == 42
    assert rows[0] == 12.5
    with pytest.raises(ValueError, match="negative time"):
        _caller(step, -1, rows)


def test_a_step_compiled_for_other_types_is_not_called() -> None:
    rows = np.zeros(1)
    other = step_of(_step, (np.int64(0), np.zeros(1, np.int64), (np.int64(0), 0.0)))  # int rows, not float
    if other[1] == 0:  # no compilation (NUMBA_DISABLE_JIT): plain calls, nothing to refuse
        pytest.skip("plain Python: the step is called as a function")
    with pytest.raises(RuntimeError, match="other argument types"):
        _caller(other, 10, rows)
    with pytest.raises(RuntimeError, match="other argument types"):
        _caller((0, 0), 10, rows)  # no step yet
    assert rows[0] == 0.0
