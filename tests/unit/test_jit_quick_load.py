"""Loading machine code from Numba's cache without Numba's compile-time registries (``arb._jit``).

What must hold: a later process that only loads a cached function runs it as compiled (NumPy allocation
through Numba's runtime, an exception raised from it) without Numba importing and registering every
implementation it could need to compile, which is what made a second ``arb backtest`` slower; and a
compilation later in that process still finds them.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.compiles import last_words

_MODULE = """
import numpy as np
from arb._jit import njit

@njit(cache=True)
def ramp(n):
    if n < 0:
        raise ValueError("negative")
    out = np.zeros(n)
    for i in range(n):
        out[i] = i * 0.5
    return out

@njit(cache=True)
def total(n):
    return ramp(n).sum()
"""


def test_a_cached_function_runs_without_the_compile_registries_and_a_later_compile_finds_them(
    tmp_path: Path,
) -> None:
    (tmp_path / "quick_mod.py").write_text(_MODULE)
    assert last_words(tmp_path, "quick_mod", "print(m.ramp(4).sum())") == ["3.0"]  # compiled and cached
    script = """
        registries = "numba.np.arraymath"
        values = m.ramp(5)
        try:
            m.ramp(-1)
        except ValueError as error:
            raised = str(error)
        loaded_only = registries not in sys.modules
        hits = sum(m.ramp.stats.cache_hits.values())
        later = m.total(3)  # not in the cache: compiled here, which registers what compiling needs
        print(values.sum(), raised, loaded_only, hits, later, registries in sys.modules)
    """
    assert last_words(tmp_path, "quick_mod", script) == ["5.0", "negative", "True", "1", "1.5", "True"]
