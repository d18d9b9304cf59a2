"""The engine's compiled bookkeeping computes what the NumPy expressions it replaced computed, bit for bit.

Trading PnL (the drawdown tracker's input) was ``float(np.sum(cash + position * last_mid))`` and an
equity sample ``init_quote + cash + (init_base + position) * last_mid`` summed; compiled code that
fused a multiply and an add, or summed in another order, would round differently now and then.
"""

from __future__ import annotations

import numpy as np

from arb.runtime.engine import _log_equity, _trading_pnl
from arb.strategy.types import EQUITY_DTYPE


def _same(a: float, b: float) -> bool:
    return np.float64(a).tobytes() == np.float64(b).tobytes()


def _pairs(rng: np.random.Generator, n: int) -> np.ndarray:
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
        got = _trading_pnl(cash[k], position[k], mid[k])
        assert _same(got, want) or (np.isnan(got) and np.isnan(want)), k


def test_equity_sample_equals_the_numpy_expressions() -> None:
    rng = np.random.default_rng(20240809)
    n = 20_000
    init_quote, cash, init_base, position, mid = (_pairs(rng, n) for _ in range(5))
    mid = np.abs(mid)
    rows = np.zeros(n, EQUITY_DTYPE)
    for k in range(n):
        assert _log_equity(rows, k, k, init_quote[k], cash[k], init_base[k], position[k], mid[k])
        per = init_quote[k] + cash[k] + (init_base[k] + position[k]) * mid[k]
        row = rows[k]
        assert row["equity_venue"].tobytes() == per.tobytes(), k
        assert _same(row["equity"], float(per.sum())), k
        assert _same(row["spread_bps"], (mid[k][1] - mid[k][0]) / mid[k][0] * 1e4), k
        assert row["position"].tobytes() == position[k].tobytes() and row["mid"].tobytes() == mid[k].tobytes()
    assert rows["ts"].tolist() == list(range(n))


def test_no_equity_sample_before_both_venues_have_a_mid() -> None:
    rows = np.zeros(1, EQUITY_DTYPE)
    two = np.ones(2)
    assert not _log_equity(rows, 0, 5, two, two, two, two, np.array([np.nan, 1.0]))
    assert not _log_equity(rows, 0, 5, two, two, two, two, np.array([1.0, np.inf]))
    assert rows["ts"][0] == 0
