"""arb's by-name declarations of hftbacktest's library entry points say what hftbacktest's own binding says.

The backtest loop calls hftbacktest's library through :mod:`arb.backtest.hbt_abi` (so Numba can cache it);
a signature that drifted from the library's would pass wrong values silently, so each is compared with
the ctypes declaration hftbacktest makes for the same symbol.
"""

from __future__ import annotations

import ctypes

import pytest
from hftbacktest import binding
from numba import types

from arb.backtest import hbt_abi

# How a ctypes type of hftbacktest's binding is passed by arb's declarations: addresses as unsigned
# 64-bit integers, booleans as one byte.
_AS = {
    ctypes.c_void_p: types.uint64,
    ctypes.c_uint64: types.uint64,
    ctypes.c_int64: types.int64,
    ctypes.c_double: types.float64,
    ctypes.c_uint8: types.uint8,
    ctypes.c_bool: types.uint8,
}


@pytest.mark.parametrize("name", sorted(hbt_abi.SIGNATURES))
def test_signature_is_the_bindings(name: str) -> None:
    declared = getattr(binding, name)
    signature = hbt_abi.SIGNATURES[name]
    assert [_AS[t] for t in declared.argtypes] == list(signature.args)
    assert _AS[declared.restype] == signature.return_type


def test_every_declared_function_is_exported() -> None:
    exported = {getattr(hbt_abi, n).symbol for n in hbt_abi.__all__ if n != "SIGNATURES"}
    assert exported == set(hbt_abi.SIGNATURES)
