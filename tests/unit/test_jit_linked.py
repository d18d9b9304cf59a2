"""Functions only compiled code runs (``arb._jit.njit(internal=True)``, ``twin=True``): their code is linked
into each compiled caller, and no machine code of their own is generated, nor cached.

What must hold: a caller runs the linked code (machine code: int64 arithmetic wraps round; an exception it
raises reaches the caller's caller), in a later process too, linking it from Numba's cache without compiling
it again; the function itself has no address, and :func:`arb.strategy.calls.address` says so instead of
handing out a null one (or asking the JIT engine for a symbol it does not have, which can end the process);
``by_address=True`` keeps the machine code of a function called by address.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from numba import typeof

from arb._jit import linked_only, njit
from arb.strategy.calls import address
from tests.support.compiles import last_words

_WRAPS = 2**40 + 3  # squared, it overflows int64: machine code wraps round, Python's int does not
_WRAPPED = (_WRAPS * _WRAPS + 2**63) % 2**64 - 2**63


@njit(internal=True)
def _square(x: int) -> int:
    if x < 0:
        raise ValueError("negative")
    return x * x


@njit(twin=True, by_address=True)
def _square_by_address(x: int) -> int:
    return _square(x)


@njit()
def _caller(x: int) -> int:
    return _square(x) + 1


def _own_address(fn: object, *args: object) -> int:
    result = fn.overloads[tuple(typeof(a) for a in args)]  # type: ignore[attr-defined]
    found: int = result.library.get_pointer_to_function(result.fndesc.llvm_func_name)
    return found


def test_callers_run_the_linked_code_and_the_function_has_none_of_its_own() -> None:
    assert _caller(np.int64(_WRAPS)) == _WRAPPED + 1
    with pytest.raises(ValueError, match="negative"):
        _caller(np.int64(-1))
    assert linked_only(_square) and _own_address(_square, np.int64(0)) == 0
    with pytest.raises(TypeError, match="by_address=True"):
        address(_square, (typeof(np.int64(0)),))


def test_by_address_keeps_the_machine_code() -> None:
    assert not linked_only(_square_by_address)
    at = address(_square_by_address, (typeof(np.int64(0)),))
    assert at != 0 and at == _own_address(_square_by_address, np.int64(0))
    assert _square_by_address(np.int64(_WRAPS)) == _WRAPPED  # from Python: its twin
    with pytest.raises(TypeError, match="by_address"):
        njit(by_address=True)


_MODULE = """
import numpy as np
from arb._jit import njit

@njit(cache=True, internal=True)
def square(x):
    if x < 0:
        raise ValueError("negative")
    return x * x

@njit(cache=True)
def first(x):
    return square(x) + 1

@njit(cache=True)
def second(x):
    return square(x) - 1
"""


def test_a_later_process_links_it_from_the_cache(tmp_path: Path) -> None:
    # The first process compiles the function for its caller and caches it; the second compiles another
    # caller, which links the cached entry (a cache hit, nothing compiled for the function) and runs it,
    # the exception path included; asking for the cached function's address is refused, not a crash.
    (tmp_path / "linked_mod.py").write_text(_MODULE)
    stats = "sum(m.square.stats.cache_hits.values()), sum(m.square.stats.cache_misses.values())"
    assert last_words(tmp_path, "linked_mod", f"print(m.first(np.int64({_WRAPS})), {stats})") == [
        str(_WRAPPED + 1),
        "0",
        "1",
    ]
    script = f"""
        from numba import typeof
        from arb.strategy.calls import address
        try:
            m.second(np.int64(-1))
        except ValueError as error:
            raised = str(error)
        try:
            address(m.square, (typeof(np.int64(0)),))
        except TypeError:
            refused = "refused"
        print(m.second(np.int64({_WRAPS})), raised, refused, {stats})
    """
    assert last_words(tmp_path, "linked_mod", script) == [str(_WRAPPED - 1), "negative", "refused", "1", "0"]
