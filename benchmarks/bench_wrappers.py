"""What Numba's Python-callable wrapper costs to compile, and what a first backtest builds of it.

1. Compile time per function with and without the wrapper (``no_cpython_wrapper``, what
   ``arb._jit.njit(twin=True)`` and ``internal=True`` compile for compiled callers): ``--functions``
   distinct small functions of an array and a float, each compiled once in a fresh process with nothing
   cached, the two kinds alternated over ``--rounds`` processes each; the mean milliseconds per compile.
2. The wrappers a first ``arb backtest`` of the shipped sample builds: in a fresh process with an empty
   Numba cache of its own, the warm-up compiled in that one process (``warm_loop``), counting every
   function Numba builds a Python-callable wrapper for and the CPU spent building them in Python (LLVM's
   share of them is not separated); for this checkout and, with ``--ref REV``, a commit's sources
   (``git archive``, as ``bench_compile.py`` takes them) beside it.

Prints both beside each other and the load average (``machine.py``). Nothing asserts on timings.

    python benchmarks/bench_wrappers.py [--functions 30] [--rounds 3] [--ref 3d55c88] [--no-backtest]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_compile import commit_tree
from machine import run_benchmark

ROOT = Path(__file__).resolve().parent.parent

_SMALL = r"""
import sys, time
import numpy as np
from numba import njit, types
wrapper = sys.argv[1] == "with"
fns = []
for i in range(int(sys.argv[2]) + 1):
    scope = {}
    exec(f"def f{i}(a, x):\n    return a[0] + x * {i}\n", scope)
    fns.append(njit(no_cfunc_wrapper=True, no_cpython_wrapper=not wrapper)(scope[f"f{i}"]))
sig = (types.float64[:], types.float64)
fns[0].compile(sig)  # Numba's first compile in a process loads its registries: not counted
t = time.process_time()
for f in fns[1:]:
    f.compile(sig)
print((time.process_time() - t) / (len(fns) - 1) * 1e3)
"""

_BACKTEST = r"""
import time
from numba.core import lowering
built = []
original = lowering.Lower.create_cpython_wrapper
def counted(self, release_gil=False):
    t = time.process_time()
    try:
        return original(self, release_gil)
    finally:
        built.append((self.fndesc.qualname, time.process_time() - t))
lowering.Lower.create_cpython_wrapper = counted
from arb._jit import with_stack_room
from arb.backtest.run import warm_loop
from arb.config import load_config
with_stack_room(warm_loop, load_config(None), None)
print(len(built), sum(s for _, s in built), " ".join(name for name, _ in built))
"""


def _small(kind: str, functions: int) -> float:
    done = subprocess.run([sys.executable, "-c", _SMALL, kind, str(functions)], capture_output=True, text=True,
                          check=True)  # fmt: skip
    return float(done.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--functions", type=int, default=30, help="small functions compiled per process")
    parser.add_argument("--rounds", type=int, default=3, help="processes of each kind, alternated")
    parser.add_argument("--no-backtest", action="store_true", help="skip the first backtest's wrappers")
    parser.add_argument("--ref", help="also count a commit's first backtest's wrappers (e.g. 3d55c88)")
    args = parser.parse_args()

    times: dict[str, list[float]] = {"with": [], "without": []}
    for _ in range(args.rounds):
        for kind in times:
            times[kind].append(_small(kind, args.functions))
    print(f"a small function (an array and a float), compiled {args.functions} times per process, "
          f"{args.rounds} processes of each, alternated: ms per compile")  # fmt: skip
    for kind, ms in times.items():
        print(f"  {kind} the Python wrapper: mean {statistics.mean(ms):6.1f}  "
              f"({', '.join(f'{m:.1f}' for m in ms)})")  # fmt: skip
    print(f"  the wrapper: {statistics.mean(times['with']) - statistics.mean(times['without']):.1f} ms per function")

    if args.no_backtest:
        return
    with tempfile.TemporaryDirectory(prefix="arb-wrappers-") as work:
        trees = [("this checkout", ROOT)]
        if args.ref:
            trees.append((args.ref, Path(work) / "ref"))
            commit_tree(args.ref, trees[-1][1])
        for name, tree in trees:
            cache = Path(work) / f"numba-{len(name)}-{tree.name}"
            env = {**os.environ, "NUMBA_CACHE_DIR": str(cache), "PYTHONPATH": str(tree)}
            done = subprocess.run([sys.executable, "-c", _BACKTEST], capture_output=True, text=True, check=True,
                                  cwd=tree, env=env)  # fmt: skip
            count, seconds, *names = done.stdout.split()
            print(f"{name}: a first arb backtest's warm-up (one process, empty cache): {count} Python wrappers "
                  f"built, {float(seconds):.2f} s of CPU building them in Python: {', '.join(names)}")  # fmt: skip


if __name__ == "__main__":
    run_benchmark(main)
