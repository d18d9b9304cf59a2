"""Where a first ``arb backtest`` spends its compile time: each compiled function's compilations, CPU and wall.

Copies a commit's ``arb``, ``connectors``, ``config`` and ``recordings`` (``git archive``, default HEAD;
``--rev`` another commit, ``--ref REV`` a second one profiled in the same run beside it) into a temporary
folder and runs, there, in a fresh process with an empty Numba cache of its own (``NUMBA_CACHE_DIR``)
and no conversion cache, the first ``arb backtest`` on the shipped sample, compiling everything in that
one process, one function after another (``os.cpu_count`` reads 1, so nothing compiles beside it): a
listener on Numba's ``numba:compile`` event times every compilation. Each compilation's own time
excludes the callees compiled inside it (Numba compiles a callee while it types its caller); its
LLVM optimisation of the callees linked into it is its own. Then the same command again (every
function loaded from the cache).

It also splits the compile CPU by phase: Numba's passes (each one's own CPU: typing, the lowering, ...),
the lowering itself into building LLVM IR in Python and LLVM's three steps (the function passes as each
function is lowered; the module passes over a compiled function's module, every callee's code linked
into it; the machine code of all of that), and counts the functions machine code was generated for
against the distinct ones: Numba links a callee's code into each caller and generates it again there.

Prints, per commit: the whole process (wall, CPU), the compile time in all (wall, CPU), and the
functions that compiled longest (own wall and CPU, signatures compiled), grouped by module, and the
functions compiled from Python with everything compiled under them; and the load average before and
after (a busy neighbour stretches wall times, hardly CPU times). Nothing asserts on timings.

    python benchmarks/bench_compile.py [--rev HEAD] [--ref d0a1895] [--top 30] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from machine import run_benchmark

ROOT = Path(__file__).resolve().parent.parent

# Run inside the profiled process (its source is handed to ``python -c``): the listener, then the CLI.
_PROBE = r"""
import json, os, sys, time
os.cpu_count = lambda: 1  # no warm-up processes: everything compiles here, one function at a time
from numba.core import event

records = []
stack = []

class Timer(event.Listener):
    def on_start(self, ev):
        stack.append([time.perf_counter(), time.process_time(), 0.0, 0.0])

    def on_end(self, ev):
        wall0, cpu0, child_wall, child_cpu = stack.pop()
        wall = time.perf_counter() - wall0
        cpu = time.process_time() - cpu0
        if stack:
            stack[-1][2] += wall
            stack[-1][3] += cpu
        disp = ev.data["dispatcher"]
        fn = disp.py_func
        records.append({"module": str(fn.__module__), "name": fn.__qualname__, "args": str(ev.data["args"])[:300],
                        "wall": wall - child_wall, "cpu": cpu - child_cpu, "incl_wall": wall, "incl_cpu": cpu,
                        "depth": len(stack)})

event.register("numba:compile", Timer())

# Where each compilation's own time goes: Numba's passes (their own CPU, a nested compilation's excluded),
# and inside the lowering LLVM's three steps (codegen.py's CPUCodeLibrary): the function passes run on each
# function as it is lowered, the module passes run on the library's module with every callee's code linked
# in, and the machine code generated for all of it; with, per library, the functions it generated
passes = {}
pass_stack = []

class PassTimer(event.Listener):
    def on_start(self, ev):
        pass_stack.append([time.process_time(), 0.0])

    def on_end(self, ev):
        cpu0, inner = pass_stack.pop()
        cpu = time.process_time() - cpu0
        if pass_stack:
            pass_stack[-1][1] += cpu
        name = ev.data["name"].split(" [")[0]
        passes[name] = passes.get(name, 0.0) + cpu - inner

event.register("numba:run_pass", PassTimer())

from numba.core import codegen
llvm = {}
generated = []

def _timed(cls, method, label):
    original = getattr(cls, method)

    def timed(self, *args, **kwargs):
        cpu0 = time.process_time()
        try:
            return original(self, *args, **kwargs)
        finally:
            llvm[label] = llvm.get(label, 0.0) + time.process_time() - cpu0
            if method == "_finalize_specific":
                generated.append([f.name for f in self._final_module.functions if not f.is_declaration])

    setattr(cls, method, timed)

_timed(codegen.CPUCodeLibrary, "_optimize_functions", "function passes")
_timed(codegen.CPUCodeLibrary, "_optimize_final_module", "module passes (callees linked in)")
_timed(codegen.JITCodeLibrary, "_finalize_specific", "machine code (callees linked in)")
wall0, cpu0 = time.perf_counter(), time.process_time()
from arb.cli import main
rc = main(sys.argv[2:])
out = {"rc": rc, "wall": time.perf_counter() - wall0, "cpu": time.process_time() - cpu0, "records": records,
       "passes": passes, "llvm": llvm, "generated": sum(len(g) for g in generated),
       "distinct": len({name for g in generated for name in g}), "libraries": len(generated)}
with open(sys.argv[1], "w") as f:
    json.dump(out, f)
"""


def commit_tree(rev: str, into: Path) -> str:
    """Commit ``rev``'s sources and sample data (``git archive`` of arb, connectors, config and recordings)
    extracted into ``into``; its short hash."""
    into.mkdir(parents=True)
    head = subprocess.run(["git", "rev-parse", "--short", rev], cwd=ROOT, capture_output=True, text=True, check=True)
    archive = subprocess.run(
        ["git", "archive", head.stdout.strip(), "arb", "connectors", "config", "recordings"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return head.stdout.strip()


def _profile(tree: Path, cache: Path, out: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NUMBA_CACHE_DIR")}
    env["PYTHONPATH"] = str(tree)
    env["NUMBA_CACHE_DIR"] = str(cache)
    result = tree / "probe.json"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    cmd = [sys.executable, "-c", _PROBE, str(result), "-q", "backtest", "--out", str(out)]
    subprocess.run(cmd, cwd=tree, env=env, check=True, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    data: dict[str, Any] = json.loads(result.read_text())
    data["process_wall"] = time.perf_counter() - started
    data["process_cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return data


def _report(label: str, cold: dict[str, Any], warm: dict[str, Any], top: int) -> None:
    records = cold["records"]
    by_fn: dict[tuple[str, str], list[float]] = {}
    by_module: dict[str, list[float]] = {}
    for r in records:
        fn = by_fn.setdefault((r["module"], r["name"]), [0, 0.0, 0.0])
        fn[0] += 1
        fn[1] += r["wall"]
        fn[2] += r["cpu"]
        mod = by_module.setdefault(r["module"], [0, 0.0, 0.0])
        mod[0] += 1
        mod[1] += r["wall"]
        mod[2] += r["cpu"]
    total_wall = sum(r["wall"] for r in records)
    total_cpu = sum(r["cpu"] for r in records)
    print(f"\n== {label}: first arb backtest, compiling everything in one process ==")
    print(f"whole process {cold['process_wall']:.1f} s wall, {cold['process_cpu']:.1f} s CPU; "
          f"compiling {total_wall:.1f} s wall, {total_cpu:.1f} s CPU, {len(records)} compilations "
          f"of {len(by_fn)} functions")  # fmt: skip
    print(f"second run (all from the cache): {warm['process_wall']:.1f} s wall, {warm['process_cpu']:.1f} s CPU, "
          f"{len(warm['records'])} compilations")  # fmt: skip
    for r in warm["records"]:
        print(f"  compiled again (not cached): {r['module']}.{r['name']} {r['wall']:.2f} s")
    print(f"{'function (own time: callees excluded)':<64}{'n':>4}{'wall s':>9}{'CPU s':>9}")
    ranked = sorted(by_fn.items(), key=lambda kv: -kv[1][2])
    for (module, name), (n, wall, cpu) in ranked[:top]:
        print(f"{module + '.' + name:<64}{n:>4}{wall:>9.2f}{cpu:>9.2f}")
    rest = ranked[top:]
    if rest:
        print(f"{f'{len(rest)} others':<64}{sum(v[0] for _, v in rest):>4}"
              f"{sum(v[1] for _, v in rest):>9.2f}{sum(v[2] for _, v in rest):>9.2f}")  # fmt: skip
    print(f"{'module':<64}{'n':>4}{'wall s':>9}{'CPU s':>9}")
    for module, (n, wall, cpu) in sorted(by_module.items(), key=lambda kv: -kv[1][2]):
        print(f"{module:<64}{n:>4}{wall:>9.2f}{cpu:>9.2f}")
    roots = [r for r in records if r["depth"] == 0]
    print(f"{'compiled from Python (callees included)':<64}{'':>4}{'wall s':>9}{'CPU s':>9}")
    for r in sorted(roots, key=lambda r: -r.get("incl_cpu", 0.0))[:top]:
        print(f"{r['module'] + '.' + r['name']:<64}{'':>4}{r['incl_wall']:>9.2f}{r.get('incl_cpu', 0.0):>9.2f}")
    _phases(cold)
    many = [(k, v[0]) for k, v in by_fn.items() if v[0] > 1]
    if many:
        listed = ", ".join(f"{m}.{n} x{c}" for (m, n), c in sorted(many, key=lambda x: -x[1]))
        print(f"compiled more than once: {listed}")


def _phases(cold: dict[str, Any]) -> None:
    # Numba's passes by own CPU (the lowering split into LLVM's steps and the rest: building the IR in
    # Python), and how many functions the machine code was generated for against how many distinct ones
    passes = dict(cold.get("passes", {}))
    llvm = cold.get("llvm", {})
    if not passes:
        return
    lowering = passes.pop("native_lowering", 0.0)
    in_llvm = sum(llvm.values())
    rows = [(f"LLVM: {name}", cpu) for name, cpu in llvm.items()]
    rows.append(("lowering to LLVM IR (Python)", lowering - in_llvm))
    rows += sorted(passes.items(), key=lambda kv: -kv[1])[:6]
    rest = sum(sorted(passes.values(), reverse=True)[6:])
    print(f"{'where the compile CPU went (own CPU of each phase)':<64}{'':>4}{'':>9}{'CPU s':>9}")
    for name, cpu in [*rows, ("the other passes", rest)]:
        print(f"{name:<64}{'':>4}{'':>9}{cpu:>9.2f}")
    distinct = max(cold.get("distinct", 0), 1)
    print(
        f"machine code generated for {cold.get('generated', 0):,} functions in {cold.get('libraries', 0)} "
        f"libraries, {distinct:,} distinct: each generated {cold.get('generated', 0) / distinct:.1f} times "
        "on average (a callee's code is linked into, optimised and generated again in each caller's library)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rev", default="HEAD", help="the commit to profile (default: HEAD)")
    parser.add_argument("--ref", help="a second commit profiled beside it (e.g. d0a1895)")
    parser.add_argument("--top", type=int, default=30, help="functions listed (by own CPU time)")
    parser.add_argument("--json", type=Path, help="write every compilation's record here")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="arb-compile-"))
    dumped: dict[str, Any] = {}
    try:
        for rev in [args.rev] + ([args.ref] if args.ref else []):
            tree = work / rev
            short = commit_tree(rev, tree)
            cache = work / f"{rev}-cache"
            cold = _profile(tree, cache, work / f"{rev}-out1")
            warm = _profile(tree, cache, work / f"{rev}-out2")
            _report(short, cold, warm, args.top)
            dumped[short] = {"cold": cold, "warm": warm}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(dumped, indent=1))


if __name__ == "__main__":
    run_benchmark(main)
