"""Functions compiled code calls and Python only sometimes (``arb._jit.njit(twin=True)``): compiled without
Numba's Python-callable wrapper, called from Python through a twin compiled with it, cached apart.

What must hold: a call from Python runs machine code (not the Python body), in a later process too, from
Numba's cache, never the wrapper-less code (whose wrapper address is null) that compiled callers link;
:func:`arb._jit.entry_point` hands the twin's; and the backtest's warm-up builds no wrapper for the
kernel, guard and gate functions only its compiled loop calls.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from arb._jit import entry_point, njit
from arb.backtest import run as bt
from arb.config import load_config
from tests.support.compiles import last_words

ROOT = Path(__file__).resolve().parent.parent.parent

_WRAPS = 2**40 + 3  # squared, it overflows int64: machine code wraps round, Python's int does not
_WRAPPED = (_WRAPS * _WRAPS + 2**63) % 2**64 - 2**63  # the square as int64 arithmetic wraps it


@njit(twin=True)
def _square(x: int) -> int:
    return x * x


@njit()
def _caller(x: int) -> int:
    return _square(x) + 1


def _wrapper_address(fn: object, args: tuple[object, ...]) -> int:
    from numba import typeof

    result = fn.overloads[tuple(typeof(a) for a in args)]  # type: ignore[attr-defined]
    address: int = result.library.get_pointer_to_function(result.fndesc.llvm_cpython_wrapper_name)
    return address


def test_compiled_callers_link_it_without_the_wrapper_and_python_calls_its_twin() -> None:
    assert _caller(np.int64(_WRAPS)) == _WRAPPED + 1
    assert _wrapper_address(_square, (np.int64(1),)) == 0  # what the caller links: no wrapper
    assert _square(np.int64(_WRAPS)) == _WRAPPED  # from Python: machine code (plain Python gives 2**80...)
    twin = _square.python_twin()
    assert twin is _square.python_twin() and twin.signatures
    assert _wrapper_address(twin, (np.int64(1),)) != 0
    step = entry_point(_square, np.int64(0))
    assert step(np.int64(_WRAPS)) == _WRAPPED


def test_entry_point_refuses_a_function_without_any_wrapper() -> None:
    @njit(internal=True)
    def helper(x: int) -> int:
        return x + 1

    with pytest.raises(TypeError, match="internal"):
        entry_point(helper, np.int64(0))
    with pytest.raises(TypeError, match="exclude"):
        njit(internal=True, twin=True)


_MODULE = """
import numpy as np
from arb._jit import njit

@njit(cache=True, twin=True)
def square(x):
    return x * x

@njit(cache=True)
def caller(x):
    return square(x) + 1
"""


def test_a_later_process_loads_the_twin_from_its_own_cache_entry(tmp_path: Path) -> None:
    # The first process compiles only what the compiled caller links (no wrapper) and caches it; a later
    # process calling the function from Python must not load that (a jump to a null address: the process
    # dies), but compile the twin under its own name; the one after loads both from the cache.
    (tmp_path / "twin_mod.py").write_text(_MODULE)
    hits = "sum(m.square.stats.cache_hits.values())"
    twin = "m.square.python_twin().stats"
    first = last_words(tmp_path, "twin_mod", f"print(m.caller(np.int64({_WRAPS})), {hits})")
    assert first == [str(_WRAPPED + 1), "0"]
    second = last_words(tmp_path, "twin_mod", f"print(m.square(np.int64({_WRAPS})), sum({twin}.cache_misses.values()))")
    assert second == [str(_WRAPPED), "1"]
    third = last_words(
        tmp_path,
        "twin_mod",
        f"print(m.square(np.int64({_WRAPS})), m.caller(np.int64(2)), sum({twin}.cache_hits.values()), "
        "sum(m.caller.stats.cache_hits.values()))",
    )
    assert third == [str(_WRAPPED), "5", "1", "1"]
    names = sorted(p.name for p in (tmp_path / "numba").rglob("*.nbi"))
    assert any(n.startswith("twin_mod.square-") and "-python" in n for n in names), names
    assert any(n.startswith("twin_mod.square-") and "-python" not in n for n in names), names


def test_the_backtest_warm_up_builds_no_wrapper_for_what_only_the_loop_calls() -> None:
    # The loop's helpers compiled as twins (the kernel, the guard, the gate, the step, ...) are linked by
    # compiled code only: the warm-up compiles them without the Python-callable wrapper.
    config = load_config(ROOT / "config" / "arbitrage.toml")
    bt.warm_loop(config)
    loop = bt.Loop(config, _Span(), None)  # type: ignore[arg-type]  # only the span is read
    calls = [(fn, args) for fn, args in bt._helper_calls(loop) if hasattr(fn, "python_twin")]
    assert len(calls) >= 5, [fn.py_func.__name__ for fn, _ in bt._helper_calls(loop)]
    for fn, args in calls:
        assert _wrapper_address(fn, args) == 0, fn.py_func.__name__


class _Span:
    start_ns = 0
    end_ns = 0
