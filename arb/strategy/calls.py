"""Calling a strategy's compiled functions from arb's compiled drivers by their machine-code address.

A strategy is compiled on its own (its module's Numba cache), and arb's drivers (the backtest's loop,
the live engine's step) are compiled on their own, once per argument *types*, and cached. The drivers
cannot name the strategy's function (a global of theirs would be baked into their cached machine code),
and Numba's first-class functions would unbox the function from Python at every call (a pickle of its
signature each time: tens of microseconds) and never hit the cache when handed a dispatcher. So a
strategy travels as integers: the address of its compiled function's body (Numba's own calling
convention: exceptions and all), read once when the run is set up (:func:`address`), and the drivers
call it through :func:`call_decide` / :func:`call_may_act`, which cast each array to the ``'A'`` layout
the strategy was compiled for and call the address. An exception the strategy raises comes back out of
the driver as Python's.

The drivers hold the strategy's parameters and memory as bytes (:attr:`arb.strategy.seam.Bound.part`: a
``uint8`` row per symbol), so their own types are the same for every strategy and they are compiled once
for all of them: a new strategy compiles its own functions, not the backtest's loop and the live step
again. A call hands a symbol's row (a ``(1, itemsize)`` slice) to the strategy as what it was compiled
for, a one-record array of its record: the same memory, one item of the row's length.

What keeps this safe: the strategy is compiled by :func:`address` for exactly the record types the
drivers hand it (:func:`decide_types`: the view, the rules, the strategy's parameters and memory, the
intents, every array 1-d in the ``'A'`` layout), from the same dtype objects the drivers' arrays carry.
The address is only valid while the dispatcher lives: :class:`arb.strategy.seam.Bound` keeps it.

Without compilation (``NUMBA_DISABLE_JIT``, :func:`arb._jit.plain`) the "address" is a key into a table
of the Python functions, and the calls are plain calls.
"""

from __future__ import annotations

__all__ = ["address", "call_decide", "call_may_act", "decide_types", "may_act_types"]

import functools
import itertools
import logging
import sys
from typing import Any

import numpy as np

from arb._jit import linked_only, plain

log = logging.getLogger(__name__)

_PLAIN: dict[int, Any] = {}
_KEYS = itertools.count(1)


@functools.cache
def _array_type(dtype: np.dtype[Any]) -> Any:
    # Numba's type of a 1-d 'A' array of ``dtype``; made once per dtype (from_dtype walks every field of a
    # record: a run's binding asks for the same few dtypes many times).
    from numba.np.numpy_support import from_dtype

    return from_dtype(dtype)[:]


def decide_types(view: np.dtype[Any], rules: np.dtype[Any], params: np.dtype[Any], memory: np.dtype[Any],
                 intents: np.dtype[Any]) -> tuple[Any, ...]:  # fmt: skip
    """The argument types a strategy's ``decide(view, rules, params, memory, now_ns, intents)`` is
    compiled for: 1-d arrays of these dtypes in the ``'A'`` layout, ``now_ns`` an int64."""
    from numba.core import types

    return (_array_type(view), _array_type(rules), _array_type(params), _array_type(memory), types.int64,
            _array_type(intents))  # fmt: skip


def may_act_types(view: np.dtype[Any], rules: np.dtype[Any], params: np.dtype[Any]) -> tuple[Any, ...]:
    """The argument types of a strategy's ``may_act(view, rules, params, now_ns)``."""
    from numba.core import types

    return (_array_type(view), _array_type(rules), _array_type(params), types.int64)


def address(fn: Any, types: tuple[Any, ...]) -> int:
    """The machine-code address of compiled function ``fn`` for argument ``types``, compiling it (or
    loading it from its cache) now. Without compilation, a key the plain calls look ``fn`` up by."""
    if plain() or not hasattr(fn, "compile"):
        key = next(_KEYS)
        _PLAIN[key] = getattr(fn, "py_func", fn)
        return key
    if linked_only(fn):  # its code is only linked into callers: asking the JIT engine could end the process
        raise TypeError(f"{fn.__name__} has no machine code of its own: compile it with njit(by_address=True)")
    try:
        fn.compile(types)
    except ModuleNotFoundError as exc:
        # Numba's cache beside the strategy's file was written while the file was imported under another
        # module name (the test kit's ``import mystrat`` beside arb's "path/mystrat.py:Name", or the other
        # way): its entries rebuild their globals from that module and cannot load here. It is a cache:
        # its entries for this module are dropped and the functions compiled again (and cached anew).
        _flush_caches(fn)
        log.warning("%s: Numba's cache of %s was written when its file was imported as another module (%s): "
                    "compiled again", fn.__name__, _file_of(fn), exc)  # fmt: skip
        fn.compile(types)
    result = fn.overloads[types]
    found: int = result.library.get_pointer_to_function(result.fndesc.llvm_func_name)
    if not found:
        raise RuntimeError(f"no machine code for {fn.__name__}{types}")
    return found


def _file_of(fn: Any) -> str:
    code = getattr(getattr(fn, "py_func", fn), "__code__", None)
    return str(code.co_filename) if code is not None else "?"


def _flush_caches(fn: Any) -> None:
    # Empty the Numba cache index of every compiled function of ``fn``'s module (its callees' entries
    # carry the same module name), ``fn`` first.
    module = sys.modules.get(getattr(fn.py_func, "__module__", "") or "")
    for value in {id(v): v for v in [fn, *(vars(module).values() if module is not None else ())]}.values():
        flush = getattr(getattr(value, "_cache", None), "flush", None)
        if hasattr(value, "py_func") and callable(flush):
            flush()


def _plain_decide(addr: int, view: Any, rules: Any, params: Any, memory: Any, now_ns: int, intents: Any) -> int:
    return int(_PLAIN[addr](view, rules, params, memory, now_ns, intents))


def _plain_may_act(addr: int, view: Any, rules: Any, params: Any, now_ns: int) -> bool:
    return bool(_PLAIN[addr](view, rules, params, now_ns))


def _intrinsics() -> tuple[Any, Any]:
    from numba.core import cgutils, types
    from numba.extending import intrinsic
    from numba.np.arrayobj import populate_array

    def _one_record(context: Any, builder: Any, ty: Any, value: Any) -> tuple[Any, Any]:
        # A (1, itemsize) uint8 slice as a 1-d array of one record of that itemsize: the layout of the
        # strategy's one-record array of its own record, which it was compiled for (the record's own type only
        # says where its fields are in the item's bytes)
        src = context.make_array(ty)(context, builder, value)
        out_type = types.Array(types.uint8, 1, "A")
        out = context.make_array(out_type)(context, builder)
        rows, itemsize = cgutils.unpack_tuple(builder, src.shape, 2)  # type: ignore[no-untyped-call]
        row_stride = cgutils.unpack_tuple(builder, src.strides, 2)[0]  # type: ignore[no-untyped-call]
        populate_array(out, data=src.data, shape=cgutils.pack_array(builder, [rows]),  # type: ignore[no-untyped-call]
                       strides=cgutils.pack_array(builder, [row_stride]), itemsize=itemsize,  # type: ignore[no-untyped-call]
                       meminfo=src.meminfo, parent=src.parent)  # fmt: skip
        return out_type, out._getvalue()

    def _call(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        # Cast every array to the 'A' layout (the strategy's compiled types), a record's bytes to a one-record
        # array, then call the address with Numba's calling convention; an error status returns from the
        # caller as an exception.
        arg_types = []
        values = []
        for ty, value in zip(signature.args[1:], args[1:], strict=True):
            if isinstance(ty, types.Array) and ty.ndim == 2 and ty.dtype == types.uint8:
                ty, value = _one_record(context, builder, ty, value)
            elif isinstance(ty, types.Array) and ty.layout != "A":
                as_any = ty.copy(layout="A")
                value = context.cast(builder, value, ty, as_any)
                ty = as_any
            arg_types.append(ty)
            values.append(value)
        fn_type = context.call_conv.get_function_type(signature.return_type, arg_types).as_pointer()
        fn = builder.inttoptr(args[0], fn_type)
        status, result = context.call_conv.call_function(builder, fn, signature.return_type, arg_types, values)
        with cgutils.if_unlikely(builder, status.is_error):  # type: ignore[no-untyped-call]
            context.call_conv.return_status_propagate(builder, status)
        return result

    @intrinsic
    def decide(typingctx: Any, addr: Any, view: Any, rules: Any, params: Any, memory: Any, now_ns: Any,
               intents: Any) -> Any:  # fmt: skip
        return types.int64(addr, view, rules, params, memory, now_ns, intents), _call

    @intrinsic
    def may_act(typingctx: Any, addr: Any, view: Any, rules: Any, params: Any, now_ns: Any) -> Any:
        return types.boolean(addr, view, rules, params, now_ns), _call

    return decide, may_act


if plain():
    call_decide: Any = _plain_decide
    call_may_act: Any = _plain_may_act
else:
    call_decide, call_may_act = _intrinsics()
