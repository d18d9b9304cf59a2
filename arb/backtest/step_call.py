"""The backtest loop's call of the shared step (:func:`arb.strategy.step.decide_symbol`) by its machine-code
address, so that the loop does not link the step.

Numba links a callee's code into each caller and optimises and generates the machine code of the whole
again, once per compiled function: the loop linked the step, and with it the guard, the risk gate and all
they call, and generated all of it a second time (a first ``arb backtest`` spent about a third of the
loop's 10 s of compiling there), and it could only be compiled once the step was. Called by address, the
step is compiled once, on its own (or loaded from Numba's cache), the loop beside it in another process,
and the loop's cached machine code holds no address: :func:`step_of` reads it when a run is set up, and
the loop takes it as an argument (``Symbols.step``).

An address is only safe for the argument types the step was compiled for. :func:`step_of` hands, beside
the address, a key of those types (:func:`types_key`); :func:`call_step` computes the key of the types it
is called with when the loop is compiled, and raises ``RuntimeError`` instead of calling when the two
differ (a step compiled for other types than the loop passes, or no step: key 0).

Without compilation (``NUMBA_DISABLE_JIT``) the address is a key into a table of the Python functions, and
the call a plain call.
"""

from __future__ import annotations

__all__ = ["call_step", "step_of", "types_key"]

import zlib
from typing import Any

from arb._jit import plain
from arb.strategy.calls import address


def types_key(types: tuple[Any, ...]) -> int:
    """A key of Numba argument ``types`` (their names: a record array's name spells every field), > 0."""
    return zlib.crc32(repr(tuple(str(t) for t in types)).encode()) + 1


def step_of(fn: Any, args: tuple[Any, ...]) -> tuple[int, int]:
    """``(address, key)`` of compiled function ``fn`` for the types of the values ``args``, compiling it (or
    loading it from Numba's cache) now: what :func:`call_step` takes."""
    if plain():
        return address(fn, ()), 0
    from numba import typeof

    types = tuple(typeof(x) for x in args)  # type: ignore[no-untyped-call]  # numba is untyped
    return address(fn, types), types_key(types)


def _plain_call_step(step: Any, args: Any) -> int:
    from arb.strategy.calls import _PLAIN

    return int(_PLAIN[step[0]](*args))


def _intrinsic() -> Any:
    from numba.core import cgutils, types
    from numba.extending import intrinsic

    @intrinsic
    def call_step(typingctx: Any, step: Any, args: Any) -> Any:
        arg_types = tuple(args.types)
        key = types_key(arg_types)

        def codegen(context: Any, builder: Any, signature: Any, values: Any) -> Any:
            # the step's key against the one of the types passed here; then a call of the address with
            # Numba's calling convention (an exception the step raises comes out of the caller)
            addr = builder.extract_value(values[0], 0)
            given = builder.extract_value(values[0], 1)
            wrong = builder.icmp_unsigned("!=", given, context.get_constant(types.int64, key))
            with cgutils.if_unlikely(builder, wrong):  # type: ignore[no-untyped-call]
                context.call_conv.return_user_exc(
                    builder, RuntimeError, ("the step was compiled for other argument types than the loop passes",)
                )
            items = [builder.extract_value(values[1], i) for i in range(len(arg_types))]
            fn_type = context.call_conv.get_function_type(types.int64, arg_types).as_pointer()
            fn = builder.inttoptr(addr, fn_type)
            status, result = context.call_conv.call_function(builder, fn, types.int64, arg_types, items)
            with cgutils.if_unlikely(builder, status.is_error):  # type: ignore[no-untyped-call]
                context.call_conv.return_status_propagate(builder, status)
            return result

        return types.int64(step, args), codegen

    return call_step


call_step: Any = _plain_call_step if plain() else _intrinsic()
"""``call_step(step, args)``: the step ``(address, key)`` of :func:`step_of` called with the tuple ``args``;
returns its int64 result."""
