"""``zeros`` and ``empty`` for arb's compiled code: NumPy's, without a compilation per array type.

Numba implements ``np.zeros`` and ``np.empty`` as overloads: each distinct (shape, dtype) a compiled
function calls them with is one more function compiled (``np.zeros`` of an int64 vector, of a float
matrix, of a record array: a compilation each, and ``np.zeros`` one more on top of ``np.empty``'s), and
every process compiling arb's code compiles them again, since they are never in Numba's cache: a first
``arb backtest`` compiled them, with the zero fill under ``np.zeros``, 30 times in its three processes
(about 1.5 s of CPU), and linked each into its callers' machine code. These two are typed and lowered in
place instead: the allocation's few instructions are emitted where the call is, with Numba's own
allocator (the array is NumPy's, owned by Numba's runtime exactly as ``np.zeros``' is), and nothing is
compiled for them. Called from Python (``arb check`` runs the rules' compiled functions as Python), they
are NumPy's.

``zeros(shape, dtype)`` and ``empty(shape, dtype)``: ``shape`` an integer or a tuple of integers,
``dtype`` always given (``np.float64``, ``np.int64``, ``np.bool_``, an array's ``.dtype``, a record
dtype); a C-contiguous array, zero-filled by ``zeros``. A negative size raises ``ValueError`` as
NumPy's does.
"""

from __future__ import annotations

__all__ = ["empty", "zeros"]

from typing import Any

import numpy as np

from arb._jit import plain


def zeros(shape: Any, dtype: Any) -> np.ndarray[Any, Any]:
    """A zero-filled C-contiguous array of ``shape`` and ``dtype``: ``np.zeros``, in compiled code too."""
    return np.zeros(shape, dtype)


def empty(shape: Any, dtype: Any) -> np.ndarray[Any, Any]:
    """An uninitialised C-contiguous array of ``shape`` and ``dtype``: ``np.empty``, in compiled code too."""
    return np.empty(shape, dtype)


def _register() -> None:
    # Numba's low-level extension API: a typing and a lowering of the two functions themselves, so a call
    # in compiled code is emitted in place (no function compiled for it), and the functions stay plain
    # Python where arb runs compiled functions' Python (``arb check``'s rules, NUMBA_DISABLE_JIT)
    from numba.core import cgutils, types
    from numba.core.typing.npydecl import parse_dtype, parse_shape
    from numba.extending import lower_builtin, type_callable
    from numba.np.arrayobj import _empty_nd_impl, _parse_shape

    def typer(context: Any) -> Any:
        def array_of(shape: Any, dtype: Any) -> Any:
            ndim, nb_dtype = parse_shape(shape), parse_dtype(dtype)  # type: ignore[no-untyped-call]  # numba is untyped
            return None if ndim is None or nb_dtype is None else types.Array(nb_dtype, ndim, "C")

        return array_of

    def lowering(fill: bool) -> Any:
        def allocate(context: Any, builder: Any, signature: Any, values: Any) -> Any:
            shapes = _parse_shape(context, builder, signature.args[0], values[0])  # type: ignore[no-untyped-call]
            array = _empty_nd_impl(context, builder, signature.return_type, shapes)  # type: ignore[no-untyped-call]
            if fill:
                size = builder.mul(array.itemsize, array.nitems)
                cgutils.memset(builder, array.data, size, 0)  # type: ignore[no-untyped-call]
            return array._getvalue()

        return allocate

    for fn, fill in ((zeros, True), (empty, False)):
        type_callable(fn)(typer)
        lower_builtin(fn, types.Any, types.Any)(lowering(fill))  # type: ignore[no-untyped-call]  # numba is untyped


if not plain():
    _register()
