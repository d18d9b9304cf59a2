"""A first ``arb backtest`` process by process: when each of its processes ran, its CPU, page faults and
compiling, what the run's own process did meanwhile, and what it did after the last warm-up half ended.

Copies a commit's ``arb``, ``connectors``, ``config`` and ``recordings`` (``git archive``; ``--rev``, default
HEAD, and ``--ref REV`` a second commit run alternately beside it) into a fresh temporary folder for each
run and runs there the first ``arb backtest`` after an install: an empty Numba cache of its own
(``NUMBA_CACHE_DIR``) and no converted days, so it converts the sample and compiles, the warm-up halves
beside it, as a user's first run does. Inside the run (a probe handed to ``python -c``, as
``bench_compile.py`` does) a listener on Numba's ``numba:compile`` event, registered the moment the run
imports Numba (a hook on the import: the probe imports nothing ahead of the command, so each process forks
when it would, with what it would have) and inherited by the processes it forks, writes every compilation
made from Python (start, end, CPU, function) to a file per process, and the run's own steps are timed (the
strategy's compile, the conversion, the wait for the halves, the replay, the report and, in the chart
worker, its rehearsal and equity.png). The tree's bytecode is written before the run, as ``pip install``
writes it. This
process polls ``/proc`` every 20 ms for every process of the run: its lifetime, user and system CPU,
minor page faults.

Prints per run: each process (the run's own, the step's half, the loop's half, the chart worker) with its
lifetime on the run's clock (0: the command started), CPU, page faults, its compiling and its longest
compilations; the run's steps; how far apart the halves ended and the time after the last one (the tail);
and the load average (``machine.py``). The figures of ``docs/performance.md``'s first-run anatomy come from
here. Nothing asserts on a timing.

    python benchmarks/bench_first_run.py [--rev HEAD] [--ref d0a1895] [--repeat 2]

A commit older than this benchmark may lack some of the timed steps or the warm-up halves; what it has is
printed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench_compile import commit_tree
from machine import run_benchmark

_TICK = os.sysconf("SC_CLK_TCK")

# Run inside the profiled process: the listener and the timed steps, then the console command (arb.cli.run,
# as the ``arb`` script runs it). argv: the records' folder, then the command's arguments.
_PROBE = r"""
import importlib.machinery, json, os, sys, time

folder = sys.argv[1]
_files = {}

def record(**row):
    pid = os.getpid()
    out = _files.get(pid)
    if out is None:  # a forked process writes a file of its own
        out = _files[pid] = open(os.path.join(folder, f"{pid}.jsonl"), "a", buffering=1)
    out.write(json.dumps({"pid": pid, "ppid": os.getppid(), **row}) + "\n")

def listen(event):  # numba.core.event just loaded (Numba imports it before it can compile anything)
    class Compiles(event.Listener):
        def __init__(self):
            self.stack = []

        def on_start(self, ev):
            self.stack.append((time.time(), time.process_time()))

        def on_end(self, ev):
            wall0, cpu0 = self.stack.pop()
            if not self.stack:  # compiled from Python: its callees' compilations inside it
                fn = ev.data["dispatcher"].py_func
                record(kind="compile", name=f"{fn.__module__}.{fn.__qualname__}", t0=wall0, t1=time.time(),
                       cpu=time.process_time() - cpu0)

    event.register("numba:compile", Compiles())

def timed(owner, attr, step):
    original = getattr(owner, attr, None)
    if original is None:
        return

    def wrapper(*args, **kwargs):
        t0 = time.time()
        try:
            return original(*args, **kwargs)
        finally:
            record(kind="step", name=step, t0=t0, t1=time.time())

    setattr(owner, attr, wrapper)

# What to do to each module right after it is first imported: nothing is imported ahead of the command,
# so the run imports what it imports when it does (its chart worker forks before Numba, say).
_after = {
    "numba.core.event": listen,
    "arb.strategy.selection": lambda m: timed(m, "prepare", "the strategy compiled"),
    "arb.backtest.run": lambda m: [timed(m, "load_timeline", "the days loaded (converted)"),
                                   timed(getattr(m, "Warming", None), "join", "waiting for the warm-up halves"),
                                   timed(m, "run_session", "the replay")],
    "arb.reports.files": lambda m: timed(m, "write_report", "the report"),
    "arb.reports.chart_worker": lambda m: [timed(m, "_rehearse", "the chart worker's rehearsal"),
                                           timed(m, "plot_equity", "equity.png drawn")],
}

class AfterImport:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name not in _after:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def then(module):
            exec_module(module)
            _after.pop(name)(module)

        spec.loader.exec_module = then
        return spec

sys.meta_path.insert(0, AfterImport)
sys.argv = ["arb", *sys.argv[2:]]
record(kind="start", t0=time.time())
from arb.cli import run
run()  # the console command's own ending: its exit included
"""


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                found += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return found


def _poll(root: int, started: float, seen: dict[int, dict[str, float]], done: threading.Event) -> None:
    # Every process under ``root``: first and last seen running (s on the run's clock), CPU (s), minor faults
    while not done.is_set():
        stack = [root]
        while stack:
            pid = stack.pop()
            try:
                with open(f"/proc/{pid}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            now = time.time() - started
            row = seen.setdefault(pid, {"first": now})
            if fields[0] != "Z" or "last" not in row:  # an ended process stays a zombie until its parent reaps it
                row["last"] = now
            row.update(faults=int(fields[7]), user=int(fields[11]) / _TICK, sys=int(fields[12]) / _TICK)
            stack += _children(pid)
        done.wait(0.02)


def _first_run(rev: str, work: Path) -> tuple[str, dict[str, Any]]:
    tree, cache, records = work / "tree", work / "cache", work / "records"
    short = commit_tree(rev, tree)
    # bytecode written ahead, as pip install does: the run's imports as a user's first run makes them
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "arb"), str(tree / "connectors")],
                   check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    records.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NUMBA_CACHE_DIR")}
    env.update(PYTHONPATH=str(tree), NUMBA_CACHE_DIR=str(cache))
    cmd = [sys.executable, "-c", _PROBE, str(records), "-q", "backtest", "--out", str(work / "out")]
    seen: dict[int, dict[str, float]] = {}
    done = threading.Event()
    started = time.time()
    child = subprocess.Popen(cmd, cwd=tree, env=env, stdout=subprocess.DEVNULL)
    poller = threading.Thread(target=_poll, args=(child.pid, started, seen, done), daemon=True)
    poller.start()
    child.wait()
    wall = time.time() - started
    done.set()
    poller.join()
    if child.returncode != 0:
        raise SystemExit(f"{short}: arb backtest exited {child.returncode}")
    rows = [json.loads(line) for path in records.glob("*.jsonl") for line in path.read_text().splitlines()]
    return short, {"wall": wall, "root": child.pid, "started": started, "procs": seen, "rows": rows}


def _role(pid: int, root: int, compiled: list[dict[str, Any]], steps: list[dict[str, Any]]) -> str:
    names = {r["name"].rsplit(".", 1)[-1] for r in compiled}
    if pid == root:
        return "the run"
    if "_run_loop" in names:
        return "the loop's half"
    if "decide_symbol" in names:
        return "the step's half"
    if any(s["name"] == "equity.png drawn" for s in steps) or not compiled:
        return "the chart worker"
    return "another process"


def _report(short: str, n: int, run: dict[str, Any]) -> None:
    root, t0 = run["root"], run["started"]
    rows, procs = run["rows"], run["procs"]
    user = sum(p["user"] for p in procs.values())
    system = sum(p["sys"] for p in procs.values())
    print(f"\n== {short}, run {n}: the first arb backtest after the install, {run['wall']:.2f} s wall, "
          f"{user + system:.1f} s CPU ({user:.1f} user, {system:.1f} system)")  # fmt: skip
    print(f"  {'process':<18}{'from s':>7}{'to s':>7}{'user s':>8}{'sys s':>7}{'faults':>9}{'compiling s (n)':>17}"
          "  longest compilations (CPU s)")  # fmt: skip
    ends: dict[str, float] = {}
    for pid, p in sorted(procs.items(), key=lambda kv: kv[1]["first"]):
        compiled = [r for r in rows if r["pid"] == pid and r["kind"] == "compile"]
        steps = [r for r in rows if r["pid"] == pid and r["kind"] == "step"]
        role = _role(pid, root, compiled, steps)
        ends[role] = p["last"]
        cpu = sum(r["cpu"] for r in compiled)
        longest = ", ".join(f"{r['name'].rsplit('.', 1)[-1]} {r['cpu']:.2f}"
                            for r in sorted(compiled, key=lambda r: -r["cpu"])[:3])  # fmt: skip
        print(f"  {role:<18}{p['first']:>7.2f}{p['last']:>7.2f}{p['user']:>8.2f}{p['sys']:>7.2f}{p['faults']:>9,}"
              f"{f'{cpu:.1f} ({len(compiled)})':>17}  {longest}")  # fmt: skip
    steps = sorted((r for r in rows if r["kind"] == "step"), key=lambda r: r["t0"])
    if steps:
        print("  the run's steps (s on the run's clock): " + "; ".join(
            f"{r['name']} {r['t0'] - t0:.2f}-{r['t1'] - t0:.2f}" for r in steps))  # fmt: skip
    halves = [ends[h] for h in ("the step's half", "the loop's half") if h in ends]
    if len(halves) == 2:
        last = max(halves)
        print(f"  the halves ended {abs(halves[0] - halves[1]):.2f} s apart ({halves[0]:.2f} and {halves[1]:.2f} s); "
              f"after the last: {run['wall'] - last:.2f} s (the replay, the report, equity.png)")  # fmt: skip
    else:
        print("  no warm-up halves seen (compiled in the run's own process)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rev", default="HEAD", help="the commit to run (default: HEAD)")
    parser.add_argument("--ref", help="a second commit run alternately beside it (e.g. d0a1895)")
    parser.add_argument("--repeat", type=int, default=1, help="first runs of each commit (default 1)")
    args = parser.parse_args()
    if not os.path.isdir("/proc/self/task"):
        raise SystemExit("bench_first_run.py reads /proc: Linux only")
    work = Path(tempfile.mkdtemp(prefix="arb-first-run-"))
    try:
        for n in range(1, args.repeat + 1):
            for rev in [args.rev] + ([args.ref] if args.ref else []):
                folder = work / f"{rev}-{n}"
                short, run = _first_run(rev, folder)
                _report(short, n, run)
                shutil.rmtree(folder, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    run_benchmark(main)
