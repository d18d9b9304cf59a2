"""``zeros`` and ``empty`` for arb's compiled code: NumPy's, without a compilation per array type.

Numba implements ``np.zeros`` and ``np.empty`` as overloads: each distinct (shape, dtype) a compiled
function calls them with is one more function compiled (``np.zeros`` of an int64 vector, of a float
matrix, of a record array: a compilation each, and ``np.zeros`` one more on top of ``np.empty``'s), and
every process compiling arb's code compiles them again, since they are never in Numba's cache: a first
``arb backtest`` compiled them 33 times in its three processes, about 1.5 s of CPU, and linked each into
its callers' machine code. These two are intrinsics instead: the allocation's few instructions are
emitted where the call is, with Numba's own allocator (the array is NumPy's, owned by Numba's runtime
exactly as ``np.zeros``' is), and nothing is compiled for them.

``zeros(shape, dtype)`` and ``empty(shape, dtype)``: ``shape`` an integer or a tuple of integers,
``dtype`` always given (``np.float64``, ``np.int64``, ``np.bool_``, an array's ``.dtype``, a record
dtype); a C-contiguous array, zero-filled by ``zeros``. A negative size raises ``ValueError`` as
NumPy's does.

Without compilation (:func:`arb._jit.plain`) they are NumPy's own.
"""

from __future__ import annotations

__all__ = ["empty", "zeros"]

from typing import Any

import numpy as np

from arb._jit import plain


def _intrinsics() -> tuple[Any, Any]:
    from numba.core import cgutils, types
    from numba.core.errors import TypingError
    from numba.core.typing.npydecl import parse_dtype, parse_shape
    from numba.extending import intrinsic
    from numba.np.arrayobj import _empty_nd_impl, _parse_shape

    def typed(name: str, shape: Any, dtype: Any) -> Any:
        ndim, nb_dtype = parse_shape(shape), parse_dtype(dtype)  # type: ignore[no-untyped-call]  # numba is untyped
        if ndim is None or nb_dtype is None:
            raise TypingError(f"arb._alloc.{name}: a shape (an integer or a tuple of them), a dtype: {shape}, {dtype}")
        return types.Array(nb_dtype, ndim, "C")

    def allocate(context: Any, builder: Any, signature: Any, values: Any, fill: bool) -> Any:
        array_type = signature.return_type
        shapes = _parse_shape(context, builder, signature.args[0], values[0])  # type: ignore[no-untyped-call]
        array = _empty_nd_impl(context, builder, array_type, shapes)  # type: ignore[no-untyped-call]
        if fill:
            size = builder.mul(array.itemsize, array.nitems)
            cgutils.memset(builder, array.data, size, 0)  # type: ignore[no-untyped-call]
        return array._getvalue()

    @intrinsic
    def zeros(typingctx: Any, shape: Any, dtype: Any) -> Any:
        array_type = typed("zeros", shape, dtype)
        return array_type(shape, dtype), lambda c, b, s, v: allocate(c, b, s, v, True)

    @intrinsic
    def empty(typingctx: Any, shape: Any, dtype: Any) -> Any:
        array_type = typed("empty", shape, dtype)
        return array_type(shape, dtype), lambda c, b, s, v: allocate(c, b, s, v, False)

    return zeros, empty


zeros: Any
empty: Any
if plain():
    zeros, empty = np.zeros, np.empty
else:
    zeros, empty = _intrinsics()
