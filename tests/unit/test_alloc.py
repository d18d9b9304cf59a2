"""arb's allocations in compiled code (arb._alloc): NumPy's arrays of the shape and dtype asked for, zeroed
by ``zeros``, owned by the caller once returned, with NumPy's error for a negative size; and no compilation
of NumPy's allocators for them. And the frame stack's room for compiling (arb._jit.with_stack_room)."""

from __future__ import annotations

import resource
import sys
from typing import Any

import numpy as np
import pytest

import arb._jit as nb
from arb._alloc import empty, zeros
from tests.support.compiles import compiled_names

RECORD = np.dtype([("venue", np.int64), ("price", np.float64), ("live", np.bool_)])


@nb.njit()
def _vectors(n: int, dirty: Any) -> tuple[Any, Any, Any, Any]:
    # dirty the allocator's memory first: a freed array's bytes are what the next one may get
    scratch = empty(n, np.float64)
    for i in range(n):
        scratch[i] = dirty
    scratch = empty(n, np.float64)
    scratch[0] = dirty
    return zeros(n, np.float64), zeros(n, np.int64), zeros((2, n), np.bool_), zeros(n, RECORD)


@nb.njit()
def _shaped(n: int, rows: Any) -> tuple[Any, Any]:
    return zeros((n, 3, 2), np.float64), empty(n, rows.dtype)


@nb.njit()
def _sized(n: int) -> Any:
    return zeros(n, np.int64)


def test_zeros_gives_zeroed_arrays_of_the_shape_and_dtype() -> None:
    floats, ints, flags, records = _vectors(1000, 7.5)
    assert floats.dtype == np.float64 and floats.shape == (1000,) and not floats.any()
    assert ints.dtype == np.int64 and ints.shape == (1000,) and not ints.any()
    assert flags.dtype == np.bool_ and flags.shape == (2, 1000) and not flags.any()
    assert records.dtype == RECORD and records.shape == (1000,)
    assert not records["venue"].any() and not records["price"].any() and not records["live"].any()
    for array in (floats, ints, flags, records):
        assert array.flags.c_contiguous and array.flags.writeable


def test_shapes_and_a_dtype_taken_from_an_array() -> None:
    rows = np.zeros(4, RECORD)
    cube, copy = _shaped(5, rows)
    assert cube.shape == (5, 3, 2) and cube.strides == (48, 16, 8) and not cube.any()
    assert copy.dtype == RECORD and copy.shape == (5,)
    copy["price"][:] = 2.0  # the caller's own array, kept after the call
    cube[4, 2, 1] = 1.0
    assert copy["price"].sum() == 10.0 and cube.sum() == 1.0


def test_a_negative_size_is_numpys_error() -> None:
    with pytest.raises(ValueError, match="negative dimensions"):
        _sized(-1)
    assert _sized(0).shape == (0,)


def test_nothing_of_numpys_allocators_is_compiled() -> None:
    if nb.plain():
        pytest.skip("plain Python: NumPy's own functions")

    @nb.njit()
    def fresh(n: int) -> Any:  # compiled here, with types no other code allocates (NumPy's would compile)
        return zeros((n, 2, 2), np.uint16), empty((n, 1, 1), np.float32)

    with compiled_names() as compiled:
        a, b = fresh(3)
    assert a.shape == (3, 2, 2) and a.dtype == np.uint16 and b.shape == (3, 1, 1) and b.dtype == np.float32
    assert compiled, "the listener heard nothing: the check below would prove nothing"
    assert not [name for name in compiled if "np_zeros" in name or "np_empty" in name or "zero_fill" in name]


def test_a_call_with_stack_room() -> None:
    def inner(a: int, b: int = 0) -> tuple[int, int]:
        caller = sys._getframe(1).f_code
        return a + b, caller.co_nlocals

    total, room = nb.with_stack_room(inner, 2, 3)
    assert total == 5 and room >= 32_768  # called from the large frame

    def fails() -> None:
        raise KeyError("out")

    with pytest.raises(KeyError, match="out"):
        nb.with_stack_room(fails)


def _leaf() -> int:
    # a frame larger than one of _descend's: where _descend fills a chunk of the frame stack, it never fits
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = a8 = a9 = b0 = b1 = b2 = b3 = b4 = b5 = b6 = b7 = b8 = b9 = 0  # noqa: F841
    c0 = c1 = c2 = c3 = c4 = c5 = c6 = c7 = c8 = c9 = d0 = d1 = d2 = d3 = d4 = d5 = d6 = d7 = d8 = d9 = 0  # noqa: F841
    return 0


def _descend(depth: int, calls: int) -> int:
    # at ``depth`` frames below here, the page faults of ``calls`` calls of _leaf
    if depth:
        return _descend(depth - 1, calls)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(calls):
        _leaf()
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def _worst(calls: int) -> int:
    # the most page faults the calls take at any depth over a span of several 16 KiB chunks
    return max(_descend(depth, calls) for depth in range(300))


def test_calls_with_stack_room_map_no_memory_per_call() -> None:
    calls = 2_000
    bare = _worst(calls)
    if bare < calls // 2:  # a CPython that keeps a frame-stack chunk once mapped: nothing to prevent
        pytest.skip(f"this CPython maps no frame-stack memory per call ({bare} page faults for {calls} calls)")
    assert nb.with_stack_room(_worst, calls) < calls // 10


def test_called_from_python_they_are_numpys() -> None:
    # arb check runs the rules' compiled functions as Python, Numba imported or not
    ints, cube = zeros(3, np.int64), empty((2, 2), RECORD)
    assert type(ints) is np.ndarray and ints.dtype == np.int64 and not ints.any()
    assert cube.shape == (2, 2) and cube.dtype == RECORD
    floats, *_ = getattr(_vectors, "py_func", _vectors)(4, 1.0)
    assert floats.shape == (4,) and not floats.any()
