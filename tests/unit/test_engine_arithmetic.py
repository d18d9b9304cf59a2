"""The engine's compiled bookkeeping computes what the NumPy expressions it replaced computed, bit for bit.

Trading PnL (the drawdown tracker's input) was ``float(np.sum(cash + position * last_mid))`` and an
equity sample ``init_quote + cash + (init_base + position) * last_mid`` summed; compiled code that
fused a multiply and an add, or summed in another order, would round differently now and then.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from arb.strategy.state import EngineAccount
from arb.strategy.step import _trading_pnl, log_equity
from arb.strategy.types import equity_dtype

NO_MARK = np.full((1, 2), np.nan)  # no perpetual's mark price: positions valued at the mid


def _same(a: float, b: float) -> bool:
    return np.float64(a).tobytes() == np.float64(b).tobytes()


def _pairs(rng: np.random.Generator, n: int) -> np.ndarray[Any, np.dtype[np.float64]]:
    # Prices, positions and cash of the sizes the engine sees, and plain random doubles.
    out = rng.standard_normal((n, 2)) * 10.0 ** rng.integers(-8, 8, (n, 1))
    out[: n // 2] = np.abs(out[: n // 2]) * 60_000
    return out


def test_trading_pnl_equals_the_numpy_sum() -> None:
    rng = np.random.default_rng(20240808)
    cash, position, mid = _pairs(rng, 20_000), _pairs(rng, 20_000), _pairs(rng, 20_000)
    mid[::97] = np.nan
    for k in range(len(cash)):
        want = float(np.sum(cash[k] + position[k] * mid[k]))
        out = np.zeros(1)
        got = _trading_pnl(cash[k][None], position[k][None], mid[k][None], NO_MARK, out)  # one symbol
        assert _same(got, want) or (np.isnan(got) and np.isnan(want)), k
        assert _same(out[0], got) or np.isnan(got), k


def test_equity_sample_equals_the_numpy_expressions() -> None:
    rng = np.random.default_rng(20240809)
    n = 20_000
    init_quote, cash, init_base, position, mid = (_pairs(rng, n) for _ in range(5))
    mid = np.abs(mid)
    rows = np.zeros(n, equity_dtype(2))
    for k in range(n):
        one = (cash[k][None], init_base[k][None], position[k][None], mid[k][None])  # one symbol
        assert log_equity(rows, k, k, EngineAccount(one[2], one[1], init_quote[k], one[0]), one[3], NO_MARK)
        per = init_quote[k] + cash[k] + (init_base[k] + position[k]) * mid[k]
        row = rows[k]
        assert row["equity_venue"].tobytes() == per.tobytes(), k
        assert _same(row["equity"], float(per.sum())), k
        assert row["position"].tobytes() == position[k].tobytes() and row["mid"].tobytes() == mid[k].tobytes()
    assert rows["ts"].tolist() == list(range(n))


def test_no_equity_sample_before_both_venues_have_a_mid() -> None:
    rows = np.zeros(1, equity_dtype(2))
    two = np.ones(2)
    grid = np.ones((1, 2))
    assert not log_equity(rows, 0, 5, EngineAccount(grid, grid, two, grid), np.array([[np.nan, 1.0]]), NO_MARK)
    assert not log_equity(rows, 0, 5, EngineAccount(grid, grid, two, grid), np.array([[1.0, np.inf]]), NO_MARK)
    assert rows["ts"][0] == 0


def test_with_several_symbols_the_rows_of_a_sample_add_up_to_the_account() -> None:
    rng = np.random.default_rng(7)
    init_quote = np.array([5_000.0, 6_000.0])
    cash, init_base, position = rng.standard_normal((3, 3, 2)) * 100
    mid = np.abs(rng.standard_normal((3, 2))) * 1_000 + 1.0
    rows = np.zeros(3, equity_dtype(2))
    assert (
        log_equity(rows, 0, 9, EngineAccount(position, init_base, init_quote, cash), mid, np.full((3, 2), np.nan)) == 3
    )
    account = init_quote + (cash + (init_base + position) * mid).sum(axis=0)
    assert np.allclose(rows["equity_venue"].sum(axis=0), account, rtol=1e-12)
    assert rows["symbol"].tolist() == [0, 1, 2] and rows["ts"].tolist() == [9, 9, 9]
    assert np.array_equal(rows["mid"], mid) and np.array_equal(rows["position"], position)
    pnl = np.zeros(3)
    total = _trading_pnl(cash, position, mid, np.full((3, 2), np.nan), pnl)
    assert np.allclose(pnl, (cash + position * mid).sum(axis=1)) and np.isclose(total, pnl.sum())


def test_a_perpetuals_position_is_valued_at_its_mark_price() -> None:
    cash, position = np.array([[0.0, -600.0]]), np.array([[0.0, 0.01]])
    mid, mark = np.array([[60_000.0, 60_010.0]]), np.array([[np.nan, 60_100.0]])
    out = np.zeros(1)
    assert _trading_pnl(cash, position, mid, mark, out) == -600.0 + 0.01 * 60_100.0  # Bybit at its mark
    rows = np.zeros(1, equity_dtype(2))
    assert log_equity(rows, 0, 1, EngineAccount(position, np.zeros((1, 2)), np.array([1e4, 1e4]), cash), mid, mark) == 1
    assert rows["equity_venue"][0].tolist() == [1e4, 1e4 - 600.0 + 0.01 * 60_100.0]
    assert rows["mid"][0].tolist() == [60_000.0, 60_010.0]  # the spread is still the books'
