"""Prices rounded to a tick's decimals in compiled code (arb.backtest.hbt_orders.round_places): the bits of
``np.round(x, places)``, NumPy's and Numba's, with nothing compiled for it (Numba's ``np.round`` compiles
anew in every process of a first run)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import arb._jit as nb
from arb.backtest.hbt_orders import round_places
from tests.support.compiles import compiled_names


@nb.njit()
def _rounded(xs: Any, places: Any) -> Any:
    out = np.empty(len(xs))
    for i in range(len(xs)):
        out[i] = round_places(xs[i], places[i])
    return out


@nb.njit()
def _numbas(xs: Any, places: Any) -> Any:
    out = np.empty(len(xs))
    for i in range(len(xs)):
        out[i] = np.round(xs[i], places[i])
    return out


def _prices() -> tuple[Any, Any]:
    # prices, half of them exactly between two steps of their decimals (round half to even decides),
    # at -3 to 9 places
    rng = np.random.default_rng(61)
    n = 20_000
    places = rng.integers(-3, 10, n)
    xs = rng.uniform(-1e5, 1e5, n)
    halves = rng.integers(-(10**7), 10**7, n // 2) / 1000 + 0.0005
    xs[: n // 2] = halves
    return xs, places


def test_the_same_bits_as_numpys_round_and_numbas() -> None:
    xs, places = _prices()
    got = _rounded(xs, places)
    numpys = np.array([np.round(x, int(p)) for x, p in zip(xs, places, strict=True)])
    assert got.tobytes() == numpys.tobytes()
    assert got.tobytes() == _numbas(xs, places).tobytes()
    assert [round_places(x, int(p)) for x, p in zip(xs[:200], places[:200], strict=True)] == list(numpys[:200])


def test_nothing_of_numbas_round_is_compiled() -> None:
    if nb.plain():
        pytest.skip("plain Python: NumPy's own functions")

    @nb.njit()
    def fresh(x: float, places: np.int32) -> float:  # compiled here, for types nothing else rounds
        return round_places(np.float32(x), places)

    with compiled_names() as compiled:
        assert fresh(2.5, np.int32(0)) == 2.0
    assert compiled, "the listener heard nothing: the check below would prove nothing"
    assert not [name for name in compiled if "impl_np_round" in name or "round_ndigits" in name]
